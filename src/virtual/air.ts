/**
 * The contract of the virtual air (Core v5.4 Vol 6 Part B 2.3 advertising physical channel PDUs,
 * 2.4 data physical channel PDUs), below everything else in src/virtual: the PDUs as typed
 * objects, a `Station` (what the air delivers to: a controller) and `Air` (what a controller
 * sends through: link.ts's VirtualLink). Advertising-channel PDUs (ADV_IND, ADV_DIRECT_IND,
 * ADV_NONCONN_IND, ADV_SCAN_IND, SCAN_REQ/SCAN_RSP, CONNECT_IND and the extended ADV_EXT_IND +
 * AUX_ADV_IND/AUX_CHAIN_IND/AUX_SCAN_RSP/AUX_CONNECT_REQ) are modelled as objects, not bits: an
 * extended advertising event with its whole AUX chain is one `adv` PDU carrying all its data.
 * Data-channel PDUs (kind 'll') are declared by ll-connection.ts, which adds them to `AirPduMap`
 * by declaration merging. See docs/ARCHITECTURE.md for the layering of src/virtual.
 */
import type { Scheduler } from './scheduler.ts'

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

/** CONNECT_IND / AUX_CONNECT_REQ: sent by an initiator (initiator.ts) to an advertiser. */
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
  /** Whatever else the initiator's side wants to hand the new peripheral (the shared LinkConnection). */
  extra?: unknown
}

/**
 * Air PDU kinds by name. ll-connection.ts adds its data-channel PDUs with
 * `declare module './air.ts' { interface AirPduMap { ll: LlPdu } }`.
 */
export interface AirPduMap {
  adv: AdvPdu
  scan_req: ScanReqPdu
  scan_rsp: ScanRspPdu
  connect_ind: ConnectIndPdu
}
export type AirKind = keyof AirPduMap
export type AirPdu = AirPduMap[AirKind]

/** What the air delivers to (a controller). */
export interface Station {
  /** A small index on its link (pair keys, default addresses). */
  readonly id: number
  /** An air PDU from `from`, heard at `rssi` dBm. */
  receive(from: Station, pdu: AirPdu, rssi: number): void
}

/** What a station sends through and reads the time from (link.ts's VirtualLink). */
export interface Air {
  readonly scheduler: Scheduler
  /** Seed of the link (default addresses are derived from it). */
  readonly seed: number
  allocateId(): number
  add(s: Station): void
  remove(s: Station): void
  /** An advertising-channel PDU to every other station in range. */
  broadcast(from: Station, pdu: AirPdu): void
  /** A PDU to one station; false: it will not be delivered (out of range, lost). */
  unicast(from: Station, to: Station, pdu: AirPdu): boolean
  /** RSSI between two stations (dBm). */
  rssi(a: Station, b: Station): number
}
