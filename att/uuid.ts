/**
 * UUIDs as the Attribute Protocol and GATT use them (Core v5.4 Vol 3 Part B 2.5.1 "UUID",
 * Vol 3 Part F 3.2.1 "Attribute type").
 *
 * One type in the API: `Uuid`, a string in the canonical 128-bit form, lowercase, most
 * significant octet first, with dashes: "0000180d-0000-1000-8000-00805f9b34fb". 16- and 32-bit
 * UUIDs are aliases of 128-bit ones on the Bluetooth Base UUID
 * 00000000-0000-1000-8000-00805F9B34FB (the alias is the top 32 bits), so comparing two
 * canonical strings compares the UUIDs, whatever size they were written in.
 *
 * On the wire UUIDs are little-endian, 2, 4 or 16 octets. ATT carries only 2 or 16: a 32-bit
 * UUID is sent as its 128-bit form (Part F 3.2.1), which `uuidToAttBytes` does.
 *
 * The ATT PDU specs (att/pdu.ts) keep UUIDs in their *wire form* so a decoded PDU re-encodes to
 * the same octets: "2902" for a 16-bit UUID on the wire, the dashed 128-bit string for 16 octets
 * (`uuidFromWire` / `uuidToWire`). `parseUuid` accepts those strings too.
 */
import { DecodeError, HcikitError } from '../hci/errors.ts'

/** A UUID in canonical form: "0000180d-0000-1000-8000-00805f9b34fb". */
export type Uuid = string

const BASE_SUFFIX = '-0000-1000-8000-00805f9b34fb'
const CANONICAL = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** A string or number that is not a UUID. */
export class UuidError extends HcikitError {
  override name = 'UuidError'
  constructor(input: unknown, reason: string) {
    super('UUID_INVALID', 'usage', `${describe(input)} is not a UUID: ${reason}`, {
      hint: 'write a UUID as "180d", "0x180D", 0x180d, "0000180d", or 128-bit with or without dashes',
    })
  }
}

function describe(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v)
}

function fromShort(n: number): Uuid {
  return `${n.toString(16).padStart(8, '0')}${BASE_SUFFIX}`
}

/**
 * Parse a UUID written as a 16-bit number (0x180d), a 16- or 32-bit hex string ("180d", "0x180D",
 * "0000180d"), or a 128-bit hex string with or without dashes, in any case. Throws UuidError.
 */
export function parseUuid(input: string | number): Uuid {
  if (typeof input === 'number') {
    if (!Number.isInteger(input) || input < 0 || input > 0xffffffff) {
      throw new UuidError(input, 'a number must be an integer 0..0xFFFFFFFF (a 16- or 32-bit UUID)')
    }
    return fromShort(input)
  }
  if (typeof input !== 'string') throw new UuidError(input, 'expected a string or a number')
  const s = input.trim().toLowerCase()
  if (CANONICAL.test(s)) return s
  const hex = s.startsWith('0x') ? s.slice(2) : s
  if (hex === '') throw new UuidError(input, 'it is empty')
  if (!/^[0-9a-f]+$/.test(hex.replace(/-/g, '')))
    throw new UuidError(input, 'it has characters other than hex digits and dashes')
  if (hex.includes('-')) {
    throw new UuidError(input, 'a dashed UUID must be 8-4-4-4-12 hex digits')
  }
  if (hex.length === 4 || hex.length === 8) return fromShort(parseInt(hex, 16))
  if (hex.length === 32) {
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
  }
  throw new UuidError(input, `${hex.length} hex digits; a UUID has 4 (16-bit), 8 (32-bit) or 32 (128-bit)`)
}

/** True when `s` is already in canonical form. */
export function isCanonicalUuid(s: unknown): s is Uuid {
  return typeof s === 'string' && CANONICAL.test(s)
}

/** The same UUID, written in any of the forms parseUuid accepts. Throws UuidError on bad input. */
export function uuidEquals(a: string | number, b: string | number): boolean {
  return parseUuid(a) === parseUuid(b)
}

/** The 16-bit alias of a UUID on the Base UUID (0x180d), or undefined. */
export function uuid16(u: Uuid): number | undefined {
  if (!u.endsWith(BASE_SUFFIX) || !u.startsWith('0000')) return undefined
  return parseInt(u.slice(4, 8), 16)
}

/** The 32-bit alias (including 16-bit ones) of a UUID on the Base UUID, or undefined. */
export function uuid32(u: Uuid): number | undefined {
  if (!u.endsWith(BASE_SUFFIX)) return undefined
  return parseInt(u.slice(0, 8), 16)
}

