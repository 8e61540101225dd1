/**
 * The vocabulary of the pairing state machine (gap/smp/session.ts): what the application
 * configures (Core v5.4 Vol 3 Part H 2.3: IO capability, bonding, MITM, Secure Connections, key
 * sizes, OOB data), the actions the machine asks its owner to carry out (send a PDU, show a
 * passkey, start encryption, ...) and what a completed pairing yields.
 *
 * The machine is pure: PDUs and user answers go in through its methods, actions come out through
 * one callback. The owner (gap/ on a real link, a test harness between two machines) carries the
 * actions out and feeds the results back (`encryptionChanged` after the HCI Encryption Change).
 */
import type { Clock } from '../../hci/host.ts'
import type { SmpError } from './errors.ts'
import type { Bond, DeviceAddress, LongTermKey } from './keys.ts'
import type { IoCapability, PairingFeatures, PairingMethod } from './method.ts'
import type { P256KeyPair } from './p256.ts'
import type { AttemptGate } from './throttle.ts'

/** The initiator is the central of the link, the responder the peripheral (2.3). */
export type SmpRole = 'initiator' | 'responder'

/** Our LE Secure Connections OOB data (2.3.5.6.4): handed to the peer out of band; binds our key pair. */
export interface ScOobData {
  keyPair: P256KeyPair
  /** The random value r, 16 octets wire order. */
  r: Uint8Array
  /** The confirm value C = f4(PKx, PKx, r, 0), 16 octets wire order. */
  confirm: Uint8Array
}

/** The peer's LE Secure Connections OOB data, as received out of band. */
export interface PeerOobData {
  r: Uint8Array
  confirm: Uint8Array
}

export interface PairingConfig {
  /** Our IO capability (default 'noInputNoOutput'). */
  io?: IoCapability
  /** Ask for bonding: keys are distributed and kept (default true). */
  bonding?: boolean
  /** Require MITM protection: Just Works is refused (default false). */
  mitm?: boolean
  /** Ask for MITM protection (the AuthReq bit) without requiring it: Just Works stays acceptable. */
  requestMitm?: boolean
  /** 'prefer' (default): SC when the peer has it; 'only': refuse legacy pairing; 'never': legacy only. */
  secureConnections?: 'prefer' | 'only' | 'never'
  /** Smallest key size accepted, 7..16 (default 16). */
  minKeySize?: number
  /** Largest key size offered, 7..16 (default 16). */
  maxKeySize?: number
  /** Our IRK and identity address, distributed when the peer asks for the identity key. */
  identity?: { irk: Uint8Array; address: DeviceAddress }
  /** Our CSRK, distributed when the peer asks for the signing key. */
  csrk?: Uint8Array
  /** Out-of-band data: the legacy TK shared with the peer, our SC OOB data, the peer's SC OOB data. */
  oob?: { tk?: Uint8Array; local?: ScOobData; peer?: PeerOobData }
  /** Accept a peer that uses the debug key pair (its pairings can be decrypted by any sniffer). Default false. */
  allowDebugKeys?: boolean
  /** Our key pair for SC (default: a fresh one per pairing; `oob.local`'s when given). */
  keyPair?: P256KeyPair
  /** Responder: ask the owner (action 'pairingRequest') before answering a Pairing Request (default false: accept). */
  askAccept?: boolean
}

export interface PairingLink {
  role: SmpRole
  /** The addresses used on the link (the RPA when a side connected with one), for c1, f5 and f6. */
  initiatorAddress: DeviceAddress
  responderAddress: DeviceAddress
  clock: Clock
  /** Random octets (default node:crypto). */
  random?: (n: number) => Uint8Array
  /** The repeated-attempts throttle of this peer (2.3.6). */
  attempts?: AttemptGate
  /** The SMP timeout (default 30000 ms, 3.4). */
  timeout?: number
}

/** What a pairing distributed and derived (3.6), as seen from our side. */
export interface PairingKeys {
  /** The key we encrypt with as central: the peer's distributed LTK, or the SC LTK. */
  peerLtk?: LongTermKey
  /** The key we answer with as peripheral: the LTK we distributed, or the SC LTK. */
  localLtk?: LongTermKey
  /** The peer's IRK (absent when it sent none or all zeros). */
  irk?: Uint8Array
  /** The peer's identity address (Identity Address Information). */
  identityAddress?: DeviceAddress
  /** The peer's CSRK. */
  csrk?: Uint8Array
}

export interface PairingResult {
  method: PairingMethod
  secureConnections: boolean
  keySize: number
  /** MITM protection (not Just Works). */
  authenticated: boolean
  /** Both sides asked for bonding: `bond` is what to keep. */
  bonded: boolean
  keys: PairingKeys
  bond?: Bond
}

/** What the key a pairing hands over is worth (the link's security once encrypted with it). */
export interface KeyProperties {
  keySize: number
  authenticated: boolean
  secureConnections: boolean
}

export type SmpAction =
  /** Send this SMP PDU on the link's SMP channel. */
  | { type: 'send'; pdu: Uint8Array }
  /** Initiator: the peer sent a Security Request; encrypt from a bond, or call `start()` to pair. */
  | { type: 'securityRequest'; authReq: number }
  /** Responder with `askAccept`: a Pairing Request came in; answer with `accept(true | false)`. */
  | { type: 'pairingRequest'; features: PairingFeatures }
  /** Show this passkey (0..999999, six digits) to the user. */
  | { type: 'displayPasskey'; passkey: number }
  /** Ask the user for the passkey shown on the peer; answer with `passkey(n)` (or `passkey(undefined)` to refuse). */
  | { type: 'enterPasskey' }
  /** Show this number (six digits) and ask whether the peer shows the same; answer with `confirm(ok)`. */
  | { type: 'confirmNumber'; value: number }
  /** Initiator: start encryption with this key (LE Enable Encryption, EDIV 0, Rand 0), then call `encryptionChanged`. */
  | ({ type: 'startEncryption'; key: Uint8Array } & KeyProperties)
  /** Responder: answer the coming LE Long Term Key Request (EDIV 0, Rand 0) with this key. */
  | ({ type: 'encryptionKey'; key: Uint8Array } & KeyProperties)
  /** The peer sent a Keypress Notification (3.5.8). */
  | { type: 'keypress'; notification: number }
  | { type: 'complete'; result: PairingResult }
  | { type: 'failed'; error: SmpError }
