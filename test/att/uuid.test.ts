import t from 'tap'
import fc from 'fast-check'
import {
  parseUuid,
  uuidEquals,
  uuidToBytes,
  uuidToAttBytes,
  decodeUuid,
  shortUuid,
  uuid16,
  uuid32,
  isCanonicalUuid,
  uuidFromWire,
  uuidToWire,
  UuidError,
  GattUuid,
} from '../../att/uuid.ts'
import { DecodeError, HcikitError } from '../../hci/errors.ts'
import { fromHex, toHex } from '../../hci/wire.ts'

const HRS = '0000180d-0000-1000-8000-00805f9b34fb'
const NUS = '6e400001-b5a3-f393-e0a9-e50e24dcca9e'

t.test('parse: every accepted spelling gives the canonical 128-bit form', async (t) => {
  for (const s of [
    '180d',
    '180D',
    '0x180d',
    '0X180D',
    ' 180d ',
    '0000180d',
    '0x0000180D',
    HRS,
    HRS.toUpperCase(),
    '0000180d00001000800000805f9b34fb',
  ]) {
    t.equal(parseUuid(s), HRS, s)
  }
  t.equal(parseUuid(0x180d), HRS)
  t.equal(parseUuid(0x12345678), '12345678-0000-1000-8000-00805f9b34fb')
  t.equal(parseUuid('6E400001B5A3F393E0A9E50E24DCCA9E'), NUS)
  t.equal(parseUuid(NUS), NUS)
})

t.test('parse: bad input is a UuidError naming the input', async (t) => {
  for (const bad of [
    '',
    '18d',
    '180g',
    '0x',
    '12345',
    '0000180d-0000-1000-8000',
    '6e400001-b5a3f393-e0a9-e50e24dcca9e',
    '6e400001b5a3f393e0a9e50e24dcca9e00',
  ]) {
    const e = t.throws(() => parseUuid(bad)) as unknown
    t.ok(e instanceof UuidError && e instanceof HcikitError, `${JSON.stringify(bad)} is a UuidError`)
    t.equal((e as UuidError).code, 'UUID_INVALID')
    t.match((e as UuidError).message, JSON.stringify(bad))
  }
  for (const bad of [-1, 1.5, 0x100000000, NaN]) t.throws(() => parseUuid(bad), UuidError, String(bad))
  t.throws(() => parseUuid({} as unknown as string), UuidError)
})

t.test('equality across sizes and spellings', async (t) => {
  t.ok(uuidEquals('2902', '0x2902'))
  t.ok(uuidEquals(0x2902, '00002902-0000-1000-8000-00805F9B34FB'))
  t.ok(uuidEquals('00002902', 0x2902))
  t.notOk(uuidEquals('2902', '2903'))
  t.notOk(uuidEquals(NUS, '6e400002-b5a3-f393-e0a9-e50e24dcca9e'))
})

t.test('short forms and aliases', async (t) => {
  t.equal(shortUuid(HRS), '180d')
  t.equal(shortUuid(parseUuid(0x12345678)), '12345678')
  t.equal(shortUuid(NUS), NUS)
  t.equal(uuid16(HRS), 0x180d)
  t.equal(uuid16(parseUuid(0x12345678)), undefined)
  t.equal(uuid32(parseUuid(0x12345678)), 0x12345678)
  t.equal(uuid32(NUS), undefined)
  t.ok(isCanonicalUuid(HRS))
  t.notOk(isCanonicalUuid('180d'))
  t.equal(GattUuid.ClientCharacteristicConfiguration, '00002902-0000-1000-8000-00805f9b34fb')
})

t.test('to wire: little-endian, 2/4/16 octets (bytes written from Core Vol 3 Part B 2.5.1)', async (t) => {
  t.equal(toHex(uuidToBytes(HRS)), '0d18')
  t.equal(toHex(uuidToBytes(HRS, 4)), '0d180000')
  t.equal(toHex(uuidToBytes(HRS, 16)), 'fb349b5f80000080001000000d180000')
  t.equal(toHex(uuidToBytes(parseUuid(0x12345678))), '78563412')
  t.equal(toHex(uuidToBytes(NUS)), '9ecadc240ee5a9e093f3a3b50100406e')
  t.throws(() => uuidToBytes(NUS, 2), UuidError)
  t.throws(() => uuidToBytes(parseUuid(0x12345678), 2), UuidError)
  // ATT widens 32-bit UUIDs to 128 (Core Vol 3 Part F 3.2.1)
  t.equal(toHex(uuidToAttBytes(parseUuid(0x12345678))), 'fb349b5f800000800010000078563412')
  t.equal(toHex(uuidToAttBytes(HRS)), '0d18')
  t.equal(toHex(uuidToAttBytes('2a37')), '372a', 'accepts any spelling')
})

t.test('from wire', async (t) => {
  t.equal(decodeUuid(fromHex('0d18')), HRS)
  t.equal(decodeUuid(fromHex('78563412')), '12345678-0000-1000-8000-00805f9b34fb')
  t.equal(decodeUuid(fromHex('fb349b5f80000080001000000d180000')), HRS)
  t.equal(decodeUuid(fromHex('9ecadc240ee5a9e093f3a3b50100406e')), NUS)
  t.ok(decodeUuid(fromHex('0d18ff')) instanceof DecodeError)
  t.ok(decodeUuid(new Uint8Array(0)) instanceof DecodeError)
})

t.test('the wire forms the ATT PDU specs keep', async (t) => {
  t.equal(uuidFromWire(fromHex('0229')), '2902')
  t.equal(uuidFromWire(fromHex('9ecadc240ee5a9e093f3a3b50100406e')), NUS)
  t.equal(toHex(uuidToWire('2902')), '0229')
  t.equal(toHex(uuidToWire('0x2902')), '0229')
  t.equal(toHex(uuidToWire(HRS)), 'fb349b5f80000080001000000d180000', 'a dashed string stays 16 octets')
  t.throws(() => uuidToWire('0000180d'), RangeError)
  t.equal(parseUuid(uuidFromWire(fromHex('0229'))), GattUuid.ClientCharacteristicConfiguration)
})

t.test('property: parse and wire round trips', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
      const u = decodeUuid(b) as string
      if (!isCanonicalUuid(u)) return false
      if (parseUuid(u) !== u || parseUuid(u.replace(/-/g, '').toUpperCase()) !== u) return false
      if (toHex(uuidToBytes(u, 16)) !== toHex(b)) return false
      // the shortest form decodes to the same UUID
      return decodeUuid(uuidToBytes(u)) === u && parseUuid(shortUuid(u)) === u
    }),
    { seed: 42, numRuns: 500 },
  )
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
      const u = parseUuid(n)
      const b = uuidToBytes(u)
      return b.length === (n <= 0xffff ? 2 : 4) && decodeUuid(b) === u && uuid32(u) === n
    }),
    { seed: 43, numRuns: 500 },
  )
  t.pass()
})
