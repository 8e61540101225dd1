/**
 * The twin builder (src/twin/build.ts, evidence.ts, assemble.ts) on a capture written here byte by
 * byte (ATT PDUs from Core v5.4 Vol 3 Part F 3.4, HCI events from Vol 4 Part E 7.7): which device
 * is chosen, services / characteristics / descriptors with their handles and the UUID sizes they
 * had on the wire, completeness from the searches, the MTU, a long value put back together from
 * Read Blob, a refused read, notifications timed from the subscription, advertising and name,
 * and what is left out: the device's own requests, ATT on a link the capture never saw open.
 */
import t from 'tap'
import type { CaptureRecord } from '../../hci/snoop.ts'
import { buildTwin } from '../../src/twin/build.ts'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'))
const le16 = (v: number): string => Buffer.from([v & 0xff, v >> 8]).toString('hex')
/** An ACL packet (PB 0x2) carrying one ATT PDU on CID 4 of connection handle `h`. */
const att = (h: number, pdu: string): Uint8Array => {
  const p = hex(pdu)
  return hex(`${le16(h | 0x2000)}${le16(p.length + 4)}${le16(p.length)}0400${Buffer.from(p).toString('hex')}`)
}
const LONG = Buffer.from(Array.from({ length: 129 }, (_, i) => i)).toString('hex')

interface Rec {
  ms: number
  dir: 'tx' | 'rx'
  type: number
  data: Uint8Array
}
const A = 0x0040 // handle of device AA:BB:CC:DD:EE:01
const B = 0x0041 // handle of device BB:...:02
const rx = (ms: number, data: Uint8Array, type = 2): Rec => ({ ms, dir: 'rx', type, data })
const tx = (ms: number, data: Uint8Array): Rec => ({ ms, dir: 'tx', type: 2, data })

const CAPTURE: Rec[] = [
  // LE Advertising Report: ADV_IND (data: flags, complete name "Dev") then SCAN_RSP (TX power 0)
  rx(1, hex('3e 14 02 01 00 00 01eeddccbbaa 08 020106 0409446576 c0'), 4),
  rx(2, hex('3e 0f 02 01 04 00 01eeddccbbaa 03 020a00 c0'), 4),
  // LE Connection Complete: handle 0x0040 to AA:BB:CC:DD:EE:01 (public), and 0x0041 to BB..02
  rx(3, hex('3e 13 01 00 4000 00 00 01eeddccbbaa 1800 0000 c800 00'), 4),
  rx(4, hex('3e 13 01 00 4100 00 01 02eeddccbbbb 1800 0000 c800 00'), 4),
  tx(5, att(A, '02 f700')), // Exchange MTU Request 247
  rx(6, att(A, '03 6400')), // Response 100
  tx(7, att(A, '10 0100 ffff 0028')), // Read By Group Type, primary
  rx(8, att(A, '11 06 0100 0500 0018')),
  tx(9, att(A, '10 0600 ffff 0028')),
  rx(10, att(A, '11 14 0600 0900 fb349b5f80000080001000000f180000')), // 180f in its 128-bit form
  tx(11, att(A, '10 0a00 ffff 0028')),
  rx(12, att(A, '01 10 0a00 0a')), // Attribute Not Found: no more services
  tx(13, att(A, '08 0100 0500 0328')), // characteristics of 1800
  rx(14, att(A, '09 07 0200 02 0300 002a')),
  tx(15, att(A, '08 0400 0500 0328')),
  rx(16, att(A, '01 08 0400 0a')),
  tx(17, att(A, '08 0600 0900 0328')), // characteristics of 180f
  rx(18, att(A, '09 07 0700 12 0800 192a')), // read + notify
  tx(19, att(A, '04 0900 0900')), // descriptors of 2a19
  rx(20, att(A, '05 01 0900 0229')),
  tx(21, att(A, '0a 0300')), // Read Device Name: 99 octets = ATT_MTU - 1: more to come
  rx(22, att(A, `0b ${LONG.slice(0, 198)}`)),
  tx(23, att(A, '0c 0300 6300')), // Read Blob at 99
  rx(24, att(A, `0d ${LONG.slice(198)}`)),
  tx(25, att(A, '0a 0800')), // Read Battery Level: refused
  rx(26, att(A, '01 0a 0800 05')), // Insufficient Authentication
  rx(27, att(A, '0a 0100')), // the device reads us: not its server's
  tx(28, att(A, '0b 7777')),
  tx(10_000, att(A, '12 0900 0100')), // subscribe
  rx(10_010, att(A, '13')),
  rx(10_500, att(A, '1b 0800 50')),
  rx(11_000, att(A, '1b 0800 4f')),
  rx(11_100, att(0x0edc, '1b 0800 00')), // vendor channel: no connection
  tx(12_000, att(B, '0a 0300')), // B answers once
  rx(12_001, att(B, '0b 42')),
]

