/**
 * USB transport (Core v5.4 Vol 4 Part B, "USB Transport Layer"), spec `usb` or
 * `usb:VID:PID[:N]`, over the `usb` package's WebUSB-style API (3.x).
 *
 * Layout (Part B 2.1): interface 0 carries HCI: commands go out on the control endpoint as a
 * class request to the device (bmRequestType 0x20, bRequest 0, wValue 0, wIndex 0), events come
 * in on the interrupt IN endpoint, ACL data goes out and comes in on the bulk endpoints.
 * Interface 1 (isochronous, SCO) is left alone, and so are SCO and ISO packets: `send` rejects
 * them. A controller is found by class E0/01/01 (Wireless Controller / RF / Bluetooth, on the
 * device or on interface 0) or by VID:PID, the Nth match counting from 0.
 *
 * Transfers do not necessarily end on packet boundaries (an event that fills whole max-size
 * packets, a long ACL packet), so each IN endpoint has an accumulator that cuts packets by their
 * header's length field (Part E 5.4.2, 5.4.4). One transfer is kept pending per IN endpoint.
 *
 * Opening: open the device, detach the kernel driver from interface 0 where the OS allows it
 * (Linux; reattached on close), claim interface 0. Unplugging (the `disconnect` event, or a
 * transfer failing with "no device") rejects every pending send with a TransportError and closes
 * the transport with one. Errors are explained: access denied (a udev rule), busy (the kernel
 * driver), Windows without WinUSB (Zadig).
 *
 * The `usb` module is a parameter (`OpenUsbOptions.usb`): the tests give a fake device that
 * follows the layout above; by default `import('usb').usb` (all devices allowed) is used.
 */
import { TransportError } from '../../hci/errors.ts'
import { H4Type } from '../../hci/h4.ts'
import type { HciPacket, Transport } from '../../hci/transport.ts'

// --- the part of the WebUSB API this transport uses -------------------------------------------

export interface UsbEndpointLike {
  endpointNumber: number
  direction: 'in' | 'out'
  type: 'bulk' | 'interrupt' | 'isochronous'
  packetSize: number
}
export interface UsbInterfaceLike {
  interfaceNumber: number
  alternate: {
    interfaceClass: number
    interfaceSubclass: number
    interfaceProtocol: number
    endpoints: UsbEndpointLike[]
  }
}
export interface UsbTransferResult {
  status: 'ok' | 'stall' | 'babble'
}
export interface UsbDeviceLike {
  vendorId: number
  productId: number
  deviceClass: number
  deviceSubclass: number
  deviceProtocol: number
  productName?: string | null | undefined
  readonly configuration: { interfaces: UsbInterfaceLike[] } | null | undefined
  open(): Promise<void>
  close(): Promise<void>
  selectConfiguration(value: number): Promise<void>
  claimInterface(n: number): Promise<void>
  releaseInterface(n: number): Promise<void>
  detachKernelDriver?(n: number): Promise<void>
  attachKernelDriver?(n: number): Promise<void>
  controlTransferOut(
    setup: {
      requestType: 'standard' | 'class' | 'vendor'
      recipient: 'device' | 'interface' | 'endpoint' | 'other'
      request: number
      value: number
      index: number
    },
    data?: Uint8Array,
  ): Promise<UsbTransferResult & { bytesWritten: number }>
  transferIn(endpointNumber: number, length: number): Promise<UsbTransferResult & { data?: DataView | undefined }>
  transferOut(endpointNumber: number, data: Uint8Array): Promise<UsbTransferResult & { bytesWritten: number }>
  clearHalt(direction: 'in' | 'out', endpointNumber: number): Promise<void>
}
export interface UsbLike {
  getDevices(): Promise<UsbDeviceLike[]>
  addEventListener(type: 'disconnect', cb: (ev: { device: UsbDeviceLike }) => void): void
  removeEventListener(type: 'disconnect', cb: (ev: { device: UsbDeviceLike }) => void): void
}

export interface OpenUsbOptions {
  signal?: AbortSignal
  /** The WebUSB object (default: the `usb` package's `usb`). */
  usb?: UsbLike
  /** The platform, for error hints and whether to detach kernel drivers (default process.platform). */
  platform?: NodeJS.Platform
}

