/** `hcikit write ADDRESS CHAR HEX [--without-response]` against the virtual sensor. */
import t from 'tap'
import { SENSOR_LABEL } from '../../src/devices/index.ts'
import { HRM, SENSOR, errorLines, run } from './run.ts'

t.test('with and without response; hex in several spellings', async (t) => {
  const r = await run(['write', SENSOR, SENSOR_LABEL, '414243'])
  t.equal(r.code, 0, r.stderr)
  t.match(r.lines[0], /^wrote 3 bytes to 8f3a0003-.* @0x[0-9a-f]{4}$/)
  const wr = await run(['write', SENSOR, SENSOR_LABEL, '41:42', '--without-response'])
  t.equal(wr.code, 0, wr.stderr)
  t.match(wr.lines[0], /^wrote 2 bytes .* \(without response\)$/)
  const x = await run(['write', SENSOR, SENSOR_LABEL, '0x41'])
  t.match(x.lines[0], /^wrote 1 byte to/)
})

t.test('a write the device refuses: exit 1 with the ATT error in one line', async (t) => {
  const r = await run(['write', HRM, '2a38', '02'])
  t.equal(r.code, 1)
  const e = errorLines(r.stderr)
  t.match(e.message, /^hcikit: .*Write Not Permitted/)
  t.notMatch(r.stderr, /\n\s+at /)
  const long = await run(['write', SENSOR, SENSOR_LABEL, '41'.repeat(65)])
  t.equal(long.code, 1, 'label is at most 64 octets')
})
