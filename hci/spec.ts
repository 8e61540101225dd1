/**
 * Field kinds and the packet-spec builders (ARCHITECTURE.md, house style 1).
 *
 * A packet's parameters are declared once as a `struct` of field kinds; encoding, decoding and
 * pretty-printing are derived from that one declaration. Parameter layout follows Core v5.4
 * Vol 4 Part E 5.2 (little-endian; arrays interleaved per element, as controllers send them and
 * as BlueZ and Wireshark read them).
 *
 * A kind's `decode` receives the object decoded so far, so a field may depend on an earlier one
 * (per-PHY parameter blocks selected by a PHY bitmask, counts carried in an earlier field).
 */
import { DecodeError } from './errors.ts'
import { statusName } from './constants.ts'
import { Reader, Writer, toHex } from './wire.ts'

const HEX_UPPER = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0').toUpperCase())

export interface Kind<T> {
  readonly kind: string
  decode(r: Reader, field: string, soFar: Record<string, unknown>): T
  encode(w: Writer, v: T, field: string, whole: Record<string, unknown>): void
  format?(v: T): string
}

export type KindValue<K> = K extends Kind<infer T> ? T : never
export type Fields = Record<string, Kind<any>>
export type StructValue<F extends Fields> = { [K in keyof F]: KindValue<F[K]> }

function uint(kind: string, size: 1 | 2 | 3 | 4): Kind<number> {
  return {
    kind,
    decode: (r, f) => (size === 1 ? r.u8(f) : size === 2 ? r.u16(f) : size === 3 ? r.u24(f) : r.u32(f)),
    encode: (w, v, f) => {
      if (size === 1) w.u8(v, f)
      else if (size === 2) w.u16(v, f)
      else if (size === 3) w.u24(v, f)
      else w.u32(v, f)
    },
  }
}

export const u8 = uint('u8', 1)
export const u16 = uint('u16', 2)
export const u24 = uint('u24', 3)
export const u32 = uint('u32', 4)

export const i8: Kind<number> = {
  kind: 'i8',
  decode: (r, f) => r.i8(f),
  encode: (w, v, f) => w.i8(v, f),
}

/** A little-endian signed 16-bit value (RF path compensation, IQ-report RSSI; 0.1 dB units). */
export const i16: Kind<number> = {
  kind: 'i16',
  decode: (r, f) => {
    const v = r.u16(f)
    return v > 0x7fff ? v - 0x10000 : v
  },
  encode: (w, v, f) => {
    if (!Number.isInteger(v) || v < -0x8000 || v > 0x7fff) {
      throw new RangeError(`${f}: ${v} does not fit (expected an integer -32768..32767)`)
    }
    w.u16(v & 0xffff, f)
  },
}

/** A u16 printed in hex (handles, opcodes). */
export const hex16: Kind<number> = { ...u16, kind: 'hex16', format: (v) => `0x${v.toString(16).padStart(4, '0')}` }

/** An HCI status / reason code, printed with its specification name. */
export const status: Kind<number> = { ...u8, kind: 'status', format: (v) => statusName(v) }

/** Exactly `n` bytes (a view). */
export function bytes(n: number): Kind<Uint8Array> {
  return {
    kind: `bytes(${n})`,
    decode: (r, f) => r.bytes(n, f),
    encode: (w, v, f) => {
      if (v.length !== n) throw new RangeError(`${f}: expected ${n} bytes, got ${v.length}`)
      w.bytes(v)
    },
    format: (v) => toHex(v),
  }
}

/** A u8 length followed by that many bytes. */
export const lengthPrefixed: Kind<Uint8Array> = {
  kind: 'lengthPrefixed',
  decode: (r, f) => r.bytes(r.u8(`${f}.length`), f),
  encode: (w, v, f) => {
    w.u8(v.length, `${f}.length`)
    w.bytes(v)
  },
  format: (v) => toHex(v),
}

/** Everything left in the packet. */
export const rest: Kind<Uint8Array> = {
  kind: 'rest',
  decode: (r) => r.rest(),
  encode: (w, v) => void w.bytes(v),
  format: (v) => toHex(v),
}

/**
 * A Bluetooth device address: 6 bytes little-endian on the wire, "AA:BB:CC:DD:EE:FF" (most
 * significant byte first, as printed everywhere) in the API.
 */
