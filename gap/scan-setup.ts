/**
 * Scan parameters and the commands that start and stop scanning (Core v5.4 Vol 4 Part E 7.8.10
 * LE Set Scan Parameters, 7.8.11 LE Set Scan Enable, 7.8.64 LE Set Extended Scan Parameters,
 * 7.8.65 LE Set Extended Scan Enable; Vol 4 Part E 3.1.1 for the legacy/extended command-set
 * rule; Vol 6 Part B 4.4.3 scanning).
 *
 * `planScan` checks the options and decides everything once: legacy or extended commands, the
 * PHYs (extended scanning listens on LE 1M and, when the controller supports it, LE Coded),
 * interval and window. `startScanning` disables scanning, sets the parameters and enables it;
 * `setScanEnable` is the one place that writes Scan Enable, whichever command set is in use.
 */
import {
  LeSetExtendedScanEnable,
  LeSetExtendedScanParameters,
  LeSetScanEnable,
  LeSetScanParameters,
} from '../hci/commands.ts'
import type { HciHost } from '../hci/host.ts'
import { commandSet } from './command-set.ts'
import { GapError } from './events.ts'

export type ScanPhy = '1M' | 'coded'

/** The options `planScan` reads (a subset of ScanOptions, gap/scanner.ts). */
export interface ScanParameters {
  /** Active scanning: send scan requests, merge scan responses (default true). */
  active?: boolean
  /** Scan interval and window, 0.625 ms units (default 0x0010 = 10 ms each; window <= interval). */
  interval?: number
  window?: number
  /** Force the extended (true) or legacy (false) commands instead of choosing. */
  extended?: boolean
  /** Extended scanning: the primary PHYs to scan (default 1M, plus coded when supported). */
  phys?: readonly ScanPhy[]
  /** 0 public (default), 1 random (set with LE Set Random Address first), 2/3 resolvable. */
  ownAddressType?: number
  /**
   * Scanning_Filter_Policy (7.8.10): 0 every advertisement (default), 1 only from devices in the
   * controller's Filter Accept List, 2 / 3 the same plus directed advertising to a resolvable address.
   */
  filterPolicy?: number
  /** Let the controller filter duplicates too (default false). */
  filterDuplicates?: boolean
}

/** Everything the scan commands need, decided once. */
export interface ScanPlan {
  extended: boolean
  phys: readonly ScanPhy[]
  active: boolean
  interval: number
  window: number
  ownAddressType: number
  filterPolicy: number
  filterDuplicates: 0 | 1
}

const EXT_SCAN_PHY = { '1M': 0x01, coded: 0x04 } as const

/** Whether the controller supports LE Coded PHY (LE feature bit 11). */
export function supportsCoded(host: HciHost): boolean {
  const f = host.info?.leFeatures
  return f !== undefined && ((f[1] ?? 0) & 0x08) !== 0
}

/** Check the options against the controller and the spec's limits; throws GapError. */
export function planScan(host: HciHost, o: ScanParameters): ScanPlan {
  const extended = o.extended ?? commandSet(host).choose()
  const phys = o.phys ?? (extended && supportsCoded(host) ? ['1M', 'coded'] : ['1M'])
  if (phys.length === 0) throw new GapError('INVALID_PARAMETERS', 'phys: at least one PHY to scan')
  if (phys.includes('coded')) {
    if (!extended) throw new GapError('UNSUPPORTED', 'scanning on LE Coded needs the extended scanning commands')
    if (!supportsCoded(host))
      throw new GapError('UNSUPPORTED', 'the controller does not support LE Coded PHY (LE feature bit 11)')
  }
  const interval = o.interval ?? 0x10
  const window = o.window ?? Math.min(interval, 0x10)
  const max = extended ? 0xffff : 0x4000
  if (!(interval >= 4 && interval <= max && window >= 4 && window <= interval)) {
    throw new GapError(
      'INVALID_PARAMETERS',
      `scan interval ${interval} / window ${window}: 4 <= window <= interval <= ${max} (0.625 ms units)`,
    )
  }
  return {
    extended,
    phys,
    active: o.active ?? true,
    interval,
    window,
    ownAddressType: o.ownAddressType ?? 0,
    filterPolicy: o.filterPolicy ?? 0,
    filterDuplicates: o.filterDuplicates ? 1 : 0,
  }
}

/** LE Set (Extended) Scan Enable: on (with the plan's duplicate filter) or off. */
export async function setScanEnable(host: HciHost, plan: ScanPlan, on: 0 | 1, signal?: AbortSignal): Promise<void> {
  const filterDuplicates = on ? plan.filterDuplicates : 0
  if (plan.extended)
    await host.send(LeSetExtendedScanEnable, { enable: on, filterDuplicates, duration: 0, period: 0 }, { signal })
  else await host.send(LeSetScanEnable, { enable: on, filterDuplicates }, { signal })
}

/** Disable scanning, set the parameters, enable (7.8.10-7.8.11 or 7.8.64-7.8.65). */
export async function startScanning(host: HciHost, plan: ScanPlan, signal?: AbortSignal): Promise<void> {
  await setScanEnable(host, plan, 0, signal)
  const scanType = plan.active ? 1 : 0
  const { ownAddressType, interval, window, filterPolicy: scanningFilterPolicy } = plan
  if (plan.extended) {
    let bits = 0
    for (const p of plan.phys) bits |= EXT_SCAN_PHY[p]
    const perPhy = [EXT_SCAN_PHY['1M'], EXT_SCAN_PHY.coded]
      .filter((b) => bits & b)
      .map(() => ({ scanType, scanInterval: interval, scanWindow: window }))
    await host.send(
      LeSetExtendedScanParameters,
      { ownAddressType, scanningFilterPolicy, scanningPhys: bits, perPhy },
      { signal },
    )
  } else {
    await host.send(
      LeSetScanParameters,
      { scanType, scanInterval: interval, scanWindow: window, ownAddressType, scanningFilterPolicy },
      { signal },
    )
  }
  await setScanEnable(host, plan, 1, signal)
}
