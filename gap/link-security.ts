/**
 * Security on one LE link (Core v5.4 Vol 3 Part H 2.3 to 2.4 pairing and bonding, 3 SMP on the
 * fixed channel 0x0006; Vol 3 Part C 10.2 security levels, 10.3 the GATT errors that ask for
 * more; encryption itself in gap/link-encryption.ts).
 *
 * A `LinkSecurityAgent` sits on each Connection: it runs the pairing state machine
 * (gap/smp/session.ts) on the link's SMP channel and carries out its actions (PDUs, the user's
 * part through the PairingDelegate, encryption with the key the pairing made), encrypts the link
 * from a bond as central, answers the LE Long Term Key Request from the bond as peripheral,
 * stores the bond a pairing makes, and keeps the link's `security` current (encrypted,
 * authenticated, SC, key size, bonded): the GATT server checks permissions against it and the
 * API shows it.
 *
 *   secure(level)   encrypt from the bond when its key is good enough, else pair (if allowed)
 *   pair()          pair now (central: Pairing Request; peripheral: Security Request, then wait)
 *   encrypt()       central: encrypt with the bond's LTK
 *   upgrade(code)   the GATT client's SecurityUpgrade (att/client.ts): secure() for an ATT error
 *
 * A stored key the peer does not share is never replaced silently: encryption fails and the
 * error says so (gap/link-encryption.ts); only a pairing the application allows replaces it.
 */
import type { Clock, HciHost } from '../hci/host.ts'
import { AttErrorCode } from '../att/pdu.ts'
import type { SecurityUpgrade } from '../att/client.ts'
import type { Connection } from './connection.ts'
import type { EventOf } from './events.ts'
import { LinkEncryption, type LinkKey } from './link-encryption.ts'
import { PairingSession } from './smp/session.ts'
import { SmpError } from './smp/errors.ts'
import type { PairingConfig, PairingResult, SmpAction } from './smp/pairing-types.ts'
import { centralLtk, peripheralLtk, type Bond, type DeviceAddress, type LocalKeys } from './smp/keys.ts'
import type { RepeatedAttempts } from './smp/throttle.ts'
import {
  keyMeetsLevel,
  meetsLevel,
  type PairingDelegate,
  type PairingRequestInfo,
  type PairingSummary,
  type SecurityLevel,
} from './pairing-delegate.ts'

/** What the agent needs from its adapter (gap/security-manager.ts implements it). */
export interface SecurityContext {
  readonly host: HciHost
  readonly clock: Clock
  readonly delegate: PairingDelegate
  readonly attempts: RepeatedAttempts
  readonly random?: ((n: number) => Uint8Array) | undefined
  readonly smpTimeoutMs?: number | undefined
  /** Our keys and identity address (loaded before any link exists). */
  readonly local: LocalKeys & { identity: DeviceAddress }
  /** Our address as the peer saw it on this link (for the pairing functions). */
  ownAddress(c: Connection): DeviceAddress
  /** The peer's bond (its RPA resolved through the bonds' IRKs). */
  bondFor(peer: DeviceAddress): Promise<Bond | undefined>
  /** Keep a bond (replacing any of the same identity). */
  saveBond(bond: Bond): Promise<void>
}

export interface PairingOutcome {
  result?: PairingResult
  error?: SmpError
}

export class LinkSecurityAgent implements SecurityUpgrade {
  readonly session: PairingSession
  /** The peer's identity address, once known (from its bond or a pairing). */
  identity: DeviceAddress | undefined
  private readonly encryption: LinkEncryption
  private pairing: { resolve(r: PairingResult): void; reject(e: Error): void } | undefined
  private readonly outcomeCbs: ((o: PairingOutcome) => void)[] = []

  constructor(
    readonly connection: Connection,
    private readonly ctx: SecurityContext,
  ) {
    const central = connection.role === 'central'
    // The pairing functions take the addresses on the air (Vol 3 Part H 2.2.3, 2.2.7): the RPAs
    // the controller reports when it resolved or generated them, else the link's addresses.
    const own: DeviceAddress = connection.localRpa
      ? { address: connection.localRpa, type: 'random' }
      : ctx.ownAddress(connection)
    const peer: DeviceAddress = connection.peerRpa ? { address: connection.peerRpa, type: 'random' } : connection.peer
    this.session = new PairingSession(
      this.config(),
      {
        role: central ? 'initiator' : 'responder',
        initiatorAddress: central ? own : peer,
        responderAddress: central ? peer : own,
        clock: ctx.clock,
        attempts: ctx.attempts.gate(`${connection.peer.type}/${connection.peer.address}`),
        random: ctx.random,
        timeout: ctx.smpTimeoutMs,
      },
      (a) => this.act(a),
    )
    this.encryption = new LinkEncryption(connection, ctx.host, (on) => this.session.encryptionChanged(on))
    connection.securityEvents = (e) => this.encryption.event(e)
    connection.mux.smp.onData((pdu) => this.session.receive(pdu))
    connection.onClose((reason) => {
      this.encryption.closed()
      this.session.close(reason)
    })
    // Not bonded until the store says otherwise (the GATT server's answer depends on it, Part C 10.3.2).
    connection.security.bonded = false
    void ctx.bondFor(connection.peer).then(
      (b) => {
        if (!b || connection.closed) return
        this.identity ??= b.peer
        if (!connection.security.bonded) connection.updateSecurity({ bonded: true })
      },
      () => undefined,
    )
  }

