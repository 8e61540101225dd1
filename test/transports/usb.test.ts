/**
 * src/transports/usb.ts against a fake device at the `usb` package's API boundary that follows
 * the Bluetooth USB layout (test/transports/fake-usb.ts; Core v5.4 Vol 4 Part B): bring-up of a
 * virtual controller through it, packets cut across transfers, ACL both ways, SCO/ISO endpoints
 * untouched, unplugging with transfers pending, and every explained error. With
 * HCIKIT_TEST_USB=VID:PID set, a real dongle is brought up too.
 */
import t from 'tap'
import { HciHost } from '../../hci/host.ts'
import { TransportError } from '../../hci/errors.ts'
import type { HciPacket } from '../../hci/transport.ts'
import { openTransport } from '../../src/transports/index.ts'
import { openUsb, isBluetoothController } from '../../src/transports/usb.ts'
import { FakeBtDevice, FakeUsb, usbError } from './fake-usb.ts'
import { realClock, virtualController, within } from './helpers.ts'

import type { Transport } from '../../hci/transport.ts'

/** send() as a promise, whether it returned one or threw. */
const sendP = (tr: Transport, p: HciPacket): Promise<void> => Promise.resolve().then(() => tr.send(p))
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'))

t.test('init() over USB; the kernel driver is detached and given back; SCO endpoints untouched', async (t) => {
  const controller = virtualController(t)
  const dev = new FakeBtDevice(0x0a12, 0x0001)
  dev.connect(controller.attach())
  const usb = new FakeUsb([new FakeBtDevice(0x1234, 0x5678), dev])
  ;(usb.devices[0] as FakeBtDevice).deviceClass = 0xff
  ;(usb.devices[0] as FakeBtDevice).configured = false
  t.notOk(isBluetoothController(usb.devices[0]!), 'a vendor-class device is not taken for a controller')

  const transport = await openTransport('usb', { env: {}, usb })
  t.same(dev.calls.slice(0, 3), ['open', 'detach 0', 'claim 0'], 'open, detach btusb from interface 0, claim it')
  const host = new HciHost(transport, { clock: realClock })
  const info = await within(host.init(), 'init() over USB')
  t.equal(info.address, controller.address, 'the controller behind the fake answered')
  t.equal(host.stats.eventDecodeErrors, 0, 'events cut into 16-byte transfers were put back together')
  // Reset's bytes on the control endpoint, by hand from Vol 4 Part E 7.3.2: opcode 0x0C03, no parameters.
  t.same(dev.commands[0], hex('03 0c 00'), 'commands go out as class requests on the control endpoint')
  t.notOk(
    dev.calls.some((c) => / 3$/.test(c)),
    'interface 1 (isochronous endpoints 3) never touched',
  )
  t.notOk(dev.claimed.has(1))

  const closed = new Promise<Error | undefined>((resolve) => transport.onClose(resolve))
  await transport.close()
  t.equal(await closed, undefined)
  t.same(
    dev.calls.slice(-3),
    ['release 0', 'attach 0', 'close'],
    'interface released, kernel driver reattached, device closed',
  )
  t.equal(usb.listenerCount, 0, 'no disconnect listener left behind')
  await t.rejects(sendP(transport, { type: 1, data: hex('03 0c 00') }), TransportError)
})