const hex4 = (v: number): string => v.toString(16).padStart(4, '0')

/** Class E0/01/01 on the device or on interface 0 (Part B 2.1). */
export function isBluetoothController(d: UsbDeviceLike): boolean {
  const bt = (c: number, s: number, p: number): boolean => c === 0xe0 && s === 0x01 && p === 0x01
  if (bt(d.deviceClass, d.deviceSubclass, d.deviceProtocol)) return true
  const i0 = d.configuration?.interfaces.find((i) => i.interfaceNumber === 0)
  return (
    i0 !== undefined && bt(i0.alternate.interfaceClass, i0.alternate.interfaceSubclass, i0.alternate.interfaceProtocol)
  )
}

const udevRule = (d: UsbDeviceLike): string =>
  `SUBSYSTEM=="usb", ATTRS{idVendor}=="${hex4(d.vendorId)}", ATTRS{idProduct}=="${hex4(d.productId)}", MODE="0660", TAG+="uaccess"`

function explain(step: string, name: string, d: UsbDeviceLike, e: unknown, platform: NodeJS.Platform): TransportError {
  const m = e instanceof Error ? `${(e as NodeJS.ErrnoException).code ?? ''} ${e.message}` : String(e)
  let hint: string | undefined
  if (/ACCESS|access denied|EACCES|permission/i.test(m)) {
    hint =
      platform === 'linux'
        ? `no permission for the device: add a udev rule, e.g. in /etc/udev/rules.d/50-hcikit.rules:\n  ` +
          `${udevRule(d)}\nthen \`sudo udevadm control --reload && sudo udevadm trigger\` and replug the ` +
          `dongle`
        : 'no permission for the device: run with the rights to open USB devices'
  } else if (/BUSY|busy/i.test(m)) {
    hint =
      platform === 'linux'
        ? `a kernel driver (btusb) holds interface 0 and could not be detached: \`sudo modprobe -r btusb\` ` +
          `for the session (\`sudo modprobe btusb\` gives it back), or run with the rights to detach it`
        : 'another driver holds the device: on macOS the system Bluetooth stack owns built-in controllers; use a second dongle'
  } else if (platform === 'win32' && /NOT_SUPPORTED|not supported|NOT_FOUND|entity not found/i.test(m)) {
    hint =
      `Windows has no WinUSB driver on this device: install it with Zadig (https://zadig.akeo.ie) for ` +
      `${hex4(d.vendorId)}:${hex4(d.productId)} (Windows Bluetooth stops using that dongle)`
  } else if (/NO_DEVICE|no device|disconnected/i.test(m)) {
    hint = 'the device went away (unplugged?): plug it back in and open the transport again'
  }
  return new TransportError(
    `${name}: ${step} failed: ${m.trim()}`,
    hint === undefined ? { cause: e } : { cause: e, hint },
  )
}

/** Cuts packets out of an IN endpoint's transfers by their header length field. */
class Accumulator {
  private buf = new Uint8Array(0)
  constructor(
    private readonly headerLength: number,
    private readonly payloadLength: (b: Uint8Array) => number,
    private readonly emit: (data: Uint8Array) => void,
  ) {}

  push(chunk: Uint8Array): void {
    let buf = chunk
    if (this.buf.length > 0) {
      buf = new Uint8Array(this.buf.length + chunk.length)
      buf.set(this.buf)
      buf.set(chunk, this.buf.length)
    }
    let at = 0
    while (buf.length - at >= this.headerLength) {
      const total = this.headerLength + this.payloadLength(buf.subarray(at))
      if (buf.length - at < total) break
      this.emit(buf.subarray(at, at + total))
      at += total
    }
    this.buf = buf.slice(at)
  }
}

class UsbTransport implements Transport {
  private readonly packetCbs: Array<(p: HciPacket) => void> = []
  private readonly closeCbs: Array<(err?: Error) => void> = []
  private readonly pending = new Set<(err: Error) => void>()
  private closing: Promise<void> | undefined
  private notified = false
  private readonly onDisconnect = (ev: { device: UsbDeviceLike }): void => {
    if (ev.device === this.device)
      this.fail(
        new TransportError(`${this.name}: the device was unplugged`, {
          hint: 'plug it back in and open the transport again',
        }),
      )
  }

