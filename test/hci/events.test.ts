/**
 * HCI event specs (hci/events.ts, hci/events-le.ts; Core v5.4 Vol 4 Part E 7.7).
 *
 * Expected bytes are either copied from real captures (the corpus of test/helpers/real.ts, file and frame
 * given, fields checked against `tshark -V` of that frame) or written by hand from the spec's
 * parameter tables; none is produced by our encoder. The capture-wide tests compare every event
 * of every capture field by field with tshark.
 */
import t, { type Test } from 'tap'
import fc from 'fast-check'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  decodeEvent,
  encodeEvent,
  reencodeEvent,
  eventName,
  eventSpec,
  formatEvent,
  EVENTS,
  EventSpecs,
  EVENT_NAMES,
  LE_SUBEVENT_NAMES,
  DisconnectionComplete,
  LeAdvertisingReport,
  LeExtendedAdvertisingReport,
  NumberOfCompletedPackets,
  Vendor,
  type HciEvent,
  type KnownEvent,
} from '../../hci/events.ts'
import { DecodeError } from '../../hci/errors.ts'
import { LE_META_EVENT } from '../../hci/spec.ts'
import { fromHex, toHex } from '../../hci/wire.ts'
import { realTest, realTraces, shortName } from '../helpers/real.ts'
import { missing } from '../helpers/tools.ts'
import { tsharkText } from '../helpers/tshark.ts'

function decoded(t: Test, hex: string): KnownEvent {
  const e = decodeEvent(fromHex(hex))
  if (e instanceof DecodeError) throw e
  if (e.key === 'Unknown') throw new Error(`unexpected unknown event ${e.name}`)
  t.equal(toHex(reencodeEvent(e)), hex.replace(/\s/g, ''), `${e.name} re-encodes to the same bytes`)
  return e
}

function decodeError(hex: string): DecodeError {
  const e = decodeEvent(fromHex(hex))
  if (!(e instanceof DecodeError)) throw new Error(`expected a DecodeError, got ${JSON.stringify(e)}`)
  return e
}

// ---------------------------------------------------------------------------------------------
// Events copied from real captures (checked against `tshark -r FILE -V -Y frame.number==N`)

t.test('real events decode to the fields tshark shows, and re-encode identically', async (t) => {
  // 2m__a2dp-captures__btsnoop_hci_lg750.cap frame 2: Command Complete (Reset)
  let e = decoded(t, '0e0401030c00')
  t.equal(e.key, 'CommandComplete')
  if (e.key === 'CommandComplete') {
    t.equal(e.params.numHciCommandPackets, 1)
    t.equal(e.params.opcode, 0x0c03)
    t.equal(toHex(e.params.returnParameters), '00')
  }
  // 2m frame 298: Command Status (Create Connection, opcode 0x0405)
  e = decoded(t, '0f0400010504')
  t.same(e.params, { status: 0, numHciCommandPackets: 1, opcode: 0x0405 })
  t.equal(e.name, 'Command Status')
  // 2m frame 8206: Disconnection Complete, handle 0x000c, reason 0x16
  e = decoded(t, '0504000c0016')
  t.same(
    { key: e.key, code: e.code, params: e.params },
    {
      key: 'DisconnectionComplete',
      code: 5,
      params: { status: 0, connectionHandle: 0x000c, reason: 0x16 },
    },
  )
  // 2m frame 315: LMP 4.0 (6), Qualcomm (0x000a), subversion 8648
  e = decoded(t, '0c08000c00060a00c821')
  t.same(e.params, { status: 0, connectionHandle: 0x000c, version: 6, companyIdentifier: 0x000a, subversion: 8648 })
  // 2m frame 329: one handle, one packet
  e = decoded(t, '1305010c000100')
  t.same(e.params, { handles: [{ connectionHandle: 0x000c, numCompletedPackets: 1 }] })
  // 2m frame 307: BR/EDR Connection Complete, 00:18:6b:72:db:66, ACL, no encryption
  e = decoded(t, '030b000c0066db726b18000100')
  t.same(e.params, {
    status: 0,
    connectionHandle: 0x000c,
    bdAddr: '00:18:6B:72:DB:66',
    linkType: 1,
    encryptionEnabled: 0,
  })
  // 2m frame 318
  e = decoded(t, '0b0b000c00ffff8ffa9bff5987')
  t.equal(e.key, 'ReadRemoteSupportedFeaturesComplete')
  if (e.key === 'ReadRemoteSupportedFeaturesComplete') t.equal(toHex(e.params.lmpFeatures), 'ffff8ffa9bff5987')
  // 2m frame 406
  e = decoded(t, '0804000c0001')
  t.same([e.key, e.params], ['EncryptionChange', { status: 0, connectionHandle: 0x000c, encryptionEnabled: 1 }])
  // 2m frame 582: sniff mode, interval 800 slots
  e = decoded(t, '1406000c00022003')
  t.same(e.params, { status: 0, connectionHandle: 0x000c, currentMode: 2, interval: 800 })
  // 2m frame 583
  e = decoded(t, '2e0b000c002003200302000200')
  t.same(e.params, {
    status: 0,
    connectionHandle: 0x000c,
    maxTxLatency: 800,
    maxRxLatency: 800,
    minRemoteTimeout: 2,
    minLocalTimeout: 2,
  })
  // manojshakti77__bluetooth__btsnoop_hci.log frame 113: one response, RSSI -38, clock offset 0x662e
  e = decoded(t, '220f01a5a5005b020001020404202e66da')
  t.same(e.params, {
    responses: [
      {
        bdAddr: '00:02:5B:00:A5:A5',
        pageScanRepetitionMode: 1,
        reserved: 2,
        classOfDevice: 0x200404,
        clockOffset: 0x662e,
        rssi: -38,
      },
    ],
  })
  // manojshakti77 frame 171: link key notification, key type 4
  e = decoded(t, '1817a5a5005b0200d05d84274299164c76919c1ccad2a3a804')
  t.equal(e.key, 'LinkKeyNotification')
  if (e.key === 'LinkKeyNotification') {
    t.equal(toHex(e.params.linkKey), 'd05d84274299164c76919c1ccad2a3a8')
    t.equal(e.params.keyType, 4)
  }
  // crossnite__NovaX-Escooter__btsnoop_hci.log frames 2771, 2777, 2807
  e = decoded(t, '320987320c268d60000003')
  t.same(e.params, { bdAddr: '60:8D:26:0C:32:87', ioCapability: 0, oobDataPresent: 0, authenticationRequirements: 3 })
  e = decoded(t, '330a87320c268d609d540100')
  t.same(e.params, { bdAddr: '60:8D:26:0C:32:87', numericValue: 87197 })
  e = decoded(t, '36070587320c268d60')
  t.same(e.params, { status: 5, bdAddr: '60:8D:26:0C:32:87' })
  // Swastik36__OPPO-Earbuds__BT_HCI_2026_0719_110149.cfa frame 329
  e = decoded(t, '39020400')
  t.same([e.key, e.params], ['EnhancedFlushComplete', { handle: 4 }])
  // NoahB10__MABIP__btsnoop_hci.log frame 1934: a vendor event keeps its bytes
  e = decoded(t, 'ff13b40604000b0046010b003e020b0046030b003e')
  t.equal(e.key, 'Vendor')
  t.equal(e.name, 'Vendor')
  if (e.key === 'Vendor') t.equal(toHex(e.params.data), 'b40604000b0046010b003e020b0046030b003e')
})

