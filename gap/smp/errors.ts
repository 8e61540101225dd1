/**
 * The error a pairing (Core v5.4 Vol 3 Part H 2.3, 3.5.5) or an encryption attempt fails with.
 *
 * `status` is the SMP reason (Table 3.7) when there is one: the reason we sent in our Pairing
 * Failed (`local` true) or the one the peer sent (`local` false). The 30 s SMP timeout (3.4) has
 * no reason: no Pairing Failed goes out after it, and no new pairing may start on that link.
 */
import { HcikitError, type HcikitErrorOptions } from '../../hci/errors.ts'
import { SMP_REASON_NAMES, SmpReason, smpReasonName } from './pdu.ts'

export type SmpErrorCode =
  /** We failed the pairing and told the peer (Pairing Failed with `status`). */
  | 'SMP_PAIRING_FAILED'
  /** The peer sent Pairing Failed; `status` is its reason. */
  | 'SMP_PEER_FAILED'
  /** No SMP progress for 30 s (Vol 3 Part H 3.4): the link needs a new connection to pair again. */
  | 'SMP_TIMEOUT'
  /** The link went away while pairing or encrypting. */
  | 'SMP_LINK_CLOSED'
  /** The application cancelled (AbortSignal) or refused. */
  | 'SMP_CANCELLED'
  /** Encryption could not be started or failed (no key at the peer, MIC failure, ...). */
  | 'SMP_ENCRYPTION_FAILED'
  /** A call made in a state where it means nothing (pairing twice at once, a passkey nobody asked for). */
  | 'SMP_INVALID_STATE'
  /** A key or value handed to a security function that cannot be one (a point not on P-256, ...). */
  | 'SMP_INVALID_KEY'

export interface SmpErrorOptions extends HcikitErrorOptions {
  /** True when we sent the Pairing Failed, false when the peer did. */
  local?: boolean
}

const HINTS: Partial<Record<number, string>> = {
  [SmpReason.PasskeyEntryFailed]: 'the passkey was not entered or entered wrongly on one side: try again',
  [SmpReason.OobNotAvailable]: 'give both sides the out-of-band data, or pair without OOB',
  [SmpReason.AuthenticationRequirements]:
    'the security asked for (MITM, Secure Connections) cannot be reached with these IO capabilities: change --io or the requirements',
  [SmpReason.ConfirmValueFailed]: 'the confirm values did not match: a wrong passkey, or someone in the middle',
  [SmpReason.PairingNotSupported]: 'the peer (or our delegate) refused to pair',
  [SmpReason.EncryptionKeySize]: 'the negotiated key is shorter than the minimum key size allowed',
  [SmpReason.RepeatedAttempts]: 'too many failed attempts with this peer: wait before pairing again',
  [SmpReason.DhKeyCheckFailed]:
    'the Diffie-Hellman check failed: an invalid public key (CVE-2018-5383) or someone in the middle',
  [SmpReason.NumericComparisonFailed]: 'the numbers shown on the two devices were not confirmed as equal',
}

export class SmpError extends HcikitError {
  override name = 'SmpError'
  /** True when we sent the Pairing Failed, false when the peer did (undefined when neither). */
  readonly local: boolean | undefined

  constructor(code: SmpErrorCode, message: string, options: SmpErrorOptions = {}) {
    const withName: SmpErrorOptions =
      options.status !== undefined && options.statusName === undefined
        ? { ...options, statusName: SMP_REASON_NAMES[options.status] ?? 'Reserved' }
        : options
    super(code, 'smp', message, withName)
    this.local = options.local
  }

  /** The Pairing Failed reason, when this error has one. */
  get reason(): number | undefined {
    return this.status
  }

  /** We send Pairing Failed with `reason`. */
  static local(reason: number, why: string): SmpError {
    const hint = HINTS[reason]
    return new SmpError('SMP_PAIRING_FAILED', `pairing failed: ${smpReasonName(reason)}: ${why}`, {
      status: reason,
      local: true,
      hint,
    })
  }

  /** The peer sent Pairing Failed with `reason`. */
  static remote(reason: number): SmpError {
    const hint = HINTS[reason]
    return new SmpError('SMP_PEER_FAILED', `the peer failed the pairing: ${smpReasonName(reason)}`, {
      status: reason,
      local: false,
      hint,
    })
  }

  static timeout(): SmpError {
    return new SmpError('SMP_TIMEOUT', 'pairing timed out: no SMP progress for 30 s (Vol 3 Part H 3.4)', {
      hint: 'the peer stopped answering; reconnect before pairing again (SMP allows no new pairing on this link)',
    })
  }
}
