/**
 * Transport spec strings: the one parser, shared by the API and the CLI, and `openTransport`,
 * which turns a spec into a Transport (hci/transport.ts) carrying the HCI packets of Core v5.4
 * Vol 4 Part E 5.4 over the medium it names (H4 framing, Vol 4 Part A 2, on byte streams; the
 * USB layout of Vol 4 Part B on USB).
 *
 *   hci0 | hci:0                      Linux HCI user channel on adapter 0 (hci-socket.ts)
 *   usb                               the first USB device of class E0/01/01 (Bluetooth)
 *   usb:VID:PID[:N]                   by vendor and product id (hex), the Nth such (from 0)
 *   uart:PATH[@BAUD][,noflow]         serial port, default 115200 baud with RTS/CTS
 *   tcp:HOST:PORT                     H4 over TCP, connecting (`hcikit link tcp-server:...`)
 *   tcp-server:HOST:PORT              H4 over TCP, listening for one controller to connect in
 *   unix:PATH                         H4 over a Unix socket
 *   virtual                           an in-process virtual controller
 *   replay:FILE[,paced]               a capture's controller packets played back (replay.ts), at full
 *                                     speed or (paced) at the captured pace
 *
 * `HCIKIT_TRANSPORT` is the default when no spec is given. Every problem with a spec is a
 * `TransportSpecError` whose hint says what to write instead.
 */
import { HcikitError } from '../../hci/errors.ts'
import type { Transport } from '../../hci/transport.ts'
import type { ControllerOptions } from '../virtual/controller.ts'
import type { VirtualLink } from '../virtual/link.ts'
import { TcpControllerListener, connectTcp, formatHost } from './tcp.ts'
import { connectUnix } from './unix.ts'

export type TransportSpec =
  | { kind: 'hci'; index: number }
  | { kind: 'usb'; vendorId?: number; productId?: number; nth: number }
  | { kind: 'uart'; path: string; baudRate: number; flowControl: boolean }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'tcp-server'; host: string; port: number }
  | { kind: 'unix'; path: string }
  | { kind: 'virtual' }
  | { kind: 'replay'; path: string; pace?: 'captured' }

export const DEFAULT_BAUD_RATE = 115200

export const TRANSPORT_FORMS = [
  'hci0 (or hci:0)',
  'usb',
  'usb:VID:PID[:N]',
  'uart:PATH[@BAUD][,noflow]',
  'tcp:HOST:PORT',
  'tcp-server:HOST:PORT',
  'unix:PATH',
  'virtual',
  'replay:FILE[,paced]',
] as const

/** A transport spec that does not parse; `hint` says what to write instead. */
export class TransportSpecError extends HcikitError {
  override name = 'TransportSpecError'
  constructor(
    readonly spec: string,
    message: string,
    hint: string,
  ) {
    super('TRANSPORT_SPEC', 'usage', `transport '${spec}': ${message}`, { hint })
  }
}

const bad = (spec: string, message: string, hint: string): TransportSpecError =>
  new TransportSpecError(spec, message, hint)

function parsePort(spec: string, text: string, min: number, example: string): number {
  if (!/^\d{1,5}$/.test(text)) throw bad(spec, `port '${text}' is not a number`, `write it as ${example}`)
  const port = Number(text)
  if (port < min || port > 0xffff)
    throw bad(spec, `port ${port} is out of range ${min}..65535`, `write it as ${example}`)
  return port
}

function parseHostPort(spec: string, kind: 'tcp' | 'tcp-server', rest: string): { host: string; port: number } {
  const example = `${kind}:127.0.0.1:${kind === 'tcp' ? 4567 : 0}`
  const m = /^(\[[^\]]+\]|[^:[\]]+):([^:]*)$/.exec(rest)
  if (!m)
    throw bad(
      spec,
      `expected ${kind}:HOST:PORT`,
      `for example ${example} (an IPv6 host in brackets: ${kind}:[::1]:4567)`,
    )
  const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!
  return { host, port: parsePort(spec, m[2]!, kind === 'tcp' ? 1 : 0, example) }
}

function parseHex16(spec: string, text: string, what: string): number {
  if (!/^(0x)?[0-9a-fA-F]{1,4}$/.test(text)) {
    throw bad(
      spec,
      `${what} '${text}' is not a 16-bit hex number`,
      'write usb:VID:PID in hex as lsusb shows it, e.g. usb:0a12:0001',
    )
  }
  return parseInt(text.replace(/^0x/, ''), 16)
}

