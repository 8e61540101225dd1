/**
 * The advertiser's side of the air (Core v5.4 Vol 6 Part B 4.4.2) for the virtual controller's
 * advertising sets (adv-set.ts): one advertising event every advInterval + advDelay (advDelay a
 * pseudo-random 0-10 ms, 4.4.2.2; none for high duty cycle directed advertising), scan requests
 * answered with the scan response (4.4.2.3-4.4.2.5, AUX_SCAN_RSP for extended sets),
 * CONNECT_IND / AUX_CONNECT_REQ handed to connections.ts through `c.hooks`, duration and
 * maximum-events limits ending with LE Advertising Set Terminated (Vol 4 Part E 7.7.65.18), and
 * the connection complete event with Advertising Timeout when legacy high duty cycle directed
 * advertising times out (7.8.9).
 *
 * Privacy (6.2): with Own_Address_Type 0x02/0x03 AdvA is our RPA for the set's peer (a new one
 * after each RPA timeout), TargetA the peer's RPA from its IRK; ScanA and InitA are resolved before
 * the filter policy decides, and the connection learns the identity.
 *
 * Legacy commands drive `legacy` with the device random address; extended commands drive `sets`,
 * each with its own random address. An extended event (ADV_EXT_IND with its whole AUX chain) goes
 * on the air as one `adv` PDU carrying all its data.
 */
import {
  LeAdvertisingSetTerminated,
  LeConnectionComplete,
  LeEnhancedConnectionComplete,
  LeEnhancedConnectionCompleteV2,
  LeScanRequestReceived,
} from '../../hci/events.ts'
import { Status } from '../../hci/constants.ts'
import type { AdvPdu, ConnectIndPdu, ScanReqPdu } from './air.ts'
import type { ControllerCore, OwnAddress } from './core.ts'
import type { Heard } from './resolving-list.ts'
import {
  ANONYMOUS,
  AdvSet,
  CONNECTABLE,
  DIRECTED,
  INCLUDE_TX_POWER,
  LEGACY,
  SCANNABLE,
  allowsData,
  legacyPduType,
  propsOf,
} from './adv-set.ts'

/** High duty cycle directed advertising: at most 3.75 ms apart, for at most 1.28 s (Vol 6 Part B 4.4.2.4.3). */
const HIGH_DUTY_INTERVAL_MS = 3.75
const HIGH_DUTY_TIMEOUT_MS = 1280

/** Is the initiator of `pdu` the peer of directed set `s` (by its identity, or by InitA itself)? */
function isPeer(s: AdvSet, pdu: ConnectIndPdu, initiator: Heard): boolean {
  const { peerAddress, peerAddressType } = s.params
  if (pdu.initA === peerAddress && pdu.initAType === peerAddressType) return true
  return initiator.address === peerAddress && (initiator.type & 1) === peerAddressType
}

export class Advertiser {
  /** Legacy advertising: set 0 of its own (never visible to extended commands: they cannot mix). */
  legacy = new AdvSet(0, true)
  readonly sets = new Map<number, AdvSet>()

  constructor(private readonly c: ControllerCore) {}

  /** Is any extended set enabled? */
  get extendedEnabled(): boolean {
    for (const s of this.sets.values()) if (s.enabled) return true
    return false
  }

  /** Does an enabled set use the Filter Accept List? */
  get usesAcceptList(): boolean {
    if (this.legacy.enabled && this.legacy.params.filterPolicy !== 0) return true
    for (const s of this.sets.values()) if (s.enabled && s.params.filterPolicy !== 0) return true
    return false
  }

  reset(): void {
    this.legacy.stop()
    for (const s of this.sets.values()) s.stop()
    this.legacy = new AdvSet(0, true)
    this.sets.clear()
  }

  /**
   * The address a set would advertise with now (an RPA from the local IRK of its peer's resolving
   * list entry for Own_Address_Type 0x02/0x03, 6.2); undefined: random requested but none set.
   * An extended set without a random address of its own falls back to the device's.
   */
  airAddress(s: AdvSet): OwnAddress | undefined {
    const peer = { type: s.params.peerAddressType, address: s.params.peerAddress }
    return this.c.ownAddress(s.params.ownAddressType, peer, s.legacyApi ? this.c.randomAddress : s.randomAddress)
  }

