import t, { type Test } from 'tap'
import fc from 'fast-check'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AdBuilder, adToJson, adTypeName, parseAd, uuidToBytes, uuidToString } from '../../gap/ad.ts'
import type { ParsedAd } from '../../gap/ad.ts'
import { fromHex, toHex } from '../../hci/wire.ts'
import { realTest, realTraces, shortName } from '../helpers/real.ts'
import { missing } from '../helpers/tools.ts'
import { tsharkText } from '../helpers/tshark.ts'

const hex = (s: string) => fromHex(s.replace(/\s+/g, ''))
const base = (short: string) => `${short.padStart(8, '0')}-0000-1000-8000-00805f9b34fb`

// ---------------------------------------------------------------------------------------------
// 1. Hand-written data (real devices, CSS formats) and the builder
// ---------------------------------------------------------------------------------------------

t.test('real device: PLAYBULB CANDLE advertising and scan response', async (t) => {
  // ajesler__bluetooth-candle-go-talk frame 113 (advertising) and 114 (scan response).
  const adv = parseAd(hex('020106 030302ff 03194003 020afe 06ff4d49504f57'))
  t.same(adv.errors, [])
  t.equal(adv.flags, 0x06)
  t.same(adv.serviceUuids, [base('ff02')])
  t.equal(adv.serviceUuidsComplete, true)
  t.equal(adv.appearance, 0x0340)
  t.equal(adv.txPower, -2)
  t.equal(adv.manufacturerData.length, 1)
  t.equal(adv.manufacturerData[0]!.companyId, 0x494d)
  t.equal(toHex(adv.manufacturerData[0]!.data), '504f57')
  t.same(
    adv.structures.map((s) => [s.type, s.offset, toHex(s.data)]),
    [
      [0x01, 0, '06'],
      [0x03, 3, '02ff'],
      [0x19, 7, '4003'],
      [0x0a, 11, 'fe'],
      [0xff, 14, '4d49504f57'],
    ],
  )
  t.equal(adv.structures[4]!.typeName, 'Manufacturer Specific Data')
  const rsp = parseAd(hex('1009 504c415942554c422043414e444c45'))
  t.equal(rsp.localName, 'PLAYBULB CANDLE')
  t.equal(rsp.shortName, undefined)
})

t.test('real device: EIR with empty complete lists and zero padding', async (t) => {
  // 2m__a2dp-captures frame 251 (Write Extended Inquiry Response, 240 octets).
  const eir = new Uint8Array(240)
  eir.set(hex('0909344753207669696907030c1112111f11 0105 0107'))
  const ad = parseAd(eir)
  t.same(ad.errors, [])
  t.equal(ad.localName, '4GS viii')
  t.same(ad.serviceUuids, [base('110c'), base('1112'), base('111f')])
  t.equal(ad.serviceUuidsComplete, true)
  t.same(
    ad.structures.map((s) => s.type),
    [0x09, 0x03, 0x05, 0x07],
  )
})

t.test('real device: Xiaomi band name with a trailing NUL, iBeacon manufacturer data', async (t) => {
  // Syed-Bipul-Rahman frame 6557: the name is sent as a C string.
  const ad = parseAd(hex('1b095869616f6d692042616e64203920416374697665203633343400'))
  t.equal(ad.localName, 'Xiaomi Band 9 Active 6344')
  t.equal(ad.structures[0]!.data.length, 26, 'the raw structure keeps the NUL')
  // mtoslalibu frame 1: Apple (0x004c) continuity data.
  const apple = parseAd(hex('020106 13ff4c000c0e00cf41fe3ce0b2052a90013f36a2'))
  t.equal(apple.manufacturerData[0]!.companyId, 0x004c)
  t.equal(toHex(apple.manufacturerData[0]!.data), '0c0e00cf41fe3ce0b2052a90013f36a2')
})

t.test('UUIDs and type names', async (t) => {
  t.equal(uuidToString(hex('0d18')), '0000180d-0000-1000-8000-00805f9b34fb')
  t.equal(uuidToString(hex('78563412')), '12345678-0000-1000-8000-00805f9b34fb')
  t.equal(uuidToString(hex('9ecadc240ee5a9e093f3a3b50100406e')), '6e400001-b5a3-f393-e0a9-e50e24dcca9e')
  t.throws(() => uuidToString(hex('010203')), RangeError)
  t.equal(toHex(uuidToBytes(0x180d)), '0d18')
  t.equal(toHex(uuidToBytes('0x180D')), '0d18')
  t.equal(toHex(uuidToBytes('0000180F-0000-1000-8000-00805F9B34FB')), '0f18')
  t.equal(toHex(uuidToBytes('12345678')), '78563412')
  t.equal(toHex(uuidToBytes('6e400001-b5a3-f393-e0a9-e50e24dcca9e')), '9ecadc240ee5a9e093f3a3b50100406e')
  t.throws(() => uuidToBytes('nope'), RangeError)
  t.equal(adTypeName(0x01), 'Flags')
  t.equal(adTypeName(0x16), 'Service Data - 16-bit UUID')
  t.equal(adTypeName(0x2a), 'Mesh Message')
  t.equal(adTypeName(0x3d), '3D Information Data')
  t.equal(adTypeName(0x13), 'Unknown AD type (0x13)')
})

