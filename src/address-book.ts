/**
 * Which address connect() goes to (Core v5.4 Vol 6 Part B 1.3 device addresses; Vol 3 Part C
 * 10.8.2.3 resolving a private address; Vol 4 Part E 7.8.12 LE Create Connection needs the
 * Peer_Address_Type). The adapter's scans report every advertisement here: the type each address
 * was last seen with, and for a bonded device that advertises from a resolvable private address,
 * the private address its identity was last seen at.
 *
 * A target is an advertisement (address and type as heard), an address with its type (used as
 * given), or an address alone: a bonded identity goes to the private address it was last seen
 * with, an address seen before gets its type from that scan, and anything else is looked for with
 * a scan (src/address-lookup.ts) inside the caller's timeout. Both memories are bounded (the 1000
 * most recent addresses).
 */
import type { AddressType, PeerAddress } from '../gap/connections.ts'
import type { DeviceAddress } from '../gap/smp/keys.ts'
import { AddressLookup, type LookupScan } from './address-lookup.ts'
import { ParameterError } from './errors.ts'
import type { Advertisement } from './scan-options.ts'

/** A device to connect to: an advertisement, an address, or an address with its type. */
export type ConnectTarget = Advertisement | string | { address: string; addressType?: AddressType }

const ADDRESS = /^([0-9A-F]{2}:){5}[0-9A-F]{2}$/
const REMEMBERED = 1000

export class AddressBook {
  /** Lookups of addresses of unknown type; the adapter tells it when a scan of the user's runs. */
  readonly lookup: AddressLookup
  /** Address -> the type it was last seen advertising with. */
  private readonly types = new Map<string, AddressType>()
  /** Identity address -> the private address it was last seen advertising from. */
  private readonly identities = new Map<string, PeerAddress>()

  constructor(scan: LookupScan) {
    this.lookup = new AddressLookup(scan)
  }

  /** A scan heard `address` (resolved to `identity` by one of our bonds, when it did). */
  remember(address: string, type: AddressType, identity?: DeviceAddress): void {
    keep(this.types, address, type)
    if (identity) keep(this.identities, identity.address, { address, type })
    this.lookup.seen(address, type)
    // A lookup of the identity address is answered by its private address (see peerOf).
    if (identity) this.lookup.seen(identity.address, identity.type)
  }

  /** The address and type to connect to; an address of unknown type is looked for with a scan. */
  async peerOf(target: ConnectTarget, signal: AbortSignal, timeout: number): Promise<PeerAddress> {
    if (typeof target !== 'string' && 'ad' in target) return { address: target.address, type: target.addressType }
    const address = (typeof target === 'string' ? target : target.address).trim().toUpperCase()
    if (!ADDRESS.test(address))
      throw new ParameterError(`'${address}' is not a device address (write it as AA:BB:CC:DD:EE:FF)`)
    const given = typeof target === 'string' ? undefined : target.addressType
    if (given) return { address, type: given }
    const known = this.identities.get(address)
    if (known) return known
    const type = this.types.get(address)
    if (type) return { address, type }
    const found = await this.lookup.find(address, signal, timeout)
    return this.identities.get(address) ?? { address, type: found }
  }
}

/** Set `key` as the most recent entry, dropping the oldest beyond REMEMBERED. */
function keep<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key)
  map.set(key, value)
  if (map.size > REMEMBERED) map.delete(map.keys().next().value!)
}

/**
 * The identity of an advertiser whose private address the controller itself resolved from its
 * resolving list: the report then carries the identity with Address_Type 0x02 (public identity) or
 * 0x03 (random static identity) (Core v5.4 Vol 4 Part E 7.7.65.2), and the RPA stays in the
 * controller.
 */
export function identityOfReport(ad: Advertisement): DeviceAddress | undefined {
  if (ad.rawAddressType !== 0x02 && ad.rawAddressType !== 0x03) return undefined
  return { address: ad.address, type: ad.rawAddressType === 0x02 ? 'public' : 'random' }
}

/** A peer as unpair() takes it, as the key store looks it up: an address, or an address with its type. */
export function bondTarget(
  peer: string | { address: string; addressType?: 'public' | 'random' },
): string | DeviceAddress {
  if (typeof peer === 'string') return peer
  return peer.addressType ? { address: peer.address, type: peer.addressType } : peer.address
}
