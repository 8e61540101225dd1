/**
 * Advertising of the virtual controller: legacy (Core v5.4 Vol 4 Part E 7.8.5-7.8.9) and
 * extended (7.8.52-7.8.60) commands over one model of advertising sets, and the advertiser's
 * side of the air (Vol 6 Part B 4.4.2): one advertising event every advInterval + advDelay
 * (advDelay a pseudo-random 0-10 ms, 4.4.2.2; none for high duty cycle directed advertising),
 * scan requests answered with the scan response (4.4.2.3-4.4.2.5, AUX_SCAN_RSP for extended
 * sets), CONNECT_IND / AUX_CONNECT_REQ handed to connections.ts through `c.hooks`, duration and
 * maximum-events limits ending with LE Advertising Set Terminated (7.7.65.18).
 *
 * Legacy commands drive set 0 with the device random address; extended commands drive sets
 * 0x00-0xEF, each with its own random address. An extended event (ADV_EXT_IND with its whole
 * AUX chain) goes on the air as one `adv` PDU carrying all its data.
 */
import {
  LeClearAdvertisingSets,
  LeReadAdvertisingPhysicalChannelTxPower,
  LeReadMaximumAdvertisingDataLength,
  LeReadNumberOfSupportedAdvertisingSets,
  LeRemoveAdvertisingSet,
  LeSetAdvertisingData,
  LeSetAdvertisingEnable,
  LeSetAdvertisingParameters,
  LeSetAdvertisingSetRandomAddress,
  LeSetExtendedAdvertisingData,
  LeSetExtendedAdvertisingEnable,
  LeSetExtendedAdvertisingParameters,
  LeSetExtendedScanResponseData,
  LeSetScanResponseData,
} from '../../hci/commands.ts'
import {
  LeAdvertisingSetTerminated,
  LeConnectionComplete,
  LeEnhancedConnectionComplete,
  LeEnhancedConnectionCompleteV2,
  LeScanRequestReceived,
} from '../../hci/events.ts'
import { Status } from '../../hci/constants.ts'
import { ControllerError, type VirtualController } from './controller.ts'
import { filterAcceptListInUse } from './filter-accept-list.ts'
import type { AdvPdu, AdvProps, ConnectIndPdu, LegacyAdvType, ScanReqPdu } from './link.ts'

/** LE Read Maximum Advertising Data Length (7.8.57). */
export const MAX_ADVERTISING_DATA_LENGTH = 1650
/** Sets of LE Read Number of Supported Advertising Sets (7.8.58). */
export const ADVERTISING_SETS = 4
/** Advertising_Handle range (7.8.53). */
const MAX_HANDLE = 0xef
/** Tx power we report and use (dBm). */
const TX_POWER = 0
/** High duty cycle directed advertising: at most 3.75 ms apart, for at most 1.28 s (Vol 6 Part B 4.4.2.4.3). */
const HIGH_DUTY_INTERVAL_MS = 3.75
const HIGH_DUTY_TIMEOUT_MS = 1280

// Advertising_Event_Properties bits (7.8.53)
const CONNECTABLE = 1 << 0
const SCANNABLE = 1 << 1
const DIRECTED = 1 << 2
const HIGH_DUTY = 1 << 3
const LEGACY = 1 << 4
const ANONYMOUS = 1 << 5
const INCLUDE_TX_POWER = 1 << 6

/** Legacy Advertising_Type (7.8.5) -> event properties of the equivalent legacy PDU (7.8.53 table). */
const LEGACY_TYPE_PROPS = [0x13, 0x1d, 0x12, 0x10, 0x15] as const
const LEGACY_PROPS = new Set<number>(LEGACY_TYPE_PROPS)

// Advertising data operations (7.8.54)
const INTERMEDIATE = 0
const FIRST = 1
const _LAST = 2
const COMPLETE = 3
const UNCHANGED = 4