t.test('real LE Meta events', async (t) => {
  // cnrd__yeelock__btsnoop_hci.log frame 352: connectable undirected, random e6:45:9d:5a:2e:ee, 30 bytes, -74 dBm
  let e = decoded(t, '3e2a02010001ee2e5a9d45e61e0201061aff4c000215fda50693a4e24fb1afcfc6eb0764782500050006b0b6')
  t.equal(e.key, 'LeAdvertisingReport')
  t.equal(e.subevent, 2)
  t.equal(e.name, 'LE Advertising Report')
  if (e.key === 'LeAdvertisingReport') {
    t.equal(e.params.reports.length, 1)
    const r = e.params.reports[0]!
    t.same([r.eventType, r.addressType, r.address, r.data.length, r.rssi], [0, 1, 'E6:45:9D:5A:2E:EE', 30, -74])
    t.equal(toHex(r.data.subarray(0, 3)), '020106')
  }
  // NoahB10__MABIP__btsnoop_hci.log frame 178: extended report of a legacy scannable PDU
  e = decoded(
    t,
    '3e390d011200015fe3ee1995240100ff7fa40000000000000000001f1e16f3fe4a17235654455111322057e8c28207e19d7c3a935da59eaed563f3',
  )
  t.equal(e.key, 'LeExtendedAdvertisingReport')
  if (e.key === 'LeExtendedAdvertisingReport') {
    const { data, ...r } = e.params.reports[0]!
    t.same(r, {
      eventType: 0x0012,
      addressType: 1,
      address: '24:95:19:EE:E3:5F',
      primaryPhy: 1,
      secondaryPhy: 0,
      advertisingSid: 0xff,
      txPower: 127,
      rssi: -92,
      periodicAdvertisingInterval: 0,
      directAddressType: 0,
      directAddress: '00:00:00:00:00:00',
    })
    t.equal(data.length, 31)
  }
  // bbmp__AndroidPad__btsnoop_hci.cfa frame 481
  e = decoded(t, '3e1301004000000057f4bee4bad027000000f40100')
  t.same(
    [e.key, e.params],
    [
      'LeConnectionComplete',
      {
        status: 0,
        connectionHandle: 0x0040,
        role: 0,
        peerAddressType: 0,
        peerAddress: 'D0:BA:E4:BE:F4:57',
        connectionInterval: 39,
        peripheralLatency: 0,
        supervisionTimeout: 500,
        centralClockAccuracy: 0,
      },
    ],
  )
  // crossnite frame 575
  e = decoded(t, '3e1f0a 00 0200 00 01 b7437010c3f1 000000000000 000000000000 1800 0000 f401 00')
  t.same(
    [e.key, e.params],
    [
      'LeEnhancedConnectionComplete',
      {
        status: 0,
        connectionHandle: 2,
        role: 0,
        peerAddressType: 1,
        peerAddress: 'F1:C3:10:70:43:B7',
        localResolvablePrivateAddress: '00:00:00:00:00:00',
        peerResolvablePrivateAddress: '00:00:00:00:00:00',
        connectionInterval: 24,
        peripheralLatency: 0,
        supervisionTimeout: 500,
        centralClockAccuracy: 0,
      },
    ],
  )
  // Syed-Bipul-Rahman__bluethooth_light_controll__btsnoop_hci.log frames 34886, 47769, 47771
  e = decoded(t, '3e0a0300b30306000000f401')
  t.same(e.params, {
    status: 0,
    connectionHandle: 0x03b3,
    connectionInterval: 6,
    peripheralLatency: 0,
    supervisionTimeout: 500,
  })
  e = decoded(t, '3e060c00f3030202')
  t.same([e.key, e.params], ['LePhyUpdateComplete', { status: 0, connectionHandle: 0x03f3, txPhy: 2, rxPhy: 2 }])
  e = decoded(t, '3e0b07f3031b004801fb004808')
  t.same(e.params, { connectionHandle: 0x03f3, maxTxOctets: 27, maxTxTime: 328, maxRxOctets: 251, maxRxTime: 2120 })
  // jpvargasdev__MachineSpiritTimetable__btsnoop_aaaa.log frame 242
  e = decoded(t, '3e0414020000')
  t.same([e.key, e.params], ['LeChannelSelectionAlgorithm', { connectionHandle: 2, channelSelectionAlgorithm: 0 }])
  // BeanCounterTop__ble-pcap-analyzer__hci.pcap: LE Remote Connection Parameter Request, 12..16, 0, 500
  e = decoded(t, '3e0b0602000c00100000 00f401')
  t.same(
    [e.key, e.params],
    [
      'LeRemoteConnectionParameterRequest',
      {
        connectionHandle: 2,
        intervalMin: 12,
        intervalMax: 16,
        maxLatency: 0,
        timeout: 500,
      },
    ],
  )
  // Syed frame 34850
  e = decoded(t, '3e0c0400b3030000000000000000')
  t.equal(e.key, 'LeReadRemoteFeaturesComplete')
})

