/**
 * Fuzz target of the GATT server (att/server*.ts; Core v5.4 Vol 3 Part F 3.4 and Part G 4):
 * sequences of every ATT PDU declared (valid and mutated), aimed at the handles of a known
 * database, with prepare-queue floods, writes past a value's bounds, junk CCCD writes and
 * Execute Writes in any state. Each request gets its response or an Error Response for its own
 * opcode that fits ATT_MTU; other PDUs get nothing; the prepare queue never grows past its bounds.
 */
import t from 'tap'
import fc from 'fast-check'
import { ATT_PDUS, attPduSpec, decodeAttPdu } from '../../att/pdu.ts'
import { handleRequest } from '../../att/server.ts'
import { DecodeError } from '../../hci/errors.ts'
import { connection, fixture } from '../att/server-fixture.ts'
import { concat, le16, mutated, validParams } from './arbitraries.ts'
import { fuzzAsync } from './harness.ts'

const LIMIT = { prepareQueueLimit: 16, prepareQueueBytes: 600 }
/** Handles of the fixture's database worth aiming at: values, CCCDs, declarations, none. */
const HANDLES = [
  0x0000, 0x0001, 0x0003, 0x0009, 0x000b, 0x0011, 0x0013, 0x0017, 0x0019, 0x0021, 0x0024, 0x002a, 0x0041, 0xffff,
]

const declared = fc.constantFrom(...ATT_PDUS).chain((spec) =>
  mutated(validParams(spec.params, 120)).chain((m) =>
    // Most ATT PDUs start with a handle: aim it at the database half of the time.
    fc.tuple(fc.boolean(), fc.constantFrom(...HANDLES)).map(([aim, h]) => {
      const b = Uint8Array.from(m.bytes)
      if (aim && b.length >= 2) b.set(le16(h), 0)
      return concat([spec.opcode], b)
    }),
  ),
)
const prepare = fc
  .tuple(
    fc.constantFrom(0x11, 0x13, 0x17, 0x26, 0x99),
    fc.integer({ min: 0, max: 600 }),
    fc.uint8Array({ maxLength: 18 }),
  )
  .map(([h, offset, v]) => concat([0x16], le16(h), le16(offset), v))
const flood = fc.integer({ min: 1, max: 40 }).chain((n) => fc.array(prepare, { minLength: n, maxLength: n }))
const cccd = fc
  .tuple(fc.constantFrom(0x12, 0x52), fc.constantFrom(0x17, 0x2a, 0x09, 0x11), fc.uint8Array({ maxLength: 4 }))
  .map(([op, h, v]) => concat([op], le16(h), v))
const execute = fc.integer({ min: 0, max: 3 }).map((f) => Uint8Array.from([0x18, f]))
const pastBounds = fc
  .tuple(fc.constantFrom(0x11, 0x13), fc.integer({ min: 500, max: 700 }))
  .map(([h, n]) => concat([0x12], le16(h), new Uint8Array(Math.min(n, 200))))

const sequence = fc
  .array(fc.oneof(declared, declared, cccd, execute, pastBounds, prepare), { maxLength: 20 })
  .chain((pdus) => fc.tuple(fc.constant(pdus), flood, fc.integer({ min: 23, max: 517 })))

t.test('the GATT server under any PDU sequence', async (t) => {
  const { db } = fixture()
  await fuzzAsync(
    t,
    'gatt-server',
    sequence,
    async ([pdus, floodPdus, mtu]) => {
      const conn = connection({ mtu, ...LIMIT })
      for (const pdu of [...pdus, ...floodPdus, ...pdus]) {
        const r = await handleRequest(db, conn, pdu)
        if (conn.prepareQueue.length > LIMIT.prepareQueueLimit || conn.preparedBytes > LIMIT.prepareQueueBytes)
          return false
        if (pdu.length === 0) continue
        const op = pdu[0]!
        const spec = attPduSpec(op)
        const request = spec ? spec.type === 'request' : (op & 0x40) === 0
        if (r === undefined) {
          if (request) return false
          continue
        }
        if (r.length > conn.mtu) return false
        const answer = decodeAttPdu(r)
        if (answer instanceof DecodeError) return false
        if (!(r[0] === op + 1 || (r[0] === 0x01 && r[1] === op && r.length === 5))) return false
      }
      return true
    },
    { runs: 400 },
  )
})
