/**
 * H4 over TCP (Core v5.4 Vol 4 Part A 2 framing of Vol 4 Part E 5.4 packets on a TCP stream),
 * three ways:
 * - `connectTcp` (spec `tcp:HOST:PORT`): the host connects to a controller served over TCP
 *   (`hcikit link tcp-server:...`, an emulator, a dongle shared from another machine).
 * - `TcpControllerListener` (spec `tcp-server:HOST:PORT` for a host): the host listens and the
 *   controller side connects in (a bridge on another machine that dials out). One controller.
 * - `bridgeTransport` (serving a local controller): a Transport this process holds (a USB dongle,
 *   a UART) is offered to one remote host at a time as H4 over TCP, the way `hcikit link` offers
 *   a virtual controller. The bridge does not reset anything between hosts (a real controller
 *   cannot be re-created); every host starts with HCI_Reset anyway.
 * TCP never loses bytes, so a framing error means the peer is not speaking H4: the transport
 * closes (h4-stream.ts, resync 'close').
 */
import net from 'node:net'
import { type FramingError, TransportError } from '../../hci/errors.ts'
import { H4Splitter, H4Type } from '../../hci/h4.ts'
import { H4BatchWriter } from '../../hci/h4-writer.ts'
import type { HciPacket, Transport } from '../../hci/transport.ts'
import { H4StreamTransport } from './h4-stream.ts'

export interface ConnectOptions {
  signal?: AbortSignal
  /** Give up connecting after this long (default 10000 ms). */
  timeout?: number
}

/** Wait for `socket` to connect (or fail, time out, abort) and wrap it. */
export function wrapConnecting(
  socket: net.Socket,
  name: string,
  opts: ConnectOptions,
  hint: (code: string | undefined) => string | undefined,
): Promise<H4StreamTransport> {
  return new Promise<H4StreamTransport>((resolve, reject) => {
    const timeout = opts.timeout ?? 10_000
    const cleanup = (): void => {
      clearTimeout(timer)
      opts.signal?.removeEventListener('abort', onAbort)
      socket.off('connect', onConnect)
      socket.off('error', onError)
    }
    const onConnect = (): void => {
      cleanup()
      resolve(new H4StreamTransport(socket, { name, resync: 'close' }))
    }
    const onError = (e: NodeJS.ErrnoException): void => {
      cleanup()
      socket.destroy()
      const h = hint(e.code)
      reject(
        new TransportError(
          `${name}: cannot connect: ${e.message}`,
          h === undefined ? { cause: e } : { cause: e, hint: h },
        ),
      )
    }
    const onAbort = (): void => {
      cleanup()
      socket.destroy()
      reject(opts.signal!.reason)
    }
    const timer = setTimeout(() => {
      cleanup()
      socket.destroy()
      reject(
        new TransportError(`${name}: no connection within ${timeout} ms`, {
          hint: 'is the address right, and is a firewall in the way?',
        }),
      )
    }, timeout)
    if (opts.signal?.aborted) return onAbort()
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    socket.once('connect', onConnect)
    socket.once('error', onError)
  })
}

/** `tcp:HOST:PORT`: connect to a controller served as H4 over TCP. */
export function connectTcp(host: string, port: number, opts: ConnectOptions = {}): Promise<H4StreamTransport> {
  const name = `tcp:${formatHost(host)}:${port}`
  const socket = net.connect({ host, port, noDelay: true })
  return wrapConnecting(socket, name, opts, (code) =>
    code === 'ECONNREFUSED'
      ? `nothing listens on ${formatHost(host)}:${port}; for a virtual controller run \`hcikit link ` +
        `tcp-server:${formatHost(host)}:${port}\``
      : undefined,
  )
}

export function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

/** Listen on HOST:PORT for one controller to connect in (`tcp-server:HOST:PORT` for a host). */
export class TcpControllerListener {
  private constructor(
    private readonly server: net.Server,
    readonly host: string,
    readonly port: number,
  ) {}

  static async listen(host: string, port: number): Promise<TcpControllerListener> {
    const server = net.createServer({ noDelay: true, pauseOnConnect: true })
    await listen(server, host, port, `tcp-server:${formatHost(host)}:${port}`)
    return new TcpControllerListener(server, host, (server.address() as net.AddressInfo).port)
  }

