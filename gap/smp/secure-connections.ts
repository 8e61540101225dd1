/**
 * LE Secure Connections pairing, phase 2 (Core v5.4 Vol 3 Part H 2.3.5.6): the public key
 * exchange (2.3.5.6.1), authentication stage 1 by Just Works / Numeric Comparison (2.3.5.6.2),
 * Passkey Entry (2.3.5.6.3, gap/smp/sc-passkey.ts) or OOB (2.3.5.6.4), then stage 2: the LTK
 * and MacKey from f5 and the DHKey checks Ea and Eb from f6 (2.3.5.6.5).
 *
 *   initiator (A)                               responder (B)
 *   Pairing Public Key (PKa)           ->
 *                                      <-       Pairing Public Key (PKb)
 *   stage 1 (by method, below)
 *   Pairing DHKey Check (Ea)           ->       checks Ea (after the user confirmed, in NC)
 *                                      <-       Pairing DHKey Check (Eb)
 *   checks Eb; LTK                              LTK
 *
 * Just Works / Numeric Comparison stage 1: B sends Cb = f4(PKbx, PKax, Nb, 0); A sends Na; B
 * sends Nb; A checks Cb; in NC both show g2(PKax, PKbx, Na, Nb) and the users confirm.
 * OOB stage 1: a side holding the peer's OOB data checks C = f4(PKx, PKx, r, 0) against the key
 * it received; then A sends Na and B sends Nb.
 *
 * The peer's public key is checked on the curve before anything is computed with it (CVE-2018-
 * 5383): a key off the curve, or our own key sent back, fails with DHKey Check Failed; the debug
 * key fails with Authentication Requirements unless `allowDebugKeys`.
 */
import { f4, f5, f6, g2, comparisonValue } from './crypto.ts'
import { SmpError } from './errors.ts'
import {
  PairingConfirm,
  PairingDhKeyCheck,
  PairingPublicKey,
  PairingRandom,
  SmpReason,
  isSmpPdu,
  type SmpPdu,
} from './pdu.ts'
import { isDebugPublicKey, isOnCurve, sameKey, type P256KeyPair, type P256PublicKey } from './p256.ts'
import {
  address56,
  ioCap,
  sameValue,
  type PairingContext,
  type Phase,
  type Stage1,
  type Stage1Result,
} from './context.ts'
import { ScPasskey } from './sc-passkey.ts'

const ZERO16: Uint8Array = new Uint8Array(16)

export class ScPhase implements Phase {
  private readonly own: P256KeyPair
  private peerKey: P256PublicKey | undefined
  private dhKey: Uint8Array | undefined
  private readonly stage1: Stage1
  /** Set when stage 1 is over: the values f6 needs, and the LTK. */
  private checks: { ea: Uint8Array; eb: Uint8Array; ltk: Uint8Array } | undefined
  /** Responder: Ea received while the user had not yet confirmed. */
  private pendingEa: Uint8Array | undefined
  private done = false

  constructor(private readonly ctx: PairingContext) {
    this.own = ctx.keyPair()
    const finish = (r: Stage1Result): void => this.stage2(r)
    this.stage1 =
      ctx.choice.method === 'passkey'
        ? new ScPasskey(ctx, finish)
        : ctx.choice.method === 'oob'
          ? new ScOob(ctx, finish)
          : new ScCompare(ctx, finish)
  }

  begin(): void {
    this.stage1.prepare()
    if (this.ctx.role === 'initiator') this.sendKey()
  }

  passkey(value: number): void {
    this.stage1.passkey(value)
  }

  confirm(ok: boolean): void {
    this.stage1.confirm(ok)
  }

  receive(p: SmpPdu): void {
    if (this.done) throw unexpected(p)
    if (isSmpPdu(p, PairingPublicKey) && !this.peerKey) {
      this.peerPublicKey({ x: p.params.publicKeyX.slice(), y: p.params.publicKeyY.slice() })
      return
    }
    if (isSmpPdu(p, PairingDhKeyCheck)) {
      this.dhKeyCheck(p.params.dhKeyCheck.slice(), p)
      return
    }
    if (this.dhKey && !this.checks && this.stage1.receive(p)) return
    throw unexpected(p)
  }

  private sendKey(): void {
    const { x, y } = this.own.publicKey
    this.ctx.send(PairingPublicKey, { publicKeyX: x, publicKeyY: y })
  }

