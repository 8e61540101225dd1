// A central on @stoprocent/noble, run as a child process by test/e2e/security-peers.test.ts
// against hcikit's peripheral. HCI over UART (BLUETOOTH_HCI_SOCKET_UART_PORT). It finds the device
// named HCIKIT_PEER_NAME, connects, discovers, and reads HCIKIT_SECRET_UUID, a characteristic that
// needs an encrypted link: noble answers the Insufficient Authentication with its own LE legacy
// Just Works pairing, encrypts with the STK and reads again. Each step is one JSON line on stdout.
// No hcikit code here.
import noble from '@stoprocent/noble'

const say = (o) => process.stdout.write(JSON.stringify(o) + '\n')
function fail(msg) {
  say({ step: 'error', message: String(msg) })
  process.exit(1)
}
process.on('uncaughtException', (e) => fail(e?.stack ? e.stack : e))
process.on('unhandledRejection', (e) => fail(e?.stack ? e.stack : e))

const NAME = process.env.HCIKIT_PEER_NAME
const SECRET = (process.env.HCIKIT_SECRET_UUID ?? '').replace(/-/g, '').toLowerCase()

await noble.waitForPoweredOnAsync(15000)
say({ step: 'poweredOn', address: noble.address })
const found = new Promise((resolve) => {
  noble.on('discover', (p) => {
    if (p.advertisement.localName === NAME) resolve(p)
  })
})
await noble.startScanningAsync([], false)
const peripheral = await found
await noble.stopScanningAsync()
await peripheral.connectAsync()
say({ step: 'connected', address: peripheral.address })
const { characteristics } = await peripheral.discoverAllServicesAndCharacteristicsAsync()
const secret = characteristics.find((c) => c.uuid === SECRET) ?? fail(`characteristic ${SECRET} not discovered`)
const value = await secret.readAsync()
say({ step: 'read', hex: value.toString('hex') })
await peripheral.disconnectAsync()
say({ step: 'done' })
process.exit(0)