// ---------------------------------------------------------------------------------------------
// Events no capture here holds: bytes written from the spec's parameter tables

t.test('events written by hand from the spec', async (t) => {
  let e = decoded(t, '59050040000110') // 7.7.8 [v2]: status, handle, enabled, key size
  t.same(
    [e.key, e.params],
    ['EncryptionChangeV2', { status: 0, connectionHandle: 0x40, encryptionEnabled: 1, encryptionKeySize: 16 }],
  )
  e = decoded(t, '3003004000')
  t.same([e.key, e.params], ['EncryptionKeyRefreshComplete', { status: 0, connectionHandle: 0x40 }])
  e = decoded(t, '57024000')
  t.same([e.key, e.params], ['AuthenticatedPayloadTimeoutExpired', { connectionHandle: 0x40 }])
  e = decoded(t, '10012a')
  t.same([e.key, e.params], ['HardwareError', { hardwareCode: 0x2a }])
  e = decoded(t, '1a0101')
  t.same([e.key, e.params], ['DataBufferOverflow', { linkType: 1 }])
  e = decoded(t, '3e0d05 4000 0102030405060708 3412')
  t.equal(e.key, 'LeLongTermKeyRequest')
  if (e.key === 'LeLongTermKeyRequest') {
    t.equal(e.params.connectionHandle, 0x40)
    t.equal(toHex(e.params.randomNumber), '0102030405060708')
    t.equal(e.params.encryptedDiversifier, 0x1234)
  }
  e = decoded(t, '3e0612 00 01 4000 05')
  t.same(
    [e.key, e.params],
    [
      'LeAdvertisingSetTerminated',
      {
        status: 0,
        advertisingHandle: 1,
        connectionHandle: 0x40,
        numCompletedExtendedAdvertisingEvents: 5,
      },
    ],
  )
  e = decoded(t, '3e0913 01 01 665544332211')
  t.same(e.params, { advertisingHandle: 1, scannerAddressType: 1, scannerAddress: '11:22:33:44:55:66' })
  e = decoded(t, '3e0111')
  t.same([e.key, e.name, e.params], ['LeScanTimeout', 'LE Scan Timeout', {}])
  const x = '11'.repeat(32)
  const y = '22'.repeat(32)
  e = decoded(t, `3e4208 00 ${x} ${y}`)
  t.equal(e.key, 'LeReadLocalP256PublicKeyComplete')
  if (e.key === 'LeReadLocalP256PublicKeyComplete') {
    t.equal(toHex(e.params.keyXCoordinate), x)
    t.equal(toHex(e.params.keyYCoordinate), y)
  }
  e = decoded(t, `3e2209 00 ${'ab'.repeat(32)}`)
  t.equal(e.key, 'LeGenerateDhKeyComplete')
  // v2 adds Advertising_Handle and Sync_Handle after Central_Clock_Accuracy
  e = decoded(t, '3e2229 00 4100 01 01 665544332211 0a0b0c0d0e4f 000000000000 2800 0000 c800 01 03 ffff')
  t.same(
    [e.key, e.params],
    [
      'LeEnhancedConnectionCompleteV2',
      {
        status: 0,
        connectionHandle: 0x41,
        role: 1,
        peerAddressType: 1,
        peerAddress: '11:22:33:44:55:66',
        localResolvablePrivateAddress: '4F:0E:0D:0C:0B:0A',
        peerResolvablePrivateAddress: '00:00:00:00:00:00',
        connectionInterval: 40,
        peripheralLatency: 0,
        supervisionTimeout: 200,
        centralClockAccuracy: 1,
        advertisingHandle: 3,
        syncHandle: 0xffff,
      },
    ],
  )
  e = decoded(t, '3e0b0f 0100 7f c4 ff 00 03020106')
  t.equal(e.key, 'LePeriodicAdvertisingReport')
  if (e.key === 'LePeriodicAdvertisingReport') {
    const { data, ...rest } = e.params
    t.same(rest, { syncHandle: 1, txPower: 127, rssi: -60, cteType: 0xff, dataStatus: 0 })
    t.equal(toHex(data), '020106')
  }
  // Num_BIS (2) counts the BIS connection handles at the end
  e = decoded(t, '3e171b 00 01 102700 204e00 02 04 02 01 02 fb00 1000 02 2000 2100')
  t.equal(e.key, 'LeCreateBigComplete')
  if (e.key === 'LeCreateBigComplete') {
    t.equal(e.params.bigSyncDelay, 10000)
    t.equal(e.params.transportLatencyBig, 20000)
    t.equal(e.params.maxPdu, 251)
    t.same(e.params.connectionHandles, [0x20, 0x21])
  }
  // Sample_Count (2) counts the interleaved I/Q pairs; RSSI is a signed 16-bit value (-60.0 dBm)
  e = decoded(t, '3e1216 4000 01 05 a8fd 00 00 01 00 0700 02 7f80 01ff')
  t.equal(e.key, 'LeConnectionIqReport')
  if (e.key === 'LeConnectionIqReport') {
    t.equal(e.params.rssi, -600)
    t.same(e.params.samples, [
      { iSample: 127, qSample: -128 },
      { iSample: 1, qSample: -1 },
    ])
  }
})

