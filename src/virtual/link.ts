/**
 * The shared air of the virtual controllers: who hears whom, at what RSSI, with what loss and
 * delay. Advertising-channel PDUs (Core v5.4 Vol 6 Part B 2.3: ADV_IND, ADV_DIRECT_IND,
 * ADV_NONCONN_IND, ADV_SCAN_IND, SCAN_REQ/SCAN_RSP, CONNECT_IND and the extended
 * ADV_EXT_IND + AUX_ADV_IND/AUX_CHAIN_IND/AUX_SCAN_RSP/AUX_CONNECT_REQ) are modelled as typed
 * objects, not bits: an extended advertising event with its whole AUX chain is one `adv` PDU
 * carrying all its data. Data-channel PDUs (kind 'll') are declared by connections.ts, which
 * adds them to `AirPduMap` by declaration merging.
 *
 * Every delivery goes through the scheduler (never re-entrantly inside broadcast/unicast), so
 * the order of events is the order of virtual time, then of sending.
 */
import type { Scheduler } from './scheduler.ts'
import { VirtualScheduler } from './scheduler.ts'
import type { VirtualController } from './controller.ts'

/** Advertising event properties, the same for legacy and extended PDUs (Vol 4 Part E 7.8.53). */
export interface AdvProps {
  connectable: boolean
  scannable: boolean
  directed: boolean
  /** A legacy PDU (ADV_IND, ADV_DIRECT_IND, ADV_SCAN_IND, ADV_NONCONN_IND). */
  legacy: boolean
  /** Legacy ADV_DIRECT_IND high duty cycle (the only legacy high-duty mode). */
  highDuty?: boolean
}

export type LegacyAdvType = 'ADV_IND' | 'ADV_DIRECT_IND' | 'ADV_SCAN_IND' | 'ADV_NONCONN_IND'

/** One advertising event as heard by a scanner or initiator. */
export interface AdvPdu {
  kind: 'adv'
  /** The legacy PDU type; 'ADV_EXT_IND' for an extended advertising event (with its AUX chain). */
  pduType: LegacyAdvType | 'ADV_EXT_IND'
  props: AdvProps
  /** AdvA and its TxAdd (0 public, 1 random). */
  advA: string
  advAType: number
  /** TargetA and its RxAdd, for directed advertising. */
  targetA?: string
  targetAType?: number
  /** AdvData (legacy: at most 31 octets; extended: the whole chain, up to 1650). */
  data: Uint8Array
  /** Extended advertising only: the ADI (Advertising SID and Data ID, Vol 6 Part B 2.3.4.6). */
  sid?: number
  did?: number
  txPower?: number
  primaryPhy?: number
  secondaryPhy?: number
  /** The advertiser's advertising handle (for its own bookkeeping; not on the air). */
  handle: number
}

/** SCAN_REQ / AUX_SCAN_REQ. */
export interface ScanReqPdu {
  kind: 'scan_req'
  scanA: string
  scanAType: number
  advA: string
  advAType: number
  /** Handle of the set the request answers (copied from the AdvPdu). */
  handle: number
  legacy: boolean
}

/** SCAN_RSP / AUX_SCAN_RSP (+ AUX_CHAIN_IND). */
export interface ScanRspPdu {
  kind: 'scan_rsp'
  advA: string
  advAType: number
  data: Uint8Array
  /** The advertising event answered, to report its properties along with the response. */
  adv: AdvPdu
}

/** Connection parameters carried by CONNECT_IND / AUX_CONNECT_REQ (Vol 6 Part B 2.3.3.1). */
export interface ConnectParams {
  /** connInterval in units of 1.25 ms. */
  interval: number
  latency: number
  /** Supervision timeout in units of 10 ms. */
  timeout: number
  /** PHY of the new connection (1 = 1M, 2 = 2M, 3 = Coded). */
  phy?: number
  /** ChSel: channel selection algorithm #2 supported by the initiator. */
  chSel2?: boolean
}

/** CONNECT_IND / AUX_CONNECT_REQ: sent by an initiator (connections.ts) to an advertiser. */
export interface ConnectIndPdu {
  kind: 'connect_ind'
  initA: string
  initAType: number
  advA: string
  advAType: number
  /** The advertiser's advertising handle, copied from the AdvPdu that was answered. */
  handle: number
  legacy: boolean
  params: ConnectParams
  /** Whatever else the initiator's side wants to hand the new peripheral (connections.ts). */
  extra?: unknown
}

