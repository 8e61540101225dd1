/**
 * Host-to-controller ACL flow control (Core v5.4 Vol 4 Part E 4.1.1 "Packet-based data flow
 * control"; 7.7.19 Number Of Completed Packets; 7.8.2 / 7.8.93 LE Read Buffer Size; 7.4.5 Read
 * Buffer Size).
 *
 * The controller has a fixed number of ACL data buffers of a fixed size, shared by all its links:
 * one pool for LE links when LE Read Buffer Size reports one, else a single pool shared with
 * BR/EDR (the LE pool is then the BR/EDR pool). One fragment sent consumes one buffer (a credit);
 * Number Of Completed Packets returns them per handle; a disconnection returns every buffer the
 * handle still held.
 *
 * Each connected handle has a bounded queue of L2CAP PDUs (`queueLimit`; `send` rejects with
 * 'ACL_QUEUE_FULL' beyond it). PDUs are cut into fragments lazily, one fragment at a time, when a
 * credit is there; handles with queued data take turns one fragment each (round robin), so one
 * busy link cannot starve the others. `send` resolves when the last fragment of its PDU has been
 * handed to the transport (and the transport's promise, if it returns one, settled): callers
 * that await it are paced by the controller's credits.
 */
import { HciError } from './errors.ts'
import { encodeAcl, PB } from './acl.ts'

export interface AclBufferSize {
  /** Maximum data bytes in one ACL packet. */
  length: number
  /** Number of ACL packets the controller can hold. */
  count: number
}

export type LinkKind = 'le' | 'bredr'

interface Pool {
  readonly length: number
  readonly count: number
  free: number
}

interface Job {
  pdu: Uint8Array
  offset: number
  resolve: () => void
  reject: (err: Error) => void
}

interface Link {
  handle: number
  kind: LinkKind
  queue: Job[]
  /** Fragments sent and not yet reported completed. */
  inFlight: number
}

export interface AclFlowOptions {
  /** Hand one ACL packet (header + data) to the transport. */
  transmit: (packet: Uint8Array) => void | Promise<void>
  /** PDUs waiting per handle before `send` pushes back (default 16). */
  queueLimit?: number
}

const noop = (): void => {}
/** What `send` returns for a PDU handed over at once: one settled promise, shared. */
const SENT: Promise<void> = Promise.resolve()
const hex3 = (h: number): string => `0x${h.toString(16).padStart(3, '0')}`

export class AclFlow {
  private readonly transmit: (packet: Uint8Array) => void | Promise<void>
  readonly queueLimit: number
  private pools: Record<LinkKind, Pool> | undefined
  private readonly links = new Map<number, Link>()
  /** Handles with queued PDUs, in turn order. */
  private readonly ready: number[] = []
  private pumping = false

  readonly stats = { fragmentsSent: 0, pdusSent: 0, excessCompletions: 0 }

  constructor(options: AclFlowOptions) {
    this.transmit = options.transmit
    this.queueLimit = options.queueLimit ?? 16
    if (!Number.isInteger(this.queueLimit) || this.queueLimit < 1) {
      throw new RangeError(`queueLimit: ${this.queueLimit} (expected an integer >= 1)`)
    }
  }

  /** Set the controller's buffers (after LE Read Buffer Size / Read Buffer Size). */
  configure(le: AclBufferSize | undefined, bredr: AclBufferSize | undefined): void {
    const pool = (b: AclBufferSize): Pool => ({ length: b.length, count: b.count, free: b.count })
    const br = bredr && bredr.count > 0 && bredr.length > 0 ? pool(bredr) : undefined
    const lePool = le && le.count > 0 && le.length > 0 ? pool(le) : br
    if (!lePool) throw new RangeError('the controller reported no ACL buffers')
    this.pools = { le: lePool, bredr: br ?? lePool }
    this.pump()
  }

  get configured(): boolean {
    return this.pools !== undefined
  }

  /** The buffers for a link kind: size, total and currently free. */
  buffers(kind: LinkKind): { length: number; count: number; free: number } | undefined {
    const p = this.pools?.[kind]
    return p ? { length: p.length, count: p.count, free: p.free } : undefined
  }

  /** Fragments in flight on `handle` (sent, not yet completed). */
  inFlight(handle: number): number {
    return this.links.get(handle)?.inFlight ?? 0
  }

  /** PDUs waiting on `handle`. */
  queued(handle: number): number {
    return this.links.get(handle)?.queue.length ?? 0
  }

  hasLink(handle: number): boolean {
    return this.links.has(handle)
  }

  addLink(handle: number, kind: LinkKind): void {
    if (!this.links.has(handle)) this.links.set(handle, { handle, kind, queue: [], inFlight: 0 })
  }

  /** The handle disconnected: its buffers come back, its queued PDUs fail with `error`. */
  removeLink(handle: number, error: Error): void {
    const link = this.links.get(handle)
    if (!link) return
    this.links.delete(handle)
    const pool = this.pools?.[link.kind]
    if (pool) pool.free = Math.min(pool.count, pool.free + link.inFlight)
    const at = this.ready.indexOf(handle)
    if (at >= 0) this.ready.splice(at, 1)
    for (const job of link.queue) job.reject(error)
    link.queue.length = 0
    this.pump()
  }

