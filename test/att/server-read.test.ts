import t from 'tap'
import { AttributeDatabase, AttributeError } from '../../att/database.ts'
import { decodeAttPdu, isAttPdu, ReadMultipleVariableResponse } from '../../att/pdu.ts'
import { fromHex, toHex } from '../../hci/wire.ts'
import { ask, connection, fixture, h, longHex, LONG, AUTHENTICATED, ENCRYPTED } from './server-fixture.ts'

// Expected bytes are written from Core v5.4 Vol 3 Part F 3.4.3-3.4.4 and the fixture's table.
const NUS1 = '9ecadc240ee5a9e093f3a3b50100406e' // 6e400001-b5a3-f393-e0a9-e50e24dcca9e, little-endian
const NUS2 = '9ecadc240ee5a9e093f3a3b50200406e'

t.test('Find Information (3.4.3.1)', async (t) => {
  const { db } = fixture()
  const c = connection()
  t.equal(
    await ask(db, c, '04 0100 0700'),
    h('05 01  0100 0028  0200 0328  0300 002a  0400 0328  0500 012a'),
    'MTU 23: five pairs fit',
  )
  t.equal(
    await ask(db, connection({ mtu: 517 }), '04 0100 0700'),
    h('05 01  0100 0028  0200 0328  0300 002a  0400 0328  0500 012a  0600 0028  0700 0328'),
  )
  t.equal(await ask(db, c, '04 3200 3300'), h('05 01 3200 0328'), 'stops before a 128-bit type')
  t.equal(await ask(db, c, '04 3300 ffff'), h(`05 02 3300 ${NUS2}`), '128-bit format')
  t.equal(await ask(db, c, '04 0000 0100'), h('01 04 0000 01'), 'starting handle 0: Invalid Handle')
  t.equal(await ask(db, c, '04 0500 0400'), h('01 04 0500 01'), 'start > end: Invalid Handle')
  t.equal(await ask(db, c, '04 4300 ffff'), h('01 04 4300 0a'), 'nothing there: Attribute Not Found')
  t.equal(await ask(db, c, '04 2b00 2f00'), h('01 04 2b00 0a'), 'a gap')
})

t.test('Find By Type Value (3.4.3.3)', async (t) => {
  const { db } = fixture()
  const c = connection()
  t.equal(await ask(db, c, '06 0100 ffff 0028 0118'), h('07 0600 0d00'), 'the GATT service with its group end')
  t.equal(
    await ask(db, c, '06 0100 ffff 0028 fb349b5f8000008000100000 0118 0000'),
    h('07 0600 0d00'),
    'the same UUID in 128 bits',
  )
  t.equal(await ask(db, c, `06 0100 ffff 0028 ${NUS1}`), h('07 3000 3300'))
  t.equal(await ask(db, c, '06 0100 ffff 0128 0f18'), h('07 4000 4200'), 'secondary service')
  t.equal(await ask(db, c, '06 0100 ffff 0028 0f18'), h('01 06 0100 0a'), 'a secondary service is not primary')
  t.equal(await ask(db, c, '06 0700 ffff 0028 0118'), h('01 06 0700 0a'), 'outside the range')
  t.equal(
    await ask(db, c, '06 0100 ffff 002a 6863696b6974'),
    h('07 0300 0300'),
    'a non-grouping attribute ends its own group',
  )
  // CCCD values are per connection: all three read 0000 here.
  t.equal(await ask(db, c, '06 0100 ffff 0229 0000'), h('07 0900 0900 1700 1700 2a00 2a00'))
  t.equal(await ask(db, c, '12 1700 0100'), '13')
  t.equal(await ask(db, c, '06 0100 ffff 0229 0000'), h('07 0900 0900 2a00 2a00'))
  t.equal(
    await ask(db, connection(), '06 0100 ffff 0229 0000'),
    h('07 0900 0900 1700 1700 2a00 2a00'),
    'another connection',
  )
  t.equal(
    await ask(db, c, '06 0100 ffff 04aa 01'),
    h('01 06 0100 0a'),
    'an attribute the client may not read is not compared',
  )
  t.equal(await ask(db, c, '06 0000 ffff 0028 0018'), h('01 06 0000 01'))
  // Five handle pairs fit at MTU 23 ((23 - 1) / 4).
  const many = new AttributeDatabase({ services: Array.from({ length: 7 }, () => ({ uuid: 0xfeed })) })
  t.equal(await ask(many, c, '06 0100 ffff 0028 edfe'), h('07 0e000e00 0f000f00 10001000 11001100 12001200'))
})

