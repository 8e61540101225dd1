/**
 * LE legacy pairing, phase 2 (Core v5.4 Vol 3 Part H 2.3.5.2 to 2.3.5.5): the Temporary Key from
 * Just Works (zero), Passkey Entry (the passkey) or OOB (the shared 16 octets), the exchange of
 * confirm and random values checked with c1, and the Short Term Key s1(TK, Srand, Mrand).
 *
 *   initiator                                   responder
 *   Pairing Confirm (Mconfirm)         ->
 *                                      <-       Pairing Confirm (Sconfirm)   (once its TK is known)
 *   Pairing Random (Mrand)             ->       checks Mconfirm
 *                                      <-       Pairing Random (Srand)
 *   checks Sconfirm; STK                        STK
 *
 * A confirm value that does not match fails the pairing with Confirm Value Failed; a PDU out of
 * this order with Unspecified Reason; a passkey the user refuses with Passkey Entry Failed.
 */
import { c1, s1 } from './crypto.ts'
import { SmpError } from './errors.ts'
import { PairingConfirm, PairingRandom, SmpReason, isSmpPdu, type SmpPdu } from './pdu.ts'
import { beginPasskey, passkeyValue, sameValue, type PairingContext, type Phase } from './context.ts'
import { addressOctets } from '../privacy.ts'

type Step = 'tk' | 'confirm' | 'random' | 'done'

export class LegacyPhase implements Phase {
  private tk: Uint8Array | undefined
  private readonly ownRandom: Uint8Array
  /** The peer's confirm value, once received. */
  private peerConfirm: Uint8Array | undefined
  /** What we wait for next: our TK, the peer's confirm, the peer's random. */
  private step: Step = 'tk'

  constructor(private readonly ctx: PairingContext) {
    this.ownRandom = ctx.random(16)
  }

  begin(): void {
    const { method } = this.ctx.choice
    if (method === 'justWorks') this.tk = new Uint8Array(16)
    else if (method === 'oob') {
      const tk = this.ctx.config.oob?.tk
      if (tk?.length !== 16)
        throw SmpError.local(SmpReason.OobNotAvailable, 'no legacy OOB data (16 octets) for this peer')
      this.tk = tk
    } else {
      const shown = beginPasskey(this.ctx)
      if (shown !== undefined) this.tk = passkeyValue(shown)
    }
    if (this.tk) this.haveTk()
  }

  passkey(value: number): void {
    if (this.tk || this.ctx.choice.method !== 'passkey') {
      throw new SmpError('SMP_INVALID_STATE', 'no passkey was asked for')
    }
    this.tk = passkeyValue(value)
    this.haveTk()
  }

  confirm(): void {
    throw new SmpError('SMP_INVALID_STATE', 'legacy pairing has no numeric comparison')
  }

  receive(p: SmpPdu): void {
    if (isSmpPdu(p, PairingConfirm) && this.peerConfirm === undefined && this.step !== 'done') {
      if (this.ctx.role === 'initiator' && this.step !== 'confirm') throw unexpected(p)
      this.peerConfirm = p.params.confirmValue.slice()
      if (this.ctx.role === 'initiator') this.sendRandom()
      else if (this.tk) this.sendConfirm()
      return
    }
    if (isSmpPdu(p, PairingRandom) && this.step === 'random') {
      this.checkRandom(p.params.randomValue)
      return
    }
    throw unexpected(p)
  }

  private haveTk(): void {
    // The initiator speaks first; the responder answers once it has the initiator's confirm.
    if (this.ctx.role === 'initiator') this.sendConfirm()
    else if (this.peerConfirm) this.sendConfirm()
    else this.step = 'confirm'
  }

  private sendConfirm(): void {
    this.ctx.send(PairingConfirm, { confirmValue: this.confirmOf(this.ownRandom) })
    this.step = this.ctx.role === 'initiator' ? 'confirm' : 'random'
  }

  private sendRandom(): void {
    this.ctx.send(PairingRandom, { randomValue: this.ownRandom })
    this.step = 'random'
  }

  private checkRandom(peerRandom: Uint8Array): void {
    const peer = this.ctx.role === 'initiator' ? 'responder' : 'initiator'
    if (!sameValue(this.confirmOf(peerRandom), this.peerConfirm!)) {
      throw SmpError.local(SmpReason.ConfirmValueFailed, `the ${peer}'s confirm value does not match its random value`)
    }
    if (this.ctx.role === 'responder') this.ctx.send(PairingRandom, { randomValue: this.ownRandom })
    this.step = 'done'
    const [srand, mrand] = this.ctx.role === 'initiator' ? [peerRandom, this.ownRandom] : [this.ownRandom, peerRandom]
    this.ctx.keyReady(s1(this.tk!, srand, mrand))
  }

  /** c1 of a random value with this pairing's TK, features and addresses (either side's confirm). */
  private confirmOf(r: Uint8Array): Uint8Array {
    const { initiator, responder } = this.ctx
    return c1(
      this.tk!,
      r,
      this.ctx.preq,
      this.ctx.pres,
      initiator.type === 'random' ? 1 : 0,
      addressOctets(initiator.address),
      responder.type === 'random' ? 1 : 0,
      addressOctets(responder.address),
    )
  }
}

function unexpected(p: SmpPdu): SmpError {
  return SmpError.local(SmpReason.UnspecifiedReason, `${p.name} was not expected now (legacy pairing)`)
}
