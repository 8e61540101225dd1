/**
 * One LE Credit Based Flow Control channel (Core v5.4 Vol 3 Part A 3.4.3, 4.24, 5.3 and 10.1),
 * as a Node Duplex stream: one SDU per written chunk and per read chunk.
 *
 * Sending: an SDU of at most the peer's MTU is cut into K-frames of at most the peer's MPS; the
 * first carries the 2-octet SDU Length (3.4.3, Figure 3.5). Each K-frame costs one credit; with
 * none left the sender waits for a Flow Control Credit Indication (10.1). SDUs go out one after
 * the other; `sendSdu` queues at most `maxQueuedSdus` and rejects 'QUEUE_FULL' beyond, the
 * stream side uses the Writable's own back-pressure (write() returns false, 'drain').
 *
 * Receiving: a K-frame longer than our MPS, an SDU Length above our MTU, K-frames adding up to
 * more than the SDU Length, a K-frame when the peer has no credits left, or credits pushing our
 * count above 65535 are violations after which the channel is disconnected (3.4.3, 10.1) and the
 * stream is destroyed with an L2capError naming the violation. Credits go back to the peer as
 * K-frames are consumed, in batches once half of the window is used; while the reader does not
 * keep up (push() returned false) none go back, so the peer stops: memory stays bounded by
 * window * MPS plus one SDU.
 *
 * Ends: our disconnect() (Disconnection Request, 4.6), the peer's Disconnection Request (the
 * readable side ends cleanly), or the link going away (readable ends, pending sends reject with
 * 'LINK_CLOSED').
 */
import { Duplex } from 'node:stream'
import { Writer } from '../../hci/wire.ts'
import { L2CAP_HEADER_LENGTH } from './frame.ts'
import { L2capError } from './link.ts'
import type { AclLink } from './link.ts'
import type { LeSignaling } from './signaling.ts'
import { DisconnectionRequest, DisconnectionResponse, FlowControlCreditIndication } from './signaling-pdu.ts'

export const MAX_CREDITS = 0xffff
const SDU_LENGTH_SIZE = 2

/** What was agreed when the channel opened (both directions). */
export interface ChannelSetup {
  psm: number
  localCid: number
  remoteCid: number
  /** Largest SDU we accept. */
  mtu: number
  /** Largest K-frame payload we accept. */
  mps: number
  /** Credits we granted in the connection request/response (our receive window). */
  initialCredits: number
  peerMtu: number
  peerMps: number
  /** Credits the peer granted us. */
  peerInitialCredits: number
  maxQueuedSdus: number
}

/** What a channel needs from the manager (att/l2cap/credit.ts). */
export interface ChannelContext {
  link: AclLink
  signaling: LeSignaling
  /** Called once when the CID can be reused. */
  release(channel: CreditChannel): void
}

export type ChannelState = 'open' | 'disconnecting' | 'closed'

export interface ChannelStats {
  sdusSent: number
  sdusReceived: number
  framesSent: number
  framesReceived: number
  /** Flow Control Credit Indications we sent, and the credits in them. */
  creditIndicationsSent: number
  creditsReturned: number
  /** Times a send had to wait for credits. */
  creditWaits: number
}

interface QueuedSdu {
  sdu: Uint8Array
  resolve(): void
  reject(err: Error): void
}

export class CreditChannel extends Duplex {
  readonly psm: number
  readonly localCid: number
  readonly remoteCid: number
  /** Largest SDU we accept / the peer accepts. */
  readonly mtu: number
  readonly peerMtu: number
  readonly mps: number
  readonly peerMps: number
  readonly stats: ChannelStats = {
    sdusSent: 0,
    sdusReceived: 0,
    framesSent: 0,
    framesReceived: 0,
    creditIndicationsSent: 0,
    creditsReturned: 0,
    creditWaits: 0,
  }
  /** Why the channel is closing or closed (undefined while open): 'CHANNEL_CLOSED' for an orderly end, 'LINK_CLOSED', or the violation. */
  closeReason: Error | undefined

  private readonly ctx: ChannelContext
  private readonly window: number
  private readonly maxQueued: number
  private channelState: ChannelState = 'open'
  private txCredits: number
  private rxCredits: number
  /** K-frames received whose credits may go back to the peer. */
  private owed = 0
  /** The reader is behind: hold the credits. */
  private paused = false
  private readonly queue: QueuedSdu[] = []
  private pumping = false
  private wake: (() => void) | undefined
  private sdu: Uint8Array | undefined
  private sduFilled = 0
  private disconnecting: Promise<void> | undefined

