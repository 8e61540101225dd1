import t from 'tap'
import {
  AttributeDatabase,
  AttributeError,
  DatabaseError,
  Property,
  type Attribute,
  type DatabaseDeclaration,
  type ServiceDeclaration,
} from '../../att/database.ts'
import { requirement } from '../../att/database-build.ts'
import { GattUuid, parseUuid, shortUuid } from '../../att/uuid.ts'
import { HcikitError } from '../../hci/errors.ts'
import { toHex } from '../../hci/wire.ts'

/** "0x0003 2a00 6863696b6974" per attribute, for whole-table expectations. */
function table(db: AttributeDatabase, from = 1, to = 0xffff): string[] {
  return db
    .range(from, to)
    .map(
      (a: Attribute) =>
        `${a.handle.toString(16).padStart(4, '0')} ${shortUuid(a.type)} ${a.value === undefined ? '-' : toHex(a.value)}`,
    )
}

t.test('the mandatory GAP and GATT services come first', async (t) => {
  const db = new AttributeDatabase({ gap: { deviceName: 'hcikit', appearance: 0x03c1 } })
  // Core Vol 3 Part C 12 and Part G 7: handle, type, value (characteristic declarations:
  // properties, value handle, UUID; '-' where the server computes the value per read).
  t.strictSame(table(db), [
    '0001 2800 0018',
    '0002 2803 020300002a',
    '0003 2a00 6863696b6974',
    '0004 2803 020500012a',
    '0005 2a01 c103',
    '0006 2800 0118',
    '0007 2803 200800052a',
    '0008 2a05 -',
    '0009 2902 -',
    '000a 2803 0a0b00292b',
    '000b 2b29 -',
    '000c 2803 020d002a2b',
    '000d 2b2a -',
  ])
  t.equal(db.lastHandle, 0x0d)
  t.equal(db.gap.deviceName.valueHandle, 3)
  t.equal(db.gatt.serviceChanged.cccdHandle, 9)
  t.equal(db.gatt.databaseHash.valueHandle, 0x0d)
  t.equal(db.gatt.serverSupportedFeatures, undefined)
  const with2b3a = new AttributeDatabase({
    gatt: { serverSupportedFeatures: 0x01 },
    gap: { deviceNameWritable: 'encrypted' },
  })
  t.strictSame(table(with2b3a, 0x02, 0x02), ['0002 2803 0a0300002a'], 'a writable Device Name has read|write')
  t.equal(with2b3a.get(3)!.write!.encrypted, true)
  t.strictSame(table(with2b3a, 0x0e, 0x0f), ['000e 2803 020f003a2b', '000f 2b3a 01'])
  t.equal(with2b3a.gatt.serverSupportedFeatures!.valueHandle, 0x0f)
})

