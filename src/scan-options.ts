/**
 * The public scan options and what gap/scanner.ts wants instead (Core v5.4 Vol 4 Part E 7.8.10 LE
 * Set Scan Parameters and 7.8.64 LE Set Extended Scan Parameters: interval and window in 0.625 ms
 * units, 0x0004..0x4000 legacy / ..0xFFFF extended; the scanning PHYs; Scanning_Filter_Policy),
 * and the controller's Filter Accept List the accept-list policy reads (7.8.15 LE Clear Filter
 * Accept List, 7.8.16 LE Add Device To Filter Accept List; Vol 6 Part B 4.3.3).
 *
 * Users give times in milliseconds, PHYs by name and the accept list as addresses: an address
 * without a type goes in as both public and random (the list holds (type, address) pairs and an
 * advertiser's type is not known before it is heard). Checks run before anything is sent.
 */
import type { HciHost } from '../hci/host.ts'
import { LeAddDeviceToFilterAcceptList, LeClearFilterAcceptList } from '../hci/commands.ts'
import type { Advertisement, QueuePolicy, ScanFilter, ScanOptions as GapScanOptions } from '../gap/scanner.ts'
import { ParameterError, type CallOptions } from './errors.ts'

export type { Advertisement }

export type ScanPhy = '1M' | 'coded'
export type AcceptListEntry = string | { address: string; addressType?: 'public' | 'random' }

export interface ScanOptions extends ScanFilter, CallOptions {
  /** Active scanning, with scan responses merged (default true). */
  active?: boolean
  /** Yield every advertisement, not just the first of each device (and again when its data changes) (default false). */
  duplicates?: boolean
  /** Scan interval, ms (2.5..10240; up to 40959 with the extended commands) (default 10). */
  interval?: number
  /** Scan window, ms, at most the interval (default 10, or the interval when shorter). */
  window?: number
  /** PHYs to listen on (extended scanning): default LE 1M, plus LE Coded when the controller has it. */
  phys?: readonly ScanPhy[]
  /** Only these devices, filtered by the controller (its Filter Accept List; Scanning_Filter_Policy 1). */
  acceptList?: readonly AcceptListEntry[]
  /**
   * Scanning_Filter_Policy (7.8.10) when you manage the accept list yourself: 0 every device
   * (default), 1 accept list only, 2 / 3 the same plus directed advertising to a resolvable address.
   */
  filterPolicy?: 0 | 1 | 2 | 3
  /**
   * Where advertisements wait for the loop, and what happens when it falls behind
   * (att/bounded-queue.ts): `maxItems`, `maxBytes` (default 8 MiB: a loop that keeps up never
   * loses a burst), `overflow` ('drop-oldest' by default, 'drop-newest', 'error'),
   * `onDropped(count, total)`. The stream's `dropped` counts what went.
   */
  queue?: QueuePolicy
}

/** The advertisements of scan(): a `for await` stream that counts what its queue policy dropped. */
export interface ScanStream extends AsyncGenerator<Advertisement, void, undefined> {
  /** Advertisements dropped so far because the loop fell behind. */
  readonly dropped: number
}

/** The scan timing in ms -> 0.625 ms units; PHYs and filter policy checked. */
export function toGapScanOptions(o: ScanOptions): Omit<GapScanOptions, 'timeout' | 'signal'> {
  const { timeout: _t, signal: _s, interval, window, acceptList, filterPolicy, phys, ...rest } = o
  const g: Omit<GapScanOptions, 'timeout' | 'signal'> = { active: true, ...rest }
  if (interval !== undefined) g.interval = units('interval', interval)
  if (window !== undefined) {
    g.window = units('window', window)
    if (interval === undefined && g.window > 0x10) g.interval = g.window
  }
  if (g.interval !== undefined && g.window !== undefined && g.window > g.interval)
    throw new ParameterError(`window ${window} ms is longer than interval ${interval} ms`)
  if (phys !== undefined) {
    if (phys.length === 0) throw new ParameterError("phys: name at least one PHY ('1M', 'coded')")
    for (const p of phys)
      if (p !== '1M' && p !== 'coded')
        throw new ParameterError(
          `phys: '${String(p)}' cannot be scanned ('1M' or 'coded'; LE 2M carries no primary advertising)`,
        )
    g.phys = phys
  }
  const policy = filterPolicy ?? (acceptList ? 1 : 0)
  if (![0, 1, 2, 3].includes(policy)) throw new ParameterError(`filterPolicy: ${policy} is not 0, 1, 2 or 3 (7.8.10)`)
  if (acceptList && (policy & 1) === 0)
    throw new ParameterError(`filterPolicy ${policy} ignores the accept list`, {
      hint: 'leave filterPolicy out, or use 1 or 3',
    })
  g.filterPolicy = policy
  return g
}

function units(name: string, ms: number): number {
  const u = Math.round(ms / 0.625)
  if (!Number.isFinite(ms) || u < 4 || u > 0xffff)
    throw new ParameterError(`${name}: ${ms} ms is outside 2.5..40959 ms (Core v5.4 Vol 4 Part E 7.8.64)`)
  return u
}

/** Replace the controller's Filter Accept List with `entries` (an address without a type goes in as both). */
export async function setAcceptList(host: HciHost, entries: readonly AcceptListEntry[], o: CallOptions): Promise<void> {
  const pairs: { addressType: number; address: string }[] = []
  for (const e of entries) {
    const address = (typeof e === 'string' ? e : e.address).toUpperCase()
    if (!/^([0-9A-F]{2}:){5}[0-9A-F]{2}$/.test(address))
      throw new ParameterError(`acceptList: '${address}' is not a device address (AA:BB:CC:DD:EE:FF)`)
    const type = typeof e === 'string' ? undefined : e.addressType
    if (type !== 'random') pairs.push({ addressType: 0, address })
    if (type !== 'public') pairs.push({ addressType: 1, address })
  }
  if (pairs.length === 0) throw new ParameterError('acceptList: give at least one address')
  await host.send(LeClearFilterAcceptList, {}, { signal: o.signal })
  for (const p of pairs) await host.send(LeAddDeviceToFilterAcceptList, p, { signal: o.signal })
}