t.test('Read By Group Type (3.4.4.9)', async (t) => {
  const { db } = fixture()
  const c = connection()
  const first3 = h('11 06  0100 0500 0018  0600 0d00 0118  1000 2a00 00a0')
  t.equal(await ask(db, c, '10 0100 ffff 0028'), first3, 'MTU 23: three groups of six octets')
  t.equal(
    await ask(db, connection({ mtu: 517 }), '10 0100 ffff 0028'),
    first3,
    'stops at the first group of another length',
  )
  t.equal(await ask(db, c, '10 2b00 ffff 0028'), h(`11 14 3000 3300 ${NUS1}`), '128-bit group')
  t.equal(await ask(db, c, '10 0100 ffff fb349b5f80000080001000000028 0000'), first3, 'the group type in 128 bits')
  t.equal(await ask(db, c, '10 0100 ffff 0128'), h('11 06 4000 4200 0f18'), 'secondary services')
  t.equal(
    await ask(db, c, '10 0100 ffff 0328'),
    h('01 10 0100 10'),
    'characteristics do not group: Unsupported Group Type',
  )
  t.equal(await ask(db, c, '10 4300 ffff 0028'), h('01 10 4300 0a'))
  t.equal(await ask(db, c, '10 0200 0100 0028'), h('01 10 0200 01'))
  t.equal(await ask(db, c, '10 0100 ffff 0028 00'), h('01 10 0000 04'), 'a 3-octet UUID: Invalid PDU')
})

t.test('Read By Type (3.4.4.1)', async (t) => {
  const { db } = fixture()
  const c = connection()
  t.equal(
    await ask(db, c, '08 0100 ffff 0328'),
    h('09 07  0200 02 0300 002a  0400 02 0500 012a  0700 20 0800 052a'),
    'three declarations of seven octets',
  )
  t.equal(await ask(db, c, '08 0100 ffff 002a'), h('09 08 0300 6863696b6974'), 'Device Name by UUID')
  t.equal(
    await ask(db, c, '08 1300 1400 02aa'),
    h(`09 15 1400 ${longHex(0, 19)}`),
    'MTU 23: a value is cut to ATT_MTU - 4',
  )
  t.equal(
    await ask(db, connection({ mtu: 517 }), '08 1300 1400 02aa'),
    h(`09 ff 1400 ${longHex(0, 253)}`),
    'and never past 253 octets',
  )
  t.equal(await ask(db, c, `08 3000 ffff ${NUS2}`), h('09 03 3300 78'), 'by a 128-bit UUID')
  t.equal(await ask(db, c, '08 0100 ffff 2a2b'), h(`09 12 0d00 ${toHex(db.hashValue())}`), 'the Database Hash')
  t.equal(await ask(db, c, '08 2200 2300 09aa'), h('09 04 2300 0909'), 'an async handler')
  t.equal(
    await ask(db, c, '08 0100 ffff 04aa'),
    h('01 08 1900 0f'),
    'the first attribute needs encryption: its handle and error',
  )
  t.equal(
    await ask(
      db,
      connection({ security: { encrypted: false, authenticated: false, keySize: 0, bonded: false } }),
      '08 0100 ffff 04aa',
    ),
    h('01 08 1900 05'),
    'no bond: pair first',
  )
  t.equal(await ask(db, connection({ security: ENCRYPTED }), '08 0100 ffff 04aa'), h('09 03 1900 01'))
  t.equal(await ask(db, c, '08 0100 ffff 0aaa'), h('01 08 2500 80'), 'an application error from the handler')
  t.equal(await ask(db, c, '08 0100 ffff 9999'), h('01 08 0100 0a'))
  t.equal(await ask(db, c, '08 0000 ffff 0328'), h('01 08 0000 01'))
  t.equal(await ask(db, c, '08 0100 ffff 0328 00'), h('01 08 0000 04'), 'a 3-octet UUID: Invalid PDU')

  // A later attribute that cannot be read, or has another length, ends the list.
  const same = new AttributeDatabase({
    services: [
      {
        uuid: 0xfff0,
        characteristics: [
          { uuid: 0xbeef, properties: ['read'], value: new Uint8Array([1]) },
          { uuid: 0xbeef, properties: ['read'], value: new Uint8Array([2]) },
          { uuid: 0xbeef, properties: ['read'], permissions: { read: 'encrypted' }, value: new Uint8Array([3]) },
          { uuid: 0xbeef, properties: ['read'], value: new Uint8Array([4]) },
          { uuid: 0xbeef, properties: ['read'], value: new Uint8Array([5, 5]) },
          {
            uuid: 0xbeef,
            properties: ['read'],
            onRead: () => {
              throw new AttributeError(0x81)
            },
          },
        ],
      },
    ],
  })
  t.equal(await ask(same, c, '08 0100 ffff efbe'), h('09 03 1000 01 1200 02'), 'stops before the encrypted one')
  t.equal(await ask(same, c, '08 1500 ffff efbe'), h('09 03 1600 04'), 'stops before another length')
  t.equal(await ask(same, c, '08 1700 ffff efbe'), h('09 04 1800 0505'), 'stops before a failing handler')
  t.equal(await ask(same, c, '08 1900 ffff efbe'), h('01 08 1a00 81'))
})

