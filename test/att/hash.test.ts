import t from 'tap'
import { databaseHash, databaseHashInput, databaseHashValue, hashRole } from '../../att/hash.ts'
import { AttributeDatabase, type DatabaseDeclaration, type ServiceDeclaration } from '../../att/database.ts'
import { handleRequest, ServerConnection } from '../../att/server.ts'
import { parseUuid } from '../../att/uuid.ts'
import { fromHex, toHex } from '../../hci/wire.ts'

/*
 * Core v5.4 Vol 3 Part G Appendix B ("Example database hash"): the example database, the message
 * it hashes (written here attribute by attribute: handle, type, and the value where 7.3.1 says
 * the value counts) and the published hash F1CA2D48 ECF58BAC 8A8830BB B9FBA990.
 */
const EXAMPLE_M = [
  '0100 0028 0018', //                 0x0001 Primary Service: GAP
  '0200 0328 0a 0300 002a', //         0x0002 Characteristic: read|write, 0x0003, Device Name
  '0400 0328 02 0500 012a', //         0x0004 Characteristic: read, 0x0005, Appearance
  '0600 0028 0118', //                 0x0006 Primary Service: GATT
  '0700 0328 20 0800 052a', //         0x0007 Characteristic: indicate, 0x0008, Service Changed
  '0900 0229', //                      0x0009 Client Characteristic Configuration
  '0a00 0328 0a 0b00 292b', //         0x000A Characteristic: read|write, 0x000B, Client Supported Features
  '0c00 0328 02 0d00 2a2b', //         0x000C Characteristic: read, 0x000D, Database Hash
  '0e00 0028 0818', //                 0x000E Primary Service: Glucose
  '0f00 0228 1400 1600 0f18', //       0x000F Include: 0x0014..0x0016, Battery Service
  '1000 0328 a2 1100 182a', //         0x0010 Characteristic: read|indicate|extended, 0x0011, Glucose Measurement
  '1200 0229', //                      0x0012 Client Characteristic Configuration
  '1300 0029 0000', //                 0x0013 Characteristic Extended Properties: 0x0000
  '1400 0128 0f18', //                 0x0014 Secondary Service: Battery
  '1500 0328 02 1600 192a', //         0x0015 Characteristic: read, 0x0016, Battery Level
]
  .join('')
  .replace(/ /g, '')
const EXAMPLE_HASH = 'f1ca2d48ecf58bac8a8830bbb9fba990'

/** The example database as a declaration of ours. */
function example(): DatabaseDeclaration {
  const battery: ServiceDeclaration = {
    uuid: 0x180f,
    primary: false,
    characteristics: [{ uuid: 0x2a19, properties: ['read'], value: new Uint8Array([100]) }],
  }
  return {
    gap: { deviceName: 'Example', deviceNameWritable: true },
    services: [
      {
        uuid: 0x1808,
        includes: [battery],
        characteristics: [
          {
            uuid: 0x2a18,
            properties: ['read', 'indicate', 'extendedProperties'],
            value: new Uint8Array(10),
            descriptors: [{ uuid: 0x2902 }, { uuid: 0x2900 }],
          },
        ],
      },
      battery,
    ],
  }
}

t.test('Appendix B: the message and the hash of the example database', async (t) => {
  const db = new AttributeDatabase(example())
  t.equal(toHex(databaseHashInput(db.attributes)), EXAMPLE_M, 'the message m, attribute by attribute')
  t.equal(toHex(db.hash()), EXAMPLE_HASH, 'the published Database Hash')
  t.equal(toHex(databaseHash(db.attributes)), EXAMPLE_HASH)
})

t.test('the hash of the published message alone (independent of our database builder)', async (t) => {
  // The attributes as a plain list, including ones the hash must skip (values, other descriptors).
  const rows: [number, number, string?][] = [
    [0x01, 0x2800, '0018'],
    [0x02, 0x2803, '0a0300002a'],
    [0x03, 0x2a00, '4578616d706c65'],
    [0x04, 0x2803, '020500012a'],
    [0x05, 0x2a01, '0000'],
    [0x06, 0x2800, '0118'],
    [0x07, 0x2803, '200800052a'],
    [0x08, 0x2a05],
    [0x09, 0x2902],
    [0x0a, 0x2803, '0a0b00292b'],
    [0x0b, 0x2b29, '00'],
    [0x0c, 0x2803, '020d002a2b'],
    [0x0d, 0x2b2a, '00112233445566778899aabbccddeeff'],
    [0x0e, 0x2800, '0818'],
    [0x0f, 0x2802, '140016000f18'],
    [0x10, 0x2803, 'a21100182a'],
    [0x11, 0x2a18, 'ffff'],
    [0x12, 0x2902],
    [0x13, 0x2900, '0000'],
    [0x14, 0x2801, '0f18'],
    [0x15, 0x2803, '021600192a'],
    [0x16, 0x2a19, '64'],
  ]
  const attrs = rows.map(([handle, type, value]) => ({
    handle,
    type: parseUuid(type),
    value: value === undefined ? undefined : fromHex(value),
  }))
  t.equal(toHex(databaseHashInput(attrs)), EXAMPLE_M)
  t.equal(toHex(databaseHash(attrs)), EXAMPLE_HASH)
})