t.test('every data type of CSS v11 Part A', async (t) => {
  const ad = parseAd(
    hex(`
      02 01 1a
      05 02 0d18 0f18
      05 05 78563412
      11 07 9ecadc240ee5a9e093f3a3b50100406e
      06 08 6863696b69
      07 09 6863696b6974
      02 0a 80
      04 0d 0c025a
      11 0e 000102030405060708090a0b0c0d0e0f
      11 0f 101112131415161718191a1b1c1d1e1f
      09 10 0100 5d00 0100 0002
      02 11 0b
      05 12 0600 8000
      03 14 1218
      05 1f 01efcdab
      11 15 ffeeddccbbaa99887766554433221100
      05 16 0f18 64 ff
      07 20 04030201 aabb
      12 21 9ecadc240ee5a9e093f3a3b50100406e 42
      0d 17 665544332211 ccbbaa998877
      07 18 c1b2a3948576
      03 19 c103
      03 1a 4000
      08 1b 665544332211 01
      02 1c 02
      11 1d 202122232425262728292a2b2c2d2e2f
      11 1e 303132333435363738393a3b3c3d3e3f
      11 22 404142434445464748494a4b4c4d4e4f
      11 23 505152535455565758595a5b5c5d5e5f
      15 24 17 2f2f7777772e626c7565746f6f74682e636f6d
    `),
  )
  t.same(ad.errors, [])
  t.equal(ad.flags, 0x1a)
  t.same(ad.serviceUuids, [base('180d'), base('180f'), base('12345678'), '6e400001-b5a3-f393-e0a9-e50e24dcca9e'])
  t.equal(ad.serviceUuidsComplete, false, 'one list is incomplete')
  t.equal(ad.shortName, 'hciki')
  t.equal(ad.localName, 'hcikit')
  t.equal(ad.txPower, -128)
  t.equal(ad.classOfDevice, 0x5a020c)
  t.equal(toHex(ad.simplePairingHashC192!), '000102030405060708090a0b0c0d0e0f')
  t.equal(toHex(ad.simplePairingRandomizerR192!), '101112131415161718191a1b1c1d1e1f')
  t.same(ad.deviceId, { vendorIdSource: 1, vendorId: 0x005d, productId: 1, version: 0x0200 })
  t.equal(ad.securityManagerOobFlags, 0x0b)
  t.same(ad.peripheralConnectionIntervalRange, { min: 6, max: 0x80 })
  t.same(ad.solicitationUuids, [base('1812'), base('abcdef01'), '00112233-4455-6677-8899-aabbccddeeff'])
  t.same(
    ad.serviceData.map((d) => [d.uuid, toHex(d.data)]),
    [
      [base('180f'), '64ff'],
      [base('01020304'), 'aabb'],
      ['6e400001-b5a3-f393-e0a9-e50e24dcca9e', '42'],
    ],
  )
  t.same(ad.publicTargetAddresses, ['11:22:33:44:55:66', '77:88:99:AA:BB:CC'])
  t.same(ad.randomTargetAddresses, ['76:85:94:A3:B2:C1'])
  t.equal(ad.appearance, 0x03c1)
  t.equal(ad.advertisingInterval, 0x40)
  t.same(ad.leBluetoothDeviceAddress, { address: '11:22:33:44:55:66', random: true })
  t.equal(ad.leRole, 2)
  t.equal(toHex(ad.simplePairingHashC256!), '202122232425262728292a2b2c2d2e2f')
  t.equal(toHex(ad.simplePairingRandomizerR256!), '303132333435363738393a3b3c3d3e3f')
  t.equal(toHex(ad.leSecureConnectionsConfirmation!), '404142434445464748494a4b4c4d4e4f')
  t.equal(toHex(ad.leSecureConnectionsRandom!), '505152535455565758595a5b5c5d5e5f')
  t.equal(ad.uri, 'https://www.bluetooth.com')
  t.same(ad.unknown, [])

  const more = parseAd(
    hex(`
      11 10 000102030405060708090a0b0c0d0e0f
      0f 25 3d 44332211 88776655 e5 07 3412 a1
      0a 26 01 02 03 aabbcc 02 00 00
      03 27 0100
      08 28 ffffffff1f 3412
      03 29 0102
      03 2a 0304
      03 2b 0506
      11 2d 0102030405060708090a0b0c0d0e0f10
      07 2e 0a0b0c0d0e0f
      04 2f 000008
      05 30 4a617a7a
      0d 31 0102030405 aabbcc ddeeff00
      09 32 78563412 05 10 20 30
      03 34 0102
      03 3d 21 37
      03 13 dead
      04 ff ffff 00
    `),
  )
  t.same(more.errors, [])
  t.equal(toHex(more.securityManagerTk!), '000102030405060708090a0b0c0d0e0f')
  t.same(more.indoorPositioning, {
    config: 0x3d,
    locationNameAvailable: false,
    latitude: 0x11223344,
    longitude: 0x55667788,
    txPower: -27,
    floorNumber: 7,
    altitude: 0x1234,
    uncertainty: 0xa1,
  })
  t.same(
    more.transportDiscovery!.map((b) => [b.organizationId, b.flags, toHex(b.data)]),
    [
      [1, 2, 'aabbcc'],
      [2, 0, ''],
    ],
  )
  t.equal(toHex(more.leSupportedFeatures!), '0100')
  t.equal(toHex(more.channelMapUpdate!.channelMap), 'ffffffff1f')
  t.equal(more.channelMapUpdate!.instant, 0x1234)
  t.equal(toHex(more.meshPbAdv!), '0102')
  t.equal(toHex(more.meshMessage!), '0304')
  t.equal(toHex(more.meshBeacon!), '0506')
  t.equal(more.structures.find((s) => s.type === 0x2a)!.typeName, 'Mesh Message')
  t.equal(toHex(more.broadcastCode!), '0102030405060708090a0b0c0d0e0f10')
  t.equal(toHex(more.resolvableSetIdentifier!), '0a0b0c0d0e0f')
  t.equal(more.advertisingInterval, 0x080000)
  t.equal(more.broadcastName, 'Jazz')
  t.same(Object.fromEntries(Object.entries(more.encryptedData!).map(([k, v]) => [k, toHex(v)])), {
    randomizer: '0102030405',
    payload: 'aabbcc',
    mic: 'ddeeff00',
  })
  t.same(more.periodicAdvertisingResponseTiming, {
    rspAccessAddress: 0x12345678,
    numSubevents: 5,
    subeventInterval: 0x10,
    responseSlotDelay: 0x20,
    responseSlotSpacing: 0x30,
  })
  t.equal(toHex(more.electronicShelfLabel!), '0102')
  t.same(more.threeDInformation, { flags: 0x21, pathLossThreshold: 0x37 })
  t.same(
    more.unknown.map((s) => [s.type, s.typeName, toHex(s.data)]),
    [[0x13, 'Unknown AD type (0x13)', 'dead']],
  )
  t.equal(more.manufacturerData[0]!.companyId, 0xffff)

  const local = parseAd(hex('06 25 03 feff 0a00'))
  t.same(local.indoorPositioning, { config: 3, locationNameAvailable: false, localNorth: -2, localEast: 10 })
  const did = parseAd(hex('0310 0102'))
  t.equal(did.deviceId, undefined)
  t.match(did.errors[0]!.message, /16 bytes .* or 8/)
})