  /** Enable a set: events from advDelay on, until disabled, `durationMs` (0: none) or `maxEvents` (0: none). */
  start(s: AdvSet, durationMs: number, maxEvents: number): void {
    const scheduler = this.c.link.scheduler
    s.stop()
    s.enabled = true
    s.events = 0
    s.maxEvents = maxEvents
    s.air = this.airAddress(s)
    if (s.legacyApi && s.highDuty) durationMs = HIGH_DUTY_TIMEOUT_MS
    if (durationMs > 0) s.addTimer(scheduler.schedule(durationMs, () => this.timeout(s)))
    // The first event goes out after advDelay only.
    const first = s.highDuty ? 0 : Math.floor(scheduler.random() * 10_001) / 1000
    s.addTimer(scheduler.schedule(first, () => this.advertisingEvent(s)))
  }

  /** The PDU of one advertising event of `s`. */
  pduOf(s: AdvSet): AdvPdu {
    const p = s.params.props
    const air = s.air!
    const pdu: AdvPdu = {
      kind: 'adv',
      pduType: p & LEGACY ? legacyPduType(p) : 'ADV_EXT_IND',
      props: propsOf(p),
      advA: air.address,
      advAType: air.type,
      // ADV_DIRECT_IND carries no AdvData (Vol 6 Part B 2.3.1.2), whatever the host set.
      data: allowsData(p) ? s.data : new Uint8Array(0),
      handle: s.handle,
    }
    if (p & ANONYMOUS) {
      pdu.advA = '00:00:00:00:00:00'
      pdu.advAType = 0xff
    }
    if (p & DIRECTED) {
      // TargetA: an RPA from the peer's IRK when the resolving list has one (6.2).
      const target = this.c.resolvingList.targetA({ type: s.params.peerAddressType, address: s.params.peerAddress })
      pdu.targetA = target.address
      pdu.targetAType = target.type
    }
    if (!(p & LEGACY)) {
      pdu.sid = s.params.sid
      pdu.did = s.did
      pdu.primaryPhy = s.params.primaryPhy
      pdu.secondaryPhy = s.params.secondaryPhy
      if (p & INCLUDE_TX_POWER) pdu.txPower = s.params.txPower
    }
    return pdu
  }

  /** A SCAN_REQ / AUX_SCAN_REQ for one of our sets: the scan response (4.4.2.3). */
  scanRequest(from: ControllerCore, pdu: ScanReqPdu): void {
    const s = this.activeSet(pdu.handle, pdu.advA, pdu.advAType)
    if (!s || !(s.params.props & SCANNABLE) || s.params.props & DIRECTED) return
    if (pdu.legacy !== ((s.params.props & LEGACY) !== 0)) return
    const scanner = this.c.resolvingList.resolve(pdu.scanA, pdu.scanAType)
    if (!scanner || !this.allowed(s, 0x01, scanner)) return
    if (s.params.scanRequestNotification && !s.legacyApi) {
      this.c.event(LeScanRequestReceived, {
        advertisingHandle: s.handle,
        scannerAddressType: scanner.type,
        scannerAddress: scanner.address,
      })
    }
    const adv = this.pduOf(s)
    this.c.link.unicast(this.c, from, {
      kind: 'scan_rsp',
      advA: adv.advA,
      advAType: adv.advAType,
      data: s.scanRsp,
      adv,
    })
  }

  /** A CONNECT_IND / AUX_CONNECT_REQ for one of our sets: the set stops, connections.ts connects. */
  connectRequest(from: ControllerCore, pdu: ConnectIndPdu, rssi: number): void {
    const c = this.c
    if (!c.hooks.acceptsConnections) return
    const s = this.activeSet(pdu.handle, pdu.advA, pdu.advAType)
    if (!s || !(s.params.props & CONNECTABLE)) return
    if (pdu.legacy !== ((s.params.props & LEGACY) !== 0)) return
    // 6.2: InitA resolved, then the filter policy (or, directed, the peer) decides.
    const initiator = c.resolvingList.resolve(pdu.initA, pdu.initAType)
    if (!initiator) return
    if (s.params.props & DIRECTED) {
      if (!isPeer(s, pdu, initiator)) return
    } else if (!this.allowed(s, 0x02, initiator)) return
    const air = s.air!
    s.stop()
    const handle = c.hooks.connectInd({
      from,
      pdu,
      rssi,
      handle: s.handle,
      legacy: s.legacyApi,
      localAddress: air.address,
      localAddressType: air.type,
      ownAddressType: s.params.ownAddressType,
      peerAddress: initiator.address,
      peerAddressType: initiator.type,
      peerRpa: initiator.rpa,
      localRpa: air.generated ? air.address : undefined,
    })
    if (handle !== undefined && !s.legacyApi) this.terminate(s, Status.Success, handle)
  }

