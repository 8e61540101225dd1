/**
 * The pairing state machine of one LE link, either role (Core v5.4 Vol 3 Part H 2.3 to 2.4, 3.3
 * to 3.6), as a pure object: SMP PDUs and the user's answers go in through its methods, actions
 * (gap/smp/pairing-types.ts) come out through one callback, time comes from the Clock it is given.
 *
 *   initiator (central)                        responder (peripheral)
 *   start(): Pairing Request          ->       [askAccept: 'pairingRequest', accept(ok)]
 *                                     <-       Pairing Response
 *   phase 2: legacy.ts or secure-connections.ts (confirm/random or keys/checks)
 *   'startEncryption' (STK/LTK) ...            'encryptionKey' (to answer the LTK Request)
 *   encryptionChanged(true)                    encryptionChanged(true)
 *   phase 3: distribution.ts (responder's keys first)                  -> 'complete'
 *
 * The responder's start() sends a Security Request; the initiator reports a received one as the
 * 'securityRequest' action and its owner decides (encrypt from a bond, or start()).
 *
 * Failures: a phase throws SmpError.local(reason) and the session sends Pairing Failed with that
 * reason, then reports 'failed'; a Pairing Failed from the peer ends the pairing without an answer.
 * A PDU that does not decode is answered with Invalid Parameters, an unknown code with Command
 * Not Supported, a known one at the wrong moment of a pairing with Unspecified Reason (3.3,
 * 3.5.5). Outside a pairing, a known PDU that means nothing now (the tail of a pairing that just
 * failed) is dropped without an answer.
 *
 * The SMP timeout (3.4): every PDU we queue restarts a 30 s timer; when it expires the pairing has
 * failed, nothing more is sent and no pairing may start again on this link (a Security Request
 * that nobody answered is the exception: only that request lapses). Repeated attempts (2.3.6)
 * are refused through the link's AttemptGate.
 */
import { randomBytes } from 'node:crypto'
import { maskKey } from './crypto.ts'
import { SmpError } from './errors.ts'
import {
  PairingFailed,
  PairingKeypressNotification,
  PairingRequest,
  PairingResponse,
  SecurityRequest,
  SmpReason,
  decodeSmpPdu,
  encodeSmpPdu,
  isSmpPdu,
  smpPduSpec,
  type SmpPdu,
} from './pdu.ts'
import { DecodeError } from '../../hci/errors.ts'
import { generateKeyPair, type P256KeyPair } from './p256.ts'
import { negotiate, requestFeatures, responseFeatures, type Negotiated } from './features.ts'
import { isAuthenticated, type PairingFeatures } from './method.ts'
import type { PairingContext, Phase } from './context.ts'
import { LegacyPhase } from './legacy.ts'
import { ScPhase } from './secure-connections.ts'
import { KeyExchange } from './distribution.ts'
import { pairingResult } from './result.ts'
import type { PairingConfig, PairingKeys, PairingLink, SmpAction } from './pairing-types.ts'

type State = 'idle' | 'requested' | 'features' | 'accepting' | 'phase2' | 'encrypting' | 'distributing' | 'dead'

const ACTIVE: ReadonlySet<State> = new Set(['features', 'accepting', 'phase2', 'encrypting', 'distributing'])

interface Run {
  ctx: PairingContext
  n: Negotiated
  phase: Phase
  key?: Uint8Array
  exchange?: KeyExchange
}

export class PairingSession {
  private state: State = 'idle'
  private run: Run | undefined
  /** The Pairing Request of the pairing being set up (initiator: ours; responder: the peer's). */
  private request: { features: PairingFeatures; pdu: Uint8Array } | undefined
  private timer: unknown
  private readonly random: (n: number) => Uint8Array
  /** The SMP timeout in ms (3.4). */
  private readonly smpTimeout: number

  private config: PairingConfig

  constructor(
    config: PairingConfig,
    private readonly link: PairingLink,
    private readonly out: (action: SmpAction) => void,
  ) {
    this.config = checkConfig(config)
    this.random = link.random ?? ((n) => new Uint8Array(randomBytes(n)))
    this.smpTimeout = link.timeout ?? 30_000
  }

  /** The configuration of the next pairing (not while one is under way). */
  configure(config: PairingConfig): void {
    if (this.busy) throw new SmpError('SMP_INVALID_STATE', 'a pairing is under way on this link')
    this.config = checkConfig(config)
  }