/** `replay:FILE[,paced]`. */
function parseReplay(spec: string, rest: string): TransportSpec {
  const paced = rest.endsWith(',paced')
  const path = paced ? rest.slice(0, -',paced'.length) : rest
  if (path === '')
    throw bad(
      spec,
      'no capture file',
      'write replay:trace.btsnoop (btsnoop, pcap or pcapng; add ,paced for the captured pace)',
    )
  return paced ? { kind: 'replay', path, pace: 'captured' } : { kind: 'replay', path }
}

/** `usb:VID:PID[:N]` after the colon. */
function parseUsb(spec: string, rest: string): TransportSpec {
  const parts = rest.split(':')
  if (parts.length < 2 || parts.length > 3) {
    throw bad(
      spec,
      'expected usb or usb:VID:PID[:N]',
      'write usb (the first Bluetooth dongle) or usb:0a12:0001 (by ids, hex), usb:0a12:0001:1 (the second such)',
    )
  }
  const vendorId = parseHex16(spec, parts[0]!, 'vendor id')
  const productId = parseHex16(spec, parts[1]!, 'product id')
  let nth = 0
  if (parts.length === 3) {
    if (!/^\d{1,3}$/.test(parts[2]!))
      throw bad(
        spec,
        `N '${parts[2]}' is not a number`,
        'N counts matching devices from 0: usb:0a12:0001:1 is the second',
      )
    nth = Number(parts[2])
  }
  return { kind: 'usb', vendorId, productId, nth }
}

/** `uart:PATH[@BAUD][,noflow]` after the colon. */
function parseUart(spec: string, rest: string): TransportSpec {
  let body = rest
  let flowControl = true
  if (body.endsWith(',noflow')) {
    flowControl = false
    body = body.slice(0, -',noflow'.length)
  } else if (/,[^/]*$/.test(body)) {
    throw bad(
      spec,
      `unknown option '${body.slice(body.lastIndexOf(',') + 1)}'`,
      'the only option is noflow: uart:/dev/ttyUSB0@1000000,noflow',
    )
  }
  let baudRate = DEFAULT_BAUD_RATE
  const at = body.lastIndexOf('@')
  if (at >= 0) {
    const baud = body.slice(at + 1)
    if (!/^\d+$/.test(baud) || Number(baud) < 1200 || Number(baud) > 12_000_000) {
      throw bad(
        spec,
        `baud rate '${baud}' is not a number in 1200..12000000`,
        'write uart:/dev/ttyUSB0@115200 (or @1000000, @3000000)',
      )
    }
    baudRate = Number(baud)
    body = body.slice(0, at)
  }
  if (body === '')
    throw bad(spec, 'no serial port path', 'write uart:/dev/ttyUSB0 or uart:/dev/ttyACM0@1000000 (COM3 on Windows)')
  return { kind: 'uart', path: body, baudRate, flowControl }
}

/** A kind we do not know: guess what was meant from the shape of the text. */
function unknownKind(spec: string, kind: string): TransportSpecError {
  const guess = /^\/dev\/tty|^COM\d+$/i.test(spec)
    ? `uart:${spec}`
    : /^[0-9a-f]{4}:[0-9a-f]{4}$/i.test(spec)
      ? `usb:${spec}`
      : /^\d+$/.test(spec)
        ? `hci${spec}`
        : undefined
  return bad(
    spec,
    `unknown transport kind '${kind}'`,
    guess ? `did you mean ${guess}?` : `write one of: ${TRANSPORT_FORMS.join(', ')}`,
  )
}

/** Parse a transport spec string. Throws TransportSpecError. */
export function parseTransportSpec(text: string): TransportSpec {
  const spec = text.trim()
  if (spec === '') throw bad(text, 'empty', `write one of: ${TRANSPORT_FORMS.join(', ')}`)
  const hciN = /^hci(\d+)$/.exec(spec)
  if (hciN) return { kind: 'hci', index: Number(hciN[1]) }
  if (spec === 'virtual') return { kind: 'virtual' }
  if (spec === 'usb') return { kind: 'usb', nth: 0 }
  const colon = spec.indexOf(':')
  const kind = colon < 0 ? spec : spec.slice(0, colon)
  const rest = colon < 0 ? '' : spec.slice(colon + 1)
  switch (kind) {
    case 'hci': {
      if (!/^\d+$/.test(rest))
        throw bad(spec, 'expected an adapter number', 'write hci0 or hci:0 (hciconfig or `btmgmt info` lists adapters)')
      return { kind: 'hci', index: Number(rest) }
    }
    case 'usb':
      return parseUsb(spec, rest)
    case 'uart':
      return parseUart(spec, rest)
    case 'tcp':
    case 'tcp-server':
      return { kind, ...parseHostPort(spec, kind, rest) }
    case 'unix':
      if (rest === '') throw bad(spec, 'no socket path', 'write unix:/run/hci.sock')
      return { kind: 'unix', path: rest }
    case 'replay':
      return parseReplay(spec, rest)
    default:
      throw unknownKind(spec, kind)
  }
}

