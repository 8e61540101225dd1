/**
 * The twin file (src/twin/format.ts) and its documentation (docs/twin.schema.json): every twin
 * built from the real traces (../shared/fixtures/real) conforms to the schema and reads back
 * equal (parseTwin of formatTwin); documents that break the format are refused with a TwinError
 * naming the place, and the schema refuses them too.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { buildTwinFromFile } from '../../src/twin/build.ts'
import { formatTwin, parseTwin, validateTwin, TwinError, type Twin } from '../../src/twin/format.ts'
import { realTraces, shortName, realTest } from '../helpers/real.ts'
import { checkSchema } from '../helpers/json-schema.ts'

const schema = JSON.parse(readFileSync(new URL('../../docs/twin.schema.json', import.meta.url), 'utf8'))

realTest('twins of the real traces: as documented, and read back equal', async (t) => {
  let built = 0
  for (const file of realTraces()) {
    let twin: Twin
    try {
      twin = (await buildTwinFromFile(file)).twin
    } catch (e) {
      t.type(e, TwinError, `${shortName(file)}: no device to twin is a TwinError`)
      continue
    }
    built++
    const text = formatTwin(twin)
    t.same(checkSchema(schema, JSON.parse(text)), [], `${shortName(file)}: conforms to docs/twin.schema.json`)
    t.same(parseTwin(text), twin, `${shortName(file)}: reads back equal`)
  }
  t.ok(built >= 17, `${built} twins built`)
})

const good = (): Record<string, any> => ({
  format: 'hcikit-twin',
  version: 1,
  source: { capture: 'x.btsnoop', frames: 10, connections: 1 },
  device: { address: 'AA:BB:CC:DD:EE:FF', addressType: 'random' },
  servicesComplete: true,
  services: [
    {
      handle: 1,
      endHandle: 5,
      uuid: '1800',
      primary: true,
      includes: [],
      characteristicsComplete: true,
      characteristics: [
        {
          handle: 2,
          valueHandle: 3,
          uuid: '2a00',
          properties: ['read'],
          value: '4869',
          descriptorsComplete: true,
          descriptors: [{ handle: 4, uuid: '2901', value: '41' }],
          notifications: [{ atMs: 0, value: '01' }],
        },
      ],
    },
  ],
  otherAttributes: [{ handle: 9, value: '00' }],
  reactions: [{ onWrite: { handle: 3, value: '01' }, notify: [{ handle: 3, value: 'ff', atMs: 5 }] }],
})

t.test('the good document passes both', async (t) => {
  t.same(checkSchema(schema, good()), [])
  t.ok(validateTwin(good()))
})

const BAD: Array<[string, (d: Record<string, any>) => void, RegExp]> = [
  ['wrong format', (d) => (d.format = 'other'), /^format: expected "hcikit-twin"/],
  ['newer version', (d) => (d.version = 2), /^version: version 2: this hcikit reads version 1/],
  ['address in lowercase', (d) => (d.device.address = 'aa:bb:cc:dd:ee:ff'), /^device\.address: expected/],
  ['handle 0', (d) => (d.services[0].handle = 0), /^services\[0\]\.handle: expected a handle 1\.\.65535, got 0/],
  ['handle too big', (d) => (d.otherAttributes[0].handle = 70000), /^otherAttributes\[0\]\.handle/],
  [
    'odd hex',
    (d) => (d.services[0].characteristics[0].value = 'abc'),
    /characteristics\[0\]\.value: expected lowercase hex/,
  ],
  ['UUID in capitals', (d) => (d.services[0].uuid = '180A'), /^services\[0\]\.uuid: "180A" is not a UUID/],
  [
    'unknown property',
    (d) => (d.services[0].characteristics[0].properties = ['fly']),
    /properties\[0\]: unknown property "fly"/,
  ],
  [
    'negative time',
    (d) => (d.services[0].characteristics[0].notifications[0].atMs = -1),
    /atMs: expected milliseconds >= 0/,
  ],
  ['no services', (d) => delete d.services, /^services: expected an array/],
  ['flag not a boolean', (d) => (d.servicesComplete = 'yes'), /^servicesComplete: expected true or false/],
  ['error code 0', (d) => (d.otherAttributes[0].readError = 0), /readError: expected an ATT error code/],
  ['reaction without notify', (d) => delete d.reactions[0].notify, /^reactions\[0\]\.notify: expected an array/],
  ['reaction to handle 0', (d) => (d.reactions[0].onWrite.handle = 0), /^reactions\[0\]\.onWrite\.handle/],
]

t.test('documents that break the format: a TwinError with the place, and the schema agrees', async (t) => {
  for (const [what, spoil, message] of BAD) {
    const d = good()
    spoil(d)
    t.throws(() => validateTwin(d), { name: 'TwinError', code: 'TWIN_INVALID', message }, what)
    t.not(checkSchema(schema, d).length, 0, `${what}: the schema refuses it too`)
  }
})

t.test('rules beyond the schema: value handle, services in order, characteristics inside', async (t) => {
  const value = good()
  value.services[0].characteristics[0].valueHandle = 4
  t.throws(() => validateTwin(value), /valueHandle: the value follows its declaration/)
  const order = good()
  order.services.push({ ...order.services[0], handle: 3, endHandle: 8, characteristics: [] })
  t.throws(() => validateTwin(order), /services\[1\]\.handle: services must be in handle order/)
  const outside = good()
  outside.services[0].endHandle = 1
  outside.services[0].characteristics[0].handle = 2
  t.throws(() => validateTwin(outside), /characteristics\[0\]: outside its service/)
  const pastTheEnd = good()
  pastTheEnd.services[0].endHandle = 2
  pastTheEnd.services[0].characteristics[0].descriptors = []
  t.ok(validateTwin(pastTheEnd), 'a value past the end of its service is kept, as a device had it')
  t.throws(() => parseTwin('{'), { name: 'TwinError', message: /not JSON/ })
})