  /** True while a pairing is under way on this link. */
  get busy(): boolean {
    return ACTIVE.has(this.state)
  }

  /** Initiator: send a Pairing Request. Responder: send a Security Request. */
  start(): void {
    if (this.state === 'dead') throw SmpError.timeout()
    if (this.busy) throw new SmpError('SMP_INVALID_STATE', 'a pairing is already under way on this link')
    if (this.link.role === 'responder') {
      this.state = 'requested'
      this.send(encodeSmpPdu(SecurityRequest, { authReq: requestFeatures(this.config).authReq }))
      return
    }
    const wait = this.link.attempts?.waitMs() ?? 0
    if (wait > 0) {
      this.out({ type: 'failed', error: repeatedAttempts(wait) })
      return
    }
    const features = requestFeatures(this.config)
    const pdu = encodeSmpPdu(PairingRequest, features)
    this.request = { features, pdu }
    this.state = 'features'
    this.send(pdu)
  }

  /** An SMP PDU from the peer (the L2CAP payload of CID 0x0006). */
  receive(bytes: Uint8Array): void {
    if (this.state === 'dead') return
    this.guard(() => this.dispatch(bytes))
  }

  /** Responder with askAccept: the answer to 'pairingRequest'. */
  accept(ok: boolean): void {
    if (this.state !== 'accepting')
      throw new SmpError('SMP_INVALID_STATE', 'no pairing request is waiting for an answer')
    this.guard(() => {
      if (!ok) throw SmpError.local(SmpReason.PairingNotSupported, 'the pairing request was refused')
      this.respond()
    })
  }

  /** The answer to 'enterPasskey': 0..999999, or undefined when the user refused. */
  passkey(value: number | undefined): void {
    if (value !== undefined && !(Number.isInteger(value) && value >= 0 && value <= 999_999)) {
      throw new RangeError(`a passkey is 0..999999, got ${value}`)
    }
    const run = this.inPhase2()
    this.guard(() => {
      if (value === undefined) throw SmpError.local(SmpReason.PasskeyEntryFailed, 'the user did not enter the passkey')
      run.phase.passkey(value)
    })
  }

  /** The answer to 'confirmNumber'. */
  confirm(ok: boolean): void {
    const run = this.inPhase2()
    this.guard(() => run.phase.confirm(ok))
  }

  /** The link's Encryption Change (or Key Refresh): encrypted or not. */
  encryptionChanged(encrypted: boolean): void {
    if (this.state === 'requested' && encrypted) {
      // The central answered our Security Request by encrypting with a bond.
      this.stopTimer()
      this.state = 'idle'
      return
    }
    if (this.state !== 'encrypting') return
    const run = this.run!
    if (!encrypted) {
      this.fail(new SmpError('SMP_ENCRYPTION_FAILED', 'the link did not encrypt with the key the pairing made'), false)
      return
    }
    this.state = 'distributing'
    const { n } = run
    const plan = {
      send: n.send,
      expect: n.expect,
      secureConnections: n.choice.secureConnections,
      keySize: n.keySize,
      authenticated: isAuthenticated(n.choice.method),
    }
    run.exchange = new KeyExchange(run.ctx, plan, (keys) => this.complete(keys))
    this.guard(() => run.exchange!.start())
  }

  /** The application gave up: Pairing Failed (Unspecified Reason) when a pairing was under way. */
  cancel(why = 'cancelled'): void {
    if (!this.busy) return
    this.fail(
      new SmpError('SMP_CANCELLED', `pairing ${why}`, { status: SmpReason.UnspecifiedReason, local: true }),
      true,
    )
  }

  /** The link is gone: a pairing under way fails, nothing more happens. */
  close(reason?: Error): void {
    const was = this.busy
    this.stopTimer()
    this.state = 'dead'
    this.run = undefined
    if (was) {
      const err = new SmpError(
        'SMP_LINK_CLOSED',
        `the link closed during pairing${reason ? `: ${reason.message}` : ''}`,
        { cause: reason },
      )
      this.out({ type: 'failed', error: err })
    }
  }

  // -------------------------------------------------------------------------------------------