t.test('Read (3.4.4.3) and the security errors', async (t) => {
  const { db } = fixture()
  const c = connection()
  t.equal(await ask(db, c, '0a 0300'), h('0b 6863696b6974'))
  t.equal(await ask(db, c, '0a 1400'), h(`0b ${longHex(0, 22)}`), 'MTU 23: ATT_MTU - 1 octets')
  t.equal(await ask(db, connection({ mtu: 517 }), '0a 1400'), h(`0b ${longHex(0, 512)}`), 'MTU 517: all 512')
  t.equal(await ask(db, c, '0a 9900'), h('01 0a 9900 01'))
  t.equal(await ask(db, c, '0a 0000'), h('01 0a 0000 01'))
  t.equal(await ask(db, c, '0a 2700'), h('01 0a 2700 02'), 'write-only: Read Not Permitted')
  t.equal(await ask(db, c, '0a 0800'), h('01 0a 0800 02'), 'Service Changed is indicate-only')
  t.equal(await ask(db, c, '0a 2300'), h('0b 0909'))
  t.equal(await ask(db, c, '0a 2500'), h('01 0a 2500 80'))
  t.equal(await ask(db, c, '0a 0900'), h('0b 0000'), 'a CCCD')
  t.equal(await ask(db, c, '0a 0b00'), h('0b 00'), 'Client Supported Features')
  t.equal(await ask(db, c, '0a 0d00'), h(`0b ${toHex(db.hashValue())}`), 'Database Hash')
  t.equal(await ask(db, c, '0a 3100'), h('0b 4000 4200 0f18'), 'an include declaration')
  t.equal(await ask(db, c, '0a 0100'), h('0b 0018'), 'a service declaration')

  const matrix: [string, object, string][] = [
    ['0a 1900', {}, '01 0a 1900 0f'],
    ['0a 1900', { bonded: false }, '01 0a 1900 05'],
    ['0a 1900', { encrypted: true, keySize: 7 }, '0b 01'],
    ['0a 1b00', {}, '01 0a 1b00 05'],
    ['0a 1b00', { encrypted: true, keySize: 16 }, '01 0a 1b00 05'],
    ['0a 1b00', { encrypted: true, authenticated: true, keySize: 16 }, '0b 02'],
    ['0a 1d00', {}, '01 0a 1d00 0f'],
    ['0a 1d00', { encrypted: true, keySize: 7 }, '01 0a 1d00 0c'],
    ['0a 1d00', { encrypted: true, keySize: 16 }, '0b 03'],
    ['0a 1f00', {}, '01 0a 1f00 08'],
    ['0a 1f00', { authorized: true }, '0b 04'],
  ]
  for (const [req, sec, rsp] of matrix) {
    const security = { encrypted: false, authenticated: false, keySize: 0, ...sec }
    t.equal(await ask(db, connection({ security }), req), h(rsp), `${req} on ${JSON.stringify(sec)}`)
  }
  // The connection reads its security live: the link gets encrypted later.
  const live = { encrypted: false, authenticated: false, keySize: 0 }
  const c2 = connection({ security: live })
  t.equal(await ask(db, c2, '0a 1900'), h('01 0a 1900 0f'))
  live.encrypted = true
  live.keySize = 16
  t.equal(await ask(db, c2, '0a 1900'), h('0b 01'))
  t.equal(await ask(db, connection({ security: AUTHENTICATED }), '0a 1b00'), h('0b 02'))
})

t.test('handlers that fail in unexpected ways: Unlikely Error', async (t) => {
  const db = new AttributeDatabase({
    services: [
      {
        uuid: 0xfff0,
        characteristics: [
          { uuid: 1, properties: ['read'], onRead: () => Promise.reject(new Error('disk on fire')) },
          { uuid: 2, properties: ['read'], onRead: () => new Uint8Array(513) },
          { uuid: 3, properties: ['read'], onRead: () => 'text' as unknown as Uint8Array },
        ],
      },
    ],
  })
  const c = connection()
  t.equal(await ask(db, c, '0a 1000'), h('01 0a 1000 0e'))
  t.equal(await ask(db, c, '0a 1200'), h('01 0a 1200 0e'), 'a value over 512 octets')
  t.equal(await ask(db, c, '0a 1400'), h('01 0a 1400 0e'), 'not a Uint8Array')
  t.equal(c.stats.handlerErrors, 3)
})

