/**
 * The scanner's side of the air for the virtual controller (Core v5.4 Vol 6 Part B 4.4.3): a PDU
 * is heard only inside the scan window of each scan interval; active scanning sends SCAN_REQ /
 * AUX_SCAN_REQ to scannable advertisers and reports their scan responses; the controller's
 * duplicate filter remembers (address, event type) - for extended PDUs also the ADI - and forgets
 * when scanning is enabled again (or, with Filter_Duplicates 0x02, at every scan period).
 * Privacy (6.3): advertisers' RPAs are resolved through the resolving list and reported with their
 * identity (address types 0x02/0x03); ScanA is our RPA toward a peer whose entry has a local IRK
 * (Own_Address_Type 0x02/0x03); directed PDUs count only when TargetA is ours (privacy.ts), or,
 * with Scanning_Filter_Policy 0x02/0x03 (4.3.3), when it is an RPA we could not resolve (then
 * LE Directed Advertising Report, 7.7.65.11, for a legacy scanner).
 * Reports (Vol 4 Part E 7.7.65.2 legacy, 7.7.65.13 extended) are built by scan-reports.ts; the
 * commands that drive this are in scanning.ts.
 */
import {
  LeAdvertisingReport,
  LeDirectedAdvertisingReport,
  LeExtendedAdvertisingReport,
  LeScanTimeout,
} from '../../hci/events.ts'
import type { AdvPdu, ScanRspPdu } from './air.ts'
import type { ControllerCore } from './core.ts'
import { identityOf, targetsUs } from './privacy.ts'
import type { Heard } from './resolving-list.ts'
import { isRpa } from './rpa.ts'
import {
  DIRECT_RPA_RESOLVED,
  DIRECT_RPA_UNRESOLVED,
  type ReportAddress,
  extendedEventType,
  extendedReports,
  legacyEventType,
} from './scan-reports.ts'

/** Entries the duplicate filter remembers (the oldest are forgotten first, as in a real controller). */
export const DUPLICATE_FILTER_SIZE = 1024

export interface PhyScan {
  active: boolean
  intervalMs: number
  windowMs: number
}

/** What one scan does: the parameters of LE Set (Extended) Scan Parameters. */
export interface Scan {
  mode: 'legacy' | 'extended'
  ownAddressType: number
  filterPolicy: number
  phy: PhyScan
}

/** 7.8.10 defaults: passive, 10 ms / 10 ms, public, accept all. */
export function defaultScan(mode: 'legacy' | 'extended'): Scan {
  return { mode, ownAddressType: 0, filterPolicy: 0, phy: { active: false, intervalMs: 10, windowMs: 10 } }
}

export class Scanner {
  legacyParams: Scan = defaultScan('legacy')
  extParams: Scan | undefined
  /** The scan in progress. */
  enabled: Scan | undefined
  filterDuplicates = 0
  private startedAt = 0
  /** Between two scan durations of a periodic extended scan: enabled, but not listening. */
  private paused = false
  private readonly seen = new Set<string>()
  private timers: Array<() => void> = []

  constructor(private readonly c: ControllerCore) {}

  reset(): void {
    this.stop()
    this.legacyParams = defaultScan('legacy')
    this.extParams = undefined
    this.filterDuplicates = 0
    this.seen.clear()
  }

  stop(): void {
    this.enabled = undefined
    this.paused = false
    for (const cancel of this.timers) cancel()
    this.timers = []
  }

  start(scan: Scan, dup: number): void {
    this.stop()
    this.enabled = scan
    this.filterDuplicates = dup
    this.startedAt = this.c.link.scheduler.now()
    this.seen.clear()
  }

  /** 7.8.65: scan for `durationMs` once (then LE Scan Timeout), or at the start of every period. */
  limit(durationMs: number, periodMs: number, dup: number): void {
    const scheduler = this.c.link.scheduler
    if (durationMs > 0 && periodMs === 0) {
      this.timers.push(
        scheduler.schedule(durationMs, () => {
          this.stop()
          this.c.event(LeScanTimeout, {})
        }),
      )
    } else if (durationMs > 0) {
      // Duplicates forgotten each period with 0x02.
      const cycle = (): void => {
        this.timers.push(
          scheduler.schedule(durationMs, () => {
            this.paused = true
            this.timers.push(
              scheduler.schedule(periodMs - durationMs, () => {
                this.paused = false
                this.startedAt = scheduler.now()
                if (dup === 2) this.seen.clear()
                cycle()
              }),
            )
          }),
        )
      }
      cycle()
    }
  }