  private dispatch(bytes: Uint8Array): void {
    const p = decodeSmpPdu(bytes)
    if (p instanceof DecodeError) {
      if (bytes[0] === PairingFailed.code) return // never answer a Pairing Failed
      const known = bytes.length > 0 && smpPduSpec(bytes[0]!) !== undefined
      throw SmpError.local(
        SmpReason.InvalidParameters,
        `${known ? smpPduSpec(bytes[0]!)!.name : 'a PDU'} of the wrong length: ${p.message}`,
      )
    }
    if (!p.spec) throw SmpError.local(SmpReason.CommandNotSupported, `${p.name} is not a command we know`)
    if (isSmpPdu(p, PairingFailed)) {
      if (this.busy) this.fail(SmpError.remote(p.params.reason), false)
      return
    }
    if (isSmpPdu(p, PairingKeypressNotification)) {
      if (this.busy) this.out({ type: 'keypress', notification: p.params.notificationType })
      return
    }
    if (isSmpPdu(p, SecurityRequest)) return this.securityRequest(p.params.authReq)
    if (isSmpPdu(p, PairingRequest)) return this.pairingRequest(p.params, bytes)
    if (isSmpPdu(p, PairingResponse)) return this.pairingResponse(p, bytes)
    if (this.state === 'phase2') return this.run!.phase.receive(p)
    if (this.state === 'distributing') return this.run!.exchange!.receive(p)
    throw SmpError.local(SmpReason.UnspecifiedReason, `${p.name} was not expected now`)
  }

  private securityRequest(authReq: number): void {
    if (this.link.role === 'responder') {
      throw SmpError.local(SmpReason.CommandNotSupported, 'a Security Request goes from peripheral to central')
    }
    if (this.state === 'idle') this.out({ type: 'securityRequest', authReq })
  }

  private pairingRequest(features: PairingFeatures, pdu: Uint8Array): void {
    if (this.link.role === 'initiator') {
      throw SmpError.local(SmpReason.CommandNotSupported, 'a Pairing Request goes from central to peripheral')
    }
    if (this.busy) throw SmpError.local(SmpReason.UnspecifiedReason, 'a Pairing Request in the middle of a pairing')
    const wait = this.link.attempts?.waitMs() ?? 0
    if (wait > 0) {
      this.sendFailed(SmpReason.RepeatedAttempts)
      this.out({ type: 'failed', error: repeatedAttempts(wait) })
      return
    }
    this.request = { features: { ...features }, pdu: pdu.slice() }
    this.state = 'accepting'
    this.armTimer()
    if (this.config.askAccept) this.out({ type: 'pairingRequest', features: { ...features } })
    else this.respond()
  }

  private respond(): void {
    const { features: req, pdu: preq } = this.request!
    const rsp = responseFeatures(this.config, req)
    const n = negotiate('responder', this.config, req, rsp)
    const pres = encodeSmpPdu(PairingResponse, rsp)
    this.send(pres)
    this.begin(req, preq, rsp, pres, n)
  }

  private pairingResponse(p: SmpPdu & { params: PairingFeatures }, pres: Uint8Array): void {
    if (this.link.role === 'responder') {
      throw SmpError.local(SmpReason.CommandNotSupported, 'a Pairing Response goes from peripheral to central')
    }
    if (this.state !== 'features')
      throw SmpError.local(SmpReason.UnspecifiedReason, 'a Pairing Response nobody asked for')
    const { features: req, pdu: preq } = this.request!
    const n = negotiate('initiator', this.config, req, p.params)
    this.begin(req, preq, { ...p.params }, pres.slice(), n)
  }

  private begin(req: PairingFeatures, preq: Uint8Array, rsp: PairingFeatures, pres: Uint8Array, n: Negotiated): void {
    let keyPair: P256KeyPair | undefined
    const ctx: PairingContext = {
      role: this.link.role,
      config: this.config,
      req,
      rsp,
      preq,
      pres,
      choice: n.choice,
      initiator: this.link.initiatorAddress,
      responder: this.link.responderAddress,
      keyPair: () => (keyPair ??= this.config.oob?.local?.keyPair ?? this.config.keyPair ?? generateKeyPair()),
      random: (k) => this.random(k),
      send: (spec, params) => this.send(encodeSmpPdu(spec, params)),
      emit: (a) => this.out(a),
      keyReady: (key) => this.keyReady(key),
    }
    const phase = n.choice.secureConnections ? new ScPhase(ctx) : new LegacyPhase(ctx)
    this.run = { ctx, n, phase }
    this.state = 'phase2'
    phase.begin()
  }

