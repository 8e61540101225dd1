/**
 * Fuzz target of the GATT client (att/client.ts, att/bearer.ts; Core v5.4 Vol 3 Part F 3.3
 * sequential protocol and 3.3.3 transaction timeout, Part G 4 procedures): a peer answers each
 * request with whatever the generator picks: any declared PDU (valid or mutated), the right
 * response with arbitrary parameters, an Error Response with any code, or silence; and sends
 * notifications and indications nobody asked for. Discovery, long reads, long writes and the MTU
 * exchange must each end (by an answer or the transaction timeout) with a value or a typed error.
 */
import t from 'tap'
import fc from 'fast-check'
import { AttBearer } from '../../att/bearer.ts'
import { GattClient } from '../../att/client.ts'
import { ATT_PDUS, attPduSpec } from '../../att/pdu.ts'
import { HcikitError } from '../../hci/errors.ts'
import { FakeClock, settle } from '../helpers/hci-script.ts'
import { channelPair } from '../att/channel-pair.ts'
import { concat, le16, mutated, validParams } from './arbitraries.ts'
import { fuzzAsync } from './harness.ts'

type Answer =
  | { kind: 'silence' }
  | { kind: 'pdu'; bytes: Uint8Array }
  | { kind: 'response'; params: Uint8Array }
  | { kind: 'error'; code: number }

const anyPdu = fc
  .constantFrom(...ATT_PDUS)
  .chain((spec) => mutated(validParams(spec.params, 60)).map((m) => concat([spec.opcode], m.bytes)))
const answer: fc.Arbitrary<Answer> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ kind: 'silence' as const }) },
  { weight: 2, arbitrary: anyPdu.map((bytes) => ({ kind: 'pdu' as const, bytes })) },
  { weight: 5, arbitrary: fc.uint8Array({ maxLength: 40 }).map((params) => ({ kind: 'response' as const, params })) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 255 }).map((code) => ({ kind: 'error' as const, code })) },
)
const unsolicited = fc.oneof(
  fc
    .tuple(fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: 30 }))
    .map(([h, v]) => concat([0x1b], le16(h), v)),
  fc
    .tuple(fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: 30 }))
    .map(([h, v]) => concat([0x1d], le16(h), v)),
  anyPdu,
)

type Op = 'discover' | 'read' | 'readLong' | 'writeLong' | 'mtu'
const op = fc.constantFrom<Op>('discover', 'read', 'readLong', 'writeLong', 'mtu')

/** The response opcode for a request (its opcode + 1, Part F 3.4.8). */
function respond(req: Uint8Array, a: Answer): Uint8Array | undefined {
  const opcode = req[0]!
  switch (a.kind) {
    case 'silence':
      return undefined
    case 'pdu':
      return a.bytes
    case 'response':
      return attPduSpec(opcode)?.type === 'request' ? concat([opcode + 1], a.params) : undefined
    case 'error':
      return concat([0x01, opcode], req.length >= 3 ? [req[1]!, req[2]!] : [0, 0], [a.code])
  }
}

async function session([which, answers, noise]: [Op, Answer[], Uint8Array[]]): Promise<boolean> {
  const clock = new FakeClock()
  const [c, p] = channelPair()
  const bearer = new AttBearer(c, { clock, timeout: 1000 })
  const client = new GattClient(bearer, { clock, robustCaching: false })
  let next = 0
  p.onData((req) => {
    const spec = attPduSpec(req[0]!)
    if (spec?.type !== 'request') return
    const r = respond(req, answers[next++] ?? { kind: 'silence' })
    if (r !== undefined) p.inject(r)
  })
  let outcome: 'pending' | 'done' | unknown = 'pending'
  const run = (): Promise<unknown> => {
    switch (which) {
      case 'discover':
        return client.discover({ policy: 'off' })
      case 'read':
        return client.read(0x0003)
      case 'readLong':
        return client.read(0x0003, { long: true })
      case 'writeLong':
        return client.write(0x0003, new Uint8Array(100))
      case 'mtu':
        return client.exchangeMtu()
    }
  }
  run().then(
    () => (outcome = 'done'),
    (e: unknown) => (outcome = e),
  )
  for (const n of noise) p.inject(n)
  // Every request is answered from the list or times out after 1 s: the call ends within that.
  for (let ms = 0; ms <= (answers.length + 3) * 1000 && outcome === 'pending'; ms += 100) {
    await settle()
    clock.advance(100)
  }
  await settle()
  c.close()
  if (outcome === 'pending') return false
  return outcome === 'done' || outcome instanceof HcikitError
}

t.test('the GATT client against a peer that answers anything', async (t) => {
  await fuzzAsync(
    t,
    'att-client',
    fc.tuple(op, fc.array(answer, { maxLength: 30 }), fc.array(unsolicited, { maxLength: 5 })),
    session,
    { runs: 400 },
  )
})
