/**
 * Writing H4 packets to a byte stream in batches (Core v5.4 Vol 4 Part A 2: a packet indicator
 * byte, then the HCI packet of Vol 4 Part E 5.4). Every packet pushed in one tick is copied,
 * in order, into one buffer, and that buffer goes to the stream in one write when the tick ends,
 * instead of one write, one system call and one segment per packet (docs/PERFORMANCE.md). The
 * owner passes the stream's write and the scheduler of the end of the tick (process.nextTick):
 * hci/ has no timers of its own.
 */

/** The first buffer of a tick (grown when a tick writes more). */
const BATCH_BYTES = 4096

export interface H4BatchWriterOptions {
  /** Hand one batch to the stream (which then owns it); false when its buffer is full. */
  write(bytes: Uint8Array): boolean
  /** Run `fn` when the current tick ends (process.nextTick). */
  schedule(fn: () => void): void
  /** The stream's buffer is full (`write` returned false). */
  onFull?(): void
}

export class H4BatchWriter {
  private buffer: Uint8Array | undefined
  private length = 0
  /** Batches written and packets in them (observability). */
  readonly stats = { writes: 0, packets: 0 }

  constructor(private readonly o: H4BatchWriterOptions) {}

  /** Bytes waiting for the end of the tick. */
  get pending(): number {
    return this.length
  }

  /** Queue one packet: `type`, then `data` (copied: the caller may reuse its buffer). */
  packet(type: number, data: Uint8Array): void {
    if (!Number.isInteger(type) || type < 0 || type > 0xff)
      throw new RangeError(`H4 type ${type} does not fit in a byte`)
    const at = this.reserve(1 + data.length)
    this.buffer![at] = type
    this.buffer!.set(data, at + 1)
    this.stats.packets++
  }

  /** Queue bytes that are already H4 (copied). */
  bytes(bytes: Uint8Array): void {
    const at = this.reserve(bytes.length)
    this.buffer!.set(bytes, at)
  }

  /** Write what is queued now (also done at the end of the tick). */
  readonly flush = (): void => {
    const n = this.length
    if (n === 0 || !this.buffer) return
    // The stream keeps what it is given until written: hand the buffer over, start a new one.
    const out = this.buffer.subarray(0, n)
    this.buffer = undefined
    this.length = 0
    this.stats.writes++
    if (!this.o.write(out)) this.o.onFull?.()
  }

  /** Forget what is queued (the stream is gone). */
  discard(): void {
    this.buffer = undefined
    this.length = 0
  }

  private reserve(n: number): number {
    const used = this.length
    if (!this.buffer || used + n > this.buffer.length) {
      const grown = new Uint8Array(Math.max(BATCH_BYTES, 2 * (used + n)))
      if (this.buffer && used > 0) grown.set(this.buffer.subarray(0, used))
      this.buffer = grown
    }
    if (used === 0) this.o.schedule(this.flush)
    this.length = used + n
    return used
  }
}
