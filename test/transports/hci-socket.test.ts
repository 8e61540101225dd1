// src/transports/hci-socket.ts: over a fake addon (the seam), then the real addon on this
// machine (no adapter: the explanation must match the errno we got), then a real adapter
// when HCIKIT_TEST_HCI=N is set.
import t from 'tap'
import { TransportError } from '../../hci/errors.ts'
import { HciHost } from '../../hci/host.ts'
import type { HciPacket } from '../../hci/transport.ts'
import type { HciDeviceInfo, HciSocketAddon, HciSocketHandle } from '../../src/native/load.ts'
import { HciSocketError, explainHciSocketError, openHciSocket } from '../../src/transports/hci-socket.ts'
import { openTransport } from '../../src/transports/index.ts'
import { realClock, within } from './helpers.ts'

const errno = (code: string, syscall = 'bind'): NodeJS.ErrnoException =>
  Object.assign(new Error(`${syscall} ${code}: x`), { code, syscall, errno: -1 })

class FakeAddon implements HciSocketAddon {
  opened: number[] = []
  written: number[][] = []
  closes = 0
  openError: Error | undefined
  writeError: Error | undefined
  devices: HciDeviceInfo[] = []
  onPacket: ((b: Buffer) => void) | undefined
  onError: ((code: string, errno: number) => void) | undefined
  open(index: number): HciSocketHandle {
    this.opened.push(index)
    if (this.openError) throw this.openError
    return { fake: index } as unknown as HciSocketHandle
  }
  start(_h: HciSocketHandle, onPacket: (b: Buffer) => void, onError: (code: string, errno: number) => void): void {
    this.onPacket = onPacket
    this.onError = onError
  }
  write(_h: HciSocketHandle, bytes: Uint8Array): number {
    if (this.writeError) throw this.writeError
    this.written.push([...bytes])
    return bytes.length
  }
  close(): void {
    this.closes++
  }
  listDevices(): HciDeviceInfo[] {
    return this.devices
  }
}

t.test('packets carry the H4 type byte on the socket, both ways', async (t) => {
  const addon = new FakeAddon()
  const tr = await openTransport('hci:3', { env: {}, hciSocket: addon })
  t.same(addon.opened, [3])
  const got: HciPacket[] = []
  tr.onPacket((p) => got.push(p))
  // HCI_Reset (opcode 0x0c03, no parameters) as a command packet: 01 03 0c 00.
  tr.send({ type: 0x01, data: Uint8Array.of(0x03, 0x0c, 0x00) })
  t.same(addon.written, [[0x01, 0x03, 0x0c, 0x00]])
  // Command Complete for it: 04 0e 04 01 03 0c 00.
  addon.onPacket!(Buffer.from([0x04, 0x0e, 0x04, 0x01, 0x03, 0x0c, 0x00]))
  addon.onPacket!(Buffer.alloc(0)) // nothing to deliver
  t.equal(got.length, 1)
  t.equal(got[0]!.type, 0x04)
  t.same([...got[0]!.data], [0x0e, 0x04, 0x01, 0x03, 0x0c, 0x00])
  const closed: Array<Error | undefined> = []
  tr.onClose((e) => closed.push(e))
  await tr.close()
  await tr.close()
  t.equal(addon.closes, 1, 'closed once')
  t.same(closed, [undefined])
  t.throws(() => tr.send({ type: 1, data: new Uint8Array(3) }), TransportError)
  addon.onPacket!(Buffer.from([0x04, 0x0e, 0x00]))
  t.equal(got.length, 1, 'nothing delivered after close')
})

t.test('a read error (adapter unplugged) closes the transport with the explanation', async (t) => {
  const addon = new FakeAddon()
  const tr = await openHciSocket(1, { addon })
  const closed: Array<Error | undefined> = []
  tr.onClose((e) => closed.push(e))
  addon.onError!('EPIPE', -32)
  t.equal(closed.length, 1)
  t.type(closed[0], HciSocketError)
  t.match(closed[0], { errnoCode: 'EPIPE', message: /^hci1: the adapter went away/, hint: /plug it back in/ })
  t.equal(addon.closes, 1)
})

t.test('a write error: fatal ones close the transport, back-pressure ones do not', async (t) => {
  const addon = new FakeAddon()
  const tr = await openHciSocket(0, { addon })
  const closed: Array<Error | undefined> = []
  tr.onClose((e) => closed.push(e))
  addon.writeError = errno('EAGAIN', 'write')
  t.throws(() => tr.send({ type: 1, data: new Uint8Array(3) }), { name: 'HciSocketError', errnoCode: 'EAGAIN' })
  t.equal(closed.length, 0)
  addon.writeError = errno('ENODEV', 'write')
  t.throws(() => tr.send({ type: 1, data: new Uint8Array(3) }), { name: 'HciSocketError', errnoCode: 'ENODEV' })
  t.equal(closed.length, 1)
  t.equal(addon.closes, 1)
})