export const address: Kind<string> = {
  kind: 'address',
  decode: (r, f) => {
    const b = r.bytes(6, f)
    const h = HEX_UPPER
    return `${h[b[5]!]}:${h[b[4]!]}:${h[b[3]!]}:${h[b[2]!]}:${h[b[1]!]}:${h[b[0]!]}`
  },
  encode: (w, v, f) => {
    const m = /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/i.exec(v)
    if (!m) throw new RangeError(`${f}: ${JSON.stringify(v)} is not an address like AA:BB:CC:DD:EE:FF`)
    for (let i = 6; i >= 1; i--) w.u8(parseInt(m[i]!, 16))
  },
}

export interface StructKind<F extends Fields> extends Kind<StructValue<F>> {
  readonly fields: F
}

export function struct<F extends Fields>(fields: F): StructKind<F> {
  const names = Object.keys(fields)
  const kinds = names.map((n) => fields[n]!)
  // The field paths ('reports[0].address') name a field in errors; they are the same for every
  // packet of a kind, so they are built once per prefix, not once per field per packet.
  const paths = new PathCache((prefix) => names.map((n) => (prefix ? `${prefix}.${n}` : n)))
  return {
    kind: 'struct',
    fields,
    decode(r, field) {
      const out: Record<string, unknown> = {}
      const p = paths.get(field)
      for (let i = 0; i < names.length; i++) out[names[i]!] = kinds[i]!.decode(r, p[i]!, out)
      return out as StructValue<F>
    },
    encode(w, v, field) {
      const obj = v as Record<string, unknown>
      for (const name of names) {
        if (!(name in obj)) throw new RangeError(`${field ? `${field}.` : ''}${name}: missing parameter`)
        fields[name]!.encode(w, obj[name], field ? `${field}.${name}` : name, obj)
      }
    },
    format(v) {
      return names.map((n) => `${n}=${formatWith(fields[n]!, (v as Record<string, unknown>)[n])}`).join(' ')
    },
  }
}

/** Field paths by prefix, built once (bounded: the prefixes of a spec are few). */
class PathCache {
  private readonly m = new Map<string, string[]>()
  constructor(private readonly build: (prefix: string) => string[]) {}
  get(prefix: string): string[] {
    let v = this.m.get(prefix)
    if (!v) {
      v = this.build(prefix)
      if (this.m.size < 256) this.m.set(prefix, v)
    }
    return v
  }
}

/** The path of item `i` of the list at `f` ('reports[0]'), built once for the first items. */
const itemPaths = new PathCache((f) => Array.from({ length: 8 }, (_, i) => `${f}[${i}]`))
function itemPath(f: string, i: number): string {
  return i < 8 ? itemPaths.get(f)[i]! : `${f}[${i}]`
}

/** A u8 count followed by that many items (interleaved per item). */
export function list<T>(item: Kind<T>, count: Kind<number> = u8): Kind<T[]> {
  const countPaths = new PathCache((f) => [`${f}.count`])
  return {
    kind: `list(${item.kind})`,
    decode(r, f, soFar) {
      const n = count.decode(r, countPaths.get(f)[0]!, soFar)
      const out: T[] = []
      for (let i = 0; i < n; i++) out.push(item.decode(r, itemPath(f, i), soFar))
      return out
    },
    encode(w, v, f, whole) {
      count.encode(w, v.length, `${f}.count`, whole)
      v.forEach((x, i) => item.encode(w, x, `${f}[${i}]`, whole))
    },
    format: (v) => `[${v.map((x) => formatWith(item, x)).join(', ')}]`,
  }
}

/** Items whose count is given by an earlier numeric field (no prefix of its own). */
export function counted<T>(item: Kind<T>, countField: string): Kind<T[]> {
  return {
    kind: `counted(${item.kind})`,
    decode(r, f, soFar) {
      const n = Number(soFar[countField] ?? 0)
      const out: T[] = []
      for (let i = 0; i < n; i++) out.push(item.decode(r, `${f}[${i}]`, soFar))
      return out
    },
    encode(w, v, f, whole) {
      const n = Number(whole[countField] ?? 0)
      if (v.length !== n) throw new RangeError(`${f}: ${countField} says ${n} items, got ${v.length}`)
      v.forEach((x, i) => item.encode(w, x, `${f}[${i}]`, whole))
    },
    format: (v) => `[${v.map((x) => formatWith(item, x)).join(', ')}]`,
  }
}