t.test('ACL both ways on the bulk endpoints, cut anywhere; SCO and ISO are refused', async (t) => {
  const dev = new FakeBtDevice(0x0a12, 0x0001)
  dev.kernelDriver = false
  dev.chunk = 7
  const usb = new FakeUsb([dev])
  const transport = await openUsb({ vendorId: 0x0a12, productId: 0x0001, nth: 0 }, { usb, platform: 'linux' })
  t.teardown(() => transport.close())
  t.same(dev.calls.slice(0, 3), ['open', 'detach 0', 'claim 0'], 'no driver to detach: fine')
  const got: HciPacket[] = []
  transport.onPacket((p) => got.push({ type: p.type, data: p.data }))

  // ACL: handle 0x0040, PB=10 (first automatically-flushable), length 100; then a Number Of
  // Completed Packets event (0x13) for handle 0x0040, 1 packet; cut into 7-byte transfers.
  const payload = Uint8Array.from({ length: 100 }, (_, i) => i)
  const acl = new Uint8Array([0x40, 0x20, 100, 0, ...payload])
  dev.fromController({ type: 2, data: acl })
  dev.fromController({ type: 4, data: hex('13 05 01 40 00 01 00') })
  dev.fromController({ type: 2, data: hex('40 20 00 00') }) // empty ACL packet
  await within(
    new Promise<void>((resolve) => {
      const check = (): void => void (got.length === 3 ? resolve() : setImmediate(check))
      check()
    }),
    'three packets',
  )
  t.same(got.map((p) => p.type).sort(), [2, 2, 4])
  const acls = got.filter((p) => p.type === 2)
  t.same(acls[0]!.data, acl, 'a 104-byte ACL packet from 15 transfers')
  t.same(acls[1]!.data, hex('40 20 00 00'))
  t.same(got.find((p) => p.type === 4)!.data, hex('13 05 01 40 00 01 00'))

  await sendP(transport, { type: 2, data: hex('40 00 05 00 01 00 04 00 0a') })
  t.same(dev.aclOut, [hex('40 00 05 00 01 00 04 00 0a')], 'ACL out on bulk endpoint 2')
  await t.rejects(sendP(transport, { type: 3, data: hex('40 00 00') }), {
    name: 'TransportError',
    message: /SCO and ISO endpoints are left alone/,
  })
  await t.rejects(sendP(transport, { type: 5, data: hex('40 00 00 00') }), { name: 'TransportError' })
})

t.test('unplugging rejects everything pending and closes with a TransportError', async (t) => {
  const dev = new FakeBtDevice(0x0a12, 0x0001)
  const usb = new FakeUsb([dev])
  const transport = await openUsb({ nth: 0 }, { usb, platform: 'linux' })
  const closed = new Promise<Error | undefined>((resolve) => transport.onClose(resolve))
  dev.answerOut = false
  const command = transport.send({ type: 1, data: hex('03 0c 00') }) as Promise<void>
  const data = transport.send({ type: 2, data: hex('40 00 00 00') }) as Promise<void>
  usb.unplug(dev)
  await t.rejects(
    command,
    { name: 'TransportError', message: /unplugged|No such device/, hint: /plug it back in/ },
    'the pending command transfer',
  )
  await t.rejects(data, TransportError, 'the pending ACL transfer')
  const err = await within(closed, 'onClose after unplugging')
  t.type(err, TransportError)
  t.match(err!.message, /unplugged|reading endpoint|No such device/)
  t.notOk(dev.calls.includes('release 0'), 'nothing is released on a device that is gone')
  await t.rejects(sendP(transport, { type: 1, data: hex('03 0c 00') }), TransportError, 'sends after unplugging reject')
  t.equal(usb.listenerCount, 0)
})

t.test('finding devices: by class, by VID:PID, the Nth; explained when absent', async (t) => {
  const a = new FakeBtDevice(0x0a12, 0x0001)
  const b = new FakeBtDevice(0x0a12, 0x0001)
  const c = new FakeBtDevice(0x2fe3, 0x000b)
  a.kernelDriver = b.kernelDriver = c.kernelDriver = false
  const usb = new FakeUsb([a, b, c])
  const second = await openTransport('usb:0a12:0001:1', { env: {}, usb })
  t.ok(b.opened && !a.opened, 'usb:0a12:0001:1 is the second such device')
  await second.close()
  const third = await openTransport('usb:2fe3:000b', { env: {}, usb })
  t.ok(c.opened)
  await third.close()

  await t.rejects(openTransport('usb:0a12:0001:2', { env: {}, usb }), {
    name: 'TransportError',
    message: /no USB device 0a12:0001 number 2 \(found 2\)/,
    hint: /usb:0a12:0001, usb:0a12:0001, usb:2fe3:000b/,
  })
  await t.rejects(openTransport('usb', { env: {}, usb: new FakeUsb([]) }), {
    message: /no USB Bluetooth controller \(class E0\/01\/01\)/,
    hint: /plug in a Bluetooth dongle; `lsusb`/,
  })
})