  constructor(
    readonly name: string,
    private readonly usb: UsbLike,
    private readonly device: UsbDeviceLike,
    private readonly ep: { event: UsbEndpointLike; aclIn: UsbEndpointLike; aclOut: UsbEndpointLike },
    private readonly detached: boolean,
    private readonly platform: NodeJS.Platform,
  ) {
    usb.addEventListener('disconnect', this.onDisconnect)
    const deliver = (type: number) => (data: Uint8Array) => {
      for (const cb of this.packetCbs) cb({ type, data })
    }
    void this.readLoop(ep.event, new Accumulator(2, (b) => b[1]!, deliver(H4Type.Event)))
    void this.readLoop(ep.aclIn, new Accumulator(4, (b) => b[2]! | (b[3]! << 8), deliver(H4Type.Acl)))
  }

  private async readLoop(ep: UsbEndpointLike, acc: Accumulator): Promise<void> {
    const length = ep.type === 'interrupt' ? 1024 : 4096
    while (!this.closing) {
      let r: Awaited<ReturnType<UsbDeviceLike['transferIn']>>
      try {
        r = await this.device.transferIn(ep.endpointNumber, length)
      } catch (e) {
        if (!this.closing)
          this.fail(explain(`reading endpoint ${ep.endpointNumber}`, this.name, this.device, e, this.platform))
        return
      }
      if (this.closing) return
      if (r.status === 'stall') {
        await this.device.clearHalt('in', ep.endpointNumber).catch(() => undefined)
        continue
      }
      if (r.status === 'ok' && r.data && r.data.byteLength > 0) {
        // A fresh copy: the receiver owns what it is given.
        acc.push(new Uint8Array(r.data.buffer.slice(r.data.byteOffset, r.data.byteOffset + r.data.byteLength)))
      }
    }
  }

  send(packet: HciPacket): Promise<void> {
    if (this.closing) return Promise.reject(new TransportError(`${this.name}: send on a closed transport`))
    const data = packet.data.slice()
    let transfer: Promise<UsbTransferResult>
    switch (packet.type) {
      case H4Type.Command:
        transfer = this.device.controlTransferOut(
          { requestType: 'class', recipient: 'device', request: 0, value: 0, index: 0 },
          data,
        )
        break
      case H4Type.Acl:
        transfer = this.device.transferOut(this.ep.aclOut.endpointNumber, data)
        break
      default:
        return Promise.reject(
          new TransportError(
            `${this.name}: H4 packet type ${packet.type} is not carried by this USB transport (SCO and ISO endpoints are left alone)`,
          ),
        )
    }
    return new Promise<void>((resolve, reject) => {
      const settle = (err?: Error): void => {
        if (!this.pending.delete(settle)) return
        if (err) reject(err)
        else resolve()
      }
      this.pending.add(settle)
      transfer.then(
        (r) =>
          settle(
            r.status === 'ok'
              ? undefined
              : new TransportError(
                  `${this.name}: ${packet.type === H4Type.Command ? 'command' : 'ACL'} transfer ended with ${r.status}`,
                ),
          ),
        (e: unknown) => settle(explain('sending', this.name, this.device, e, this.platform)),
      )
    })
  }

  onPacket(cb: (packet: HciPacket) => void): void {
    this.packetCbs.push(cb)
  }

  onClose(cb: (err?: Error) => void): void {
    this.closeCbs.push(cb)
  }

  close(): Promise<void> {
    this.closing ??= this.release(undefined, true)
    return this.closing
  }

  private fail(err: Error): void {
    this.closing ??= this.release(err, false)
  }

  private async release(err: Error | undefined, present: boolean): Promise<void> {
    this.usb.removeEventListener('disconnect', this.onDisconnect)
    const pendingErr = err ?? new TransportError(`${this.name}: closed before the transfer completed`)
    for (const settle of [...this.pending]) settle(pendingErr)
    if (present) {
      await this.device.releaseInterface(0).catch(() => undefined)
      if (this.detached) await this.device.attachKernelDriver?.(0).catch(() => undefined)
    }
    await this.device.close().catch(() => undefined)
    if (this.notified) return
    this.notified = true
    for (const cb of this.closeCbs) cb(err)
  }
}