t.test('multi-report advertising events are interleaved per report', async (t) => {
  // 3 reports: [ADV_IND public 66:55:44:33:22:11 "020106" -60], [SCAN_RSP random, no data, -80],
  // [ADV_NONCONN_IND random, short name "ABC", -40]
  const hex =
    '3e2802 03' + '00 00 112233445566 03 020106 c4' + '04 01 aabbccddeeff 00 b0' + '03 01 010203040506 05 0408414243 d8'
  const e = decoded(t, hex)
  t.equal(e.key, 'LeAdvertisingReport')
  if (e.key !== 'LeAdvertisingReport') return
  t.same(
    e.params.reports.map((r) => [r.eventType, r.addressType, r.address, toHex(r.data), r.rssi]),
    [
      [0, 0, '66:55:44:33:22:11', '020106', -60],
      [4, 1, 'FF:EE:DD:CC:BB:AA', '', -80],
      [3, 1, '06:05:04:03:02:01', '0408414243', -40],
    ],
  )
  // Two extended reports: connectable scannable undirected on 1M/2M with 3 bytes, then a
  // directed report with no data on coded PHY
  const ext =
    '3e350d 02' +
    '1300 01 112233445566 01 02 05 08 c4 0000 00 000000000000 03 020106' +
    '0400 00 aabbccddeeff 03 03 01 7f b0 a000 01 010203040506 00'
  const x = decoded(t, ext)
  if (x.key !== 'LeExtendedAdvertisingReport') return t.fail(x.key)
  t.same(
    x.params.reports.map((r) => [
      r.eventType,
      r.address,
      r.primaryPhy,
      r.secondaryPhy,
      r.advertisingSid,
      r.txPower,
      r.rssi,
      r.periodicAdvertisingInterval,
      r.directAddressType,
      r.directAddress,
      toHex(r.data),
    ]),
    [
      [0x13, '66:55:44:33:22:11', 1, 2, 5, 8, -60, 0, 0, '00:00:00:00:00:00', '020106'],
      [0x04, 'FF:EE:DD:CC:BB:AA', 3, 3, 1, 127, -80, 0xa0, 1, '06:05:04:03:02:01', ''],
    ],
  )
  const d = decoded(t, '3e220b 02 01 00 112233445566 01 aabbccddeeff c4 01 01 010203040506 00 0a0b0c0d0e0f b0')
  if (d.key !== 'LeDirectedAdvertisingReport') return t.fail(d.key)
  t.same(d.params.reports, [
    {
      eventType: 1,
      addressType: 0,
      address: '66:55:44:33:22:11',
      directAddressType: 1,
      directAddress: 'FF:EE:DD:CC:BB:AA',
      rssi: -60,
    },
    {
      eventType: 1,
      addressType: 1,
      address: '06:05:04:03:02:01',
      directAddressType: 0,
      directAddress: '0F:0E:0D:0C:0B:0A',
      rssi: -80,
    },
  ])
})

t.test('Number Of Completed Packets with several handles', async (t) => {
  const e = decoded(t, '130d03 4000 0100 4100 0500 dc0e 0200')
  if (e.key !== 'NumberOfCompletedPackets') return t.fail(e.key)
  t.same(e.params.handles, [
    { connectionHandle: 0x40, numCompletedPackets: 1 },
    { connectionHandle: 0x41, numCompletedPackets: 5 },
    { connectionHandle: 0x0edc, numCompletedPackets: 2 },
  ])
  t.equal(
    toHex(
      encodeEvent(NumberOfCompletedPackets, {
        handles: [
          { connectionHandle: 0x40, numCompletedPackets: 1 },
          { connectionHandle: 0x41, numCompletedPackets: 5 },
        ],
      }),
    ),
    '1309024000010041000500',
  )
  t.equal(toHex(encodeEvent(NumberOfCompletedPackets, { handles: [] })), '130100')
})

