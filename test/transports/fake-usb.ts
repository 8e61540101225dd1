/**
 * A fake at the `usb` package's WebUSB boundary that follows the Bluetooth USB layout (Core v5.4
 * Vol 4 Part B 2.1): interface 0 (class E0/01/01) with interrupt IN 1 (events), bulk IN 2 and
 * bulk OUT 2 (ACL); interface 1 with isochronous endpoints 3 (SCO), which must never be touched.
 * Behind it sits any controller-side Transport (a virtual controller): class requests on the
 * control endpoint become commands, bulk OUT becomes ACL; events and ACL from the controller
 * wait for the next transferIn on their endpoint, cut into transfers of at most `chunk` bytes.
 * Faults can be scripted: open/claim errors, and unplugging.
 */
import type { HciPacket, Transport } from '../../hci/transport.ts'
import type { UsbDeviceLike, UsbEndpointLike, UsbInterfaceLike, UsbLike } from '../../src/transports/usb.ts'

class LibusbError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

export const usbError = (code: string, message: string): Error => new LibusbError(code, message)

const ep = (
  endpointNumber: number,
  direction: 'in' | 'out',
  type: UsbEndpointLike['type'],
  packetSize: number,
): UsbEndpointLike => ({
  endpointNumber,
  direction,
  type,
  packetSize,
})

export const BLUETOOTH_INTERFACES: UsbInterfaceLike[] = [
  {
    interfaceNumber: 0,
    alternate: {
      interfaceClass: 0xe0,
      interfaceSubclass: 0x01,
      interfaceProtocol: 0x01,
      endpoints: [ep(1, 'in', 'interrupt', 16), ep(2, 'in', 'bulk', 64), ep(2, 'out', 'bulk', 64)],
    },
  },
  {
    interfaceNumber: 1,
    alternate: {
      interfaceClass: 0xe0,
      interfaceSubclass: 0x01,
      interfaceProtocol: 0x01,
      endpoints: [ep(3, 'in', 'isochronous', 0), ep(3, 'out', 'isochronous', 0)],
    },
  },
]

type Waiter = { resolve: (r: { status: 'ok'; data: DataView }) => void; reject: (e: Error) => void; length: number }

export class FakeBtDevice implements UsbDeviceLike {
  deviceClass = 0xe0
  deviceSubclass = 0x01
  deviceProtocol = 0x01
  productName = 'Fake BT'
  opened = false
  configured = true
  claimed = new Set<number>()
  kernelDriver = true
  /** Every call at the boundary, in order: 'open', 'detach 0', 'control', 'out 2', 'in 1', ... */
  readonly calls: string[] = []
  readonly commands: Uint8Array[] = []
  readonly aclOut: Uint8Array[] = []
  /** Faults to throw from open / claimInterface / detachKernelDriver. */
  faults: { open?: Error; claim?: Error; detach?: Error; controlOut?: Error } = {}
  /** Transfers never exceed this many bytes (packets are cut across transfers). */
  chunk = 16
  /** When false, sends stay pending (to test unplugging with transfers in flight). */
  answerOut = true
  private readonly queues = new Map<number, Uint8Array>([
    [1, new Uint8Array(0)],
    [2, new Uint8Array(0)],
  ])
  private readonly waiters = new Map<number, Waiter[]>([
    [1, []],
    [2, []],
  ])
  private readonly outPending: Array<(e: Error) => void> = []
  private unplugged = false
  private controller: Transport | undefined

  constructor(
    readonly vendorId: number,
    readonly productId: number,
  ) {}

  get configuration(): { interfaces: UsbInterfaceLike[] } | null {
    return this.configured ? { interfaces: BLUETOOTH_INTERFACES } : null
  }

  /** Put a controller behind the device. */
  connect(controller: Transport): void {
    this.controller = controller
    controller.onPacket((p: HciPacket) => this.fromController(p))
  }

  /** Bytes for an IN endpoint (1: events, 2: ACL), as the controller would send them. */
  fromController(p: HciPacket): void {
    const n = p.type === 4 ? 1 : p.type === 2 ? 2 : 0
    if (n === 0) return
    const q = this.queues.get(n)!
    const merged = new Uint8Array(q.length + p.data.length)
    merged.set(q)
    merged.set(p.data, q.length)
    this.queues.set(n, merged)
    this.pump(n)
  }

  private pump(n: number): void {
    const waiters = this.waiters.get(n)!
    while (waiters.length > 0 && this.queues.get(n)!.length > 0) {
      const w = waiters.shift()!
      const q = this.queues.get(n)!
      const take = Math.min(q.length, w.length, this.chunk)
      const out = q.slice(0, take)
      this.queues.set(n, q.slice(take))
      w.resolve({ status: 'ok', data: new DataView(out.buffer) })
    }
  }

  private check(): void {
    if (this.unplugged)
      throw usbError('LIBUSB_ERROR_NO_DEVICE', 'LIBUSB_ERROR_NO_DEVICE: No such device (it may have been disconnected)')
    if (!this.opened) throw new Error('device not open')
  }

  async open(): Promise<void> {
    this.calls.push('open')
    if (this.faults.open) throw this.faults.open
    this.opened = true
  }

