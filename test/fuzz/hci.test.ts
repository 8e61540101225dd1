/**
 * Fuzz targets of the HCI layer (Core v5.4 Vol 4 Part E 5.4, 7; Part A 2): event and command
 * decoders over every declared packet (valid, then mutated, with a parameter length that lies),
 * Command Complete return parameters, ACL reassembly with L2CAP lengths that lie, and the H4
 * splitter on streams cut anywhere. Each must return a value or a DecodeError/FramingError,
 * never throw, keep its memory bounded, and read a valid packet back to the same bytes.
 */
import t from 'tap'
import fc from 'fast-check'
import { AclReassembler, PB } from '../../hci/acl.ts'
import { COMMANDS, decodeCommand, decodeReturnParameters, reencodeCommand } from '../../hci/commands.ts'
import { DecodeError, FramingError } from '../../hci/errors.ts'
import { EVENTS, decodeEvent, reencodeEvent } from '../../hci/events.ts'
import { H4_MAX_PACKET, H4Splitter } from '../../hci/h4.ts'
import { LE_META_EVENT } from '../../hci/spec.ts'
import { concat, le16, lengthField, mutated, validParams, type Mutated } from './arbitraries.ts'
import { fuzz } from './harness.ts'

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b))

t.test('events: every declared event, valid and mutated, with lying lengths', async (t) => {
  const packet = fc.constantFrom(...EVENTS).chain((spec) => {
    const head = spec.code === LE_META_EVENT ? [spec.subevent!] : []
    return mutated(validParams(spec.params, 255 - head.length)).chain((m) => {
      const body = concat(head, m.bytes)
      return lengthField(body.length, 255).map((len) => ({
        spec: spec.name,
        m: { how: m.how, bytes: concat([spec.code, len & 0xff], body) } satisfies Mutated,
        honest: len === body.length && body.length <= 255,
      }))
    })
  })
  fuzz(
    t,
    'hci-event',
    packet,
    ({ spec, m, honest }) => {
      const e = decodeEvent(m.bytes)
      if (e instanceof DecodeError) return !(m.how === 'valid' && honest)
      if (m.how === 'valid' && honest) return e.name === spec && same(reencodeEvent(e), m.bytes)
      return typeof e.name === 'string'
    },
    { runs: 3000 },
  )
})

t.test('commands: every declared command, valid and mutated, with lying lengths', async (t) => {
  const packet = fc.constantFrom(...COMMANDS).chain((spec) =>
    mutated(validParams(spec.params)).chain((m) =>
      lengthField(m.bytes.length, 255).map((len) => ({
        spec: spec.name,
        how: m.how,
        bytes: concat(le16(spec.opcode), [len & 0xff], m.bytes),
        honest: len === m.bytes.length && m.bytes.length <= 255,
      })),
    ),
  )
  fuzz(
    t,
    'hci-command',
    packet,
    ({ spec, how, bytes, honest }) => {
      const c = decodeCommand(bytes)
      if (c instanceof DecodeError) return !(how === 'valid' && honest)
      if (how === 'valid' && honest) return c.name === spec && same(reencodeCommand(c), bytes)
      return true
    },
    { runs: 2000 },
  )
})

t.test('Command Complete return parameters of every command', async (t) => {
  const withReturns = COMMANDS.filter((c) => c.returns !== undefined)
  const input = fc
    .constantFrom(...withReturns)
    .chain((spec) => mutated(validParams(spec.returns!)).map((m) => ({ opcode: spec.opcode, m })))
  fuzz(
    t,
    'hci-return-parameters',
    input,
    ({ opcode, m }) => {
      const r = decodeReturnParameters(opcode, m.bytes)
      if (m.how === 'valid') return r !== undefined && !(r instanceof DecodeError)
      return r === undefined || r instanceof DecodeError || typeof r.value === 'object'
    },
    { runs: 1500 },
  )
})

/** ACL packets (Core v5.4 Vol 4 Part E 5.4.2) carrying L2CAP B-frames (Vol 3 Part A 3.1) whose lengths may lie. */
const aclStream = fc.array(
  fc
    .record({
      handle: fc.integer({ min: 0, max: 3 }),
      pb: fc.constantFrom(PB.FirstNonFlushable, PB.Continuing, PB.FirstFlushable, 3),
      l2capLength: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.constantFrom(0xffff, 0xfffe, 300)),
      payload: fc.uint8Array({ maxLength: 80 }),
      aclLength: fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: undefined }),
    })
    .map((f) => {
      const data = f.pb === PB.Continuing ? f.payload : concat(le16(f.l2capLength), le16(4), f.payload)
      const len = f.aclLength ?? data.length
      return concat(le16((f.handle & 0x0fff) | (f.pb << 12)), le16(len), data)
    }),
  { maxLength: 40 },
)

t.test('ACL reassembly: lying L2CAP and ACL lengths, interleaved handles, bounded memory', async (t) => {
  const max = 512
  fuzz(
    t,
    'hci-acl-reassembly',
    aclStream,
    (packets) => {
      let errors = 0
      const r = new AclReassembler({ maxPduSize: max, onError: () => void errors++ })
      for (const p of packets) {
        const pdu = r.push(p)
        if (pdu !== undefined && pdu.length !== 4 + (pdu[0]! | (pdu[1]! << 8))) return false
        if (r.buffered() > 4 * max) return false
      }
      return errors === r.stats.errors
    },
    { runs: 1500 },
  )
})

/** H4 frames (Vol 4 Part A 2) with headers whose lengths may lie, as one stream cut into chunks. */
const h4Stream = fc
  .array(
    fc.oneof(
      fc.tuple(fc.constant(4), fc.uint8Array({ minLength: 2, maxLength: 40 })),
      fc.tuple(fc.constant(1), fc.uint8Array({ minLength: 3, maxLength: 40 })),
      fc.tuple(fc.constant(2), fc.uint8Array({ minLength: 4, maxLength: 60 })),
      fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 8 })),
    ),
    { maxLength: 30 },
  )
  .chain((frames) => {
    const stream = concat(...frames.map(([type, body]) => concat([type], body)))
    return fc.tuple(fc.constant(stream), fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 40 }))
  })

t.test('H4 splitter: any byte stream, cut anywhere', async (t) => {
  fuzz(
    t,
    'hci-h4-splitter',
    h4Stream,
    ([stream, cuts]) => {
      let ok = true
      const s = new H4Splitter({
        onPacket: (p) => {
          if (p.data.length > H4_MAX_PACKET) ok = false
        },
        onError: (e) => {
          if (!(e instanceof FramingError)) ok = false
        },
      })
      let at = 0
      for (const n of cuts) {
        s.push(stream.subarray(at, at + n))
        at += n
        if (s.buffered > H4_MAX_PACKET) ok = false
      }
      s.push(stream.subarray(at))
      return ok && s.offset === stream.length
    },
    { runs: 1500 },
  )
})