// ---------------------------------------------------------------------------------------------
// Bad input

t.test('truncated and length-lying packets give a DecodeError naming the field', async (t) => {
  t.equal(decodeError('').field, 'eventCode')
  t.equal(decodeError('05').field, 'parameterTotalLength')
  // the length byte says 4, 3 bytes follow; and says 3, 4 follow
  let err = decodeError('0504004000')
  t.same([err.field, err.offset], ['parameterTotalLength', 1])
  t.equal(decodeError('05030040001300').field, 'parameterTotalLength')
  t.equal(decodeError('3e2a02010001ee2e5a9d45e61e').field, 'parameterTotalLength')
  // honest length, missing parameters: offsets count from the event code
  err = decodeError('0503004000')
  t.same([err.field, err.offset], ['reason', 5])
  t.equal(decodeError('0e0101').field, 'opcode')
  t.equal(decodeError('3e00').field, 'subeventCode')
  err = decodeError('3e0401004000')
  t.same([err.field, err.offset], ['role', 6])
  // a report whose data length runs past the event
  err = decodeError('3e0e0201000011223344556609020106')
  t.same([err.field, err.offset], ['reports[0].data', 13])
  // two reports announced, one present
  t.equal(decodeError('3e0f0202 00 00 112233445566 03020106 c4').field, 'reports[1].eventType')
  t.equal(decodeError('3e0c0201 00 00 112233445566 0302').field, 'reports[0].data')
  t.equal(decodeError('3e0a02010000112233445566').field, 'reports[0].data.length')
  t.equal(decodeError('1304 01 4000 01').field, 'handles[0].numCompletedPackets')
  t.equal(decodeError('1305 02 4000 0100').field, 'handles[1].connectionHandle')
  t.match(decodeError('0c03000c00').message, /^version at offset 5: needs 1 byte/)
})

t.test('unknown events and unknown LE sub-events come back with a name and their bytes', async (t) => {
  let e = decodeEvent(fromHex('2403010203')) as HciEvent
  t.same(e, { key: 'Unknown', code: 0x24, name: 'Unknown Event (0x24)', raw: fromHex('010203') })
  t.equal(toHex(reencodeEvent(e)), '2403010203')
  e = decodeEvent(fromHex('3e037f0102')) as HciEvent
  t.same(e, {
    key: 'Unknown',
    code: 0x3e,
    subevent: 0x7f,
    name: 'Unknown LE Meta Sub-event (0x7f)',
    raw: fromHex('0102'),
  })
  t.equal(toHex(reencodeEvent(e)), '3e037f0102')
  // a standard code we have no spec for (AMP, removed in v5.3) still prints its name
  e = decodeEvent(fromHex('480100')) as HciEvent
  t.same([e.key, e.name], ['Unknown', 'Number Of Completed Data Blocks'])
  t.equal(formatEvent(e), 'Number Of Completed Data Blocks raw=00')
  e = decodeEvent(fromHex('5a00')) as HciEvent
  t.same([e.key, e.name, e.subevent], ['Unknown', 'Unknown Event (0x5a)', undefined])
})

t.test('trailing bytes after the declared parameters are kept', async (t) => {
  const e = decodeEvent(fromHex('0505000c0016aa')) as HciEvent
  if (e instanceof DecodeError || e.key !== 'DisconnectionComplete') return t.fail('not decoded')
  t.equal(toHex(e.trailing!), 'aa')
  t.equal(toHex(reencodeEvent(e)), '0505000c0016aa')
  t.match(
    formatEvent(e),
    /^Disconnection Complete status=Success \(0x00\) connectionHandle=0x000c reason=.*\(0x16\) trailing=aa$/,
  )
  const le = decodeEvent(fromHex('3e070c0003000101 7f')) as HciEvent
  if (le instanceof DecodeError || le.key !== 'LePhyUpdateComplete') return t.fail('not decoded')
  t.same(le.params, { status: 0, connectionHandle: 3, txPhy: 1, rxPhy: 1 })
  t.equal(toHex(le.trailing!), '7f')
  t.equal(toHex(reencodeEvent(le)), '3e070c00030001017f')
})

// ---------------------------------------------------------------------------------------------
// Encoding

t.test('encodeEvent builds the packet the spec describes', async (t) => {
  t.equal(
    toHex(encodeEvent(DisconnectionComplete, { status: 0, connectionHandle: 0x40, reason: 0x13 })),
    '050400400013',
  )
  t.equal(
    toHex(encodeEvent(DisconnectionComplete, { status: 0, connectionHandle: 0x40, reason: 0x13 }, fromHex('ee'))),
    '050500400013ee',
  )
  t.equal(
    toHex(
      encodeEvent(LeAdvertisingReport, {
        reports: [{ eventType: 0, addressType: 1, address: 'E6:45:9D:5A:2E:EE', data: fromHex('020106'), rssi: -74 }],
      }),
    ),
    '3e0f02010001ee2e5a9d45e603020106b6',
  )
  t.equal(toHex(encodeEvent(Vendor, { data: fromHex('0102') })), 'ff020102')
  t.equal(toHex(encodeEvent(EventSpecs.LeScanTimeout, {})), '3e0111')
})

