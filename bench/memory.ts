/**
 * Memory of a scanning host (gap/scanner.ts with its bounded dedup, gap/dedup.ts), in child
 * processes run with --expose-gc (`node --expose-gc dist/bench/memory.js --child advertisers|hour`):
 *
 * - advertisers: 100,000 distinct advertisers (ADV_NONCONN_IND, each its own public address) on
 *   the virtual link, broadcast by one injecting controller and heard by a scanning virtual
 *   controller, which reports them over HCI to our HciHost and Scanner (default options: dedup
 *   on); RSS and heap (after a forced GC) once the last one has been yielded, scan still running.
 * - hour: one simulated hour of scanning in virtual time (VirtualScheduler): 40 devices
 *   advertising every 250 ms, plus one new device every second (so the dedup table turns over);
 *   heap after a forced GC every 5 virtual minutes. Flat means the last sample is within a few
 *   hundred kilobytes of the first.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { HciHost } from '../hci/host.ts'
import { Scanner } from '../gap/scanner.ts'
import { VirtualLink } from '../src/virtual/link.ts'
import { VirtualController } from '../src/virtual/controller.ts'
import { VirtualScheduler, clockFrom } from '../src/virtual/scheduler.ts'
import { median } from './child.ts'

export interface MemoryMeasurement {
  advertisers: { devices: number; rssMb: number; heapMb: number; heapGrowthMb: number; perSecond: number }
  hour: { minutes: number; reports: number; heapMb: number[]; growthKb: number }
}

const props = { connectable: false, scannable: false, directed: false, legacy: true }
const MB = 2 ** 20

function address(i: number): string {
  return ['C0', '00', (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff, 0x01]
    .map((b) => (typeof b === 'string' ? b : b.toString(16).padStart(2, '0').toUpperCase()))
    .join(':')
}

async function rig() {
  const scheduler = new VirtualScheduler({ seed: 1, auto: true })
  const link = new VirtualLink({ scheduler })
  const scanning = new VirtualController(link, { timing: 'fast' })
  const injector = new VirtualController(link, { timing: 'fast' })
  const clock = clockFrom(scheduler)
  const host = new HciHost(scanning.attach(), { clock })
  await host.init()
  const send = (i: number): void => {
    const data = Uint8Array.of(0x02, 0x01, 0x06, 0x05, 0xff, 0xff, 0xff, i & 0xff, (i >> 8) & 0xff)
    link.broadcast(injector, {
      kind: 'adv',
      pduType: 'ADV_NONCONN_IND',
      props,
      advA: address(i),
      advAType: 0,
      data,
      handle: 0,
    })
  }
  // interval == window: the scanning controller listens all the time, so every PDU is heard
  const scanner = new Scanner(host, clock)
  const it = scanner.scan({ active: false, interval: 0x10, window: 0x10 })
  return { scheduler, scanner, it, send }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r))

async function advertisers(devices: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc!
  const { scanner, it, send } = await rig()
  const first = it.next()
  for (let i = 0; i < 10; i++) await tick()
  gc()
  const before = process.memoryUsage().heapUsed
  const t0 = performance.now()
  let sent = 0
  const pumping = (async () => {
    while (sent < devices) {
      for (let k = 0; k < 200 && sent < devices; k++) send(sent++)
      await tick()
    }
  })()
  let got = 0
  let r = await first
  while (!r.done && ++got < devices - scanner.dropped) r = await it.next()
  await pumping
  const ms = performance.now() - t0
  gc()
  const m = process.memoryUsage()
  const out = {
    devices: got + scanner.dropped,
    dropped: scanner.dropped,
    rss: m.rss,
    heap: m.heapUsed,
    growth: m.heapUsed - before,
    ms,
  }
  process.stdout.write(`${JSON.stringify(out)}\n`)
  process.exit(0)
}

async function hour(minutes: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc!
  const { scheduler, scanner, it, send } = await rig()
  let reports = 0
  const samples: number[] = []
  let fresh = 1000
  const every = (ms: number, fn: () => void): void => {
    const run = (): void => {
      fn()
      scheduler.schedule(ms, run)
    }
    scheduler.schedule(ms, run)
  }
  every(250, () => {
    for (let d = 0; d < 40; d++) send(d)
  })
  every(1000, () => send(fresh++))
  every(5 * 60_000, () => {
    gc()
    samples.push(process.memoryUsage().heapUsed)
  })
  const heard = (): number => scanner.stats.reports
  for await (const _ of it) if (scheduler.now() >= minutes * 60_000 + 1) break
  reports = heard()
  scheduler.close()
  process.stdout.write(`${JSON.stringify({ reports, samples })}\n`)
  process.exit(0)
}

function child(what: string, arg: string): unknown {
  const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--child', what, arg], {
    encoding: 'utf8',
  })
  if (r.status !== 0) throw new Error(`memory ${what}: exit ${r.status}\n${r.stderr}`)
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!)
}

export function measureMemory(runs: number, devices: number, minutes: number): MemoryMeasurement {
  const a: Array<{ devices: number; rss: number; heap: number; growth: number; ms: number }> = []
  for (let i = 0; i < runs; i++) a.push(child('advertisers', String(devices)) as (typeof a)[number])
  const h = child('hour', String(minutes)) as { reports: number; samples: number[] }
  return {
    advertisers: {
      devices,
      rssMb: median(a.map((x) => x.rss)) / MB,
      heapMb: median(a.map((x) => x.heap)) / MB,
      heapGrowthMb: median(a.map((x) => x.growth)) / MB,
      perSecond: devices / (median(a.map((x) => x.ms)) / 1000),
    },
    hour: {
      minutes,
      reports: h.reports,
      heapMb: h.samples.map((s) => s / MB),
      growthKb: h.samples.length > 1 ? (h.samples.at(-1)! - h.samples[0]!) / 1024 : 0,
    },
  }
}

if (process.argv[2] === '--child') {
  if (process.argv[3] === 'advertisers') await advertisers(Number(process.argv[4]))
  else await hour(Number(process.argv[4]))
}