  /** Called with the outcome of every pairing on this link (started by either side). */
  onOutcome(cb: (o: PairingOutcome) => void): void {
    this.outcomeCbs.push(cb)
  }

  /** The outcome of the pairing under way (never rejects). */
  private nextOutcome(): Promise<PairingOutcome> {
    return new Promise((resolve) => {
      const cb = (out: PairingOutcome): void => {
        this.outcomeCbs.splice(this.outcomeCbs.indexOf(cb), 1)
        resolve(out)
      }
      this.outcomeCbs.push(cb)
    })
  }

  /** Peripheral: the controller asks for the key of an encryption the central started. */
  ltkRequested(e: EventOf<'LeLongTermKeyRequest'>): void {
    void this.encryption.answer(e, async (ediv, rand) => {
      const bond = await this.ctx.bondFor(this.connection.peer)
      const k = bond && peripheralLtk(bond, ediv, rand)
      if (!bond || !k) return undefined
      this.identity ??= bond.peer
      return k
    })
  }

  /** The bond of this peer was removed (adapter.unpair): the link is no longer bonded. */
  unpaired(): void {
    if (this.connection.security.bonded) this.connection.updateSecurity({ bonded: false })
  }

  // --- what the API calls ----------------------------------------------------------------------

  /**
   * Reach `level`: nothing when the link is there already; as central, encrypt from the bond
   * when its key is good enough, else pair (when the delegate allows); as peripheral, ask the
   * central (Security Request) and wait for it to pair.
   */
  async secure(
    level: SecurityLevel,
    o: { signal?: AbortSignal | undefined; requestMitm?: boolean } = {},
  ): Promise<void> {
    if (meetsLevel(this.connection.security, level)) return
    if (this.connection.role === 'peripheral') return this.requestSecurity(level, o)
    if (this.pairing || this.session.busy) {
      // Another request is pairing already (two protected reads at once): wait for it.
      await this.nextOutcome()
      if (meetsLevel(this.connection.security, level)) return
    }
    const bond = await this.ctx.bondFor(this.connection.peer)
    const ltk = bond && centralLtk(bond)
    if (ltk && keyMeetsLevel(ltk, level) && !this.connection.security.encrypted) {
      await this.encrypt(o)
      if (meetsLevel(this.connection.security, level)) return
    }
    if (!(await this.allowed('request'))) {
      throw new SmpError('SMP_CANCELLED', `the link needs to be ${level} and pairing is not allowed`, {
        hint: ltk ? 'the bond is not strong enough: pair again' : 'pair with the peer first (or allow pairing)',
      })
    }
    await this.pair({ ...o, level })
    if (!meetsLevel(this.connection.security, level)) {
      throw new SmpError('SMP_PAIRING_FAILED', `the pairing did not make the link ${level}`, {
        hint: 'an authenticated link needs IO capabilities on both sides that allow Passkey Entry or Numeric Comparison',
      })
    }
  }

  /**
   * Peripheral: send a Security Request for `level` and wait for the central to encrypt from its
   * bond (the link's security reaches the level) or to pair (the pairing's outcome).
   */
  private requestSecurity(level: SecurityLevel, o: { signal?: AbortSignal | undefined }): Promise<void> {
    if (o.signal?.aborted) return Promise.reject(o.signal.reason)
    if (this.session.busy) return Promise.reject(new SmpError('SMP_INVALID_STATE', 'a pairing is already under way'))
    this.session.configure(this.config(level))
    return new Promise<void>((resolve, reject) => {
      const finish = (err?: unknown): void => {
        offSecurity()
        this.outcomeCbs.splice(this.outcomeCbs.indexOf(onOutcome), 1)
        o.signal?.removeEventListener('abort', onAbort)
        if (err) reject(err)
        else resolve()
      }
      // Encryption from the central's bond (no pairing under way) answers the request.
      const offSecurity = this.connection.on('security', (s) => {
        if (!this.session.busy && meetsLevel(s, level)) finish()
      })
      const onOutcome = (out: PairingOutcome): void => {
        if (out.error) finish(out.error)
        else if (meetsLevel(this.connection.security, level)) finish()
        else finish(new SmpError('SMP_PAIRING_FAILED', `the central paired, but the link is not ${level}`))
      }
      const onAbort = (): void => {
        this.session.cancel('cancelled by the application')
        finish(o.signal!.reason)
      }
      this.outcomeCbs.push(onOutcome)
      o.signal?.addEventListener('abort', onAbort, { once: true })
      try {
        this.session.start()
      } catch (e) {
        finish(e)
      }
    })
  }

