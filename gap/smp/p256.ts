/**
 * P-256 for LE Secure Connections (Core v5.4 Vol 3 Part H 2.3.5.6.1, the public key exchange;
 * the curve is FIPS 186-4 P-256, Vol 2 Part H 7.6): key pairs, the Diffie-Hellman key, the check
 * that a peer's public key is a point of the curve, and the debug key pair of 2.3.5.6.1.
 *
 * The peer's key is checked on the curve before it is used (y^2 = x^3 - 3x + b mod p, both
 * coordinates below p). Without that check a peer can send a point of a small-order curve (the
 * "fixed coordinate invalid curve attack", CVE-2018-5383) and learn the DHKey; with it the key is
 * refused and the pairing fails with DHKey Check Failed (the caller's choice of reason).
 *
 * The debug key pair makes pairings decryptable by anyone with a sniffer: it is recognised
 * (`isDebugPublicKey`) so that pairing can refuse it unless the application explicitly allows it.
 *
 * Coordinates are 32 octets least significant first (as in Pairing Public Key, 3.5.6) and so is
 * the DHKey; the private key stays inside a `P256KeyPair`, which is all a caller handles.
 */
import { createECDH, type ECDH } from 'node:crypto'
import { fromHex } from '../../hci/wire.ts'
import { reversed } from './crypto.ts'
import { SmpError } from './errors.ts'

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn

/** The debug key pair (2.3.5.6.1), most significant octet first as the spec writes it. */
const DEBUG_PRIVATE = '3f49f6d4a3c55f3874c9b3e3d2103f504aff607beb40b7995899b8a6cd3c1abd'
const DEBUG_X = '20b003d2f297be2c5e2c83a7e9f9a5b9eff49111acf4fddbcc0301480e359de6'
const DEBUG_Y = 'dc809c49652aeb6d63329abf5a52155c766345c28fed3024741c8ed01589d28b'

export interface P256PublicKey {
  /** X coordinate, 32 octets, least significant first. */
  readonly x: Uint8Array
  /** Y coordinate, 32 octets, least significant first. */
  readonly y: Uint8Array
}

export interface P256KeyPair {
  readonly publicKey: P256PublicKey
  /** The shared secret with a peer's public key (the DHKey, 32 octets wire order); checks the key first. */
  dhKey(peer: P256PublicKey): Uint8Array
}

function bigFromLe(b: Uint8Array): bigint {
  let n = 0n
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!)
  return n
}

function mod(a: bigint): bigint {
  const r = a % P
  return r < 0n ? r + P : r
}

/** True when (x, y) is a point of P-256 (coordinates wire order, 32 octets each). */
export function isOnCurve(key: P256PublicKey): boolean {
  if (!(key.x instanceof Uint8Array) || !(key.y instanceof Uint8Array)) return false
  if (key.x.length !== 32 || key.y.length !== 32) return false
  const x = bigFromLe(key.x)
  const y = bigFromLe(key.y)
  if (x >= P || y >= P) return false
  return mod(y * y) === mod(x * x * x - 3n * x + B)
}

/** True when `key` is the debug public key of 2.3.5.6.1. */
export function isDebugPublicKey(key: P256PublicKey): boolean {
  return sameKey(key, DEBUG_KEY.publicKey)
}

/** True when both keys are the same point. */
export function sameKey(a: P256PublicKey, b: P256PublicKey): boolean {
  if (a.x.length !== b.x.length || a.y.length !== b.y.length) return false
  for (let i = 0; i < a.x.length; i++) if (a.x[i] !== b.x[i]) return false
  for (let i = 0; i < a.y.length; i++) if (a.y[i] !== b.y[i]) return false
  return true
}

class NodeKeyPair implements P256KeyPair {
  readonly publicKey: P256PublicKey

  constructor(private readonly ecdh: ECDH) {
    const pub = ecdh.getPublicKey() // 0x04 || X || Y, most significant first
    this.publicKey = { x: reversed(pub.subarray(1, 33)), y: reversed(pub.subarray(33, 65)) }
  }

  dhKey(peer: P256PublicKey): Uint8Array {
    if (!isOnCurve(peer)) {
      throw new SmpError('SMP_INVALID_KEY', 'the public key is not a point of P-256 (CVE-2018-5383)')
    }
    const point = new Uint8Array(65)
    point[0] = 0x04
    point.set(reversed(peer.x), 1)
    point.set(reversed(peer.y), 33)
    return reversed(this.ecdh.computeSecret(point))
  }
}

/** A fresh key pair from node:crypto's generator. */
export function generateKeyPair(): P256KeyPair {
  const ecdh = createECDH('prime256v1')
  ecdh.generateKeys()
  return new NodeKeyPair(ecdh)
}

/** The key pair of a private key given most significant octet first (the spec's sample data, tests). */
export function keyPairFromPrivate(privateKeyMsbFirst: Uint8Array): P256KeyPair {
  if (privateKeyMsbFirst.length !== 32) throw new RangeError(`P-256 private key: expected 32 octets`)
  const ecdh = createECDH('prime256v1')
  ecdh.setPrivateKey(privateKeyMsbFirst)
  return new NodeKeyPair(ecdh)
}

/** The debug key pair of 2.3.5.6.1 (for sniffable test pairings; refused from peers unless allowed). */
export const DEBUG_KEY: P256KeyPair = keyPairFromPrivate(fromHex(DEBUG_PRIVATE))

// The constant must agree with the spec's public key; a transcription error fails at load.
if (
  !sameKey(DEBUG_KEY.publicKey, { x: reversed(fromHex(DEBUG_X)), y: reversed(fromHex(DEBUG_Y)) }) ||
  !isOnCurve(DEBUG_KEY.publicKey)
) {
  throw new Error('gap/smp/p256: the debug key pair does not match its public key')
}
