/**
 * LE Secure Connections Passkey Entry, authentication stage 1 (Core v5.4 Vol 3 Part H 2.3.5.6.3):
 * twenty rounds, one per bit of the 20-bit passkey. In round i, with ri = 0x80 | bit i:
 *
 *   initiator (A)                                        responder (B)
 *   Pairing Confirm  Cai = f4(PKax, PKbx, Nai, ri)  ->
 *                                                   <-   Pairing Confirm  Cbi = f4(PKbx, PKax, Nbi, ri)
 *   Pairing Random   Nai                            ->   checks Cai
 *                                                   <-   Pairing Random   Nbi
 *   checks Cbi
 *
 * A side that shows the passkey draws it; a side that types it waits for the user. A confirm
 * that does not match fails with Confirm Value Failed (a wrong passkey shows up in the round of
 * its first wrong bit). After round 20, Na and Nb are the last nonces and ra = rb = the passkey.
 */
import { f4 } from './crypto.ts'
import { SmpError } from './errors.ts'
import { PairingConfirm, PairingRandom, SmpReason, isSmpPdu, type SmpPdu } from './pdu.ts'
import type { P256PublicKey } from './p256.ts'
import {
  beginPasskey,
  passkeyValue,
  sameValue,
  type PairingContext,
  type Stage1,
  type Stage1Result,
} from './context.ts'

const ROUNDS = 20

export class ScPasskey implements Stage1 {
  private value: number | undefined
  private keys: { pka: P256PublicKey; pkb: P256PublicKey } | undefined
  private round = 0
  /** Our nonce of this round (drawn when we send our confirm). */
  private nonce: Uint8Array | undefined
  /** The peer's confirm of this round. */
  private peerConfirm: Uint8Array | undefined
  private sentConfirm = false
  private sentRandom = false
  private finished = false
  readonly waitingForUser = false

  constructor(
    private readonly ctx: PairingContext,
    private readonly finish: (r: Stage1Result) => void,
  ) {}

  prepare(): void {
    this.value = beginPasskey(this.ctx)
  }

  start(keys: { pka: P256PublicKey; pkb: P256PublicKey }): void {
    this.keys = keys
    this.advance()
  }

  passkey(value: number): void {
    if (this.value !== undefined) throw new SmpError('SMP_INVALID_STATE', 'no passkey was asked for')
    this.value = value
    this.advance()
  }

  confirm(): void {
    throw new SmpError('SMP_INVALID_STATE', 'no number comparison was asked for')
  }

  receive(p: SmpPdu): boolean {
    if (this.finished) return false
    const initiator = this.ctx.role === 'initiator'
    if (isSmpPdu(p, PairingConfirm) && !this.peerConfirm && (initiator ? this.sentConfirm : true)) {
      this.peerConfirm = p.params.confirmValue.slice()
      if (initiator) this.sendRandom()
      else this.advance()
      return true
    }
    if (isSmpPdu(p, PairingRandom) && this.peerConfirm && (initiator ? this.sentRandom : this.sentConfirm)) {
      this.peerRandom(p.params.randomValue.slice())
      return true
    }
    return false
  }

  /** Send our confirm when everything it needs is there (the responder also needs the initiator's). */
  private advance(): void {
    if (this.value === undefined || !this.keys || this.sentConfirm) return
    if (this.ctx.role === 'responder' && !this.peerConfirm) return
    this.nonce = this.ctx.random(16)
    const [u, v] =
      this.ctx.role === 'initiator' ? [this.keys.pka.x, this.keys.pkb.x] : [this.keys.pkb.x, this.keys.pka.x]
    this.ctx.send(PairingConfirm, { confirmValue: f4(u, v, this.nonce, this.bit()) })
    this.sentConfirm = true
  }

  private sendRandom(): void {
    this.ctx.send(PairingRandom, { randomValue: this.nonce! })
    this.sentRandom = true
  }

  private peerRandom(peerNonce: Uint8Array): void {
    const initiator = this.ctx.role === 'initiator'
    const [u, v] = initiator ? [this.keys!.pkb.x, this.keys!.pka.x] : [this.keys!.pka.x, this.keys!.pkb.x]
    if (!sameValue(f4(u, v, peerNonce, this.bit()), this.peerConfirm!)) {
      const who = initiator ? 'responder' : 'initiator'
      throw SmpError.local(
        SmpReason.ConfirmValueFailed,
        `the ${who}'s confirm value of round ${this.round + 1} does not match: the passkeys differ`,
      )
    }
    if (!initiator) this.sendRandom()
    const own = this.nonce!
    this.round++
    this.peerConfirm = undefined
    this.nonce = undefined
    this.sentConfirm = false
    this.sentRandom = false
    if (this.round < ROUNDS) {
      if (initiator) this.advance()
      return
    }
    this.finished = true
    const r = passkeyValue(this.value!)
    const [na, nb] = initiator ? [own, peerNonce] : [peerNonce, own]
    this.finish({ na, nb, ra: r, rb: r })
  }

  /** ri of this round: 0x80 | bit i of the passkey (2.3.5.6.3). */
  private bit(): number {
    return 0x80 | ((this.value! >>> this.round) & 1)
  }
}
