/**
 * The scanner (Core v5.4 Vol 4 Part E 7.8.10 LE Set Scan Parameters, 7.8.11 LE Set Scan Enable,
 * 7.8.64 LE Set Extended Scan Parameters, 7.8.65 LE Set Extended Scan Enable; reports 7.7.65.2
 * and 7.7.65.13; Vol 6 Part B 4.4.3 scanning; Vol 4 Part E 3.1.1 for the command-set rule).
 *
 * `scan()` is an async iterator of advertisements (gap/scan-report.ts builds them):
 * - Legacy or extended commands: extended when the controller has LE Extended Advertising (LE
 *   feature bit 12) and this host has not used the legacy set (gap/command-set.ts), unless
 *   `extended` forces it. Extended scanning listens on LE 1M and, when the controller supports
 *   it (LE feature bit 11), LE Coded, or on the `phys` asked for.
 * - Active scanning merges a scannable advertisement with the scan response of the same device
 *   (and set): the advertisement waits for its response at most `scanResponseTimeoutMs`, so a
 *   device that never answers is not held back; then it is yielded once with both parts.
 * - Chained extended reports (Data_Status "more to come") are joined; a chain the controller
 *   cut short (Data_Status "truncated") is yielded with `truncated: true`.
 * - Host-side dedup (default on; `duplicates: true` turns it off): a bounded LRU of devices and a
 *   signature of their data (gap/dedup.ts). A device is yielded again when its data changes.
 * - Filters (gap/scan-filter.ts) by name, service UUID, address, manufacturer, RSSI, predicate.
 * Everything the scanner keeps is bounded: held advertisements and chains (`maxPending`), the
 * dedup table (`dedupCapacity`), the queue for the consumer (`queue`: by default 8 MiB, enough
 * for any burst a consumer that keeps up sees; beyond it the oldest go, counted in `dropped` and
 * signalled to `queue.onDropped`; 'drop-newest' and 'error' are the other policies, see
 * att/bounded-queue.ts). Leaving the loop (break, return, abort, timeout) disables scanning.
 * The transport closing mid-scan ends the loop by throwing its error (an HciError
 * 'TRANSPORT_CLOSED' when it closed without one), as does `find`.
 * - A running scan is registered with the host's ScanControl (gap/scan-control.ts): a connection
 *   attempt pauses it (Scan Enable 0) and resumes it (Scan Enable 1) afterwards; the iterator
 *   keeps its dedup, merge and queue state and neither ends nor throws, the consumer sees a gap.
 */
import type { Clock, HciHost } from '../hci/host.ts'
import { commandSet } from './command-set.ts'
import { GapError } from './events.ts'
import type { Dedup } from './dedup.ts'
import type { ScanFilter } from './scan-filter.ts'
import type { Advertisement } from './scan-report.ts'
import type { QueuePolicy } from '../att/bounded-queue.ts'
import { ScanSession } from './scan-session.ts'
import { planScan, type ScanParameters } from './scan-setup.ts'

export { ReportType, type Advertisement, type Phy } from './scan-report.ts'
export type { ScanFilter } from './scan-filter.ts'
export { supportsCoded, type ScanParameters, type ScanPhy } from './scan-setup.ts'
export { SCAN_QUEUE_DEFAULTS } from './scan-session.ts'
export type { OverflowPolicy, QueuePolicy } from '../att/bounded-queue.ts'

export interface ScanOptions extends ScanFilter, ScanParameters {
  /** Yield every advertisement, repeats included (default false: host-side dedup on). */
  duplicates?: boolean
  /** Devices the dedup remembers (default 4096; the least recently seen is forgotten). */
  dedupCapacity?: number
  /** How long to wait for a scan response (default 500 ms). */
  scanResponseTimeoutMs?: number
  /** Advertisements waiting for a scan response, and extended chains in progress (default 256 each). */
  maxPending?: number
  /** End the scan after this long, ms (default: never). */
  timeout?: number
  signal?: AbortSignal
  /**
   * The queue of advertisements waiting for the consumer: bounds and what happens when full
   * (default: at most 8 MiB, oldest dropped; see SCAN_QUEUE_DEFAULTS in gap/scan-session.ts).
   */
  queue?: QueuePolicy
  /** Short for `queue.maxItems` (default: no count bound, only the byte bound). */
  queueLimit?: number
}

export interface ScannerStats {
  /** Reports received (each report of an event, each part of a chain). */
  reports: number
  /** Advertisements dropped by the dedup. */
  duplicates: number
  /** Advertisements the filters refused. */
  filtered: number
  /** Scan responses whose advertisement was not waiting (not seen, or already yielded). */
  orphanResponses: number
  /** Advertisements yielded without their scan response because too many were waiting. */
  pendingEvicted: number
  /** Chained extended reports given up (too many chains, or longer than 1650 octets). */
  chainsDropped: number
  /** Advertisements delivered with `truncated`. */
  truncated: number
}

export class Scanner {
  /** Advertisements dropped because the consumer was too slow (all scans of this scanner). */
  dropped = 0
  readonly stats: ScannerStats = {
    reports: 0,
    duplicates: 0,
    filtered: 0,
    orphanResponses: 0,
    pendingEvicted: 0,
    chainsDropped: 0,
    truncated: 0,
  }
  private scanning = false
  private dedup: Dedup | undefined

  constructor(
    readonly host: HciHost,
    private readonly clock: Clock,
  ) {}

  /** Devices in the dedup table of the running (or last) scan. */
  get dedupEntries(): number {
    return this.dedup?.size ?? 0
  }

  /** Scan until the loop ends, `timeout` passes or the signal aborts. One scan at a time. */
  async *scan(o: ScanOptions = {}): AsyncGenerator<Advertisement, void, undefined> {
    if (this.scanning) throw new GapError('BUSY', 'a scan is already running on this scanner')
    const plan = planScan(this.host, o)
    commandSet(this.host).use(plan.extended ? 'extended' : 'legacy')
    this.scanning = true
    const session = new ScanSession(this.host, this.clock, plan, o, this.stats, (n) => {
      this.dropped += n
    })
    this.dedup = session.dedup
    try {
      await session.start()
      yield* session.queue
    } finally {
      this.scanning = false
      await session.close()
    }
  }

  /** The first advertisement `match` accepts (within `timeout` ms, default 10000). */
  async find(match: (a: Advertisement) => boolean, o: ScanOptions = {}): Promise<Advertisement> {
    const ms = o.timeout ?? 10_000
    for await (const a of this.scan({ ...o, timeout: ms })) if (match(a)) return a
    throw new GapError('NOT_FOUND', `no matching advertisement within ${ms} ms`, {
      hint: 'is the device advertising and in range?',
    })
  }
}
