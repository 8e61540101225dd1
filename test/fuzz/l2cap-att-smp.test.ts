/**
 * Fuzz targets of the LE data path's codecs: L2CAP basic frames (Core v5.4 Vol 3 Part A 3.1),
 * the LE signalling channel (Part A 4, one command per C-frame, with a Length field that may
 * lie), every ATT PDU (Part F 3.4) and SMP PDU (Part H 3) declared, and advertising data (Vol 3
 * Part C 11, CSS Part A: AD structures whose length octets may lie). Each decoder returns a value
 * or a DecodeError and never throws; a valid PDU reads back to the same bytes.
 */
import t from 'tap'
import fc from 'fast-check'
import { DecodeError } from '../../hci/errors.ts'
import { ATT_PDUS, decodeAttPdu, reencodeAttPdu } from '../../att/pdu.ts'
import { decodeL2capHeader } from '../../att/l2cap/frame.ts'
import { SIGNALING_COMMANDS, decodeSignaling, encodeSignalingRaw } from '../../att/l2cap/signaling-pdu.ts'
import { parseAd } from '../../gap/ad.ts'
import { SMP_PDUS, decodeSmpPdu } from '../../gap/smp/pdu.ts'
import { reencodePdu } from '../../att/pdu.ts'
import { concat, le16, lengthField, mutated, validParams } from './arbitraries.ts'
import { fuzz } from './harness.ts'

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b))

t.test('L2CAP basic header: any bytes, lengths that lie', async (t) => {
  const frame = fc
    .uint8Array({ maxLength: 80 })
    .chain((payload) =>
      fc
        .tuple(lengthField(payload.length, 0xffff), fc.integer({ min: 0, max: 0xffff }))
        .map(([len, cid]) => ({ honest: len === payload.length, bytes: concat(le16(len), le16(cid), payload) })),
    )
  fuzz(
    t,
    'l2cap-frame',
    fc.oneof(
      frame,
      fc.uint8Array({ maxLength: 8 }).map((bytes) => ({ honest: false, bytes })),
    ),
    ({ honest, bytes }) => {
      const f = decodeL2capHeader(bytes)
      if (f instanceof DecodeError) return !honest
      return f.payload.length <= bytes.length - 4
    },
  )
})

t.test('every ATT PDU, valid and mutated', async (t) => {
  const pdu = fc.constantFrom(...ATT_PDUS).chain((spec) => {
    // ATT's own rules on top of the field table: no octet left over, lists not empty.
    const accept = (b: Uint8Array): boolean => !(decodeAttPdu(concat([spec.opcode], b)) instanceof DecodeError)
    return mutated(validParams(spec.params, 300, accept), 300, accept).map((m) => ({
      name: spec.name,
      how: m.how,
      bytes: concat([spec.opcode], m.bytes),
    }))
  })
  fuzz(
    t,
    'att-pdu',
    fc.oneof(
      pdu,
      fc.uint8Array({ maxLength: 40 }).map((bytes) => ({ name: '', how: 'random' as const, bytes })),
    ),
    ({ name, how, bytes }) => {
      const p = decodeAttPdu(bytes)
      if (p instanceof DecodeError) return how !== 'valid'
      if (how === 'valid') return p.name === name && same(reencodeAttPdu(p), bytes)
      return same(reencodeAttPdu(p), bytes) || p.spec !== undefined
    },
    { runs: 3000 },
  )
})

t.test('every SMP PDU, valid and mutated', async (t) => {
  const pdu = fc.constantFrom(...SMP_PDUS).chain((spec) =>
    mutated(validParams(spec.params, 64)).map((m) => ({
      name: spec.name,
      how: m.how,
      bytes: concat([spec.code], m.bytes),
    })),
  )
  fuzz(
    t,
    'smp-pdu',
    pdu,
    ({ name, how, bytes }) => {
      const p = decodeSmpPdu(bytes)
      if (p instanceof DecodeError) return how !== 'valid'
      if (how === 'valid') return p.name === name && same(reencodePdu(p), bytes)
      return true
    },
    { runs: 1500 },
  )
})

t.test('every LE signalling command, valid and mutated, with a Length field that lies', async (t) => {
  const command = fc.constantFrom(...SIGNALING_COMMANDS).chain((spec) =>
    mutated(validParams(spec.params, 200)).chain((m) =>
      fc.tuple(fc.integer({ min: 0, max: 255 }), lengthField(m.bytes.length, 0xffff)).map(([id, len]) => {
        const bytes = encodeSignalingRaw(spec.code, id, m.bytes)
        bytes[2] = len & 0xff
        bytes[3] = len >> 8
        return { name: spec.name, how: m.how, honest: len === m.bytes.length, bytes }
      }),
    ),
  )
  fuzz(
    t,
    'l2cap-signaling',
    command,
    ({ name, how, honest, bytes }) => {
      const cmds = decodeSignaling(bytes)
      if (cmds instanceof DecodeError) return !(how === 'valid' && honest)
      if (how === 'valid' && honest) return cmds.length === 1 && cmds[0]!.name === name
      return cmds.every((c) => c.offset + 4 + c.length <= bytes.length)
    },
    { runs: 2000 },
  )
})

/** AD structures (Vol 3 Part C 11): a length octet, a type, data; the length may lie. */
const AD_TYPES = [
  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x16, 0x19, 0x20, 0x21, 0xff, 0x14, 0x15, 0x1f,
]
const adData = fc
  .array(
    fc
      .tuple(fc.oneof(fc.constantFrom(...AD_TYPES), fc.integer({ min: 0, max: 255 })), fc.uint8Array({ maxLength: 30 }))
      .chain(([type, data]) =>
        lengthField(data.length + 1, 255).map((len) => ({
          honest: len === data.length + 1,
          bytes: concat([len, type], data),
        })),
      ),
    { maxLength: 12 },
  )
  .map((parts) => ({
    honest: parts.every((p) => p.honest),
    count: parts.length,
    bytes: concat(...parts.map((p) => p.bytes)),
  }))

t.test('advertising data: AD structures with lying lengths, unknown types, noise', async (t) => {
  fuzz(
    t,
    'gap-ad',
    adData,
    ({ honest, count, bytes }) => {
      const ad = parseAd(bytes)
      const covered = ad.structures.reduce((n, s) => n + 2 + s.data.length, 0)
      if (covered > bytes.length) return false
      return !honest || ad.structures.length === count
    },
    { runs: 2000 },
  )
})
