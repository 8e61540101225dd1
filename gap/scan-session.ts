/**
 * One running scan (Core v5.4 Vol 4 Part E 7.7.65.2 LE Advertising Report, 7.7.65.13 LE Extended
 * Advertising Report; Vol 6 Part B 4.4.3 scanning): from the host's report events to the queue
 * the scanner's `for await` loop reads.
 *
 * Reports go through, in order: the chain assembler (extended reports "more to come" joined,
 * gap/scan-report.ts), the merger (advertisement + scan response, gap/scan-merge.ts), the dedup
 * (gap/dedup.ts), the filters (gap/scan-filter.ts), and the bounded queue (att/bounded-queue.ts)
 * whose policy decides what a slow consumer loses, always counted. The session ends the queue on
 * its timeout, on abort (throwing the signal's reason), and when the transport closes (throwing
 * the transport's error); `close()` undoes everything and disables scanning. While it runs, the
 * session is registered with the host's ScanControl (gap/scan-control.ts) so connection attempts
 * can pause and resume it.
 */
import type { Clock, HciHost } from '../hci/host.ts'
import type { HciEvent } from '../hci/events.ts'
import { HciError } from '../hci/errors.ts'
import { BoundedQueue, resolvePolicy, type QueuePolicy } from '../att/bounded-queue.ts'
import { GapError } from './events.ts'
import { Dedup, signature } from './dedup.ts'
import { compileFilter, type ScanFilter } from './scan-filter.ts'
import { ScanMerger, type MergeStats } from './scan-merge.ts'
import { ChainAssembler, deviceKey, fromExtendedReport, fromLegacyReport, toAdvertisement } from './scan-report.ts'
import type { Advertisement, ReportPart } from './scan-report.ts'
import { scanControl } from './scan-control.ts'
import { setScanEnable, startScanning, type ScanPlan } from './scan-setup.ts'

/** Bytes an advertisement counts for in the queue beyond its data: the object and its parsed AD. */
export const ADVERTISEMENT_OVERHEAD = 512

/**
 * The default bound of the advertisements waiting for the consumer: 8 MiB, about 16,000
 * advertisements, so a consumer that keeps up never loses one to a burst (a UART or pty read
 * hands over thousands of reports at once). Beyond it the oldest go first ('drop-oldest'):
 * advertisements repeat, and the newest says the most about a device; the count is in
 * `Scanner.dropped` and every drop is signalled (`queue.onDropped`).
 */
export const SCAN_QUEUE_DEFAULTS = { maxBytes: 8 * 1024 * 1024, overflow: 'drop-oldest' } as const

/** What the session reads from ScanOptions (gap/scanner.ts). */
export interface SessionOptions extends ScanFilter {
  duplicates?: boolean
  dedupCapacity?: number
  scanResponseTimeoutMs?: number
  maxPending?: number
  /** End the scan after this long, ms (default: never). */
  timeout?: number
  signal?: AbortSignal
  queueLimit?: number
  queue?: QueuePolicy
}

/** The scanner's counters the session adds to. */
export interface SessionStats extends MergeStats {
  reports: number
  duplicates: number
  filtered: number
  chainsDropped: number
  truncated: number
}

export class ScanSession {
  readonly queue: BoundedQueue<Advertisement>
  readonly dedup: Dedup | undefined
  private readonly merger: ScanMerger
  private readonly chains: ChainAssembler
  private readonly filter: ((a: Advertisement) => boolean) | undefined
  private readonly chainsDroppedBefore: number
  private readonly cleanups: (() => void)[] = []
  private ended = false