/** The shortest way to write it: "180d", "12345678", or the canonical 128-bit string. */
export function shortUuid(u: Uuid): string {
  const v16 = uuid16(u)
  if (v16 !== undefined) return v16.toString(16).padStart(4, '0')
  const v32 = uuid32(u)
  if (v32 !== undefined) return v32.toString(16).padStart(8, '0')
  return u
}

/**
 * Little-endian octets of a UUID. `size` defaults to the shortest form (2 for a 16-bit alias, 4
 * for a 32-bit alias, else 16); asking for a size the UUID has no alias of throws UuidError.
 */
export function uuidToBytes(u: Uuid, size?: 2 | 4 | 16): Uint8Array {
  const c = isCanonicalUuid(u) ? u : parseUuid(u)
  const v16 = uuid16(c)
  const v32 = uuid32(c)
  const n = size ?? (v16 !== undefined ? 2 : v32 !== undefined ? 4 : 16)
  if (n === 2 || n === 4) {
    const v = n === 2 ? v16 : v32
    if (v === undefined) throw new UuidError(u, `it has no ${n * 8}-bit alias (it is not on the Bluetooth Base UUID)`)
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) out[i] = (v >>> (8 * i)) & 0xff
    return out
  }
  if (n !== 16) throw new UuidError(u, `size ${String(size)}: a UUID is 2, 4 or 16 octets`)
  const hex = c.replace(/-/g, '')
  const out = new Uint8Array(16)
  for (let i = 0; i < 16; i++) out[15 - i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}

/** Octets of a UUID as ATT carries it: 2 for a 16-bit alias, else 16 (32-bit ones widened). */
export function uuidToAttBytes(u: Uuid): Uint8Array {
  const c = isCanonicalUuid(u) ? u : parseUuid(u)
  return uuidToBytes(c, uuid16(c) !== undefined ? 2 : 16)
}

/** A UUID from 2, 4 or 16 little-endian octets. Never throws: other lengths give a DecodeError. */
export function decodeUuid(b: Uint8Array, field = 'uuid'): Uuid | DecodeError {
  if (b.length === 2) return fromShort(b[0]! | (b[1]! << 8))
  if (b.length === 4) return fromShort((b[0]! | (b[1]! << 8) | (b[2]! << 16)) + b[3]! * 0x1000000)
  if (b.length !== 16) return new DecodeError(field, 0, `${b.length} octets: a UUID has 2, 4 or 16`)
  let s = ''
  for (let i = 15; i >= 0; i--) s += b[i]!.toString(16).padStart(2, '0')
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`
}

// ---------------------------------------------------------------------------------------------
// Wire forms, used by the ATT PDU specs: the string says how many octets the UUID had.

/** "2800" for 2 octets; the dashed 128-bit string for 16; plain hex for other lengths. */
export function uuidFromWire(b: Uint8Array): string {
  let s = ''
  for (let i = b.length - 1; i >= 0; i--) s += b[i]!.toString(16).padStart(2, '0')
  if (b.length !== 16) return s
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`
}

/**
 * The octets of a wire-form UUID string: 4 hex digits (optionally "0x") give 2 octets, 32 hex
 * digits (dashes ignored) give 16. Throws RangeError otherwise (an encoder's error).
 */
export function uuidToWire(s: string, field = 'uuid'): Uint8Array {
  const hex = s.replace(/-/g, '').replace(/^0x/i, '')
  if (!/^[0-9a-f]+$/i.test(hex) || (hex.length !== 4 && hex.length !== 32)) {
    throw new RangeError(`${field}: ${JSON.stringify(s)} is not a 16-bit or 128-bit UUID`)
  }
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[out.length - 1 - i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}

// ---------------------------------------------------------------------------------------------
// The GATT attribute types and GATT service/characteristic UUIDs this stack itself needs
// (Assigned Numbers 3.5-3.8, Core v5.4 Vol 3 Part G 3 and 7).

export const GattUuid = {
  PrimaryService: fromShort(0x2800),
  SecondaryService: fromShort(0x2801),
  Include: fromShort(0x2802),
  Characteristic: fromShort(0x2803),
  ExtendedProperties: fromShort(0x2900),
  UserDescription: fromShort(0x2901),
  ClientCharacteristicConfiguration: fromShort(0x2902),
  ServerCharacteristicConfiguration: fromShort(0x2903),
  PresentationFormat: fromShort(0x2904),
  AggregateFormat: fromShort(0x2905),
  GapService: fromShort(0x1800),
  GattService: fromShort(0x1801),
  DeviceName: fromShort(0x2a00),
  Appearance: fromShort(0x2a01),
  ServiceChanged: fromShort(0x2a05),
  ClientSupportedFeatures: fromShort(0x2b29),
  DatabaseHash: fromShort(0x2b2a),
  ServerSupportedFeatures: fromShort(0x2b3a),
} as const
