/**
 * The one error base class of hcikit (ARCHITECTURE.md, house style 6).
 *
 * Every error the stack raises carries a stable `code` string, the protocol layer it comes from,
 * and, where the protocol defines one, the numeric status with its name from the specification.
 * A `hint` tells the user what to do when there is something useful to say.
 */

export type Protocol = 'hci' | 'l2cap' | 'att' | 'smp' | 'transport' | 'capture' | 'usage'

export interface HcikitErrorOptions {
  /** Numeric status from the protocol (HCI status, ATT error code, SMP reason...). */
  status?: number
  /** The specification's name for `status`. */
  statusName?: string
  /** What the user can do about it. */
  hint?: string
  cause?: unknown
}

export class HcikitError extends Error {
  override name = 'HcikitError'
  readonly status?: number
  readonly statusName?: string
  readonly hint?: string

  constructor(
    readonly code: string,
    readonly protocol: Protocol,
    message: string,
    options: HcikitErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    if (options.status !== undefined) this.status = options.status
    if (options.statusName !== undefined) this.statusName = options.statusName
    if (options.hint !== undefined) this.hint = options.hint
  }
}

/**
 * Bytes that do not decode. `field` names what was being read and `offset` where (relative to
 * the start of the buffer being decoded). Decoders never let this escape as an exception from
 * their public entry points: they return it as a value.
 */
export class DecodeError extends HcikitError {
  override name = 'DecodeError'
  constructor(
    readonly field: string,
    readonly offset: number,
    message: string,
  ) {
    super('DECODE', 'hci', `${field} at offset ${offset}: ${message}`)
  }
}

/** Something wrong with a byte stream's framing (an H4 type byte we do not know, ...). */
export class FramingError extends HcikitError {
  override name = 'FramingError'
  constructor(
    message: string,
    readonly offset: number,
    readonly byte?: number,
  ) {
    super('FRAMING', 'transport', message, {
      hint: 'the byte stream lost synchronisation; a UART transport resynchronises on the next plausible packet',
    })
  }
}

/** An HCI command that failed (non-zero status), timed out, or could not be sent. */
export class HciError extends HcikitError {
  override name = 'HciError'
}

/** The transport went away or failed. */
export class TransportError extends HcikitError {
  override name = 'TransportError'
  constructor(message: string, options: HcikitErrorOptions = {}) {
    super('TRANSPORT', 'transport', message, options)
  }
}

/** ACL framing problems: continuation without start, start while incomplete, lying length. */
export class AclError extends HcikitError {
  override name = 'AclError'
  constructor(
    code: string,
    message: string,
    readonly handle: number,
  ) {
    super(code, 'l2cap', message)
  }
}

/** An error from reading or writing a capture file. */
export class CaptureError extends HcikitError {
  override name = 'CaptureError'
  constructor(message: string, options: HcikitErrorOptions = {}) {
    super('CAPTURE', 'capture', message, options)
  }
}