  private peerPublicKey(key: P256PublicKey): void {
    if (!isOnCurve(key)) {
      throw SmpError.local(SmpReason.DhKeyCheckFailed, "the peer's public key is not a point of P-256 (CVE-2018-5383)")
    }
    if (sameKey(key, this.own.publicKey)) {
      throw SmpError.local(SmpReason.DhKeyCheckFailed, 'the peer sent our own public key back')
    }
    if (isDebugPublicKey(key) && !this.ctx.config.allowDebugKeys) {
      throw SmpError.local(
        SmpReason.AuthenticationRequirements,
        'the peer uses the debug key pair (its pairing can be decrypted by anyone); allowDebugKeys accepts it',
      )
    }
    this.peerKey = key
    this.dhKey = this.own.dhKey(key)
    if (this.ctx.role === 'responder') this.sendKey()
    const pka = this.ctx.role === 'initiator' ? this.own.publicKey : key
    const pkb = this.ctx.role === 'initiator' ? key : this.own.publicKey
    this.stage1.start({ pka, pkb })
  }

  private dhKeyCheck(value: Uint8Array, p: SmpPdu): void {
    if (this.ctx.role === 'initiator') {
      if (!this.checks) throw unexpected(p)
      if (!sameValue(value, this.checks.eb))
        throw SmpError.local(SmpReason.DhKeyCheckFailed, "the responder's DHKey check Eb does not match")
      this.finish()
      return
    }
    if (this.checks) {
      this.checkEa(value)
      return
    }
    if (this.stage1.waitingForUser && !this.pendingEa) {
      this.pendingEa = value
      return
    }
    throw unexpected(p)
  }

  private checkEa(ea: Uint8Array): void {
    if (!sameValue(ea, this.checks!.ea))
      throw SmpError.local(SmpReason.DhKeyCheckFailed, "the initiator's DHKey check Ea does not match")
    this.ctx.send(PairingDhKeyCheck, { dhKeyCheck: this.checks!.eb })
    this.finish()
  }

  private stage2(r: Stage1Result): void {
    const a = address56(this.ctx.initiator)
    const b = address56(this.ctx.responder)
    const { macKey, ltk } = f5(this.dhKey!, r.na, r.nb, a, b)
    const ea = f6(macKey, r.na, r.nb, r.rb, ioCap(this.ctx.req), a, b)
    const eb = f6(macKey, r.nb, r.na, r.ra, ioCap(this.ctx.rsp), b, a)
    this.checks = { ea, eb, ltk }
    if (this.ctx.role === 'initiator') this.ctx.send(PairingDhKeyCheck, { dhKeyCheck: ea })
    else if (this.pendingEa) this.checkEa(this.pendingEa)
  }

  private finish(): void {
    this.done = true
    this.ctx.keyReady(this.checks!.ltk)
  }
}

function unexpected(p: SmpPdu): SmpError {
  return SmpError.local(SmpReason.UnspecifiedReason, `${p.name} was not expected now (Secure Connections pairing)`)
}

/** Just Works and Numeric Comparison (2.3.5.6.2). */
class ScCompare implements Stage1 {
  private keys: { pka: P256PublicKey; pkb: P256PublicKey } | undefined
  private readonly own: Uint8Array
  private cb: Uint8Array | undefined
  private peerNonce: Uint8Array | undefined
  private sentRandom = false
  private user: 'none' | 'asked' | 'done' = 'none'

  constructor(
    private readonly ctx: PairingContext,
    private readonly finish: (r: Stage1Result) => void,
  ) {
    this.own = ctx.random(16)
  }

  get waitingForUser(): boolean {
    return this.user === 'asked'
  }

  prepare(): void {}

  start(keys: { pka: P256PublicKey; pkb: P256PublicKey }): void {
    this.keys = keys
    if (this.ctx.role === 'responder') {
      this.ctx.send(PairingConfirm, { confirmValue: f4(keys.pkb.x, keys.pka.x, this.own, 0) })
    }
  }