function records(list: Rec[]): AsyncIterable<CaptureRecord> {
  return (async function* () {
    let index = 0
    for (const r of list)
      yield {
        index: ++index,
        timestampUs: BigInt(r.ms) * 1000n,
        direction: r.dir,
        packetType: r.type,
        data: r.data,
        originalLength: r.data.length,
      }
  })()
}

t.test('the device whose server answered most, as the capture showed it', async (t) => {
  const { twin, candidates, unattributed } = await buildTwin(records(CAPTURE), { captureName: 'hand.btsnoop' })
  t.same(
    candidates.map((c) => [c.address, c.responses, c.advertised]),
    [
      ['AA:BB:CC:DD:EE:01', 12, true],
      ['BB:BB:CC:DD:EE:02', 1, false],
    ],
  )
  t.equal(unattributed, 1, 'the notification on handle 0x0EDC is left out')
  t.same(twin.source, { capture: 'hand.btsnoop', frames: CAPTURE.length, connections: 1 })
  t.same(twin.device, {
    address: 'AA:BB:CC:DD:EE:01',
    addressType: 'public',
    name: Buffer.from(LONG, 'hex').toString('utf8'),
  })
  t.same(twin.advertising, { connectable: true, data: '0201060409446576', scanResponse: '020a00' })
  t.equal(twin.mtu, 100)
  t.equal(twin.servicesComplete, true, 'searched to 0xFFFF')
  const [gap, battery] = twin.services
  t.match(gap, { handle: 1, endHandle: 5, uuid: '1800', primary: true, characteristicsComplete: true })
  t.match(gap!.characteristics[0], { handle: 2, valueHandle: 3, uuid: '2a00', properties: ['read'], value: LONG })
  t.notOk('valueTruncated' in gap!.characteristics[0]!, 'the blob came back short: the value is whole')
  t.match(battery, {
    handle: 6,
    endHandle: 9,
    uuid: '0000180f-0000-1000-8000-00805f9b34fb',
    characteristicsComplete: true,
  })
  t.same(battery!.characteristics[0], {
    handle: 7,
    valueHandle: 8,
    uuid: '2a19',
    properties: ['read', 'notify'],
    readError: 5,
    descriptorsComplete: true,
    descriptors: [{ handle: 9, uuid: '2902' }],
    notifications: [
      { atMs: 500, value: '50' },
      { atMs: 1000, value: '4f' },
    ],
  })
  t.same(twin.otherAttributes, [], "the device's own reads of us are not its server's")
})

t.test('another device by --device; one that is not there; a capture without an answer', async (t) => {
  const b = await buildTwin(records(CAPTURE), { device: 'bb-bb-cc-dd-ee-02' })
  t.equal(b.twin.device.address, 'BB:BB:CC:DD:EE:02')
  t.equal(b.twin.device.addressType, 'random')
  t.equal(b.twin.servicesComplete, false, 'nobody searched its services')
  t.same(b.twin.otherAttributes, [{ handle: 3, value: '42' }], 'a read of a handle no discovery placed')
  await t.rejects(buildTwin(records(CAPTURE), { device: 'CC:CC:CC:CC:CC:CC' }), {
    name: 'TwinError',
    message: /CC:CC:CC:CC:CC:CC was neither connected nor advertising/,
  })
  await t.rejects(buildTwin(records(CAPTURE.slice(0, 4))), {
    name: 'TwinError',
    message: /no connected device answered ATT requests/,
  })
})

t.test('incomplete searches are marked', async (t) => {
  const partial = CAPTURE.filter((r) => ![11, 12, 15, 16, 19, 20].includes(r.ms))
  const { twin } = await buildTwin(records(partial))
  t.equal(twin.servicesComplete, false)
  t.equal(twin.services[0]!.characteristicsComplete, false, 'handle 4 of 1800 was never searched')
  t.equal(twin.services[1]!.characteristics[0]!.descriptorsComplete, false)
  t.same(twin.services[1]!.characteristics[0]!.descriptors, [])
})
