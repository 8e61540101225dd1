/**
 * What the application says about pairing (Core v5.4 Vol 3 Part H 2.3: the IO capabilities and
 * requirements it declares, 2.3.5 the user's part of each method) and the security levels it
 * asks a link for (Vol 3 Part C 10.2: LE security mode 1, level 2 unauthenticated encryption,
 * level 3 authenticated encryption, level 4 authenticated LE Secure Connections with a 16-octet
 * key).
 *
 * A delegate without handlers pairs Just Works (NoInputNoOutput) and accepts every request, as a
 * headless device would. Each handler may be async; a passkey or comparison left unanswered runs
 * into the 30 s SMP timeout.
 */
import type { LinkSecurity } from '../att/l2cap/link.ts'
import type { DeviceAddress } from './smp/keys.ts'
import type { IoCapability, PairingMethod } from './smp/method.ts'
import type { PairingConfig } from './smp/pairing-types.ts'

export type { IoCapability, PairingMethod }

/** 'encrypted' (mode 1 level 2), 'authenticated' (level 3), 'secure' (level 4: authenticated SC, 16-octet key). */
export type SecurityLevel = 'encrypted' | 'authenticated' | 'secure'

export interface PairingRequestInfo {
  /** The peer (its identity address when known). */
  peer: DeviceAddress
  /** Our role on the link. */
  role: 'central' | 'peripheral'
  /** 'peer': the peer asked (Pairing Request or Security Request); 'request': a GATT request or `secure()` needs it. */
  reason: 'peer' | 'request'
}

export interface PairingDelegate {
  /** Our IO capability (default 'noInputNoOutput': Just Works). */
  io?: IoCapability
  /** Keep the keys (default true). */
  bonding?: boolean
  /** Ask for MITM protection in every pairing (default false; a level 'authenticated' asks anyway). */
  mitm?: boolean
  /** 'prefer' (default), 'only' (refuse legacy pairing), 'never' (legacy pairing only). */
  secureConnections?: 'prefer' | 'only' | 'never'
  /** Smallest encryption key size accepted, 7..16 (default 16). */
  minKeySize?: number
  /** Accept peers using the debug key pair (default false). */
  allowDebugKeys?: boolean
  /** Pair when a GATT request or `secure()` needs it and no bond does (default true). */
  autoPair?: boolean
  /** Accept or refuse a pairing (default: accept). */
  acceptPairing?(request: PairingRequestInfo): boolean | Promise<boolean>
  /** Show this passkey to the user (Passkey Entry, we display). */
  displayPasskey?(request: { peer: DeviceAddress; passkey: number }): void | Promise<void>
  /** The passkey the peer shows, typed by the user; undefined refuses (Passkey Entry, we input). */
  enterPasskey?(request: { peer: DeviceAddress }): number | undefined | Promise<number | undefined>
  /** Whether the peer shows this same number (Numeric Comparison). */
  confirmNumber?(request: { peer: DeviceAddress; value: number }): boolean | Promise<boolean>
  /**
   * Out-of-band data for a peer (asked as each pairing is set up): the legacy TK shared with it,
   * our SC OOB data handed to it (gap/smp/oob.ts createScOobData), its SC OOB data we received.
   */
  oobData?(request: { peer: DeviceAddress }): PairingConfig['oob'] | undefined
}

/** A link's security as the API shows it. */
export interface SecurityState {
  encrypted: boolean
  /** Encrypted with a key made with MITM protection. */
  authenticated: boolean
  /** The key came from LE Secure Connections. */
  secureConnections: boolean
  /** Encryption key size in octets (0 unencrypted). */
  keySize: number
  /** We hold a bond for the peer. */
  bonded: boolean
}

/** What a pairing achieved. */
export interface PairingSummary {
  method: PairingMethod
  secureConnections: boolean
  keySize: number
  authenticated: boolean
  bonded: boolean
  /** The identity address the peer sent (absent when it sent none). */
  identityAddress?: DeviceAddress
}

export function securityState(s: LinkSecurity): SecurityState {
  return {
    encrypted: s.encrypted,
    authenticated: s.encrypted && s.authenticated,
    secureConnections: s.encrypted && s.secureConnections === true,
    keySize: s.encrypted ? s.keySize : 0,
    bonded: s.bonded === true,
  }
}

/** True when the link's security reaches `level`. */
export function meetsLevel(s: LinkSecurity, level: SecurityLevel): boolean {
  if (!s.encrypted) return false
  if (level === 'encrypted') return true
  if (!s.authenticated) return false
  if (level === 'authenticated') return true
  return s.secureConnections === true && s.keySize === 16
}

/** True when a stored key of these properties reaches `level`. */
export function keyMeetsLevel(
  k: { authenticated: boolean; secureConnections: boolean; keySize: number },
  level: SecurityLevel,
): boolean {
  if (level === 'encrypted') return true
  if (!k.authenticated) return false
  return level === 'authenticated' || (k.secureConnections && k.keySize === 16)
}