async function loadUsb(): Promise<UsbLike> {
  try {
    const m = await import('usb')
    return m.usb as unknown as UsbLike
  } catch (e) {
    throw new TransportError(`usb: the usb library does not load: ${(e as Error).message}`, {
      cause: e,
      hint: 'reinstall it with `npm install usb` (it ships prebuilt binaries for Linux, macOS and Windows)',
    })
  }
}

/** Open a USB Bluetooth controller: `{ vendorId, productId }` (or neither: by class), the Nth. */
export async function openUsb(
  spec: { vendorId?: number; productId?: number; nth: number },
  opts: OpenUsbOptions = {},
): Promise<Transport> {
  const platform = opts.platform ?? process.platform
  const usb = opts.usb ?? (await loadUsb())
  const ids =
    spec.vendorId !== undefined && spec.productId !== undefined
      ? `${hex4(spec.vendorId)}:${hex4(spec.productId)}`
      : undefined
  const name = ids ? `usb:${ids}${spec.nth ? `:${spec.nth}` : ''}` : 'usb'
  opts.signal?.throwIfAborted()
  let devices: UsbDeviceLike[]
  try {
    devices = await usb.getDevices()
  } catch (e) {
    throw new TransportError(`${name}: cannot list USB devices: ${(e as Error).message}`, {
      cause: e,
      hint: platform === 'linux' ? 'is /sys/bus/usb mounted (in a container, pass the USB bus through)?' : undefined,
    } as object)
  }
  const matches = devices.filter((d) =>
    ids ? d.vendorId === spec.vendorId && d.productId === spec.productId : isBluetoothController(d),
  )
  const device = matches[spec.nth]
  if (!device) {
    const seen = devices.filter(isBluetoothController).map((d) => `${hex4(d.vendorId)}:${hex4(d.productId)}`)
    const what = ids ? `no USB device ${ids}` : 'no USB Bluetooth controller (class E0/01/01)'
    throw new TransportError(`${name}: ${what}${spec.nth ? ` number ${spec.nth} (found ${matches.length})` : ''}`, {
      hint: seen.length
        ? `Bluetooth controllers present: ${seen.map((s) => `usb:${s}`).join(', ')}`
        : 'plug in a Bluetooth dongle; `lsusb` lists USB devices (use usb:VID:PID for one that does not announce the Bluetooth class)',
    })
  }
  try {
    await device.open()
  } catch (e) {
    throw explain('opening the device', name, device, e, platform)
  }
  let detached = false
  try {
    if (!device.configuration) await device.selectConfiguration(1)
    const iface = device.configuration?.interfaces.find((i) => i.interfaceNumber === 0)
    const eps = iface?.alternate.endpoints ?? []
    const event = eps.find((e) => e.direction === 'in' && e.type === 'interrupt')
    const aclIn = eps.find((e) => e.direction === 'in' && e.type === 'bulk')
    const aclOut = eps.find((e) => e.direction === 'out' && e.type === 'bulk')
    if (!event || !aclIn || !aclOut) {
      throw new TransportError(`${name}: interface 0 lacks the Bluetooth endpoints (interrupt IN, bulk IN, bulk OUT)`, {
        hint: 'this device does not follow the Bluetooth USB layout (Core Vol 4 Part B); is it really a Bluetooth controller?',
      })
    }
    if (platform === 'linux' && device.detachKernelDriver) {
      try {
        await device.detachKernelDriver(0)
        detached = true
      } catch (e) {
        // No driver bound (NOT_FOUND) is fine; anything else shows up at claimInterface.
        void e
      }
    }
    try {
      await device.claimInterface(0)
    } catch (e) {
      throw explain('claiming interface 0', name, device, e, platform)
    }
    return new UsbTransport(name, usb, device, { event, aclIn, aclOut }, detached, platform)
  } catch (e) {
    if (detached) await device.attachKernelDriver?.(0).catch(() => undefined)
    await device.close().catch(() => undefined)
    throw e
  }
}
