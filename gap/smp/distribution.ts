/**
 * Phase 3 of pairing, transport specific key distribution (Core v5.4 Vol 3 Part H 2.4.3, 3.6),
 * once the link is encrypted with the STK or the LTK: the responder sends the keys the Pairing
 * Response's Responder Key Distribution field names, then the initiator sends those of the
 * Initiator Key Distribution field, each side in this order (3.6.1):
 *
 *   EncKey (legacy only)  Encryption Information (LTK), Central Identification (EDIV, Rand)
 *   IdKey                 Identity Information (IRK), Identity Address Information
 *   SignKey               Signing Information (CSRK)
 *
 * In LE Secure Connections the EncKey bit is ignored: both sides derived the LTK. A legacy LTK
 * is random, cut to the negotiated key size, with a random EDIV and Rand (2.4.2.3 leaves their
 * generation to us). A key arriving out of this order, or one not asked for, fails the pairing
 * with Unspecified Reason; an identity address type other than public or static random with
 * Invalid Parameters. An all-zero IRK means the peer has none (3.6.4).
 */
import { maskKey } from './crypto.ts'
import { SmpError } from './errors.ts'
import {
  CentralIdentification,
  EncryptionInformation,
  IdentityAddressInformation,
  IdentityInformation,
  KeyDistribution,
  SigningInformation,
  SmpReason,
  isSmpPdu,
  type SmpPdu,
  type SmpPduSpec,
} from './pdu.ts'
import type { PairingContext } from './context.ts'
import type { PairingKeys } from './pairing-types.ts'
import type { LongTermKey } from './keys.ts'

export interface DistributionPlan {
  /** Key Distribution bits of what we send and of what we expect from the peer. */
  send: number
  expect: number
  secureConnections: boolean
  keySize: number
  authenticated: boolean
}

export class KeyExchange {
  private readonly expected: SmpPduSpec[] = []
  private readonly keys: PairingKeys = {}
  private pendingLtk: Uint8Array | undefined
  private sent = false
  private over = false

  constructor(
    private readonly ctx: PairingContext,
    private readonly plan: DistributionPlan,
    private readonly done: (keys: PairingKeys) => void,
  ) {
    const { expect, secureConnections } = plan
    if (expect & KeyDistribution.EncKey && !secureConnections) {
      this.expected.push(EncryptionInformation, CentralIdentification)
    }
    if (expect & KeyDistribution.IdKey) this.expected.push(IdentityInformation, IdentityAddressInformation)
    if (expect & KeyDistribution.SignKey) this.expected.push(SigningInformation)
  }

  /** The link is encrypted: the responder sends first, the initiator once it has the responder's keys. */
  start(): void {
    if (this.ctx.role === 'responder') this.sendOwn()
    this.check()
  }

  receive(p: SmpPdu): void {
    const next = this.expected[0]
    if (this.over || !next || p.spec !== next) {
      throw SmpError.local(
        SmpReason.UnspecifiedReason,
        next ? `${p.name} came where ${next.name} was due (3.6.1)` : `${p.name} was not expected now`,
      )
    }
    this.expected.shift()
    this.take(p)
    this.check()
  }

  private take(p: SmpPdu): void {
    if (isSmpPdu(p, EncryptionInformation)) this.pendingLtk = p.params.longTermKey.slice()
    else if (isSmpPdu(p, CentralIdentification)) {
      this.keys.peerLtk = this.ltk(this.pendingLtk!, p.params.ediv, p.params.rand.slice())
    } else if (isSmpPdu(p, IdentityInformation)) {
      const irk = p.params.identityResolvingKey
      if (irk.some((b) => b !== 0)) this.keys.irk = irk.slice()
    } else if (isSmpPdu(p, IdentityAddressInformation)) {
      const { addressType, address } = p.params
      if (addressType > 1) {
        throw SmpError.local(
          SmpReason.InvalidParameters,
          `identity address type 0x${addressType.toString(16)} is reserved`,
        )
      }
      this.keys.identityAddress = { address, type: addressType === 1 ? 'random' : 'public' }
    } else if (isSmpPdu(p, SigningInformation)) this.keys.csrk = p.params.signatureKey.slice()
  }

  private check(): void {
    if (this.expected.length > 0 || this.over) return
    if (!this.sent) this.sendOwn()
    this.over = true
    this.done(this.keys)
  }

  private sendOwn(): void {
    this.sent = true
    const { send, secureConnections, keySize } = this.plan
    const { config } = this.ctx
    if (send & KeyDistribution.EncKey && !secureConnections) {
      const key = maskKey(this.ctx.random(16), keySize)
      const r = this.ctx.random(2)
      const ediv = r[0]! | (r[1]! << 8)
      const rand = this.ctx.random(8)
      this.ctx.send(EncryptionInformation, { longTermKey: key })
      this.ctx.send(CentralIdentification, { ediv, rand })
      this.keys.localLtk = this.ltk(key, ediv, rand)
    }
    if (send & KeyDistribution.IdKey) {
      const id = config.identity
      this.ctx.send(IdentityInformation, { identityResolvingKey: id?.irk ?? new Uint8Array(16) })
      this.ctx.send(IdentityAddressInformation, {
        addressType: id?.address.type === 'random' ? 1 : 0,
        address: id?.address.address ?? '00:00:00:00:00:00',
      })
    }
    if (send & KeyDistribution.SignKey) {
      this.ctx.send(SigningInformation, { signatureKey: config.csrk ?? new Uint8Array(16) })
    }
  }

  private ltk(key: Uint8Array, ediv: number, rand: Uint8Array): LongTermKey {
    const { keySize, authenticated } = this.plan
    return { key, ediv, rand, keySize, authenticated, secureConnections: false }
  }
}
