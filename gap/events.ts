/**
 * Small helpers gap/ shares for waiting on HCI events (Core v5.4 Vol 4 Part E 7.7): a wait that
 * always has a timeout (on the host's clock) and honours an AbortSignal, and the one error class
 * of gap/ (`GapError`, protocol 'hci', with the spec's status name when there is one).
 */
import type { Clock, HciHost } from '../hci/host.ts'
import type { HciEvent } from '../hci/events.ts'
import { HcikitError, type HcikitErrorOptions } from '../hci/errors.ts'
import { statusName } from '../hci/constants.ts'

export class GapError extends HcikitError {
  override name = 'GapError'
  constructor(code: string, message: string, options: HcikitErrorOptions = {}) {
    super(code, 'hci', message, options)
  }
}

/** An error carrying an HCI status (reason) and its name. */
export function statusError(code: string, message: string, status: number): GapError {
  const name = statusName(status)
  return new GapError(code, `${message}: ${name}`, { status, statusName: name })
}

export type EventOf<K extends HciEvent['key']> = Extract<HciEvent, { key: K }>

export interface WaitOptions {
  signal?: AbortSignal | undefined
  /** ms on the clock. */
  timeout: number
  /** Named in the timeout error: "LE Connection Update Complete for handle 0x0040". */
  what: string
}

/**
 * Resolve with the first event `pick` maps to a value (not undefined). Rejects with a GapError
 * 'TIMEOUT' after `timeout` on the clock, with the signal's reason on abort, or with what
 * `pick` throws.
 */
export function waitForEvent<T>(
  host: HciHost,
  clock: Clock,
  pick: (e: HciEvent) => T | undefined,
  o: WaitOptions,
): { promise: Promise<T>; cancel(): void } {
  let cancel = (): void => {}
  const promise = new Promise<T>((resolve, reject) => {
    if (o.signal?.aborted) return reject(o.signal.reason)
    let off = (): void => {}
    const done = (): void => {
      off()
      clock.clearTimeout(timer)
      o.signal?.removeEventListener('abort', onAbort)
    }
    const onAbort = (): void => {
      done()
      reject(o.signal!.reason)
    }
    const timer = clock.setTimeout(() => {
      done()
      reject(new GapError('TIMEOUT', `timed out after ${o.timeout} ms waiting for ${o.what}`))
    }, o.timeout)
    o.signal?.addEventListener('abort', onAbort, { once: true })
    off = host.onEvent((e) => {
      let v: T | undefined
      try {
        v = pick(e)
      } catch (err) {
        done()
        reject(err)
        return
      }
      if (v !== undefined) {
        done()
        resolve(v)
      }
    })
    cancel = done
  })
  return { promise, cancel: () => cancel() }
}
