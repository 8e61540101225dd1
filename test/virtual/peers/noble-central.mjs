// A GATT client on @stoprocent/noble, run as a child process by test/virtual/noble-bleno.test.ts.
// It speaks HCI over UART (BLUETOOTH_HCI_SOCKET_UART_PORT: the pty `hcikit link` serves), finds
// the bleno peripheral, exercises every GATT procedure the test asks for, disconnects, and
// reports each step as one JSON object per line on stdout. None of hcikit's code runs here.
import noble from '@stoprocent/noble'

const SERVICE = '6e400001b5a3f393e0a9e50e24dcca9e'
const CHAR = (n) => `6e40000${n}b5a3f393e0a9e50e24dcca9e`
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n')
const fail = (msg) => {
  say({ step: 'error', message: String(msg) })
  process.exit(1)
}
process.on('uncaughtException', (e) => fail(e?.stack ? e.stack : e))
process.on('unhandledRejection', (e) => fail(e?.stack ? e.stack : e))

/** Resolve with the first `count` values an emitter delivers on `event`. */
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

noble.on('stateChange', (state) => say({ step: 'state', state }))
await noble.waitForPoweredOnAsync(15000)
say({ step: 'poweredOn', address: noble.address })

const found = new Promise((resolve) => {
  noble.on('discover', (p) => {
    say({
      step: 'discover',
      address: p.address,
      addressType: p.addressType,
      name: p.advertisement.localName ?? null,
      connectable: p.connectable,
      rssi: p.rssi,
    })
    if (p.advertisement.localName === 'hcikit-bleno') resolve(p)
  })
})
await noble.startScanningAsync([SERVICE], false)
say({ step: 'scanning' })
const peripheral = await found
await noble.stopScanningAsync()

await peripheral.connectAsync()
say({ step: 'connected', address: peripheral.address })
const disconnected = new Promise((resolve) => peripheral.once('disconnect', (reason) => resolve(reason)))

const { services, characteristics } = await peripheral.discoverAllServicesAndCharacteristicsAsync()
const descriptors = {}
for (const c of characteristics) {
  descriptors[c.uuid] = (await c.discoverDescriptorsAsync()).map((d) => d.uuid)
}
say({
  step: 'discovered',
  services: services.map((s) => s.uuid),
  characteristics: characteristics.map((c) => ({ uuid: c.uuid, properties: c.properties })),
  descriptors,
})
const byUuid = (n) => {
  const c = characteristics.find((x) => x.uuid === CHAR(n))
  if (!c) fail(`characteristic ${CHAR(n)} not discovered`)
  return c
}

const userDescription = (await byUuid(2).discoverDescriptorsAsync()).find((d) => d.uuid === '2901')
say({ step: 'descriptor', value: userDescription ? (await userDescription.readValueAsync()).toString() : null })

say({ step: 'read', value: (await byUuid(2).readAsync()).toString() })

await byUuid(3).writeAsync(Buffer.from('with response'), false)
say({ step: 'written', withoutResponse: false })
await byUuid(3).writeAsync(Buffer.from('without response'), true)
say({ step: 'written', withoutResponse: true })

const notify = byUuid(4)
const notifications = collect(notify, 'data', 3)
await notify.subscribeAsync()
say({ step: 'subscribed', char: 'notify' })
say({
  step: 'notifications',
  values: (await notifications).map(([data, isNotification]) => ({ hex: data.toString('hex'), isNotification })),
})

const indicate = byUuid(5)
const indications = collect(indicate, 'data', 1)
await indicate.subscribeAsync()
say({ step: 'subscribed', char: 'indicate' })
say({
  step: 'indications',
  values: (await indications).map(([data, isNotification]) => ({ hex: data.toString('hex'), isNotification })),
})
// One more round trip before disconnecting: noble queued the Handle Value Confirmation before this
// request, so once the response is here the confirmation has reached bleno (ACL keeps its order).
say({ step: 'read-again', value: (await byUuid(2).readAsync()).toString() })

await peripheral.disconnectAsync()
say({ step: 'disconnected', reason: await disconnected })
say({ step: 'done' })
process.exit(0)