t.test('each errno is explained with the command that fixes it', async (t) => {
  const eperm = explainHciSocketError(0, errno('EPERM'))
  t.match(eperm, { errnoCode: 'EPERM', message: /^hci0: .*CAP_NET_ADMIN and CAP_NET_RAW/ })
  t.match(eperm.hint, /sudo setcap cap_net_admin,cap_net_raw\+eip \//)
  t.match(eperm.hint, /run as root/)
  const ebusy = explainHciSocketError(2, errno('EBUSY'))
  t.match(ebusy, { errnoCode: 'EBUSY', message: /^hci2: the adapter is up and held by the OS Bluetooth daemon/ })
  t.ok(ebusy.hint!.includes('`sudo btmgmt --index 2 power off`'))
  t.ok(ebusy.hint!.includes('`sudo hciconfig hci2 down`'))
  t.ok(ebusy.hint!.includes('`sudo btmgmt --index 2 power on`'))
  t.match(explainHciSocketError(0, errno('EALREADY')), { message: /already has the user channel/ })
  t.match(explainHciSocketError(0, errno('ERFKILL')), { hint: /sudo rfkill unblock bluetooth/ })
  const eaf = explainHciSocketError(0, errno('EAFNOSUPPORT', 'socket'))
  t.match(eaf, { errnoCode: 'EAFNOSUPPORT', message: /no Bluetooth sockets/, hint: /modprobe bluetooth/ })
  t.match(explainHciSocketError(0, errno('EIO')), {
    errnoCode: 'EIO',
    message: /HCI socket failed/,
    hint: /hcikit doctor/,
  })
  t.equal(explainHciSocketError(0, errno('EIO')).cause instanceof Error, true, 'the errno error is the cause')

  const existing: HciDeviceInfo[] = [
    { index: 0, name: 'hci0', up: true },
    { index: 1, name: 'hci1', up: false },
  ]
  const enodev = explainHciSocketError(5, errno('ENODEV'), () => existing)
  t.match(enodev, { errnoCode: 'ENODEV', message: /^hci5: no such adapter/ })
  t.match(
    enodev.hint,
    /adapters here: hci0 \(up: held by the OS\), hci1 \(down: free\); use one of those \(--transport hci0\)/,
  )
  t.match(
    explainHciSocketError(5, errno('ENODEV'), () => []).hint,
    /no Bluetooth adapter at all: plug in a USB Bluetooth dongle/,
  )
  const unlisted = explainHciSocketError(5, errno('ENODEV'), () => {
    throw errno('EAFNOSUPPORT', 'socket')
  })
  t.match(unlisted.hint, /hcikit doctor/)
})

t.test('open errors from the addon come back explained, listing what exists', async (t) => {
  const addon = new FakeAddon()
  addon.openError = errno('ENODEV')
  addon.devices = [{ index: 1, name: 'hci1', up: false }]
  await t.rejects(openTransport('hci7', { env: {}, hciSocket: addon }), {
    name: 'HciSocketError',
    errnoCode: 'ENODEV',
    hint: /hci1 \(down: free\)/,
  })
  const aborted = new AbortController()
  aborted.abort()
  await t.rejects(openHciSocket(0, { addon, signal: aborted.signal }))
})

// The explanation each errno must produce (message, hint): independent of the code above.
const EXPECTED: Record<string, [RegExp, RegExp]> = {
  ENODEV: [/no such adapter/, /plug in a USB Bluetooth dongle|adapters here: hci/],
  EAFNOSUPPORT: [/no Bluetooth sockets/, /modprobe bluetooth/],
  EPROTONOSUPPORT: [/no Bluetooth sockets/, /modprobe bluetooth/],
  EPERM: [/CAP_NET_ADMIN and CAP_NET_RAW/, /setcap cap_net_admin,cap_net_raw\+eip/],
  EACCES: [/CAP_NET_ADMIN and CAP_NET_RAW/, /setcap cap_net_admin,cap_net_raw\+eip/],
  EBUSY: [/held by the OS Bluetooth daemon/, /btmgmt --index 0 power off/],
}

t.test(
  'this machine: opening hci0 fails with the explanation of the errno it gets',
  { skip: process.platform !== 'linux' || process.env['HCIKIT_TEST_HCI'] === '0' },
  async (t) => {
    const err = await openTransport('hci0', { env: {} }).then(
      async (tr) => {
        await tr.close()
        return undefined
      },
      (e: unknown) => e,
    )
    if (err === undefined) return t.pass('hci0 is free on this machine and opened (HCIKIT_TEST_HCI=0 drives it)')
    t.type(err, HciSocketError, `the addon loaded and the kernel answered: ${(err as Error).message}`)
    const e = err as HciSocketError
    const cause = e.cause as NodeJS.ErrnoException
    t.equal(e.errnoCode, cause.code, 'the errno of the system call')
    t.comment(`errno here: ${e.errnoCode} from ${cause.syscall}: ${e.message} / ${e.hint}`)
    const expected = EXPECTED[e.errnoCode]
    t.ok(expected, `an errno a machine without a free adapter gives (${e.errnoCode})`)
    if (expected) {
      t.match(e.message, expected[0])
      t.match(e.hint, expected[1])
    }
  },
)

const realIndex = process.env['HCIKIT_TEST_HCI']
t.test(
  'a real adapter (HCIKIT_TEST_HCI=N): init() over the user channel',
  { skip: realIndex === undefined ? 'set HCIKIT_TEST_HCI=N to drive hciN' : false },
  async (t) => {
    const tr = await openTransport(`hci${realIndex}`, { env: {} })
    t.teardown(() => tr.close())
    const host = new HciHost(tr, { clock: realClock })
    const info = await within(host.init(), 'init() on the real adapter')
    t.match(info, { address: /\S/ })
    t.comment(
      JSON.stringify(info, (_k, v: unknown) =>
        typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v,
      ).slice(0, 400),
    )
  },
)