interface SetParams {
  props: number
  intervalMs: number
  ownAddressType: number
  peerAddressType: number
  peerAddress: string
  filterPolicy: number
  txPower: number
  primaryPhy: number
  secondaryPhy: number
  sid: number
  scanRequestNotification: boolean
}

class AdvSet {
  params: SetParams
  randomAddress: string | undefined
  data: Uint8Array = new Uint8Array(0)
  scanRsp: Uint8Array = new Uint8Array(0)
  partialData: Uint8Array[] | undefined
  partialScanRsp: Uint8Array[] | undefined
  /** Advertising Data ID (Vol 6 Part B 2.3.4.6): changes whenever the data does. */
  did = 0
  enabled = false
  events = 0
  maxEvents = 0
  /** The address on the air while enabled. */
  air: { address: string; type: number } | undefined
  private timers: Array<() => void> = []

  constructor(
    readonly handle: number,
    readonly legacyApi: boolean,
  ) {
    this.params = defaultParams()
  }

  addTimer(cancel: () => void): void {
    this.timers.push(cancel)
  }

  stop(): void {
    this.enabled = false
    for (const cancel of this.timers) cancel()
    this.timers = []
  }
}

/** 7.8.5 defaults: 1.28 s, ADV_IND, public, all channels, no filter. */
function defaultParams(): SetParams {
  return {
    props: LEGACY_TYPE_PROPS[0],
    intervalMs: 0x0800 * 0.625,
    ownAddressType: 0,
    peerAddressType: 0,
    peerAddress: '00:00:00:00:00:00',
    filterPolicy: 0,
    txPower: TX_POWER,
    primaryPhy: 1,
    secondaryPhy: 1,
    sid: 0,
    scanRequestNotification: false,
  }
}

function propsOf(p: number): AdvProps {
  const props: AdvProps = {
    connectable: (p & CONNECTABLE) !== 0,
    scannable: (p & SCANNABLE) !== 0,
    directed: (p & DIRECTED) !== 0,
    legacy: (p & LEGACY) !== 0,
  }
  if (props.legacy && props.directed && (p & HIGH_DUTY) !== 0) props.highDuty = true
  return props
}

function legacyPduType(p: number): LegacyAdvType {
  if (p & DIRECTED) return 'ADV_DIRECT_IND'
  if (p & CONNECTABLE) return 'ADV_IND'
  if (p & SCANNABLE) return 'ADV_SCAN_IND'
  return 'ADV_NONCONN_IND'
}

/** Do these properties allow advertising data / scan response data at all? */
function allowsData(p: number): boolean {
  if (p & LEGACY) return (p & DIRECTED) === 0
  return (p & SCANNABLE) === 0
}

function allowsScanRsp(p: number): boolean {
  return (p & SCANNABLE) !== 0
}

