/**
 * The GATT Database Hash (Core v5.4 Vol 3 Part G 7.3 and 7.3.1; worked example in Appendix B).
 *
 *   Database Hash = AES-CMAC_k(m), k = 0 (128 zero bits)
 *
 * where m is the concatenation, in ascending handle order, of these attributes' fields, each
 * field little-endian as on the wire:
 *   - Attribute Handle, Attribute Type and Attribute Value of every Primary Service (0x2800),
 *     Secondary Service (0x2801), Include (0x2802), Characteristic (0x2803) declaration and
 *     Characteristic Extended Properties descriptor (0x2900);
 *   - Attribute Handle and Attribute Type (no value) of every Characteristic User Description
 *     (0x2901), Client Characteristic Configuration (0x2902), Server Characteristic
 *     Configuration (0x2903), Characteristic Presentation Format (0x2904) and Characteristic
 *     Aggregate Format (0x2905) descriptor.
 * Every other attribute (characteristic values, other descriptors) takes no part, so values may
 * change freely without changing the hash; any change of structure changes it.
 *
 * Byte order of the result. The CMAC output is printed in Appendix B most significant octet
 * first ("F1CA2D48 ECF58BAC 8A8830BB B9FBA990" for the example database); `databaseHash` returns
 * it in that order. Table 7.8 types the characteristic value as uint128, and characteristic
 * values are little-endian unless the characteristic says otherwise (Part G 2.4), so the value
 * a client reads (`databaseHashValue`) is that number least significant octet first. This is
 * the order the SIG's qualification tests expect (Zephyr transmits it so; BlueZ and Bumble
 * transmit the CMAC octets unreversed). A client only compares the value with one it read
 * earlier from the same server, so either order works for caching.
 */
import { aesCmac } from './cmac.ts'
import { uuid16 } from './uuid.ts'
import type { Uuid } from './uuid.ts'

/** Types hashed with their value. */
const WITH_VALUE: ReadonlySet<number> = new Set([0x2800, 0x2801, 0x2802, 0x2803, 0x2900])
/** Types hashed by handle and type only. */
const WITHOUT_VALUE: ReadonlySet<number> = new Set([0x2901, 0x2902, 0x2903, 0x2904, 0x2905])

export interface HashedAttribute {
  readonly handle: number
  readonly type: Uuid
  /** Needed for the types hashed with their value. */
  readonly value?: Uint8Array | undefined
}

/** Whether an attribute of this type takes part in the hash, and how. */
export function hashRole(type: Uuid): 'value' | 'type' | undefined {
  const t = uuid16(type)
  if (t === undefined) return undefined
  return WITH_VALUE.has(t) ? 'value' : WITHOUT_VALUE.has(t) ? 'type' : undefined
}

/** The message m of Part G 7.3.1 for attributes in ascending handle order. */
export function databaseHashInput(attributes: Iterable<HashedAttribute>): Uint8Array {
  const parts: Uint8Array[] = []
  let length = 0
  let previous = 0
  for (const a of attributes) {
    if (a.handle <= previous) throw new RangeError(`database hash: handle 0x${a.handle.toString(16)} does not ascend`)
    previous = a.handle
    const role = hashRole(a.type)
    if (role === undefined) continue
    const value = role === 'value' ? a.value : undefined
    if (role === 'value' && value === undefined) {
      throw new RangeError(`database hash: attribute 0x${a.handle.toString(16)} needs its value`)
    }
    const t = uuid16(a.type)!
    const p = new Uint8Array(4 + (value?.length ?? 0))
    p[0] = a.handle & 0xff
    p[1] = a.handle >>> 8
    p[2] = t & 0xff
    p[3] = t >>> 8
    if (value) p.set(value, 4)
    parts.push(p)
    length += p.length
  }
  const m = new Uint8Array(length)
  let at = 0
  for (const p of parts) {
    m.set(p, at)
    at += p.length
  }
  return m
}

const ZERO_KEY = new Uint8Array(16)

/** The Database Hash, most significant octet first (as the specification prints it). */
export function databaseHash(attributes: Iterable<HashedAttribute>): Uint8Array {
  return aesCmac(ZERO_KEY, databaseHashInput(attributes))
}

/** The Database Hash characteristic value for a hash: the uint128, least significant octet first. */
export function databaseHashValue(hash: Uint8Array): Uint8Array {
  if (hash.length !== 16) throw new RangeError(`database hash: expected 16 octets, got ${hash.length}`)
  return hash.slice().reverse()
}
