/**
 * One subscription of the GATT client to a characteristic's notifications or indications (Core
 * v5.4 Vol 3 Part G 4.10-4.12): an async iterator of its values, in arrival order, and the way
 * to end it (`unsubscribe()`, or leaving a `for await` loop). The client writes the CCCD back to
 * 0x0000 when its last subscription to that characteristic ends.
 *
 * Values wait for the consumer in a bounded queue (att/bounded-queue.ts) with an explicit
 * overflow policy (att/notifications.ts has the default and why); what it drops is counted in
 * `dropped` and announced to `onDropped` listeners, so the public API can surface both.
 */
import type { BoundedQueue } from './bounded-queue.ts'
import { GattError } from './errors.ts'
import type { RemoteCharacteristic } from './remote-database.ts'

export class Subscription implements AsyncIterable<Uint8Array> {
  constructor(
    readonly characteristic: RemoteCharacteristic,
    private readonly queue: BoundedQueue<Uint8Array> | undefined,
    private readonly stop: () => Promise<void>,
  ) {}

  /** Values this subscription dropped because its consumer fell behind (0 with a callback). */
  get dropped(): number {
    return this.queue?.dropped ?? 0
  }

  /** Values waiting to be read. */
  get pending(): number {
    return this.queue?.size ?? 0
  }

  /** Bytes waiting to be read, as counted against the queue's byte bound. */
  get pendingBytes(): number {
    return this.queue?.bytes ?? 0
  }

  /** Called after values were dropped: how many this time, and in all. Returns the remover. */
  onDropped(cb: (count: number, total: number) => void): () => void {
    return this.queue?.onDropped(cb) ?? (() => {})
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (!this.queue) {
      throw new GattError(
        'GATT_NOT_SUPPORTED',
        `this subscription to ${this.characteristic} delivers to its onValue callback`,
        {
          hint: 'subscribe without onValue to iterate',
        },
      )
    }
    return this.queue
  }

  /** Stop listening; the CCCD is cleared when no other subscription to this characteristic remains. */
  unsubscribe(): Promise<void> {
    return this.stop()
  }
}