t.test('encodeEvent refuses what cannot be encoded (programming errors)', async (t) => {
  t.throws(() => encodeEvent(Vendor, { data: new Uint8Array(256) }), RangeError)
  t.doesNotThrow(() => encodeEvent(Vendor, { data: new Uint8Array(255) }))
  // subevent + count + 12 * (10 + 12) = 266 bytes of LE Meta parameters
  const report = { eventType: 0, addressType: 0, address: '00:00:00:00:00:00', data: new Uint8Array(12), rssi: 0 }
  t.throws(() => encodeEvent(LeAdvertisingReport, { reports: Array(12).fill(report) }), RangeError)
  t.throws(() => encodeEvent(DisconnectionComplete, { status: 256, connectionHandle: 0, reason: 0 }), RangeError)
  t.throws(() => encodeEvent(DisconnectionComplete, { status: 0, connectionHandle: 0 } as never), RangeError)
  t.throws(
    () =>
      encodeEvent(LeExtendedAdvertisingReport, {
        reports: [
          {
            eventType: 0,
            addressType: 0,
            address: 'nope',
            primaryPhy: 1,
            secondaryPhy: 0,
            advertisingSid: 0,
            txPower: 0,
            rssi: 0,
            periodicAdvertisingInterval: 0,
            directAddressType: 0,
            directAddress: '00:00:00:00:00:00',
            data: new Uint8Array(0),
          },
        ],
      }),
    RangeError,
  )
})

// ---------------------------------------------------------------------------------------------
// Tables

t.test('names and lookups', async (t) => {
  t.equal(EVENTS.length, Object.keys(EventSpecs).length)
  for (const [key, spec] of Object.entries(EventSpecs)) {
    t.equal(eventSpec(spec.code, spec.subevent), spec, `${key} is found by its code`)
    t.equal(eventName(spec.code, spec.subevent), spec.name, `${key}'s name agrees with the name table`)
    t.equal(
      spec.subevent === undefined,
      spec.code !== LE_META_EVENT,
      `${key}: only LE Meta sub-events have a subevent code`,
    )
  }
  t.equal(eventName(0x3e, 0x02), 'LE Advertising Report')
  t.equal(eventName(0x3e), 'LE Meta')
  t.equal(eventName(0xff), 'Vendor')
  t.equal(eventName(0x3e, 0x2a), 'Unknown LE Meta Sub-event (0x2a)')
  t.equal(eventName(0x00), 'Unknown Event (0x00)')
  t.equal(eventSpec(0x3e), undefined)
  t.equal(eventSpec(0x3e, 0x7f), undefined)
  t.equal(eventSpec(0x24), undefined)
  // Core v5.4 7.7: event codes 0x01-0x23 (0x1F removed long ago), 0x2C-0x36, 0x38-0x39, 0x3B-0x3E,
  // 0x4E-0x59; LE sub-events 0x01-0x29. Every one of them is named and, in v5.4, typed.
  const v54 = [
    ...range(0x01, 0x1e),
    ...range(0x20, 0x23),
    ...range(0x2c, 0x36),
    0x38,
    0x39,
    ...range(0x3b, 0x3d),
    ...range(0x4e, 0x59),
    0xff,
  ]
  for (const c of v54) {
    t.ok(EVENT_NAMES[c], `event 0x${c.toString(16)} is named`)
    t.ok(eventSpec(c), `event 0x${c.toString(16)} is typed`)
  }
  for (const s of range(0x01, 0x29)) {
    t.ok(LE_SUBEVENT_NAMES[s], `LE sub-event 0x${s.toString(16)} is named`)
    t.ok(eventSpec(0x3e, s), `LE sub-event 0x${s.toString(16)} is typed`)
  }
  t.equal(Object.keys(LE_SUBEVENT_NAMES).length, 0x29)
})

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a + 1 }, (_, i) => a + i)
}

// ---------------------------------------------------------------------------------------------
// Real captures: every event decodes, re-encodes identically, and agrees with tshark

interface Packet {
  frame: number
  type: number
  data: Uint8Array
}

/** H4 packets of a btsnoop (datalink 1002) or pcap (linktype 201) file; other formats yield nothing. */
function* h4Packets(file: string): Generator<Packet> {
  const b = readFileSync(file)
  const dv = new DataView(b.buffer, b.byteOffset, b.length)
  if (b.length >= 16 && b.subarray(0, 8).toString('latin1') === 'btsnoop\0') {
    if (dv.getUint32(12) !== 1002) return
    for (let o = 16, frame = 1; o + 24 <= b.length; frame++) {
      const incl = dv.getUint32(o + 4)
      const data = new Uint8Array(b.buffer, b.byteOffset + o + 24, Math.min(incl, b.length - o - 24))
      o += 24 + incl
      if (data.length) yield { frame, type: data[0]!, data: data.subarray(1) }
    }
    return
  }
  if (b.length < 24) return
  const magic = dv.getUint32(0, true)
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d
  if (!le && dv.getUint32(0, false) !== 0xa1b2c3d4 && dv.getUint32(0, false) !== 0xa1b23c4d) return
  if (dv.getUint32(20, le) !== 201) return
  for (let o = 24, frame = 1; o + 16 <= b.length; frame++) {
    const incl = dv.getUint32(o + 8, le)
    const data = new Uint8Array(b.buffer, b.byteOffset + o + 16, Math.min(incl, b.length - o - 16))
    o += 16 + incl
    if (data.length > 4) yield { frame, type: data[4]!, data: data.subarray(5) }
  }
}

