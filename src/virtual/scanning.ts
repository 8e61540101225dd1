/**
 * Scanning of the virtual controller: legacy (Core v5.4 Vol 4 Part E 7.8.10 LE Set Scan
 * Parameters, 7.8.11 LE Set Scan Enable, reports 7.7.65.2) and extended (7.8.64 LE Set Extended
 * Scan Parameters, 7.8.65 LE Set Extended Scan Enable, reports 7.7.65.13, 7.7.65.17 Scan
 * Timeout), and the scanner's side of the air (Vol 6 Part B 4.4.3): a PDU is heard only inside
 * the scan window of each scan interval; active scanning sends SCAN_REQ / AUX_SCAN_REQ to
 * scannable advertisers and reports their scan responses; the controller's duplicate filter
 * remembers (address, event type) - for extended PDUs also the ADI - and forgets when scanning
 * is enabled again (or, with Filter_Duplicates 0x02, at every scan period).
 *
 * Extended reports carry at most 229 octets of data each (so the event fits in 255 octets);
 * longer data goes out as a chain of reports from the same advertiser, Data_Status "incomplete,
 * more data to come" (0b01) on all but the last. Legacy PDUs reach an extended scanner as
 * extended reports with the legacy bit set (7.7.65.13 table of legacy event types).
 */
import {
  LeSetExtendedScanEnable,
  LeSetExtendedScanParameters,
  LeSetScanEnable,
  LeSetScanParameters,
} from '../../hci/commands.ts'
import { LeAdvertisingReport, LeExtendedAdvertisingReport, LeScanTimeout } from '../../hci/events.ts'
import type { EventParams } from '../../hci/spec.ts'
import { Status } from '../../hci/constants.ts'
import { ControllerError, type VirtualController } from './controller.ts'
import { filterAcceptListInUse } from './filter-accept-list.ts'
import type { AdvPdu, LegacyAdvType, ScanRspPdu } from './link.ts'

/** Data octets per Extended Advertising Report: 255 - subevent(1) - Num_Reports(1) - fixed fields(24). */
export const EXT_REPORT_MAX_DATA = 229
/** Entries the duplicate filter remembers (the oldest are forgotten first, as in a real controller). */
export const DUPLICATE_FILTER_SIZE = 1024

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

interface PhyScan {
  active: boolean
  intervalMs: number
  windowMs: number
}

interface Scan {
  mode: 'legacy' | 'extended'
  ownAddressType: number
  filterPolicy: number
  phy: PhyScan
}

type ExtReport = EventParams<typeof LeExtendedAdvertisingReport>['reports'][number]

const fail = (status: number, message?: string): never => {
  throw new ControllerError(status, message)
}

