/**
 * src/transports/index.ts: every spec form parses to what it says, prints back canonically, and
 * every bad spec is a TransportSpecError whose hint says what to write instead.
 */
import t from 'tap'
import {
  TransportSpecError,
  formatTransportSpec,
  openTransport,
  parseTransportSpec,
  resolveTransportSpec,
} from '../../src/transports/index.ts'
import { TransportError } from '../../hci/errors.ts'

t.test('every form', async (t) => {
  const cases: Array<[string, object, string?]> = [
    ['hci0', { kind: 'hci', index: 0 }],
    ['hci:1', { kind: 'hci', index: 1 }, 'hci1'],
    ['hci12', { kind: 'hci', index: 12 }],
    ['usb', { kind: 'usb', nth: 0 }],
    ['usb:0a12:0001', { kind: 'usb', vendorId: 0x0a12, productId: 0x0001, nth: 0 }],
    ['usb:0A12:1:2', { kind: 'usb', vendorId: 0x0a12, productId: 0x0001, nth: 2 }, 'usb:0a12:0001:2'],
    ['usb:0x2fe3:0x000b', { kind: 'usb', vendorId: 0x2fe3, productId: 0x000b, nth: 0 }, 'usb:2fe3:000b'],
    ['uart:/dev/ttyUSB0', { kind: 'uart', path: '/dev/ttyUSB0', baudRate: 115200, flowControl: true }],
    ['uart:/dev/ttyACM0@1000000', { kind: 'uart', path: '/dev/ttyACM0', baudRate: 1000000, flowControl: true }],
    ['uart:/dev/ttyS1@921600,noflow', { kind: 'uart', path: '/dev/ttyS1', baudRate: 921600, flowControl: false }],
    ['uart:/dev/ttyS1,noflow', { kind: 'uart', path: '/dev/ttyS1', baudRate: 115200, flowControl: false }],
    ['uart:COM3@115200', { kind: 'uart', path: 'COM3', baudRate: 115200, flowControl: true }, 'uart:COM3'],
    ['uart:/tmp/a@b/tty@3000000', { kind: 'uart', path: '/tmp/a@b/tty', baudRate: 3000000, flowControl: true }],
    ['tcp:127.0.0.1:4567', { kind: 'tcp', host: '127.0.0.1', port: 4567 }],
    ['tcp:localhost:1', { kind: 'tcp', host: 'localhost', port: 1 }],
    ['tcp:[::1]:4567', { kind: 'tcp', host: '::1', port: 4567 }],
    ['tcp-server:0.0.0.0:0', { kind: 'tcp-server', host: '0.0.0.0', port: 0 }],
    ['tcp-server:[::]:65535', { kind: 'tcp-server', host: '::', port: 65535 }],
    ['unix:/run/hci.sock', { kind: 'unix', path: '/run/hci.sock' }],
    ['virtual', { kind: 'virtual' }],
    ['replay:traces/a b.btsnoop', { kind: 'replay', path: 'traces/a b.btsnoop' }],
    ['  virtual ', { kind: 'virtual' }, 'virtual'],
  ]
  for (const [text, want, canonical] of cases) {
    const got = parseTransportSpec(text)
    t.same(got, want, text)
    t.strictSame(Object.keys(got).sort(), Object.keys(want).sort(), `${text}: no extra fields`)
    t.equal(formatTransportSpec(got), canonical ?? text, `${text} prints back`)
    t.same(parseTransportSpec(formatTransportSpec(got)), got, `${text}: format/parse round trip`)
  }
})