const captures = realTraces()

/** Our parameter names -> tshark's bthci_evt field carrying the same value. */
const TSHARK_FIELD: Record<string, string> = {
  status: 'status',
  reason: 'reason',
  connectionHandle: 'connection_handle',
  bdAddr: 'bd_addr',
  address: 'bd_addr',
  peerAddress: 'bd_addr',
  numHciCommandPackets: 'num_command_packets',
  opcode: 'opcode',
  numCompletedPackets: 'num_compl_packets',
  rssi: 'rssi',
  data: 'data_length',
  connectionInterval: 'le_con_interval',
  peripheralLatency: 'le_con_latency',
  supervisionTimeout: 'le_supv_timeout',
  intervalMin: 'le_min_interval',
  intervalMax: 'le_max_interval',
  encryptionEnabled: 'encryption_enable',
  version: 'lmp_vers_nr',
  companyIdentifier: 'comp_id',
  subversion: 'lmp_sub_vers_nr',
  txPower: 'tx_power',
  primaryPhy: 'primary_phy',
  secondaryPhy: 'secondary_phy',
  advertisingSid: 'advertising_sid',
  periodicAdvertisingInterval: 'periodic_advertising_interval',
  localResolvablePrivateAddress: 'le_local_rpa',
  peerResolvablePrivateAddress: 'le_peer_rpa',
  addressType: 'le_peer_address_type',
  peerAddressType: 'le_peer_address_type',
  directAddressType: 'le_direct_address_type',
  directAddress: 'direct_bd_addr',
  eventType: 'le_advts_event_type',
  txPhy: 'le_tx_phy',
  rxPhy: 'le_rx_phy',
}
const LIST_COUNT: Record<string, string> = { handles: 'num_handles', reports: 'le_num_reports' }
const FIELDS = [
  ...new Set([
    ...Object.values(TSHARK_FIELD),
    ...Object.values(LIST_COUNT),
    'le_ext_advts_event_type',
    'encryption_mode',
  ]),
]

type Value = number | string

/** The tshark fields our decode of `e` says it should show, in the order it shows them. */
function expectedFields(e: KnownEvent): Map<string, Value[]> {
  const out = new Map<string, Value[]>()
  const put = (f: string, v: Value): void => void (out.get(f) ?? out.set(f, []).get(f)!).push(v)
  const walk = (obj: Record<string, unknown>): void => {
    for (const [name, v] of Object.entries(obj)) {
      if (Array.isArray(v)) {
        if (LIST_COUNT[name]) put(LIST_COUNT[name], v.length)
        for (const item of v) if (item !== null && typeof item === 'object') walk(item as Record<string, unknown>)
        continue
      }
      let f = TSHARK_FIELD[name]
      if (!f || (e.key === 'Vendor' && name === 'data')) continue
      if (name === 'eventType' && e.key === 'LeExtendedAdvertisingReport') f = 'le_ext_advts_event_type'
      if (name === 'encryptionEnabled' && e.key === 'ConnectionComplete') f = 'encryption_mode'
      put(f, v instanceof Uint8Array ? v.length : typeof v === 'string' ? v.toLowerCase() : (v as number))
    }
  }
  walk(e.params as Record<string, unknown>)
  return out
}

function tsharkValue(s: string): Value {
  if (/^-?\d+$/.test(s)) return Number(s)
  if (/^0x[0-9a-f]+$/i.test(s)) return parseInt(s, 16)
  return s.toLowerCase()
}

async function tsharkEvents(file: string): Promise<Map<number, Map<string, Value[]>>> {
  const args = ['-Y', 'bthci_evt', '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=,']
  args.push('-e', 'frame.number', ...FIELDS.flatMap((f) => ['-e', `bthci_evt.${f}`]))
  const text = await tsharkText(file, args)
  const out = new Map<number, Map<string, Value[]>>()
  for (const line of text.split('\n')) {
    if (!line) continue
    const cols = line.split('\t')
    const m = new Map<string, Value[]>()
    FIELDS.forEach((f, i) => {
      const s = cols[i + 1]
      if (s) m.set(f, s.split(',').map(tsharkValue))
    })
    out.set(Number(cols[0]), m)
  }
  return out
}

const totals = { events: 0, compared: 0 }

for (const file of captures) {
  t.test(`real capture ${shortName(file)}`, { skip: missing('tshark') }, async (t) => {
    const shark = await tsharkEvents(file)
    const problems: string[] = []
    let events = 0
    for (const p of h4Packets(file)) {
      if (p.type !== 4) continue
      events++
      const e = decodeEvent(p.data)
      if (e instanceof DecodeError) {
        problems.push(`frame ${p.frame}: ${e.message}: ${toHex(p.data)}`)
      } else if (e.key === 'Unknown') {
        problems.push(`frame ${p.frame}: no spec for ${e.name}`)
      } else {
        const again = toHex(reencodeEvent(e))
        if (again !== toHex(p.data)) problems.push(`frame ${p.frame}: ${toHex(p.data)} re-encodes as ${again}`)
        const theirs = shark.get(p.frame)
        if (!theirs) problems.push(`frame ${p.frame}: tshark shows no HCI event`)
        for (const [field, ours] of expectedFields(e)) {
          totals.compared++
          const got = theirs?.get(field) ?? []
          if (JSON.stringify(got) !== JSON.stringify(ours)) {
            problems.push(
              `frame ${p.frame} ${e.name} ${field}: ours ${JSON.stringify(ours)}, tshark ${JSON.stringify(got)}`,
            )
          }
        }
      }
      if (problems.length > 10) break
    }
    totals.events += events
    t.equal(events, shark.size, 'we see the events tshark sees')
    t.same(problems, [], `${events} events decode, re-encode identically and agree with tshark`)
  })
}