t.test('services, includes, characteristics and descriptors in order', async (t) => {
  const battery: ServiceDeclaration = {
    uuid: 0x180f,
    id: 'battery',
    primary: false,
    characteristics: [{ uuid: 0x2a19, properties: ['read', 'notify'], value: new Uint8Array([99]) }],
  }
  const db = new AttributeDatabase({
    services: [
      {
        uuid: 0x180d,
        includes: ['battery', 'nus'],
        characteristics: [
          {
            uuid: 0x2a37,
            id: 'hrm',
            properties: ['notify'],
            description: 'Heart rate',
            presentationFormat: { format: 0x06, exponent: -1, unit: 0x27ad, description: 0x0102 },
            reliableWrite: false,
            descriptors: [{ uuid: 0x2906, value: new Uint8Array([0, 200]) }],
          },
          {
            uuid: 0x2a39,
            properties: ['write'],
            reliableWrite: true,
            writableAuxiliaries: true,
            description: { value: 'cp', write: 'encrypted' },
          },
        ],
      },
      battery,
      {
        uuid: '6e400001-b5a3-f393-e0a9-e50e24dcca9e',
        id: 'nus',
        characteristics: [{ uuid: '6e400003-b5a3-f393-e0a9-e50e24dcca9e', properties: ['notify', 'indicate'] }],
      },
    ],
  })
  t.strictSame(table(db, 0x0e), [
    '000e 2800 0d18',
    '000f 2802 1b001e000f18', //            include: 0x001b..0x001e, 0x180f
    '0010 2802 1f002200', //                include of a 128-bit service: no UUID (Part G 3.2)
    '0011 2803 101200372a', //             notify, 0x0012, 0x2a37
    '0012 2a37 ',
    '0013 2901 48656172742072617465',
    '0014 2902 -',
    '0015 2904 06ffad27010201', //      uint16, exponent -1, unit 0x27ad, SIG namespace, description 0x0102
    '0016 2906 00c8',
    '0017 2803 881800392a', //               write|extended properties
    '0018 2a39 ',
    '0019 2900 0300', //                     reliable write | writable auxiliaries
    '001a 2901 6370',
    '001b 2801 0f18',
    '001c 2803 121d00192a',
    '001d 2a19 63',
    '001e 2902 -',
    '001f 2800 9ecadc240ee5a9e093f3a3b50100406e',
    '0020 2803 3021009ecadc240ee5a9e093f3a3b50300406e',
    '0021 6e400003-b5a3-f393-e0a9-e50e24dcca9e ',
    '0022 2902 -',
  ])
  const hrm = db.characteristic('hrm')
  t.equal(hrm.handle, 0x11)
  t.equal(hrm.valueHandle, 0x12)
  t.equal(hrm.cccdHandle, 0x14)
  t.equal(hrm.properties, Property.notify)
  t.strictSame(
    hrm.descriptors.map((d) => [d.handle, shortUuid(d.uuid)]),
    [
      [0x13, '2901'],
      [0x14, '2902'],
      [0x15, '2904'],
      [0x16, '2906'],
    ],
  )
  t.equal(db.service('battery').endHandle, 0x1e)
  t.equal(db.service('nus').includes.length, 0)
  t.strictSame(
    db.service(0x180d).includes.map((s) => s.handle),
    [0x1b, 0x1f],
  )
  t.equal(db.get(0x0e)!.groupEnd, 0x1a)
  t.equal(db.get(0x1a)!.write!.encrypted, true, 'the writable User Description has its own security')
  t.equal(db.get(0x13)!.write, null, 'without writable auxiliaries the description is read-only')
  t.equal(db.characteristic(0x2a39).valueHandle, 0x18, 'by UUID')
  t.equal(db.characteristicAt(0x1d).uuid, parseUuid(0x2a19), 'by any handle of it')
  t.throws(() => db.characteristicAt(0x0e), /not part of a characteristic/)
  t.throws(() => db.characteristic('nope'), DatabaseError)
  t.throws(() => db.service('nope'), DatabaseError)
})

t.test('fixed handles', async (t) => {
  const db = new AttributeDatabase({
    gap: { handle: 0x0100 },
    gatt: { handle: 0x0200 },
    services: [
      {
        uuid: 0xfff0,
        handle: 0x0300,
        characteristics: [
          {
            uuid: 0xfff1,
            handle: 0x0310,
            properties: ['read', 'notify'],
            cccd: { handle: 0x0320 },
            descriptors: [{ uuid: 0x2901, value: 'x', handle: 0x0330 }],
          },
        ],
      },
    ],
  })
  t.equal(db.gap.service.handle, 0x0100)
  t.equal(db.gatt.service.handle, 0x0200)
  t.equal(db.gatt.serviceChanged.handle, 0x0201)
  const c = db.characteristic(0xfff1)
  t.strictSame([c.handle, c.valueHandle, c.cccdHandle, c.descriptors[1]!.handle], [0x0310, 0x0311, 0x0320, 0x0330])
  t.equal(db.service(0xfff0).endHandle, 0x0330)
  t.strictSame(
    db.range(0x0300, 0x0400).map((a) => a.handle),
    [0x0300, 0x0310, 0x0311, 0x0320, 0x0330],
  )
  t.equal(db.range(0x0301, 0x030f).length, 0)
})

