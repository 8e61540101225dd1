/**
 * The bench's hcikit client (`node dist/bench/gatt/hcikit-central.js PORT N`), in a process of its
 * own so that its CPU (process.cpuUsage) and RSS are the client's alone: the public API over
 * `tcp:127.0.0.1:PORT` to the central controller of peripheral.ts. Finds the peripheral,
 * connects (MTU exchange and discovery), then two phases, each measured on its own:
 * - writes: N writes without response of 244 octets (Core v5.4 Vol 3 Part F 3.4.5.3), each
 *   awaited; ends when a read of `status` (ordered after them on the bearer) counts all N;
 * - notifications: N notifications of 244 octets through `for await (client.notifications())`.
 * Prints one JSON line (protocol.ts ClientResult).
 */
import { open } from '../../src/adapter.ts'
import type { Client } from '../../src/client.ts'
import { type ClientResult, BENCH_NAME, CONTROL, SERVICE, SINK, SOURCE, STATUS, VALUE_LENGTH } from './protocol.ts'
import { controlMessage, cpuMs, u32 } from './protocol.ts'

/** Connect to the bench peripheral through `tcp:127.0.0.1:PORT` and run the phases in `only`. */
export async function runHcikitClient(
  port: number,
  n: number,
  only: readonly string[] = ['writes', 'notifications'],
): Promise<ClientResult> {
  const adapter = await open({ transport: `tcp:127.0.0.1:${port}`, timeout: 20_000 })
  try {
    const ad = await adapter.find({ name: BENCH_NAME }, { timeout: 20_000 })
    const client = await adapter.connect(ad, { timeout: 20_000 })
    const phases: ClientResult['phases'] = []
    if (only.includes('writes')) phases.push(await writes(client, n))
    if (only.includes('notifications')) phases.push(await notifications(client, n))
    await client.disconnect()
    return { stack: 'hcikit', phases, maxRssMb: process.resourceUsage().maxRSS / 1024 }
  } finally {
    await adapter.close()
  }
}

type Phase = ClientResult['phases'][number]

/** N writes without response, each awaited; done when a read of status (after them) counts N. */
async function writes(client: Client, n: number): Promise<Phase> {
  const sink = client.characteristic(SERVICE, SINK)
  const status = client.characteristic(SERVICE, STATUS)
  await client.read(status) // zero the counters
  const value = new Uint8Array(VALUE_LENGTH)
  const cpu = process.cpuUsage()
  const t0 = performance.now()
  for (let i = 0; i < n; i++) {
    value[0] = i & 0xff
    value[1] = (i >> 8) & 0xff
    value[2] = (i >> 16) & 0xff
    value[3] = (i >>> 24) & 0xff
    await client.write(sink, value, { withoutResponse: true })
  }
  const s = await client.read(status)
  const count = u32(s, 0)
  return {
    phase: 'writes',
    count,
    lost: n - count,
    disordered: u32(s, 4),
    cpuMs: cpuMs(cpu),
    wallMs: performance.now() - t0,
  }
}

/** N notifications through `for await (client.notifications())`, their order checked. */
async function notifications(client: Client, n: number): Promise<Phase> {
  const source = client.characteristic(SERVICE, SOURCE)
  const control = client.characteristic(SERVICE, CONTROL)
  const cpu = process.cpuUsage()
  const t0 = performance.now()
  const values = client.notifications(source)
  const first = values.next()
  await client.write(control, controlMessage(n))
  let got = 0
  let disordered = 0
  let measured = 0
  let wall = 0
  let r = await first
  while (!r.done) {
    if (u32(r.value) !== got) disordered++
    if (++got === n) {
      measured = cpuMs(cpu)
      wall = performance.now() - t0
      break
    }
    r = await values.next()
  }
  await values.return(undefined)
  return { phase: 'notifications', count: got, lost: n - got, disordered, cpuMs: measured, wallMs: wall }
}

async function main(): Promise<void> {
  const port = Number(process.argv[2])
  const n = Number(process.argv[3] ?? 10_000)
  /** Which phases to run (for profiling one): 'writes,notifications' by default. */
  const only = (process.argv[4] ?? 'writes,notifications').split(',')
  const result = await runHcikitClient(port, n, only)
  process.stdout.write(`${JSON.stringify(result)}\n`)
  process.exit(0)
}

if (process.argv[1]?.endsWith('hcikit-central.js') || process.argv[1]?.endsWith('hcikit-central.ts')) await main()
