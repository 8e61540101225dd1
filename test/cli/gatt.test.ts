/**
 * `hcikit gatt ADDRESS` on the virtual transport against the virtual heart-rate monitor: the
 * --json tree in the shape of issue 5 with every readable value, the text tree, --no-cache, and
 * a wrong address type failing in one line with a hint that names the fix.
 */
import t from 'tap'
import { HRM, SENSOR, base, errorLines, hexOf, run } from './run.ts'
import { SENSOR_LABEL } from '../../src/devices/index.ts'

interface Char {
  uuid: string
  handle: number
  valueHandle: number
  properties: string[]
  value?: string
  descriptors: { uuid: string; handle: number; value?: string }[]
}
interface Service {
  uuid: string
  handle: number
  endHandle: number
  primary: boolean
  includes: unknown[]
  characteristics: Char[]
}

t.test('--json: services, characteristics, descriptors and values as issue 5 shapes them', async (t) => {
  const r = await run(['gatt', HRM, '--json'])
  t.equal(r.code, 0, r.stderr)
  t.equal(r.lines.length, 1, 'one JSON document')
  const doc = JSON.parse(r.lines[0]!) as { address: string; mtu: number; services: Service[] }
  t.same(Object.keys(doc).sort(), ['address', 'mtu', 'services'])
  t.equal(doc.address, HRM)
  t.equal(doc.mtu, 517)
  t.same(
    doc.services.map((s) => s.uuid),
    [base('1800'), base('1801'), base('180d'), base('180f')],
  )
  let last = 0
  for (const s of doc.services) {
    t.same(Object.keys(s).sort(), ['characteristics', 'endHandle', 'handle', 'includes', 'primary', 'uuid'])
    t.ok(s.handle > last && s.endHandle >= s.handle, 'services in handle order')
    last = s.endHandle
    t.equal(s.primary, true)
    t.same(s.includes, [])
    for (const c of s.characteristics) {
      t.ok(
        Object.keys(c).every((k) =>
          ['uuid', 'handle', 'valueHandle', 'properties', 'value', 'descriptors'].includes(k),
        ),
      )
      t.equal(c.valueHandle, c.handle + 1, 'value right after the declaration')
      t.equal('value' in c, c.properties.includes('read'), `${c.uuid}: a value exactly when readable`)
    }
  }
  const hr = doc.services.find((s) => s.uuid === base('180d'))!
  const [measurement, location] = hr.characteristics
  t.equal(measurement!.uuid, base('2a37'))
  t.same(measurement!.properties, ['notify'])
  t.same(
    measurement!.descriptors.map((d) => [d.uuid, d.value]),
    [[base('2902'), '0000']],
    'CCCD read: not subscribed',
  )
  t.equal(location!.uuid, base('2a38'))
  t.same(location!.properties, ['read'])
  t.equal(location!.value, '01', 'Body Sensor Location: chest')
  const name = doc.services[0]!.characteristics.find((c) => c.uuid === base('2a00'))!
  t.equal(name.value, hexOf('hcikit HRM'))
  const battery = doc.services[3]!.characteristics[0]!
  t.same([battery.uuid, battery.properties, battery.value], [base('2a19'), ['read', 'notify'], '64'])
})

t.test('text tree, with and without the cache', async (t) => {
  for (const args of [
    ['gatt', SENSOR],
    ['gatt', SENSOR, '--no-cache'],
  ]) {
    const r = await run(args)
    t.equal(r.code, 0, r.stderr)
    t.match(r.lines[0], `${SENSOR}  (ATT MTU 517, 4 services)`)
    t.ok(r.lines.some((l) => /^service 180f \(Battery\)/.test(l)))
    const label = r.lines.find((l) => l.includes(SENSOR_LABEL))
    t.match(
      label,
      /^ {2}characteristic 8f3a0003-.* \(label\) {2}@0x[0-9a-f]{4} {2}\[read, writeWithoutResponse, write\] = 68656c6c6f "hello"$/,
    )
  }
})

t.test('the wrong address type: exit 1, one line, a hint naming --address-type', async (t) => {
  // The virtual HRM has a public address; asked for a random one, nobody answers.
  const r = await run(['gatt', HRM, '--address-type', 'random'])
  t.equal(r.code, 1)
  const e = errorLines(r.stderr)
  t.match(e.message, `hcikit: connecting to ${HRM} (random address): no answer`)
  t.match(e.hint, '--address-type public')
  t.same(e.rest, [])
})
