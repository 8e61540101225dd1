/**
 * Linux HCI user channel transport, spec `hci0` / `hci:0`: the kernel's AF_BLUETOOTH/BTPROTO_HCI
 * socket bound to HCI_CHANNEL_USER on adapter N (the native addon, src/native/hci_socket.c).
 * The program gets the controller to itself; every read() and write() is one HCI packet of
 * Core v5.4 Vol 4 Part E 5.4 preceded by its H4 packet type indicator (Vol 4 Part A 2), so the
 * packets need no stream framing.
 *
 * Errors are explained (`explainHciSocketError`): EPERM (capabilities), EBUSY (the OS holds the
 * adapter, how to power it off for the session and give it back), EALREADY (another program
 * has the user channel), ENODEV (no such adapter: those that exist), ERFKILL, EAFNOSUPPORT
 * (a kernel or a network namespace without Bluetooth sockets).
 *
 * The addon is a parameter (`OpenHciSocketOptions.addon`) so the tests can drive the transport
 * with a fake socket; by default src/native/load.ts loads the real one.
 */
import { realpathSync } from 'node:fs'
import { TransportError } from '../../hci/errors.ts'
import type { HciPacket, Transport } from '../../hci/transport.ts'
import { requireHciSocketAddon, type HciDeviceInfo, type HciSocketAddon, type HciSocketHandle } from '../native/load.ts'

/** A failure of the HCI socket, with the errno name (`EPERM`, `EBUSY`, ...) it came from. */
export class HciSocketError extends TransportError {
  override name = 'HciSocketError'
  constructor(
    readonly errnoCode: string,
    message: string,
    options: { hint?: string; cause?: unknown } = {},
  ) {
    super(message, options)
  }
}

export interface OpenHciSocketOptions {
  signal?: AbortSignal
  /** The addon to use instead of the real one (tests, other backends). */
  addon?: HciSocketAddon
}

const nodePath = (): string => {
  try {
    return realpathSync(process.execPath)
  } catch {
    return '$(readlink -f $(which node))'
  }
}

function describe(devices: HciDeviceInfo[]): string {
  return devices
    .map((d) => `hci${d.index}${d.error ? ` (${d.error})` : d.up ? ' (up: held by the OS)' : ' (down: free)'}`)
    .join(', ')
}

/** Explain an errno from socket()/bind()/read()/write() on adapter `index`. */
export function explainHciSocketError(
  index: number,
  err: unknown,
  listDevices?: () => HciDeviceInfo[],
): HciSocketError {
  const name = `hci${index}`
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'EUNKNOWN'
  const detail = err instanceof Error ? err.message : String(err)
  const make = (message: string, hint?: string): HciSocketError =>
    new HciSocketError(code, `${name}: ${message}`, hint === undefined ? { cause: err } : { cause: err, hint })
  switch (code) {
    case 'EPERM':
    case 'EACCES':
      return make(
        `no permission for the HCI user channel (${code}): it needs CAP_NET_ADMIN and CAP_NET_RAW`,
        `grant them to node once: \`sudo setcap cap_net_admin,cap_net_raw+eip ${nodePath()}\` (a different ` +
          `node binary needs it again), or run as root; in a container add --cap-add=NET_ADMIN ` +
          `--cap-add=NET_RAW`,
      )
    case 'EBUSY':
      return make(
        `the adapter is up and held by the OS Bluetooth daemon (bluetoothd) (EBUSY)`,
        `power it off for this session: \`sudo btmgmt --index ${index} power off\` (or \`sudo hciconfig ` +
          `${name} down\`); give it back afterwards with \`sudo btmgmt --index ${index} power on\``,
      )
    case 'EALREADY':
      return make(
        `another program already has the user channel of ${name} (EALREADY)`,
        `stop the other program (another hcikit, Bumble, a btproxy) that has ${name} open, then try again`,
      )
    case 'ENODEV': {
      let devices: HciDeviceInfo[] | undefined
      try {
        devices = listDevices?.()
      } catch {
        devices = undefined
      }
      const hint =
        devices === undefined
          ? '`hcikit doctor` lists the adapters and other controllers this machine has'
          : devices.length === 0
            ? 'this machine has no Bluetooth adapter at all: plug in a USB Bluetooth dongle (then it ' +
              'appears as hci0, or use it directly with --transport usb), or use --transport virtual to ' +
              'try hcikit without hardware'
            : `adapters here: ${describe(devices)}; use one of those (--transport hci${devices[0]!.index})`
      return make('no such adapter (ENODEV)', hint)
    }
    case 'ERFKILL':
      return make('the adapter is blocked by rfkill (ERFKILL)', 'unblock it: `sudo rfkill unblock bluetooth`')
    case 'EAFNOSUPPORT':
    case 'EPROTONOSUPPORT':
      return make(
        `this kernel has no Bluetooth sockets (${code})`,
        'load the Bluetooth stack (`sudo modprobe bluetooth`; a kernel built without CONFIG_BT cannot), and ' +
          'in a container or another network namespace use the host network (--net=host); or drive a ' +
          'dongle directly with --transport usb',
      )
    case 'EPIPE':
    case 'ENXIO':
    case 'ENETDOWN':
      return make(`the adapter went away (${code})`, 'plug it back in (or power it again) and open the transport again')
    default:
      return make(`HCI socket failed: ${detail}`, '`hcikit doctor` shows the adapters and the permissions in force')
  }
}

