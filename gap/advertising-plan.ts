/**
 * Advertising options checked and turned into command parameters (Core v5.4 Vol 4 Part E 7.8.5
 * LE Set Advertising Parameters, 7.8.53 LE Set Extended Advertising Parameters; Vol 6 Part B
 * 2.3.1 legacy PDUs, 2.3.4 extended PDUs: connectable or scannable, not both; 4.4.2.2 the
 * advertising interval).
 *
 * `planAdvertising` decides, before any command is sent, whether the set uses legacy PDUs (an
 * extended set does when its data fits and nothing needs extended ones), and refuses what the
 * spec or the controller's command set does not allow with a GapError naming the option.
 * `legacyParameters` / `extendedParameters` build the parameters of the command that applies.
 */
import { AdBuilder } from './ad.ts'
import { GapError } from './events.ts'

export interface AdvertiseOptions {
  /** Advertising data, or a builder (31 octets with legacy PDUs, up to 1650 extended). */
  data?: Uint8Array | AdBuilder
  /** Scan response data: makes the advertising scannable. */
  scanResponse?: Uint8Array | AdBuilder
  /** Accept connections (default true). Extended PDUs cannot be connectable and scannable at once. */
  connectable?: boolean
  /** Answer scan requests (default: when a scan response is given). */
  scannable?: boolean
  /** Advertising interval in ms (default 100; at least 20). */
  intervalMs?: number
  /** 0 public (default), 1 random (set with LE Set Random Address first). */
  ownAddressType?: number
  /** Stop after this long (ms; extended: 10 ms steps up to 655350). */
  durationMs?: number
  /** Extended: stop after this many advertising events (1..255). */
  maxEvents?: number
  /** Extended: legacy PDUs (default: when nothing needs extended ones). */
  legacyPdu?: boolean
  /** Extended PDUs: primary PHY (default 1M) and secondary PHY (default 1M). */
  primaryPhy?: '1M' | 'coded'
  secondaryPhy?: '1M' | '2M' | 'coded'
  /** Extended PDUs: Advertising_SID (default: the set's handle, mod 16). */
  sid?: number
  /** Extended PDUs: put the TX power in the header. */
  includeTxPower?: boolean
  /** Enable the set again after a central connected through it (default false). */
  restartOnConnect?: boolean
  signal?: AbortSignal
}

const LEGACY_PROPS = { ADV_IND: 0x13, ADV_SCAN_IND: 0x12, ADV_NONCONN_IND: 0x10 } as const
const LEGACY_TYPE = { ADV_IND: 0x00, ADV_SCAN_IND: 0x02, ADV_NONCONN_IND: 0x03 } as const
const PHY = { '1M': 1, '2M': 2, coded: 3 } as const

/** What the options come to, checked. */
export interface AdvertisingPlan {
  legacyPdu: boolean
  connectable: boolean
  scannable: boolean
  /** Advertising interval, 0.625 ms units. */
  interval: number
  ownAddressType: number
  data: Uint8Array
  rsp: Uint8Array | undefined
}

/** Advertising or scan response data as bytes (a builder is built for at most `max` octets). */
export function bytesOf(d: Uint8Array | AdBuilder | undefined, max: number): Uint8Array {
  return d === undefined ? new Uint8Array(0) : d instanceof AdBuilder ? d.build(max) : d
}

/** The PDU kind's limits: 31 octets for legacy PDUs, no connectable+scannable extended PDUs. */
function checkPdu(legacyPdu: boolean, needsExtended: boolean, p: AdvertisingPlan): void {
  const { data, rsp, connectable, scannable } = p
  if (legacyPdu) {
    if (data.length > 31)
      throw new GapError(
        'AD_TOO_LONG',
        `advertising data: ${data.length} octets, legacy advertising carries at most 31`,
      )
    if ((rsp?.length ?? 0) > 31)
      throw new GapError('AD_TOO_LONG', `scan response: ${rsp!.length} octets, legacy advertising carries at most 31`)
    if (needsExtended)
      throw new GapError('INVALID_PARAMETERS', 'PHYs other than 1M and TX power in the header need extended PDUs')
    return
  }
  if (connectable && scannable)
    throw new GapError(
      'INVALID_PARAMETERS',
      'extended advertising PDUs are connectable or scannable, not both (Vol 6 Part B 2.3.4)',
    )
  if (scannable && data.length > 0)
    throw new GapError(
      'INVALID_PARAMETERS',
      'scannable extended advertising carries its data in the scan response only',
    )
}

