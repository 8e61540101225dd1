/**
 * What a pairing's phase 2 (Core v5.4 Vol 3 Part H 2.3.5: legacy in gap/smp/legacy.ts, Secure
 * Connections in gap/smp/secure-connections.ts) sees of its session: the exchanged features, the
 * chosen method, the link's addresses, and a way to send PDUs, ask the user and hand over the key
 * that encrypts the link. A phase reports a failure by throwing an SmpError (`SmpError.local`):
 * the session sends Pairing Failed with its reason and ends the pairing.
 *
 * Also the passkey helpers both phases share (2.3.5.3, 2.3.5.6.3).
 */
import type { SmpPduSpec, SmpParams, SmpPdu } from './pdu.ts'
import type { MethodChoice, PairingFeatures, PasskeyRole } from './method.ts'
import type { PairingConfig, SmpAction, SmpRole } from './pairing-types.ts'
import type { P256KeyPair, P256PublicKey } from './p256.ts'
import type { DeviceAddress } from './keys.ts'
import { addressOctets } from '../privacy.ts'

export interface PairingContext {
  readonly role: SmpRole
  readonly config: PairingConfig
  /** The Pairing Request and Response as decoded, and as their 7 octets on the wire. */
  readonly req: PairingFeatures
  readonly rsp: PairingFeatures
  readonly preq: Uint8Array
  readonly pres: Uint8Array
  readonly choice: MethodChoice
  readonly initiator: DeviceAddress
  readonly responder: DeviceAddress
  /** The key pair for Secure Connections. */
  keyPair(): P256KeyPair
  random(n: number): Uint8Array
  send<S extends SmpPduSpec<any>>(spec: S, params: SmpParams<S>): void
  emit(action: SmpAction): void
  /** Phase 2 is over: this key (STK or SC LTK, not yet cut to size) encrypts the link. */
  keyReady(key: Uint8Array): void
}

/** What a phase 2 implements: PDUs and user answers in. */
export interface Phase {
  begin(): void
  receive(p: SmpPdu): void
  passkey(value: number): void
  confirm(ok: boolean): void
}

/** Secure Connections stage 1 delivers the nonces and the r values f6 takes (2.3.5.6.5). */
export interface Stage1Result {
  na: Uint8Array
  nb: Uint8Array
  ra: Uint8Array
  rb: Uint8Array
}

/** One authentication stage 1 method, driven by the ScPhase. */
export interface Stage1 {
  /** At the start of phase 2 (before the keys are exchanged): show or ask for a passkey. */
  prepare(): void
  /** The public keys are exchanged. */
  start(keys: { pka: P256PublicKey; pkb: P256PublicKey }): void
  /** A Pairing Confirm or Pairing Random; false when this stage does not expect it now. */
  receive(p: SmpPdu): boolean
  passkey(value: number): void
  confirm(ok: boolean): void
  /** True once the randoms are exchanged and only the user's answer is missing (NC). */
  readonly waitingForUser: boolean
}

/** The Passkey Entry role of the local side ('display' or 'input'), for a passkey method. */
export function localPasskeyRole(ctx: PairingContext): PasskeyRole {
  const roles = ctx.choice.passkey
  if (!roles) throw new Error('not a passkey method')
  return ctx.role === 'initiator' ? roles.initiator : roles.responder
}

/** A uniformly drawn passkey 0..999999 (2.3.5.3: "a random value"). */
export function randomPasskey(random: (n: number) => Uint8Array): number {
  const limit = 4_294_000_000 // the largest multiple of 10^6 below 2^32
  for (;;) {
    const b = random(4)
    const v = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0
    if (v < limit) return v % 1_000_000
  }
}

/** The passkey as a 128-bit value in wire order (legacy TK, 2.3.5.3; SC ra/rb, 2.3.5.6.3). */
export function passkeyValue(passkey: number): Uint8Array {
  const out = new Uint8Array(16)
  out[0] = passkey & 0xff
  out[1] = (passkey >>> 8) & 0xff
  out[2] = (passkey >>> 16) & 0xff
  out[3] = (passkey >>> 24) & 0xff
  return out
}

/** Starts passkey entry for the local side: shows a new passkey (returned) or asks for one (undefined). */
export function beginPasskey(ctx: PairingContext): number | undefined {
  if (localPasskeyRole(ctx) === 'display') {
    const passkey = randomPasskey((n) => ctx.random(n))
    ctx.emit({ type: 'displayPasskey', passkey })
    return passkey
  }
  ctx.emit({ type: 'enterPasskey' })
  return undefined
}

/** An address as f5 and f6 take it (2.2.7): 6 octets wire order, then the type octet (0 public, 1 random). */
export function address56(a: DeviceAddress): Uint8Array {
  const out = new Uint8Array(7)
  out.set(addressOctets(a.address), 0)
  out[6] = a.type === 'random' ? 1 : 0
  return out
}

/** IOcap as f6 takes it (2.2.8): IO capability, OOB data flag, AuthReq, in wire order. */
export function ioCap(f: PairingFeatures): Uint8Array {
  return Uint8Array.of(f.ioCapability, f.oobDataFlag, f.authReq)
}

/** Constant-time comparison of two values of the same length. */
export function sameValue(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let d = 0
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!
  return d === 0
}