  async close(): Promise<void> {
    this.calls.push('close')
    this.opened = false
    for (const [, ws] of this.waiters)
      for (const w of ws.splice(0)) w.reject(usbError('LIBUSB_TRANSFER_CANCELLED', 'transfer was cancelled'))
  }

  async selectConfiguration(v: number): Promise<void> {
    this.calls.push(`configuration ${v}`)
    this.configured = true
  }

  async claimInterface(n: number): Promise<void> {
    this.check()
    this.calls.push(`claim ${n}`)
    if (this.faults.claim) throw this.faults.claim
    if (this.kernelDriver) throw usbError('LIBUSB_ERROR_BUSY', 'LIBUSB_ERROR_BUSY: Resource busy')
    this.claimed.add(n)
  }

  async releaseInterface(n: number): Promise<void> {
    this.calls.push(`release ${n}`)
    this.claimed.delete(n)
  }

  async detachKernelDriver(n: number): Promise<void> {
    this.calls.push(`detach ${n}`)
    if (this.faults.detach) throw this.faults.detach
    if (!this.kernelDriver) throw usbError('LIBUSB_ERROR_NOT_FOUND', 'LIBUSB_ERROR_NOT_FOUND: Entity not found')
    this.kernelDriver = false
  }

  async attachKernelDriver(n: number): Promise<void> {
    this.calls.push(`attach ${n}`)
    this.kernelDriver = true
  }

  async controlTransferOut(
    setup: { requestType: string; recipient: string; request: number; value: number; index: number },
    data?: Uint8Array,
  ): Promise<{ status: 'ok'; bytesWritten: number }> {
    this.check()
    this.calls.push('control')
    if (this.faults.controlOut) throw this.faults.controlOut
    // Part B 2.2.1: bmRequestType 0x20 (class, host-to-device, device), bRequest 0, wValue 0, wIndex 0.
    if (
      setup.requestType !== 'class' ||
      setup.recipient !== 'device' ||
      setup.request !== 0 ||
      setup.value !== 0 ||
      setup.index !== 0
    ) {
      throw new Error(`not an HCI command request: ${JSON.stringify(setup)}`)
    }
    const bytes = data!.slice()
    this.commands.push(bytes)
    return this.complete(bytes.length, () => this.controller?.send({ type: 1, data: bytes }))
  }

  async transferOut(n: number, data: Uint8Array): Promise<{ status: 'ok'; bytesWritten: number }> {
    this.check()
    this.calls.push(`out ${n}`)
    if (n !== 2) throw new Error(`OUT endpoint ${n} is not the ACL bulk endpoint`)
    const bytes = data.slice()
    this.aclOut.push(bytes)
    return this.complete(bytes.length, () => this.controller?.send({ type: 2, data: bytes }))
  }

  private complete(n: number, forward: () => void): Promise<{ status: 'ok'; bytesWritten: number }> {
    if (this.answerOut) {
      forward()
      return Promise.resolve({ status: 'ok', bytesWritten: n })
    }
    return new Promise((_, reject) => this.outPending.push(reject))
  }

  async transferIn(n: number, length: number): Promise<{ status: 'ok'; data: DataView }> {
    this.check()
    if (!this.calls.includes(`in ${n}`)) this.calls.push(`in ${n}`)
    if (n !== 1 && n !== 2) throw new Error(`IN endpoint ${n} is not a Bluetooth HCI endpoint`)
    return new Promise((resolve, reject) => {
      this.waiters.get(n)!.push({ resolve, reject, length })
      this.pump(n)
    })
  }

  async clearHalt(direction: 'in' | 'out', n: number): Promise<void> {
    this.calls.push(`clear-halt ${direction} ${n}`)
  }

  /** The device goes away: pending transfers fail as libusb reports it. */
  unplug(): void {
    this.unplugged = true
    const err = usbError(
      'LIBUSB_ERROR_NO_DEVICE',
      'LIBUSB_ERROR_NO_DEVICE: No such device (it may have been disconnected)',
    )
    for (const [, ws] of this.waiters) for (const w of ws.splice(0)) w.reject(err)
    for (const r of this.outPending.splice(0)) r(err)
  }
}

/** The WebUSB object over a set of fake devices. */
export class FakeUsb implements UsbLike {
  private readonly listeners = new Set<(ev: { device: UsbDeviceLike }) => void>()
  listFault: Error | undefined

  constructor(readonly devices: UsbDeviceLike[]) {}

  async getDevices(): Promise<UsbDeviceLike[]> {
    if (this.listFault) throw this.listFault
    return [...this.devices]
  }

  addEventListener(_type: 'disconnect', cb: (ev: { device: UsbDeviceLike }) => void): void {
    this.listeners.add(cb)
  }

  removeEventListener(_type: 'disconnect', cb: (ev: { device: UsbDeviceLike }) => void): void {
    this.listeners.delete(cb)
  }

  get listenerCount(): number {
    return this.listeners.size
  }

  /** Unplug `device`: its transfers fail, then the disconnect event. */
  unplug(device: FakeBtDevice): void {
    this.devices.splice(this.devices.indexOf(device), 1)
    device.unplug()
    for (const cb of [...this.listeners]) cb({ device })
  }
}
