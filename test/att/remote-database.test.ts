/**
 * att/remote-database.ts: the JSON form the cache stores. A round trip keeps the model; an entry
 * that is not a consistent database (each rule of `build` broken once, plus fast-check garbage)
 * comes back as a GattError 'GATT_INVALID_CACHE' value naming what is wrong, never a throw and
 * never a bare Error (issue 12: typed errors in att/remote-database.ts).
 */
import t from 'tap'
import fc from 'fast-check'
import { GattError } from '../../att/errors.ts'
import { RemoteDatabase, type RemoteDatabaseJson } from '../../att/remote-database.ts'

const GOOD: RemoteDatabaseJson = {
  services: [
    {
      uuid: '1800',
      start: 1,
      end: 5,
      primary: true,
      characteristics: [{ uuid: '2a00', handle: 2, properties: 0x02, valueHandle: 3, endHandle: 5 }],
    },
    {
      uuid: '180d',
      start: 6,
      end: 10,
      primary: true,
      includes: [{ handle: 7, start: 11, end: 12 }],
      characteristics: [
        {
          uuid: '2a37',
          handle: 8,
          properties: 0x10,
          valueHandle: 9,
          endHandle: 10,
          descriptors: [{ uuid: '2902', handle: 10 }],
        },
      ],
    },
    { uuid: '180f', start: 11, end: 12, primary: false, characteristics: [] },
  ],
  hash: '00112233445566778899aabbccddeeff',
}

t.test('toJSON and fromJSON round trip, through JSON text', async (t) => {
  const db = RemoteDatabase.fromJSON(JSON.parse(JSON.stringify(GOOD)))
  t.ok(db instanceof RemoteDatabase)
  const again = (db as RemoteDatabase).toJSON()
  t.same(JSON.parse(JSON.stringify(again)), JSON.parse(JSON.stringify(RemoteDatabase.fromJSON(again))))
  t.equal(again.services.length, 3)
  t.equal(again.hash, GOOD.hash)
  t.notOk('includes' in again.services[0]!, 'no empty includes list')
  t.notOk('descriptors' in again.services[0]!.characteristics[0]!, 'no empty descriptors list')
  t.same(again.services[1]!.includes, [{ handle: 7, start: 11, end: 12 }])
  t.equal((db as RemoteDatabase).services[1]!.includes[0]!.start, 11, 'includes linked to the service')
})

const broken: [string, (j: any) => void, RegExp][] = [
  ['no services array', (j) => (j.services = 'x'), /no services array/],
  ['a start that is not a handle', (j) => (j.services[0].start = 0), /services\[0\]\.start: 0 is not a handle/],
  ['end before start', (j) => (j.services[0].end = 0x0001) && (j.services[0].start = 2), /end before start/],
  ['no characteristics array', (j) => delete j.services[2].characteristics, /services\[2\]: no characteristics array/],
  ['characteristic handles out of order', (j) => (j.services[0].characteristics[0].valueHandle = 2), /out of order/],
  ['properties that are not an octet', (j) => (j.services[0].characteristics[0].properties = 256), /not an octet/],
  [
    'descriptor outside its characteristic',
    (j) => (j.services[1].characteristics[0].descriptors[0].handle = 11),
    /descriptor handles out of order/,
  ],
  ['services that overlap', (j) => (j.services[1].start = 5), /services overlap at 0x0005/],
  ['a UUID that does not parse', (j) => (j.services[0].uuid = 'not a uuid'), /not a GATT database/],
]

for (const [what, breakIt, message] of broken) {
  t.test(`fromJSON: ${what} -> GATT_INVALID_CACHE`, async (t) => {
    const j = JSON.parse(JSON.stringify(GOOD))
    breakIt(j)
    const r = RemoteDatabase.fromJSON(j)
    t.ok(r instanceof GattError, 'a GattError value')
    t.equal((r as GattError).code, 'GATT_INVALID_CACHE')
    t.match((r as GattError).message, message)
    const cause = (r as GattError).cause
    t.ok(cause === undefined || cause instanceof GattError || (cause as Error).name !== 'Error', 'no bare Error inside')
  })
}

t.test('fromJSON never throws and never answers with a bare Error, whatever the input', async (t) => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      const r = RemoteDatabase.fromJSON(v)
      return r instanceof RemoteDatabase || (r instanceof GattError && r.code === 'GATT_INVALID_CACHE')
    }),
    { numRuns: 500, seed: 12 },
  )
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 40 }), fc.jsonValue(), (at, v) => {
      const j = JSON.parse(JSON.stringify(GOOD))
      // Replace one leaf of the good entry with anything.
      const paths: [any, string][] = []
      const walk = (o: any): void => {
        for (const k of Object.keys(o)) {
          paths.push([o, k])
          if (o[k] && typeof o[k] === 'object') walk(o[k])
        }
      }
      walk(j)
      const [o, k] = paths[at % paths.length]!
      o[k] = v
      const r = RemoteDatabase.fromJSON(j)
      return r instanceof RemoteDatabase || (r instanceof GattError && r.code === 'GATT_INVALID_CACHE')
    }),
    { numRuns: 500, seed: 13 },
  )
  t.pass('500 + 500 inputs')
})
