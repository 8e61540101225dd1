/**
 * `npm run bench`: the scanner's memory with host-side dedup while 100,000 distinct advertisers
 * go by (issue 5, acceptance 5; gap/scanner.ts, gap/dedup.ts).
 *
 * Two sources of the 100,000 advertisers, each measured:
 * - `air`: distinct virtual advertisers on the virtual radio link: ADV_NONCONN_IND PDUs, one
 *   distinct public AdvA each, broadcast on a VirtualLink and received by a scanning
 *   VirtualController, which reports them over HCI to our HciHost and Scanner (the whole path).
 *   One injecting controller sends them all (100,000 controllers with their own hosts would
 *   measure the emulator's memory, not the scanner's).
 * - `host`: LE Advertising Reports (Core v5.4 Vol 4 Part E 7.7.65.2, 24 octets of AD) generated
 *   straight into a scripted controller's end of an in-memory transport: the scanner alone.
 * Each measurement runs in a child process with --expose-gc:
 * heap after a forced GC before the scan starts, and again after the 100,000th advertisement has
 * been yielded, with the scan still running (so the dedup table is live). Two peers in the same
 * run: our bounded LRU dedup (default capacity 4096) and an unbounded Map-based dedup (the same
 * code with capacity Infinity), medians of RUNS runs each. Exit code 1 when the bounded growth is
 * over the 64 MB bound.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createMemoryPair } from '../hci/memory-transport.ts'
import { HciHost, type Clock } from '../hci/host.ts'
import { Scanner } from '../gap/scanner.ts'
import { VirtualLink } from '../src/virtual/link.ts'
import { VirtualController } from '../src/virtual/controller.ts'
import { VirtualScheduler, clockFrom } from '../src/virtual/scheduler.ts'
import { virtualTransport } from '../src/transports/virtual.ts'

const DEVICES = 100_000
const RUNS = 5
const BOUND_MB = 64
const BATCH = 256

const clock: Clock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  now: () => Date.now(),
}

/** One LE Advertising Report event: ADV_NONCONN_IND from a distinct public address. */
function report(i: number): Uint8Array {
  const ad = [
    0x02,
    0x01,
    0x06,
    0x0a,
    0x09,
    0x68,
    0x63,
    0x69,
    0x6b,
    0x69,
    0x74,
    0x2d,
    0x62,
    0x6d,
    0x09,
    0xff,
    0xff,
    0xff,
    i & 0xff,
    (i >> 8) & 0xff,
    (i >> 16) & 0xff,
    1,
    2,
    3,
  ]
  const params = [
    0x02,
    0x01,
    0x03,
    0x00,
    i & 0xff,
    (i >> 8) & 0xff,
    (i >> 16) & 0xff,
    0x00,
    0x00,
    0xc0,
    ad.length,
    ...ad,
    0xc4,
  ]
  return Uint8Array.from([0x3e, params.length, ...params])
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r))

