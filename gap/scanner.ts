/**
 * Legacy scanning, minimal (Core v5.4 Vol 4 Part E 7.8.10 LE Set Scan Parameters, 7.8.11 LE Set
 * Scan Enable, 7.7.65.2 LE Advertising Report; Vol 6 Part B 2.3 advertising PDU types and 4.4.3
 * scanning; AD structures parsed with gap/ad.ts, Vol 3 Part C 11).
 *
 * `scan()` is an async iterator of advertisements. Passive scanning yields each report as it
 * comes. Active scanning merges a scannable advertisement (ADV_IND, ADV_SCAN_IND) with the scan
 * response of the same device: the advertisement is held until its SCAN_RSP arrives or
 * `scanResponseTimeoutMs` passes (a device that never answers is not held back), then yielded
 * once with both parts. Reports wait in a bounded queue for a slow consumer (the oldest are
 * dropped and counted in `dropped`). Leaving the loop (break, return, abort, timeout) disables
 * scanning. The full scanner (extended scanning, dedup, filters) comes with issue 5.
 */
import type { Clock, HciHost } from '../hci/host.ts'
import { LeSetScanEnable, LeSetScanParameters } from '../hci/commands.ts'
import { parseAd, type ParsedAd } from './ad.ts'
import { commandSet } from './command-set.ts'
import { GapError } from './events.ts'

/** Legacy report Event_Type values (7.7.65.2). */
export const ReportType = { ADV_IND: 0, ADV_DIRECT_IND: 1, ADV_SCAN_IND: 2, ADV_NONCONN_IND: 3, SCAN_RSP: 4 } as const

export interface Advertisement {
  address: string
  addressType: 'public' | 'random'
  rssi: number
  /** Event_Type of the advertisement (not of its scan response). */
  eventType: number
  connectable: boolean
  scannable: boolean
  /** The complete local name, else the shortened one. */
  name?: string
  /** Advertising data and scan response, parsed together (the advertising data first). */
  ad: ParsedAd
  data: Uint8Array
  scanResponse?: Uint8Array
  /** clock.now() when it was yielded. */
  timestamp: number
}

export interface ScanOptions {
  /** Active scanning: send scan requests, merge scan responses (default true). */
  active?: boolean
  /** 0.625 ms units (default 0x0010 = 10 ms each). */
  interval?: number
  window?: number
  /** Let the controller filter duplicates (default false). */
  filterDuplicates?: boolean
  /** How long to wait for a scan response (default 500 ms). */
  scanResponseTimeoutMs?: number
  /** End the scan after this long (default: never). */
  timeoutMs?: number
  signal?: AbortSignal
  /** Reports waiting for the consumer (default 256). */
  queueLimit?: number
}

interface Held {
  adv: { eventType: number; address: string; addressType: number; rssi: number; data: Uint8Array }
  timer: unknown
}

export class Scanner {
  /** Advertisements dropped because the consumer was too slow. */
  dropped = 0
  private scanning = false

  constructor(
    readonly host: HciHost,
    private readonly clock: Clock,
  ) {}

