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
 * dedup table (`dedupCapacity`), the queue for a slow consumer (`queueLimit`, oldest dropped and
 * counted in `dropped`). Leaving the loop (break, return, abort, timeout) disables scanning.
 * - A running scan is registered with the host's ScanControl (gap/scan-control.ts): a connection
 *   attempt pauses it (Scan Enable 0) and resumes it (Scan Enable 1) afterwards; the iterator
 *   keeps its dedup, merge and queue state and neither ends nor throws, the consumer sees a gap.
 */
import type { Clock, HciHost } from '../hci/host.ts'
import {
  LeSetExtendedScanEnable,
  LeSetExtendedScanParameters,
  LeSetScanEnable,
  LeSetScanParameters,
} from '../hci/commands.ts'
import { commandSet } from './command-set.ts'
import { scanControl } from './scan-control.ts'
import { GapError } from './events.ts'
import { Dedup, signature } from './dedup.ts'
import { compileFilter, type ScanFilter } from './scan-filter.ts'
import {
  ChainAssembler,
  deviceKey,
  fromExtendedReport,
  fromLegacyReport,
  toAdvertisement,
  type Advertisement,
  type ReportPart,
} from './scan-report.ts'

export { ReportType, type Advertisement, type Phy } from './scan-report.ts'
export type { ScanFilter } from './scan-filter.ts'

export interface ScanOptions extends ScanFilter {
  /** Active scanning: send scan requests, merge scan responses (default true). */
  active?: boolean
  /** Scan interval and window, 0.625 ms units (default 0x0010 = 10 ms each; window <= interval). */
  interval?: number
  window?: number
  /** Force the extended (true) or legacy (false) commands instead of choosing. */
  extended?: boolean
  /** Extended scanning: the primary PHYs to scan (default 1M, plus coded when supported). */
  phys?: readonly ('1M' | 'coded')[]
  /** 0 public (default), 1 random (set with LE Set Random Address first), 2/3 resolvable. */
  ownAddressType?: number
  /**
   * Scanning_Filter_Policy (7.8.10): 0 every advertisement (default), 1 only from devices in the
   * controller's Filter Accept List, 2 / 3 the same plus directed advertising to a resolvable address.
   */
  filterPolicy?: number
  /** Let the controller filter duplicates too (default false). */
  filterDuplicates?: boolean
  /** Yield every advertisement, repeats included (default false: host-side dedup on). */
  duplicates?: boolean
  /** Devices the dedup remembers (default 4096; the least recently seen is forgotten). */
  dedupCapacity?: number
  /** How long to wait for a scan response (default 500 ms). */
  scanResponseTimeoutMs?: number
  /** Advertisements waiting for a scan response, and extended chains in progress (default 256 each). */
  maxPending?: number
  /** End the scan after this long (default: never). */
  timeoutMs?: number
  signal?: AbortSignal
  /** Advertisements waiting for the consumer (default 256). */
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

interface Held {
  part: ReportPart
  truncated: boolean
  timer: unknown
}

const EXT_SCAN_PHY = { '1M': 0x01, coded: 0x04 } as const

/** Whether the controller supports LE Coded PHY (LE feature bit 11). */
export function supportsCoded(host: HciHost): boolean {
  const f = host.info?.leFeatures
  return f !== undefined && ((f[1] ?? 0) & 0x08) !== 0
}

export class Scanner {
  /** Advertisements dropped because the consumer was too slow. */
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