  /** Number Of Completed Packets for one handle. */
  completed(handle: number, n: number): void {
    const link = this.links.get(handle)
    if (!link) {
      if (n > 0) this.stats.excessCompletions += n
      return
    }
    const k = Math.min(n, link.inFlight)
    if (k < n) this.stats.excessCompletions += n - k
    link.inFlight -= k
    const pool = this.pools?.[link.kind]
    if (pool) pool.free = Math.min(pool.count, pool.free + k)
    this.pump()
  }

  /** Reject every queued PDU and forget all links (transport closed, hardware error). */
  failAll(error: Error): void {
    for (const link of this.links.values()) {
      for (const job of link.queue) job.reject(error)
      link.queue.length = 0
    }
    this.links.clear()
    this.ready.length = 0
    if (this.pools) {
      this.pools.le.free = this.pools.le.count
      this.pools.bredr.free = this.pools.bredr.count
    }
  }

  send(handle: number, pdu: Uint8Array): Promise<void> {
    const link = this.links.get(handle)
    if (!this.pools) {
      return Promise.reject(
        new HciError(
          'HCI_NOT_INITIALISED',
          'hci',
          'ACL data before the controller buffer sizes are known: run init() first',
        ),
      )
    }
    if (!link) {
      return Promise.reject(
        new HciError('ACL_UNKNOWN_HANDLE', 'hci', `ACL data for handle ${hex3(handle)}, which is not connected`),
      )
    }
    if (link.queue.length >= this.queueLimit) {
      return Promise.reject(
        new HciError(
          'ACL_QUEUE_FULL',
          'hci',
          `handle ${hex3(handle)} already has ${link.queue.length} PDUs waiting for controller buffers; ` +
            `await sendAcl() before sending more`,
        ),
      )
    }
    if (link.queue.length === 0 && !this.pumping) {
      const pool = this.pools[link.kind]
      if (pool.free >= Math.ceil(pdu.length / pool.length) && pdu.length > 0) return this.sendNow(link, pool, pdu)
    }
    return new Promise<void>((resolve, reject) => {
      link.queue.push({ pdu, offset: 0, resolve, reject })
      if (link.queue.length === 1) this.ready.push(handle)
      this.pump()
    })
  }

  /**
   * The common case, without a queue entry or a promise of its own: nothing waits on this link and
   * the controller has a buffer for every fragment of `pdu`, so it all goes now, in order.
   */
  private sendNow(link: Link, pool: Pool, pdu: Uint8Array): Promise<void> {
    let paced: Promise<void> | undefined
    for (let at = 0; at < pdu.length; at += pool.length) {
      const n = Math.min(pool.length, pdu.length - at)
      const packet = encodeAcl(
        link.handle,
        at === 0 ? PB.FirstNonFlushable : PB.Continuing,
        0,
        pdu.subarray(at, at + n),
      )
      try {
        const r = this.transmit(packet)
        // Every fragment's settlement counts (a rejection of any fails the PDU, never unhandled).
        if (r) paced = paced ? Promise.all([paced, r]).then(noop) : r
      } catch (err) {
        // Not handed over: no buffer used for this fragment; the PDU cannot be completed.
        return Promise.reject(err instanceof Error ? err : new Error(String(err)))
      }
      pool.free--
      link.inFlight++
      this.stats.fragmentsSent++
    }
    this.stats.pdusSent++
    // A transport that paces us: the PDU is sent when its paced fragments are.
    return paced ?? SENT
  }

  /** Send fragments while there are credits, one per ready handle in turn. */
  private pump(): void {
    if (this.pumping || !this.pools) return
    this.pumping = true
    try {
      for (;;) {
        const at = this.nextReady()
        if (at < 0) return
        const handle = this.ready[at]!
        this.ready.splice(at, 1)
        const link = this.links.get(handle)!
        this.sendOne(link, this.pools[link.kind])
        if (link.queue.length > 0 && this.links.has(handle)) this.ready.push(handle)
      }
    } finally {
      this.pumping = false
    }
  }

  /** Index in `ready` of the first handle whose pool has a free buffer, or -1. */
  private nextReady(): number {
    const pools = this.pools!
    for (let i = 0; i < this.ready.length; i++) {
      if (pools[this.links.get(this.ready[i]!)!.kind].free > 0) return i
    }
    return -1
  }

  private sendOne(link: Link, pool: Pool): void {
    const job = link.queue[0]!
    const n = Math.min(pool.length, job.pdu.length - job.offset)
    const pb = job.offset === 0 ? PB.FirstNonFlushable : PB.Continuing
    const packet = encodeAcl(link.handle, pb, 0, job.pdu.subarray(job.offset, job.offset + n))
    job.offset += n
    const last = job.offset >= job.pdu.length
    if (last) link.queue.shift()
    let sent: void | Promise<void>
    try {
      sent = this.transmit(packet)
    } catch (err) {
      // Not handed over: no buffer used. The PDU cannot be completed any more.
      if (!last) link.queue.shift()
      job.reject(err instanceof Error ? err : new Error(String(err)))
      return
    }
    pool.free--
    link.inFlight++
    this.stats.fragmentsSent++
    if (last) this.stats.pdusSent++
    if (sent !== undefined && typeof (sent as Promise<void>).then === 'function') {
      // The transport paces us: the PDU is sent when its last fragment's promise settles; a
      // rejection of any fragment fails the PDU (settling twice is harmless).
      sent.then(last ? job.resolve : noop, job.reject)
    } else if (last) {
      job.resolve()
    }
  }
}