  private keyReady(key: Uint8Array): void {
    const run = this.run!
    run.key = maskKey(key, run.n.keySize)
    this.state = 'encrypting'
    const props = {
      keySize: run.n.keySize,
      authenticated: isAuthenticated(run.n.choice.method),
      secureConnections: run.n.choice.secureConnections,
    }
    if (this.link.role === 'initiator') this.out({ type: 'startEncryption', key: run.key.slice(), ...props })
    else this.out({ type: 'encryptionKey', key: run.key.slice(), ...props })
  }

  private complete(keys: PairingKeys): void {
    const run = this.run!
    this.stopTimer()
    this.state = 'idle'
    this.run = undefined
    this.link.attempts?.ended(true)
    const peer = this.link.role === 'initiator' ? this.link.responderAddress : this.link.initiatorAddress
    this.out({ type: 'complete', result: pairingResult(run.n, run.key!, keys, peer, this.link.clock.now()) })
  }

  private inPhase2(): Run {
    if (this.state !== 'phase2' || !this.run)
      throw new SmpError('SMP_INVALID_STATE', 'no pairing is waiting for this answer')
    return this.run
  }

  /** Run `fn`; an SmpError it throws fails the pairing (with Pairing Failed when it has a reason). */
  private guard(fn: () => void): void {
    try {
      fn()
    } catch (e) {
      if (e instanceof SmpError && e.code === 'SMP_INVALID_STATE') throw e
      const err =
        e instanceof SmpError
          ? e
          : SmpError.local(SmpReason.UnspecifiedReason, `internal error: ${e instanceof Error ? e.message : String(e)}`)
      if (err.code === 'SMP_PAIRING_FAILED' && !this.busy) {
        // Nothing under way: a malformed or unknown PDU is answered (3.3), anything else (the
        // rest of a pairing that already ended, say) is dropped; nothing starts.
        const answer = err.status === SmpReason.InvalidParameters || err.status === SmpReason.CommandNotSupported
        if (answer && this.state !== 'dead') this.sendFailed(err.status!)
        return
      }
      this.fail(err, err.local === true)
    }
  }

  private fail(err: SmpError, tellPeer: boolean): void {
    if (tellPeer && err.status !== undefined) this.sendFailed(err.status)
    this.stopTimer()
    const wasActive = this.busy
    this.state = 'idle'
    this.run = undefined
    if (wasActive) this.link.attempts?.ended(false, err.status)
    this.out({ type: 'failed', error: err })
  }

  private send(pdu: Uint8Array): void {
    this.out({ type: 'send', pdu })
    this.armTimer()
  }

  private sendFailed(reason: number): void {
    this.out({ type: 'send', pdu: encodeSmpPdu(PairingFailed, { reason }) })
  }

  private armTimer(): void {
    this.stopTimer()
    this.timer = this.link.clock.setTimeout(() => this.timeout(), this.smpTimeout)
  }

  private stopTimer(): void {
    if (this.timer !== undefined) this.link.clock.clearTimeout(this.timer)
    this.timer = undefined
  }

  private timeout(): void {
    this.timer = undefined
    if (this.state === 'requested') {
      this.state = 'idle'
      this.out({ type: 'failed', error: SmpError.timeout() })
      return
    }
    if (!this.busy) return
    this.state = 'dead'
    this.run = undefined
    this.out({ type: 'failed', error: SmpError.timeout() })
  }
}

function checkConfig(config: PairingConfig): PairingConfig {
  const min = config.minKeySize ?? 16
  const max = config.maxKeySize ?? 16
  if (!(min >= 7 && max <= 16 && min <= max && Number.isInteger(min) && Number.isInteger(max))) {
    throw new RangeError(`key sizes: need 7 <= minKeySize (${min}) <= maxKeySize (${max}) <= 16`)
  }
  return config
}

function repeatedAttempts(waitMs: number): SmpError {
  return new SmpError(
    'SMP_PAIRING_FAILED',
    `pairing refused: ${smpWait(waitMs)} after failed attempts with this peer`,
    {
      status: SmpReason.RepeatedAttempts,
      local: true,
      hint: 'too many failed attempts with this peer: wait before pairing again (Vol 3 Part H 2.3.6)',
    },
  )
}

function smpWait(ms: number): string {
  return `wait ${Math.ceil(ms / 1000)} s`
}