  /** Pair now; resolves with what the pairing achieved. */
  async pair(
    o: { signal?: AbortSignal | undefined; level?: SecurityLevel; requestMitm?: boolean } = {},
  ): Promise<PairingSummary> {
    if (this.pairing || this.session.busy) throw new SmpError('SMP_INVALID_STATE', 'a pairing is already under way')
    if (o.signal?.aborted) throw o.signal.reason
    const config = this.config(o.level)
    this.session.configure({ ...config, requestMitm: o.requestMitm ? true : config.requestMitm })
    const done = new Promise<PairingResult>((resolve, reject) => (this.pairing = { resolve, reject }))
    const onAbort = (): void => this.session.cancel('cancelled by the application')
    o.signal?.addEventListener('abort', onAbort, { once: true })
    try {
      this.session.start()
      return summary(await done)
    } catch (e) {
      throw o.signal?.aborted ? o.signal.reason : e
    } finally {
      this.pairing = undefined
      o.signal?.removeEventListener('abort', onAbort)
    }
  }

  /** Central: encrypt with the bond's LTK; rejects when there is no bond or the peer has no such key. */
  async encrypt(o: { signal?: AbortSignal | undefined } = {}): Promise<void> {
    const bond = await this.ctx.bondFor(this.connection.peer)
    const ltk = bond && centralLtk(bond)
    if (!ltk) {
      throw new SmpError('SMP_INVALID_STATE', `no bond with ${this.peerText()} to encrypt with`, { hint: 'pair first' })
    }
    this.identity ??= bond.peer
    await this.encryption.start(ltk, o)
  }

  /**
   * Central: encrypt with the bond's LTK when there is a bond and the link is not encrypted yet
   * (what a reconnect to a bonded peer does); resolves false when there is no bond. Never pairs.
   */
  async encryptIfBonded(o: { signal?: AbortSignal | undefined } = {}): Promise<boolean> {
    if (this.connection.role !== 'central' || this.connection.security.encrypted) return false
    const bond = await this.ctx.bondFor(this.connection.peer)
    if (!bond || !centralLtk(bond)) return false
    await this.encrypt(o)
    return true
  }

  /** SecurityUpgrade (att/client.ts): raise the link's security for an ATT error; true to retry. */
  async upgrade(errorCode: number, o: { signal?: AbortSignal | undefined }): Promise<boolean> {
    const s = this.connection.security
    const before = `${s.encrypted}/${s.authenticated}/${s.keySize}/${s.secureConnections}`
    if (errorCode === AttErrorCode.InsufficientEncryption) await this.secure('encrypted', o)
    else if (errorCode === AttErrorCode.InsufficientAuthentication) {
      // Unencrypted: the server wants a bond, perhaps an authenticated one (Part C 10.3.2): pair
      // asking for MITM protection where the IO capabilities allow it. Encrypted: it wants MITM.
      if (s.encrypted) await this.secure('authenticated', o)
      else await this.secure('encrypted', { ...o, requestMitm: true })
    } else if (errorCode === AttErrorCode.EncryptionKeySizeTooShort) {
      if (s.keySize >= 16) return false
      await this.pair(o)
    } else return false
    const a = this.connection.security
    return `${a.encrypted}/${a.authenticated}/${a.keySize}/${a.secureConnections}` !== before
  }

  // --- the pairing machine's actions -----------------------------------------------------------

  private act(a: SmpAction): void {
    const peer = (): DeviceAddress => this.identity ?? this.connection.peer
    const d = this.ctx.delegate
    switch (a.type) {
      case 'send':
        this.connection.mux.smp.send(a.pdu).catch(() => undefined)
        return
      case 'securityRequest':
        void this.securityRequested(a.authReq)
        return
      case 'pairingRequest':
        void this.ask(
          () => this.allowed('peer'),
          (ok) => this.session.accept(ok),
        )
        return
      case 'displayPasskey':
        void Promise.resolve()
          .then(() => d.displayPasskey?.({ peer: peer(), passkey: a.passkey }))
          .catch(() => undefined)
        return
      case 'enterPasskey':
        void this.ask(
          async () => (d.enterPasskey ? await d.enterPasskey({ peer: peer() }) : undefined),
          (v) => this.session.passkey(v),
        )
        return
      case 'confirmNumber':
        void this.ask(
          async () => (d.confirmNumber ? await d.confirmNumber({ peer: peer(), value: a.value }) : false),
          (ok) => this.session.confirm(ok),
        )
        return
      case 'startEncryption':
        this.encryption.start(pairingKey(a)).catch(() => undefined)
        return
      case 'encryptionKey':
        this.encryption.offer(pairingKey(a))
        return
      case 'keypress':
        return
      case 'complete':
        void this.completed(a.result)
        return
      case 'failed':
        this.outcome({ error: a.error })
        return
    }
  }