class HciSocketTransport implements Transport {
  private readonly packetCbs: Array<(p: HciPacket) => void> = []
  private readonly closeCbs: Array<(err?: Error) => void> = []
  private closed = false
  private closing: Promise<void> | undefined

  constructor(
    private readonly addon: HciSocketAddon,
    private readonly handle: HciSocketHandle,
    private readonly index: number,
  ) {
    addon.start(
      handle,
      (buf) => {
        if (this.closed || buf.length === 0) return
        const packet: HciPacket = { type: buf[0]!, data: buf.subarray(1) }
        for (const cb of this.packetCbs) cb(packet)
      },
      (code, errno) => {
        const e = Object.assign(new Error(`read ${code}`), { code, errno, syscall: 'read' })
        this.finish(explainHciSocketError(this.index, e, () => this.addon.listDevices()))
      },
    )
  }

  send(packet: HciPacket): void {
    if (this.closed) throw new TransportError(`hci${this.index}: send on a closed transport`)
    const bytes = new Uint8Array(1 + packet.data.length)
    bytes[0] = packet.type
    bytes.set(packet.data, 1)
    try {
      this.addon.write(this.handle, bytes)
    } catch (e) {
      const err = explainHciSocketError(this.index, e, () => this.addon.listDevices())
      if (
        err.errnoCode !== 'EAGAIN' &&
        err.errnoCode !== 'ENOBUFS' &&
        err.errnoCode !== 'EMSGSIZE' &&
        err.errnoCode !== 'EINVAL'
      )
        this.finish(err)
      throw err
    }
  }

  onPacket(cb: (p: HciPacket) => void): void {
    this.packetCbs.push(cb)
  }

  onClose(cb: (err?: Error) => void): void {
    this.closeCbs.push(cb)
  }

  close(): Promise<void> {
    this.finish(undefined)
    return (this.closing ??= Promise.resolve())
  }

  private finish(err: Error | undefined): void {
    if (this.closed) return
    this.closed = true
    this.addon.close(this.handle)
    this.closing = Promise.resolve()
    for (const cb of this.closeCbs.splice(0)) cb(err)
  }
}

/** Open adapter `index` through the HCI user channel. Rejects with an explained HciSocketError. */
export async function openHciSocket(index: number, opts: OpenHciSocketOptions = {}): Promise<Transport> {
  const name = `hci${index}`
  opts.signal?.throwIfAborted()
  const addon = opts.addon ?? requireHciSocketAddon(name)
  let handle: HciSocketHandle
  try {
    handle = addon.open(index)
  } catch (e) {
    throw explainHciSocketError(index, e, () => addon.listDevices())
  }
  return new HciSocketTransport(addon, handle, index)
}
