/**
 * Resolvable private addresses (Core v5.4 Vol 6 Part B 1.3.2.2 and 1.3.2.3; Vol 3 Part C 10.8):
 * making one from an IRK, recognising the kinds of random address, and resolving an address
 * against the IRKs of our bonds.
 *
 * A random device address is classified by its two most significant bits (Vol 6 Part B 1.3.2):
 * 11 static, 01 resolvable private, 00 non-resolvable private. A resolvable private address is
 * `prand (24 bits, most significant) || hash (24 bits)` with hash = ah(IRK, prand) (Vol 3 Part H
 * 2.2.2); prand's two top bits are 01 and the random part is neither all zeros nor all ones.
 * Resolving recomputes the hash with each known IRK (Vol 6 Part B 1.3.2.3).
 *
 * Addresses are "AA:BB:CC:DD:EE:FF" strings, most significant octet first, as everywhere in the API.
 */
import { randomBytes } from 'node:crypto'
import { ah } from './smp/crypto.ts'

export type RandomAddressKind = 'static' | 'resolvable' | 'nonResolvable' | 'reserved'

/** The 6 octets of an address in wire order (least significant first); RangeError when it is not one. */
export function addressOctets(address: string): Uint8Array {
  const m = /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/i.exec(address)
  if (!m) throw new RangeError(`${JSON.stringify(address)} is not an address like AA:BB:CC:DD:EE:FF`)
  const out = new Uint8Array(6)
  for (let i = 0; i < 6; i++) out[i] = parseInt(m[6 - i]!, 16)
  return out
}

/** Wire-order octets -> "AA:BB:CC:DD:EE:FF". */
export function addressString(octets: Uint8Array): string {
  if (octets.length !== 6) throw new RangeError(`an address has 6 octets, got ${octets.length}`)
  const parts: string[] = []
  for (let i = 5; i >= 0; i--) parts.push(octets[i]!.toString(16).padStart(2, '0').toUpperCase())
  return parts.join(':')
}

/** What kind of random address this is (by its two most significant bits). */
export function randomAddressKind(address: string): RandomAddressKind {
  switch (addressOctets(address)[5]! >> 6) {
    case 0b11:
      return 'static'
    case 0b01:
      return 'resolvable'
    case 0b00:
      return 'nonResolvable'
    default:
      return 'reserved'
  }
}

/** True for a random address whose top bits say "resolvable private". */
export function isResolvablePrivateAddress(address: string): boolean {
  return randomAddressKind(address) === 'resolvable'
}

/**
 * A new resolvable private address from `irk` (16 octets, wire order). `random` supplies octets
 * (default node:crypto); prand is drawn again until its random part is neither all 0 nor all 1.
 */
export function generateRpa(irk: Uint8Array, random: (n: number) => Uint8Array = defaultRandom): string {
  for (;;) {
    const prand = random(3).slice(0, 3)
    prand[2] = (prand[2]! & 0x3f) | 0x40
    const part = prand[0]! | prand[1]! | (prand[2]! & 0x3f)
    const all = prand[0]! & prand[1]! & (prand[2]! | 0xc0)
    if (part === 0 || all === 0xff) continue
    const out = new Uint8Array(6)
    out.set(ah(irk, prand), 0)
    out.set(prand, 3)
    return addressString(out)
  }
}

/** True when `address` is a resolvable private address made from `irk`. */
export function resolvesWith(address: string, irk: Uint8Array): boolean {
  const o = addressOctets(address)
  if (o[5]! >> 6 !== 0b01) return false
  const hash = ah(irk, o.subarray(3, 6))
  return hash[0] === o[0] && hash[1] === o[1] && hash[2] === o[2]
}

/**
 * The first of `candidates` whose IRK resolves `address`, or undefined. Works for anything with
 * an `irk` (bonds, resolving list entries).
 */
export function resolveRpa<T extends { irk?: Uint8Array | undefined }>(
  address: string,
  candidates: Iterable<T>,
): T | undefined {
  if (!isResolvablePrivateAddress(address)) return undefined
  for (const c of candidates) if (c.irk && resolvesWith(address, c.irk)) return c
  return undefined
}

/** A new static random address (Vol 6 Part B 1.3.2.1): top bits 11, the rest neither all 0 nor all 1. */
export function generateStaticAddress(random: (n: number) => Uint8Array = defaultRandom): string {
  for (;;) {
    const o = random(6).slice(0, 6)
    o[5] = o[5]! | 0xc0
    const rest = [o[0]!, o[1]!, o[2]!, o[3]!, o[4]!, o[5]! & 0x3f]
    if (rest.every((b) => b === 0) || rest.every((b, i) => b === (i === 5 ? 0x3f : 0xff))) continue
    return addressString(o)
  }
}

function defaultRandom(n: number): Uint8Array {
  return new Uint8Array(randomBytes(n))
}
