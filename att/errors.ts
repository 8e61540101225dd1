/**
 * Errors of the Attribute Protocol and of the GATT client (Core v5.4 Vol 3 Part F 3.4.1.1 for
 * the error codes, 3.3.3 for the transaction timeout; Part G 4 for the procedures).
 *
 * `AttError` is what an ATT transaction fails with: the peer's Error Response (code
 * 'ATT_ERROR_RESPONSE', `status` = the ATT error code, `statusName` its spec name), a response
 * of the wrong type or that does not decode, the 30 s transaction timeout, a closed bearer, a
 * full request queue. It names the request opcode and the attribute handle concerned.
 *
 * `GattError` is what a GATT procedure fails with when the peer answered but the answer does not
 * make sense (handles that do not increase, overlapping ranges, an echoed prepare value that
 * differs), or when a lookup in the remote database is ambiguous or finds nothing.
 */
import { HcikitError, type HcikitErrorOptions } from '../hci/errors.ts'
import { attErrorName, attOpcodeName } from './pdu.ts'

export type AttErrorCodeString =
  /** The peer answered with an Error Response; `status` is the ATT error code. */
  | 'ATT_ERROR_RESPONSE'
  /** No response within the transaction timeout (30 s); the bearer is closed (Part F 3.3.3). */
  | 'ATT_TIMEOUT'
  /** The bearer is closed (timeout, link lost, close()); nothing more can be sent on it. */
  | 'ATT_CLOSED'
  /** A response that is not the one the outstanding request expects. */
  | 'ATT_UNEXPECTED_RESPONSE'
  /** A response that does not decode. */
  | 'ATT_MALFORMED_RESPONSE'
  /** Too many requests or commands waiting: await earlier ones first. */
  | 'ATT_QUEUE_FULL'
  /** A PDU longer than ATT_MTU, or a PDU of the wrong kind for the call. */
  | 'ATT_INVALID_PDU'

export interface AttErrorOptions extends HcikitErrorOptions {
  /** Opcode of the request (or command) concerned; 0 when none. */
  opcode?: number
  /** Attribute handle concerned; 0 when none. */
  handle?: number
}

export class AttError extends HcikitError {
  override name = 'AttError'
  /** The request opcode this error is about (0 when none). */
  readonly opcode: number
  /** The attribute handle this error is about (0 when none). */
  readonly handle: number

  constructor(code: AttErrorCodeString, message: string, options: AttErrorOptions = {}) {
    super(code, 'att', message, options)
    this.opcode = options.opcode ?? 0
    this.handle = options.handle ?? 0
  }

  /** The ATT error code of an Error Response (the same number as `status`), else undefined. */
  get errorCode(): number | undefined {
    return this.code === 'ATT_ERROR_RESPONSE' ? this.status : undefined
  }

  /** The error a peer's Error Response stands for. */
  static fromErrorResponse(requestOpcode: number, handle: number, errorCode: number): AttError {
    const name = attErrorName(errorCode)
    const where = handle ? ` on handle 0x${handle.toString(16).padStart(4, '0')}` : ''
    return new AttError('ATT_ERROR_RESPONSE', `${attOpcodeName(requestOpcode)}${where}: ${name}`, {
      opcode: requestOpcode,
      handle,
      status: errorCode,
      statusName: name,
      hint: HINTS[errorCode],
    })
  }
}

const HINTS: Record<number, string> = {
  0x05: 'pair with the peer (authenticated pairing) and retry',
  0x0f: 'encrypt the link (pair or use the bond) and retry',
  0x0c: 'pair again with a longer encryption key',
  0x12: 'the peer database changed: the client re-validates its cache and retries once',
}

export type GattErrorCode =
  /** The peer broke a rule of the procedure (handles not increasing, overlapping ranges, ...). */
  | 'GATT_BAD_PEER'
  /** A UUID matched more than one service or characteristic. */
  | 'GATT_AMBIGUOUS'
  /** Nothing with that UUID or handle in the remote database. */
  | 'GATT_NOT_FOUND'
  /** A reliable write whose echoed Prepare Write value differed; the queue was cancelled. */
  | 'GATT_RELIABLE_WRITE_MISMATCH'
  /** A value too long for the procedure (over 512 octets, or more than fits). */
  | 'GATT_VALUE_TOO_LONG'
  /** The characteristic does not support the operation (no notify/indicate, no CCCD). */
  | 'GATT_NOT_SUPPORTED'
  /** A buffer of received values overflowed (see the drop counter). */
  | 'GATT_DROPPED'
  /** A stored database (a cache entry, RemoteDatabase.toJSON() output) that is not consistent. */
  | 'GATT_INVALID_CACHE'

export class GattError extends HcikitError {
  override name = 'GattError'
  constructor(code: GattErrorCode, message: string, options: HcikitErrorOptions = {}) {
    super(code, 'att', message, options)
  }
}

export const hex4 = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`
