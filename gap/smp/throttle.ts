/**
 * Repeated attempts (Core v5.4 Vol 3 Part H 2.3.6): after a pairing with a peer fails its
 * authentication, a waiting interval passes before we start another pairing with that peer or
 * accept one from it (a Pairing Request in the interval is answered with Pairing Failed, Repeated
 * Attempts). Each further failure doubles the interval, up to a maximum; each quiet maximum
 * interval without a failure halves it again, so a peer is not locked out for ever.
 *
 * What counts: failures of authentication (Passkey Entry Failed, Confirm Value Failed, DHKey
 * Check Failed, Numeric Comparison Failed), ours or the peer's: those are the guesses an attacker
 * makes. A refused request, a timeout or a lost link is not a guess.
 */
import type { Clock } from '../../hci/host.ts'
import { SmpReason } from './pdu.ts'

/** What one pairing session sees of the throttle for its peer. */
export interface AttemptGate {
  /** Milliseconds to wait before pairing with this peer again (0: now is fine). */
  waitMs(): number
  /** A pairing with this peer ended; `reason` is the Pairing Failed reason when it failed with one. */
  ended(ok: boolean, reason?: number): void
}

export interface RepeatedAttemptsOptions {
  /** The interval after the first counted failure (default 2000 ms). */
  firstMs?: number
  /** The longest interval (default 60000 ms). */
  maxMs?: number
}

const COUNTED = new Set<number>([
  SmpReason.PasskeyEntryFailed,
  SmpReason.ConfirmValueFailed,
  SmpReason.DhKeyCheckFailed,
  SmpReason.NumericComparisonFailed,
])

/** True when a failure with `reason` counts as a failed attempt (2.3.6). */
export function countsAsAttempt(reason: number | undefined): boolean {
  return reason !== undefined && COUNTED.has(reason)
}

interface PeerState {
  /** Counted failures, less one per quiet maximum interval (see `count`). */
  failures: number
  /** When the last counted failure happened. */
  at: number
}

/** The throttle for every peer of one adapter, keyed by a peer string (identity address). */
export class RepeatedAttempts {
  private readonly peers = new Map<string, PeerState>()
  private readonly firstMs: number
  private readonly maxMs: number

  constructor(
    private readonly clock: Pick<Clock, 'now'>,
    opts: RepeatedAttemptsOptions = {},
  ) {
    this.firstMs = opts.firstMs ?? 2000
    this.maxMs = opts.maxMs ?? 60_000
  }

  /** The gate of one peer. */
  gate(peer: string): AttemptGate {
    return {
      waitMs: () => this.waitMs(peer),
      ended: (ok, reason) => {
        if (ok) this.peers.delete(peer)
        else if (countsAsAttempt(reason)) this.failed(peer)
      },
    }
  }

  /** Milliseconds before `peer` may pair again. */
  waitMs(peer: string): number {
    const s = this.peers.get(peer)
    const n = this.count(peer)
    if (!s || n === 0) return 0
    return Math.max(0, s.at + this.interval(n) - this.clock.now())
  }

  private interval(failures: number): number {
    return Math.min(this.maxMs, this.firstMs * 2 ** Math.min(30, failures - 1))
  }

  private failed(peer: string): void {
    this.peers.set(peer, { failures: this.count(peer) + 1, at: this.clock.now() })
  }

  /** The failures that still count: one is forgiven per quiet maximum interval since the last. */
  private count(peer: string): number {
    const s = this.peers.get(peer)
    if (!s) return 0
    const n = s.failures - Math.floor((this.clock.now() - s.at) / this.maxMs)
    if (n <= 0) this.peers.delete(peer)
    return Math.max(0, n)
  }
}
