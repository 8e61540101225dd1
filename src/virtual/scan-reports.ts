/**
 * The advertising reports of the virtual controller's scanner: Event_Type of LE Advertising
 * Report (Core v5.4 Vol 4 Part E 7.7.65.2) and of LE Extended Advertising Report (7.7.65.13,
 * with its table of legacy event types), and the extended report chain: at most 229 octets of
 * data each (so the event fits in 255 octets); longer data goes out as a chain of reports from
 * the same advertiser, Data_Status "incomplete, more data to come" (0b01) on all but the last.
 */
import type { LeExtendedAdvertisingReport } from '../../hci/events.ts'
import type { EventParams } from '../../hci/spec.ts'
import type { AdvPdu, LegacyAdvType } from './air.ts'

/** Data octets per Extended Advertising Report: 255 - subevent(1) - Num_Reports(1) - fixed fields(24). */
export const EXT_REPORT_MAX_DATA = 229

/** Legacy report Event_Type (7.7.65.2). */
const LEGACY_EVENT_TYPE: Readonly<Record<LegacyAdvType, number>> = {
  ADV_IND: 0x00,
  ADV_DIRECT_IND: 0x01,
  ADV_SCAN_IND: 0x02,
  ADV_NONCONN_IND: 0x03,
}
const LEGACY_SCAN_RSP = 0x04

/** Extended report Event_Type of legacy PDUs (7.7.65.13). */
const EXT_LEGACY_EVENT_TYPE: Readonly<Record<LegacyAdvType, number>> = {
  ADV_IND: 0x13,
  ADV_DIRECT_IND: 0x15,
  ADV_SCAN_IND: 0x12,
  ADV_NONCONN_IND: 0x10,
}
const EXT_SCAN_RSP_TO_ADV_IND = 0x1b
const EXT_SCAN_RSP_TO_ADV_SCAN_IND = 0x1a
// Extended report Event_Type bits
const E_CONNECTABLE = 1 << 0
const E_SCANNABLE = 1 << 1
const E_DIRECTED = 1 << 2
const E_SCAN_RSP = 1 << 3
const DATA_MORE = 0b01 << 5

export type ExtReport = EventParams<typeof LeExtendedAdvertisingReport>['reports'][number]

/** An address in a report: the advertiser (Address_Type 0-3) or the target of directed advertising. */
export interface ReportAddress {
  address: string
  type: number
}

/**
 * Direct_Address_Type of an extended report (7.7.65.13): the TargetA type (0 public, 1 random)
 * when it is our identity address, 0x02 an RPA the controller resolved as ours, 0x03 an RPA it
 * could not resolve (Scanning_Filter_Policy 0x02/0x03).
 */
export const DIRECT_RPA_RESOLVED = 0x02
export const DIRECT_RPA_UNRESOLVED = 0x03

/** Event_Type of a legacy report of `adv` (or of its scan response). */
export function legacyEventType(adv: AdvPdu, scanRsp: boolean): number {
  return scanRsp ? LEGACY_SCAN_RSP : LEGACY_EVENT_TYPE[adv.pduType as LegacyAdvType]
}

/** Event_Type of an extended report of `adv` (or of its scan response), Data_Status complete. */
export function extendedEventType(adv: AdvPdu, scanRsp: boolean): number {
  if (adv.props.legacy) {
    const t = adv.pduType as LegacyAdvType
    if (!scanRsp) return EXT_LEGACY_EVENT_TYPE[t]
    return t === 'ADV_IND' ? EXT_SCAN_RSP_TO_ADV_IND : EXT_SCAN_RSP_TO_ADV_SCAN_IND
  }
  return (
    (adv.props.connectable ? E_CONNECTABLE : 0) |
    (adv.props.scannable ? E_SCANNABLE : 0) |
    (adv.props.directed ? E_DIRECTED : 0) |
    (scanRsp ? E_SCAN_RSP : 0)
  )
}

/**
 * The reports of one advertising event from `who`: one, or a chain when the data needs more than
 * 229 octets. `direct`: the TargetA of directed advertising, with its Direct_Address_Type.
 */
export function extendedReports(
  adv: AdvPdu,
  data: Uint8Array,
  rssi: number,
  eventType: number,
  who: ReportAddress,
  direct: ReportAddress | undefined,
): ExtReport[] {
  const base: ExtReport = {
    eventType,
    addressType: who.type,
    address: who.address,
    primaryPhy: adv.primaryPhy ?? 1,
    secondaryPhy: adv.props.legacy ? 0 : (adv.secondaryPhy ?? 1),
    advertisingSid: adv.props.legacy || adv.sid === undefined ? 0xff : adv.sid,
    txPower: adv.txPower ?? 0x7f,
    rssi,
    periodicAdvertisingInterval: 0,
    directAddressType: direct?.type ?? 0,
    directAddress: direct?.address ?? '00:00:00:00:00:00',
    data: new Uint8Array(0),
  }
  const out: ExtReport[] = []
  let at = 0
  do {
    const chunk = data.subarray(at, at + EXT_REPORT_MAX_DATA)
    at += chunk.length
    const more = at < data.length
    out.push({ ...base, eventType: eventType | (more ? DATA_MORE : 0), data: chunk })
  } while (at < data.length)
  return out
}
