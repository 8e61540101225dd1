/**
 * LE credit-based channels in the public API (Core v5.4 Vol 3 Part A 4.22-4.24 LE Credit Based
 * Connection Request/Response and Flow Control Credit Indication, 10.1 LE credit based flow
 * control): `client.openChannel(psm)` on one link, `adapter.listen(psm, handler)` on every link
 * of the adapter, those open now and those to come, in both roles.
 *
 * A channel is a Node Duplex (att/l2cap/credit-channel.ts) in object mode: one chunk written is
 * one SDU sent, one chunk read is one SDU received. Why a Duplex rather than web streams:
 * - the credits already are the Duplex's back-pressure: a reader that stops reading stops the
 *   credits going back (push() returned false), so the peer stops sending; write() returns false
 *   while SDUs wait for the peer's credits and 'drain' follows them. Web streams would put a
 *   second queue with the same rules on top;
 * - it is what Node code plugs together: `for await (const sdu of channel)`, `pipeline(stdin,
 *   channel, stdout)`, a net.Socket; and it keeps SDU boundaries (L2CAP is message-oriented);
 * - web streams are one call away for those who want them: `Duplex.toWeb(channel)`.
 * A channel never raises an unhandled 'error' event: a peer that breaks the rules ends it with
 * `closeReason` set, and `for await` / pipeline() reject with that error.
 */
import type { Connection } from '../gap/connections.ts'
import type { CreditChannel, CreditListener, SecurityRequirements } from '../att/l2cap/credit.ts'
import { ParameterError, StateError, type CallOptions } from './errors.ts'

export type { CreditChannel, SecurityRequirements }

/** Our side of a channel's parameters (each checked against its spec range). */
export interface ChannelParameterOptions {
  /** Largest SDU we accept, octets (23..65535, default 2048). */
  mtu?: number
  /** Credits we grant: how many K-frames the peer may send before we return some (1..65535, default 16). */
  credits?: number
  /** Largest K-frame payload we accept, octets (23..65533, default 247: one 251-octet LE packet). */
  mps?: number
}

export interface OpenChannelOptions extends ChannelParameterOptions, CallOptions {}

export interface ListenOptions extends ChannelParameterOptions {
  /** What the link must have before a channel is accepted (refused with the spec's result otherwise). */
  security?: SecurityRequirements
  /** Channels open at a time on each link (default: no limit but the 64 dynamic CIDs). */
  maxChannels?: number
}

/** Called with each channel a peer opens, and the link it came on (`connection.peer.address`). */
export type ChannelHandler = (channel: CreditChannel, connection: Connection) => void | Promise<void>

function intIn(name: string, v: number | undefined, lo: number, hi: number): void {
  if (v !== undefined && (!Number.isInteger(v) || v < lo || v > hi))
    throw new ParameterError(`${name}: ${v} is not a whole number in ${lo}..${hi} (Core v5.4 Vol 3 Part A 4.22)`)
}

/** The PSM and our parameters, checked; in the names att/l2cap/credit.ts takes. */
export function channelParameters(
  psm: number,
  o: ChannelParameterOptions,
): { mtu?: number; mps?: number; initialCredits?: number } {
  if (!Number.isInteger(psm) || psm < 1 || psm > 0xff)
    throw new ParameterError(
      `psm: ${psm} is outside the LE SPSM range 0x0001..0x00FF (0x80..0xFF for your own services)`,
    )
  intIn('mtu', o.mtu, 23, 0xffff)
  intIn('mps', o.mps, 23, 65533)
  intIn('credits', o.credits, 1, 0xffff)
  // Only the fields given: att/l2cap/credit.ts lays its defaults under what it gets.
  const p: { mtu?: number; mps?: number; initialCredits?: number } = {}
  if (o.mtu !== undefined) p.mtu = o.mtu
  if (o.mps !== undefined) p.mps = o.mps
  if (o.credits !== undefined) p.initialCredits = o.credits
  return p
}

