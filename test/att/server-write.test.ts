import t from 'tap'
import { AttributeDatabase, AttributeError } from '../../att/database.ts'
import { toHex } from '../../hci/wire.ts'
import { ask, connection, fixture, h, longHex, AUTHENTICATED } from './server-fixture.ts'

// Expected bytes are written from Core v5.4 Vol 3 Part F 3.4.5-3.4.6 and the fixture's table.
const le16 = (n: number): string => toHex(new Uint8Array([n & 0xff, n >> 8]))

t.test('Write Request (3.4.5.1)', async (t) => {
  const { db, writes } = fixture()
  const c = connection()
  t.equal(await ask(db, c, '12 1200 686579'), '13')
  t.equal(await ask(db, c, '0a 1200'), h('0b 686579'), 'the new value replaces the old')
  t.equal(await ask(db, c, '12 1200'), '13', 'an empty value')
  t.equal(await ask(db, c, '0a 1200'), '0b')
  t.equal(await ask(db, c, '12 0300 78'), h('01 12 0300 03'), 'read-only Device Name: Write Not Permitted')
  t.equal(await ask(db, c, '12 1100 00'), h('01 12 1100 03'), 'a declaration')
  t.equal(await ask(db, c, '12 0d00 00'), h('01 12 0d00 03'), 'the Database Hash')
  t.equal(await ask(db, c, '12 2100 00'), h('01 12 2100 03'), 'write without response only: no Write Request')
  t.equal(await ask(db, c, '12 9900 00'), h('01 12 9900 01'))
  t.equal(await ask(db, c, '12 0000 00'), h('01 12 0000 01'))
  t.equal(await ask(db, c, '12 1b00 05'), h('01 12 1b00 05'), 'needs authentication')
  t.equal(await ask(db, connection({ security: AUTHENTICATED }), '12 1b00 05'), '13')
  t.equal(
    await ask(db, connection({ mtu: 517 }), `12 1400 ${'00'.repeat(513)}`),
    h('01 12 1400 0d'),
    '513 octets: Invalid Attribute Value Length',
  )
  t.equal(await ask(db, connection({ mtu: 517 }), `12 1400 ${'ab'.repeat(512)}`), '13', '512 octets')
  t.equal(await ask(db, c, '12 2500 01'), h('01 12 2500 0e'), 'a handler that throws: Unlikely Error')
  t.equal(c.stats.handlerErrors, 1)
  t.equal(await ask(db, c, '12 2700 0102'), '13', 'to a handler')
  t.strictSame(writes, [{ handle: 0x27, value: '0102', opts: { offset: 0, withoutResponse: false } }])

  const capped = new AttributeDatabase({
    services: [
      {
        uuid: 0xfff0,
        characteristics: [
          { uuid: 1, properties: ['read', 'write'], maxLength: 4, value: 'ab' },
          {
            uuid: 2,
            properties: ['write'],
            onWrite: (_c, v) => {
              if (v[0] !== 1) throw new AttributeError(0xfc)
            },
          },
        ],
      },
    ],
  })
  t.equal(await ask(capped, c, '12 1000 0102030405'), h('01 12 1000 0d'), 'over maxLength')
  t.equal(await ask(capped, c, '12 1000 01020304'), '13')
  t.equal(await ask(capped, c, '12 1200 02'), h('01 12 1200 fc'), 'a handler refusing with a profile error code')
  t.equal(await ask(capped, c, '12 1200 01'), '13')
})

t.test('Client Characteristic Configuration per connection (Part G 3.3.3.3)', async (t) => {
  const { db } = fixture()
  const a = connection()
  const b = connection()
  t.equal(await ask(db, a, '12 1700 0100'), '13')
  t.equal(await ask(db, a, '0a 1700'), h('0b 0100'))
  t.equal(await ask(db, b, '0a 1700'), h('0b 0000'), 'the other connection has its own')
  t.equal(await ask(db, a, '12 1700 0300'), '13', 'notifications and indications')
  t.equal(a.cccdValue(0x17), 3)
  t.equal(
    await ask(db, a, '12 2a00 0200'),
    h('01 12 2a00 13'),
    'indications on a notify-only characteristic: Value Not Allowed',
  )
  t.equal(await ask(db, a, '12 1700 0400'), h('01 12 1700 13'), 'a reserved bit')
  t.equal(await ask(db, a, '12 1700 01'), h('01 12 1700 0d'), 'one octet')
  t.equal(await ask(db, a, '12 1700 010000'), h('01 12 1700 0d'), 'three octets')
  t.equal(await ask(db, a, '12 1700 0000'), '13')
  t.equal(a.cccd.has(0x17), false, 'cleared')
  t.equal(await ask(db, b, '12 0900 0200'), '13', 'Service Changed indications')
  t.equal(await ask(db, b, '12 0900 0100'), h('01 12 0900 13'), 'Service Changed does not notify')
  t.equal(db.get(0x17)!.value, undefined, 'nothing stored in the database')
})

