import t from 'tap'
import fc from 'fast-check'
import { decodeL2capHeader, encodeL2capFrame, cidName, CID } from '../../../att/l2cap/frame.ts'
import { DecodeError } from '../../../hci/errors.ts'
import { fromHex, toHex } from '../../../hci/wire.ts'
import { realTest, realTrace } from '../../helpers/real.ts'
import { missing } from '../../helpers/tools.ts'
import { l2capFrames } from '../../helpers/tshark.ts'

// Core v5.4 Vol 3 Part A 2.1, Tables 2.1 (ACL-U) and 2.3 (LE-U), written out by hand.
const SPEC_CIDS: Record<number, string> = {
  0x0000: 'Null Identifier',
  0x0001: 'L2CAP Signaling Channel',
  0x0002: 'Connectionless Channel',
  0x0003: 'AMP Manager Protocol',
  0x0004: 'Attribute Protocol',
  0x0005: 'LE L2CAP Signaling Channel',
  0x0006: 'Security Manager Protocol',
  0x0007: 'BR/EDR Security Manager',
  0x003f: 'AMP Test Manager',
}

t.test('fixed channel identifiers and their names', async (t) => {
  t.equal(CID.SIGNALING, 1)
  t.equal(CID.ATT, 4)
  t.equal(CID.LE_SIGNALING, 5)
  t.equal(CID.SMP, 6)
  t.equal(CID.BREDR_SMP, 7)
  t.equal(CID.DYNAMIC_FIRST, 0x40)
  for (const [cid, name] of Object.entries(SPEC_CIDS)) {
    t.equal(cidName(Number(cid)), `${name} (0x${Number(cid).toString(16).padStart(4, '0')})`)
  }
  t.equal(cidName(0x0008), 'Reserved (0x0008)')
  t.equal(cidName(0x003e), 'Reserved (0x003e)')
  t.equal(cidName(0x0040), 'Dynamically Allocated (0x0040)')
  t.equal(cidName(0xffff), 'Dynamically Allocated (0xffff)')
})

t.test('a B-frame decodes to length, CID and a view of the payload, and re-encodes', async (t) => {
  // Read By Group Type Request on the ATT channel (phlash__blefun, frame 419, after the ACL header)
  const bytes = fromHex('07 00 04 00 10 01 00 ff ff 00 28')
  const f = decodeL2capHeader(bytes)
  if (f instanceof DecodeError) return t.fail(f.message)
  t.equal(f.length, 7)
  t.equal(f.cid, 4)
  t.equal(toHex(f.payload), '100100ffff0028')
  t.equal(f.payload.buffer, bytes.buffer, 'a view')
  t.equal(f.payload.byteOffset, 4)
  t.equal(toHex(encodeL2capFrame(f.cid, f.payload)), toHex(bytes))
  const empty = decodeL2capHeader(fromHex('0000 0500'))
  t.same(
    empty instanceof DecodeError ? empty.message : { length: empty.length, cid: empty.cid, n: empty.payload.length },
    { length: 0, cid: 5, n: 0 },
  )
})

t.test('truncated or overlong frames give a DecodeError naming the field', async (t) => {
  const cases: [string, string, number][] = [
    ['', 'length', 0],
    ['07', 'length', 0],
    ['07 00', 'cid', 2],
    ['07 00 04', 'cid', 2],
    ['07 00 04 00 10 01 00 ff ff 00', 'payload', 4],
    ['02 00 04 00 13 00 00', 'length', 0],
  ]
  for (const [hex, field, offset] of cases) {
    const e = decodeL2capHeader(fromHex(hex))
    t.ok(e instanceof DecodeError, hex)
    if (e instanceof DecodeError) {
      t.equal(e.field, field, `${hex}: field`)
      t.equal(e.offset, offset, `${hex}: offset`)
    }
  }
})

t.test('encode refuses a payload too long for the length field', async (t) => {
  t.throws(() => encodeL2capFrame(4, new Uint8Array(0x10000)), RangeError)
  t.throws(() => encodeL2capFrame(0x10000, new Uint8Array(1)), RangeError)
})

t.test('property: random bytes never throw; every successful decode re-encodes identically', async (t) => {
  let ok = 0
  const frames = fc.oneof(
    fc.uint8Array({ maxLength: 40 }),
    fc
      .tuple(fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: 40 }))
      .map(([cid, p]) => Uint8Array.of(p.length, 0, cid & 0xff, cid >> 8, ...p)),
  )
  fc.assert(
    fc.property(frames, (bytes) => {
      const f = decodeL2capHeader(bytes)
      if (f instanceof DecodeError) return f.field.length > 0
      ok++
      return f.length === f.payload.length && toHex(encodeL2capFrame(f.cid, f.payload)) === toHex(bytes)
    }),
    { numRuns: 3000, seed: 0x12ca9 },
  )
  t.ok(ok > 1000, `${ok} decoded`)
})

realTest(
  'oracle: length and CID agree with tshark for every L2CAP frame of a real trace',
  { skip: missing('tshark') }, // skipped without it, a failure under CI (test/helpers/tools.ts)
  async (t) => {
    // BR/EDR and LE channels, signalling, SMP and ATT, one fragmented PDU
    const file = realTrace('durnerj__PoGo-Plus-BLE__bt_log_plus_pair_2017_12_13.log')
    const frames = await l2capFrames(file, 'btl2cap', 'btl2cap')
    const problems: string[] = []
    const cids = new Set<number>()
    let n = 0
    for (const fr of frames) {
      const f = decodeL2capHeader(fr.l2cap)
      if (f instanceof DecodeError) {
        problems.push(`frame ${fr.number}: ${f.message}`)
        continue
      }
      n++
      cids.add(f.cid)
      const length = fr.fields.find((x) => x.name === 'btl2cap.length')?.show
      const cid = fr.fields.find((x) => x.name === 'btl2cap.cid')?.show
      if (String(f.length) !== length || `0x${f.cid.toString(16).padStart(4, '0')}` !== cid) {
        problems.push(`frame ${fr.number}: ${f.length}/${f.cid} vs tshark ${length}/${cid}`)
      }
    }
    t.same(problems, [])
    t.ok(n > 250, `${n} frames compared`)
    t.same(
      [...cids].sort((a, b) => a - b),
      [4, 5, 6],
      'ATT, LE signalling and SMP met',
    )
  },
)
