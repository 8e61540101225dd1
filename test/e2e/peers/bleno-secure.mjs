// A peripheral on @stoprocent/bleno, run as a child process by test/e2e/security-peers.test.ts:
// a characteristic bleno itself protects (secure: ['read'] answers Insufficient Authentication on
// an unencrypted link), over HCI on UART (BLUETOOTH_HCI_SOCKET_UART_PORT). None of hcikit's code
// runs here; bleno's own SMP (LE legacy Just Works, its c1 and s1) does the pairing.
//
// Two stand-ins, because bleno 0.12.4 leaves parts of pairing to the Linux kernel and to an
// argument order that does not match:
//  - its AclStream emits ('data', handle, cid, data) while its Smp listens for (cid, data), so
//    its SMP never sees a PDU; the shim passes (cid, data) on unchanged;
//  - it hands the STK to BlueZ's mgmt socket (Load Long Term Keys) and lets the kernel answer the
//    LE Long Term Key Request; on UART there is no kernel, so the shim keeps the key bleno handed
//    over and answers the request with it (LE Long Term Key Request Reply, Vol 4 Part E 7.8.25),
//    as the kernel would. The key is bleno's, computed by bleno.
import { createRequire } from 'node:module'
import bleno from '@stoprocent/bleno'

const require = createRequire(import.meta.url)
const Smp = require('@stoprocent/bleno/lib/hci-socket/smp.js')
const Mgmt = require('@stoprocent/bleno/lib/hci-socket/mgmt.js')

const say = (o) => process.stdout.write(JSON.stringify(o) + '\n')
const fail = (msg) => {
  say({ step: 'error', message: String(msg) })
  process.exit(1)
}
process.on('uncaughtException', (e) => fail(e?.stack ? e.stack : e))

const onData = Smp.prototype.onAclStreamData
Smp.prototype.onAclStreamData = function (...args) {
  return onData.apply(this, args.length === 3 ? args.slice(1) : args)
}
let lastKey
Mgmt.prototype.addLongTermKey = (_address, _type, _authenticated, _master, _ediv, _rand, key) => {
  lastKey = Buffer.from(key)
  say({ step: 'stk' })
}
Mgmt.prototype.loadLongTermKeys = () => {}

const SERVICE = '7e500001b5a3f393e0a9e50e24dcca9e'
const secret = new bleno.Characteristic({
  uuid: '7e500002b5a3f393e0a9e50e24dcca9e',
  properties: ['read'],
  secure: ['read'],
  onReadRequest(_connection, offset, callback) {
    say({ step: 'read', offset })
    callback(bleno.Characteristic.RESULT_SUCCESS, Buffer.from('bleno secret').subarray(offset))
  },
})

bleno.on('stateChange', (state) => {
  say({ step: 'state', state })
  if (state === 'poweredOn') {
    const hci = bleno._bindings._hci
    hci._socket.on('data', (p) => {
      // HCI event (0x04), LE Meta (0x3e), LE Long Term Key Request (subevent 0x05).
      if (p[0] !== 0x04 || p[1] !== 0x3e || p[3] !== 0x05) return
      const handle = p.readUInt16LE(4)
      say({ step: 'ltk-request', answered: lastKey !== undefined })
      const cmd = lastKey
        ? Buffer.concat([Buffer.from([0x01, 0x1a, 0x20, 18, handle & 0xff, handle >> 8]), lastKey])
        : Buffer.from([0x01, 0x1b, 0x20, 2, handle & 0xff, handle >> 8])
      hci._socket.write(cmd)
    })
    bleno.startAdvertising('hcikit-bleno-sec', [SERVICE], (err) => {
      if (err) fail(`startAdvertising: ${err.message}`)
    })
  }
})

bleno.on('advertisingStart', (err) => {
  if (err) fail(`advertisingStart: ${err.message}`)
  bleno.setServices([new bleno.PrimaryService({ uuid: SERVICE, characteristics: [secret] })], (err2) => {
    if (err2) fail(`setServices: ${err2.message}`)
    say({ step: 'advertising', address: bleno.address })
  })
})

bleno.on('accept', (address) => say({ step: 'accept', address }))
bleno.on('disconnect', (address) => say({ step: 'disconnect', address }))
