/**
 * Serving a controller to a real host over a byte stream: HCI packets (Core v5.4 Vol 4 Part E
 * 5.4) framed with the H4 packet indicator (Vol 4 Part A 2, "UART Transport Layer"), over TCP
 * here and over a pseudo-terminal in serve-pty.ts. This is what `hcikit link` runs.
 *
 * Sessions. A host session is one byte stream (a TCP connection, one opening of the pty) bound
 * to one controller. It starts with `controller.attach()`, so every host meets a freshly reset
 * controller, and ends with `controller.detach()` when the stream closes (the controller drops
 * its links and goes quiet until the next host). One host at a time: while a session runs, a
 * second TCP connection is refused (accepted and closed at once, reported as 'refused'); a pty
 * cannot be opened twice in a useful way and serial libraries lock it (TIOCEXCL).
 *
 * Framing. Host-to-controller bytes go through an `H4Splitter` that accepts what a host sends
 * (command, ACL, SCO, ISO; not events) and, on an unknown type byte, reports a framing error
 * and resynchronises on the next plausible packet, as a UART controller does.
 * Controller-to-host packets are written in batches, one write per turn of the event loop
 * (hci/h4-writer.ts). The stream is not back-pressured
 * towards the controller: what the controller emits is bounded by its own flow control.
 *
 * Observation. `packet(direction, packet)` sees every packet of every session with the
 * direction from the host's point of view (host -> controller is 'tx'), which is what a btsnoop
 * capture and a trace want; `event(e)` sees the session lifecycle.
 */
import net from 'node:net'
import type { Duplex } from 'node:stream'
import type { FramingError } from '../../hci/errors.ts'
import { H4Splitter, H4Type } from '../../hci/h4.ts'
import { H4BatchWriter } from '../../hci/h4-writer.ts'
import type { HciPacket, Transport } from '../../hci/transport.ts'

/** What is served: a controller a host attaches to (VirtualController satisfies this). */
export interface ServedController {
  /** A fresh, reset controller for a new host; detaches any previous one. */
  attach(): Transport
  /** The host went away. */
  detach(): void
}

/** Lifecycle of what a spec serves, as reported to `ServeObserver.event`. */
export type ServeEvent =
  | { kind: 'ready'; device?: string }
  | { kind: 'host-connected'; from: string }
  | { kind: 'host-disconnected'; reason: string }
  | { kind: 'refused'; from: string; reason: string }
  | { kind: 'framing-error'; message: string }
  | { kind: 'error'; message: string }

export interface ServeObserver {
  /** Every packet of every session; 'tx' is host -> controller. */
  packet?(direction: 'tx' | 'rx', packet: HciPacket): void
  event?(e: ServeEvent): void
}

/** A parsed `hcikit link` SPEC. */
export type ServeSpec = { kind: 'tcp-server'; host: string; port: number } | { kind: 'pty'; path: string }

/**
 * `tcp-server:HOST:PORT` (HOST may be `[v6]`; PORT 0 picks a free port) or `pty:PATH`.
 * Throws a RangeError that says what is wrong.
 */
export function parseServeSpec(text: string): ServeSpec {
  const colon = text.indexOf(':')
  const kind = colon < 0 ? text : text.slice(0, colon)
  const rest = colon < 0 ? '' : text.slice(colon + 1)
  if (kind === 'pty') {
    if (rest === '') throw new RangeError(`${text}: pty needs a PATH (pty:/tmp/hci0)`)
    return { kind: 'pty', path: rest }
  }
  if (kind === 'tcp-server') {
    const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(rest)
    if (!m) throw new RangeError(`${text}: expected tcp-server:HOST:PORT (tcp-server:127.0.0.1:4567)`)
    const port = Number(m[2])
    if (port > 0xffff) throw new RangeError(`${text}: port ${port} is out of range`)
    const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!
    return { kind: 'tcp-server', host, port }
  }
  throw new RangeError(`${text}: unknown kind '${kind}' (expected tcp-server:HOST:PORT or pty:PATH)`)
}

/** Spec text with the real port (after listening on port 0). */
export function formatServeSpec(spec: ServeSpec): string {
  if (spec.kind === 'pty') return `pty:${spec.path}`
  const host = spec.host.includes(':') ? `[${spec.host}]` : spec.host
  return `tcp-server:${host}:${spec.port}`
}

/** What a host sends on the wire (a controller's events would be a framing error here). */
const HOST_TYPES = [H4Type.Command, H4Type.Acl, H4Type.Sco, H4Type.Iso]

