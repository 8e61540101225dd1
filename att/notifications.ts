/**
 * Where notified and indicated values go in the GATT client (Core v5.4 Vol 3 Part G 4.10-4.11,
 * Part F 3.4.7): routing by value handle to the listeners of that handle, in arrival order.
 *
 * No value is lost silently. A value for a handle nobody listens to yet (it arrived before
 * subscribe) is kept in a small buffer per handle, bounded in values per handle and in handles,
 * and handed to the first listener of that handle; what does not fit is dropped and counted
 * (`dropped(handle)`). A `ValueQueue` (the async iterator of one subscription) is bounded too:
 * when its consumer falls behind, the oldest values go and its own `dropped` counter says how
 * many.
 */

export interface ValueListener {
  push(value: Uint8Array): void
}

export interface ValueRouterOptions {
  /** Values kept per handle before the first listener (default 16). */
  perHandle?: number
  /** Handles with kept values (default 64). */
  handles?: number
}

export class ValueRouter {
  private readonly listeners = new Map<number, Set<ValueListener>>()
  private readonly buffers = new Map<number, Uint8Array[]>()
  private readonly drops = new Map<number, number>()
  private readonly perHandle: number
  private readonly maxHandles: number
  /** Values dropped before any listener, all handles together. */
  droppedTotal = 0

  constructor(opts: ValueRouterOptions = {}) {
    this.perHandle = opts.perHandle ?? 16
    this.maxHandles = opts.handles ?? 64
  }

  deliver(handle: number, value: Uint8Array): void {
    const ls = this.listeners.get(handle)
    if (ls && ls.size > 0) {
      for (const l of ls) l.push(value)
      return
    }
    let buf = this.buffers.get(handle)
    if (!buf) {
      if (this.buffers.size >= this.maxHandles || this.perHandle === 0) {
        this.drop(handle)
        return
      }
      buf = []
      this.buffers.set(handle, buf)
    }
    if (buf.length >= this.perHandle) {
      buf.shift()
      this.drop(handle)
    }
    // Kept for later: a copy, so the receive buffer is not held.
    buf.push(value.slice())
  }

  private drop(handle: number): void {
    this.drops.set(handle, (this.drops.get(handle) ?? 0) + 1)
    this.droppedTotal++
  }

  /** Values of `handle` dropped before a listener came (buffer full). */
  dropped(handle: number): number {
    return this.drops.get(handle) ?? 0
  }

  /** Values of `handle` waiting for a first listener. */
  buffered(handle: number): number {
    return this.buffers.get(handle)?.length ?? 0
  }

  /** Listen to `handle`; the first listener gets what was buffered, at once and in order. Returns the remover. */
  add(handle: number, l: ValueListener): () => void {
    let set = this.listeners.get(handle)
    if (!set) {
      set = new Set()
      this.listeners.set(handle, set)
    }
    set.add(l)
    const buf = this.buffers.get(handle)
    if (buf) {
      this.buffers.delete(handle)
      for (const v of buf) l.push(v)
    }
    return () => {
      set.delete(l)
      if (set.size === 0 && this.listeners.get(handle) === set) this.listeners.delete(handle)
    }
  }

  listenerCount(handle: number): number {
    return this.listeners.get(handle)?.size ?? 0
  }
}

/** A bounded queue of values read with `for await`. */
export class ValueQueue implements AsyncIterableIterator<Uint8Array>, ValueListener {
  private readonly q: Uint8Array[] = []
  private readonly waiters: { resolve(r: IteratorResult<Uint8Array>): void; reject(e: unknown): void }[] = []
  private ended = false
  private error: unknown
  /** Values dropped because the consumer fell behind by more than the limit. */
  dropped = 0

  constructor(
    private readonly limit: number,
    private readonly onReturn?: () => void,
  ) {}

  push(value: Uint8Array): void {
    if (this.ended) return
    const w = this.waiters.shift()
    if (w) {
      w.resolve({ value, done: false })
      return
    }
    if (this.q.length >= this.limit) {
      this.q.shift()
      this.dropped++
    }
    this.q.push(value)
  }

  /** Values waiting to be read. */
  get size(): number {
    return this.q.length
  }

  /** No more values: the iterator ends after the queued ones (with `err`, it throws it then). */
  end(err?: unknown): void {
    if (this.ended) return
    this.ended = true
    this.error = err
    for (const w of this.waiters.splice(0)) {
      if (err === undefined) w.resolve({ value: undefined, done: true })
      else w.reject(err)
    }
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    const v = this.q.shift()
    if (v !== undefined) return Promise.resolve({ value: v, done: false })
    if (this.ended)
      return this.error === undefined ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(this.error)
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }))
  }

  return(): Promise<IteratorResult<Uint8Array>> {
    this.q.length = 0
    this.end()
    this.onReturn?.()
    return Promise.resolve({ value: undefined, done: true })
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Uint8Array> {
    return this
  }
}
