/**
 * Cursor codecs over Uint8Array (ARCHITECTURE.md, house style 2).
 *
 * All multi-octet fields of HCI, L2CAP, ATT and SMP are little-endian (Core v5.4 Vol 4 Part E
 * 5.2, Vol 3 Part A 3). A `Reader` checks every read against the end of its window and throws a
 * `DecodeError` naming the field; public decoders catch it and return it as a value. Reads of
 * byte ranges return views (`subarray`), never copies.
 */
import { DecodeError } from './errors.ts'

export class Reader {
  offset: number
  readonly end: number

  constructor(
    readonly buf: Uint8Array,
    offset = 0,
    end = buf.length,
  ) {
    this.offset = offset
    this.end = Math.min(end, buf.length)
  }

  get remaining(): number {
    return this.end - this.offset
  }

  need(n: number, field: string): void {
    if (n < 0 || this.offset + n > this.end) {
      throw new DecodeError(
        field,
        this.offset,
        `needs ${n} byte${n === 1 ? '' : 's'}, only ${Math.max(0, this.end - this.offset)} left`,
      )
    }
  }

  u8(field: string): number {
    this.need(1, field)
    return this.buf[this.offset++]!
  }

  i8(field: string): number {
    const v = this.u8(field)
    return v > 127 ? v - 256 : v
  }

  u16(field: string): number {
    this.need(2, field)
    const b = this.buf
    const o = this.offset
    this.offset = o + 2
    return b[o]! | (b[o + 1]! << 8)
  }

  u24(field: string): number {
    this.need(3, field)
    const b = this.buf
    const o = this.offset
    this.offset = o + 3
    return b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)
  }

  u32(field: string): number {
    this.need(4, field)
    const b = this.buf
    const o = this.offset
    this.offset = o + 4
    return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000
  }

  /** A view of the next `n` bytes. */
  bytes(n: number, field: string): Uint8Array {
    this.need(n, field)
    const v = this.buf.subarray(this.offset, this.offset + n)
    this.offset += n
    return v
  }

  /** A view of everything left in the window. */
  rest(): Uint8Array {
    const v = this.buf.subarray(this.offset, this.end)
    this.offset = this.end
    return v
  }
}

export class Writer {
  private buf: Uint8Array
  length = 0

  constructor(capacity = 64) {
    this.buf = new Uint8Array(capacity)
  }

  private grow(n: number): void {
    if (this.length + n <= this.buf.length) return
    let cap = this.buf.length * 2
    while (cap < this.length + n) cap *= 2
    const next = new Uint8Array(cap)
    next.set(this.buf.subarray(0, this.length))
    this.buf = next
  }

  private check(v: number, max: number, field: string): void {
    if (!Number.isInteger(v) || v < 0 || v > max) {
      throw new RangeError(`${field}: ${v} does not fit (expected an integer 0..${max})`)
    }
  }

  u8(v: number, field = 'u8'): this {
    this.check(v, 0xff, field)
    this.grow(1)
    this.buf[this.length++] = v
    return this
  }

  i8(v: number, field = 'i8'): this {
    if (!Number.isInteger(v) || v < -128 || v > 127) {
      throw new RangeError(`${field}: ${v} does not fit (expected an integer -128..127)`)
    }
    return this.u8(v & 0xff)
  }

  u16(v: number, field = 'u16'): this {
    this.check(v, 0xffff, field)
    this.grow(2)
    this.buf[this.length++] = v & 0xff
    this.buf[this.length++] = v >>> 8
    return this
  }

  u24(v: number, field = 'u24'): this {
    this.check(v, 0xffffff, field)
    this.grow(3)
    this.buf[this.length++] = v & 0xff
    this.buf[this.length++] = (v >>> 8) & 0xff
    this.buf[this.length++] = v >>> 16
    return this
  }

  u32(v: number, field = 'u32'): this {
    this.check(v, 0xffffffff, field)
    this.grow(4)
    this.buf[this.length++] = v & 0xff
    this.buf[this.length++] = (v >>> 8) & 0xff
    this.buf[this.length++] = (v >>> 16) & 0xff
    this.buf[this.length++] = v >>> 24
    return this
  }

  bytes(v: Uint8Array): this {
    this.grow(v.length)
    this.buf.set(v, this.length)
    this.length += v.length
    return this
  }

  /** Overwrite a byte already written (for length prefixes known only afterwards). */
  patchU8(at: number, v: number): void {
    this.buf[at] = v
  }

  patchU16(at: number, v: number): void {
    this.buf[at] = v & 0xff
    this.buf[at + 1] = v >>> 8
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.length)
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

export function toHex(b: Uint8Array): string {
  let s = ''
  for (let i = 0; i < b.length; i++) s += HEX[b[i]!]
  return s
}

export function fromHex(s: string): Uint8Array {
  const clean = s.replace(/[\s:]/g, '')
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) {
    throw new RangeError(`not a hex string: ${JSON.stringify(s)}`)
  }
  const out = new Uint8Array(clean.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16)
  return out
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