t.test('which attributes count, and how', async (t) => {
  for (const ty of [0x2800, 0x2801, 0x2802, 0x2803, 0x2900]) t.equal(hashRole(parseUuid(ty)), 'value', ty.toString(16))
  for (const ty of [0x2901, 0x2902, 0x2903, 0x2904, 0x2905]) t.equal(hashRole(parseUuid(ty)), 'type', ty.toString(16))
  for (const ty of [0x2906, 0x2a00, 0x2b2a, 0x1800]) t.equal(hashRole(parseUuid(ty)), undefined, ty.toString(16))
  t.equal(hashRole('6e400001-b5a3-f393-e0a9-e50e24dcca9e'), undefined)
  // 0x2905 takes part by handle and type; a 0x2906 descriptor does not.
  const m = databaseHashInput([
    { handle: 1, type: parseUuid(0x2905), value: fromHex('0102') },
    { handle: 2, type: parseUuid(0x2906), value: fromHex('0102') },
  ])
  t.equal(toHex(m), '01000529')
  t.throws(
    () =>
      databaseHashInput([
        { handle: 2, type: parseUuid(0x2800), value: fromHex('0018') },
        { handle: 2, type: parseUuid(0x2800), value: fromHex('0018') },
      ]),
    RangeError,
  )
  t.throws(
    () => databaseHashInput([{ handle: 1, type: parseUuid(0x2800) }]),
    RangeError,
    'a declaration needs its value',
  )
})

t.test('the characteristic value is the hash as a little-endian uint128', async (t) => {
  t.equal(toHex(databaseHashValue(fromHex(EXAMPLE_HASH))), '90a9fbb9bb30888aac8bf5ec482dcaf1')
  t.throws(() => databaseHashValue(new Uint8Array(15)), RangeError)
  // What a client reads: Read By Type for 0x2B2A over the whole range (Part G 7.3).
  const db = new AttributeDatabase(example())
  const rsp = await handleRequest(db, new ServerConnection(), fromHex('080100ffff2a2b'))
  t.equal(toHex(rsp!), '09120d00' + '90a9fbb9bb30888aac8bf5ec482dcaf1')
})

t.test('the hash changes exactly when the database changes', async (t) => {
  const base = toHex(new AttributeDatabase(example()).hash())
  t.equal(toHex(new AttributeDatabase(example()).hash()), base, 'the same declaration gives the same hash')

  const db = new AttributeDatabase(example())
  const conn = new ServerConnection()
  // Values change, the structure does not.
  db.setValue(db.characteristic(0x2a19), new Uint8Array([42]))
  t.equal(toHex(db.hash()), base, 'a new static value')
  t.equal(
    toHex((await handleRequest(db, conn, fromHex('1203004e6577206e616d65')))!),
    '13',
    'a client writes the Device Name',
  )
  t.equal(
    toHex((await handleRequest(db, conn, fromHex('1209000200')))!),
    '13',
    'a client writes the Service Changed CCCD',
  )
  t.equal(
    toHex((await handleRequest(db, conn, fromHex('120b0001')))!),
    '13',
    'a client writes Client Supported Features',
  )
  t.equal(toHex(db.hash()), base, 'after writes')

  const added = db.addService({
    uuid: 0x180a,
    characteristics: [{ uuid: 0x2a29, properties: ['read'], value: 'hcikit' }],
  })
  const grown = toHex(db.hash())
  t.not(grown, base, 'adding a service')
  t.equal(added.handle, 0x17, 'after the last handle')
  db.removeService(added)
  t.equal(toHex(db.hash()), base, 'removing it again restores the structure and the hash')

  // Every kind of structural difference shows.
  const variants: [string, (d: DatabaseDeclaration) => void][] = [
    [
      'a characteristic property',
      (d) =>
        ((d.services![1]!.characteristics![0] as { properties: readonly string[] }).properties = ['read', 'notify']),
    ],
    ['a service UUID', (d) => ((d.services![1] as { uuid: number }).uuid = 0x180e)],
    ['primary instead of secondary', (d) => ((d.services![1] as { primary: boolean }).primary = true)],
    [
      'a descriptor added',
      (d) => ((d.services![1]!.characteristics![0] as { description?: string }).description = 'Level'),
    ],
    ['a handle moved', (d) => ((d.services![1] as { handle?: number }).handle = 0x20)],
    ['Device Name not writable', (d) => (d.gap!.deviceNameWritable = false)],
  ]
  for (const [what, change] of variants) {
    const d = example()
    change(d)
    t.not(toHex(new AttributeDatabase(d).hash()), base, what)
  }
  // Values and value-only descriptors do not show.
  const d = example()
  ;(d.services![1]!.characteristics![0] as { value: Uint8Array }).value = new Uint8Array([1, 2, 3])
  d.gap!.deviceName = 'another name'
  t.equal(toHex(new AttributeDatabase(d).hash()), base, 'static values are not hashed')
})