t.test('bad specs: typed error, what is wrong, what to write', async (t) => {
  const cases: Array<[string, RegExp, RegExp]> = [
    ['', /empty/, /usb:VID:PID/],
    ['bluetooth', /unknown transport kind 'bluetooth'/, /hci0 \(or hci:0\), usb, /],
    ['/dev/ttyUSB0', /unknown transport kind/, /did you mean uart:\/dev\/ttyUSB0\?/],
    ['0a12:0001', /unknown transport kind '0a12'/, /did you mean usb:0a12:0001\?/],
    ['0', /unknown transport kind '0'/, /did you mean hci0\?/],
    ['hci:x', /expected an adapter number/, /hci0 or hci:0/],
    ['hci', /unknown transport kind 'hci'|expected an adapter number/, /hci0/],
    ['usb:0a12', /expected usb or usb:VID:PID\[:N\]/, /usb:0a12:0001/],
    ['usb:0a12:0001:1:2', /expected usb or usb:VID:PID/, /usb:0a12:0001:1/],
    ['usb:zz12:0001', /vendor id 'zz12' is not a 16-bit hex number/, /lsusb/],
    ['usb:0a12:12345', /product id '12345'/, /hex/],
    ['usb:0a12:0001:x', /N 'x' is not a number/, /from 0/],
    ['uart:', /no serial port path/, /uart:\/dev\/ttyUSB0/],
    ['uart:@115200', /no serial port path/, /uart:\/dev\/ttyUSB0/],
    ['uart:/dev/ttyUSB0@fast', /baud rate 'fast'/, /@115200/],
    ['uart:/dev/ttyUSB0@100', /baud rate '100'/, /@115200/],
    ['uart:/dev/ttyUSB0,rtscts', /unknown option 'rtscts'/, /noflow/],
    ['tcp:4567', /expected tcp:HOST:PORT/, /tcp:127\.0\.0\.1:4567/],
    ['tcp:host:0', /port 0 is out of range 1\.\.65535/, /tcp:127\.0\.0\.1:4567/],
    ['tcp:host:70000', /port 70000 is out of range/, /tcp:/],
    ['tcp:host:http', /port 'http' is not a number/, /tcp:/],
    ['tcp:::1:4567', /expected tcp:HOST:PORT/, /\[::1\]/],
    ['tcp-server:127.0.0.1', /expected tcp-server:HOST:PORT/, /tcp-server:127\.0\.0\.1:0/],
    ['unix:', /no socket path/, /unix:\//],
    ['replay:', /no capture file/, /replay:trace\.btsnoop/],
  ]
  for (const [text, message, hint] of cases) {
    try {
      parseTransportSpec(text)
      t.fail(`${JSON.stringify(text)} should not parse`)
    } catch (e) {
      t.type(e, TransportSpecError, `${JSON.stringify(text)}: a TransportSpecError`)
      const err = e as TransportSpecError
      t.equal(err.code, 'TRANSPORT_SPEC')
      t.match(err.message, message, `${JSON.stringify(text)}: says what is wrong`)
      t.match(err.hint ?? '', hint, `${JSON.stringify(text)}: says what to write`)
    }
  }
})

t.test('HCIKIT_TRANSPORT is the default; an explicit spec wins', async (t) => {
  t.same(resolveTransportSpec(undefined, { HCIKIT_TRANSPORT: 'tcp:127.0.0.1:9' }), {
    kind: 'tcp',
    host: '127.0.0.1',
    port: 9,
  })
  t.same(resolveTransportSpec('virtual', { HCIKIT_TRANSPORT: 'usb' }), { kind: 'virtual' })
  t.same(resolveTransportSpec({ kind: 'virtual' }, {}), { kind: 'virtual' })
  t.throws(() => resolveTransportSpec(undefined, {}), {
    name: 'TransportSpecError',
    message: /no transport given/,
    hint: /HCIKIT_TRANSPORT=usb/,
  })
  t.throws(() => resolveTransportSpec(undefined, { HCIKIT_TRANSPORT: 'nope' }), {
    name: 'TransportSpecError',
    message: /'nope'/,
  })
  await t.rejects(openTransport(undefined, { env: {} }), { code: 'TRANSPORT_SPEC' })
})

t.test(
  'openTransport: hci0 with no adapter is explained (test/transports/hci-socket.test.ts has the details); ' +
    'tcp refused says how to serve one',
  async (t) => {
    const hci = await openTransport('hci0', { env: {} }).catch((e: unknown) => e)
    t.type(hci, TransportError)
    t.match(hci, { message: /^hci0: /, hint: /\S/ })
    // Port 1 on 127.0.0.1: nothing listens there (privileged, never a test server).
    await t.rejects(openTransport('tcp:127.0.0.1:1', { env: {}, timeout: 5000 }), {
      name: 'TransportError',
      message: /cannot connect/,
      hint: /hcikit link tcp-server:127\.0\.0\.1:1/,
    })
    await t.rejects(openTransport('unix:/nonexistent/hcikit.sock', { env: {} }), {
      name: 'TransportError',
      hint: /no socket at/,
    })
  },
)
