/**
 * LE Credit Based Connections on one link (Core v5.4 Vol 3 Part A 4.22-4.24, 4.6-4.7, 10.1): the
 * PSM registry, opening channels as either role, and the signalling that belongs to them.
 *
 * - connect(psm): LE Credit Based Connection Request with a free Source CID (0x0040-0x007F,
 *   Table 2.3) and our MTU/MPS/credits; the response's result, if not success, rejects with an
 *   L2capError 'CONNECTION_REFUSED' carrying the result code and its name (Table 4.16).
 * - listen(psm): answers the peer's requests. Refusals, checked in this order: SPSM not
 *   supported (0x0002), insufficient authentication / authorization / encryption key size /
 *   encryption (0x0005-0x0008) against the listener's requirements and the link's LinkSecurity,
 *   invalid Source CID (0x0009), Source CID already allocated (0x000A), unacceptable parameters
 *   (MTU or MPS below 23, MPS above 65533: 0x000B, 4.22), no resources (0x0004: no free CID, the
 *   listener's channel limit or its accept backlog is full).
 * - Flow Control Credit Indication (4.24) carries the sender's own CID: it is matched against our
 *   channels' remote CIDs; unknown ones are ignored. Disconnection Request (4.6) for a CID we do
 *   not have gets Command Reject "Invalid CID in request"; one whose Source CID does not match
 *   is silently discarded.
 *
 * The channels themselves (segmentation, reassembly, credits, the Duplex stream) are in
 * att/l2cap/credit-channel.ts.
 */
import { CID } from './frame.ts'
import { L2capError, type AclLink, type LinkSecurity } from './link.ts'
import type { LeSignaling } from './signaling.ts'
import {
  DisconnectionRequest,
  DisconnectionResponse,
  FlowControlCreditIndication,
  LeCreditBasedConnectionRequest,
  LeCreditBasedConnectionResponse,
  leCreditBasedConnectionResultName,
  type SignalingParams,
} from './signaling-pdu.ts'
import { CreditChannel, MAX_CREDITS, type ChannelContext, type ChannelSetup } from './credit-channel.ts'

export { CreditChannel, MAX_CREDITS }
export type { ChannelState, ChannelStats } from './credit-channel.ts'

/** LE Credit Based Connection Response results (Table 4.16). */
export const LeCreditResult = {
  SUCCESS: 0x0000,
  SPSM_NOT_SUPPORTED: 0x0002,
  NO_RESOURCES: 0x0004,
  INSUFFICIENT_AUTHENTICATION: 0x0005,
  INSUFFICIENT_AUTHORIZATION: 0x0006,
  ENCRYPTION_KEY_SIZE_TOO_SHORT: 0x0007,
  INSUFFICIENT_ENCRYPTION: 0x0008,
  INVALID_SOURCE_CID: 0x0009,
  SOURCE_CID_ALREADY_ALLOCATED: 0x000a,
  UNACCEPTABLE_PARAMETERS: 0x000b,
} as const

/** Smallest MTU and MPS of an LE credit based channel, largest MPS (4.22). */
export const MIN_MTU = 23
export const MIN_MPS = 23
export const MAX_MPS = 65533

export interface ChannelParameters {
  /** Largest SDU we accept, 23..65535 (default 2048). */
  mtu?: number
  /** Largest K-frame payload we accept, 23..65533 (default 247: one LE Data Length of 251 minus the header). */
  mps?: number
  /** Credits we grant, 1..65535 (default 16): our receive window in K-frames. */
  initialCredits?: number
  /** SDUs `sendSdu` queues before it rejects 'QUEUE_FULL' (default 32). */
  maxQueuedSdus?: number
}

export interface ConnectOptions extends ChannelParameters {
  signal?: AbortSignal
}

/** What a listener requires of the link before it accepts (checked against AclLink.security). */
export interface SecurityRequirements {
  encrypted?: boolean
  authenticated?: boolean
  authorized?: boolean
  minKeySize?: number
}

export interface ListenOptions extends ChannelParameters {
  security?: SecurityRequirements
  /** Open channels on this PSM at a time (default: no limit but the CID space). */
  maxChannels?: number
  /** Without an onChannel callback: accepted channels waiting to be taken from the iterator (default 8). */
  backlog?: number
}

const DEFAULTS = { mtu: 2048, mps: 247, initialCredits: 16, maxQueuedSdus: 32 }