t.test('URI scheme code points (Assigned Numbers 2.7)', async (t) => {
  t.equal(parseAd(hex('0724 c287 3f713d78')).uri, 'maps:?q=x', 'code point 0x87 is two UTF-8 octets')
  t.equal(parseAd(hex('0924 01 666f6f3a626172')).uri, 'foo:bar', 'code point 0x01: no scheme')
  t.equal(parseAd(hex('0624 c2ba 2f2f61')).uri, 'ms-settings-cloudstorage://a', 'last assigned code point')
  t.equal(parseAd(hex('0524 02 782e79')).uri, 'aaa:x.y', 'first assigned code point')
  const bad = parseAd(hex('0424 c2bb 61'))
  t.equal(bad.uri, undefined)
  t.match(bad.errors[0]!.message, /unassigned scheme code point 0x00bb/)
})

t.test('malformed data keeps what came before and reports the rest', async (t) => {
  const past = parseAd(hex('020106 0b09414243'))
  t.equal(past.flags, 6)
  t.equal(past.localName, undefined)
  t.same(
    past.structures.map((s) => s.type),
    [0x01],
  )
  t.same(past.errors, [
    { offset: 3, message: 'AD structure (type 0x09) length 11 runs past the end of the data (4 bytes left)' },
  ])

  const lone = parseAd(hex('020106 01'))
  t.equal(lone.structures.length, 1)
  t.match(lone.errors[0]!, { offset: 3, message: /length 1 runs past/ })

  const odd = parseAd(hex('020106 0403 0d180f 020a04'))
  t.same(odd.serviceUuids, [base('180d')], 'whole UUIDs before the stray byte are kept')
  t.equal(odd.txPower, 4, 'structures after the bad one are still read')
  t.equal(odd.errors.length, 1)
  t.match(odd.errors[0]!, { offset: 7, message: /Complete List of 16-bit .*1 byte left over \(not a multiple of 2\)/ })

  const wrong = parseAd(hex('030a0102 02ff06 0119 03ff3400'))
  t.equal(wrong.txPower, undefined)
  t.equal(wrong.appearance, undefined)
  t.same(
    wrong.manufacturerData.map((m) => m.companyId),
    [0x0034],
  )
  t.same(
    wrong.structures.map((s) => s.type),
    [0x0a, 0xff, 0x19, 0xff],
    'wrong-size structures stay in the raw list',
  )
  t.same(
    wrong.errors.map((e) => e.offset),
    [2, 6, 9],
  )
  t.match(wrong.errors[0]!.message, /^Tx Power Level \(0x0a\): txPower at offset 2: expected 1 byte, got 2$/)

  const padded = parseAd(hex('020106 00 000000'))
  t.same(padded.errors, [], 'a zero length octet ends the significant part; zero padding is fine')
  t.equal(padded.structures.length, 1)
  const garbage = parseAd(hex('020106 00 0509'))
  t.equal(garbage.structures.length, 1, 'nothing after the zero length octet is parsed')
  t.same(garbage.errors, [
    { offset: 4, message: 'non-zero byte in the padding after the zero length octet at offset 3' },
  ])

  t.same(parseAd(new Uint8Array(0)).structures, [])
  const ips = parseAd(hex('04 25 04 01 02'))
  t.equal(ips.indoorPositioning, undefined)
  t.match(ips.errors[0]!.message, /left over/)
})

t.test('duplicates: lists accumulate, single values keep the first', async (t) => {
  const ad = parseAd(hex('0303 0d18 0309 6162 0309 6364 0302 0f18 0416 0d18 01 04ff 0100 02'))
  t.same(ad.serviceUuids, [base('180d'), base('180f')])
  t.equal(ad.serviceUuidsComplete, false)
  t.equal(ad.localName, 'ab')
  t.equal(ad.serviceData.length, 1)
  t.equal(ad.manufacturerData[0]!.companyId, 1)
})

