/**
 * Out-of-band data for LE Secure Connections (Core v5.4 Vol 3 Part H 2.3.5.6.4): a random r and
 * the confirm value C = f4(PKx, PKx, r, 0) over our public key, handed to the peer by some other
 * channel (NFC, a QR code, a file). The pairing that follows must use the same key pair, so the
 * data carries it (`PairingConfig.oob.local`). The legacy OOB data is just a shared 16-octet TK.
 */
import { randomBytes } from 'node:crypto'
import { f4 } from './crypto.ts'
import { generateKeyPair, type P256KeyPair } from './p256.ts'
import type { ScOobData } from './pairing-types.ts'

export function createScOobData(
  keyPair: P256KeyPair = generateKeyPair(),
  random: (n: number) => Uint8Array = (n) => new Uint8Array(randomBytes(n)),
): ScOobData {
  const r = random(16)
  return { keyPair, r, confirm: f4(keyPair.publicKey.x, keyPair.publicKey.x, r, 0) }
}