t.test('permissions from properties and options', async (t) => {
  const db = new AttributeDatabase({
    services: [
      {
        uuid: 0xfff0,
        characteristics: [
          { uuid: 0xfff1, properties: ['read'] },
          { uuid: 0xfff2, properties: ['writeWithoutResponse'], permissions: { write: 'authenticated' } },
          {
            uuid: 0xfff3,
            properties: ['read', 'write', 'authenticatedSignedWrites'],
            permissions: { read: { keySize: 16, authorized: true } },
          },
          { uuid: 0xfff4, properties: ['indicate'] },
        ],
      },
    ],
  })
  const v = (u: number): Attribute => db.get(db.characteristic(u).valueHandle)!
  t.strictSame(v(0xfff1).read, { encrypted: false, authenticated: false, authorized: false, keySize: 0 })
  t.equal(v(0xfff1).write, null)
  t.equal(v(0xfff2).read, null)
  t.strictSame(v(0xfff2).write, { encrypted: true, authenticated: true, authorized: false, keySize: 0 })
  t.strictSame([v(0xfff2).writeRequest, v(0xfff2).writeCommand, v(0xfff2).signedWrite], [false, true, false])
  t.strictSame(v(0xfff3).read, { encrypted: true, authenticated: false, authorized: true, keySize: 16 })
  t.strictSame([v(0xfff3).writeRequest, v(0xfff3).writeCommand, v(0xfff3).signedWrite], [true, false, true])
  t.strictSame([v(0xfff4).read, v(0xfff4).write], [null, null], 'indicate only: neither read nor write')
  t.strictSame(requirement('encrypted', 'x'), { encrypted: true, authenticated: false, authorized: false, keySize: 0 })
  t.throws(() => requirement({ keySize: 6 }, 'x'), DatabaseError)
  t.throws(() => requirement('secret' as 'open', 'x'), DatabaseError)
})

