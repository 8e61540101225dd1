/**
 * AES-CMAC (RFC 4493), the MAC behind the GATT Database Hash (Core v5.4 Vol 3 Part G 7.3.1)
 * and the LE Secure Connections functions (Vol 3 Part H 2.2.5-2.2.11).
 *
 * Octet order is RFC 4493's: key, message and MAC are octet strings, first octet first. The
 * Bluetooth functions that define their inputs as numbers (most significant octet first) and
 * the places where a result is sent little-endian do their own reversing; this file does none.
 *
 * Built on node:crypto: AES-128 in ECB mode for one block (the subkeys) and CBC with a zero IV
 * over the whole message (the CBC-MAC), so a long message costs one cipher call.
 */
import { createCipheriv } from 'node:crypto'

const BLOCK = 16
const ZERO = new Uint8Array(BLOCK)
/** R_b of RFC 4493 2.3 (the constant for 128-bit blocks). */
const RB = 0x87

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== BLOCK) {
    throw new RangeError(`AES-128 key: expected 16 octets, got ${key instanceof Uint8Array ? key.length : typeof key}`)
  }
}

/** AES-128 encryption of one 16-octet block (Core v5.4 Vol 3 Part H 2.2.1, security function e). */
export function aes128(key: Uint8Array, block: Uint8Array): Uint8Array {
  checkKey(key)
  if (block.length !== BLOCK) throw new RangeError(`AES-128 block: expected 16 octets, got ${block.length}`)
  const c = createCipheriv('aes-128-ecb', key, null)
  c.setAutoPadding(false)
  return new Uint8Array(c.update(block))
}

/** Left shift of a 128-bit string by one bit (RFC 4493 2.3). */
function shiftLeft(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(BLOCK)
  for (let i = 0; i < BLOCK; i++) out[i] = ((b[i]! << 1) | (i + 1 < BLOCK ? b[i + 1]! >>> 7 : 0)) & 0xff
  return out
}

/** The subkeys K1 and K2 (RFC 4493 2.3, Generate_Subkey). */
export function cmacSubkeys(key: Uint8Array): [Uint8Array, Uint8Array] {
  const l = aes128(key, ZERO)
  const k1 = shiftLeft(l)
  if (l[0]! & 0x80) k1[BLOCK - 1]! ^= RB
  const k2 = shiftLeft(k1)
  if (k1[0]! & 0x80) k2[BLOCK - 1]! ^= RB
  return [k1, k2]
}

/** AES-CMAC of `message` under a 16-octet `key` (RFC 4493 2.4): 16 octets. */
export function aesCmac(key: Uint8Array, message: Uint8Array): Uint8Array {
  checkKey(key)
  const [k1, k2] = cmacSubkeys(key)
  const n = Math.max(1, Math.ceil(message.length / BLOCK))
  const complete = message.length > 0 && message.length % BLOCK === 0
  // The message with its last block replaced by M_last (RFC 4493 2.4 step 4).
  const m = new Uint8Array(n * BLOCK)
  m.set(message)
  const last = (n - 1) * BLOCK
  if (!complete) m[message.length] = 0x80
  const sub = complete ? k1 : k2
  for (let i = 0; i < BLOCK; i++) m[last + i]! ^= sub[i]!
  const c = createCipheriv('aes-128-cbc', key, ZERO)
  c.setAutoPadding(false)
  const out = c.update(m)
  return new Uint8Array(out.subarray(out.length - BLOCK))
}
