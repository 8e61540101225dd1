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