t.test('invalid databases are rejected with a DatabaseError naming the declaration', async (t) => {
  const svc = (characteristics: unknown[], more: object = {}): DatabaseDeclaration => ({
    services: [{ uuid: 0xfff0, characteristics, ...more } as ServiceDeclaration],
  })
  const cases: [string, DatabaseDeclaration, RegExp][] = [
    ['bad service UUID', { services: [{ uuid: 'xyz' }] }, /^services\[0\]\.uuid: "xyz" is not a UUID/],
    [
      'bad characteristic UUID',
      svc([{ uuid: '12345', properties: ['read'] }]),
      /^services\[0\]\.characteristics\[0\]\.uuid: /,
    ],
    ['unknown property', svc([{ uuid: 1, properties: ['reed'] }]), /unknown property "reed"/],
    ['properties not a list', svc([{ uuid: 1, properties: 'read' }]), /a list of property names/],
    [
      'duplicate handle',
      {
        services: [
          { uuid: 0xfff0, handle: 0x20 },
          { uuid: 0xfff1, handle: 0x20 },
        ],
      },
      /^services\[1\]: handle 0x0020 is already used by services\[0\]/,
    ],
    [
      'non-increasing handles',
      {
        services: [
          { uuid: 0xfff0, handle: 0x30 },
          { uuid: 0xfff1, handle: 0x20 },
        ],
      },
      /^services\[1\]: handle 0x0020 comes after 0x0030: handles must increase/,
    ],
    [
      'a characteristic handle inside the GATT service',
      svc([{ uuid: 1, properties: ['read'], handle: 0x05 }]),
      /handle 0x0005 is already used by gap/,
    ],
    ['handle 0', { services: [{ uuid: 0xfff0, handle: 0 }] }, /handle 0 is not in 0x0001..0xFFFF/],
    ['handle too big', { services: [{ uuid: 0xfff0, handle: 0x10000 }] }, /not in 0x0001..0xFFFF/],
    [
      'out of handles',
      { services: [{ uuid: 0xfff0, handle: 0xfffe, characteristics: [{ uuid: 1, properties: ['read'] }] }] },
      /\(value\): no handles left/,
    ],
    ['declared GAP service', { services: [{ uuid: 0x1800 }] }, /the GAP \(0x1800\) service is added automatically/],
    [
      'declared GATT service',
      { services: [{ uuid: '00001801-0000-1000-8000-00805f9b34fb' }] },
      /the GATT \(0x1801\) service is added automatically/,
    ],
    [
      'CCCD without notify/indicate',
      svc([{ uuid: 1, properties: ['read'], descriptors: [{ uuid: 0x2902 }] }]),
      /descriptors\[0\]: a Client Characteristic Configuration descriptor on a characteristic that neither notifies nor indicates/,
    ],
    [
      'cccd options without notify/indicate',
      svc([{ uuid: 1, properties: ['read'], cccd: { write: 'encrypted' } }]),
      /\.cccd: CCCD options/,
    ],
    [
      'a value for the CCCD',
      svc([{ uuid: 1, properties: ['notify'], descriptors: [{ uuid: 0x2902, value: new Uint8Array(2) }] }]),
      /the server owns the value of this descriptor \(per connection\)/,
    ],
    [
      'a value for Extended Properties',
      svc([{ uuid: 1, properties: ['read'], descriptors: [{ uuid: 0x2900, value: new Uint8Array(2) }] }]),
      /the server owns the value/,
    ],
    [
      'two User Descriptions',
      svc([{ uuid: 1, properties: ['read'], descriptors: [{ uuid: 0x2901 }, { uuid: 0x2901 }] }]),
      /descriptors\[1\]: a characteristic has at most one 0x2901 descriptor/,
    ],
    [
      'description twice',
      svc([{ uuid: 1, properties: ['read'], description: 'a', descriptors: [{ uuid: 0x2901 }] }]),
      /\.description: the User Description is also declared/,
    ],
    [
      'a declaration type as descriptor',
      svc([{ uuid: 1, properties: ['read'], descriptors: [{ uuid: 0x2803 }] }]),
      /0x2803 is a declaration type/,
    ],
    [
      'static value over 512',
      svc([{ uuid: 1, properties: ['read'], value: new Uint8Array(513) }]),
      /characteristics\[0\]: static value of 513 octets is longer than 512 \(the longest attribute value\)/,
    ],
    [
      'descriptor value over 512',
      svc([{ uuid: 1, properties: ['read'], descriptors: [{ uuid: 0x2999, value: new Uint8Array(600) }] }]),
      /static value of 600 octets/,
    ],
    [
      'static value over maxLength',
      svc([{ uuid: 1, properties: ['read'], value: 'abcd', maxLength: 3 }]),
      /longer than 3 \(its maxLength\)/,
    ],
    ['maxLength over 512', svc([{ uuid: 1, properties: ['write'], maxLength: 1000 }]), /maxLength 1000/],
    [
      'value and onRead',
      svc([{ uuid: 1, properties: ['read'], value: 'x', onRead: () => new Uint8Array(0) }]),
      /give a static value or an onRead handler, not both/,
    ],
    [
      'onRead without onWrite on a writable characteristic',
      svc([{ uuid: 1, properties: ['read', 'write'], onRead: () => new Uint8Array(0) }]),
      /needs an onWrite handler/,
    ],
    [
      'read permissions without read',
      svc([{ uuid: 1, properties: ['write'], permissions: { read: 'encrypted' } }]),
      /permissions\.read: read permissions, but the characteristic has no "read" property/,
    ],
    [
      'write permissions without write',
      svc([{ uuid: 1, properties: ['read'], permissions: { write: 'open' } }]),
      /no write property/,
    ],
    [
      'onWrite without a write property',
      svc([{ uuid: 1, properties: ['read'], onWrite: () => undefined }]),
      /\.onWrite: an onWrite handler, but the characteristic has no write property/,
    ],
    [
      'writable auxiliaries without description',
      svc([{ uuid: 1, properties: ['read'], writableAuxiliaries: true }]),
      /writable auxiliaries without a User Description/,
    ],
    [
      'writable User Description without writable auxiliaries',
      svc([
        { uuid: 1, properties: ['read'], descriptors: [{ uuid: 0x2901, value: 'x', permissions: { write: 'open' } }] },
      ]),
      /needs writableAuxiliaries/,
    ],
    [
      'include of an unknown id',
      { services: [{ uuid: 0xfff0, includes: ['nope'] }] },
      /^services\[0\]\.includes\[0\]: no service has id "nope"/,
    ],
    [
      'include of a service not in the database',
      { services: [{ uuid: 0xfff0, includes: [{ uuid: 0xfff1 }] }] },
      /the included service is not part of this database/,
    ],
    [
      'include of itself',
      { services: [{ uuid: 0xfff0, id: 'me', includes: ['me'] }] },
      /a service cannot include itself/,
    ],
    [
      'duplicate service id',
      {
        services: [
          { uuid: 0xfff0, id: 'a' },
          { uuid: 0xfff1, id: 'a' },
        ],
      },
      /^services\[1\]\.id: another service has id "a"/,
    ],
    [
      'duplicate characteristic id',
      svc([
        { uuid: 1, id: 'c', properties: ['read'] },
        { uuid: 2, id: 'c', properties: ['read'] },
      ]),
      /another characteristic has id "c"/,
    ],
    [
      'Device Name too long',
      { gap: { deviceName: 'x'.repeat(249) } },
      /^gap\.deviceName: 249 octets; a Device Name has at most 248/,
    ],
    ['bad appearance', { gap: { appearance: 0x10000 } }, /^gap\.appearance/],
    [
      'bad presentation format',
      svc([{ uuid: 1, properties: ['read'], presentationFormat: { format: 4, unit: 0x27ad, exponent: 200 } }]),
      /presentationFormat\.exponent: 200/,
    ],
    ['bad key size', svc([{ uuid: 1, properties: ['read'], permissions: { read: { keySize: 17 } } }]), /keySize 17/],
  ]
  for (const [what, decl, message] of cases) {
    const e = t.throws(() => new AttributeDatabase(decl), what) as unknown
    t.ok(e instanceof DatabaseError && e instanceof HcikitError, `${what}: a DatabaseError`)
    t.equal((e as DatabaseError).code, 'GATT_INVALID_DATABASE', `${what}: code`)
    t.match((e as Error).message, message, what)
  }
})

