/**
 * How a command handler of the virtual controller refuses: it throws a ControllerError with the
 * HCI status (Core v5.4 Vol 1 Part F, Controller Error Codes) that the core (core.ts) puts in the
 * Command Complete or Command Status event (Vol 4 Part E 7.7.14 / 7.7.15). The message is for
 * logs and tests; the host only sees the status.
 */

/** A command answered with a status other than success (thrown by handlers). */
export class ControllerError extends Error {
  constructor(
    readonly status: number,
    message?: string,
  ) {
    super(message ?? `status 0x${status.toString(16).padStart(2, '0')}`)
    this.name = 'ControllerError'
  }
}

/** Throw a ControllerError: `cond || fail(Status.X, 'why')` reads as the spec's rule. */
export function fail(status: number, message?: string): never {
  throw new ControllerError(status, message)
}