t.test('repeated fields are sets: a scan response that repeats the advertisement adds nothing twice', async (t) => {
  // Advertising data: flags; Complete List of 16-bit UUIDs 180D 180F; 16-bit solicitation 1812;
  // Service Data 180D = 64; Manufacturer Specific Data company 0x004C = 0215. The scan response
  // repeats all four, adds 180A to the list, other service data for 180D (65) and a second
  // manufacturer payload (0216); public target address list repeated. (CSS v11 Part A 1.1, 1.10,
  // 1.11, 1.4, 1.13; the octets written by hand.)
  const adv = '020106 05030d180f18 03141218 04160d1864 05ff4c000215 0717665544332211'
  const rsp = '07030d180f180a18 03141218 04160d1864 04160d1865 05ff4c000215 05ff4c000216 0717665544332211'
  const ad = parseAd(hex(adv + rsp))
  t.same(ad.errors, [])
  t.same(ad.serviceUuids, [base('180d'), base('180f'), base('180a')], 'each UUID once, first seen first')
  t.same(ad.solicitationUuids, [base('1812')])
  t.same(
    ad.serviceData.map((d) => `${d.uuid.slice(4, 8)}=${toHex(d.data)}`),
    ['180d=64', '180d=65'],
    'service data: the same UUID and bytes once; other bytes for that UUID kept',
  )
  t.same(
    ad.manufacturerData.map((m) => `${m.companyId.toString(16)}=${toHex(m.data)}`),
    ['4c=0215', '4c=0216'],
    'manufacturer data: the same company and bytes once',
  )
  t.same(ad.publicTargetAddresses, ['11:22:33:44:55:66'])
  t.equal(ad.structures.length, 13, 'the raw structures are all still there')
})

t.test('adToJson', async (t) => {
  const ad = parseAd(hex('020106 0416 0d18 64 05ff 4c00 0215 0313 beef'))
  const json = adToJson(ad)
  t.same(JSON.parse(JSON.stringify(json)), json, 'plain JSON')
  t.same(json, {
    structures: [
      { type: 1, typeName: 'Flags', offset: 0, data: '06' },
      { type: 0x16, typeName: 'Service Data - 16-bit UUID', offset: 3, data: '0d1864' },
      { type: 0xff, typeName: 'Manufacturer Specific Data', offset: 8, data: '4c000215' },
      { type: 0x13, typeName: 'Unknown AD type (0x13)', offset: 14, data: 'beef' },
    ],
    serviceUuids: [],
    solicitationUuids: [],
    manufacturerData: [{ companyId: 0x4c, data: '0215' }],
    serviceData: [{ uuid: '0000180d-0000-1000-8000-00805f9b34fb', data: '64' }],
    unknown: [{ type: 0x13, typeName: 'Unknown AD type (0x13)', offset: 14, data: 'beef' }],
    errors: [],
    flags: 6,
  })
})

t.test('builder writes the bytes the spec describes', async (t) => {
  const b = new AdBuilder()
    .flags(0x06)
    .name('hcikit')
    .serviceUuids([0x180d, '0000180f-0000-1000-8000-00805f9b34fb'])
    .txPower(-8)
  t.equal(toHex(b.build()), '020106' + '0709686369 6b6974'.replace(' ', '') + '05030d180f18' + '020af8')

  t.equal(
    toHex(
      new AdBuilder()
        .serviceUuids([0x12345678, '6e400001-b5a3-f393-e0a9-e50e24dcca9e', 0x2a00], false)
        .name('hc', false)
        .build(62),
    ),
    '0302002a' + '050478563412' + '11069ecadc240ee5a9e093f3a3b50100406e' + '03086863',
  )
  t.equal(
    toHex(
      new AdBuilder()
        .manufacturerData(0x004c, hex('0215'))
        .serviceData(0xfe9f, hex('00'))
        .serviceData('6e400001-b5a3-f393-e0a9-e50e24dcca9e', hex('01'))
        .appearance(0x03c1)
        .build(62),
    ),
    '05ff4c000215' + '04169ffe00' + '12219ecadc240ee5a9e093f3a3b50100406e01' + '0319c103',
  )
  t.equal(toHex(new AdBuilder().serviceUuids([]).build()), '0103', 'an empty complete list says "no services"')
  t.equal(
    toHex(new AdBuilder().uri('https://www.bluetooth.com').build()),
    '1524172f2f7777772e626c7565746f6f74682e636f6d',
  )
  t.equal(toHex(new AdBuilder().uri('foo:bar').build()), '092401666f6f3a626172')
  t.equal(toHex(new AdBuilder().uri('maps:x').build()), '0424c28778')
  t.equal(
    toHex(new AdBuilder().advertisingInterval(0x0800).advertisingInterval(0x010000).build()),
    '031a0008' + '042f000001',
  )
  t.equal(
    toHex(
      new AdBuilder()
        .leBluetoothDeviceAddress('11:22:33:44:55:66', true)
        .publicTargetAddresses(['C1:B2:A3:94:85:76'])
        .leRole(0)
        .peripheralConnectionIntervalRange(6, 0xffff)
        .raw(0x13, hex('dead'))
        .build(62),
    ),
    '081b66554433221101' + '0717768594a3b2c1' + '021c00' + '05120600ffff' + '0313dead',
  )
  t.equal(toHex(new AdBuilder().solicitationUuids([0x1812]).broadcastName('Jazz').build()), '03141218' + '05304a617a7a')
})

t.test('builder refuses what does not fit, naming it', async (t) => {
  // 3 (flags) + 28 (a 26-character name) = 31: exactly full.
  const full = new AdBuilder().flags(6).name('a rather long device name!')
  t.equal(full.build().length, 31)
  full.txPower(0)
  t.throws(() => full.build(), {
    name: 'RangeError',
    message: 'Tx Power Level (3 bytes at offset 31) does not fit: the AD structures need 34 bytes, the limit is 31',
  })
  t.equal(full.build(34).length, 34, 'fits in a longer (extended) advertisement')
  t.throws(
    () => new AdBuilder().flags(6).name('x'.repeat(27)).build(),
    /^Complete Local Name \(29 bytes at offset 3\) does not fit/,
  )
  t.throws(
    () => new AdBuilder().raw(0xff, new Uint8Array(255)),
    /Manufacturer Specific Data: 255 bytes of AD data do not fit in one AD structure/,
  )
  t.doesNotThrow(() => new AdBuilder().raw(0xff, new Uint8Array(254)).build(256))
  t.throws(() => new AdBuilder().txPower(200), RangeError)
  t.throws(() => new AdBuilder().flags(256), RangeError)
  t.throws(() => new AdBuilder().manufacturerData(0x10000, new Uint8Array(0)), /companyId/)
  t.throws(() => new AdBuilder().broadcastName('abc'), /broadcastName: 3 bytes/)
  t.throws(() => new AdBuilder().publicTargetAddresses(['11:22:33']), /not an address/)
  t.throws(() => new AdBuilder().serviceUuids(['not-a-uuid']), /not a UUID/)
})

