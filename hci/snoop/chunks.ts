/**
 * A byte queue over an async stream of chunks, for the capture readers of HCI packets
 * (Core v5.4 Vol 4 Part E 5.4, framed as in Vol 4 Part A 2).
 *
 * The readers ask for exactly the bytes of the next header or record. The queue pulls chunks
 * until it holds that many and hands them out as a view when they lie in one chunk, or as one
 * copy when they straddle chunks. It never allocates ahead of bytes that have arrived, so a
 * length field that lies costs nothing until the data is really there; the readers bound every
 * length before asking. Memory held: the bytes of one record plus the chunk it ends in.
 *
 * The format readers are synchronous generators that yield a byte count when they need more
 * (`FormatReader`); only the driver in snoop.ts awaits, so a record costs no promise beyond the
 * one the consumer's loop makes.
 *
 * Chunks must not be changed after they are handed over (records are views into them).
 */
import { CaptureError } from '../errors.ts'

/**
 * A format reader: yields record bodies, or a number n meaning "hold n bytes for me"; it is
 * resumed with true when they are held, false when the stream ended first.
 */
export type FormatReader<T> = Generator<T | number, void, boolean>

export class ChunkQueue {
  private readonly it: AsyncIterator<Uint8Array>
  private chunks: Uint8Array[] = []
  /** Bytes of chunks[0] already consumed. */
  private head = 0
  private ended = false
  /** Bytes held and not yet consumed. */
  available = 0
  /** Bytes consumed since the start of the stream. */
  position = 0

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]()
  }

  /** Pull chunks until `n` bytes are held; false when the stream ends first. */
  async fill(n: number): Promise<boolean> {
    while (this.available < n) {
      if (this.ended) return false
      const r = await this.it.next()
      if (r.done === true) {
        this.ended = true
        return false
      }
      const c: unknown = r.value
      if (!(c instanceof Uint8Array)) {
        throw new CaptureError(`capture chunks must be Uint8Array, got ${typeof c}`, {
          hint: 'open the stream without an encoding (no `encoding` option, no setEncoding)',
        })
      }
      if (c.length === 0) continue
      // A plain Uint8Array view (a Buffer stays shared, not copied), so records are uniform.
      this.chunks.push(c.constructor === Uint8Array ? c : new Uint8Array(c.buffer, c.byteOffset, c.length))
      this.available += c.length
    }
    return true
  }

  /** Take `n` held bytes (call fill first): a view when they lie in one chunk, else a copy. */
  take(n: number): Uint8Array {
    if (n > this.available) throw new RangeError(`take(${n}) with ${this.available} held`)
    this.available -= n
    this.position += n
    const first = this.chunks[0]
    if (n === 0 || first === undefined) return new Uint8Array(0)
    const left = first.length - this.head
    if (n <= left) {
      const v = first.subarray(this.head, this.head + n)
      this.head += n
      if (this.head === first.length) this.dropFirst()
      return v
    }
    const out = new Uint8Array(n)
    let o = 0
    while (o < n) {
      const c = this.chunks[0]!
      const k = Math.min(n - o, c.length - this.head)
      out.set(c.subarray(this.head, this.head + k), o)
      o += k
      this.head += k
      if (this.head === c.length) this.dropFirst()
    }
    return out
  }

  /** Look at `n` held bytes without consuming them (small headers only: may copy). */
  peek(n: number): Uint8Array {
    if (n > this.available) throw new RangeError(`peek(${n}) with ${this.available} held`)
    const first = this.chunks[0]
    if (first === undefined) return new Uint8Array(0)
    if (n <= first.length - this.head) return first.subarray(this.head, this.head + n)
    const out = new Uint8Array(n)
    let o = 0
    let h = this.head
    for (let i = 0; o < n; i++) {
      const c = this.chunks[i]!
      const k = Math.min(n - o, c.length - h)
      out.set(c.subarray(h, h + k), o)
      o += k
      h = 0
    }
    return out
  }

  /** Everything held (at the end of the stream: the tail of a truncated record). */
  takeAll(): Uint8Array {
    return this.take(this.available)
  }

  /** Discard up to `n` held bytes without keeping them; returns how many were discarded. */
  skipHeld(n: number): number {
    let skipped = 0
    while (skipped < n && this.available > 0) {
      const c = this.chunks[0]!
      const k = Math.min(n - skipped, c.length - this.head)
      this.head += k
      this.available -= k
      this.position += k
      skipped += k
      if (this.head === c.length) this.dropFirst()
    }
    return skipped
  }

  /** Stop the source early (the consumer left the loop). */
  async close(): Promise<void> {
    this.chunks = []
    this.available = 0
    if (!this.ended) {
      this.ended = true
      await this.it.return?.()
    }
  }

  private dropFirst(): void {
    this.chunks.shift()
    this.head = 0
  }
}