  /** The first controller to connect (later ones are refused while it is open). */
  accept(opts: { signal?: AbortSignal } = {}): Promise<Transport> {
    const name = `tcp-server:${formatHost(this.host)}:${this.port}`
    return new Promise<Transport>((resolve, reject) => {
      const onAbort = (): void => {
        this.server.off('connection', onConnection)
        reject(opts.signal!.reason)
      }
      const onConnection = (socket: net.Socket): void => {
        opts.signal?.removeEventListener('abort', onAbort)
        this.server.on('connection', (s: net.Socket) => s.destroy())
        socket.resume()
        resolve(new H4StreamTransport(socket, { name, resync: 'close' }))
      }
      if (opts.signal?.aborted) return onAbort()
      opts.signal?.addEventListener('abort', onAbort, { once: true })
      this.server.once('connection', onConnection)
    })
  }

  /** Stop listening (an accepted transport stays open). */
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}

export async function listen(
  server: net.Server,
  host: string | undefined,
  portOrPath: number | string,
  name: string,
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      const hint =
        e.code === 'EADDRINUSE'
          ? 'another program listens there: pick another port (0 picks a free one)'
          : e.code === 'EACCES'
            ? 'ports below 1024 need privileges: pick a port above 1024'
            : undefined
      reject(
        new TransportError(
          `${name}: cannot listen: ${e.message}`,
          hint === undefined ? { cause: e } : { cause: e, hint },
        ),
      )
    }
    server.once('error', onError)
    const done = (): void => {
      server.off('error', onError)
      resolve()
    }
    if (typeof portOrPath === 'string') server.listen(portOrPath, done)
    else server.listen({ host, port: portOrPath, exclusive: true }, done)
  })
}

/** Host packet types on the wire towards a controller. */
const HOST_TYPES = [H4Type.Command, H4Type.Acl, H4Type.Sco, H4Type.Iso]

export type BridgeEvent =
  | { kind: 'host-connected'; from: string }
  | { kind: 'host-disconnected'; from: string; reason: string }
  | { kind: 'refused'; from: string }
  | { kind: 'framing-error'; message: string }

/**
 * Offer `local` (a controller this process holds) to one remote host at a time as H4 over TCP.
 * Closing the bridge ends the session and stops listening; `local` stays open (its owner closes
 * it). If `local` closes, the bridge closes too.
 */
export class TransportBridge {
  private socket: net.Socket | undefined
  private closing: Promise<void> | undefined

  private constructor(
    private readonly server: net.Server,
    private readonly local: Transport,
    readonly host: string,
    readonly port: number,
    private readonly onEvent: (e: BridgeEvent) => void,
  ) {
    server.on('connection', (s) => this.accept(s))
    // What the controller emits in one tick leaves in one write (hci/h4-writer.ts).
    const out = new H4BatchWriter({
      write: (b) => !this.socket || this.socket.destroyed || this.socket.write(b),
      schedule: process.nextTick,
    })
    local.onPacket((p) => {
      if (this.socket) out.packet(p.type, p.data)
    })
    local.onClose(() => void this.close())
  }

  static async listen(
    local: Transport,
    host: string,
    port: number,
    onEvent: (e: BridgeEvent) => void = () => {},
  ): Promise<TransportBridge> {
    const server = net.createServer({ noDelay: true })
    await listen(server, host, port, `bridge tcp-server:${formatHost(host)}:${port}`)
    return new TransportBridge(server, local, host, (server.address() as net.AddressInfo).port, onEvent)
  }

  private accept(socket: net.Socket): void {
    const from = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`
    if (this.socket || this.closing) {
      socket.destroy()
      this.onEvent({ kind: 'refused', from })
      return
    }
    this.socket = socket
    this.onEvent({ kind: 'host-connected', from })
    const splitter = new H4Splitter({
      types: HOST_TYPES,
      onUnknownType: 'halt',
      onPacket: (p: HciPacket) => {
        try {
          const r = this.local.send(p)
          if (r) r.catch(() => socket.destroy())
        } catch {
          socket.destroy()
        }
      },
      onError: (e: FramingError) => {
        this.onEvent({ kind: 'framing-error', message: e.message })
        socket.destroy()
      },
    })
    socket.on('data', (c: Uint8Array) => splitter.push(c))
    socket.on('error', () => undefined)
    socket.once('close', () => {
      if (this.socket === socket) this.socket = undefined
      this.onEvent({ kind: 'host-disconnected', from, reason: 'stream closed' })
    })
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.socket?.destroy()
      this.server.close(() => resolve())
    })
    return this.closing
  }
}