  /** Scan until the loop ends, `timeoutMs` passes or the signal aborts. One scan at a time. */
  async *scan(o: ScanOptions = {}): AsyncGenerator<Advertisement, void, undefined> {
    if (this.scanning) throw new GapError('BUSY', 'a scan is already running on this scanner')
    commandSet(this.host).use('legacy')
    this.scanning = true
    const active = o.active ?? true
    const limit = o.queueLimit ?? 256
    const rspTimeout = o.scanResponseTimeoutMs ?? 500
    const queue: Advertisement[] = []
    const held = new Map<string, Held>()
    let wake: (() => void) | undefined
    let ended = false
    let failure: unknown
    const notify = (): void => {
      const w = wake
      wake = undefined
      w?.()
    }
    const push = (a: Advertisement): void => {
      queue.push(a)
      if (queue.length > limit) {
        queue.shift()
        this.dropped++
      }
      notify()
    }
    const emit = (adv: Held['adv'], rsp?: { data: Uint8Array; rssi: number }): void => {
      const all = rsp ? concat(adv.data, rsp.data) : adv.data
      const ad = parseAd(all)
      const name = ad.localName ?? ad.shortName
      push({
        address: adv.address.toUpperCase(),
        addressType: adv.addressType & 1 ? 'random' : 'public',
        rssi: rsp ? Math.max(adv.rssi, rsp.rssi) : adv.rssi,
        eventType: adv.eventType,
        connectable: adv.eventType === ReportType.ADV_IND || adv.eventType === ReportType.ADV_DIRECT_IND,
        scannable: adv.eventType === ReportType.ADV_IND || adv.eventType === ReportType.ADV_SCAN_IND,
        ...(name !== undefined ? { name } : {}),
        ad,
        data: adv.data,
        ...(rsp ? { scanResponse: rsp.data } : {}),
        timestamp: this.clock.now(),
      })
    }
    const off = this.host.onEvent((e) => {
      if (e.key !== 'LeAdvertisingReport' || ended) return
      for (const r of e.params.reports) {
        const key = `${r.addressType}/${r.address}`
        const adv = { eventType: r.eventType, address: r.address, addressType: r.addressType, rssi: r.rssi, data: r.data.slice() }
        if (r.eventType === ReportType.SCAN_RSP) {
          const h = held.get(key)
          if (!h) continue // a scan response whose advertisement we did not see (or already gave up on)
          held.delete(key)
          this.clock.clearTimeout(h.timer)
          emit(h.adv, { data: adv.data, rssi: adv.rssi })
        } else if (active && (r.eventType === ReportType.ADV_IND || r.eventType === ReportType.ADV_SCAN_IND)) {
          const prev = held.get(key)
          if (prev) {
            // Seen again before its scan response: keep the newest data, same deadline.
            prev.adv = adv
            continue
          }
          const h: Held = {
            adv,
            timer: this.clock.setTimeout(() => {
              if (held.get(key) !== h) return
              held.delete(key)
              emit(h.adv)
            }, rspTimeout),
          }
          held.set(key, h)
        } else {
          emit(adv)
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
    try {
      if (o.signal?.aborted) throw o.signal.reason
      await this.host.send(LeSetScanEnable, { enable: 0, filterDuplicates: 0 })
      await this.host.send(LeSetScanParameters, {
        scanType: active ? 1 : 0,
        scanInterval: o.interval ?? 0x10,
        scanWindow: o.window ?? o.interval ?? 0x10,
        ownAddressType: 0,
        scanningFilterPolicy: 0,
      })
      await this.host.send(LeSetScanEnable, { enable: 1, filterDuplicates: o.filterDuplicates ? 1 : 0 })
      for (;;) {
        while (queue.length > 0) yield queue.shift()!
        if (ended) break
        await new Promise<void>((resolve) => (wake = resolve))
      }
      if (failure !== undefined) throw failure
    } finally {
      ended = true
      off()
      o.signal?.removeEventListener('abort', onAbort)
      if (timer !== undefined) this.clock.clearTimeout(timer)
      for (const h of held.values()) this.clock.clearTimeout(h.timer)
      held.clear()
      this.scanning = false
      await this.host.send(LeSetScanEnable, { enable: 0, filterDuplicates: 0 }).catch(() => undefined)
    }
  }

  /** The first advertisement `match` accepts (within `timeoutMs`, default 10000). */
  async find(match: (a: Advertisement) => boolean, o: Omit<ScanOptions, 'timeoutMs'> & { timeoutMs?: number } = {}): Promise<Advertisement> {
    const ms = o.timeoutMs ?? 10_000
    for await (const a of this.scan({ ...o, timeoutMs: ms })) if (match(a)) return a
    throw new GapError('TIMEOUT', `no matching advertisement within ${ms} ms`, { hint: 'is the device advertising and in range?' })
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}