/** One item per bit set in an earlier bitmask field (e.g. per-PHY scan or connection blocks). */
export function perBit<T>(item: Kind<T>, maskField: string): Kind<T[]> {
  const bitsOf = (mask: number): number => {
    let n = 0
    for (let m = mask; m; m &= m - 1) n++
    return n
  }
  return {
    kind: `perBit(${item.kind})`,
    decode(r, f, soFar) {
      const n = bitsOf(Number(soFar[maskField] ?? 0))
      const out: T[] = []
      for (let i = 0; i < n; i++) out.push(item.decode(r, `${f}[${i}]`, soFar))
      return out
    },
    encode(w, v, f, whole) {
      const n = bitsOf(Number(whole[maskField] ?? 0))
      if (v.length !== n) throw new RangeError(`${f}: ${maskField} has ${n} bits set, got ${v.length} items`)
      v.forEach((x, i) => item.encode(w, x, `${f}[${i}]`, whole))
    },
    format: (v) => `[${v.map((x) => formatWith(item, x)).join(', ')}]`,
  }
}

export function formatWith<T>(kind: Kind<T>, v: T): string {
  if (kind.format) return kind.format(v)
  return formatValue(v)
}

export function formatValue(v: unknown): string {
  if (v instanceof Uint8Array) return toHex(v)
  if (Array.isArray(v)) return `[${v.map(formatValue).join(', ')}]`
  if (v !== null && typeof v === 'object') {
    return `{${Object.entries(v)
      .map(([k, x]) => `${k}=${formatValue(x)}`)
      .join(' ')}}`
  }
  return String(v)
}

/** Decode a whole parameter block; never throws. Trailing bytes are kept, not lost. */
export interface Decoded<T> {
  value: T
  /** Bytes after the last declared field (a newer spec version, or a vendor extension). */
  trailing?: Uint8Array
}

export function decodeStruct<F extends Fields>(
  s: StructKind<F>,
  bytes: Uint8Array,
): Decoded<StructValue<F>> | DecodeError {
  const r = new Reader(bytes)
  try {
    const value = s.decode(r, '', {})
    return r.remaining > 0 ? { value, trailing: r.rest() } : { value }
  } catch (e) {
    if (e instanceof DecodeError) return e
    return new DecodeError('parameters', r.offset, e instanceof Error ? e.message : String(e))
  }
}

/** Encode a parameter block (throws RangeError on values that do not fit: a programming error). */
export function encodeStruct<F extends Fields>(
  s: StructKind<F>,
  value: StructValue<F>,
  trailing?: Uint8Array,
): Uint8Array {
  const w = new Writer()
  s.encode(w, value, '', value as Record<string, unknown>)
  if (trailing) w.bytes(trailing)
  return w.finish()
}

// ---------------------------------------------------------------------------------------------
// Commands (Core v5.4 Vol 4 Part E 5.4.1 and 7)

export interface CommandSpec<P extends Fields = Fields, R extends Fields = Fields> {
  readonly opcode: number
  readonly ogf: number
  readonly ocf: number
  readonly name: string
  readonly params: StructKind<P>
  /**
   * Return parameters carried by Command Complete; `undefined` for commands the controller
   * answers with Command Status (their result arrives later as an event).
   */
  readonly returns: StructKind<R> | undefined
}

export type CommandParams<C> = C extends CommandSpec<infer P, Fields> ? StructValue<P> : never
export type CommandReturn<C> = C extends CommandSpec<Fields, infer R> ? StructValue<R> : never

export function opcodeOf(ogf: number, ocf: number): number {
  return ((ogf & 0x3f) << 10) | (ocf & 0x3ff)
}

export function command<P extends Fields, R extends Fields>(
  ogf: number,
  ocf: number,
  name: string,
  params: P,
  returns?: R,
): CommandSpec<P, R> {
  return {
    opcode: opcodeOf(ogf, ocf),
    ogf,
    ocf,
    name,
    params: struct(params),
    returns: returns ? struct(returns) : undefined,
  }
}

// ---------------------------------------------------------------------------------------------
// Events (Core v5.4 Vol 4 Part E 5.4.4 and 7.7)

export interface EventSpec<P extends Fields = Fields> {
  readonly code: number
  /** LE Meta sub-event code (events with code 0x3E only). */
  readonly subevent?: number
  readonly name: string
  readonly params: StructKind<P>
}

export type EventParams<E> = E extends EventSpec<infer P> ? StructValue<P> : never

export function event<P extends Fields>(code: number, name: string, params: P): EventSpec<P> {
  return { code, name, params: struct(params) }
}

export const LE_META_EVENT = 0x3e

/** An LE Meta sub-event; its parameters start after the subevent code byte. */
export function leEvent<P extends Fields>(subevent: number, name: string, params: P): EventSpec<P> {
  return { code: LE_META_EVENT, subevent, name, params: struct(params) }
}
