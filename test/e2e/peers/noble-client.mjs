// A GATT client on @stoprocent/noble, run as a child process by test/e2e/gatt-noble.test.ts
// against hcikit's GATT server. HCI over UART (BLUETOOTH_HCI_SOCKET_UART_PORT: the pty that
// `hcikit link` serves). It finds the device named HCIKIT_PEER_NAME, discovers everything, reads
// every readable characteristic and descriptor, writes HCIKIT_WRITE_UUID with and without
// response, subscribes to HCIKIT_NOTIFY_UUID and HCIKIT_INDICATE_UUID (waiting for 3 values and
// 1 value), disconnects, and reports each step as one JSON line on stdout. No hcikit code here.
import noble from '@stoprocent/noble'

const env = (k) => {
  const v = process.env[k]
  if (!v) fail(`${k} is not set`)
  return v.replace(/-/g, '').toLowerCase()
}
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n')
function fail(msg) {
  say({ step: 'error', message: String(msg) })
  process.exit(1)
}
process.on('uncaughtException', (e) => fail(e?.stack ? e.stack : e))
process.on('unhandledRejection', (e) => fail(e?.stack ? e.stack : e))

const NAME = process.env.HCIKIT_PEER_NAME
const WRITE = env('HCIKIT_WRITE_UUID')
const NOTIFY = env('HCIKIT_NOTIFY_UUID')
const INDICATE = env('HCIKIT_INDICATE_UUID')

function collect(emitter, event, count) {
  return new Promise((resolve) => {
    const got = []
    const on = (...args) => {
      got.push(args)
      if (got.length === count) {
        emitter.off(event, on)
        resolve(got)
      }
    }
    emitter.on(event, on)
  })
}

await noble.waitForPoweredOnAsync(15000)
say({ step: 'poweredOn', address: noble.address })
const found = new Promise((resolve) => {
  noble.on('discover', (p) => {
    if (p.advertisement.localName === NAME) {
      say({
        step: 'discover',
        address: p.address,
        addressType: p.addressType,
        name: p.advertisement.localName,
        connectable: p.connectable,
        serviceUuids: p.advertisement.serviceUuids,
      })
      resolve(p)
    }
  })
})
await noble.startScanningAsync([], false)
const peripheral = await found
await noble.stopScanningAsync()
await peripheral.connectAsync()
say({ step: 'connected', address: peripheral.address, mtu: peripheral.mtu ?? null })
const disconnected = new Promise((resolve) => peripheral.once('disconnect', (reason) => resolve(reason)))

const { services, characteristics } = await peripheral.discoverAllServicesAndCharacteristicsAsync()
const descriptors = {}
for (const c of characteristics) descriptors[c.uuid] = (await c.discoverDescriptorsAsync()).map((d) => d.uuid)
say({
  step: 'discovered',
  services: services.map((s) => ({ uuid: s.uuid, characteristics: s.characteristics.map((c) => c.uuid) })),
  characteristics: characteristics.map((c) => ({ uuid: c.uuid, properties: c.properties })),
  descriptors,
})
const byUuid = (u) => characteristics.find((c) => c.uuid === u) ?? fail(`characteristic ${u} not discovered`)

const reads = {}
for (const c of characteristics)
  if (c.properties.includes('read')) reads[c.uuid] = (await c.readAsync()).toString('hex')
say({ step: 'reads', values: reads })
const descriptorValues = {}
for (const c of characteristics) {
  for (const d of await c.discoverDescriptorsAsync())
    if (d.uuid === '2901') descriptorValues[c.uuid] = (await d.readValueAsync()).toString()
}
say({ step: 'descriptors', values: descriptorValues })

await byUuid(WRITE).writeAsync(Buffer.from('with response'), false)
say({ step: 'written', withoutResponse: false })
await byUuid(WRITE).writeAsync(Buffer.from('without response'), true)
say({ step: 'written', withoutResponse: true })
say({ step: 'read-after-write', hex: (await byUuid(WRITE).readAsync()).toString('hex') })

const n = byUuid(NOTIFY)
const notes = collect(n, 'data', 3)
await n.subscribeAsync()
say({ step: 'subscribed', char: 'notify' })
say({ step: 'notifications', values: (await notes).map(([d]) => d.toString('hex')) })
await n.unsubscribeAsync()

const i = byUuid(INDICATE)
const inds = collect(i, 'data', 1)
await i.subscribeAsync()
say({ step: 'subscribed', char: 'indicate' })
say({ step: 'indications', values: (await inds).map(([d]) => d.toString('hex')) })
// One more round trip, so the Handle Value Confirmation is out before the disconnection.
await byUuid(WRITE).readAsync()

await peripheral.disconnectAsync()
say({ step: 'disconnected', reason: await disconnected })
say({ step: 'done' })
process.exit(0)
