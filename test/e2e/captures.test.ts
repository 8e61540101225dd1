/**
 * Issue 4, acceptance 3, on the captures kept in fixtures/captures/ (recorded by the e2e tests with
 * HCIKIT_UPDATE_FIXTURES=1, `npm run fixtures:e2e`): our client against bleno, noble against our
 * server (our client against our server: fixtures/virtual/, test/fixtures.test.ts). tshark (the
 * independent oracle) decodes every ATT PDU in them (as many as the captures carry, counted here
 * from the raw ACL packets) and finds no malformed frame.
 */
import t from 'tap'
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { openCapture } from '../../src/capture-file.ts'
import { missing } from '../helpers/tools.ts'
import { attPdusIn, tsharkSummary, type Recorded } from './capture.ts'

const DIR = fileURLToPath(new URL('../../fixtures/captures/', import.meta.url))
const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.btsnoop'))
  .sort()

t.same(
  files,
  ['gatt-bleno-central.btsnoop', 'gatt-noble-peripheral.btsnoop'],
  'one capture per session with an independent stack (our own sessions are in fixtures/virtual/)',
)

for (const f of files) {
  t.test(f, { skip: missing('tshark') }, async (t) => {
    const records: Recorded[] = []
    for await (const r of openCapture(DIR + f)) {
      if (r.direction !== undefined && r.packetType !== undefined) {
        records.push({ timestampUs: r.timestampUs, direction: r.direction, packetType: r.packetType, data: r.data })
      }
    }
    const att = attPdusIn(records)
    t.ok(att.tx > 5 && att.rx > 5, `${att.tx} ATT PDUs sent, ${att.rx} received`)
    const sum = await tsharkSummary(DIR + f, { cache: true })
    t.equal(sum.frames, records.length, 'tshark sees every record')
    t.same(sum.malformed, [], 'no malformed frame')
    t.equal(sum.att, att.tx + att.rx, 'every ATT PDU decoded')
    t.ok(sum.l2cap >= sum.att, 'each in an L2CAP frame')
  })
}
