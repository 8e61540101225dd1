/**
 * Two pairing state machines (gap/smp/session.ts) wired back to back for tests: a central
 * (initiator) and a peripheral (responder), each with a simulated user, a simulated controller
 * for encryption (the link encrypts when both sides hold the same key, else both see a failure,
 * as a MIC failure would show), and a virtual clock. PDUs travel through a queue, in order, and
 * can be dropped, altered or injected to play a hostile peer.
 */
import { PairingSession } from '../../../gap/smp/session.ts'
import type { PairingConfig, PairingResult, SmpAction } from '../../../gap/smp/pairing-types.ts'
import type { DeviceAddress } from '../../../gap/smp/keys.ts'
import type { SmpError } from '../../../gap/smp/errors.ts'
import type { AttemptGate } from '../../../gap/smp/throttle.ts'
import { decodeSmpPdu, formatSmpPdu } from '../../../gap/smp/pdu.ts'
import { DecodeError } from '../../../hci/errors.ts'
import { FakeClock } from '../../helpers/hci-script.ts'

export type Side = 'central' | 'peripheral'

export interface User {
  /**
   * On 'enterPasskey': type what the other side shows ('echo', default), the shown number with
   * its lowest bit flipped ('wrong'), a given number, or refuse.
   */
  passkey?: 'echo' | 'wrong' | number | 'refuse'
  /** On 'confirmNumber': say yes when both numbers agree ('compare', default), or always this. */
  confirm?: 'compare' | boolean
  /** Responder with askAccept: the answer. */
  accept?: boolean
}

export interface SideSetup {
  config?: PairingConfig
  address?: DeviceAddress
  user?: User
  attempts?: AttemptGate
}

export interface Wire {
  from: Side
  pdu: Uint8Array
}

const other = (s: Side): Side => (s === 'central' ? 'peripheral' : 'central')

export class PairingHarness {
  readonly clock = new FakeClock()
  readonly sessions: Record<Side, PairingSession>
  /** Every PDU sent, in order (before any tampering). */
  readonly wire: Wire[] = []
  readonly actions: Record<Side, SmpAction[]> = { central: [], peripheral: [] }
  /** Alter (return new bytes), drop (return null) or pass (undefined) a PDU in flight. */
  tamper: ((w: Wire) => Uint8Array | null | undefined) | undefined
  /** Make the simulated controller fail to encrypt (as a key missing at the peer would). */
  failEncryption = false
  private readonly queue: { to: Side; action: SmpAction }[] = []
  private readonly users: Record<Side, User>
  private readonly shown: Partial<Record<Side, number>> = {}
  private readonly waitingPasskey = new Set<Side>()
  private readonly askedPasskey = new Set<Side>()
  private readonly numbers: Partial<Record<Side, number>> = {}
  private readonly answered = new Set<Side>()
  private encryptionKey: Uint8Array | undefined
  private pumping = false

  constructor(central: SideSetup = {}, peripheral: SideSetup = {}) {
    const ca = central.address ?? { address: 'C0:11:22:33:44:55', type: 'random' }
    const pa = peripheral.address ?? { address: '00:1B:DC:0A:0B:0C', type: 'public' }
    this.users = { central: central.user ?? {}, peripheral: peripheral.user ?? {} }
    const make = (side: Side, setup: SideSetup): PairingSession =>
      new PairingSession(
        setup.config ?? {},
        {
          role: side === 'central' ? 'initiator' : 'responder',
          initiatorAddress: ca,
          responderAddress: pa,
          clock: this.clock,
          ...(setup.attempts ? { attempts: setup.attempts } : {}),
        },
        (action) => this.post(side, action),
      )
    this.sessions = { central: make('central', central), peripheral: make('peripheral', peripheral) }
  }

  /** Deliver raw bytes to a side as if its peer had sent them. */
  inject(to: Side, pdu: Uint8Array): void {
    this.sessions[to].receive(pdu)
    this.pump()
  }

  /** The central starts pairing; everything runs until nothing moves. */
  pair(): this {
    this.sessions.central.start()
    this.pump()
    return this
  }