t.test('builder -> parser round trip', async (t) => {
  const data = new AdBuilder()
    .flags(0x05)
    .serviceUuids([0x180a, 0xfeedbeef, 'a0b40001-926d-4d61-98df-8c5c62ee53b3'])
    .name('Round trip ✓')
    .manufacturerData(0x0059, hex('010203'))
    .serviceData(0x180f, hex('55'))
    .appearance(0x0340)
    .txPower(4)
    .build(255)
  const ad = parseAd(data)
  t.same(ad.errors, [])
  t.equal(ad.flags, 5)
  t.same(ad.serviceUuids, [base('180a'), base('feedbeef'), 'a0b40001-926d-4d61-98df-8c5c62ee53b3'])
  t.equal(ad.serviceUuidsComplete, true)
  t.equal(ad.localName, 'Round trip ✓')
  t.same(
    ad.manufacturerData.map((m) => [m.companyId, toHex(m.data)]),
    [[0x59, '010203']],
  )
  t.same(
    ad.serviceData.map((d) => [d.uuid, toHex(d.data)]),
    [[base('180f'), '55']],
  )
  t.equal(ad.appearance, 0x0340)
  t.equal(ad.txPower, 4)
  t.throws(() => new AdBuilder().name('x'.repeat(40)).build(), RangeError, 'legacy limit by default')
})

// ---------------------------------------------------------------------------------------------
// 2. Oracle: tshark on the real captures (and on a synthetic capture of edge cases)
// ---------------------------------------------------------------------------------------------

/** AD-carrying packets: LE Advertising Report, LE Extended Advertising Report, and, for more
 * data, Extended Inquiry Result and the commands that set advertising, scan response and EIR data. */
const FILTER = [
  'bthci_evt.le_meta_subevent == 0x02',
  'bthci_evt.le_meta_subevent == 0x0d',
  'bthci_evt.code == 0x2f',
  'bthci_cmd.opcode == 0x0c52',
  'bthci_cmd.opcode == 0x2008',
  'bthci_cmd.opcode == 0x2009',
  'bthci_cmd.opcode == 0x2037',
  'bthci_cmd.opcode == 0x2038',
].join(' || ')

/** tshark fields btcommon.eir_ad.entry.<name> compared with ours. */
const FIELDS = [
  'type',
  'length',
  'device_name',
  'uuid_16',
  'company_id',
  'power_level',
  'uuid_32',
  'custom_uuid_32',
  'uuid_128',
  'custom_uuid_128',
  'appearance',
  'bd_addr',
  'connection_interval_min',
] as const
type Field = (typeof FIELDS)[number]
const COLUMNS = [
  '"No","%m"',
  ...FIELDS.map((f) => `"${f}","%Cus:btcommon.eir_ad.entry.${f}:0:U"`),
  '"malformed","%Cus:_ws.malformed:0:U"',
].join(',')

interface Frame {
  no: number
  cols: Record<Field | 'malformed', string>
  bytes: Uint8Array
}

/**
 * One tshark run per capture. `-T tabs` prints a summary line whose custom columns hold the AD
 * fields (all occurrences, joined by commas); `--hexdump frames` follows it with the frame's
 * bytes, from which the test takes the AD data itself (adsOf).
 */
async function tshark(file: string): Promise<Frame[]> {
  const args = ['-Y', FILTER, '-T', 'tabs', '-P', '--hexdump', 'frames', '--hexdump', 'noascii']
  args.push('-o', `gui.column.format:${COLUMNS}`)
  const out = await tsharkText(file, args)
  const frames: (Frame & { hex: number[] })[] = []
  for (const line of out.split('\n')) {
    const m = /^\s*(\d+)\t(.*)$/.exec(line)
    if (m) {
      const v = m[2]!.split('\t')
      const cols = Object.fromEntries([...FIELDS, 'malformed'].map((f, i) => [f, v[i] ?? '']))
      frames.push({ no: Number(m[1]), cols: cols as Frame['cols'], bytes: new Uint8Array(0), hex: [] })
      continue
    }
    const h = /^[0-9a-f]{4,} {2}((?:[0-9a-f]{2} ?)+)/.exec(line)
    if (h && frames.length)
      frames.at(-1)!.hex.push(
        ...h[1]!
          .trim()
          .split(' ')
          .map((x) => parseInt(x, 16)),
      )
  }
  return frames.map((f) => ({ no: f.no, cols: f.cols, bytes: Uint8Array.from(f.hex) }))
}

/**
 * The AD data in one packet, parsed with a few lines of our own (layouts: Core v5.4 Vol 4 Part E
 * 7.7.65.2 and 7.7.65.13 for the reports, one report after the other as tshark reads them;
 * 7.7.38 Extended Inquiry Result; 7.3.56, 7.8.7, 7.8.8, 7.8.54, 7.8.55 for the commands).
 * Frames begin with the H4 type octet, after a 4-octet direction header in pcap link type 201.
 */