/** Interval, duration and event limit within their ranges. */
function checkTiming(o: AdvertiseOptions, ms: number, maxMs: number, extended: boolean, hasClock: boolean): void {
  if (!(ms >= 20 && ms <= maxMs)) throw new GapError('INVALID_PARAMETERS', `intervalMs ${ms}: ${20}..${maxMs} ms`)
  if (o.durationMs !== undefined && !(o.durationMs > 0 && o.durationMs <= 655_350)) {
    throw new GapError('INVALID_PARAMETERS', `durationMs ${o.durationMs}: 10..655350 ms`)
  }
  if (o.maxEvents !== undefined && (!extended || !(o.maxEvents >= 1 && o.maxEvents <= 255))) {
    throw new GapError('INVALID_PARAMETERS', 'maxEvents: 1..255, extended advertising only')
  }
  if (o.durationMs !== undefined && !extended && !hasClock) {
    throw new GapError('INVALID_PARAMETERS', 'a duration with legacy advertising needs the Advertiser `clock` option')
  }
}

/** Check the options for a set using the extended (or legacy) commands; throws GapError. */
export function planAdvertising(o: AdvertiseOptions, extended: boolean, hasClock: boolean): AdvertisingPlan {
  const connectable = o.connectable ?? true
  const needsExtended =
    o.primaryPhy === 'coded' || (o.secondaryPhy !== undefined && o.secondaryPhy !== '1M') || o.includeTxPower === true
  const maxLen = extended ? 1650 : 31
  const data = bytesOf(o.data, maxLen)
  const rsp = o.scanResponse === undefined ? undefined : bytesOf(o.scanResponse, maxLen)
  const scannable = o.scannable ?? rsp !== undefined
  const fits = data.length <= 31 && (rsp?.length ?? 0) <= 31
  const legacyPdu = !extended || (o.legacyPdu ?? (fits && !needsExtended))
  const ms = o.intervalMs ?? 100
  const plan: AdvertisingPlan = {
    legacyPdu,
    connectable,
    scannable,
    interval: Math.round(ms / 0.625),
    ownAddressType: o.ownAddressType ?? 0,
    data,
    rsp,
  }
  checkPdu(legacyPdu, needsExtended, plan)
  checkTiming(o, ms, legacyPdu && !extended ? 10240 : 0xffffff * 0.625, extended, hasClock)
  return plan
}

/** LE Set Advertising Parameters (7.8.5). */
export function legacyParameters(p: AdvertisingPlan) {
  const type = p.connectable
    ? LEGACY_TYPE.ADV_IND
    : p.scannable
      ? LEGACY_TYPE.ADV_SCAN_IND
      : LEGACY_TYPE.ADV_NONCONN_IND
  return {
    advertisingIntervalMin: p.interval,
    advertisingIntervalMax: p.interval,
    advertisingType: type,
    ownAddressType: p.ownAddressType,
    peerAddressType: 0,
    peerAddress: '00:00:00:00:00:00',
    advertisingChannelMap: 0x07,
    advertisingFilterPolicy: 0,
  }
}

/** LE Set Extended Advertising Parameters (7.8.53) of set `handle`. */
export function extendedParameters(p: AdvertisingPlan, handle: number, o: AdvertiseOptions) {
  const props = p.legacyPdu
    ? p.connectable
      ? LEGACY_PROPS.ADV_IND
      : p.scannable
        ? LEGACY_PROPS.ADV_SCAN_IND
        : LEGACY_PROPS.ADV_NONCONN_IND
    : (p.connectable ? 0x01 : 0) | (p.scannable ? 0x02 : 0) | (o.includeTxPower ? 0x40 : 0)
  return {
    advertisingHandle: handle,
    advertisingEventProperties: props,
    primaryAdvertisingIntervalMin: p.interval,
    primaryAdvertisingIntervalMax: p.interval,
    primaryAdvertisingChannelMap: 0x07,
    ownAddressType: p.ownAddressType,
    peerAddressType: 0,
    peerAddress: '00:00:00:00:00:00',
    advertisingFilterPolicy: 0,
    advertisingTxPower: 0x7f,
    primaryAdvertisingPhy: PHY[o.primaryPhy ?? '1M'],
    secondaryAdvertisingMaxSkip: 0,
    secondaryAdvertisingPhy: PHY[o.secondaryPhy ?? '1M'],
    advertisingSid: o.sid ?? handle & 0x0f,
    scanRequestNotificationEnable: 0,
  }
}