  /** Scan until the loop ends, `timeoutMs` passes or the signal aborts. One scan at a time. */
  async *scan(o: ScanOptions = {}): AsyncGenerator<Advertisement, void, undefined> {
    if (this.scanning) throw new GapError('BUSY', 'a scan is already running on this scanner')
    const set = commandSet(this.host)
    const extended = o.extended ?? set.choose()
    const phys = o.phys ?? (extended && supportsCoded(this.host) ? ['1M', 'coded'] : ['1M'])
    if (phys.length === 0) throw new GapError('INVALID_PARAMETERS', 'phys: at least one PHY to scan')
    if (phys.includes('coded')) {
      if (!extended) throw new GapError('UNSUPPORTED', 'scanning on LE Coded needs the extended scanning commands')
      if (!supportsCoded(this.host))
        throw new GapError('UNSUPPORTED', 'the controller does not support LE Coded PHY (LE feature bit 11)')
    }
    const interval = o.interval ?? 0x10
    const window = o.window ?? Math.min(interval, 0x10)
    if (!(interval >= 4 && interval <= (extended ? 0xffff : 0x4000) && window >= 4 && window <= interval)) {
      throw new GapError(
        'INVALID_PARAMETERS',
        `scan interval ${interval} / window ${window}: 4 <= window <= interval <= ${extended ? 0xffff : 0x4000} (0.625 ms units)`,
      )
    }
    set.use(extended ? 'extended' : 'legacy')
    this.scanning = true
    const active = o.active ?? true
    const limit = o.queueLimit ?? 256
    const maxPending = o.maxPending ?? 256
    const rspTimeout = o.scanResponseTimeoutMs ?? 500
    const filter = compileFilter(o)
    const dedup = o.duplicates ? undefined : new Dedup(o.dedupCapacity ?? 4096)
    this.dedup = dedup
    const chains = new ChainAssembler({ maxChains: maxPending })
    const droppedBefore = this.stats.chainsDropped
    const queue: Advertisement[] = []
    const held = new Map<string, Held>()
    let wake: (() => void) | undefined
    let ended = false
    let failure: unknown
    const stats = this.stats
    const notify = (): void => {
      const w = wake
      wake = undefined
      w?.()
    }
    const emit = (adv: ReportPart, rsp: ReportPart | undefined, truncated: boolean): void => {
      if (dedup?.seen(deviceKey(adv), signature(adv.data, rsp?.data))) {
        stats.duplicates++
        return
      }
      const a = toAdvertisement(adv, rsp, this.clock.now(), truncated)
      if (filter && !filter(a)) {
        stats.filtered++
        return
      }
      if (truncated) stats.truncated++
      queue.push(a)
      if (queue.length > limit) {
        queue.shift()
        this.dropped++
      }
      notify()
    }
    const release = (key: string, h: Held): void => {
      held.delete(key)
      this.clock.clearTimeout(h.timer)
      emit(h.part, undefined, h.truncated)
    }
    const part = (p: ReportPart, truncated: boolean): void => {
      const key = deviceKey(p)
      if (p.scanResponse) {
        const h = held.get(key)
        if (!h) {
          stats.orphanResponses++
          return
        }
        held.delete(key)
        this.clock.clearTimeout(h.timer)
        emit(h.part, p, h.truncated || truncated)
      } else if (active && p.scannable && !p.directed) {
        const prev = held.get(key)
        if (prev) {
          // Seen again before its scan response: keep the newest data, same deadline.
          prev.part = p
          prev.truncated = truncated
          return
        }
        if (held.size >= maxPending) {
          const [k, h] = held.entries().next().value!
          stats.pendingEvicted++
          release(k, h)
        }
        const h: Held = {
          part: p,
          truncated,
          timer: this.clock.setTimeout(() => {
            if (held.get(key) === h) release(key, h)
          }, rspTimeout),
        }
        held.set(key, h)
      } else {
        emit(p, undefined, truncated)
      }
    }
    const off = this.host.onEvent((e) => {
      if (ended) return
      if (e.key === 'LeAdvertisingReport') {
        for (const r of e.params.reports) {
          stats.reports++
          const p = fromLegacyReport(r)
          p.data = p.data.slice()
          part(p, false)
        }
      } else if (e.key === 'LeExtendedAdvertisingReport') {
        for (const r of e.params.reports) {
          stats.reports++
          const whole = chains.push(fromExtendedReport(r))
          stats.chainsDropped = droppedBefore + chains.dropped
          if (whole) part(whole.part, whole.truncated)
        }
      }
    })
    let timer: unknown
    const stop = (err?: unknown): void => {
      if (ended) return
      ended = true
      if (err !== undefined) failure = err
      notify()
    }
    const onAbort = (): void => stop(o.signal!.reason)
    o.signal?.addEventListener('abort', onAbort, { once: true })
    if (o.timeoutMs !== undefined) timer = this.clock.setTimeout(() => stop(), o.timeoutMs)
    const so = o.signal ? { signal: o.signal } : {}
    const scanType = active ? 1 : 0
    const ownAddressType = o.ownAddressType ?? 0
    const scanningFilterPolicy = o.filterPolicy ?? 0
    const dup = o.filterDuplicates ? 1 : 0
    let unregister: (() => void) | undefined
    try {
      if (o.signal?.aborted) throw o.signal.reason
      if (extended) {
        await this.host.send(LeSetExtendedScanEnable, { enable: 0, filterDuplicates: 0, duration: 0, period: 0 }, so)
        let bits = 0
        for (const p of phys) bits |= EXT_SCAN_PHY[p]
        const perPhy = [EXT_SCAN_PHY['1M'], EXT_SCAN_PHY.coded]
          .filter((b) => bits & b)
          .map(() => ({ scanType, scanInterval: interval, scanWindow: window }))
        await this.host.send(
          LeSetExtendedScanParameters,
          { ownAddressType, scanningFilterPolicy, scanningPhys: bits, perPhy },
          so,
        )
        await this.host.send(LeSetExtendedScanEnable, { enable: 1, filterDuplicates: dup, duration: 0, period: 0 }, so)
      } else {
        await this.host.send(LeSetScanEnable, { enable: 0, filterDuplicates: 0 }, so)
        await this.host.send(
          LeSetScanParameters,
          { scanType, scanInterval: interval, scanWindow: window, ownAddressType, scanningFilterPolicy },
          so,
        )
        await this.host.send(LeSetScanEnable, { enable: 1, filterDuplicates: dup }, so)
      }
      const enable = (on: 0 | 1): Promise<void> => {
        if (ended) return Promise.resolve()
        const filterDuplicates = on ? dup : 0
        const sent = extended
          ? this.host.send(LeSetExtendedScanEnable, { enable: on, filterDuplicates, duration: 0, period: 0 })
          : this.host.send(LeSetScanEnable, { enable: on, filterDuplicates })
        return sent.then(() => undefined)
      }
      unregister = scanControl(this.host).register({ pause: () => enable(0), resume: () => enable(1) })
      for (;;) {
        while (queue.length > 0) yield queue.shift()!
        if (ended) break
        await new Promise<void>((resolve) => (wake = resolve))
      }
      if (failure !== undefined) throw failure
    } finally {
      ended = true
      unregister?.()
      off()
      o.signal?.removeEventListener('abort', onAbort)
      if (timer !== undefined) this.clock.clearTimeout(timer)
      for (const h of held.values()) this.clock.clearTimeout(h.timer)
      held.clear()
      chains.clear()
      queue.length = 0
      this.scanning = false
      if (extended)
        await this.host
          .send(LeSetExtendedScanEnable, { enable: 0, filterDuplicates: 0, duration: 0, period: 0 })
          .catch(() => undefined)
      else await this.host.send(LeSetScanEnable, { enable: 0, filterDuplicates: 0 }).catch(() => undefined)
    }
  }

  /**
   * The first advertisement `match` accepts (within `timeoutMs`, default 10000); 'NOT_FOUND' when
   * none did (the same code as the public find(): "nothing matched before the timeout").
   */
  async find(
    match: (a: Advertisement) => boolean,
    o: Omit<ScanOptions, 'timeoutMs'> & { timeoutMs?: number } = {},
  ): Promise<Advertisement> {
    const ms = o.timeoutMs ?? 10_000
    for await (const a of this.scan({ ...o, timeoutMs: ms })) if (match(a)) return a
    throw new GapError('NOT_FOUND', `no matching advertisement within ${ms} ms`, {
      hint: 'is the device advertising and in range?',
    })
  }
}