const fail = (status: number, message?: string): never => {
  throw new ControllerError(status, message)
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

export function installAdvertising(c: VirtualController): void {
  /** Legacy advertising: set 0 of its own (never visible to extended commands: they cannot mix). */
  let legacy = new AdvSet(0, true)
  const sets = new Map<number, AdvSet>()

  c.setFeature(12) // LE Extended Advertising

  c.activity('legacy-advertising', () => legacy.enabled)
  filterAcceptListInUse(
    c,
    () =>
      (legacy.enabled && legacy.params.filterPolicy !== 0) ||
      [...sets.values()].some((s) => s.enabled && s.params.filterPolicy !== 0),
  )
  c.activity('extended-advertising', () => [...sets.values()].some((s) => s.enabled))

  c.onReset(() => {
    legacy.stop()
    for (const s of sets.values()) s.stop()
    legacy = new AdvSet(0, true)
    sets.clear()
  })

  // --- the advertiser on the air ----------------------------------------------------------------

  const airAddress = (s: AdvSet): { address: string; type: number } | undefined =>
    c.ownAddress(s.params.ownAddressType, s.legacyApi ? c.randomAddress : s.randomAddress)

  function pduOf(s: AdvSet): AdvPdu {
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
      pdu.targetA = s.params.peerAddress
      pdu.targetAType = s.params.peerAddressType
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

  function advertisingEvent(s: AdvSet): void {
    if (!s.enabled) return
    c.link.broadcast(c, pduOf(s))
    s.events++
    if (s.maxEvents > 0 && s.events >= s.maxEvents) {
      terminate(s, Status.LimitReached)
      return
    }
    scheduleNext(s)
  }

  function scheduleNext(s: AdvSet): void {
    const highDuty = propsOf(s.params.props).highDuty === true
    // advDelay: 0-10 ms, pseudo-random per event (Vol 6 Part B 4.4.2.2.1); in whole microseconds.
    const delay = highDuty
      ? HIGH_DUTY_INTERVAL_MS
      : s.params.intervalMs + Math.floor(c.link.scheduler.random() * 10_001) / 1000
    s.addTimer(c.link.scheduler.schedule(delay, () => advertisingEvent(s)))
  }

  function start(s: AdvSet, durationMs: number, maxEvents: number): void {
    s.stop()
    s.enabled = true
    s.events = 0
    s.maxEvents = maxEvents
    s.air = airAddress(s)
    const highDuty = propsOf(s.params.props).highDuty === true
    if (s.legacyApi && highDuty) durationMs = HIGH_DUTY_TIMEOUT_MS
    if (durationMs > 0) s.addTimer(c.link.scheduler.schedule(durationMs, () => timeout(s)))
    // The first event goes out after advDelay only.
    const first = highDuty ? 0 : Math.floor(c.link.scheduler.random() * 10_001) / 1000
    s.addTimer(c.link.scheduler.schedule(first, () => advertisingEvent(s)))
  }

  function timeout(s: AdvSet): void {
    if (!s.enabled) return
    if (s.legacyApi) {
      // 7.8.9: high duty cycle directed advertising that times out ends with a connection
      // complete event carrying Advertising Timeout.
      s.stop()
      connectionFailed(c, Status.AdvertisingTimeout, s)
      return
    }
    terminate(s, Status.AdvertisingTimeout)
  }

  /** An extended set ends by itself (duration, max events): LE Advertising Set Terminated. */
  function terminate(s: AdvSet, status: number, connectionHandle = 0): void {
    s.stop()
    if (s.legacyApi) return
    c.event(LeAdvertisingSetTerminated, {
      status,
      advertisingHandle: s.handle,
      connectionHandle,
      numCompletedExtendedAdvertisingEvents: Math.min(255, s.events),
    })
  }

  const activeSet = (handle: number, advA: string, advAType: number): AdvSet | undefined => {
    const s =
      legacy.enabled && legacy.handle === handle && c.advertisingCommands !== 'extended' ? legacy : sets.get(handle)
    if (!s?.enabled || !s.air) return undefined
    if (s.params.props & ANONYMOUS) return undefined
    return s.air.address === advA && s.air.type === advAType ? s : undefined
  }

  const allowed = (s: AdvSet, bit: number, addr: string, type: number): boolean =>
    (s.params.filterPolicy & bit) === 0 || c.inAcceptList(type, addr)

  c.onAir('scan_req', (from, pdu: ScanReqPdu, rssi) => {
    const s = activeSet(pdu.handle, pdu.advA, pdu.advAType)
    if (!s || !(s.params.props & SCANNABLE) || s.params.props & DIRECTED) return
    if (pdu.legacy !== ((s.params.props & LEGACY) !== 0)) return
    if (!allowed(s, 0x01, pdu.scanA, pdu.scanAType)) return
    if (s.params.scanRequestNotification && !s.legacyApi) {
      c.event(LeScanRequestReceived, {
        advertisingHandle: s.handle,
        scannerAddressType: pdu.scanAType,
        scannerAddress: pdu.scanA,
      })
    }
    const adv = pduOf(s)
    c.link.unicast(c, from, { kind: 'scan_rsp', advA: adv.advA, advAType: adv.advAType, data: s.scanRsp, adv })
    void rssi
  })

  c.onAir('connect_ind', (from, pdu: ConnectIndPdu, rssi) => {
    if (!c.hooks.acceptsConnections) return
    const s = activeSet(pdu.handle, pdu.advA, pdu.advAType)
    if (!s || !(s.params.props & CONNECTABLE)) return
    if (pdu.legacy !== ((s.params.props & LEGACY) !== 0)) return
    if (s.params.props & DIRECTED) {
      if (pdu.initA !== s.params.peerAddress || pdu.initAType !== s.params.peerAddressType) return
    } else if (!allowed(s, 0x02, pdu.initA, pdu.initAType)) return
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
    })
    if (handle !== undefined && !s.legacyApi) terminate(s, Status.Success, handle)
  })

  // --- legacy commands (7.8.5-7.8.9) ------------------------------------------------------------

  c.handle(LeSetAdvertisingParameters, (p) => {
    if (legacy.enabled) fail(Status.CommandDisallowed, 'advertising is enabled')
    if (p.advertisingType > 4) fail(Status.InvalidParameters, 'Advertising_Type')
    const highDuty = p.advertisingType === 1
    if (!highDuty) {
      const ok = (v: number): boolean => v >= 0x0020 && v <= 0x4000
      if (!ok(p.advertisingIntervalMin) || !ok(p.advertisingIntervalMax)) fail(Status.InvalidParameters, 'interval')
      if (p.advertisingIntervalMin > p.advertisingIntervalMax) fail(Status.InvalidParameters, 'interval min > max')
    }
    if (p.ownAddressType > 3 || p.peerAddressType > 1) fail(Status.InvalidParameters, 'address type')
    if (p.advertisingChannelMap === 0 || p.advertisingChannelMap > 7) fail(Status.InvalidParameters, 'channel map')
    if (p.advertisingFilterPolicy > 3) fail(Status.InvalidParameters, 'filter policy')
    legacy.params = {
      ...defaultParams(),
      props: LEGACY_TYPE_PROPS[p.advertisingType]!,
      intervalMs: p.advertisingIntervalMin * 0.625,
      ownAddressType: p.ownAddressType,
      peerAddressType: p.peerAddressType,
      peerAddress: p.peerAddress,
      filterPolicy: p.advertisingFilterPolicy,
    }
    return { status: 0 }
  })

  c.handle(LeReadAdvertisingPhysicalChannelTxPower, () => ({ status: 0, txPowerLevel: TX_POWER }))

  c.handle(LeSetAdvertisingData, ({ advertisingDataLength, advertisingData }) => {
    if (advertisingDataLength > 31) fail(Status.InvalidParameters, 'Advertising_Data_Length')
    legacy.data = advertisingData.slice(0, advertisingDataLength)
    return { status: 0 }
  })

  c.handle(LeSetScanResponseData, ({ scanResponseDataLength, scanResponseData }) => {
    if (scanResponseDataLength > 31) fail(Status.InvalidParameters, 'Scan_Response_Data_Length')
    legacy.scanRsp = scanResponseData.slice(0, scanResponseDataLength)
    return { status: 0 }
  })

  c.handle(LeSetAdvertisingEnable, ({ enable }) => {
    if (enable > 1) fail(Status.InvalidParameters, 'Advertising_Enable')
    if (enable === 0) {
      legacy.stop()
      return { status: 0 }
    }
    if (legacy.enabled) return { status: 0 }
    if (!airAddress(legacy)) fail(Status.InvalidParameters, 'own address is random but no random address is set')
    start(legacy, 0, 0)
    return { status: 0 }
  })

  // --- extended commands (7.8.52-7.8.60) --------------------------------------------------------

  const existing = (handle: number): AdvSet => {
    if (handle > MAX_HANDLE) fail(Status.InvalidParameters, 'Advertising_Handle')
    return sets.get(handle) ?? fail(Status.UnknownAdvertisingIdentifier)
  }

  c.handle(LeSetAdvertisingSetRandomAddress, ({ advertisingHandle, randomAddress }) => {
    const s = existing(advertisingHandle)
    s.randomAddress = randomAddress
    return { status: 0 }
  })

  c.handle(LeSetExtendedAdvertisingParameters, (p) => {
    if (p.advertisingHandle > MAX_HANDLE) fail(Status.InvalidParameters, 'Advertising_Handle')
    let s = sets.get(p.advertisingHandle)
    if (s?.enabled) fail(Status.CommandDisallowed, 'advertising set is enabled')
    if (!s && sets.size >= ADVERTISING_SETS) fail(Status.MemoryCapacityExceeded, 'no advertising set left')
    const props = p.advertisingEventProperties
    if (props & ~0x7f) fail(Status.InvalidParameters, 'Advertising_Event_Properties: reserved bits')
    const legacyPdu = (props & LEGACY) !== 0
    if (legacyPdu) {
      if (!LEGACY_PROPS.has(props & 0x1f) || props & ANONYMOUS)
        fail(Status.InvalidParameters, 'legacy event properties')
    } else {
      if (props & CONNECTABLE && props & SCANNABLE) fail(Status.InvalidParameters, 'connectable and scannable')
      if (props & ANONYMOUS && props & CONNECTABLE) fail(Status.InvalidParameters, 'anonymous and connectable')
      if (props & HIGH_DUTY && !(props & DIRECTED && props & CONNECTABLE)) fail(Status.InvalidParameters, 'high duty')
    }
    const highDuty = (props & HIGH_DUTY) !== 0 && (props & DIRECTED) !== 0
    if (!highDuty) {
      const ok = (v: number): boolean => v >= 0x000020 && v <= 0xffffff
      if (!ok(p.primaryAdvertisingIntervalMin) || !ok(p.primaryAdvertisingIntervalMax))
        fail(Status.InvalidParameters, 'interval')
      if (p.primaryAdvertisingIntervalMin > p.primaryAdvertisingIntervalMax)
        fail(Status.InvalidParameters, 'interval min > max')
    }
    if (p.primaryAdvertisingChannelMap === 0 || p.primaryAdvertisingChannelMap > 7)
      fail(Status.InvalidParameters, 'channel map')
    if (p.ownAddressType > 3 || p.peerAddressType > 1) fail(Status.InvalidParameters, 'address type')
    if (p.advertisingFilterPolicy > 3) fail(Status.InvalidParameters, 'filter policy')
    if (!(p.advertisingTxPower === 0x7f || (p.advertisingTxPower >= -127 && p.advertisingTxPower <= 20))) {
      fail(Status.InvalidParameters, 'Advertising_TX_Power')
    }
    if (p.primaryAdvertisingPhy !== 1 && p.primaryAdvertisingPhy !== 3)
      fail(Status.InvalidParameters, 'Primary_Advertising_PHY')
    if (p.primaryAdvertisingPhy === 3 && !c.hasFeature(11)) fail(Status.UnsupportedFeature, 'LE Coded PHY')
    if (!legacyPdu) {
      if (p.secondaryAdvertisingPhy < 1 || p.secondaryAdvertisingPhy > 3)
        fail(Status.InvalidParameters, 'Secondary_Advertising_PHY')
      if (p.secondaryAdvertisingPhy === 2 && !c.hasFeature(8)) fail(Status.UnsupportedFeature, 'LE 2M PHY')
      if (p.secondaryAdvertisingPhy === 3 && !c.hasFeature(11)) fail(Status.UnsupportedFeature, 'LE Coded PHY')
    }
    if (p.advertisingSid > 0x0f) fail(Status.InvalidParameters, 'Advertising_SID')
    if (p.scanRequestNotificationEnable > 1) fail(Status.InvalidParameters, 'Scan_Request_Notification_Enable')
    if (s) {
      // 7.8.53: existing data must suit the new type.
      if (s.data.length > 0 && (!allowsData(props) || (legacyPdu && s.data.length > 31)))
        fail(Status.InvalidParameters, 'existing advertising data')
      if (s.scanRsp.length > 0 && (!allowsScanRsp(props) || (legacyPdu && s.scanRsp.length > 31)))
        fail(Status.InvalidParameters, 'existing scan response data')
    } else {
      s = new AdvSet(p.advertisingHandle, false)
      sets.set(p.advertisingHandle, s)
    }
    const txPower = p.advertisingTxPower === 0x7f ? TX_POWER : Math.max(-20, Math.min(10, p.advertisingTxPower))
    s.params = {
      props,
      intervalMs: p.primaryAdvertisingIntervalMin * 0.625,
      ownAddressType: p.ownAddressType,
      peerAddressType: p.peerAddressType,
      peerAddress: p.peerAddress,
      filterPolicy: p.advertisingFilterPolicy,
      txPower,
      primaryPhy: p.primaryAdvertisingPhy,
      secondaryPhy: legacyPdu ? 1 : p.secondaryAdvertisingPhy,
      sid: p.advertisingSid,
      scanRequestNotification: p.scanRequestNotificationEnable === 1,
    }
    return { status: 0, selectedTxPower: txPower }
  })

  /** 7.8.54 / 7.8.55: one fragment operation on a set's data or scan response data. */
  function fragment(
    s: AdvSet,
    which: 'data' | 'scanRsp',
    operation: number,
    fragmentPreference: number,
    bytes: Uint8Array,
  ): void {
    if (operation > UNCHANGED) fail(Status.InvalidParameters, 'Operation')
    if (fragmentPreference > 1) fail(Status.InvalidParameters, 'Fragment_Preference')
    const props = s.params.props
    const legacyPdu = (props & LEGACY) !== 0
    const allows = which === 'data' ? allowsData(props) : allowsScanRsp(props)
    if (!allows && !(operation === COMPLETE && bytes.length === 0))
      fail(
        Status.InvalidParameters,
        `this advertising type has no ${which === 'data' ? 'advertising' : 'scan response'} data`,
      )
    if (legacyPdu && (operation !== COMPLETE || bytes.length > 31))
      fail(Status.InvalidParameters, 'legacy PDUs: one complete fragment of at most 31 octets')
    if (operation === UNCHANGED) {
      if (which === 'scanRsp' || !s.enabled || bytes.length !== 0 || s.data.length === 0)
        fail(Status.InvalidParameters, 'Operation 4 (unchanged data)')
      s.did = (s.did + 1) & 0x0fff
      return
    }
    if (s.enabled && operation !== COMPLETE) fail(Status.CommandDisallowed, 'fragmented data while the set is enabled')
    const partialKey = which === 'data' ? 'partialData' : 'partialScanRsp'
    let parts: Uint8Array[]
    if (operation === FIRST || operation === COMPLETE) parts = []
    else parts = s[partialKey] ?? fail(Status.InvalidParameters, 'intermediate or last fragment without a first')
    parts.push(bytes.slice())
    const total = parts.reduce((n, p) => n + p.length, 0)
    if (total > MAX_ADVERTISING_DATA_LENGTH) {
      s[partialKey] = undefined
      fail(Status.MemoryCapacityExceeded, `more than ${MAX_ADVERTISING_DATA_LENGTH} octets`)
    }
    if (operation === FIRST || operation === INTERMEDIATE) {
      s[partialKey] = parts
      if (which === 'data') s.data = new Uint8Array(0)
      else s.scanRsp = new Uint8Array(0)
      return
    }
    s[partialKey] = undefined
    if (which === 'data') s.data = concat(parts)
    else {
      if (s.enabled && total === 0 && props & SCANNABLE && !legacyPdu)
        fail(Status.InvalidParameters, 'a scannable set needs scan response data')
      s.scanRsp = concat(parts)
    }
    s.did = (s.did + 1) & 0x0fff
  }

  c.handle(LeSetExtendedAdvertisingData, (p) => {
    fragment(existing(p.advertisingHandle), 'data', p.operation, p.fragmentPreference, p.advertisingData)
    return { status: 0 }
  })

  c.handle(LeSetExtendedScanResponseData, (p) => {
    fragment(existing(p.advertisingHandle), 'scanRsp', p.operation, p.fragmentPreference, p.scanResponseData)
    return { status: 0 }
  })

  c.handle(LeSetExtendedAdvertisingEnable, ({ enable, sets: list }) => {
    if (enable > 1) fail(Status.InvalidParameters, 'Enable')
    if (list.length === 0) {
      if (enable === 1) fail(Status.InvalidParameters, 'Num_Sets 0 only disables')
      for (const s of sets.values()) s.stop()
      return { status: 0 }
    }
    if (list.length > ADVERTISING_SETS) fail(Status.InvalidParameters, 'Num_Sets')
    const seen = new Set<number>()
    for (const e of list) {
      if (seen.has(e.advertisingHandle)) fail(Status.InvalidParameters, 'the same set twice')
      seen.add(e.advertisingHandle)
    }
    const targets = list.map((e) => ({ e, s: existing(e.advertisingHandle) }))
    if (enable === 0) {
      for (const { s } of targets) s.stop()
      return { status: 0 }
    }
    for (const { e, s } of targets) {
      const props = s.params.props
      if (s.partialData || s.partialScanRsp) fail(Status.CommandDisallowed, 'partial data')
      if (props & SCANNABLE && !(props & LEGACY) && s.scanRsp.length === 0)
        fail(Status.CommandDisallowed, 'scannable set without scan response data')
      if (!airAddress(s)) fail(Status.InvalidParameters, 'own address is random but the set has no random address')
      const highDuty = propsOf(props).highDuty === true || (props & HIGH_DUTY && props & DIRECTED)
      if (highDuty && (e.duration === 0 || e.duration > 128))
        fail(Status.InvalidParameters, 'high duty cycle directed advertising needs a duration up to 1.28 s')
    }
    for (const { e, s } of targets) start(s, e.duration * 10, e.maxExtendedAdvertisingEvents)
    return { status: 0 }
  })

  c.handle(LeReadMaximumAdvertisingDataLength, () => ({
    status: 0,
    maxAdvertisingDataLength: MAX_ADVERTISING_DATA_LENGTH,
  }))
  c.handle(LeReadNumberOfSupportedAdvertisingSets, () => ({ status: 0, numSupportedAdvertisingSets: ADVERTISING_SETS }))

  c.handle(LeRemoveAdvertisingSet, ({ advertisingHandle }) => {
    const s = existing(advertisingHandle)
    if (s.enabled) fail(Status.CommandDisallowed, 'advertising set is enabled')
    sets.delete(advertisingHandle)
    return { status: 0 }
  })

  c.handle(LeClearAdvertisingSets, () => {
    if ([...sets.values()].some((s) => s.enabled)) fail(Status.CommandDisallowed, 'an advertising set is enabled')
    sets.clear()
    return { status: 0 }
  })
}

/**
 * LE (Enhanced) Connection Complete for a connection that was never made (7.7.65.1 / .10):
 * the v2, v1 or legacy event, whichever the LE event mask enables first.
 */
function connectionFailed(c: VirtualController, status: number, s: AdvSet): void {
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
  const rpa = { localResolvablePrivateAddress: '00:00:00:00:00:00', peerResolvablePrivateAddress: '00:00:00:00:00:00' }
  if (c.eventEnabled(LeEnhancedConnectionCompleteV2)) {
    c.event(LeEnhancedConnectionCompleteV2, { ...base, ...rpa, advertisingHandle: s.handle, syncHandle: 0xffff })
  } else if (c.eventEnabled(LeEnhancedConnectionComplete)) {
    c.event(LeEnhancedConnectionComplete, { ...base, ...rpa })
  } else c.event(LeConnectionComplete, base)
}