function resolveParameters(p: ChannelParameters = {}): Required<ChannelParameters> {
  const r = { ...DEFAULTS, ...p }
  const check = (name: string, v: number, lo: number, hi: number): void => {
    if (!Number.isInteger(v) || v < lo || v > hi) {
      throw new L2capError('INVALID_ARGUMENT', `${name}: ${v} is outside ${lo}..${hi} (Core v5.4 Vol 3 Part A 4.22)`)
    }
  }
  check('mtu', r.mtu, MIN_MTU, 0xffff)
  check('mps', r.mps, MIN_MPS, MAX_MPS)
  check('initialCredits', r.initialCredits, 1, MAX_CREDITS)
  check('maxQueuedSdus', r.maxQueuedSdus, 1, 1 << 20)
  return r
}

function checkPsm(psm: number): void {
  // LE SPSMs: 0x0001-0x007F fixed (SIG assigned), 0x0080-0x00FF dynamic (4.22).
  if (!Number.isInteger(psm) || psm < 0x0001 || psm > 0x00ff) {
    throw new L2capError('INVALID_ARGUMENT', `psm: ${psm} is outside the LE SPSM range 0x0001..0x00FF`)
  }
}

function refusal(result: number, psm: number): L2capError {
  const full = leCreditBasedConnectionResultName(result)
  return new L2capError(
    'CONNECTION_REFUSED',
    `LE credit based connection to PSM 0x${psm.toString(16).padStart(4, '0')}: ${full}`,
    {
      status: result,
      statusName: full.replace(/ \(0x[0-9a-f]{4}\)$/, ''),
    },
  )
}

/** Accepts channels on one PSM; an async iterable of them when no callback was given. */
export class CreditListener implements AsyncIterable<CreditChannel> {
  /** Connection requests refused for this PSM (any reason but "SPSM not supported"). */
  refused = 0
  private readonly waiting: CreditChannel[] = []
  /** While a channel waits in the backlog nobody listens to its errors yet: do not let them crash the process. */
  private readonly quiet = new Map<CreditChannel, () => void>()
  private readonly takers: ((r: IteratorResult<CreditChannel>) => void)[] = []
  private isClosed = false
  /** @internal */
  readonly open = new Set<CreditChannel>()

  /** @internal Created by L2capMux.listen. */
  constructor(
    readonly psm: number,
    /** @internal */ readonly params: Required<ChannelParameters>,
    /** @internal */ readonly opts: ListenOptions,
    private readonly onChannel: ((channel: CreditChannel) => void) | undefined,
    private readonly unregister: (l: CreditListener) => void,
  ) {}

  get closed(): boolean {
    return this.isClosed
  }

  /** @internal Can it take one more channel? */
  hasRoom(): boolean {
    if (this.isClosed) return false
    if (this.opts.maxChannels !== undefined && this.open.size >= this.opts.maxChannels) return false
    return this.onChannel !== undefined || this.takers.length > 0 || this.waiting.length < (this.opts.backlog ?? 8)
  }

  /** @internal */
  deliver(channel: CreditChannel): void {
    this.open.add(channel) // until the manager releases its CID
    if (this.onChannel) this.onChannel(channel)
    else {
      const taker = this.takers.shift()
      if (taker) taker({ value: channel, done: false })
      else {
        const quiet = (): void => {}
        this.quiet.set(channel, quiet)
        channel.on('error', quiet)
        this.waiting.push(channel)
      }
    }
  }

  private take(): CreditChannel | undefined {
    const ch = this.waiting.shift()
    if (ch) {
      ch.off('error', this.quiet.get(ch)!)
      this.quiet.delete(ch)
    }
    return ch
  }

  /** Stop accepting (later requests are refused as "SPSM not supported"); open channels stay open. */
  close(): void {
    if (this.isClosed) return
    this.isClosed = true
    this.unregister(this)
    for (const t of this.takers.splice(0)) t({ value: undefined, done: true })
  }

  [Symbol.asyncIterator](): AsyncIterator<CreditChannel> {
    return {
      next: () => {
        const ch = this.take()
        if (ch) return Promise.resolve({ value: ch, done: false })
        if (this.isClosed) return Promise.resolve({ value: undefined, done: true })
        return new Promise((resolve) => this.takers.push(resolve))
      },
      return: () => {
        this.close()
        return Promise.resolve({ value: undefined, done: true })
      },
    }
  }
}

export interface CreditStats {
  /** Connection requests we refused (all listeners, and unknown PSMs). */
  refused: number
  /** Flow Control Credit Indications for a CID we do not have (ignored). */
  unknownCreditCid: number
}