  constructor(
    private readonly host: HciHost,
    private readonly clock: Clock,
    private readonly plan: ScanPlan,
    private readonly o: SessionOptions,
    private readonly stats: SessionStats,
    onDropped: (count: number) => void,
  ) {
    const maxPending = o.maxPending ?? 256
    const policy = resolvePolicy({ maxItems: o.queueLimit, ...o.queue }, SCAN_QUEUE_DEFAULTS)
    this.queue = new BoundedQueue<Advertisement>({
      ...policy,
      onDropped: undefined,
      sizeOf: (a) => ADVERTISEMENT_OVERHEAD + a.data.length + (a.scanResponse?.length ?? 0),
      overflowError: ({ queued, maxItems, maxBytes }) =>
        new GapError(
          'SCAN_OVERFLOW',
          `the scan's queue overflowed with ${queued} advertisements waiting (bound: ${maxItems} advertisements, ${maxBytes} bytes)`,
          { hint: "read faster, raise the queue's maxItems/maxBytes, or choose overflow 'drop-oldest'" },
        ),
    })
    this.queue.onDropped(onDropped)
    if (policy.onDropped) this.queue.onDropped(policy.onDropped)
    this.dedup = o.duplicates ? undefined : new Dedup(o.dedupCapacity ?? 4096)
    this.filter = compileFilter(o)
    this.chains = new ChainAssembler({ maxChains: maxPending })
    this.chainsDroppedBefore = stats.chainsDropped
    const merger = { active: plan.active, maxPending, timeout: o.scanResponseTimeoutMs ?? 500 }
    this.merger = new ScanMerger(clock, merger, (adv, rsp, truncated) => this.emit(adv, rsp, truncated), stats)
  }

  /** Listen for reports, the timeout and the signal; then start scanning and register it. */
  async start(): Promise<void> {
    const { host, o } = this
    this.cleanups.push(host.onEvent((e) => this.onEvent(e)))
    this.cleanups.push(host.onClose((err) => this.finish(err ?? transportClosed())))
    const signal = o.signal
    if (signal) {
      const onAbort = (): void => this.finish(signal.reason)
      signal.addEventListener('abort', onAbort, { once: true })
      this.cleanups.push(() => signal.removeEventListener('abort', onAbort))
    }
    if (o.timeout !== undefined) {
      const timer = this.clock.setTimeout(() => this.finish(), o.timeout)
      this.cleanups.push(() => this.clock.clearTimeout(timer))
    }
    if (signal?.aborted) throw signal.reason
    await startScanning(host, this.plan, signal)
    const enable = (on: 0 | 1): Promise<void> => (this.ended ? Promise.resolve() : setScanEnable(host, this.plan, on))
    this.cleanups.push(scanControl(host).register({ pause: () => enable(0), resume: () => enable(1) }))
  }

  /** Stop listening, forget what is waiting, disable scanning (its failure ignored). */
  async close(): Promise<void> {
    this.ended = true
    for (const off of this.cleanups.splice(0).reverse()) off()
    this.merger.clear()
    this.chains.clear()
    void this.queue.return()
    await setScanEnable(this.host, this.plan, 0).catch(() => undefined)
  }

  /** No more advertisements: the loop ends after the queued ones (throwing `err` when given). */
  private finish(err?: unknown): void {
    if (this.ended) return
    this.ended = true
    this.queue.end(err)
  }

  private onEvent(e: HciEvent): void {
    if (this.ended) return
    if (e.key === 'LeAdvertisingReport') {
      for (const r of e.params.reports) {
        this.stats.reports++
        const p = fromLegacyReport(r)
        p.data = p.data.slice()
        this.merger.push(p, false)
      }
    } else if (e.key === 'LeExtendedAdvertisingReport') {
      for (const r of e.params.reports) {
        this.stats.reports++
        const whole = this.chains.push(fromExtendedReport(r))
        this.stats.chainsDropped = this.chainsDroppedBefore + this.chains.dropped
        if (whole) this.merger.push(whole.part, whole.truncated)
      }
    }
  }

  private emit(adv: ReportPart, rsp: ReportPart | undefined, truncated: boolean): void {
    if (this.dedup?.seen(deviceKey(adv), signature(adv.data, rsp?.data))) {
      this.stats.duplicates++
      return
    }
    const a = toAdvertisement(adv, rsp, this.clock.now(), truncated)
    if (this.filter && !this.filter(a)) {
      this.stats.filtered++
      return
    }
    if (truncated) this.stats.truncated++
    this.queue.push(a)
  }
}

/** The error a scan ends with when the transport closes without one of its own. */
function transportClosed(): HciError {
  return new HciError('TRANSPORT_CLOSED', 'transport', 'the transport closed during the scan', {
    hint: 'the controller went away (unplugged, reset, or its connection closed): open the adapter again',
  })
}