t.test('errors are explained: access denied, busy, Windows without WinUSB', async (t) => {
  const denied = new FakeBtDevice(0x0a12, 0x0001)
  denied.faults.open = usbError('LIBUSB_ERROR_ACCESS', 'LIBUSB_ERROR_ACCESS: Access denied (insufficient permissions)')
  await t.rejects(openUsb({ nth: 0 }, { usb: new FakeUsb([denied]), platform: 'linux' }), {
    name: 'TransportError',
    message: /opening the device failed/,
    hint: /SUBSYSTEM=="usb", ATTRS\{idVendor\}=="0a12", ATTRS\{idProduct\}=="0001", MODE="0660", TAG\+="uaccess"[\s\S]*udevadm/,
  })

  const busy = new FakeBtDevice(0x0a12, 0x0001)
  busy.faults.detach = usbError('LIBUSB_ERROR_ACCESS', 'LIBUSB_ERROR_ACCESS: Access denied')
  await t.rejects(openUsb({ nth: 0 }, { usb: new FakeUsb([busy]), platform: 'linux' }), {
    message: /claiming interface 0 failed: LIBUSB_ERROR_BUSY/,
    hint: /btusb[\s\S]*modprobe -r btusb/,
  })
  t.same(
    busy.calls,
    ['open', 'detach 0', 'claim 0', 'close'],
    'closed again after the failure, no attach (nothing was detached)',
  )

  const win = new FakeBtDevice(0x0a12, 0x0001)
  win.faults.open = usbError(
    'LIBUSB_ERROR_NOT_SUPPORTED',
    'LIBUSB_ERROR_NOT_SUPPORTED: Operation not supported or unimplemented on this platform',
  )
  await t.rejects(openUsb({ nth: 0 }, { usb: new FakeUsb([win]), platform: 'win32' }), {
    name: 'TransportError',
    hint: /WinUSB[\s\S]*Zadig[\s\S]*0a12:0001/,
  })
  t.notOk(win.calls.includes('detach 0'), 'no kernel driver detaching off Linux')

  const claimFails = new FakeBtDevice(0x0a12, 0x0001)
  claimFails.faults.claim = usbError('LIBUSB_ERROR_BUSY', 'LIBUSB_ERROR_BUSY: Resource busy')
  await t.rejects(openUsb({ nth: 0 }, { usb: new FakeUsb([claimFails]), platform: 'linux' }), {
    name: 'TransportError',
    hint: /btusb/,
  })
  t.same(
    claimFails.calls.slice(-2),
    ['attach 0', 'close'],
    'the detached kernel driver is given back when claiming fails',
  )

  const list = new FakeUsb([])
  list.listFault = new Error('getDevices error: /sys/bus/usb/devices/ not found (errno 2)')
  await t.rejects(openUsb({ nth: 0 }, { usb: list, platform: 'linux' }), {
    message: /cannot list USB devices/,
    hint: /\/sys\/bus\/usb/,
  })
})

const real = process.env['HCIKIT_TEST_USB']
t.test(
  'a real dongle (HCIKIT_TEST_USB=VID:PID)',
  { skip: real ? false : 'set HCIKIT_TEST_USB=VID:PID to run against a real dongle' },
  async (t) => {
    const transport = await openTransport(`usb:${real}`, { env: {} })
    t.teardown(() => transport.close())
    const host = new HciHost(transport, { clock: realClock })
    const info = await within(host.init(), 'init() on the real dongle')
    t.match(info.address, /^([0-9A-F]{2}:){5}[0-9A-F]{2}$/)
  },
)