export function installScanning(c: VirtualController): void {
  let legacyParams: Scan = defaultLegacy()
  let extParams: Scan | undefined
  let enabled: Scan | undefined
  let filterDuplicates = 0
  let startedAt = 0
  /** Between two scan durations of a periodic extended scan: enabled, but not listening. */
  let paused = false
  const seen = new Set<string>()
  let timers: Array<() => void> = []

  c.activity('scanning', () => enabled !== undefined)
  filterAcceptListInUse(c, () => enabled !== undefined && (enabled.filterPolicy & 1) === 1)

  function defaultLegacy(): Scan {
    // 7.8.10 defaults: passive, 10 ms / 10 ms, public, accept all.
    return { mode: 'legacy', ownAddressType: 0, filterPolicy: 0, phy: { active: false, intervalMs: 10, windowMs: 10 } }
  }

  function stop(): void {
    enabled = undefined
    paused = false
    for (const cancel of timers) cancel()
    timers = []
  }

  c.onReset(() => {
    stop()
    legacyParams = defaultLegacy()
    extParams = undefined
    filterDuplicates = 0
    seen.clear()
  })

  function start(scan: Scan, dup: number): void {
    stop()
    enabled = scan
    filterDuplicates = dup
    startedAt = c.link.scheduler.now()
    seen.clear()
  }

  /** Inside the scan window of the current scan interval? */
  function listening(): boolean {
    if (!enabled || paused) return false
    const { intervalMs, windowMs } = enabled.phy
    if (windowMs >= intervalMs) return true
    const into = (c.link.scheduler.now() - startedAt) % intervalMs
    return into < windowMs
  }

  /** The duplicate filter: true when this report must be dropped. */
  function duplicate(key: string): boolean {
    if (!filterDuplicates) return false
    if (seen.has(key)) return true
    if (seen.size >= DUPLICATE_FILTER_SIZE) seen.delete(seen.values().next().value!)
    seen.add(key)
    return false
  }

  const ownAddress = (): { address: string; type: number } | undefined =>
    enabled ? c.ownAddress(enabled.ownAddressType) : undefined

  // --- the scanner on the air -------------------------------------------------------------------

  c.onAir('adv', (from, pdu: AdvPdu, rssi) => {
    const scan = enabled
    if (!scan || !listening()) return
    if (scan.mode === 'legacy' && !pdu.props.legacy) return // a legacy scanner cannot follow AUX pointers
    const me = ownAddress()
    if (pdu.props.directed) {
      if (!me || pdu.targetA !== me.address || pdu.targetAType !== me.type) return
    }
    if (scan.filterPolicy & 1 && !c.inAcceptList(pdu.advAType, pdu.advA)) return
    report(pdu, pdu.data, rssi, false)
    if (scan.phy.active && me && pdu.props.scannable && !pdu.props.directed) {
      c.link.unicast(c, from, {
        kind: 'scan_req',
        scanA: me.address,
        scanAType: me.type,
        advA: pdu.advA,
        advAType: pdu.advAType,
        handle: pdu.handle,
        legacy: pdu.props.legacy,
      })
    }
  })

  c.onAir('scan_rsp', (_from, pdu: ScanRspPdu, rssi) => {
    if (!enabled || paused || !enabled.phy.active) return
    report(pdu.adv, pdu.data, rssi, true)
  })

  function report(adv: AdvPdu, data: Uint8Array, rssi: number, scanRsp: boolean): void {
    const scan = enabled!
    if (scan.mode === 'legacy') {
      const eventType = scanRsp ? LEGACY_SCAN_RSP : LEGACY_EVENT_TYPE[adv.pduType as LegacyAdvType]
      if (duplicate(`${adv.advAType}/${adv.advA}/${eventType}`)) return
      c.event(LeAdvertisingReport, {
        reports: [{ eventType, addressType: adv.advAType, address: adv.advA, data: data.subarray(0, 31), rssi }],
      })
      return
    }
    let eventType: number
    if (adv.props.legacy) {
      const t = adv.pduType as LegacyAdvType
      eventType = scanRsp
        ? t === 'ADV_IND'
          ? EXT_SCAN_RSP_TO_ADV_IND
          : EXT_SCAN_RSP_TO_ADV_SCAN_IND
        : EXT_LEGACY_EVENT_TYPE[t]
    } else {
      eventType =
        (adv.props.connectable ? E_CONNECTABLE : 0) |
        (adv.props.scannable ? E_SCANNABLE : 0) |
        (adv.props.directed ? E_DIRECTED : 0) |
        (scanRsp ? E_SCAN_RSP : 0)
    }
    const adi = adv.props.legacy ? '' : `/${adv.sid}/${adv.did}`
    if (duplicate(`${adv.advAType}/${adv.advA}/${eventType}${adi}`)) return
    const base: ExtReport = {
      eventType,
      addressType: adv.advAType,
      address: adv.advA,
      primaryPhy: adv.primaryPhy ?? 1,
      secondaryPhy: adv.props.legacy ? 0 : (adv.secondaryPhy ?? 1),
      advertisingSid: adv.props.legacy || adv.sid === undefined ? 0xff : adv.sid,
      txPower: adv.txPower ?? 0x7f,
      rssi,
      periodicAdvertisingInterval: 0,
      directAddressType: adv.props.directed ? (adv.targetAType ?? 0) : 0,
      directAddress: adv.props.directed ? (adv.targetA ?? '00:00:00:00:00:00') : '00:00:00:00:00:00',
      data: new Uint8Array(0),
    }
    // One report per event; data split in chunks of at most 229 octets.
    let at = 0
    do {
      const chunk = data.subarray(at, at + EXT_REPORT_MAX_DATA)
      at += chunk.length
      const more = at < data.length
      c.event(LeExtendedAdvertisingReport, {
        reports: [{ ...base, eventType: eventType | (more ? DATA_MORE : 0), data: chunk }],
      })
    } while (at < data.length)
  }

  // --- legacy commands (7.8.10, 7.8.11) ---------------------------------------------------------

  c.handle(LeSetScanParameters, (p) => {
    if (enabled) fail(Status.CommandDisallowed, 'scanning is enabled')
    if (p.scanType > 1) fail(Status.InvalidParameters, 'LE_Scan_Type')
    const ok = (v: number): boolean => v >= 0x0004 && v <= 0x4000
    if (!ok(p.scanInterval) || !ok(p.scanWindow)) fail(Status.InvalidParameters, 'interval or window')
    if (p.scanWindow > p.scanInterval) fail(Status.InvalidParameters, 'window > interval')
    if (p.ownAddressType > 3) fail(Status.InvalidParameters, 'Own_Address_Type')
    if (p.scanningFilterPolicy > 3) fail(Status.InvalidParameters, 'Scanning_Filter_Policy')
    legacyParams = {
      mode: 'legacy',
      ownAddressType: p.ownAddressType,
      filterPolicy: p.scanningFilterPolicy,
      phy: { active: p.scanType === 1, intervalMs: p.scanInterval * 0.625, windowMs: p.scanWindow * 0.625 },
    }
    return { status: 0 }
  })

  c.handle(LeSetScanEnable, ({ enable, filterDuplicates: dup }) => {
    if (enable > 1 || dup > 1) fail(Status.InvalidParameters)
    if (enable === 0) {
      stop()
      return { status: 0 }
    }
    if (enabled) {
      // 7.8.11: already scanning: only the duplicate filtering setting changes.
      filterDuplicates = dup
      return { status: 0 }
    }
    if (!c.ownAddress(legacyParams.ownAddressType))
      fail(Status.InvalidParameters, 'own address is random but no random address is set')
    start(legacyParams, dup)
    return { status: 0 }
  })

  // --- extended commands (7.8.64, 7.8.65) -------------------------------------------------------

  c.handle(LeSetExtendedScanParameters, (p) => {
    if (enabled) fail(Status.CommandDisallowed, 'scanning is enabled')
    if (p.ownAddressType > 3) fail(Status.InvalidParameters, 'Own_Address_Type')
    if (p.scanningFilterPolicy > 3) fail(Status.InvalidParameters, 'Scanning_Filter_Policy')
    if (p.scanningPhys === 0) fail(Status.InvalidParameters, 'Scanning_PHYs')
    if (p.scanningPhys & ~0x05) fail(Status.UnsupportedFeature, 'Scanning_PHYs: reserved bits')
    if (p.scanningPhys & 0x04 && !c.hasFeature(11)) fail(Status.UnsupportedFeature, 'LE Coded PHY')
    for (const b of p.perPhy) {
      if (b.scanType > 1) fail(Status.InvalidParameters, 'Scan_Type')
      if (b.scanInterval < 0x0004 || b.scanWindow < 0x0004) fail(Status.InvalidParameters, 'interval or window')
      if (b.scanWindow > b.scanInterval) fail(Status.InvalidParameters, 'window > interval')
    }
    // Advertisers here use the LE 1M primary PHY only: the 1M block (bit 0) is the one that hears them.
    const onem = p.scanningPhys & 0x01 ? p.perPhy[0] : undefined
    extParams = {
      mode: 'extended',
      ownAddressType: p.ownAddressType,
      filterPolicy: p.scanningFilterPolicy,
      phy: onem
        ? { active: onem.scanType === 1, intervalMs: onem.scanInterval * 0.625, windowMs: onem.scanWindow * 0.625 }
        : { active: false, intervalMs: 1, windowMs: 0 },
    }
    return { status: 0 }
  })

  c.handle(LeSetExtendedScanEnable, ({ enable, filterDuplicates: dup, duration, period }) => {
    if (enable > 1 || dup > 2) fail(Status.InvalidParameters)
    if (enable === 0) {
      stop()
      return { status: 0 }
    }
    const scan = extParams ?? {
      mode: 'extended' as const,
      ownAddressType: 0,
      filterPolicy: 0,
      phy: { active: false, intervalMs: 10, windowMs: 10 },
    }
    if (dup === 2 && (duration === 0 || period === 0))
      fail(Status.InvalidParameters, 'Filter_Duplicates 2 needs a duration and a period')
    const durationMs = duration * 10
    const periodMs = period * 1280
    if (period !== 0 && (duration === 0 || durationMs >= periodMs))
      fail(Status.InvalidParameters, 'Duration must be shorter than Period')
    if (!c.ownAddress(scan.ownAddressType))
      fail(Status.InvalidParameters, 'own address is random but no random address is set')
    start(scan, dup)
    if (durationMs > 0 && periodMs === 0) {
      timers.push(
        c.link.scheduler.schedule(durationMs, () => {
          stop()
          c.event(LeScanTimeout, {})
        }),
      )
    } else if (durationMs > 0) {
      // Scan for Duration at the start of every Period (7.8.65); duplicates forgotten each period with 0x02.
      const cycle = (): void => {
        timers.push(
          c.link.scheduler.schedule(durationMs, () => {
            paused = true
            timers.push(
              c.link.scheduler.schedule(periodMs - durationMs, () => {
                paused = false
                startedAt = c.link.scheduler.now()
                if (dup === 2) seen.clear()
                cycle()
              }),
            )
          }),
        )
      }
      cycle()
    }
    return { status: 0 }
  })
}