function adsOf(b: Uint8Array): Uint8Array[] {
  const o = b[0] === 0x01 || b[0] === 0x04 ? 1 : 5
  const out: Uint8Array[] = []
  if (b[o - 1] === 0x01) {
    const opcode = b[o]! | (b[o + 1]! << 8)
    const p = o + 3
    if (opcode === 0x0c52) out.push(b.subarray(p + 1, p + 241))
    else if (opcode === 0x2008 || opcode === 0x2009) out.push(b.subarray(p + 1, p + 1 + b[p]!))
    else out.push(b.subarray(p + 4, p + 4 + b[p + 3]!))
  } else if (b[o] === 0x2f) {
    out.push(b.subarray(o + 17, o + 257))
  } else {
    const extended = b[o + 2] === 0x0d
    let p = o + 4
    for (let n = b[o + 3]!; n > 0; n--) {
      p += extended ? 23 : 8
      const len = b[p++]!
      out.push(b.subarray(p, p + len))
      p += len + (extended ? 0 : 1)
    }
  }
  return out
}

const hex2 = (n: number) => `0x${n.toString(16).padStart(2, '0')}`
const hex4 = (n: number) => `0x${n.toString(16).padStart(4, '0')}`
const isBase = (u: string) => u.endsWith('-0000-1000-8000-00805f9b34fb')

/**
 * Our values for tshark's fields, in data order (each structure parsed on its own so that
 * repeated types show up too), adjusted for the cases where tshark 4.0 reads differently for a
 * known reason:
 *  - A structure whose length runs past the end: tshark still lists its length and type octets
 *    when both are there (then marks the packet malformed); we report it in `errors` and leave it
 *    out of `structures`.
 *  - LE Bluetooth Device Address (0x1b): CSS v11 Part A 1.16 puts the address in the six least
 *    significant octets and the address type in the last one (BlueZ's btmon reads it so too);
 *    tshark 4.0 takes the first octet as the type and octets 1..6 as the address. (The one device
 *    in these captures that sends 0x1b, an LG, agrees with tshark: a reminder that the field is
 *    only as good as the sender. We follow the specification.)
 *  - A Tx Power Level whose body is longer than one octet: tshark shows its first octet (and
 *    "Unknown data"); we report it and leave txPower unset.
 * Compared elsewhere: tshark splits 32- and 128-bit UUIDs between `uuid_*` and `custom_uuid_*`
 * (UUIDs it has a name for), so those are compared as sorted lists; and tshark lists every UUID
 * on the wire, repeats included, where our lists are sets (a UUID repeated in one list, as some
 * devices pad theirs, is there once): the UUID fields of a packet are compared as sets.
 */
function ourFields(data: Uint8Array): { fields: Record<Field, string[]>; errors: number; tolerated: number } {
  const ad = parseAd(data)
  const f = Object.fromEntries(FIELDS.map((k) => [k, [] as string[]])) as Record<Field, string[]>
  for (const s of ad.structures) {
    f.type.push(hex2(s.type))
    f.length.push(String(s.data.length + 1))
    const one = parseAd(data.subarray(s.offset, s.offset + 2 + s.data.length))
    const name = one.localName ?? one.shortName
    if (name !== undefined) f.device_name.push(name)
    for (const u of [...one.serviceUuids, ...one.solicitationUuids, ...one.serviceData.map((d) => d.uuid)]) {
      if (isBase(u) && u.startsWith('0000')) f.uuid_16.push(`0x${u.slice(4, 8)}`)
      else if (isBase(u)) f.uuid_32.push(`0x${u.slice(0, 8)}`)
      else f.uuid_128.push(u.replace(/-/g, ''))
    }
    for (const m of one.manufacturerData) f.company_id.push(hex4(m.companyId))
    if (one.txPower !== undefined) f.power_level.push(String(one.txPower))
    else if (s.type === 0x0a && s.data.length > 1) f.power_level.push(String((s.data[0]! << 24) >> 24)) // tshark: first octet
    if (one.appearance !== undefined) f.appearance.push(hex4(one.appearance))
    if (one.leBluetoothDeviceAddress) {
      f.bd_addr.push(
        [...s.data.subarray(1, 7)]
          .reverse()
          .map((x) => toHex(Uint8Array.of(x)))
          .join(':'),
      ) // tshark's reading
    }
    if (one.peripheralConnectionIntervalRange)
      f.connection_interval_min.push(String(one.peripheralConnectionIntervalRange.min))
  }
  let errors = 0
  let tolerated = 0
  for (const e of ad.errors) {
    if (/runs past the end/.test(e.message) && e.offset + 1 < data.length) {
      f.length.push(String(data[e.offset]))
      f.type.push(hex2(data[e.offset + 1]!))
    }
    // tshark does not mark these malformed: it stops quietly at a zero length octet, and shows
    // an oversize Tx Power Level as "Unknown data".
    if (/padding|^Tx Power Level/.test(e.message)) tolerated++
    else errors++
  }
  return { fields: f, errors, tolerated }
}

