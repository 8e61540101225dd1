/**
 * Finding the address type of a device known by its address alone (Core v5.4 Vol 6 Part B 1.3:
 * a device address is public or random, and LE Create Connection, Vol 4 Part E 7.8.12, needs the
 * Peer_Address_Type; the advertising PDU's TxAdd bit, reported as the Address_Type of 7.7.65.2,
 * tells it). `adapter.connect('AA:BB:CC:DD:EE:FF')` asks here when no scan has seen the address.
 *
 * Every advertisement any scan of the adapter yields is reported to `seen()`, so a lookup is
 * answered by the user's own scan when one runs. Otherwise one passive lookup scan runs for all
 * the lookups waiting at the time (concurrent connect() calls share it), and stops as soon as none
 * is left. Each lookup ends at its own signal (the connect() deadline): a TimeoutError becomes
 * 'NOT_FOUND' saying that hcikit scanned, and how to skip the scan.
 */
import type { AddressType } from '../gap/connections.ts'
import type { Advertisement } from '../gap/scanner.ts'
import { NotFoundError, TimeoutError } from './errors.ts'

/** How the lookup runs a scan: the adapter's scan() with these options. */
export type LookupScan = (o: { active: false; signal: AbortSignal }) => AsyncIterable<Advertisement>

interface Waiter {
  resolve(type: AddressType): void
  reject(err: unknown): void
}

export class AddressLookup {
  private readonly waiting = new Map<string, Set<Waiter>>()
  private scanning: { ac: AbortController; ended: Promise<void> } | undefined
  private userScans = 0

  constructor(private readonly scan: LookupScan) {}

  /** Some scan of the adapter yielded `address` with its type. */
  seen(address: string, type: AddressType): void {
    const ws = this.waiting.get(address)
    if (!ws) return
    this.waiting.delete(address)
    for (const w of ws) w.resolve(type)
    if (this.waiting.size === 0) this.scanning?.ac.abort()
  }

  /**
   * A scan of the user's is about to start: the lookup scan (if any) makes way, and until the
   * user's scan ends its advertisements answer the lookups. Resolves when the scanner is free.
   */
  async userScanStarts(): Promise<void> {
    this.userScans++
    const s = this.scanning
    s?.ac.abort()
    await s?.ended
  }

  /** The user's scan ended: lookups still waiting get a scan of their own again. */
  userScanEnded(): void {
    this.userScans--
    this.ensureScan()
  }

  /** The type of `address` (upper case), from the next advertisement of it; rejects when `signal` aborts. */
  find(address: string, signal: AbortSignal, timeout: number): Promise<AddressType> {
    return new Promise<AddressType>((resolve, reject) => {
      if (signal.aborted) return reject(this.failure(address, signal.reason, timeout))
      const onAbort = (): void => {
        const ws = this.waiting.get(address)
        ws?.delete(w)
        if (ws?.size === 0) this.waiting.delete(address)
        if (this.waiting.size === 0) this.scanning?.ac.abort()
        reject(this.failure(address, signal.reason, timeout))
      }
      const w: Waiter = {
        resolve: (type) => {
          signal.removeEventListener('abort', onAbort)
          resolve(type)
        },
        reject: (err) => {
          signal.removeEventListener('abort', onAbort)
          reject(err)
        },
      }
      signal.addEventListener('abort', onAbort, { once: true })
      let ws = this.waiting.get(address)
      if (!ws) this.waiting.set(address, (ws = new Set()))
      ws.add(w)
      this.ensureScan()
    })
  }

  private failure(address: string, reason: unknown, timeout: number): unknown {
    if (!(reason instanceof TimeoutError)) return reason
    return new NotFoundError(
      `${address} was not seen advertising within ${timeout} ms (its address type is needed to connect, so hcikit scanned for it)`,
      {
        cause: reason,
        hint: "is it advertising and in range? If you know its address type, connect({ address, addressType: 'random' }) skips the scan",
      },
    )
  }

  private ensureScan(): void {
    if (this.scanning || this.userScans > 0 || this.waiting.size === 0) return
    const ac = new AbortController()
    const ended = (async () => {
      try {
        // Every advertisement reaches seen() through the adapter's scan().
        for await (const _ of this.scan({ active: false, signal: ac.signal })) if (this.waiting.size === 0) break
      } catch (e) {
        // The scan failed (not aborted for lack of lookups): every lookup fails with its error.
        if (!ac.signal.aborted) this.failAll(e)
      } finally {
        if (this.scanning?.ac === ac) this.scanning = undefined
      }
      // Lookups that came in while this scan was stopping.
      this.ensureScan()
    })()
    this.scanning = { ac, ended }
  }

  private failAll(err: unknown): void {
    const all = [...this.waiting.values()]
    this.waiting.clear()
    for (const ws of all) for (const w of ws) w.reject(err)
  }
}
