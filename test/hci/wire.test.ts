import t from 'tap'
import { Reader, Writer, toHex, fromHex } from '../../hci/wire.ts'
import { DecodeError } from '../../hci/errors.ts'
import { statusName } from '../../hci/constants.ts'
import {
  struct,
  u8,
  u16,
  i8,
  address,
  lengthPrefixed,
  list,
  perBit,
  decodeStruct,
  encodeStruct,
} from '../../hci/spec.ts'

t.test('reader reads little-endian and names the field on overrun', async (t) => {
  const r = new Reader(fromHex('0102030405'))
  t.equal(r.u8('a'), 1)
  t.equal(r.u16('b'), 0x0302)
  t.equal(r.remaining, 2)
  const e = t.throws(() => r.u24('c')) as unknown
  t.ok(e instanceof DecodeError)
  t.equal((e as DecodeError).field, 'c')
  t.equal((e as DecodeError).offset, 3)
})

t.test('u32 stays unsigned', async (t) => {
  t.equal(new Reader(fromHex('ffffffff')).u32('x'), 0xffffffff)
  t.equal(toHex(new Writer().u32(0xfffffffe).finish()), 'feffffff')
})

t.test('writer refuses values that do not fit', async (t) => {
  t.throws(() => new Writer().u8(256, 'x'), RangeError)
  t.throws(() => new Writer().u16(-1, 'x'), RangeError)
  t.throws(() => new Writer().i8(128, 'x'), RangeError)
})

t.test('status names', async (t) => {
  t.equal(statusName(2), 'Unknown Connection Identifier (0x02)')
  t.equal(statusName(0x3d), 'Connection Terminated due to MIC Failure (0x3d)')
  t.equal(statusName(0xfe), 'Reserved (0xfe)')
})

t.test('struct round trip with address, list and per-bit blocks', async (t) => {
  const s = struct({
    status: u8,
    handle: u16,
    peer: address,
    rssi: i8,
    data: lengthPrefixed,
    items: list(struct({ a: u8 })),
    phys: u8,
    perPhy: perBit(struct({ interval: u16 }), 'phys'),
  })
  // written by hand from the field order above
  const bytes = fromHex('00' + '4000' + '665544332211' + 'c4' + '02beef' + '02' + '0a' + '0b' + '05' + '1000' + '2000')
  const d = decodeStruct(s, bytes)
  if (d instanceof DecodeError) throw d
  t.same(d.value.peer, '11:22:33:44:55:66')
  t.equal(d.value.rssi, -60)
  t.equal(d.value.handle, 0x40)
  t.same(d.value.items, [{ a: 10 }, { a: 11 }])
  t.same(d.value.perPhy, [{ interval: 16 }, { interval: 32 }])
  t.equal(toHex(encodeStruct(s, d.value)), toHex(bytes))
  const bad = decodeStruct(s, bytes.subarray(0, 12))
  t.ok(bad instanceof DecodeError)
  t.match((bad as DecodeError).field, /data/)
})

t.test('trailing bytes are kept', async (t) => {
  const s = struct({ a: u8 })
  const d = decodeStruct(s, fromHex('0102'))
  if (d instanceof DecodeError) throw d
  t.equal(toHex(d.trailing!), '02')
  t.equal(toHex(encodeStruct(s, d.value, d.trailing)), '0102')
})
