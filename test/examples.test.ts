/**
 * Every example in examples/ runs against the virtual link so none of them rots (issue 5,
 * acceptance 2): in-process through its exported main(), checking what it printed and returned,
 * and scan.ts once more as a program (node with tap's TypeScript loader), exit code 0.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { main as scan } from '../examples/scan.ts'
import { main as connectAndNotify } from '../examples/connect-and-notify.ts'
import { main as severalDevices } from '../examples/several-devices.ts'
import { main as peripheral } from '../examples/peripheral.ts'
import { main as l2capEcho } from '../examples/l2cap-echo.ts'
import { heartRateAt } from '../src/devices/index.ts'

t.setTimeout(120_000)
const V = { transport: 'virtual' }

t.test('scan.ts', async (t) => {
  const lines: string[] = []
  const names = await scan({ ...V, log: (l) => lines.push(l) })
  t.same([...names].sort(), ['Polar H10', 'hcikit Sensor'])
  t.match(lines.join('\n'), /Polar H10 {2}\[180d\]/)
})

t.test('connect-and-notify.ts', async (t) => {
  const lines: string[] = []
  const rates = await connectAndNotify({ ...V, log: (l) => lines.push(l) })
  t.equal(rates.length, 10)
  t.ok(
    rates.every((r) => r >= 66 && r <= 78),
    'rates of the virtual sensor (72 +- 6)',
  )
  // The sensor ticks in real time from its start: on a loaded machine the loop may begin many ticks in.
  const from = Array.from({ length: 10_000 }, (_, k) => k).find((k) =>
    rates.every((r, i) => heartRateAt(72, k + i) === r),
  )
  t.ok(from !== undefined, `ten consecutive measurements of the virtual sensor (from tick ${from})`)
  t.match(lines, [
    'found Polar H10',
    /^connected, ATT MTU 517, 4 services, every 1\d\d(\.\d+)? ms$/,
    'body sensor location: chest',
    // 100% at the start, 1% less every 60 ticks of the sensor (src/devices/heart-rate.ts)
    /^battery: (100|[5-9]\d)%$/,
  ])
})

t.test('several-devices.ts', async (t) => {
  const counts = await severalDevices({ ...V, log: () => {} })
  t.same(counts, { 'Polar H10': 3, 'hcikit Sensor': 3, 'hcikit Battery': 3 })
})

t.test('peripheral.ts', async (t) => {
  const lines: string[] = []
  const r = await peripheral({ ...V, log: (l) => lines.push(l) })
  t.equal(r.greeting, 'hello, visitor')
  t.equal(r.counter.length, 3)
  t.ok(r.counter[1] === r.counter[0]! + 1 && r.counter[2] === r.counter[1] + 1, 'consecutive counter values')
  t.ok(
    lines.some((l) => / connected$/.test(l)),
    "the 'connection' event",
  )
  t.ok(
    lines.some((l) => / left: Remote User Terminated Connection/.test(l)),
    'the disconnection with its reason',
  )
})

t.test('l2cap-echo.ts', async (t) => {
  const lines: string[] = []
  const answers = await l2capEcho({ ...V, log: (l) => lines.push(l) })
  t.same(answers, ['HELLO', 'OVER', 'L2CAP'], 'one answer per SDU, in order')
  t.match(lines, [/^echo on PSM 0x80 at /, /^channel from .*, MTU 512$/, 'answer: HELLO'])
  t.ok(lines.includes('refused so far: 0'))
})

t.test('scan.ts as a program', async (t) => {
  const file = fileURLToPath(new URL('../examples/scan.ts', import.meta.url))
  const loader =
    process.execArgv.find((a) => a.includes('@tapjs/typescript')) ??
    `--import=${import.meta.resolve('@tapjs/typescript/import')}`
  const child = spawn(process.execPath, [loader, file, 'virtual'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HCIKIT_TRANSPORT: '' },
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => (out += d))
  child.stderr.on('data', (d: Buffer) => (err += d))
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  t.equal(code, 0, err)
  t.match(out, /Polar H10/)
  t.match(out, /hcikit Sensor/)
})
