/**
 * The bench's noble client (`node dist/bench/gatt/noble-central.js PTY N`): the same work as
 * hcikit-central.ts, done by @stoprocent/noble over its HCI UART driver on the pty that
 * peripheral.ts serves (BLUETOOTH_HCI_SOCKET_UART_PORT), in a process of its own. No hcikit
 * code runs here but the bench's protocol constants. Prints one JSON line (ClientResult).
 */
import { type ClientResult, BENCH_NAME, CONTROL, SERVICE, SINK, SOURCE, STATUS, VALUE_LENGTH } from './protocol.ts'
import { controlMessage, cpuMs, u32 } from './protocol.ts'

const path = process.argv[2]!
const n = Number(process.argv[3] ?? 10_000)
process.env['BLUETOOTH_HCI_SOCKET_UART_PORT'] = path
const { default: noble } = await import('@stoprocent/noble')
const plain = (u: string): string => u.replace(/-/g, '')

await noble.waitForPoweredOnAsync(20_000)
const found = new Promise<import('@stoprocent/noble').Peripheral>((resolve) => {
  noble.on('discover', (p) => {
    if (p.advertisement.localName === BENCH_NAME) resolve(p)
  })
})
await noble.startScanningAsync([], false)
const peripheral = await found
await noble.stopScanningAsync()
await peripheral.connectAsync()
const { characteristics } = await peripheral.discoverSomeServicesAndCharacteristicsAsync(
  [plain(SERVICE)],
  [SINK, STATUS, SOURCE, CONTROL].map(plain),
)
const char = (u: string) => characteristics.find((c) => c.uuid === plain(u))!
const sink = char(SINK)
const status = char(STATUS)
const source = char(SOURCE)
const control = char(CONTROL)
await status.readAsync()
const phases: ClientResult['phases'] = []

{
  const value = Buffer.alloc(VALUE_LENGTH)
  const cpu = process.cpuUsage()
  const t0 = performance.now()
  for (let i = 0; i < n; i++) {
    value.writeUInt32LE(i, 0)
    await sink.writeAsync(value, true)
  }
  const s = await status.readAsync()
  phases.push({
    phase: 'writes',
    count: u32(s, 0),
    lost: n - u32(s, 0),
    disordered: u32(s, 4),
    cpuMs: cpuMs(cpu),
    wallMs: performance.now() - t0,
  })
}

{
  const cpu = process.cpuUsage()
  const t0 = performance.now()
  let got = 0
  let disordered = 0
  const done = new Promise<{ cpu: number; wall: number }>((resolve) => {
    source.on('data', (v: Buffer) => {
      if (u32(v) !== got) disordered++
      if (++got === n) resolve({ cpu: cpuMs(cpu), wall: performance.now() - t0 })
    })
  })
  await source.subscribeAsync()
  await control.writeAsync(Buffer.from(controlMessage(n)), false)
  const m = await done
  await source.unsubscribeAsync()
  phases.push({ phase: 'notifications', count: got, lost: n - got, disordered, cpuMs: m.cpu, wallMs: m.wall })
}

await peripheral.disconnectAsync()
const result: ClientResult = { stack: 'noble', phases, maxRssMb: process.resourceUsage().maxRSS / 1024 }
process.stdout.write(`${JSON.stringify(result)}\n`)
process.exit(0)