/** Errors reach for-await and pipeline(); none escapes as an unhandled 'error' event. */
export function guard(channel: CreditChannel): CreditChannel {
  channel.on('error', () => {})
  return channel
}

/** Open a channel to the peer's `psm` on `connection`; `signal` ends the wait for the answer. */
export async function openChannel(
  connection: Connection,
  psm: number,
  o: OpenChannelOptions,
  signal: AbortSignal | undefined,
): Promise<CreditChannel> {
  const p = channelParameters(psm, o)
  return guard(await connection.mux.connect(psm, { ...p, signal }))
}

/** A listen() registration; close() (or dispose) stops accepting, open channels stay open. */
export class ChannelListener implements AsyncDisposable {
  /** Requests on this PSM refused so far (security, limits, resources), over every link. */
  get refused(): number {
    let n = this.refusedBefore
    for (const l of this.perLink) n += l.refused
    return n
  }
  private refusedBefore = 0
  private readonly perLink = new Set<CreditListener>()
  private closedFlag = false

  /** @internal Created by Adapter.listen. */
  constructor(
    readonly psm: number,
    private readonly options: ListenOptions,
    private readonly handler: ChannelHandler,
    private readonly unregister: (l: ChannelListener) => void,
  ) {}

  get closed(): boolean {
    return this.closedFlag
  }

  /** @internal Accept on one more link (a connection open now or made later). */
  attach(c: Connection): void {
    if (this.closedFlag || c.closed || c.mux.closed) return
    const o = this.options
    let l: CreditListener
    try {
      l = c.mux.listen(
        this.psm,
        { ...channelParameters(this.psm, o), security: o.security, maxChannels: o.maxChannels },
        (ch) => this.deliver(guard(ch), c),
      )
    } catch {
      return // the link already has a listener of its own on this PSM (connection.mux.listen): it keeps it
    }
    this.perLink.add(l)
    void c.disconnected.then(() => {
      this.refusedBefore += l.refused
      this.perLink.delete(l)
    })
  }

  private deliver(ch: CreditChannel, c: Connection): void {
    try {
      const r = this.handler(ch, c)
      if (r instanceof Promise) r.catch((e: unknown) => ch.destroy(e instanceof Error ? e : new Error(String(e))))
    } catch (e) {
      ch.destroy(e instanceof Error ? e : new Error(String(e)))
    }
  }

  /** Stop accepting on every link (later requests are refused as "SPSM not supported"). */
  close(): void {
    if (this.closedFlag) return
    this.closedFlag = true
    for (const l of this.perLink) {
      this.refusedBefore += l.refused
      l.close()
    }
    this.perLink.clear()
    this.unregister(this)
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close()
  }
}

/** The adapter's listeners, one per PSM, attached to every connection as it comes. */
export class ChannelListeners {
  private readonly byPsm = new Map<number, ChannelListener>()

  constructor(private readonly current: () => Iterable<Connection>) {}

  listen(psm: number, handler: ChannelHandler, o: ListenOptions): ChannelListener {
    channelParameters(psm, o)
    intIn('maxChannels', o.maxChannels, 1, 64)
    if (this.byPsm.has(psm))
      throw new StateError('PSM_IN_USE', `PSM 0x${psm.toString(16).padStart(4, '0')} already has a listener`, {
        hint: 'close() the listener listen() returned first, or choose another PSM',
      })
    const l = new ChannelListener(psm, o, handler, (x) => {
      if (this.byPsm.get(psm) === x) this.byPsm.delete(psm)
    })
    this.byPsm.set(psm, l)
    for (const c of this.current()) l.attach(c)
    return l
  }

  /** A new connection: every listener accepts on it too. */
  attach(c: Connection): void {
    for (const l of this.byPsm.values()) l.attach(c)
  }

  close(): void {
    for (const l of [...this.byPsm.values()]) l.close()
  }
}