  /** Ask the delegate, then answer the session (unless the pairing moved on meanwhile). */
  private async ask<T>(question: () => Promise<T> | T, answer: (v: T) => void): Promise<void> {
    let v: T
    try {
      v = await question()
    } catch (e) {
      this.session.cancel(`(the delegate failed: ${e instanceof Error ? e.message : String(e)})`)
      return
    }
    try {
      answer(v)
    } catch (e) {
      if (!(e instanceof SmpError && e.code === 'SMP_INVALID_STATE')) throw e
    }
  }

  private async allowed(reason: PairingRequestInfo['reason']): Promise<boolean> {
    const d = this.ctx.delegate
    if (reason === 'request' && d.autoPair === false) return false
    if (!d.acceptPairing) return true
    return d.acceptPairing({ peer: this.identity ?? this.connection.peer, role: this.connection.role, reason })
  }

  /** Central: the peripheral sent a Security Request: encrypt from a good enough bond, else pair if allowed. */
  private async securityRequested(authReq: number): Promise<void> {
    const level: SecurityLevel = authReq & 0x04 ? 'authenticated' : 'encrypted'
    try {
      const bond = await this.ctx.bondFor(this.connection.peer)
      const ltk = bond && centralLtk(bond)
      if (ltk && keyMeetsLevel(ltk, level) && !this.connection.security.encrypted) await this.encrypt()
      else if (!this.pairing && !this.session.busy && (await this.allowed('peer'))) await this.pair({ level })
    } catch {
      // Reported through onOutcome and the link's security.
    }
  }

  private async completed(result: PairingResult): Promise<void> {
    if (result.keys.identityAddress) this.identity = result.keys.identityAddress
    try {
      if (result.bond) await this.ctx.saveBond(result.bond)
    } catch (e) {
      const err = new SmpError('SMP_PAIRING_FAILED', `paired, but the bond could not be stored: ${String(e)}`, {
        cause: e,
      })
      this.outcome({ error: err })
      return
    }
    if (result.bonded && !this.connection.closed) this.connection.updateSecurity({ bonded: true })
    this.outcome({ result })
  }

  private outcome(o: PairingOutcome): void {
    if (!this.session.busy) {
      try {
        this.session.configure(this.config())
      } catch {
        // A timed-out session takes no new configuration; nothing more will pair on this link.
      }
    }
    const p = this.pairing
    if (p) {
      if (o.result) p.resolve(o.result)
      else p.reject(o.error!)
    }
    for (const cb of [...this.outcomeCbs]) cb(o)
  }

  private config(level?: SecurityLevel): PairingConfig {
    const d = this.ctx.delegate
    const { irk, csrk, identity } = this.ctx.local
    const oob = d.oobData?.({ peer: this.identity ?? this.connection.peer })
    return {
      oob,
      io: d.io ?? 'noInputNoOutput',
      bonding: d.bonding ?? true,
      mitm: d.mitm === true || level === 'authenticated' || level === 'secure',
      // Ask for MITM protection whenever our IO can take part in it (as BlueZ does); the peer's decides.
      requestMitm: (d.io ?? 'noInputNoOutput') !== 'noInputNoOutput',
      secureConnections: level === 'secure' ? 'only' : (d.secureConnections ?? 'prefer'),
      minKeySize: level === 'secure' ? 16 : (d.minKeySize ?? 16),
      allowDebugKeys: d.allowDebugKeys === true,
      askAccept: d.acceptPairing !== undefined,
      identity: { irk, address: identity },
      csrk,
    }
  }

  private peerText(): string {
    const p = this.identity ?? this.connection.peer
    return `${p.address}/${p.type}`
  }
}

function pairingKey(a: {
  key: Uint8Array
  keySize: number
  authenticated: boolean
  secureConnections: boolean
}): LinkKey {
  const { key, keySize, authenticated, secureConnections } = a
  return { key, ediv: 0, rand: new Uint8Array(8), keySize, authenticated, secureConnections }
}

function summary(r: PairingResult): PairingSummary {
  const s: PairingSummary = {
    method: r.method,
    secureConnections: r.secureConnections,
    keySize: r.keySize,
    authenticated: r.authenticated,
    bonded: r.bonded,
  }
  if (r.keys.identityAddress) s.identityAddress = r.keys.identityAddress
  return s
}
