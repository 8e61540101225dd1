/** `hcikit read ADDRESS CHAR` against the virtual devices: by UUID, by handle, --json, errors. */
import t from 'tap'
import { SENSOR_COUNTER } from '../../src/devices/index.ts'
import { HRM, SENSOR, base, errorLines, hexOf, run } from './run.ts'

t.test('by UUID and by handle; text and --json', async (t) => {
  const loc = await run(['read', HRM, '2a38'])
  t.equal(loc.code, 0, loc.stderr)
  t.same(loc.lines, ['01'])
  const name = await run(['read', HRM, '2a00'])
  t.same(name.lines, [`${hexOf('hcikit HRM')} "hcikit HRM"`])
  const json = await run(['read', SENSOR, SENSOR_COUNTER, '--json'])
  t.equal(json.code, 0, json.stderr)
  const o = JSON.parse(json.lines[0]!) as { address: string; uuid: string; handle: number; value: string }
  t.same(Object.keys(o).sort(), ['address', 'handle', 'uuid', 'value'])
  t.equal(o.uuid, SENSOR_COUNTER)
  t.match(o.value, /^[0-9a-f]{8}$/, 'uint32 counter')
  // The same characteristic by its value handle, as `gatt --json` reported it.
  const byHandle = await run(['read', SENSOR, `0x${o.handle.toString(16).padStart(4, '0')}`, '--json'])
  t.equal(byHandle.code, 0, byHandle.stderr)
  t.equal((JSON.parse(byHandle.lines[0]!) as { uuid: string }).uuid, SENSOR_COUNTER)
  const battery = await run(['read', HRM, '0000180f-0000-1000-8000-00805f9b34fb'.replace('180f', '2a19')])
  t.same(battery.lines, ['64'], '100 % (128-bit form of the UUID accepted)')
  t.equal(base('2a19'), '00002a19-0000-1000-8000-00805f9b34fb')
})

t.test('failures: no such characteristic, not readable', async (t) => {
  const missing = await run(['read', HRM, 'fff1'])
  t.equal(missing.code, 1)
  const e = errorLines(missing.stderr)
  t.match(e.message, `hcikit: ${HRM} has no characteristic fff1`)
  t.match(e.hint, `hcikit gatt ${HRM}`)
  const noHandle = await run(['read', HRM, '0x0fff'])
  t.equal(noHandle.code, 1)
  t.match(noHandle.stderr, 'no characteristic at handle 0x0fff')
  const notReadable = await run(['read', HRM, '2a37'])
  t.equal(notReadable.code, 1, 'Heart Rate Measurement only notifies')
  t.match(errorLines(notReadable.stderr).message, /^hcikit: .*Read Not Permitted/)
  t.notMatch(notReadable.stderr, /\n\s+at /)
})