t.test('Client Supported Features (Part G 7.2)', async (t) => {
  const { db } = fixture()
  const c = connection()
  t.equal(await ask(db, c, '12 0b00 01'), '13', 'robust caching')
  t.equal(await ask(db, c, '0a 0b00'), h('0b 01'))
  t.ok(c.robustCaching)
  t.equal(await ask(db, c, '12 0b00 00'), h('01 12 0b00 13'), 'a client may not clear a bit: Value Not Allowed')
  t.equal(await ask(db, c, '12 0b00'), h('01 12 0b00 0d'))
  t.equal(await ask(db, c, '12 0b00 ff'), '13', 'more bits')
  t.equal(await ask(db, c, '0a 0b00'), h('0b 07'), 'bits this version does not define are not kept')
  t.equal(await ask(db, connection(), '0a 0b00'), h('0b 00'), 'per connection')
})

t.test('Write Command (3.4.5.3) and Signed Write Command (3.4.5.4): never answered', async (t) => {
  const { db } = fixture()
  const c = connection()
  t.equal(await ask(db, c, '52 2100 0102'), 'none')
  t.equal(toHex(db.get(0x21)!.value!), '0102')
  t.equal(await ask(db, c, '52 1200 01'), 'none', 'no Write Without Response property: ignored')
  t.equal(await ask(db, c, '0a 1200'), h('0b 68656c6c6f'))
  t.equal(await ask(db, c, '52 9900 01'), 'none')
  t.equal(await ask(db, c, '52 2500 01'), 'none')
  t.equal(c.stats.ignoredCommands, 3)
  t.equal(await ask(db, c, '52 21'), 'none', 'a command that does not decode')

  const sig = '010000001122334455667788' // SignCounter 1, then an 8-octet MAC
  t.equal(await ask(db, c, `d2 2100 09 ${sig}`), 'none', 'no signature verifier: ignored')
  t.equal(toHex(db.get(0x21)!.value!), '0102')
  const seen: string[] = []
  const verifying = connection({
    verifySignedWrite: (m, s) => {
      seen.push(`${toHex(m)}/${toHex(s)}`)
      return toHex(s) === sig
    },
  })
  t.equal(await ask(db, verifying, `d2 2100 09 ${sig}`), 'none')
  t.equal(toHex(db.get(0x21)!.value!), '09', 'a good signature: written')
  t.strictSame(seen, [`d2210009/${sig}`], 'the verifier sees opcode, handle and value, then the signature')
  t.equal(await ask(db, verifying, `d2 2100 0a ${'00'.repeat(12)}`), 'none')
  t.equal(toHex(db.get(0x21)!.value!), '09', 'a bad signature: ignored')
  t.equal(await ask(db, verifying, `d2 1200 0a ${sig}`), 'none')
  t.equal(await ask(db, verifying, '0a 1200'), h('0b 68656c6c6f'), 'no signed-write property: ignored')
})