realTest('the captures exercised the decoder', { skip: missing('tshark') }, async (t) => {
  t.ok(totals.events > 100000, `events: ${totals.events}`)
  t.ok(totals.compared > 500000, `fields compared with tshark: ${totals.compared}`)
})

t.test('synthetic multi-report events read the same in tshark', { skip: missing('tshark') }, async (t) => {
  const packets = [
    '3e2802 03 00 00 112233445566 03 020106 c4 04 01 aabbccddeeff 00 b0 03 01 010203040506 05 0408414243 d8',
    '3e350d 02 1300 01 112233445566 01 02 05 08 c4 0000 00 000000000000 03 020106 0400 00 aabbccddeeff 03 ' +
      '03 01 7f b0 a000 01 010203040506 00',
    '130d03 4000 0100 4100 0500 dc0e 0200',
  ].map(fromHex)
  // a btsnoop file (datalink 1002) around the hand-written packets
  const parts: Uint8Array[] = [fromHex('6274736e6f6f7000 00000001 000003ea')]
  for (const p of packets) {
    const rec = new DataView(new ArrayBuffer(24))
    rec.setUint32(0, p.length + 1)
    rec.setUint32(4, p.length + 1)
    rec.setUint32(8, 3) // received, command/event
    parts.push(new Uint8Array(rec.buffer), Uint8Array.of(4), p)
  }
  const dir = mkdtempSync(join(tmpdir(), 'hcikit-events-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'multi.btsnoop')
  writeFileSync(file, Buffer.concat(parts))
  const shark = await tsharkEvents(file)
  packets.forEach((p, i) => {
    const e = decodeEvent(p)
    if (e instanceof DecodeError || e.key === 'Unknown') return t.fail(`packet ${i} does not decode`)
    const theirs = shark.get(i + 1)!
    for (const [field, ours] of expectedFields(e)) t.same(theirs.get(field), ours, `${e.name} ${field}`)
  })
})

// ---------------------------------------------------------------------------------------------
// Properties

function checkRoundTrip(packet: Uint8Array): void {
  const e = decodeEvent(packet)
  if (e instanceof DecodeError) {
    if (!e.field) throw new Error('a DecodeError must name its field')
    return
  }
  const again = reencodeEvent(e)
  if (toHex(again) !== toHex(packet)) throw new Error(`${toHex(packet)} re-encodes as ${toHex(again)}`)
}

t.test('property: random bytes never throw; what decodes re-encodes identically', async (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), checkRoundTrip), { seed: 0x5eed, numRuns: 3000 })
  // well-framed packets of every typed event with random parameters
  const framed = fc.tuple(fc.constantFrom(...EVENTS), fc.uint8Array({ maxLength: 254 })).map(([spec, params]) => {
    const head =
      spec.subevent === undefined ? [spec.code, params.length] : [spec.code, params.length + 1, spec.subevent]
    return Uint8Array.from([...head, ...params])
  })
  fc.assert(fc.property(framed, checkRoundTrip), { seed: 0x5eed, numRuns: 5000 })
  t.pass('no counterexample')
})

realTest('property: mutated real events never throw; what decodes re-encodes identically', async (t) => {
  // one real event of each kind, from the captures
  const samples = new Map<string, Uint8Array>()
  for (const file of captures) {
    for (const p of h4Packets(file)) {
      if (p.type !== 4) continue
      const key = p.data[0] === LE_META_EVENT ? `3e/${p.data[2]}` : `${p.data[0]}`
      if (!samples.has(key) || (samples.get(key)!.length < p.data.length && samples.size < 200))
        samples.set(key, p.data)
    }
  }
  const real = [...samples.values()]
  t.ok(real.length >= 30, `${real.length} kinds of real events`)
  const mutation = fc.oneof(
    fc.record({ op: fc.constant('set' as const), at: fc.nat(), v: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ op: fc.constant('cut' as const), at: fc.nat(), v: fc.constant(0) }),
    fc.record({ op: fc.constant('add' as const), at: fc.nat(), v: fc.integer({ min: 0, max: 255 }) }),
  )
  const mutated = fc
    .tuple(fc.constantFrom(...real), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean())
    .map(([base, ms, fixLength]) => {
      let b = Uint8Array.from(base)
      for (const m of ms) {
        if (m.op === 'set' && b.length) b[m.at % b.length] = m.v
        else if (m.op === 'cut') b = b.subarray(0, m.at % (b.length + 1))
        else b = Uint8Array.from([...b.subarray(0, m.at % (b.length + 1)), m.v, ...b.subarray(m.at % (b.length + 1))])
      }
      if (fixLength && b.length >= 2) b[1] = (b.length - 2) & 0xff
      return b
    })
  fc.assert(fc.property(mutated, checkRoundTrip), { seed: 0x5eed, numRuns: 5000 })
  t.pass('no counterexample')
})
