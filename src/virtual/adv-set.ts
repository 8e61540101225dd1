/**
 * One advertising set of the virtual controller (Core v5.4 Vol 4 Part E 7.8.53 parameters,
 * 7.8.54/7.8.55 data and scan response data in fragments, Vol 6 Part B 2.3.4.6 the ADI's Data
 * ID) and the Advertising_Event_Properties bits with what they allow. Legacy commands (7.8.5-7.8.9)
 * drive a set of their own; extended commands drive sets 0x00-0xEF (advertiser.ts).
 */
import { Status } from '../../hci/constants.ts'
import type { AdvProps, LegacyAdvType } from './air.ts'
import { fail } from './controller-error.ts'

/** LE Read Maximum Advertising Data Length (7.8.57). */
export const MAX_ADVERTISING_DATA_LENGTH = 1650
/** Tx power we report and use (dBm). */
export const TX_POWER = 0

// Advertising_Event_Properties bits (7.8.53)
export const CONNECTABLE = 1 << 0
export const SCANNABLE = 1 << 1
export const DIRECTED = 1 << 2
export const HIGH_DUTY = 1 << 3
export const LEGACY = 1 << 4
export const ANONYMOUS = 1 << 5
export const INCLUDE_TX_POWER = 1 << 6

/** Legacy Advertising_Type (7.8.5) -> event properties of the equivalent legacy PDU (7.8.53 table). */
export const LEGACY_TYPE_PROPS = [0x13, 0x1d, 0x12, 0x10, 0x15] as const
export const LEGACY_PROPS = new Set<number>(LEGACY_TYPE_PROPS)

// Advertising data operations (7.8.54)
const INTERMEDIATE = 0
const FIRST = 1
const COMPLETE = 3
const UNCHANGED = 4

export interface SetParams {
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

/** 7.8.5 defaults: 1.28 s, ADV_IND, public, all channels, no filter. */
export function defaultParams(): SetParams {
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

export function propsOf(p: number): AdvProps {
  const props: AdvProps = {
    connectable: (p & CONNECTABLE) !== 0,
    scannable: (p & SCANNABLE) !== 0,
    directed: (p & DIRECTED) !== 0,
    legacy: (p & LEGACY) !== 0,
  }
  if (props.legacy && props.directed && (p & HIGH_DUTY) !== 0) props.highDuty = true
  return props
}

export function legacyPduType(p: number): LegacyAdvType {
  if (p & DIRECTED) return 'ADV_DIRECT_IND'
  if (p & CONNECTABLE) return 'ADV_IND'
  if (p & SCANNABLE) return 'ADV_SCAN_IND'
  return 'ADV_NONCONN_IND'
}

/** Do these properties allow advertising data at all? */
export function allowsData(p: number): boolean {
  if (p & LEGACY) return (p & DIRECTED) === 0
  return (p & SCANNABLE) === 0
}

/** Do these properties allow scan response data? */
export function allowsScanRsp(p: number): boolean {
  return (p & SCANNABLE) !== 0
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

export type DataKind = 'data' | 'scanRsp'

export class AdvSet {
  params: SetParams = defaultParams()
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
  air: { address: string; type: number; generated?: true } | undefined
  private timers: Array<() => void> = []

  constructor(
    readonly handle: number,
    readonly legacyApi: boolean,
  ) {}

  get highDuty(): boolean {
    return propsOf(this.params.props).highDuty === true
  }

  addTimer(cancel: () => void): void {
    this.timers.push(cancel)
  }

  stop(): void {
    this.enabled = false
    for (const cancel of this.timers) cancel()
    this.timers = []
  }

  /** 7.8.54 / 7.8.55: one fragment operation on the data or the scan response data. */
  setFragment(which: DataKind, operation: number, fragmentPreference: number, bytes: Uint8Array): void {
    if (operation > UNCHANGED) fail(Status.InvalidParameters, 'Operation')
    if (fragmentPreference > 1) fail(Status.InvalidParameters, 'Fragment_Preference')
    const props = this.params.props
    const legacyPdu = (props & LEGACY) !== 0
    const allows = which === 'data' ? allowsData(props) : allowsScanRsp(props)
    if (!allows && !(operation === COMPLETE && bytes.length === 0)) {
      fail(
        Status.InvalidParameters,
        `this advertising type has no ${which === 'data' ? 'advertising' : 'scan response'} data`,
      )
    }
    if (legacyPdu && (operation !== COMPLETE || bytes.length > 31))
      fail(Status.InvalidParameters, 'legacy PDUs: one complete fragment of at most 31 octets')
    if (operation === UNCHANGED) {
      if (which === 'scanRsp' || !this.enabled || bytes.length !== 0 || this.data.length === 0)
        fail(Status.InvalidParameters, 'Operation 4 (unchanged data)')
      this.did = (this.did + 1) & 0x0fff
      return
    }
    if (this.enabled && operation !== COMPLETE)
      fail(Status.CommandDisallowed, 'fragmented data while the set is enabled')
    this.addFragment(which, operation, bytes)
  }

  private addFragment(which: DataKind, operation: number, bytes: Uint8Array): void {
    const partialKey = which === 'data' ? 'partialData' : 'partialScanRsp'
    let parts: Uint8Array[]
    if (operation === FIRST || operation === COMPLETE) parts = []
    else parts = this[partialKey] ?? fail(Status.InvalidParameters, 'intermediate or last fragment without a first')
    parts.push(bytes.slice())
    const total = parts.reduce((n, p) => n + p.length, 0)
    if (total > MAX_ADVERTISING_DATA_LENGTH) {
      this[partialKey] = undefined
      fail(Status.MemoryCapacityExceeded, `more than ${MAX_ADVERTISING_DATA_LENGTH} octets`)
    }
    if (operation === FIRST || operation === INTERMEDIATE) {
      this[partialKey] = parts
      if (which === 'data') this.data = new Uint8Array(0)
      else this.scanRsp = new Uint8Array(0)
      return
    }
    this[partialKey] = undefined
    if (which === 'data') this.data = concat(parts)
    else {
      const props = this.params.props
      if (this.enabled && total === 0 && props & SCANNABLE && !(props & LEGACY))
        fail(Status.InvalidParameters, 'a scannable set needs scan response data')
      this.scanRsp = concat(parts)
    }
    this.did = (this.did + 1) & 0x0fff
  }
}