/** The credit based channels of one link. Created by L2capMux, which routes CIDs 0x0040-0x007F here. */
export class CreditChannels {
  readonly stats: CreditStats = { refused: 0, unknownCreditCid: 0 }
  private readonly listeners = new Map<number, CreditListener>()
  private readonly byCid = new Map<number, CreditChannel>()
  /** Local CIDs of connection requests in flight. */
  private readonly reserved = new Set<number>()
  private closedWith: Error | undefined
  private readonly ctx: ChannelContext

  constructor(
    readonly link: AclLink,
    readonly signaling: LeSignaling,
  ) {
    this.ctx = {
      link,
      signaling,
      release: (ch) => {
        if (this.byCid.get(ch.localCid) === ch) this.byCid.delete(ch.localCid)
        this.listeners.get(ch.psm)?.open.delete(ch)
      },
    }
    signaling.handle(LeCreditBasedConnectionRequest, ({ identifier, params }) =>
      this.onConnectionRequest(identifier, params),
    )
    signaling.handle(FlowControlCreditIndication, ({ params }) => this.onCredits(params.cid, params.credits))
    signaling.handle(DisconnectionRequest, ({ identifier, params }) => this.onDisconnectionRequest(identifier, params))
  }

  /** Channels not yet fully disconnected. */
  get channels(): CreditChannel[] {
    return [...this.byCid.values()]
  }

  listen(psm: number, opts: ListenOptions = {}, onChannel?: (channel: CreditChannel) => void): CreditListener {
    checkPsm(psm)
    const params = resolveParameters(opts)
    if (this.listeners.has(psm))
      throw new L2capError('PSM_IN_USE', `PSM 0x${psm.toString(16).padStart(4, '0')} already has a listener`)
    const l = new CreditListener(psm, params, opts, onChannel, (x) => {
      if (this.listeners.get(psm) === x) this.listeners.delete(psm)
    })
    if (this.closedWith) l.close()
    else this.listeners.set(psm, l)
    return l
  }

  async connect(psm: number, opts: ConnectOptions = {}): Promise<CreditChannel> {
    checkPsm(psm)
    const params = resolveParameters(opts)
    if (this.closedWith) throw this.closedWith
    const localCid = this.freeCid()
    if (localCid === undefined)
      throw new L2capError('NO_RESOURCES', 'all 64 LE dynamic CIDs (0x0040-0x007F) are in use')
    this.reserved.add(localCid)
    let rsp: SignalingParams<typeof LeCreditBasedConnectionResponse>
    try {
      rsp = await this.signaling.request(
        LeCreditBasedConnectionRequest,
        { spsm: psm, sourceCid: localCid, mtu: params.mtu, mps: params.mps, initialCredits: params.initialCredits },
        LeCreditBasedConnectionResponse,
        { signal: opts.signal },
      )
    } finally {
      this.reserved.delete(localCid)
    }
    if (rsp.result !== LeCreditResult.SUCCESS) throw refusal(rsp.result, psm)
    if (this.closedWith) throw this.closedWith
    const { destinationCid, mtu, mps, initialCredits } = rsp
    const cidOk =
      destinationCid >= CID.DYNAMIC_FIRST &&
      destinationCid <= CID.LE_DYNAMIC_LAST &&
      !this.remoteCidInUse(destinationCid)
    const channel = new CreditChannel(this.ctx, {
      psm,
      localCid,
      remoteCid: destinationCid,
      ...ours(params),
      peerMtu: mtu,
      peerMps: mps,
      peerInitialCredits: initialCredits,
    })
    if (!cidOk || mtu < MIN_MTU || mps < MIN_MPS || mps > MAX_MPS) {
      // The peer accepted with values the spec does not allow: close the channel it thinks is open.
      const err = new L2capError(
        'INVALID_PARAMETERS',
        `peer accepted with invalid values (CID 0x${destinationCid.toString(16)}, MTU ${mtu}, MPS ${mps})`,
      )
      if (cidOk) {
        this.byCid.set(localCid, channel)
        channel.on('error', () => {})
        void channel.disconnect()
      }
      throw err
    }
    this.byCid.set(localCid, channel)
    return channel
  }

  /** K-frame for a dynamic CID; false when no channel has it. */
  receive(cid: number, payload: Uint8Array): boolean {
    const ch = this.byCid.get(cid)
    if (!ch) return false
    ch.receiveFrame(payload)
    return true
  }