/**
 * Air PDU kinds by name. connections.ts adds its data-channel PDUs with
 * `declare module './link.ts' { interface AirPduMap { ll: LlPdu } }`.
 */
export interface AirPduMap {
  adv: AdvPdu
  scan_req: ScanReqPdu
  scan_rsp: ScanRspPdu
  connect_ind: ConnectIndPdu
}
export type AirKind = keyof AirPduMap
export type AirPdu = AirPduMap[AirKind]

export interface LinkOptions {
  scheduler?: Scheduler
  /** Seed of the default VirtualScheduler (ignored when a scheduler is given). */
  seed?: number
}

const pairKey = (a: VirtualController, b: VirtualController): string =>
  a.id < b.id ? `${a.id}:${b.id}` : `${b.id}:${a.id}`

export class VirtualLink {
  readonly scheduler: Scheduler
  /** Seed of the link (default addresses are derived from it). */
  readonly seed: number
  private readonly members = new Set<VirtualController>()
  private readonly rssiOf = new Map<string, number>()
  private readonly outOfRange = new Set<string>()
  private lossProbability = 0
  private delayMs = 0
  private nextId = 0
  /** PDUs put on the air and PDUs dropped (loss or range), for tests. */
  readonly stats = { sent: 0, delivered: 0, lost: 0 }

  constructor(opts: LinkOptions = {}) {
    this.seed = opts.seed ?? 1
    this.scheduler = opts.scheduler ?? new VirtualScheduler({ seed: this.seed })
  }

  get controllers(): ReadonlySet<VirtualController> {
    return this.members
  }

  /** A small index per controller on this link (used for default addresses and pair keys). */
  allocateId(): number {
    return this.nextId++
  }

  add(c: VirtualController): void {
    this.members.add(c)
  }

  remove(c: VirtualController): void {
    this.members.delete(c)
  }

  setRssi(a: VirtualController, b: VirtualController, dBm: number): void {
    this.rssiOf.set(pairKey(a, b), Math.max(-127, Math.min(20, Math.round(dBm))))
  }

  rssi(a: VirtualController, b: VirtualController): number {
    return this.rssiOf.get(pairKey(a, b)) ?? -50
  }

  /** Probability in [0, 1] that any one PDU is lost (seeded by the scheduler's PRNG). */
  setLoss(probability: number): void {
    this.lossProbability = Math.max(0, Math.min(1, probability))
  }

  get loss(): number {
    return this.lossProbability
  }

  setDelay(ms: number): void {
    this.delayMs = Math.max(0, ms)
  }

  get delay(): number {
    return this.delayMs
  }

  setInRange(a: VirtualController, b: VirtualController, inRange: boolean): void {
    if (inRange) this.outOfRange.delete(pairKey(a, b))
    else this.outOfRange.add(pairKey(a, b))
  }

  inRange(a: VirtualController, b: VirtualController): boolean {
    return a !== b && this.members.has(a) && this.members.has(b) && !this.outOfRange.has(pairKey(a, b))
  }

  /** Broadcast an advertising-channel PDU from `from` to every other controller in range. */
  broadcast(from: VirtualController, pdu: AirPdu): void {
    this.stats.sent++
    for (const to of this.members) {
      if (to === from) continue
      this.deliver(from, to, pdu)
    }
  }

  /** Deliver a PDU to one controller after the link delay. false: it will not be delivered. */
  unicast(from: VirtualController, to: VirtualController, pdu: AirPdu): boolean {
    this.stats.sent++
    return this.deliver(from, to, pdu)
  }

  private deliver(from: VirtualController, to: VirtualController, pdu: AirPdu): boolean {
    if (!this.inRange(from, to)) return false
    if (this.lossProbability > 0 && this.scheduler.random() < this.lossProbability) {
      this.stats.lost++
      return false
    }
    const rssi = this.rssi(from, to)
    this.scheduler.schedule(this.delayMs, () => {
      if (!this.members.has(to)) return
      this.stats.delivered++
      to.receive(from, pdu, rssi)
    })
    return true
  }
}