t.test('Prepare Write and Execute Write (3.4.6)', async (t) => {
  const { db, writes } = fixture()
  const c = connection()
  t.equal(await ask(db, c, '16 1200 0000 6162'), h('17 1200 0000 6162'), 'the response echoes the request')
  t.equal(await ask(db, c, '16 1200 0200 6364'), h('17 1200 0200 6364'))
  t.equal(await ask(db, c, '0a 1200'), h('0b 68656c6c6f'), 'nothing written before Execute')
  t.equal(await ask(db, c, '18 01'), '19')
  t.equal(await ask(db, c, '0a 1200'), h('0b 61626364'))
  t.equal(c.prepareQueue.length, 0)
  t.equal(await ask(db, c, '18 01'), '19', 'an empty queue')

  // Cancel.
  t.equal(await ask(db, c, '16 1200 0000 78'), h('17 1200 0000 78'))
  t.equal(await ask(db, c, '18 00'), '19')
  t.equal(await ask(db, c, '0a 1200'), h('0b 61626364'))
  t.equal(c.prepareQueue.length, 0)
  t.equal(await ask(db, c, '18 02'), h('01 18 0000 04'), 'flags other than 0 and 1: Invalid PDU')

  // Checked when prepared: handle, permission, security.
  t.equal(await ask(db, c, '16 0300 0000 78'), h('01 16 0300 03'))
  t.equal(await ask(db, c, '16 9900 0000 78'), h('01 16 9900 01'))
  t.equal(await ask(db, c, '16 1b00 0000 78'), h('01 16 1b00 05'))
  t.equal(await ask(db, c, '16 2100 0000 78'), h('01 16 2100 03'), 'write without response only')
  t.equal(c.prepareQueue.length, 0)

  // Checked when executed: offsets and lengths, all before anything is written.
  t.equal(await ask(db, c, '16 1200 0a00 78'), h('17 1200 0a00 78'), 'offset 10 of a 4-octet value is queued')
  t.equal(await ask(db, c, '18 01'), h('01 18 1200 07'), 'and refused at Execute: Invalid Offset')
  t.equal(c.prepareQueue.length, 0, 'the queue is emptied')
  t.equal(await ask(db, c, '16 1200 0000 7a7a'), h('17 1200 0000 7a7a'))
  t.equal(await ask(db, c, '16 1400 0002 01'), h('17 1400 0002 01'), 'one octet past 512')
  t.equal(await ask(db, c, '18 01'), h('01 18 1400 0d'), 'Invalid Attribute Value Length')
  t.equal(await ask(db, c, '0a 1200'), h('0b 61626364'), 'the valid part was not written either')
  t.equal(await ask(db, c, '16 1200 0000 61'), h('17 1200 0000 61'))
  t.equal(await ask(db, c, '16 1200 0300 62'), h('17 1200 0300 62'))
  t.equal(await ask(db, c, '18 01'), h('01 18 1200 07'), 'a gap after the first part')

  // A reliable write of two characteristics.
  t.equal(await ask(db, c, '16 1200 0000 4f4b'), h('17 1200 0000 4f4b'))
  t.equal(await ask(db, c, '16 2700 0000 0102'), h('17 2700 0000 0102'))
  t.equal(await ask(db, c, '16 2700 0200 0304'), h('17 2700 0200 0304'))
  t.equal(await ask(db, c, '18 01'), '19')
  t.equal(await ask(db, c, '0a 1200'), h('0b 4f4b'))
  t.strictSame(
    writes,
    [{ handle: 0x27, value: '01020304', opts: { offset: 0, withoutResponse: false, prepared: true } }],
    'contiguous parts reach the handler as one value',
  )

  // A CCCD through the queue.
  t.equal(await ask(db, c, '16 1700 0000 0200'), h('17 1700 0000 0200'))
  t.equal(await ask(db, c, '18 01'), '19')
  t.equal(c.cccdValue(0x17), 2)
  t.equal(await ask(db, c, '16 1700 0100 02'), h('17 1700 0100 02'))
  t.equal(await ask(db, c, '18 01'), h('01 18 1700 07'))
  t.equal(await ask(db, c, '16 2500 0000 01'), h('17 2500 0000 01'))
  t.equal(await ask(db, c, '18 01'), h('01 18 2500 0e'), 'a failing handler at Execute')
})

t.test('a long write: 512 octets at MTU 23 (Part G 4.9.4)', async (t) => {
  const { db } = fixture()
  const c = connection()
  const value = Uint8Array.from({ length: 512 }, (_, i) => 255 - (i & 0xff))
  for (let off = 0; off < 512; off += 18) {
    const part = toHex(value.subarray(off, off + 18))
    t.equal(await ask(db, c, `16 1400 ${le16(off)} ${part}`), h(`17 1400 ${le16(off)} ${part}`), `part at ${off}`)
  }
  t.equal(c.prepareQueue.length, 29)
  t.equal(await ask(db, c, '18 01'), '19')
  t.equal(toHex(db.get(0x14)!.value!), toHex(value))
  t.equal(await ask(db, c, '0a 1400'), h(`0b ${toHex(value.subarray(0, 22))}`))
})

t.test('the prepare queue is bounded: Prepare Queue Full', async (t) => {
  const { db } = fixture()
  const c = connection({ prepareQueueLimit: 2, prepareQueueBytes: 6 })
  t.equal(await ask(db, c, '16 1400 0000 0102'), h('17 1400 0000 0102'))
  t.equal(await ask(db, c, '16 1400 0200 0304'), h('17 1400 0200 0304'))
  t.equal(await ask(db, c, '16 1400 0400 05'), h('01 16 1400 09'), 'by entries')
  t.equal(await ask(db, c, '18 01'), '19')
  t.equal(await ask(db, c, '16 1400 0000 01020304'), h('17 1400 0000 01020304'))
  t.equal(await ask(db, c, '16 1400 0400 050607'), h('01 16 1400 09'), 'by octets')
  t.equal(await ask(db, c, '18 00'), '19')
  t.equal(c.preparedBytes, 0)
  t.equal(longHex(0, 1), '00')
})