  close(err: Error): void {
    if (this.closedWith) return
    this.closedWith = err
    for (const l of [...this.listeners.values()]) l.close()
    for (const ch of [...this.byCid.values()]) ch.linkClosed(err)
    this.byCid.clear()
  }

  private freeCid(): number | undefined {
    for (let cid = CID.DYNAMIC_FIRST; cid <= CID.LE_DYNAMIC_LAST; cid++) {
      if (!this.byCid.has(cid) && !this.reserved.has(cid)) return cid
    }
    return undefined
  }

  private remoteCidInUse(cid: number): boolean {
    for (const ch of this.byCid.values()) if (ch.remoteCid === cid) return true
    return false
  }

  private securityRefusal(req: SecurityRequirements | undefined): number | undefined {
    if (!req) return undefined
    const s: LinkSecurity = this.link.security
    if (req.authenticated && !s.authenticated) return LeCreditResult.INSUFFICIENT_AUTHENTICATION
    if (req.encrypted && !s.encrypted) return LeCreditResult.INSUFFICIENT_ENCRYPTION
    if (req.minKeySize !== undefined && s.encrypted && s.keySize < req.minKeySize)
      return LeCreditResult.ENCRYPTION_KEY_SIZE_TOO_SHORT
    if (req.authorized && !s.authorized) return LeCreditResult.INSUFFICIENT_AUTHORIZATION
    return undefined
  }

  private onConnectionRequest(identifier: number, req: SignalingParams<typeof LeCreditBasedConnectionRequest>): void {
    const refuse = (result: number, l?: CreditListener): void => {
      this.stats.refused++
      if (l) l.refused++
      this.signaling.send(LeCreditBasedConnectionResponse, identifier, {
        destinationCid: 0,
        mtu: 0,
        mps: 0,
        initialCredits: 0,
        result,
      })
    }
    const l = this.listeners.get(req.spsm)
    if (!l || l.closed) return refuse(LeCreditResult.SPSM_NOT_SUPPORTED)
    const sec = this.securityRefusal(l.opts.security)
    if (sec !== undefined) return refuse(sec, l)
    if (req.sourceCid < CID.DYNAMIC_FIRST || req.sourceCid > CID.LE_DYNAMIC_LAST)
      return refuse(LeCreditResult.INVALID_SOURCE_CID, l)
    if (this.remoteCidInUse(req.sourceCid)) return refuse(LeCreditResult.SOURCE_CID_ALREADY_ALLOCATED, l)
    if (req.mtu < MIN_MTU || req.mps < MIN_MPS || req.mps > MAX_MPS)
      return refuse(LeCreditResult.UNACCEPTABLE_PARAMETERS, l)
    const localCid = this.freeCid()
    if (localCid === undefined || !l.hasRoom()) return refuse(LeCreditResult.NO_RESOURCES, l)
    const p = l.params
    const channel = new CreditChannel(this.ctx, {
      psm: req.spsm,
      localCid,
      remoteCid: req.sourceCid,
      ...ours(p),
      peerMtu: req.mtu,
      peerMps: req.mps,
      peerInitialCredits: req.initialCredits,
    })
    this.byCid.set(localCid, channel)
    this.signaling.send(LeCreditBasedConnectionResponse, identifier, {
      destinationCid: localCid,
      mtu: p.mtu,
      mps: p.mps,
      initialCredits: p.initialCredits,
      result: LeCreditResult.SUCCESS,
    })
    l.deliver(channel)
  }

  private onCredits(cid: number, credits: number): void {
    for (const ch of this.byCid.values()) {
      if (ch.remoteCid === cid) {
        ch.addCredits(credits)
        return
      }
    }
    this.stats.unknownCreditCid++
  }

  private onDisconnectionRequest(identifier: number, req: SignalingParams<typeof DisconnectionRequest>): void {
    const ch = this.byCid.get(req.destinationCid)
    if (!ch) {
      this.signaling.rejectInvalidCid(identifier, req.destinationCid, req.sourceCid)
      return
    }
    if (ch.remoteCid !== req.sourceCid) return // 4.6: silently discarded
    this.signaling.send(DisconnectionResponse, identifier, {
      destinationCid: req.destinationCid,
      sourceCid: req.sourceCid,
    })
    ch.peerDisconnected()
  }
}

function ours(p: Required<ChannelParameters>): Pick<ChannelSetup, 'mtu' | 'mps' | 'initialCredits' | 'maxQueuedSdus'> {
  return { mtu: p.mtu, mps: p.mps, initialCredits: p.initialCredits, maxQueuedSdus: p.maxQueuedSdus }
}
