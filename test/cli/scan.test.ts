/**
 * `hcikit scan` on the virtual transport, which comes with two virtual devices: --json lines in
 * the shape of issue 5, filters, passive scanning, the plain and the live (terminal) table.
 */
import t, { type Test } from 'tap'
import { SENSOR_SERVICE } from '../../src/devices/index.ts'
import { HRM, SENSOR, base, run } from './run.ts'

const KEYS = [
  'address',
  'addressType',
  'connectable',
  'manufacturerData',
  'name',
  'rssi',
  'serviceData',
  'serviceUuids',
  'txPower',
]
const REQUIRED = ['address', 'addressType', 'connectable', 'manufacturerData', 'rssi', 'serviceData', 'serviceUuids']

function parse(t: Test, lines: string[]): Record<string, unknown>[] {
  return lines.map((l) => {
    const o = JSON.parse(l) as Record<string, unknown>
    for (const k of Object.keys(o)) t.ok(KEYS.includes(k), `key ${k} is in the documented shape`)
    for (const k of REQUIRED) t.ok(k in o, `key ${k} is present`)
    t.match(o['address'], /^([0-9A-F]{2}:){5}[0-9A-F]{2}$/)
    t.ok(o['addressType'] === 'public' || o['addressType'] === 'random')
    t.type(o['rssi'], 'number')
    t.type(o['connectable'], 'boolean')
    for (const u of o['serviceUuids'] as string[])
      t.match(u, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    return o
  })
}

t.test('--json: one object per device, UUIDs as lowercase 128-bit strings', async (t) => {
  const r = await run(['scan', '--timeout', '1', '--json'])
  t.equal(r.code, 0, r.stderr)
  const objs = parse(t, r.lines)
  const byAddr = new Map(objs.map((o) => [o['address'], o]))
  t.equal(objs.length, 2, 'dedup on: each device once (its data does not change)')
  t.same(byAddr.get(HRM), {
    address: HRM,
    addressType: 'public',
    rssi: -50,
    name: 'hcikit HRM',
    serviceUuids: [base('180d')],
    manufacturerData: [],
    serviceData: [],
    connectable: true,
  })
  const sensor = byAddr.get(SENSOR)!
  t.equal(sensor['name'], 'hcikit Sensor')
  t.same([...(sensor['serviceUuids'] as string[])].sort(), [base('180f'), SENSOR_SERVICE].sort())
})

t.test('--name and --service filter', async (t) => {
  const byName = await run(['scan', '--timeout', '1', '--json', '--name', 'hcikit Sensor'])
  t.equal(byName.code, 0, byName.stderr)
  t.same(
    parse(t, byName.lines).map((o) => o['address']),
    [SENSOR],
  )
  const byService = await run(['scan', '--timeout', '1', '--json', '--service', '180d'])
  t.equal(byService.code, 0, byService.stderr)
  t.same(
    parse(t, byService.lines).map((o) => o['address']),
    [HRM],
  )
  const none = await run(['scan', '--timeout', '0.5', '--json', '--service', 'fff0'])
  t.equal(none.code, 0)
  t.same(none.lines, [])
})

t.test('--duplicates reports repeats; --passive still sees both devices', async (t) => {
  const dup = await run(['scan', '--timeout', '1', '--json', '--duplicates'])
  t.equal(dup.code, 0, dup.stderr)
  t.ok(parse(t, dup.lines).length > 2, `repeats reported (${dup.lines.length} lines)`)
  const passive = await run(['scan', '--timeout', '1', '--json', '--passive'])
  t.equal(passive.code, 0, passive.stderr)
  t.same(new Set(parse(t, passive.lines).map((o) => o['address'])), new Set([HRM, SENSOR]))
})

t.test('text: a header and a row per device with RSSI bar and services; live table in a terminal', async (t) => {
  const r = await run(['scan', '--timeout', '1'])
  t.equal(r.code, 0, r.stderr)
  t.match(r.lines[0], /^NAME\s+ADDRESS\s+RSSI\s+SERVICES\s+LAST SEEN$/)
  const hrm = r.lines.find((l) => l.includes(HRM))
  t.match(hrm, /^hcikit HRM\s+11:22:33:44:55:01 pub\s+-50 █+·*\s+180d\s+now$/)
  t.ok(r.lines.some((l) => l.includes(SENSOR) && l.includes('hcikit Sensor')))
  const tty = await run(['scan', '--timeout', '1'], { tty: true })
  t.equal(tty.code, 0, tty.stderr)
  t.match(tty.stdout, /\x1b\[\d+A/, 'redraws in place')
  t.match(tty.stdout, /2 devices \(Ctrl-C to stop\)/)
})

t.test("the caller's signal (Ctrl-C in a terminal) ends a scan with exit code 0", async (t) => {
  const ac = new AbortController()
  // No --timeout: the scan runs until the signal, given once the first device is printed.
  const r = await run(['scan', '--json'], { signal: ac.signal, onStdout: (s) => s.includes('\n') && ac.abort() })
  t.equal(r.code, 0, r.stderr)
  t.ok(r.lines.length >= 1)
})