  outcome(side: Side): { result?: PairingResult; error?: SmpError } {
    for (const a of this.actions[side]) {
      if (a.type === 'complete') return { result: a.result }
      if (a.type === 'failed') return { error: a.error }
    }
    return {}
  }

  result(side: Side): PairingResult {
    const o = this.outcome(side)
    if (!o.result)
      throw new Error(`${side} did not complete: ${o.error?.message ?? 'no outcome'}\n${this.transcript()}`)
    return o.result
  }

  /** The PDUs on the link as one line each ("central: Pairing Request ..."). */
  transcript(): string {
    return this.wire
      .map((w) => {
        const p = decodeSmpPdu(w.pdu)
        return `${w.from}: ${p instanceof DecodeError ? `(undecodable) ${p.message}` : formatSmpPdu(p)}`
      })
      .join('\n')
  }

  /** Names of the PDUs sent by `from` (or by both). */
  names(from?: Side): string[] {
    return this.wire
      .filter((w) => !from || w.from === from)
      .map((w) => {
        const p = decodeSmpPdu(w.pdu)
        return p instanceof DecodeError ? '?' : p.name
      })
  }

  private post(side: Side, action: SmpAction): void {
    this.actions[side].push(action)
    this.queue.push({ to: side, action })
  }

  /** Carry out queued actions until there are none (also runs user answers that became possible). */
  pump(): void {
    if (this.pumping) return
    this.pumping = true
    try {
      for (;;) {
        const next = this.queue.shift()
        if (next) {
          this.carry(next.to, next.action)
          continue
        }
        if (!this.answerUsers()) break
      }
    } finally {
      this.pumping = false
    }
  }

  private carry(side: Side, a: SmpAction): void {
    switch (a.type) {
      case 'send': {
        const w = { from: side, pdu: a.pdu }
        this.wire.push(w)
        const t = this.tamper?.(w)
        if (t === null) return
        this.sessions[other(side)].receive(t ?? a.pdu)
        return
      }
      case 'displayPasskey':
        this.shown[side] = a.passkey
        return
      case 'enterPasskey':
        this.waitingPasskey.add(side)
        this.askedPasskey.add(side)
        return
      case 'confirmNumber':
        this.numbers[side] = a.value
        return
      case 'pairingRequest':
        this.sessions[side].accept(this.users[side].accept ?? true)
        return
      case 'encryptionKey':
        this.encryptionKey = a.key
        return
      case 'startEncryption': {
        const ok =
          !this.failEncryption && this.encryptionKey !== undefined && Buffer.compare(this.encryptionKey, a.key) === 0
        this.sessions.central.encryptionChanged(ok)
        this.sessions.peripheral.encryptionChanged(ok)
        return
      }
      default:
        return
    }
  }

  /** One user answer that can be given now; false when none. */
  private answerUsers(): boolean {
    for (const side of this.waitingPasskey) {
      if (!this.sessions[side].busy) {
        this.waitingPasskey.delete(side)
        continue
      }
      const u = this.users[side].passkey ?? 'echo'
      if (u === 'refuse') {
        this.waitingPasskey.delete(side)
        this.sessions[side].passkey(undefined)
        return true
      }
      // Both sides typing (KeyboardOnly on both): they agree on 123456 unless told otherwise.
      const shown = this.shown[other(side)] ?? (this.askedPasskey.has(other(side)) ? 123456 : undefined)
      const value = typeof u === 'number' ? u : u === 'wrong' && shown !== undefined ? shown ^ 1 : shown
      if (value === undefined) continue
      this.waitingPasskey.delete(side)
      this.sessions[side].passkey(value)
      return true
    }
    for (const side of ['central', 'peripheral'] as const) {
      const mine = this.numbers[side]
      if (mine === undefined || this.answered.has(side) || !this.sessions[side].busy) continue
      const u = this.users[side].confirm ?? 'compare'
      const theirs = this.numbers[other(side)]
      if (u === 'compare' && theirs === undefined) continue
      this.answered.add(side)
      this.sessions[side].confirm(u === 'compare' ? mine === theirs : u)
      return true
    }
    return false
  }
}
