/**
 * What a completed pairing yields (Core v5.4 Vol 3 Part H 2.4): the method and strength, the keys
 * from phase 3, and, when both sides asked for bonding, the bond to keep (gap/smp/keys.ts).
 *
 * With Secure Connections the LTK both sides derived is the bond's key in both directions (EDIV 0
 * and Rand 0: none are distributed, 2.4.2.3). The bond is filed under the peer's identity
 * address when it sent one, else under the address it paired from.
 */
import type { Bond, DeviceAddress, LongTermKey } from './keys.ts'
import type { Negotiated } from './features.ts'
import type { PairingKeys, PairingResult } from './pairing-types.ts'
import { isAuthenticated } from './method.ts'

export function pairingResult(
  n: Negotiated,
  linkKey: Uint8Array,
  distributed: PairingKeys,
  peer: DeviceAddress,
  now: number,
): PairingResult {
  const { choice, keySize, bonding } = n
  const authenticated = isAuthenticated(choice.method)
  const keys: PairingKeys = { ...distributed }
  if (choice.secureConnections) {
    const ltk: LongTermKey = {
      key: linkKey.slice(),
      ediv: 0,
      rand: new Uint8Array(8),
      keySize,
      authenticated,
      secureConnections: true,
    }
    keys.peerLtk = ltk
    keys.localLtk = { ...ltk, key: ltk.key.slice(), rand: ltk.rand.slice() }
  }
  const result: PairingResult = {
    method: choice.method,
    secureConnections: choice.secureConnections,
    keySize,
    authenticated,
    bonded: bonding,
    keys,
  }
  if (bonding) result.bond = bondOf(keys, peer, now)
  return result
}

function bondOf(keys: PairingKeys, peer: DeviceAddress, now: number): Bond {
  const bond: Bond = { peer: { ...(keys.identityAddress ?? peer) }, createdAt: now }
  const id = keys.identityAddress
  if (id && (id.address !== peer.address || id.type !== peer.type)) bond.pairedFrom = { ...peer }
  if (keys.irk) bond.irk = keys.irk
  if (keys.csrk) bond.csrk = keys.csrk
  if (keys.peerLtk) bond.peerLtk = keys.peerLtk
  if (keys.localLtk) bond.localLtk = keys.localLtk
  return bond
}
