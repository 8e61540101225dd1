/**
 * The cryptographic toolbox of the Security Manager (Core v5.4 Vol 3 Part H 2.2): the security
 * function e (2.2.1), the legacy confirm and key generation functions c1 (2.2.3) and s1 (2.2.4),
 * the random address hash ah (2.2.2), and the LE Secure Connections functions f4 (2.2.6), f5
 * (2.2.7), f6 (2.2.8), g2 (2.2.9), h6 (2.2.10) and h7 (2.2.11), all built on AES-128 and
 * AES-CMAC (att/cmac.ts, RFC 4493).
 *
 * Octet order. The spec defines these functions on numbers written most significant octet first;
 * SMP PDUs and HCI carry the same numbers least significant octet first. Every argument and every
 * result here is in the order of the wire (least significant octet first), as the PDU decoder
 * yields it (gap/smp/pdu.ts), so keys, random values and confirm values go from a PDU into these
 * functions and back without reversing at the call site. A Pairing Request or Response (`preq`,
 * `pres`) is its 7 octets as sent; an address is its 6 octets as sent. The reversing to the spec's
 * order happens here, once, next to the definition it serves.
 */
import { aes128, aesCmac } from '../../att/cmac.ts'
import { fromHex } from '../../hci/wire.ts'

/** A copy of `b` with its octets in the opposite order. */
export function reversed(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length)
  for (let i = 0; i < b.length; i++) out[i] = b[b.length - 1 - i]!
  return out
}

function need(name: string, b: Uint8Array, n: number): void {
  if (!(b instanceof Uint8Array) || b.length !== n) {
    throw new RangeError(`${name}: expected ${n} octets, got ${b instanceof Uint8Array ? b.length : typeof b}`)
  }
}

function xor16(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(16)
  for (let i = 0; i < 16; i++) out[i] = a[i]! ^ b[i]!
  return out
}

/**
 * AES-CMAC with a key and a message given as wire-order parts, most significant part first (the
 * order the spec writes the concatenation in); the MAC comes back in wire order.
 */
function cmac(keyLe: Uint8Array, ...partsMsbFirst: Uint8Array[]): Uint8Array {
  const length = partsMsbFirst.reduce((n, p) => n + p.length, 0)
  const message = new Uint8Array(length)
  let at = 0
  for (const p of partsMsbFirst) {
    for (let i = p.length - 1; i >= 0; i--) message[at++] = p[i]!
  }
  return reversed(aesCmac(reversed(keyLe), message))
}

/** Security function e (2.2.1): AES-128 of a 16-octet block under a 16-octet key, wire order in and out. */
export function e(key: Uint8Array, plaintext: Uint8Array): Uint8Array {
  need('e key', key, 16)
  need('e plaintext', plaintext, 16)
  return reversed(aes128(reversed(key), reversed(plaintext)))
}

/** An address type octet as c1 takes it (2.2.3: iat'/rat' are 0x00 public, 0x01 random). */
export type AddressTypeBit = 0 | 1

/**
 * Confirm value generation for LE legacy pairing (2.2.3):
 * c1(k, r, preq, pres, iat, rat, ia, ra) = e(k, e(k, r XOR p1) XOR p2), where
 * p1 = pres || preq || rat' || iat' and p2 = padding || ia || ra.
 */
export function c1(
  k: Uint8Array,
  r: Uint8Array,
  preq: Uint8Array,
  pres: Uint8Array,
  iat: AddressTypeBit,
  ia: Uint8Array,
  rat: AddressTypeBit,
  ra: Uint8Array,
): Uint8Array {
  need('c1 k', k, 16)
  need('c1 r', r, 16)
  need('c1 preq', preq, 7)
  need('c1 pres', pres, 7)
  need('c1 ia', ia, 6)
  need('c1 ra', ra, 6)
  // Wire order: the least significant octet first, so the spec's last field comes first.
  const p1 = new Uint8Array(16)
  p1[0] = iat & 1
  p1[1] = rat & 1
  p1.set(preq, 2)
  p1.set(pres, 9)
  const p2 = new Uint8Array(16)
  p2.set(ra, 0)
  p2.set(ia, 6)
  return e(k, xor16(e(k, xor16(r, p1)), p2))
}

/** Key generation for LE legacy pairing (2.2.4): STK = s1(TK, Srand, Mrand) = e(k, r1' || r2'). */
export function s1(k: Uint8Array, r1: Uint8Array, r2: Uint8Array): Uint8Array {
  need('s1 k', k, 16)
  need('s1 r1', r1, 16)
  need('s1 r2', r2, 16)
  // r1' (the low 64 bits of r1) is the most significant half, r2' the least significant.
  const r = new Uint8Array(16)
  r.set(r2.subarray(0, 8), 0)
  r.set(r1.subarray(0, 8), 8)
  return e(k, r)
}

/** Random address hash (2.2.2): ah(k, r) = e(k, padding || r) mod 2^24; r and the hash are 3 octets. */
export function ah(k: Uint8Array, r: Uint8Array): Uint8Array {
  need('ah k', k, 16)
  need('ah r', r, 3)
  const block = new Uint8Array(16)
  block.set(r, 0)
  return e(k, block).slice(0, 3)
}