  private advertisingEvent(s: AdvSet): void {
    if (!s.enabled) return
    // An RPA changes when the RPA timeout has expired (6.1): take the current one.
    if (s.params.ownAddressType >= 2) s.air = this.airAddress(s) ?? s.air
    this.c.link.broadcast(this.c, this.pduOf(s))
    s.events++
    if (s.maxEvents > 0 && s.events >= s.maxEvents) {
      this.terminate(s, Status.LimitReached)
      return
    }
    // advDelay: 0-10 ms, pseudo-random per event (Vol 6 Part B 4.4.2.2.1); in whole microseconds.
    const scheduler = this.c.link.scheduler
    const delay = s.highDuty
      ? HIGH_DUTY_INTERVAL_MS
      : s.params.intervalMs + Math.floor(scheduler.random() * 10_001) / 1000
    s.addTimer(scheduler.schedule(delay, () => this.advertisingEvent(s)))
  }

  private timeout(s: AdvSet): void {
    if (!s.enabled) return
    if (s.legacyApi) {
      // 7.8.9: high duty cycle directed advertising that times out ends with a connection
      // complete event carrying Advertising Timeout.
      s.stop()
      this.connectionFailed(Status.AdvertisingTimeout, s)
      return
    }
    this.terminate(s, Status.AdvertisingTimeout)
  }

  /** An extended set ends by itself (duration, max events, connection): LE Advertising Set Terminated. */
  private terminate(s: AdvSet, status: number, connectionHandle = 0): void {
    s.stop()
    if (s.legacyApi) return
    this.c.event(LeAdvertisingSetTerminated, {
      status,
      advertisingHandle: s.handle,
      connectionHandle,
      numCompletedExtendedAdvertisingEvents: Math.min(255, s.events),
    })
  }

  private activeSet(handle: number, advA: string, advAType: number): AdvSet | undefined {
    const legacy = this.legacy
    const s =
      legacy.enabled && legacy.handle === handle && this.c.advertisingCommands !== 'extended'
        ? legacy
        : this.sets.get(handle)
    if (!s?.enabled || !s.air) return undefined
    if (s.params.props & ANONYMOUS) return undefined
    return s.air.address === advA && s.air.type === advAType ? s : undefined
  }

  /** Advertising_Filter_Policy: bit 0 scan requests, bit 1 connect requests only from the list (4.3.2). */
  private allowed(s: AdvSet, bit: number, who: Heard): boolean {
    return (s.params.filterPolicy & bit) === 0 || this.c.inAcceptList(who.type & 1, who.address)
  }

  /**
   * LE (Enhanced) Connection Complete for a connection that was never made (7.7.65.1 / .10):
   * the v2, v1 or legacy event, whichever the LE event mask enables first.
   */
  private connectionFailed(status: number, s: AdvSet): void {
    const c = this.c
    const base = {
      status,
      connectionHandle: 0,
      role: 1,
      peerAddressType: s.params.peerAddressType,
      peerAddress: s.params.peerAddress,
      connectionInterval: 0,
      peripheralLatency: 0,
      supervisionTimeout: 0,
      centralClockAccuracy: 0,
    }
    const none = '00:00:00:00:00:00'
    const rpa = { localResolvablePrivateAddress: none, peerResolvablePrivateAddress: none }
    if (c.eventEnabled(LeEnhancedConnectionCompleteV2)) {
      c.event(LeEnhancedConnectionCompleteV2, { ...base, ...rpa, advertisingHandle: s.handle, syncHandle: 0xffff })
    } else if (c.eventEnabled(LeEnhancedConnectionComplete)) {
      c.event(LeEnhancedConnectionComplete, { ...base, ...rpa })
    } else c.event(LeConnectionComplete, base)
  }
}
