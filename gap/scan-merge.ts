/**
 * Merging an advertisement with its scan response (Core v5.4 Vol 6 Part B 4.4.3.2 active
 * scanning: a scannable advertisement, a SCAN_REQ, then the SCAN_RSP; Vol 4 Part E 7.7.65.2 and
 * 7.7.65.13 report them as separate reports).
 *
 * In active scanning a scannable, undirected advertisement waits here for the scan response of
 * the same device (and set), at most `timeout`, so a device that never answers is not held
 * back; then the pair (or the advertisement alone) goes to `emit`. Other parts go to `emit` at
 * once. Waiting advertisements are bounded (`maxPending`): when one more arrives, the one waiting
 * longest is emitted without its response (counted in `stats.pendingEvicted`). A response whose
 * advertisement is not waiting is counted in `stats.orphanResponses` and dropped.
 */
import type { Clock } from '../hci/host.ts'
import { deviceKey, type ReportPart } from './scan-report.ts'

export type EmitPart = (adv: ReportPart, rsp: ReportPart | undefined, truncated: boolean) => void

export interface ScanMergerOptions {
  /** Merge scan responses at all (active scanning). */
  active: boolean
  /** Advertisements waiting for a response at once. */
  maxPending: number
  /** How long an advertisement waits for its response (ms). */
  timeout: number
}

interface Held {
  part: ReportPart
  truncated: boolean
  timer: unknown
}

/** The counters the merger adds to (the scanner's stats). */
export interface MergeStats {
  /** Scan responses whose advertisement was not waiting (not seen, or already emitted). */
  orphanResponses: number
  /** Advertisements emitted without their response because too many were waiting. */
  pendingEvicted: number
}

export class ScanMerger {
  private readonly held = new Map<string, Held>()

  constructor(
    private readonly clock: Clock,
    private readonly o: ScanMergerOptions,
    private readonly emit: EmitPart,
    private readonly stats: MergeStats,
  ) {}

  /** Advertisements waiting for their scan response. */
  get pending(): number {
    return this.held.size
  }

  /** One whole report part (chains already joined). */
  push(p: ReportPart, truncated: boolean): void {
    if (p.scanResponse) this.response(p, truncated)
    else if (this.o.active && p.scannable && !p.directed) this.hold(p, truncated)
    else this.emit(p, undefined, truncated)
  }

  /** Forget everything waiting (the scan ended), without emitting it. */
  clear(): void {
    for (const h of this.held.values()) this.clock.clearTimeout(h.timer)
    this.held.clear()
  }

  private response(p: ReportPart, truncated: boolean): void {
    const key = deviceKey(p)
    const h = this.held.get(key)
    if (!h) {
      this.stats.orphanResponses++
      return
    }
    this.held.delete(key)
    this.clock.clearTimeout(h.timer)
    this.emit(h.part, p, h.truncated || truncated)
  }

  private hold(p: ReportPart, truncated: boolean): void {
    const key = deviceKey(p)
    const prev = this.held.get(key)
    if (prev) {
      // Seen again before its scan response: keep the newest data, same deadline.
      prev.part = p
      prev.truncated = truncated
      return
    }
    if (this.held.size >= this.o.maxPending) {
      const [k, h] = this.held.entries().next().value!
      this.stats.pendingEvicted++
      this.release(k, h)
    }
    const h: Held = {
      part: p,
      truncated,
      timer: this.clock.setTimeout(() => {
        if (this.held.get(key) === h) this.release(key, h)
      }, this.o.timeout),
    }
    this.held.set(key, h)
  }

  private release(key: string, h: Held): void {
    this.held.delete(key)
    this.clock.clearTimeout(h.timer)
    this.emit(h.part, undefined, h.truncated)
  }
}
