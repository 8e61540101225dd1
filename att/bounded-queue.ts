/**
 * A bounded queue read with `for await`, with an explicit overflow policy: where the values a
 * producer pushes wait for a consumer that may be slower. Used for notifications and indications
 * (att/notifications.ts, Core v5.4 Vol 3 Part G 4.10-4.11) and for advertisements
 * (gap/scanner.ts, Vol 6 Part B 4.4.3): neither has flow control towards the peer, so what does
 * not fit has to go somewhere, and where it goes is the caller's choice, never silent.
 *
 * The bound is in items and in bytes (each item's `sizeOf`, default its byteLength plus a fixed
 * per-item overhead), whichever is reached first. When a push would exceed it:
 *   - 'drop-oldest': the oldest values go until the new one fits;
 *   - 'drop-newest': the new value goes;
 *   - 'error': the new value goes and the queue fails: the consumer reads what was queued before,
 *     then the iterator throws `overflowError(...)`; values pushed after that are counted too.
 * Every value dropped is counted in `dropped` and announced to the `onDropped` listeners, so a
 * count is always available and a signal always fires. A consumer that keeps up never loses
 * anything: a waiting `next()` takes a pushed value at once, the bound only applies to what waits.
 */

export type OverflowPolicy = 'drop-oldest' | 'drop-newest' | 'error'

/** How much a queue holds and what it does when full. */
export interface QueuePolicy {
  /** Most values waiting (default: no count bound, only the byte bound). */
  maxItems?: number
  /** Most bytes waiting, each value counted as its size plus an overhead (default per use). */
  maxBytes?: number
  /** What a full queue does with a new value (default per use). */
  overflow?: OverflowPolicy
  /** Called after values were dropped: how many this time, and in all. */
  onDropped?: (count: number, total: number) => void
}

export interface BoundedQueueOptions<T> extends QueuePolicy {
  /** Bytes one value counts for. */
  sizeOf: (value: T) => number
  /** The error an 'error' queue fails with (called once, at the first overflow). */
  overflowError: (info: { maxItems: number; maxBytes: number; queued: number }) => Error
  /** The consumer left the loop (return()). */
  onReturn?: () => void
  /** The consumer reached the end (after the queued values): `err` is what it was thrown, if anything. */
  onDrained?: (err: unknown) => void
}

interface Waiter<T> {
  resolve(r: IteratorResult<T>): void
  reject(e: unknown): void
}

/** Defaults that the users of the queue fill in: a large byte bound, no count bound. */
export function resolvePolicy(
  p: QueuePolicy | undefined,
  defaults: Required<Pick<QueuePolicy, 'maxBytes' | 'overflow'>>,
): QueuePolicy {
  return {
    maxItems: p?.maxItems,
    maxBytes: p?.maxBytes ?? defaults.maxBytes,
    overflow: p?.overflow ?? defaults.overflow,
    onDropped: p?.onDropped,
  }
}

export class BoundedQueue<T> implements AsyncIterableIterator<T> {
  /** Values dropped by the overflow policy (and, once failed or ended by the consumer, pushed after). */
  dropped = 0
  private readonly items: T[] = []
  private head = 0
  private bytesQueued = 0
  private readonly waiters: Waiter<T>[] = []
  private readonly listeners = new Set<(count: number, total: number) => void>()
  private ended = false
  private drained = false
  private error: unknown
  private readonly maxItems: number
  private readonly maxBytes: number
  private readonly policy: OverflowPolicy

  constructor(private readonly o: BoundedQueueOptions<T>) {
    this.maxItems = o.maxItems ?? Number.POSITIVE_INFINITY
    this.maxBytes = o.maxBytes ?? Number.POSITIVE_INFINITY
    this.policy = o.overflow ?? 'drop-oldest'
    if (!(this.maxItems >= 1)) throw new RangeError(`maxItems ${o.maxItems}: at least 1`)
    if (!(this.maxBytes >= 1)) throw new RangeError(`maxBytes ${o.maxBytes}: at least 1`)
    if (o.onDropped) this.listeners.add(o.onDropped)
  }

  /** Values waiting to be read. */
  get size(): number {
    return this.items.length - this.head
  }

  /** Bytes waiting, as counted against `maxBytes`. */
  get bytes(): number {
    return this.bytesQueued
  }

  /** Whether the queue ended (end(), return(), or an 'error' queue that overflowed). */
  get closed(): boolean {
    return this.ended
  }

  /** Listen to drops; returns the remover. */
  onDropped(cb: (count: number, total: number) => void): () => void {
    this.listeners.add(cb)
    return () => void this.listeners.delete(cb)
  }

  push(value: T): void {
    if (this.ended) {
      // Failed by overflow: what still arrives is lost too, and counted. Ended otherwise: ignored.
      if (this.error !== undefined) this.drop(1)
      return
    }
    const w = this.waiters.shift()
    if (w) {
      w.resolve({ value, done: false })
      return
    }
    const size = this.o.sizeOf(value)
    if (this.size + 1 > this.maxItems || this.bytesQueued + size > this.maxBytes) {
      if (!this.overflow(size)) return
    }
    this.items.push(value)
    this.bytesQueued += size
  }

  /** Make room for a value of `size` bytes per the policy; false when the value is not to be queued. */
  private overflow(size: number): boolean {
    if (this.policy === 'drop-newest') {
      this.drop(1)
      return false
    }
    if (this.policy === 'error') {
      const queued = this.size
      this.end(this.o.overflowError({ maxItems: this.maxItems, maxBytes: this.maxBytes, queued }))
      this.drop(1)
      return false
    }
    let n = 0
    while (this.size > 0 && (this.size + 1 > this.maxItems || this.bytesQueued + size > this.maxBytes)) {
      this.shift()
      n++
    }
    if (n > 0) this.drop(n)
    return true
  }

  private drop(n: number): void {
    this.dropped += n
    for (const cb of [...this.listeners]) cb(n, this.dropped)
  }

  private shift(): T | undefined {
    if (this.head >= this.items.length) return undefined
    const v = this.items[this.head]!
    this.items[this.head] = undefined as T
    this.head++
    this.bytesQueued -= this.o.sizeOf(v)
    if (this.head === this.items.length) {
      this.items.length = 0
      this.head = 0
      this.bytesQueued = 0
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items.splice(0, this.head)
      this.head = 0
    }
    return v
  }

  /** No more values: the iterator ends after the queued ones (with `err`, it throws it then). */
  end(err?: unknown): void {
    if (this.ended) return
    this.ended = true
    this.error = err
    const waiters = this.waiters.splice(0)
    if (waiters.length > 0) this.reachedEnd()
    for (const w of waiters) {
      if (err === undefined) w.resolve({ value: undefined, done: true })
      else w.reject(err)
    }
  }

  private reachedEnd(): void {
    if (this.drained) return
    this.drained = true
    this.o.onDrained?.(this.error)
  }

  next(): Promise<IteratorResult<T>> {
    if (this.size > 0) return Promise.resolve({ value: this.shift()!, done: false })
    if (this.ended) {
      this.reachedEnd()
      return this.error === undefined ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(this.error)
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }))
  }

  /** The consumer leaves: what was queued is discarded (not counted as dropped). */
  return(): Promise<IteratorResult<T>> {
    this.items.length = 0
    this.head = 0
    this.bytesQueued = 0
    this.error = undefined
    this.end()
    this.o.onReturn?.()
    return Promise.resolve({ value: undefined, done: true })
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this
  }
}
