/**
 * Scanning commands of the virtual controller: legacy (Core v5.4 Vol 4 Part E 7.8.10 LE Set Scan
 * Parameters, 7.8.11 LE Set Scan Enable) and extended (7.8.64 LE Set Extended Scan Parameters,
 * 7.8.65 LE Set Extended Scan Enable, 7.7.65.17 Scan Timeout), driving the scanner's side of the
 * air (scanner.ts, Vol 6 Part B 4.4.3). Legacy PDUs reach an extended scanner as extended reports
 * with the legacy bit set (scan-reports.ts).
 */
import {
  LeSetExtendedScanEnable,
  LeSetExtendedScanParameters,
  LeSetScanEnable,
  LeSetScanParameters,
} from '../../hci/commands.ts'
import type { CommandParams } from '../../hci/spec.ts'
import { Status } from '../../hci/constants.ts'
import { fail } from './controller-error.ts'
import type { ControllerCore } from './core.ts'
import { filterAcceptListInUse } from './filter-accept-list.ts'
import { Scanner, defaultScan, type Scan } from './scanner.ts'

export { EXT_REPORT_MAX_DATA } from './scan-reports.ts'
export { DUPLICATE_FILTER_SIZE } from './scanner.ts'

/** 7.8.10: the parameters checked and turned into a Scan. */
function legacyScan(p: CommandParams<typeof LeSetScanParameters>): Scan {
  if (p.scanType > 1) fail(Status.InvalidParameters, 'LE_Scan_Type')
  const ok = (v: number): boolean => v >= 0x0004 && v <= 0x4000
  if (!ok(p.scanInterval) || !ok(p.scanWindow)) fail(Status.InvalidParameters, 'interval or window')
  if (p.scanWindow > p.scanInterval) fail(Status.InvalidParameters, 'window > interval')
  if (p.ownAddressType > 3) fail(Status.InvalidParameters, 'Own_Address_Type')
  if (p.scanningFilterPolicy > 3) fail(Status.InvalidParameters, 'Scanning_Filter_Policy')
  return {
    mode: 'legacy',
    ownAddressType: p.ownAddressType,
    filterPolicy: p.scanningFilterPolicy,
    phy: { active: p.scanType === 1, intervalMs: p.scanInterval * 0.625, windowMs: p.scanWindow * 0.625 },
  }
}

/** 7.8.64: the parameters checked and turned into a Scan (of the LE 1M block: advertisers here use 1M). */
function extendedScan(c: ControllerCore, p: CommandParams<typeof LeSetExtendedScanParameters>): Scan {
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
  return {
    mode: 'extended',
    ownAddressType: p.ownAddressType,
    filterPolicy: p.scanningFilterPolicy,
    phy: onem
      ? { active: onem.scanType === 1, intervalMs: onem.scanInterval * 0.625, windowMs: onem.scanWindow * 0.625 }
      : { active: false, intervalMs: 1, windowMs: 0 },
  }
}

export function installScanning(c: ControllerCore): Scanner {
  const scanner = new Scanner(c)
  c.activity('scanning', () => scanner.enabled !== undefined)
  filterAcceptListInUse(c, () => scanner.enabled !== undefined && (scanner.enabled.filterPolicy & 1) === 1)
  c.onReset(() => scanner.reset())
  c.onAir('adv', (from, pdu, rssi) => scanner.advertisement(from, pdu, rssi))
  c.onAir('scan_rsp', (_from, pdu, rssi) => scanner.scanResponse(pdu, rssi))

  c.handle(LeSetScanParameters, (p) => {
    if (scanner.enabled) fail(Status.CommandDisallowed, 'scanning is enabled')
    scanner.legacyParams = legacyScan(p)
    return { status: 0 }
  })

  c.handle(LeSetScanEnable, ({ enable, filterDuplicates: dup }) => {
    if (enable > 1 || dup > 1) fail(Status.InvalidParameters)
    if (enable === 0) {
      scanner.stop()
      return { status: 0 }
    }
    if (scanner.enabled) {
      // 7.8.11: already scanning: only the duplicate filtering setting changes.
      scanner.filterDuplicates = dup
      return { status: 0 }
    }
    if (!c.ownAddress(scanner.legacyParams.ownAddressType))
      fail(Status.InvalidParameters, 'own address is random but no random address is set')
    scanner.start(scanner.legacyParams, dup)
    return { status: 0 }
  })

  c.handle(LeSetExtendedScanParameters, (p) => {
    if (scanner.enabled) fail(Status.CommandDisallowed, 'scanning is enabled')
    scanner.extParams = extendedScan(c, p)
    return { status: 0 }
  })

  c.handle(LeSetExtendedScanEnable, ({ enable, filterDuplicates: dup, duration, period }) => {
    if (enable > 1 || dup > 2) fail(Status.InvalidParameters)
    if (enable === 0) {
      scanner.stop()
      return { status: 0 }
    }
    const scan = scanner.extParams ?? defaultScan('extended')
    if (dup === 2 && (duration === 0 || period === 0))
      fail(Status.InvalidParameters, 'Filter_Duplicates 2 needs a duration and a period')
    const durationMs = duration * 10
    const periodMs = period * 1280
    if (period !== 0 && (duration === 0 || durationMs >= periodMs))
      fail(Status.InvalidParameters, 'Duration must be shorter than Period')
    if (!c.ownAddress(scan.ownAddressType))
      fail(Status.InvalidParameters, 'own address is random but no random address is set')
    scanner.start(scan, dup)
    scanner.limit(durationMs, periodMs, dup)
    return { status: 0 }
  })

  return scanner
}