  /** @internal Created by CreditChannels (att/l2cap/credit.ts). */
  constructor(ctx: ChannelContext, setup: ChannelSetup) {
    super({ readableObjectMode: true, writableObjectMode: true, allowHalfOpen: false })
    this.ctx = ctx
    this.psm = setup.psm
    this.localCid = setup.localCid
    this.remoteCid = setup.remoteCid
    this.mtu = setup.mtu
    this.mps = setup.mps
    this.peerMtu = setup.peerMtu
    this.peerMps = setup.peerMps
    this.window = setup.initialCredits
    this.rxCredits = setup.initialCredits
    this.txCredits = setup.peerInitialCredits
    this.maxQueued = setup.maxQueuedSdus
  }

  get state(): ChannelState {
    return this.channelState
  }

  /** K-frames we may still send before the peer returns credits. */
  get credits(): number {
    return this.txCredits
  }

  /** K-frames the peer may still send before we return credits. */
  get peerCredits(): number {
    return this.rxCredits
  }

  /** SDUs waiting to be sent (the one being sent included). */
  get queuedSdus(): number {
    return this.queue.length
  }

  /**
   * Send one SDU (at most `peerMtu` octets). Resolves when its last K-frame was handed to the
   * controller; waits for credits as needed. Rejects 'SDU_TOO_LONG', 'QUEUE_FULL', or
   * 'CHANNEL_CLOSED'/'LINK_CLOSED' when the channel ends first.
   */
  sendSdu(sdu: Uint8Array): Promise<void> {
    if (this.channelState !== 'open') return Promise.reject(this.closedError())
    if (sdu.length > this.peerMtu) {
      return Promise.reject(
        new L2capError('SDU_TOO_LONG', `SDU of ${sdu.length} octets exceeds the peer's MTU of ${this.peerMtu}`),
      )
    }
    if (this.queue.length >= this.maxQueued) {
      return Promise.reject(
        new L2capError(
          'QUEUE_FULL',
          `${this.queue.length} SDUs already wait for credits on CID 0x${this.localCid.toString(16)}`,
        ),
      )
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ sdu, resolve, reject })
      void this.pump()
    })
  }

  /** The received SDUs; leaving the loop early does not disconnect the channel. */
  sdus(): AsyncIterableIterator<Uint8Array> {
    const it = this.iterator({ destroyOnReturn: false }) as AsyncIterator<Uint8Array>
    return {
      next: () => it.next(),
      return: async () => (it.return ? it.return() : { done: true, value: undefined }),
      [Symbol.asyncIterator]() {
        return this
      },
    }
  }

  /** Disconnect (Disconnection Request, 4.6) and destroy the stream. Resolves when the peer answered or RTX expired. */
  disconnect(): Promise<void> {
    this.startDisconnect(new L2capError('CHANNEL_CLOSED', 'channel disconnected locally'))
    if (!this.destroyed) this.destroy()
    return this.disconnecting ?? Promise.resolve()
  }

  // --- Duplex ----------------------------------------------------------------------------------

  override _write(chunk: unknown, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const sdu = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array)
    if (!(sdu instanceof Uint8Array)) {
      cb(new TypeError('CreditChannel: write one Uint8Array (one SDU) per chunk'))
      return
    }
    this.sendSdu(sdu).then(() => cb(), cb)
  }

  override _read(): void {
    if (!this.paused) return
    this.paused = false
    this.returnCredits()
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.startDisconnect(err ?? new L2capError('CHANNEL_CLOSED', 'channel disconnected locally'))
    cb(err)
  }

  // --- From the manager ------------------------------------------------------------------------

  /** @internal One K-frame's payload for our CID. */
  receiveFrame(payload: Uint8Array): void {
    if (this.channelState !== 'open') return
    this.stats.framesReceived++
    if (this.rxCredits === 0) return this.violation('NO_CREDITS', 'K-frame received while the peer had no credits')
    this.rxCredits--
    if (payload.length > this.mps) {
      return this.violation('MPS_EXCEEDED', `K-frame of ${payload.length} octets exceeds our MPS of ${this.mps}`)
    }
    let data = payload
    if (this.sdu === undefined) {
      if (payload.length < SDU_LENGTH_SIZE)
        return this.violation('SDU_LENGTH_MISSING', 'first K-frame of an SDU without the SDU Length field')
      const length = payload[0]! | (payload[1]! << 8)
      if (length > this.mtu)
        return this.violation('SDU_TOO_LONG', `SDU Length ${length} exceeds our MTU of ${this.mtu}`)
      data = payload.subarray(SDU_LENGTH_SIZE)
      this.sdu = new Uint8Array(length)
      this.sduFilled = 0
    }
    if (this.sduFilled + data.length > this.sdu.length) {
      return this.violation('SDU_LENGTH_MISMATCH', `K-frames carry more than the SDU Length of ${this.sdu.length}`)
    }
    this.sdu.set(data, this.sduFilled)
    this.sduFilled += data.length
    this.owed++
    if (this.sduFilled === this.sdu.length) {
      const sdu = this.sdu
      this.sdu = undefined
      this.stats.sdusReceived++
      if (!this.push(sdu)) this.paused = true
    }
    this.returnCredits()
  }

  /** @internal Flow Control Credit Indication for this channel. */
  addCredits(credits: number): void {
    if (this.channelState !== 'open') return
    if (this.txCredits + credits > MAX_CREDITS) {
      this.violation('CREDIT_OVERFLOW', `peer granted ${credits} credits on top of ${this.txCredits}: more than 65535`)
      return
    }
    this.txCredits += credits
    this.wakeSender()
  }

  /** @internal The peer disconnected (we already answered its Disconnection Request). */
  peerDisconnected(): void {
    if (this.channelState === 'closed') return
    this.finish(new L2capError('CHANNEL_CLOSED', 'the peer disconnected the channel'))
    this.ctx.release(this)
  }

  /** @internal The link went away. */
  linkClosed(err: Error): void {
    if (this.channelState === 'closed') return
    this.finish(err)
  }

  // --- Internals -------------------------------------------------------------------------------

  private closedError(): Error {
    return this.closeReason ?? new L2capError('CHANNEL_CLOSED', 'channel is disconnected')
  }

  private violation(code: string, message: string): void {
    const err = new L2capError(code, `CID 0x${this.localCid.toString(16)}: ${message}; channel disconnected`)
    this.startDisconnect(err)
    this.destroy(err)
  }

  /** Stop sending and receiving, fail queued SDUs, end the readable side. */
  private finish(err: Error): void {
    this.channelState = 'closed'
    this.closeReason = err
    this.sdu = undefined
    for (const q of this.queue.splice(0)) q.reject(err)
    this.wakeSender()
    if (!this.destroyed) this.push(null)
  }

  private startDisconnect(reason: Error): void {
    if (this.channelState !== 'open') return
    this.channelState = 'disconnecting'
    this.closeReason = reason
    this.sdu = undefined
    for (const q of this.queue.splice(0)) q.reject(reason)
    this.wakeSender()
    const { signaling } = this.ctx
    this.disconnecting = signaling
      .request(
        DisconnectionRequest,
        { destinationCid: this.remoteCid, sourceCid: this.localCid },
        DisconnectionResponse,
      )
      .then(
        () => {},
        () => {}, // RTX expired or the link closed: the channel is gone either way (4.6)
      )
      .finally(() => {
        if (this.channelState !== 'closed') this.finish(reason)
        this.ctx.release(this)
      })
  }

  private returnCredits(): void {
    if (this.paused || this.owed === 0 || this.channelState !== 'open') return
    if (this.rxCredits > Math.floor(this.window / 2)) return
    const credits = this.owed
    this.owed = 0
    this.rxCredits += credits
    this.stats.creditIndicationsSent++
    this.stats.creditsReturned += credits
    this.ctx.signaling.indicate(FlowControlCreditIndication, { cid: this.localCid, credits })
  }

  private wakeSender(): void {
    const w = this.wake
    this.wake = undefined
    w?.()
  }

  private async pump(): Promise<void> {
    if (this.pumping) return
    this.pumping = true
    try {
      while (this.queue.length > 0 && this.channelState === 'open') {
        const head = this.queue[0]!
        try {
          await this.sendFrames(head.sdu)
          if (this.queue[0] === head) this.queue.shift()
          this.stats.sdusSent++
          head.resolve()
        } catch (err) {
          if (this.queue[0] === head) this.queue.shift()
          head.reject(err as Error)
        }
      }
    } finally {
      this.pumping = false
    }
  }

  private async sendFrames(sdu: Uint8Array): Promise<void> {
    let offset = 0
    let first = true
    while (first || offset < sdu.length) {
      while (this.txCredits === 0 && this.channelState === 'open') {
        this.stats.creditWaits++
        await new Promise<void>((resolve) => (this.wake = resolve))
      }
      if (this.channelState !== 'open') throw this.closedError()
      const room = first ? this.peerMps - SDU_LENGTH_SIZE : this.peerMps
      const chunk = sdu.subarray(offset, offset + room)
      const payloadLength = chunk.length + (first ? SDU_LENGTH_SIZE : 0)
      const w = new Writer(L2CAP_HEADER_LENGTH + payloadLength).u16(payloadLength, 'length').u16(this.remoteCid, 'cid')
      if (first) w.u16(sdu.length, 'sduLength')
      const frame = w.bytes(chunk).finish()
      this.txCredits--
      this.stats.framesSent++
      offset += chunk.length
      first = false
      await this.ctx.link.send(frame)
    }
  }
}