export interface Session {
  /** Resolves once the session is over and the controller detached. */
  readonly done: Promise<void>
  /** End the session from our side (closes the stream). */
  end(reason?: string): void
}

/**
 * Bind one host byte stream to a controller until either side closes. The controller is attached
 * here (a reset controller) and detached when the stream ends, unless the controller closed first.
 */
export function startSession(stream: Duplex, controller: ServedController, observer: ServeObserver = {}): Session {
  const transport = controller.attach()
  let open = true
  let resolveDone!: () => void
  const done = new Promise<void>((resolve) => (resolveDone = resolve))

  const finish = (reason: string, controllerClosed: boolean): void => {
    if (!open) return
    open = false
    // A controller that closed on its own (re-attached elsewhere) must not be detached again.
    if (!controllerClosed) controller.detach()
    stream.destroy()
    observer.event?.({ kind: 'host-disconnected', reason })
    resolveDone()
  }

  const splitter = new H4Splitter({
    types: HOST_TYPES,
    onPacket: (p) => {
      if (!open) return
      observer.packet?.('tx', p)
      try {
        const r = transport.send(p)
        if (r) r.catch((e: unknown) => finish(`controller refused a packet: ${message(e)}`, true))
      } catch (e) {
        finish(`controller refused a packet: ${message(e)}`, true)
      }
    },
    onError: (e: FramingError) => observer.event?.({ kind: 'framing-error', message: e.message }),
  })

  // What the controller emits in one turn of the event loop (several timers may fire in it)
  // leaves in one write (hci/h4-writer.ts), as a UART or USB controller hands over what it has.
  const out = new H4BatchWriter({ write: (b) => stream.destroyed || stream.write(b), schedule: setImmediate })
  transport.onPacket((p) => {
    if (!open) return
    observer.packet?.('rx', p)
    out.packet(p.type, p.data)
  })
  transport.onClose((err) => finish(err ? `controller closed: ${err.message}` : 'controller closed', true))

  stream.on('data', (chunk: Uint8Array) => {
    if (open) splitter.push(chunk)
  })
  stream.on('error', (e: Error) => finish(`stream error: ${e.message}`, false))
  stream.on('end', () => finish('host closed the stream', false))
  stream.on('close', () => finish('host closed the stream', false))

  return { done, end: (reason = 'served side closed') => finish(reason, false) }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

/** Anything `hcikit link` serves: the spec it serves (real port filled in) and how to stop. */
export interface Served {
  readonly spec: ServeSpec
  /** The pseudo-terminal device behind a pty spec (it changes with every session). */
  readonly device?: string | undefined
  /** Stop serving: end the session, release sockets, children and links. Idempotent. */
  close(): Promise<void>
}

/**
 * H4 over TCP: one host at a time; a second connection while a session runs is closed at once
 * and reported as 'refused'.
 */
export class TcpServe implements Served {
  private session: Session | undefined
  private closing: Promise<void> | undefined

  private constructor(
    readonly spec: ServeSpec & { kind: 'tcp-server' },
    private readonly server: net.Server,
    private readonly controller: ServedController,
    private readonly observer: ServeObserver,
  ) {
    server.on('connection', (socket) => this.accept(socket))
  }

  static async listen(
    spec: { host: string; port: number },
    controller: ServedController,
    observer: ServeObserver = {},
  ): Promise<TcpServe> {
    const server = net.createServer({ noDelay: true })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({ host: spec.host, port: spec.port, exclusive: true }, () => {
        server.off('error', reject)
        resolve()
      })
    })
    const addr = server.address() as net.AddressInfo
    const served = new TcpServe({ kind: 'tcp-server', host: spec.host, port: addr.port }, server, controller, observer)
    server.on('error', (e) => observer.event?.({ kind: 'error', message: e.message }))
    observer.event?.({ kind: 'ready' })
    return served
  }

  private accept(socket: net.Socket): void {
    const from = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`
    if (this.session || this.closing) {
      socket.destroy()
      this.observer.event?.({
        kind: 'refused',
        from,
        reason: this.closing ? 'shutting down' : 'a host is already connected',
      })
      return
    }
    socket.setNoDelay(true)
    this.observer.event?.({ kind: 'host-connected', from })
    const session = startSession(socket, this.controller, this.observer)
    this.session = session
    void session.done.then(() => {
      if (this.session === session) this.session = undefined
    })
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
      if (this.session) {
        this.session.end('link shutting down')
        await this.session.done
      }
      await closed
    })()
    return this.closing
  }
}
