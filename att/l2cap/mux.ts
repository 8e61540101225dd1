/**
 * The L2CAP channel multiplexer of one LE ACL link (Core v5.4 Vol 3 Part A 2.1-2.2, 3.1, Table
 * 2.3): B-frames from the link are routed by Channel ID to the fixed channels of LE-U, ATT
 * (0x0004), LE signalling (0x0005, att/l2cap/signaling.ts) and SMP (0x0006), and to the
 * dynamically allocated LE credit based channels (0x0040-0x007F, att/l2cap/credit.ts).
 *
 * Frames whose length field does not match (decodeL2capHeader) are counted in `stats.malformed`
 * and frames for a CID nobody owns in `stats.unknownCid`; both are dropped (Part A 2.1: data on
 * an unknown CID is discarded). When the link closes, everything pending rejects with an
 * L2capError 'LINK_CLOSED'.
 */
import type { Clock } from '../../hci/host.ts'
import { DecodeError } from '../../hci/errors.ts'
import { CID, decodeL2capHeader, encodeL2capFrame } from './frame.ts'
import type { FixedChannel } from './channel.ts'
import { linkClosedError, type AclLink } from './link.ts'
import { LeSignaling, type LeSignalingOptions } from './signaling.ts'
import {
  CreditChannels,
  type CreditChannel,
  type ConnectOptions,
  type ListenOptions,
  type CreditListener,
  type CreditStats,
} from './credit.ts'

export type { FixedChannel } from './channel.ts'

export interface MuxStats {
  /** Frames for a CID that no channel owns (dropped). */
  unknownCid: number
  /** Frames whose length field does not match their size (dropped). */
  malformed: number
  /** Frames on a fixed channel that had no subscriber yet (dropped). */
  undelivered: number
}

export interface L2capMuxOptions {
  clock: Clock
  /** Options of the LE signalling channel (RTX, connection parameter policy). */
  signaling?: Omit<LeSignalingOptions, 'clock'>
}

class Fixed implements FixedChannel {
  private readonly dataCbs: ((payload: Uint8Array) => void)[] = []
  private readonly closeCbs: ((reason: Error) => void)[] = []

  constructor(
    readonly cid: number,
    readonly link: AclLink,
    private readonly stats: MuxStats,
  ) {}

  send(payload: Uint8Array): Promise<void> {
    if (this.link.closed) return Promise.reject(linkClosedError())
    let frame: Uint8Array
    try {
      frame = encodeL2capFrame(this.cid, payload)
    } catch (e) {
      return Promise.reject(e)
    }
    return this.link.send(frame)
  }

  onData(cb: (payload: Uint8Array) => void): void {
    this.dataCbs.push(cb)
  }

  onClose(cb: (reason: Error) => void): void {
    this.closeCbs.push(cb)
  }

  deliver(payload: Uint8Array): void {
    if (this.dataCbs.length === 0) {
      this.stats.undelivered++
      return
    }
    for (const cb of this.dataCbs) cb(payload)
  }

  close(reason: Error): void {
    for (const cb of this.closeCbs.splice(0)) cb(reason)
  }
}

export class L2capMux {
  readonly stats: MuxStats = { unknownCid: 0, malformed: 0, undelivered: 0 }
  /** CID 0x0004 */
  readonly att: FixedChannel
  /** CID 0x0006 */
  readonly smp: FixedChannel
  /** CID 0x0005 */
  readonly signaling: LeSignaling
  private readonly fixedAtt: Fixed
  private readonly fixedSmp: Fixed
  private readonly fixedSig: Fixed
  private readonly credit: CreditChannels
  private isClosed = false

  constructor(
    readonly link: AclLink,
    opts: L2capMuxOptions,
  ) {
    this.fixedAtt = new Fixed(CID.ATT, link, this.stats)
    this.fixedSmp = new Fixed(CID.SMP, link, this.stats)
    this.fixedSig = new Fixed(CID.LE_SIGNALING, link, this.stats)
    this.att = this.fixedAtt
    this.smp = this.fixedSmp
    this.signaling = new LeSignaling(this.fixedSig, { ...opts.signaling, clock: opts.clock })
    this.credit = new CreditChannels(link, this.signaling)
    link.onFrame((frame) => this.receive(frame))
    link.onClose((reason) => this.shut(reason))
    if (link.closed) this.shut()
  }

  get closed(): boolean {
    return this.isClosed
  }

  /** Accept LE credit based connections on `psm` (0x0001-0x00FF). */
  listen(psm: number, opts?: ListenOptions, onChannel?: (channel: CreditChannel) => void): CreditListener {
    return this.credit.listen(psm, opts, onChannel)
  }

  /** Open an LE credit based connection to the peer's `psm`. */
  connect(psm: number, opts?: ConnectOptions): Promise<CreditChannel> {
    return this.credit.connect(psm, opts)
  }

  /** Counters of the credit based channels (refusals, credits for unknown CIDs). */
  get creditStats(): CreditStats {
    return this.credit.stats
  }

  /** Open credit based channels (not yet disconnected). */
  get channels(): readonly CreditChannel[] {
    return this.credit.channels
  }

  private receive(frame: Uint8Array): void {
    if (this.isClosed) return
    const f = decodeL2capHeader(frame)
    if (f instanceof DecodeError) {
      this.stats.malformed++
      return
    }
    switch (f.cid) {
      case CID.ATT:
        this.fixedAtt.deliver(f.payload)
        return
      case CID.LE_SIGNALING:
        this.signaling.receive(f.payload)
        return
      case CID.SMP:
        this.fixedSmp.deliver(f.payload)
        return
      default:
        if (!this.credit.receive(f.cid, f.payload)) this.stats.unknownCid++
    }
  }

  private shut(reason?: Error): void {
    if (this.isClosed) return
    this.isClosed = true
    const err = linkClosedError(reason)
    this.signaling.close(err)
    this.credit.close(err)
    this.fixedAtt.close(err)
    this.fixedSmp.close(err)
    this.fixedSig.close(err)
  }
}
