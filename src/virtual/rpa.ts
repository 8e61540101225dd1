/**
 * Resolvable private addresses (Core v5.4 Vol 6 Part B 1.3.2.2 generation, 1.3.2.3 resolution):
 * prand (the 24 most significant bits: 0b01 in its two top bits, the 22 others random, neither all
 * 0 nor all 1) and hash = ah(IRK, prand) (the 24 least significant bits). An all-zero IRK means
 * "no IRK" (Vol 4 Part E 7.8.38): it neither generates nor resolves anything.
 */
import { ah } from './crypto.ts'

const hex2 = (n: number): string => n.toString(16).padStart(2, '0').toUpperCase()

/** "AA:BB:CC:DD:EE:FF" of a 48-bit address given as prand (MSB side) and hash. */
function format(prand: number, hash: number): string {
  return [prand >> 16, (prand >> 8) & 0xff, prand & 0xff, hash >> 16, (hash >> 8) & 0xff, hash & 0xff]
    .map(hex2)
    .join(':')
}

/** The 48-bit address as two 24-bit halves, or undefined if it is not "XX:XX:XX:XX:XX:XX". */
function halves(address: string): { prand: number; hash: number } | undefined {
  const m = /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/i.exec(address)
  if (!m) return undefined
  const b = m.slice(1).map((x) => parseInt(x, 16))
  return { prand: (b[0]! << 16) | (b[1]! << 8) | b[2]!, hash: (b[3]! << 16) | (b[4]! << 8) | b[5]! }
}

/** Is this IRK "none" (all zeros)? */
export function zeroIrk(irk: Uint8Array): boolean {
  return irk.every((b) => b === 0)
}

/** Is (address, type) a resolvable private address (random, top bits 0b01)? */
export function isRpa(address: string, type: number): boolean {
  if (type !== 1) return false
  const h = halves(address)
  return h !== undefined && h.prand >> 22 === 0b01
}

/** A new RPA for `irk`; `random()` in [0, 1) draws the 22 random bits of prand. */
export function makeRpa(irk: Uint8Array, random: () => number): string {
  let r = Math.floor(random() * 0x40_0000)
  if (r === 0 || r === 0x3f_ffff) r = 0x15_5555 // neither all zeros nor all ones (1.3.2.2)
  const prand = 0x40_0000 | r
  return format(prand, ah(irk, prand))
}

/** Does the RPA `address` resolve with `irk` (1.3.2.3)? */
export function resolves(irk: Uint8Array, address: string): boolean {
  if (zeroIrk(irk)) return false
  const h = halves(address)
  return h !== undefined && h.prand >> 22 === 0b01 && ah(irk, h.prand) === h.hash
}