/** LE SC confirm value (2.2.6): f4(U, V, X, Z) = AES-CMAC_X(U || V || Z); U, V 32 octets, X 16, Z one octet. */
export function f4(u: Uint8Array, v: Uint8Array, x: Uint8Array, z: number): Uint8Array {
  need('f4 U', u, 32)
  need('f4 V', v, 32)
  need('f4 X', x, 16)
  return cmac(x, u, v, Uint8Array.of(z & 0xff))
}

/** SALT of f5 (2.2.7), wire order. */
const F5_SALT = reversed(fromHex('6c888391aaf5a53860370bdb5a6083be'))
/** keyID "btle" of f5 (2.2.7), wire order. */
const F5_KEY_ID = Uint8Array.of(0x65, 0x6c, 0x74, 0x62)
/** Length 256 of f5 (2.2.7), wire order. */
const F5_LENGTH = Uint8Array.of(0x00, 0x01)

/**
 * LE SC key generation (2.2.7): f5(W, N1, N2, A1, A2) gives MacKey and LTK. W is the 32-octet
 * DHKey, N1/N2 16-octet nonces, A1/A2 7-octet addresses (the 6 address octets as sent, then the
 * address type octet: the type is the most significant octet).
 */
export function f5(
  w: Uint8Array,
  n1: Uint8Array,
  n2: Uint8Array,
  a1: Uint8Array,
  a2: Uint8Array,
): { macKey: Uint8Array; ltk: Uint8Array } {
  need('f5 W', w, 32)
  need('f5 N1', n1, 16)
  need('f5 N2', n2, 16)
  need('f5 A1', a1, 7)
  need('f5 A2', a2, 7)
  const t = cmac(F5_SALT, w)
  const one = (counter: number): Uint8Array => cmac(t, Uint8Array.of(counter), F5_KEY_ID, n1, n2, a1, a2, F5_LENGTH)
  return { macKey: one(0), ltk: one(1) }
}

/**
 * LE SC check value (2.2.8): f6(W, N1, N2, R, IOcap, A1, A2) = AES-CMAC_W(N1 || N2 || R || IOcap
 * || A1 || A2). IOcap is 3 octets: IO capability, OOB data flag, AuthReq (wire order, so AuthReq,
 * the most significant, is last).
 */
export function f6(
  w: Uint8Array,
  n1: Uint8Array,
  n2: Uint8Array,
  r: Uint8Array,
  ioCap: Uint8Array,
  a1: Uint8Array,
  a2: Uint8Array,
): Uint8Array {
  need('f6 W', w, 16)
  need('f6 N1', n1, 16)
  need('f6 N2', n2, 16)
  need('f6 R', r, 16)
  need('f6 IOcap', ioCap, 3)
  need('f6 A1', a1, 7)
  need('f6 A2', a2, 7)
  return cmac(w, n1, n2, r, ioCap, a1, a2)
}

/** LE SC numeric comparison value (2.2.9): g2(U, V, X, Y) = AES-CMAC_X(U || V || Y) mod 2^32. */
export function g2(u: Uint8Array, v: Uint8Array, x: Uint8Array, y: Uint8Array): number {
  need('g2 U', u, 32)
  need('g2 V', v, 32)
  need('g2 X', x, 16)
  need('g2 Y', y, 16)
  const mac = cmac(x, u, v, y)
  return (mac[0]! | (mac[1]! << 8) | (mac[2]! << 16) | (mac[3]! << 24)) >>> 0
}

/** The 6 decimal digits shown for numeric comparison (2.3.5.6.2): g2's value mod 10^6. */
export function comparisonValue(g2Value: number): number {
  return g2Value % 1_000_000
}

function keyIdOctets(keyId: string): Uint8Array {
  if (!/^[\x20-\x7e]{4}$/.test(keyId))
    throw new RangeError(`keyID: expected 4 ASCII characters, got ${JSON.stringify(keyId)}`)
  // "lebr" is the number 0x6c656272: its first character is the most significant octet.
  return Uint8Array.of(keyId.charCodeAt(3), keyId.charCodeAt(2), keyId.charCodeAt(1), keyId.charCodeAt(0))
}

/** Link key conversion (2.2.10): h6(W, keyID) = AES-CMAC_W(keyID); keyID as 4 ASCII characters ("lebr"). */
export function h6(w: Uint8Array, keyId: string): Uint8Array {
  need('h6 W', w, 16)
  return cmac(w, keyIdOctets(keyId))
}

/** Link key conversion with a salt (2.2.11): h7(SALT, W) = AES-CMAC_SALT(W). */
export function h7(salt: Uint8Array, w: Uint8Array): Uint8Array {
  need('h7 SALT', salt, 16)
  need('h7 W', w, 16)
  return cmac(salt, w)
}

/**
 * The key cut to the negotiated size (2.3.4): the `size` least significant octets kept, the
 * others zero. A copy.
 */
export function maskKey(key: Uint8Array, size: number): Uint8Array {
  need('key', key, 16)
  if (!Number.isInteger(size) || size < 7 || size > 16) throw new RangeError(`key size: expected 7..16, got ${size}`)
  const out = key.slice()
  out.fill(0, size)
  return out
}
