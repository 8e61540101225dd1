// A GATT server on @stoprocent/bleno, run as a child process by test/virtual/noble-bleno.test.ts.
// It speaks HCI over UART (BLUETOOTH_HCI_SOCKET_UART_PORT: the pty `hcikit link` serves) and
// reports what happens as one JSON object per line on stdout. None of hcikit's code runs here.
import bleno from '@stoprocent/bleno'

const SERVICE = '6e400001b5a3f393e0a9e50e24dcca9e'
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n')
const fail = (msg) => {
  say({ step: 'error', message: String(msg) })
  process.exit(1)
}
process.on('uncaughtException', (e) => fail(e?.stack ? e.stack : e))

const readValue = Buffer.from('hello from bleno')

const readChar = new bleno.Characteristic({
  uuid: '6e400002b5a3f393e0a9e50e24dcca9e',
  properties: ['read'],
  descriptors: [new bleno.Descriptor({ uuid: '2901', value: 'read me' })],
  onReadRequest(_connection, offset, callback) {
    say({ step: 'read', offset })
    callback(bleno.Characteristic.RESULT_SUCCESS, readValue.subarray(offset))
  },
})

const writeChar = new bleno.Characteristic({
  uuid: '6e400003b5a3f393e0a9e50e24dcca9e',
  properties: ['write', 'writeWithoutResponse'],
  onWriteRequest(_connection, data, offset, withoutResponse, callback) {
    say({ step: 'write', hex: data.toString('hex'), offset, withoutResponse })
    callback(bleno.Characteristic.RESULT_SUCCESS)
  },
})

const notifyChar = new bleno.Characteristic({
  uuid: '6e400004b5a3f393e0a9e50e24dcca9e',
  properties: ['notify'],
  onSubscribe(_connection, maxValueSize, updateValueCallback) {
    say({ step: 'subscribe', char: 'notify', maxValueSize })
    for (let i = 1; i <= 3; i++) updateValueCallback(Buffer.from([0x4e, i]))
  },
  onUnsubscribe() {
    say({ step: 'unsubscribe', char: 'notify' })
  },
  onNotify() {
    say({ step: 'notified' })
  },
})

const indicateChar = new bleno.Characteristic({
  uuid: '6e400005b5a3f393e0a9e50e24dcca9e',
  properties: ['indicate'],
  onSubscribe(_connection, maxValueSize, updateValueCallback) {
    say({ step: 'subscribe', char: 'indicate', maxValueSize })
    updateValueCallback(Buffer.from([0x49, 0x01]))
  },
  onUnsubscribe() {
    say({ step: 'unsubscribe', char: 'indicate' })
  },
  onIndicate() {
    // The central confirmed the indication (ATT Handle Value Confirmation).
    say({ step: 'indicated' })
  },
})

bleno.on('stateChange', (state) => {
  say({ step: 'state', state })
  if (state === 'poweredOn') {
    bleno.startAdvertising('hcikit-bleno', [SERVICE], (err) => {
      if (err) fail(`startAdvertising: ${err.message}`)
    })
  }
})

bleno.on('advertisingStart', (err) => {
  if (err) fail(`advertisingStart: ${err.message}`)
  bleno.setServices(
    [new bleno.PrimaryService({ uuid: SERVICE, characteristics: [readChar, writeChar, notifyChar, indicateChar] })],
    (err2) => {
      if (err2) fail(`setServices: ${err2.message}`)
      say({ step: 'advertising', address: bleno.address })
    },
  )
})

bleno.on('accept', (address) => say({ step: 'accept', address }))
bleno.on('disconnect', (address) => say({ step: 'disconnect', address }))
bleno.on('mtuChange', (mtu) => say({ step: 'mtu', mtu }))