t.test('setValue changes static values only', async (t) => {
  const db = new AttributeDatabase({
    services: [
      {
        uuid: 0xfff0,
        characteristics: [
          { uuid: 1, properties: ['read'], value: 'a', maxLength: 4 },
          { uuid: 2, properties: ['read'], onRead: () => new Uint8Array(0) },
        ],
      },
    ],
  })
  const c = db.characteristic(1)
  db.setValue(c, 'abcd')
  t.equal(toHex(db.get(c.valueHandle)!.value!), '61626364')
  t.throws(() => db.setValue(c, 'abcde'), /5 octets exceed its maximum length 4/)
  t.throws(() => db.setValue(db.characteristic(2), 'x'), /from a handler/)
  t.throws(() => db.setValue(c.handle, 'x'), /a characteristic declaration cannot be changed/)
  t.throws(() => db.setValue(0x999, 'x'), /no such attribute/)
  t.throws(() => db.setValue(db.gatt.databaseHash, 'x'), /from a handler or the server/)
})

t.test('adding and removing services', async (t) => {
  const db = new AttributeDatabase({
    services: [{ uuid: 0xfff0, id: 'a', characteristics: [{ uuid: 1, id: 'one', properties: ['read'] }] }],
  })
  const changes: [number, number][] = []
  const off = db.onChange((c) => changes.push([c.start, c.end]))
  t.equal(db.lastHandle, 0x10)
  const b = db.addService({ uuid: 0xfff1, includes: ['a'], characteristics: [{ uuid: 2, properties: ['notify'] }] })
  t.strictSame([b.handle, b.endHandle], [0x11, 0x15])
  t.strictSame(changes, [[0x11, 0x15]])
  t.equal(toHex(db.get(0x12)!.value!), '0e001000f0ff', 'the include points at the existing service')
  const c = db.addService({ uuid: 0xfff2, handle: 0x40 })
  t.strictSame([c.handle, c.endHandle], [0x40, 0x40])
  t.throws(() => db.addService({ uuid: 0xfff3, handle: 0x15 }), /already used/)
  t.throws(
    () =>
      db.addService({
        uuid: 0xfff3,
        handle: 0x30,
        characteristics: [
          { uuid: 3, properties: ['read'], handle: 0x3f },
          { uuid: 4, properties: ['read'] },
        ],
      }),
    /already used|overlap/,
  )
  t.throws(
    () => db.addService({ uuid: 0xfff3, characteristics: [{ uuid: 3, id: 'one', properties: ['read'] }] }),
    /another characteristic has id "one"/,
  )
  t.throws(() => db.removeService(db.service('a')), /included by the service at 0x11/)
  t.throws(() => db.removeService(db.gap.service), /mandatory/)
  db.removeService(b)
  t.strictSame(changes.at(-1), [0x11, 0x15])
  t.throws(() => db.removeService(b), /not in this database/)
  // The hole can be filled by a service with a fixed handle.
  const d = db.addService({ uuid: 0xfff4, handle: 0x11 })
  t.equal(d.handle, 0x11)
  t.strictSame(
    db.attributes.map((a) => a.handle).filter((h) => h >= 0x0e),
    [0x0e, 0x0f, 0x10, 0x11, 0x40],
  )
  off()
  db.removeService(c)
  t.equal(changes.length, 4, 'no events after unsubscribing')
})

t.test('AttributeError carries an ATT error code', async (t) => {
  const e = new AttributeError(0x80)
  t.equal(e.status, 0x80)
  t.equal(e.protocol, 'att')
  t.equal(e.message, 'Application Error (0x80)')
  t.equal(new AttributeError(0x13, 'no').statusName, 'Value Not Allowed (0x13)')
  t.throws(() => new AttributeError(0), RangeError)
  t.equal(GattUuid.DatabaseHash, parseUuid(0x2b2a))
})
