/**
 * The controller's own cryptography, with node:crypto (the controller may not use the host's
 * gap/ code: docs/ARCHITECTURE.md's layer rule): the security function e, AES-128 as LE Encrypt
 * applies it (Core v5.4 Vol 3 Part H 2.2.1; Vol 4 Part E 7.8.22), with parameters little-endian
 * (least significant octet first) as on HCI.
 */
import { createCipheriv } from 'node:crypto'

/** AES-128 as the LE Encrypt command applies it: parameters are little-endian (LSO first). */
export function leEncrypt(keyLe: Uint8Array, plaintextLe: Uint8Array): Uint8Array {
  const key = Uint8Array.from(keyLe).reverse()
  const pt = Uint8Array.from(plaintextLe).reverse()
  const c = createCipheriv('aes-128-ecb', key, null)
  c.setAutoPadding(false)
  const out = new Uint8Array(Buffer.concat([c.update(pt), c.final()]))
  return out.reverse()
}

/**
 * The random address hash function ah (Vol 3 Part H 2.2.2): ah(k, r) = e(k, r') mod 2^24, r' the
 * 24-bit `r` padded with 104 zero bits on the most significant side. `irkLe` as on HCI (LSO first).
 */
export function ah(irkLe: Uint8Array, r: number): number {
  const rLe = new Uint8Array(16)
  rLe[0] = r & 0xff
  rLe[1] = (r >> 8) & 0xff
  rLe[2] = (r >> 16) & 0xff
  const out = leEncrypt(irkLe, rLe)
  return out[0]! | (out[1]! << 8) | (out[2]! << 16)
}