t.test('Read Blob (3.4.4.5): long values', async (t) => {
  const { db } = fixture()
  const c = connection()
  t.equal(await ask(db, c, '0c 1400 1600'), h(`0d ${longHex(22, 44)}`))
  t.equal(await ask(db, c, '0c 1400 0002'), '0d', 'offset = length: nothing')
  t.equal(await ask(db, c, '0c 1400 0102'), h('01 0c 1400 07'), 'offset past the end: Invalid Offset')
  t.equal(await ask(db, c, '0c 1200 0000'), h('0d 68656c6c6f'))
  t.equal(await ask(db, c, '0c 1200 0100'), h('0d 656c6c6f'), 'an application value from any offset')
  t.equal(await ask(db, c, '0c 0200 0100'), h('01 0c 0200 0b'), 'a short declaration: Attribute Not Long')
  t.equal(await ask(db, c, '0c 1700 0000'), h('01 0c 1700 0b'), 'a CCCD: Attribute Not Long')
  t.equal(await ask(db, c, '0c 0200 0600'), h('01 0c 0200 07'), 'Invalid Offset comes first')
  t.equal(await ask(db, c, '0c 1200 0600'), h('01 0c 1200 07'))
  t.equal(await ask(db, c, '0c 9900 0000'), h('01 0c 9900 01'))
  t.equal(await ask(db, c, '0c 2700 0000'), h('01 0c 2700 02'))
  t.equal(await ask(db, c, '0c 1900 0000'), h('01 0c 1900 0f'))

  // The long read procedure (Part G 4.8.3) at MTU 23: Read, then Read Blob until a short part.
  const parts: Uint8Array[] = []
  let requests = 1
  let part = fromHex(await ask(db, c, '0a 1400')).subarray(1)
  parts.push(part)
  let offset = part.length
  while (part.length === c.mtu - 1) {
    requests++
    part = fromHex(await ask(db, c, h(`0c 1400 ${toHex(new Uint8Array([offset & 0xff, offset >> 8]))}`))).subarray(1)
    parts.push(part)
    offset += part.length
  }
  t.equal(toHex(Uint8Array.from(parts.flatMap((p) => [...p]))), toHex(LONG), '512 octets at MTU 23')
  t.equal(requests, 24, '1 Read and 23 Read Blobs (22 octets each, the last 6)')

  // At MTU 517 one Read holds the whole value; Read Blob still works from any offset.
  const big = connection({ mtu: 517 })
  t.equal(await ask(db, big, '0c 1400 0000'), h(`0d ${longHex(0, 512)}`))
  t.equal(await ask(db, big, '0c 1400 0100'), h(`0d ${longHex(1, 512)}`))
  t.equal(await ask(db, big, '0c 1400 ff01'), h(`0d ${longHex(511, 512)}`))
})

t.test('Read Multiple (3.4.4.7)', async (t) => {
  const { db } = fixture()
  const c = connection()
  t.equal(await ask(db, c, '0e 1200 1600'), h('0f 68656c6c6f 42'))
  t.equal(await ask(db, c, '0e 1200 1600 4200'), h('0f 68656c6c6f 42 64'))
  t.equal(await ask(db, c, '0e 1400 1200'), h(`0f ${longHex(0, 22)}`), 'cut to ATT_MTU - 1')
  t.equal(await ask(db, c, '0e 1200'), h('01 0e 1200 04'), 'one handle: Invalid PDU')
  t.equal(await ask(db, c, '0e 1200 9900'), h('01 0e 9900 01'))
  t.equal(await ask(db, c, '0e 1200 2700'), h('01 0e 2700 02'))
  t.equal(await ask(db, c, '0e 1900 1200'), h('01 0e 1900 0f'))
  t.equal(await ask(db, c, '0e 1200 16'), h('01 0e 0000 04'), 'an odd octet: Invalid PDU')
})

t.test('Read Multiple Variable (3.4.4.11)', async (t) => {
  const { db } = fixture()
  const c = connection()
  t.equal(await ask(db, c, '20 1200 1600'), h('21 0500 68656c6c6f 0100 42'))
  t.equal(
    await ask(db, c, '20 1400 1200'),
    h(`21 0002 ${longHex(0, 20)}`),
    'the first value fills the PDU; its length says 512',
  )
  t.equal(await ask(db, c, '20 1200 1400'), h(`21 0500 68656c6c6f 0002 ${longHex(0, 13)}`), 'the last value is cut')
  t.equal(await ask(db, c, '20 2300 1600'), h('21 0200 0909 0100 42'))
  t.equal(await ask(db, c, '20 1200'), h('01 20 1200 04'))
  t.equal(await ask(db, c, '20 1200 9900'), h('01 20 9900 01'))
  t.equal(await ask(db, c, '20 1b00 1200'), h('01 20 1b00 05'))
  const d = decodeAttPdu(fromHex(await ask(db, c, '20 1200 1400')))
  t.ok(
    !(d instanceof Error) && isAttPdu(d, ReadMultipleVariableResponse) && d.params.values[1]!.length === 512,
    'our decoder reads the cut tuple',
  )
})
