/**
 * Reading and writing one attribute on behalf of a client: permissions and security (Core v5.4
 * Vol 3 Part F 3.2.5 "Attribute permissions" and 4.x error handling, Vol 3 Part C 10.3
 * "authentication and encryption procedures" for which error a client gets), the values the
 * server keeps itself (Client Characteristic Configuration per connection, Part G 3.3.3.3;
 * Client Supported Features and Database Hash, Part G 7.2-7.3), and calling the application's
 * handlers.
 *
 * A refusal is thrown as a `Reject` (handle + ATT error code); the request dispatcher
 * (att/server.ts) turns it into an Error Response.
 */
import { HcikitError } from '../hci/errors.ts'
import { AttErrorCode } from './pdu.ts'
import type { Attribute, AttributeDatabase, Requirement, WriteOptions } from './database.ts'
import { MAX_ATTRIBUTE_LENGTH, Property } from './database-types.ts'
import { ClientFeature, type ServerConnection, type ServerSecurity } from './server-connection.ts'

/** A request refused with an ATT error code for a handle. */
export class Reject {
  constructor(
    readonly handle: number,
    readonly code: number,
  ) {}
}

/** The ATT error for a link that does not meet `req`, or 0. */
export function securityError(req: Requirement, sec: ServerSecurity): number {
  if (req.authenticated && !sec.authenticated) return AttErrorCode.InsufficientAuthentication
  // No encryption: with a bond the client can encrypt; without one it has to pair (Part C 10.3.2).
  if (req.encrypted && !sec.encrypted)
    return sec.bonded === false ? AttErrorCode.InsufficientAuthentication : AttErrorCode.InsufficientEncryption
  if (req.keySize > 0 && sec.keySize < req.keySize) return AttErrorCode.EncryptionKeySizeTooShort
  if (req.authorized && sec.authorized !== true) return AttErrorCode.InsufficientAuthorization
  return 0
}

/** 0 when `conn` may read `a`, else the error code. */
export function readError(conn: ServerConnection, a: Attribute): number {
  if (a.read === null) return AttErrorCode.ReadNotPermitted
  return securityError(a.read, conn.security)
}

export type WriteKind = 'request' | 'command' | 'signed'

/** 0 when `conn` may write `a` this way, else the error code. */
export function writeError(conn: ServerConnection, a: Attribute, kind: WriteKind): number {
  const allowed = kind === 'request' ? a.writeRequest : kind === 'command' ? a.writeCommand : a.signedWrite
  if (a.write === null || !allowed) return AttErrorCode.WriteNotPermitted
  return securityError(a.write, conn.security)
}

/** The ATT error code an exception from an application handler stands for. */
function handlerError(conn: ServerConnection, e: unknown): number {
  if (
    e instanceof HcikitError &&
    e.protocol === 'att' &&
    typeof e.status === 'number' &&
    Number.isInteger(e.status) &&
    e.status >= 1 &&
    e.status <= 0xff
  ) {
    return e.status
  }
  conn.stats.handlerErrors++
  return AttErrorCode.UnlikelyError
}

/** The whole current value of `a` for `conn` (permissions already checked). */
export async function readValue(
  db: AttributeDatabase,
  conn: ServerConnection,
  a: Attribute,
  offset: number,
): Promise<Uint8Array> {
  switch (a.special) {
    case 'cccd': {
      const v = conn.cccdValue(a.handle)
      return new Uint8Array([v & 0xff, v >>> 8])
    }
    case 'clientSupportedFeatures':
      return new Uint8Array([conn.clientFeatures])
    case 'databaseHash':
      if (!conn.changeAware) conn.hashRead = true
      return db.hashValue()
    case 'serviceChanged':
      return new Uint8Array(0)
    case undefined:
      break
  }
  if (a.onRead === undefined) return a.value ?? new Uint8Array(0)
  let v: unknown
  try {
    v = await a.onRead(conn, offset)
  } catch (e) {
    throw new Reject(a.handle, handlerError(conn, e))
  }
  if (!(v instanceof Uint8Array) || v.length > MAX_ATTRIBUTE_LENGTH) {
    conn.stats.handlerErrors++
    throw new Reject(a.handle, AttErrorCode.UnlikelyError)
  }
  return v
}

/** Checks a write of `length` octets at `offset` can succeed, without writing (Execute Write validates first). */
export function checkWriteRange(a: Attribute, offset: number, length: number): void {
  if (a.special === 'cccd' || a.special === 'clientSupportedFeatures') {
    if (offset !== 0) throw new Reject(a.handle, AttErrorCode.InvalidOffset)
    if (a.special === 'cccd' ? length !== 2 : length < 1)
      throw new Reject(a.handle, AttErrorCode.InvalidAttributeValueLength)
    return
  }
  const current = a.onRead === undefined ? (a.value?.length ?? 0) : a.maxLength
  if (offset > current) throw new Reject(a.handle, AttErrorCode.InvalidOffset)
  if (offset + length > a.maxLength) throw new Reject(a.handle, AttErrorCode.InvalidAttributeValueLength)
}

/** Write `value` at `opts.offset` into `a` for `conn` (permissions already checked). */
export async function writeValue(
  conn: ServerConnection,
  a: Attribute,
  value: Uint8Array,
  opts: WriteOptions,
): Promise<void> {
  checkWriteRange(a, opts.offset, value.length)
  if (a.special === 'cccd') return writeCccd(conn, a, value)
  if (a.special === 'clientSupportedFeatures') return writeClientFeatures(conn, a, value)
  if (a.onWrite !== undefined) {
    try {
      await a.onWrite(conn, value.slice(), opts)
    } catch (e) {
      throw new Reject(a.handle, handlerError(conn, e))
    }
  }
  if (a.onRead === undefined) {
    const current = a.value ?? new Uint8Array(0)
    const next = new Uint8Array(opts.offset + value.length)
    next.set(current.subarray(0, opts.offset))
    next.set(value, opts.offset)
    a.value = next
  }
}

/** Client Characteristic Configuration (Part G 3.3.3.3): bit 0 notifications, bit 1 indications. */
function writeCccd(conn: ServerConnection, a: Attribute, value: Uint8Array): void {
  const v = value[0]! | (value[1]! << 8)
  const props = a.characteristic?.properties ?? 0
  const allowed = (props & Property.notify ? 1 : 0) | (props & Property.indicate ? 2 : 0)
  if ((v & ~allowed) !== 0) throw new Reject(a.handle, AttErrorCode.ValueNotAllowed)
  if (v === 0) conn.cccd.delete(a.handle)
  else conn.cccd.set(a.handle, v)
}

/** Client Supported Features (Part G 7.2): a client may set bits but never clear one it set. */
function writeClientFeatures(conn: ServerConnection, a: Attribute, value: Uint8Array): void {
  const known = ClientFeature.RobustCaching | ClientFeature.EnhancedAtt | ClientFeature.MultipleHandleValueNotifications
  const next = value[0]! & known
  if ((conn.clientFeatures & ~next) !== 0) throw new Reject(a.handle, AttErrorCode.ValueNotAllowed)
  const enabling = (next & ClientFeature.RobustCaching) !== 0 && !conn.robustCaching
  conn.clientFeatures = next
  // A client that turns robust caching on knows the database it is talking to.
  if (enabling) conn.serviceChangedConfirmed()
}