  /** An advertising PDU on the air: report it (inside the scan window), scan-request it if active. */
  advertisement(from: ControllerCore, pdu: AdvPdu, rssi: number): void {
    const scan = this.enabled
    if (!scan || !this.listening()) return
    if (scan.mode === 'legacy' && !pdu.props.legacy) return // a legacy scanner cannot follow AUX pointers
    const heard = this.c.resolvingList.resolve(pdu.advA, pdu.advAType)
    if (!heard) return // network privacy: an identity address where an RPA was due
    const direct = pdu.props.directed ? this.directTarget(scan, pdu, heard) : undefined
    if (direct === null) return
    if (scan.filterPolicy & 1 && !this.c.inAcceptList(listType(heard.type), heard.address)) return
    this.report(pdu, pdu.data, rssi, false, heard, direct)
    if (!scan.phy.active || !pdu.props.scannable || pdu.props.directed) return
    const me = this.c.ownAddress(scan.ownAddressType, identityOf(heard))
    if (!me) return
    this.c.link.unicast(this.c, from, {
      kind: 'scan_req',
      scanA: me.address,
      scanAType: me.type,
      advA: pdu.advA,
      advAType: pdu.advAType,
      handle: pdu.handle,
      legacy: pdu.props.legacy,
    })
  }

  scanResponse(pdu: ScanRspPdu, rssi: number): void {
    if (!this.enabled || this.paused || !this.enabled.phy.active) return
    const heard = this.c.resolvingList.resolve(pdu.advA, pdu.advAType)
    if (heard) this.report(pdu.adv, pdu.data, rssi, true, heard, undefined)
  }

  /**
   * The TargetA of a directed PDU as reported (Direct_Address_Type, 7.7.65.13), or null when the
   * PDU is not for us: our address, an RPA resolved as ours, or (Scanning_Filter_Policy 0x02/0x03,
   * Vol 6 Part B 4.3.3) any other RPA.
   */
  private directTarget(scan: Scan, pdu: AdvPdu, heard: Heard): ReportAddress | null {
    const target = { address: pdu.targetA ?? '', type: pdu.targetAType ?? 0 }
    const rpa = isRpa(target.address, target.type)
    if (targetsUs(this.c, scan.ownAddressType, target, heard, false)) {
      return { address: target.address, type: rpa ? DIRECT_RPA_RESOLVED : target.type }
    }
    if (scan.filterPolicy & 2 && rpa) return { address: target.address, type: DIRECT_RPA_UNRESOLVED }
    return null
  }

  /** Inside the scan window of the current scan interval? */
  private listening(): boolean {
    if (!this.enabled || this.paused) return false
    const { intervalMs, windowMs } = this.enabled.phy
    if (windowMs >= intervalMs) return true
    const into = (this.c.link.scheduler.now() - this.startedAt) % intervalMs
    return into < windowMs
  }

  /** The duplicate filter: true when this report must be dropped. */
  private duplicate(key: string): boolean {
    if (!this.filterDuplicates) return false
    if (this.seen.has(key)) return true
    if (this.seen.size >= DUPLICATE_FILTER_SIZE) this.seen.delete(this.seen.values().next().value!)
    this.seen.add(key)
    return false
  }

  private report(
    adv: AdvPdu,
    data: Uint8Array,
    rssi: number,
    scanRsp: boolean,
    who: ReportAddress,
    direct: ReportAddress | undefined,
  ): void {
    if (this.enabled!.mode === 'legacy') {
      this.legacyReport(adv, data, rssi, scanRsp, who, direct)
      return
    }
    const eventType = extendedEventType(adv, scanRsp)
    const adi = adv.props.legacy ? '' : `/${adv.sid}/${adv.did}`
    if (this.duplicate(`${who.type}/${who.address}/${eventType}${adi}`)) return
    for (const report of extendedReports(adv, data, rssi, eventType, who, direct)) {
      this.c.event(LeExtendedAdvertisingReport, { reports: [report] })
    }
  }

  /** 7.7.65.2, or 7.7.65.11 for directed advertising to an RPA we could not resolve. */
  private legacyReport(
    adv: AdvPdu,
    data: Uint8Array,
    rssi: number,
    scanRsp: boolean,
    who: ReportAddress,
    direct: ReportAddress | undefined,
  ): void {
    const eventType = legacyEventType(adv, scanRsp)
    if (this.duplicate(`${who.type}/${who.address}/${eventType}`)) return
    if (direct?.type === DIRECT_RPA_UNRESOLVED) {
      this.c.event(LeDirectedAdvertisingReport, {
        reports: [
          {
            eventType,
            addressType: who.type,
            address: who.address,
            directAddressType: 1,
            directAddress: direct.address,
            rssi,
          },
        ],
      })
      return
    }
    this.c.event(LeAdvertisingReport, {
      reports: [{ eventType, addressType: who.type, address: who.address, data: data.subarray(0, 31), rssi }],
    })
  }
}

/** The Filter Accept List type of a reported address type (identity types 2/3 are 0/1 there). */
function listType(type: number): number {
  return type === 2 || type === 3 ? type - 2 : type
}
