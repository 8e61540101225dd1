/**
 * The errors of the public API, all from one base (hci/errors.ts HcikitError: a stable `code`,
 * the `protocol`, the spec's numeric `status` and its `statusName` where there is one, and a
 * `hint`), gathered here so a user imports them from one place, plus the one deadline helper
 * that gives every promise of the API its `timeout` and `signal` (ARCHITECTURE.md, house style 9).
 *
 * Error codes a user meets most: 'TIMEOUT' (a `timeout` option ran out), 'ABORTED' is never
 * used (an aborted call rejects with the signal's reason, as fetch does), 'NOT_FOUND' (find(),
 * client.characteristic(), and "nothing matched before the timeout" from find(), scan-to-connect and
 * the scanner alike), 'DISCONNECTED' (the link went away; status = the HCI reason),
 * 'ATT_ERROR_RESPONSE' (the peer refused; status = the ATT error code, Core v5.4 Vol 3 Part F
 * 3.4.1.1), 'CLOSED' (the adapter was closed), 'SMP_PAIRING_FAILED' / 'SMP_PEER_FAILED' (a
 * pairing failed; status = the Pairing Failed reason, Vol 3 Part H 3.5.5), 'SMP_ENCRYPTION_FAILED'
 * (the link would not encrypt with the bond's key), 'ALREADY_SERVING' / 'PSM_IN_USE' (a
 * StateError: the call does not fit what the adapter is already doing).
 */
import type { Clock } from '../hci/host.ts'
import { HcikitError, type HcikitErrorOptions, type Protocol } from '../hci/errors.ts'

export {
  HcikitError,
  DecodeError,
  FramingError,
  HciError,
  TransportError,
  AclError,
  CaptureError,
} from '../hci/errors.ts'
export type { Protocol, HcikitErrorOptions } from '../hci/errors.ts'
export { GapError } from '../gap/events.ts'
export { AttError, GattError } from '../att/errors.ts'
export { AttributeError, DatabaseError } from '../att/database.ts'
export { GattServerError } from '../att/server.ts'
export { UuidError } from '../att/uuid.ts'
export { SmpError, type SmpErrorCode } from '../gap/smp/errors.ts'
export { KeyStoreError } from '../gap/smp/keys.ts'
export { L2capError } from '../att/l2cap/link.ts'
export { TransportSpecError } from './transports/index.ts'

/** A `timeout` option ran out. */
export class TimeoutError extends HcikitError {
  override name = 'TimeoutError'
  constructor(message: string, options: HcikitErrorOptions & { protocol?: Protocol } = {}) {
    super('TIMEOUT', options.protocol ?? 'hci', message, options)
  }
}

/** Nothing matched: no advertisement within the timeout, no such service or characteristic. */
export class NotFoundError extends HcikitError {
  override name = 'NotFoundError'
  constructor(message: string, options: HcikitErrorOptions & { protocol?: Protocol } = {}) {
    super('NOT_FOUND', options.protocol ?? 'hci', message, options)
  }
}

/** The adapter (or the client) was closed: nothing more can be done with it. */
export class ClosedError extends HcikitError {
  override name = 'ClosedError'
  constructor(message: string) {
    super('CLOSED', 'usage', message, { hint: 'open() a new adapter / connect() again' })
  }
}

/**
 * The call does not fit what the adapter is already doing: serve() a second database
 * ('ALREADY_SERVING'), listen() on a PSM that has a listener ('PSM_IN_USE'). Nothing changed;
 * the hint says what to do instead.
 */
export class StateError extends HcikitError {
  override name = 'StateError'
  constructor(code: string, message: string, options: HcikitErrorOptions = {}) {
    super(code, 'usage', message, options)
  }
}

/**
 * An option the API cannot use, found before anything was sent: 'INVALID_PARAMETERS' (the code
 * gap/ uses for the same thing), with the option's name, the value and the range it must be in.
 */
export class ParameterError extends HcikitError {
  override name = 'ParameterError'
  constructor(message: string, options: HcikitErrorOptions = {}) {
    super('INVALID_PARAMETERS', 'usage', message, options)
  }
}

/** `timeout` (ms) and `signal` on every promise of the API. */
export interface CallOptions {
  signal?: AbortSignal | undefined
  /** Give up after this many milliseconds (on the adapter's clock: virtual time on a virtual link). */
  timeout?: number | undefined
}

/**
 * One signal for a call: aborted by the caller's `signal`, or with a TimeoutError once `timeout`
 * ms pass on `clock`. Call `done()` when the call settles (drops the timer and the listener).
 */
export function deadline(
  clock: Clock,
  o: CallOptions,
  what: string,
): { signal: AbortSignal | undefined; done(): void } {
  if (o.timeout === undefined) return { signal: o.signal, done: () => {} }
  const ac = new AbortController()
  const parent = o.signal
  const onAbort = (): void => ac.abort(parent!.reason)
  if (parent?.aborted) ac.abort(parent.reason)
  else parent?.addEventListener('abort', onAbort, { once: true })
  const ms = o.timeout
  const timer = clock.setTimeout(() => ac.abort(new TimeoutError(`${what}: no answer within ${ms} ms`)), ms)
  return {
    signal: ac.signal,
    done: () => {
      clock.clearTimeout(timer)
      parent?.removeEventListener('abort', onAbort)
    },
  }
}

/** Run `fn` under a deadline; see `deadline`. */
export function withDeadline<T>(
  clock: Clock,
  o: CallOptions,
  what: string,
  fn: (signal: AbortSignal | undefined) => Promise<T>,
): Promise<T> {
  if (o.timeout !== undefined || o.signal) return underDeadline(clock, o, what, fn)
  // Neither: nothing to arm (this runs for every write without response; docs/PERFORMANCE.md).
  try {
    return fn(undefined)
  } catch (e) {
    return Promise.reject(e)
  }
}

async function underDeadline<T>(
  clock: Clock,
  o: CallOptions,
  what: string,
  fn: (signal: AbortSignal | undefined) => Promise<T>,
): Promise<T> {
  const d = deadline(clock, o, what)
  try {
    if (d.signal?.aborted) throw d.signal.reason
    return await fn(d.signal)
  } finally {
    d.done()
  }
}