/** The disagreements between tshark and us on one packet. */
function compare(frame: Frame): { disagreements: string[]; ads: number; errors: number } {
  const ours = Object.fromEntries(FIELDS.map((k) => [k, [] as string[]])) as Record<Field, string[]>
  const ads = adsOf(frame.bytes)
  let errors = 0
  let all = 0
  for (const data of ads) {
    const r = ourFields(data)
    for (const k of FIELDS) ours[k].push(...r.fields[k])
    errors += r.errors
    all += r.errors + r.tolerated
  }
  const out: string[] = []
  for (const k of FIELDS) {
    if (k === 'custom_uuid_32' || k === 'custom_uuid_128') continue
    let theirs = frame.cols[k]
    let mine = ours[k].join(',')
    const set = (xs: string[]): string => [...new Set(xs)].sort().join(',')
    if (k === 'uuid_32' || k === 'uuid_128') {
      theirs = set(`${theirs},${frame.cols[`custom_${k}`]}`.split(',').filter(Boolean))
      mine = set(ours[k])
    } else if (k === 'uuid_16' && !theirs.endsWith('…')) {
      theirs = set(theirs.split(',').filter(Boolean))
      mine = set(ours[k])
    }
    if (theirs.endsWith('…')) {
      // tshark cuts a column at its maximum width; compare up to the cut.
      theirs = theirs.slice(0, -1)
      mine = mine.slice(0, theirs.length)
    }
    if (theirs !== mine)
      out.push(`frame ${frame.no} ${k}: tshark ${JSON.stringify(theirs)}, ours ${JSON.stringify(mine)}`)
  }
  const malformed = frame.cols.malformed !== ''
  if (malformed && errors === 0) out.push(`frame ${frame.no}: tshark says malformed, we found nothing wrong`)
  if (!malformed && errors > 0) out.push(`frame ${frame.no}: we report ${errors} errors, tshark found nothing wrong`)
  return { disagreements: out, ads: ads.length, errors: all }
}

function checkFrames(t: Test, frames: Frame[], label: string): { ads: number; errors: number } {
  const disagreements: string[] = []
  let ads = 0
  let errors = 0
  for (const fr of frames) {
    const r = compare(fr)
    disagreements.push(...r.disagreements)
    ads += r.ads
    errors += r.errors
  }
  t.same(
    disagreements.slice(0, 20),
    [],
    `${label}: ${frames.length} packets, ${ads} AD blocks, ${disagreements.length} disagreements with tshark`,
  )
  return { ads, errors }
}

/** Starts the jobs at most `width` at a time; one promise per job, in order. */
function pool<T>(jobs: (() => Promise<T>)[], width: number): Promise<T>[] {
  const settle = jobs.map(() => {
    let resolve!: (v: T) => void
    let reject!: (e: unknown) => void
    const promise = new Promise<T>((res, rej) => {
      resolve = res
      reject = rej
    })
    promise.catch(() => {}) // awaited later; do not let an early failure count as unhandled
    return { promise, resolve, reject }
  })
  let next = 0
  const worker = async () => {
    for (let i = next++; i < jobs.length; i = next++) {
      try {
        settle[i]!.resolve(await jobs[i]!())
      } catch (e) {
        settle[i]!.reject(e)
      }
    }
  }
  for (let w = 0; w < width; w++) void worker()
  return settle.map((s) => s.promise)
}

realTest('tshark agrees on every AD in the real captures', { skip: missing('tshark') }, async (t) => {
  const files = realTraces()
  t.ok(files.length > 20, 'the captures are there')
  const runs = pool(
    files.map((f) => () => tshark(f)),
    2,
  )
  let ads = 0
  let errors = 0
  for (const [i, f] of files.entries()) {
    const r = checkFrames(t, await runs[i]!, shortName(f))
    ads += r.ads
    errors += r.errors
  }
  t.ok(ads > 100_000, `${ads} AD blocks compared`)
  t.equal(errors, 0, 'no AD structure in the real captures is malformed')
})

/** A pcap (link type 187: H4, no header) with one LE Advertising Report per AD. */
function writePcap(path: string, ads: Uint8Array[]): void {
  const parts: Uint8Array[] = [hex('d4c3b2a1 0200 0400 00000000 00000000 ffff0000 bb000000')]
  for (const ad of ads) {
    const report = [0x01, 0x00, 0x00, 1, 2, 3, 4, 5, 6, ad.length, ...ad, 0xc0]
    const pkt = Uint8Array.from([0x04, 0x3e, report.length + 1, 0x02, ...report])
    const rec = new DataView(new ArrayBuffer(16))
    rec.setUint32(8, pkt.length, true)
    rec.setUint32(12, pkt.length, true)
    parts.push(new Uint8Array(rec.buffer), pkt)
  }
  writeFileSync(path, Buffer.concat(parts))
}