/** The spec as a string (the canonical form of what `parseTransportSpec` accepts). */
export function formatTransportSpec(s: TransportSpec): string {
  switch (s.kind) {
    case 'hci':
      return `hci${s.index}`
    case 'usb': {
      if (s.vendorId === undefined || s.productId === undefined) return 'usb'
      const h = (v: number): string => v.toString(16).padStart(4, '0')
      return `usb:${h(s.vendorId)}:${h(s.productId)}${s.nth ? `:${s.nth}` : ''}`
    }
    case 'uart':
      return `uart:${s.path}${s.baudRate !== DEFAULT_BAUD_RATE ? `@${s.baudRate}` : ''}${s.flowControl ? '' : ',noflow'}`
    case 'tcp':
    case 'tcp-server':
      return `${s.kind}:${formatHost(s.host)}:${s.port}`
    case 'unix':
      return `${s.kind}:${s.path}`
    case 'replay':
      return `replay:${s.path}${s.pace === 'captured' ? ',paced' : ''}`
    case 'virtual':
      return 'virtual'
  }
}

/** The spec to use: `spec` if given, else HCIKIT_TRANSPORT, else a TransportSpecError. */
export function resolveTransportSpec(
  spec?: string | TransportSpec,
  env: NodeJS.ProcessEnv = process.env,
): TransportSpec {
  if (typeof spec === 'object') return spec
  const text = spec ?? env['HCIKIT_TRANSPORT']
  if (text === undefined || text.trim() === '') {
    throw bad(
      '',
      'no transport given',
      `pass one (--transport usb) or set HCIKIT_TRANSPORT, e.g. HCIKIT_TRANSPORT=usb; forms: ${TRANSPORT_FORMS.join(', ')}`,
    )
  }
  return parseTransportSpec(text)
}

export interface OpenTransportOptions {
  signal?: AbortSignal
  /** Connect/open timeout, ms (TCP, Unix, UART synchronisation). */
  timeout?: number
  /** Environment for HCIKIT_TRANSPORT (default process.env). */
  env?: NodeJS.ProcessEnv
  /** For `virtual`: the link to join (default a new real-time link) and controller options. */
  virtual?: { link?: VirtualLink; controller?: ControllerOptions }
  /** For `usb`: the WebUSB object to use instead of the `usb` package's (tests, other backends). */
  usb?: import('./usb.ts').UsbLike
  /** For `hciN`: the native addon to use instead of the real one (tests). */
  hciSocket?: import('../native/load.ts').HciSocketAddon
  /** For `replay`: see replay.ts. */
  replay?: import('./replay.ts').ReplayOptions
}

/** Open the transport a spec names (or HCIKIT_TRANSPORT). */
export async function openTransport(
  spec?: string | TransportSpec,
  opts: OpenTransportOptions = {},
): Promise<Transport> {
  const s = resolveTransportSpec(spec, opts.env)
  const connect = { signal: opts.signal, timeout: opts.timeout }
  switch (s.kind) {
    case 'hci': {
      const { openHciSocket } = await import('./hci-socket.ts')
      return openHciSocket(s.index, { signal: opts.signal, addon: opts.hciSocket })
    }
    case 'usb': {
      const { openUsb } = await import('./usb.ts')
      return openUsb(s, { ...connect, usb: opts.usb })
    }
    case 'uart': {
      const { openUart } = await import('./uart.ts')
      return openUart(s.path, { baudRate: s.baudRate, flowControl: s.flowControl, ...connect })
    }
    case 'tcp':
      return connectTcp(s.host, s.port, connect)
    case 'tcp-server': {
      const listener = await TcpControllerListener.listen(s.host, s.port)
      try {
        return await listener.accept(connect)
      } finally {
        void listener.close() // stops listening; the accepted connection stays open
      }
    }
    case 'unix':
      return connectUnix(s.path, connect)
    case 'virtual': {
      // The emulator is loaded only when asked for, like the USB and serial code.
      const [{ VirtualController }, { VirtualLink }, { RealtimeScheduler }] = await Promise.all([
        import('../virtual/controller.ts'),
        import('../virtual/link.ts'),
        import('../virtual/scheduler.ts'),
      ])
      const link = opts.virtual?.link ?? new VirtualLink({ scheduler: new RealtimeScheduler() })
      return new VirtualController(link, opts.virtual?.controller ?? {}).attach()
    }
    case 'replay': {
      const { openReplay } = await import('./replay.ts')
      return openReplay(s.path, s.pace ? { pace: s.pace, ...opts.replay } : opts.replay)
    }
  }
}