  receive(p: SmpPdu): boolean {
    const initiator = this.ctx.role === 'initiator'
    if (isSmpPdu(p, PairingConfirm) && initiator && !this.cb) {
      this.cb = p.params.confirmValue.slice()
      this.ctx.send(PairingRandom, { randomValue: this.own })
      this.sentRandom = true
      return true
    }
    if (isSmpPdu(p, PairingRandom) && !this.peerNonce && (initiator ? this.sentRandom : true)) {
      this.peerNonce = p.params.randomValue.slice()
      if (initiator) {
        if (!sameValue(f4(this.keys!.pkb.x, this.keys!.pka.x, this.peerNonce, 0), this.cb!)) {
          throw SmpError.local(SmpReason.ConfirmValueFailed, "the responder's confirm value does not match its nonce")
        }
      } else this.ctx.send(PairingRandom, { randomValue: this.own })
      this.compare()
      return true
    }
    return false
  }

  passkey(): void {
    throw new SmpError('SMP_INVALID_STATE', 'no passkey was asked for')
  }

  confirm(ok: boolean): void {
    if (this.user !== 'asked') throw new SmpError('SMP_INVALID_STATE', 'no number comparison was asked for')
    if (!ok) throw SmpError.local(SmpReason.NumericComparisonFailed, 'the user said the numbers differ')
    this.user = 'done'
    this.done()
  }

  private compare(): void {
    if (this.ctx.choice.method !== 'numericComparison') {
      this.done()
      return
    }
    const { na, nb } = this.nonces()
    this.user = 'asked'
    this.ctx.emit({ type: 'confirmNumber', value: comparisonValue(g2(this.keys!.pka.x, this.keys!.pkb.x, na, nb)) })
  }

  private nonces(): { na: Uint8Array; nb: Uint8Array } {
    return this.ctx.role === 'initiator' ? { na: this.own, nb: this.peerNonce! } : { na: this.peerNonce!, nb: this.own }
  }

  private done(): void {
    this.finish({ ...this.nonces(), ra: ZERO16, rb: ZERO16 })
  }
}

/** Out of band (2.3.5.6.4). */
class ScOob implements Stage1 {
  private readonly own: Uint8Array
  private started = false
  private gotRandom = false
  private ra: Uint8Array = ZERO16
  private rb: Uint8Array = ZERO16

  constructor(
    private readonly ctx: PairingContext,
    private readonly finish: (r: Stage1Result) => void,
  ) {
    this.own = ctx.random(16)
  }

  readonly waitingForUser = false

  prepare(): void {
    const { req, rsp, role, config } = this.ctx
    const peerHasOurs = (role === 'initiator' ? rsp : req).oobDataFlag === 1
    if (peerHasOurs && !config.oob?.local) {
      throw SmpError.local(SmpReason.OobNotAvailable, 'the peer holds OOB data of ours, and we have none')
    }
  }

  start(keys: { pka: P256PublicKey; pkb: P256PublicKey }): void {
    const { req, rsp, role, config } = this.ctx
    const weHaveTheirs = (role === 'initiator' ? req : rsp).oobDataFlag === 1
    const peerHasOurs = (role === 'initiator' ? rsp : req).oobDataFlag === 1
    const peerKey = role === 'initiator' ? keys.pkb : keys.pka
    let theirR: Uint8Array = ZERO16
    if (weHaveTheirs) {
      const peer = config.oob?.peer
      if (!peer) throw SmpError.local(SmpReason.OobNotAvailable, 'no OOB data of the peer')
      if (!sameValue(f4(peerKey.x, peerKey.x, peer.r, 0), peer.confirm)) {
        throw SmpError.local(SmpReason.ConfirmValueFailed, "the peer's OOB confirm value does not match its public key")
      }
      theirR = peer.r
    }
    const ourR = peerHasOurs ? config.oob!.local!.r : ZERO16
    ;[this.ra, this.rb] = role === 'initiator' ? [ourR, theirR] : [theirR, ourR]
    this.started = true
    if (role === 'initiator') this.ctx.send(PairingRandom, { randomValue: this.own })
  }

  receive(p: SmpPdu): boolean {
    if (!isSmpPdu(p, PairingRandom) || !this.started || this.gotRandom) return false
    this.gotRandom = true
    const peer = p.params.randomValue.slice()
    if (this.ctx.role === 'responder') this.ctx.send(PairingRandom, { randomValue: this.own })
    const [na, nb] = this.ctx.role === 'initiator' ? [this.own, peer] : [peer, this.own]
    this.finish({ na, nb, ra: this.ra, rb: this.rb })
    return true
  }

  passkey(): void {
    throw new SmpError('SMP_INVALID_STATE', 'no passkey was asked for')
  }

  confirm(): void {
    throw new SmpError('SMP_INVALID_STATE', 'no number comparison was asked for')
  }
}