t.test('tshark agrees on edge cases, malformed ones included', { skip: missing('tshark') }, async (t) => {
  const cases = [
    '020106 030302ff 03194003 020afe 06ff4d49504f57',
    '020106 0b09414243', // length runs past the end
    '020106 01', // a length octet with nothing after it
    '020106 0403 0d180f', // odd 16-bit list
    '020106 00 0000', // zero length, zero padding
    '020106 00 0509', // zero length, then garbage
    '030a0102', // Tx Power Level of two octets
    '02ff06', // manufacturer data without a whole company id
    '0a0957 6f726c6400000000', // name padded with NULs
    '05020d180f18 050578563412 1107 9ecadc240ee5a9e093f3a3b50100406e 1115 ffeeddccbbaa99887766554433221100',
    '0416 0d18 64 0720 04030201aabb 1221 9ecadc240ee5a9e093f3a3b50100406e42 0314 1218',
    '0319c103 05120600ffff 081b66554433221101 031a4000 021c02',
    '0313dead 03ff3412',
  ].map(hex)
  const dir = mkdtempSync(join(tmpdir(), 'hcikit-ad-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'edge.pcap')
  writePcap(file, cases)
  const frames = await tshark(file)
  t.equal(frames.length, cases.length)
  const { errors } = checkFrames(t, frames, 'edge cases')
  t.equal(errors, 6, 'the six malformed cases are reported')
})

// ---------------------------------------------------------------------------------------------
// 3. Properties
// ---------------------------------------------------------------------------------------------

/** Runs a fast-check property as one tap assertion (the counterexample is in the message). */
function holds<T>(t: Test, property: fc.IProperty<T>, params: fc.Parameters<T>): void {
  const r = fc.check(property, params)
  t.notOk(r.failed, r.failed ? (fc.defaultReportMessage(r) ?? 'failed') : `${r.numRuns} runs`)
}

/** Every byte array in the result is a view inside the input. */
function viewsInside(input: Uint8Array, ad: ParsedAd): boolean {
  let ok = true
  const visit = (v: unknown) => {
    if (v instanceof Uint8Array) {
      if (
        v.buffer !== input.buffer ||
        v.byteOffset < input.byteOffset ||
        v.byteOffset + v.length > input.byteOffset + input.length
      )
        ok = false
    } else if (v !== null && typeof v === 'object') Object.values(v).forEach(visit)
  }
  visit(ad)
  for (const s of ad.structures) {
    if (s.offset < 0 || s.offset + 2 + s.data.length > input.length) ok = false
    if (s.data.byteOffset !== input.byteOffset + s.offset + 2) ok = false
    if (input[s.offset] !== s.data.length + 1 || input[s.offset + 1] !== s.type) ok = false
  }
  for (const e of ad.errors) if (e.offset < 0 || e.offset >= Math.max(1, input.length)) ok = false
  return ok
}

const builderOps = fc.array(
  fc.oneof(
    fc.integer({ min: 0, max: 255 }).map((n) => (b: AdBuilder) => b.flags(n)),
    fc.tuple(fc.string({ maxLength: 12 }), fc.boolean()).map(
      ([s, c]) =>
        (b: AdBuilder) =>
          b.name(s, c),
    ),
    fc
      .tuple(
        fc.array(
          fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0x10000, max: 0xffffffff }), fc.uuid()),
          { maxLength: 4 },
        ),
        fc.boolean(),
      )
      .map(
        ([l, c]) =>
          (b: AdBuilder) =>
            b.serviceUuids(l, c),
      ),
    fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: 12 })).map(
      ([c, d]) =>
        (b: AdBuilder) =>
          b.manufacturerData(c, d),
    ),
    fc.tuple(fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.uuid()), fc.uint8Array({ maxLength: 8 })).map(
      ([u, d]) =>
        (b: AdBuilder) =>
          b.serviceData(u, d),
    ),
    fc.integer({ min: -128, max: 127 }).map((n) => (b: AdBuilder) => b.txPower(n)),
    fc.integer({ min: 0, max: 0xffff }).map((n) => (b: AdBuilder) => b.appearance(n)),
    fc.tuple(fc.integer({ min: 0, max: 0xff }), fc.uint8Array({ maxLength: 10 })).map(
      ([ty, d]) =>
        (b: AdBuilder) =>
          b.raw(ty, d),
    ),
  ),
  { maxLength: 10 },
)
const built = builderOps.map((ops) => ops.reduce((b, op) => op(b), new AdBuilder()).build(1650))

t.test('random bytes never throw and stay inside the input', async (t) => {
  holds(
    t,
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(8), (bytes, lead) => {
      // Parse a window of a larger buffer so that views must carry the right byteOffset.
      const big = new Uint8Array(bytes.length + lead + 3)
      big.set(bytes, lead)
      const input = big.subarray(lead, lead + bytes.length)
      const ad = parseAd(input)
      adToJson(ad)
      return viewsInside(input, ad)
    }),
    { numRuns: 2000, seed: 0x5eed },
  )
})

t.test(
  'builder output parses cleanly; mutated output never throws and keeps the structures before the damage',
  async (t) => {
    holds(
      t,
      fc.property(built, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 40 }), (data, at, junk) => {
        const clean = parseAd(data)
        // The builder frames every structure correctly (raw() may still carry a bad body).
        if (clean.errors.some((e) => /runs past|padding/.test(e.message))) return false
        if (clean.structures.reduce((n, s) => n + 2 + s.data.length, 0) !== data.length) return false
        const cut = data.length ? at % (data.length + 1) : 0
        const damaged = Uint8Array.from([...data.subarray(0, cut), ...junk])
        const ad = parseAd(damaged)
        if (!viewsInside(damaged, ad)) return false
        // Every structure that ends before the damage is still there, unchanged.
        const before = clean.structures.filter((s) => s.offset + 2 + s.data.length <= cut)
        return before.every(
          (s, i) => ad.structures[i]?.offset === s.offset && toHex(ad.structures[i]!.data) === toHex(s.data),
        )
      }),
      { numRuns: 1000, seed: 42 },
    )
  },
)

t.test('builder -> parser round trip for arbitrary fields', async (t) => {
  holds(
    t,
    fc.property(
      fc.string({ maxLength: 20 }).filter((s) => !s.endsWith('\u0000')),
      fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 5 }),
      fc.integer({ min: -128, max: 127 }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: 8 })), { maxLength: 3 }),
      (name, uuids, tx, mfr) => {
        const b = new AdBuilder().flags(6).name(name).serviceUuids(uuids).txPower(tx)
        for (const [c, d] of mfr) b.manufacturerData(c, d)
        const ad = parseAd(b.build(255))
        return (
          ad.errors.length === 0 &&
          ad.flags === 6 &&
          ad.localName === name.replace(/[\ud800-\udfff]/g, '\ufffd') &&
          ad.txPower === tx &&
          // Lists are sets: a repeated UUID, or the same company with the same bytes, once.
          JSON.stringify(ad.serviceUuids) ===
            JSON.stringify([...new Set(uuids)].map((u) => base(u.toString(16).padStart(4, '0')))) &&
          JSON.stringify(ad.manufacturerData.map((m) => `${m.companyId}:${toHex(m.data)}`)) ===
            JSON.stringify([...new Set(mfr.map(([c, d]) => `${c}:${toHex(d)}`))])
        )
      },
    ),
    { numRuns: 500, seed: 7 },
  )
})
