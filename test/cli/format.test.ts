/** src/cli/format.ts: CHAR and HEX arguments, value text, RSSI bar, advertisement JSON from hand-written AD bytes. */
import t from 'tap'
import { parseAd } from '../../gap/ad.ts'
import {
  advertisementJson,
  parseCharArg,
  parseHexArg,
  propertyNames,
  rssiBar,
  valueText,
} from '../../src/cli/format.ts'
import type { Advertisement } from '../../src/index.ts'

t.test('CHAR: 0x handles, UUIDs otherwise', async (t) => {
  t.same(parseCharArg('0x0010'), { handle: 0x10 })
  t.same(parseCharArg('0x1f'), { handle: 0x1f })
  t.same(parseCharArg('2a37'), { uuid: '00002a37-0000-1000-8000-00805f9b34fb' })
  t.same(parseCharArg('8F3A0002-4B1C-4E2A-9C1D-6863696B6974'), { uuid: '8f3a0002-4b1c-4e2a-9c1d-6863696b6974' })
  t.throws(() => parseCharArg('zz'))
  t.throws(() => parseCharArg('11'), 'two digits are neither (handles need 0x)')
})

t.test('HEX: spellings and errors', async (t) => {
  t.same([...parseHexArg('0102ff')], [1, 2, 255])
  t.same([...parseHexArg('01:02:FF')], [1, 2, 255])
  t.same([...parseHexArg('0x0102')], [1, 2])
  t.same([...parseHexArg('01 02')], [1, 2])
  t.throws(() => parseHexArg('123'))
  t.throws(() => parseHexArg('0g'))
})

t.test('values, properties, RSSI bar', async (t) => {
  t.equal(valueText(new Uint8Array([0x68, 0x69])), '6869 "hi"')
  t.equal(valueText(new Uint8Array([0x5a])), '5a', 'one byte: no text')
  t.equal(valueText(new Uint8Array([0x00, 0x01])), '0001')
  t.equal(valueText(new Uint8Array(0)), '(empty)')
  // A value that reorders the terminal's text (U+202E RIGHT-TO-LEFT OVERRIDE) is shown escaped.
  t.equal(valueText(Buffer.from('ab\u202ecd', 'utf8')), '6162e280ae6364 "ab\\u202ecd"')
  t.equal(valueText(Buffer.from('\x1b[2J', 'utf8')), '1b5b324a', 'an escape sequence is not text')
  t.same(propertyNames(0x1a), ['read', 'write', 'notify'])
  t.equal(rssiBar(-100), '········')
  t.equal(rssiBar(-30), '████████')
  t.equal(rssiBar(127).length, 8)
})

t.test('advertisement JSON from AD bytes written by hand', async (t) => {
  // flags 06; complete 16-bit UUIDs 180d 180f; complete name "HR"; TX power -4;
  // manufacturer 0x0059 data 01 02; service data 180f: 64
  const data = Uint8Array.from([
    0x02, 0x01, 0x06, 0x05, 0x03, 0x0d, 0x18, 0x0f, 0x18, 0x03, 0x09, 0x48, 0x52, 0x02, 0x0a, 0xfc, 0x05, 0xff, 0x59,
    0x00, 0x01, 0x02, 0x04, 0x16, 0x0f, 0x18, 0x64,
  ])
  const ad = parseAd(data)
  const adv = {
    address: 'C0:00:00:00:00:01',
    addressType: 'random',
    rssi: -60,
    name: 'HR',
    connectable: true,
    ad,
    data,
  } as unknown as Advertisement
  t.same(advertisementJson(adv), {
    address: 'C0:00:00:00:00:01',
    addressType: 'random',
    rssi: -60,
    name: 'HR',
    serviceUuids: ['0000180d-0000-1000-8000-00805f9b34fb', '0000180f-0000-1000-8000-00805f9b34fb'],
    manufacturerData: [{ companyId: 0x59, data: '0102' }],
    serviceData: [{ uuid: '0000180f-0000-1000-8000-00805f9b34fb', data: '64' }],
    txPower: -4,
    connectable: true,
  })
})
