/**
 * Where notified and indicated values go in the GATT client (Core v5.4 Vol 3 Part G 4.10-4.11,
 * Part F 3.4.7): routing by value handle to the listeners of that handle, in arrival order.
 *
 * No value is lost silently. A value for a handle nobody listens to yet (it arrived before
 * subscribe) is kept in a small buffer per handle, bounded in values per handle and in handles,
 * and handed to the first listener of that handle; what does not fit is dropped and counted
 * (`dropped(handle)`). The queue of one subscription (`valueQueue`, an att/bounded-queue.ts) is
 * bounded too, with an explicit policy for a consumer that falls behind and a drop count.
 */
import { BoundedQueue, type QueuePolicy } from './bounded-queue.ts'
import { GattError } from './errors.ts'

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

/**
 * The default queue of one subscription: at most 16 MiB of values waiting (about 200,000 values
 * of 20 octets), then 'error': the subscription ends with a GattError 'GATT_DROPPED' once the
 * consumer has read every value queued before the overflow. A notification stream is often a
 * protocol (a firmware's data transfer, a sensor log) where a silent gap is worse than a clear
 * stop, and notifications have no flow control to push back with (Part G 4.10), so the default
 * never drops quietly: a consumer that can live with gaps chooses 'drop-oldest' or 'drop-newest'
 * and reads the count (`Subscription.dropped`, `onDropped`).
 */
export const NOTIFICATION_QUEUE_DEFAULTS = { maxBytes: 16 * 1024 * 1024, overflow: 'error' } as const

/** Bytes a queued value counts for beyond its length (the Uint8Array object and the queue slot). */
export const VALUE_OVERHEAD = 64

/** The queue of one subscription's values, for `for await`; `what` names the characteristic in errors. */
export function valueQueue(
  policy: QueuePolicy,
  what: string,
  hooks: { onReturn: () => void; onDrained: (err: unknown) => void },
): BoundedQueue<Uint8Array> {
  return new BoundedQueue<Uint8Array>({
    ...policy,
    ...hooks,
    sizeOf: (v) => v.byteLength + VALUE_OVERHEAD,
    overflowError: ({ queued, maxItems, maxBytes }) =>
      new GattError(
        'GATT_DROPPED',
        `values of ${what} arrived faster than they were read: ${queued} were waiting ` +
          `(bound: ${maxItems} values, ${maxBytes} bytes); the subscription ended`,
        { hint: "read faster, raise the queue's maxItems/maxBytes, or choose overflow 'drop-oldest'" },
      ),
  })
}