function address(i: number): string {
  return ['C0', '00', (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff, 0x01]
    .map((b) => (typeof b === 'string' ? b : b.toString(16).padStart(2, '0').toUpperCase()))
    .join(':')
}

async function child(capacity: number, source: 'host' | 'air'): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (!gc) throw new Error('run with --expose-gc')
  let send: (i: number) => void
  let host: HciHost
  let hostClock: Clock = clock
  if (source === 'host') {
    const [hostSide, controller] = createMemoryPair()
    // The controller: every command completes with success (7.7.14).
    controller.onPacket((p) => {
      if (p.type !== 1) return
      controller.send({ type: 4, data: Uint8Array.of(0x0e, 0x04, 0x01, p.data[0]!, p.data[1]!, 0x00) })
    })
    host = new HciHost(hostSide, { clock })
    send = (i) => controller.send({ type: 4, data: report(i) })
  } else {
    const scheduler = new VirtualScheduler({ seed: 1, auto: true })
    const link = new VirtualLink({ scheduler })
    const scanning = new VirtualController(link, { timing: 'fast' })
    const injector = new VirtualController(link, { timing: 'fast' })
    hostClock = clockFrom(scheduler)
    host = new HciHost(virtualTransport(scanning), { clock: hostClock })
    await host.init()
    const props = { connectable: false, scannable: false, directed: false, legacy: true }
    send = (i) => {
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
  }
  const scanner = new Scanner(host, hostClock)
  // interval == window: the scanning controller listens all the time, so every PDU is heard
  const it = scanner.scan({
    active: false,
    interval: 0x10,
    window: 0x10,
    dedupCapacity: capacity,
    queueLimit: BATCH * 2,
  })
  const first = it.next()
  for (let i = 0; i < 10; i++) await tick() // the scan commands
  gc()
  gc()
  const before = process.memoryUsage().heapUsed
  const t0 = performance.now()
  let sent = 0
  let got = 0
  const pump = async (): Promise<void> => {
    while (sent < DEVICES) {
      for (let k = 0; k < BATCH && sent < DEVICES; k++) send(sent++)
      await tick()
    }
  }
  const pumping = pump()
  let r = await first
  while (!r.done) {
    got++
    if (got === DEVICES) break
    r = await it.next()
  }
  await pumping
  const ms = performance.now() - t0
  gc()
  gc()
  const after = process.memoryUsage().heapUsed
  const out = {
    capacity,
    source,
    devices: got,
    dedupEntries: scanner.dedupEntries,
    dropped: scanner.dropped,
    growthBytes: after - before,
    ms,
  }
  await it.return(undefined)
  process.stdout.write(JSON.stringify(out) + '\n')
  process.exit(0)
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}
const mb = (b: number): string => (b / (1 << 20)).toFixed(2)

function measure(source: 'host' | 'air'): boolean {
  const self = fileURLToPath(import.meta.url)
  const peers = [
    { name: 'bounded LRU dedup (capacity 4096)', capacity: '4096' },
    { name: 'unbounded Map dedup (baseline)', capacity: 'Infinity' },
  ]
  console.log(
    source === 'air'
      ? `scan memory, ${DEVICES} distinct virtual advertisers on the virtual link (ADV_NONCONN_IND, each ` +
          `its own address; virtual controller -> HCI -> HciHost -> Scanner); ${RUNS} runs each, medians`
      : `scan memory, ${DEVICES} distinct advertisers as LE Advertising Reports generated into a scripted ` +
          `host's transport (the scanner alone); ${RUNS} runs each, medians`,
  )
  const results: Record<string, number> = {}
  for (const p of peers) {
    const growth: number[] = []
    const times: number[] = []
    let entries = 0
    for (let r = 0; r < RUNS; r++) {
      const c = spawnSync(process.execPath, ['--expose-gc', self, '--child', p.capacity, source], { encoding: 'utf8' })
      if (c.status !== 0) throw new Error(`bench child failed: ${c.stderr}`)
      const m = JSON.parse(c.stdout.trim().split('\n').at(-1)!) as {
        devices: number
        dedupEntries: number
        growthBytes: number
        ms: number
      }
      if (m.devices !== DEVICES) throw new Error(`${p.name}: ${m.devices} advertisements yielded, expected ${DEVICES}`)
      growth.push(m.growthBytes)
      times.push(m.ms)
      entries = m.dedupEntries
    }
    results[p.capacity] = median(growth)
    console.log(
      `  ${p.name}: heap growth median ${mb(median(growth))} MB (runs: ${growth.map(mb).join(', ')}), dedup ` +
        `entries ${entries}, ${Math.round(DEVICES / (median(times) / 1000))} advertisements/s`,
    )
  }
  const bounded = results['4096']!
  const unbounded = results['Infinity']!
  const pass = bounded < BOUND_MB * (1 << 20)
  console.log(`  bound: ${BOUND_MB} MB; bounded growth ${mb(bounded)} MB -> ${pass ? 'PASS' : 'FAIL'}`)
  console.log(`  ratio bounded / unbounded: ${(bounded / unbounded).toFixed(3)}`)
  return pass
}

function main(): void {
  const air = measure('air')
  const host = measure('host')
  if (!air || !host) process.exitCode = 1
}

if (process.argv[2] === '--child') await child(Number(process.argv[3]), process.argv[4] === 'air' ? 'air' : 'host')
else main()
