/**
 * The server's write requests and commands (Core v5.4 Vol 3 Part F 3.4.5 "Writing
 * attributes" and 3.4.6 "Queued writes"): Write Request, Write Command, Signed Write Command,
 * Prepare Write Request and Execute Write Request.
 *
 * Queued writes: a Prepare Write is checked for handle and permission when it arrives and
 * queued (the queue is bounded by entries and octets: Prepare Queue Full); offsets and lengths
 * are checked when the Execute Write Request arrives (3.4.6.3), for every queued value before
 * any is written, so an Invalid Offset or Invalid Attribute Value Length leaves every attribute
 * as it was. Queued parts for one handle whose offsets follow each other are written as one
 * value. The queue is emptied by every Execute Write Request, whatever its outcome.
 */
import { AttErrorCode, encodeAttPdu, PrepareWriteResponse, WriteResponse, ExecuteWriteResponse } from './pdu.ts'
import type { Attribute, AttributeDatabase } from './database.ts'
import type { ServerConnection } from './server-connection.ts'
import { Reject, checkWriteRange, writeError, writeValue, type WriteKind } from './server-access.ts'

function writable(db: AttributeDatabase, conn: ServerConnection, handle: number, kind: WriteKind): Attribute {
  const a = db.get(handle)
  if (a === undefined) throw new Reject(handle, AttErrorCode.InvalidHandle)
  const err = writeError(conn, a, kind)
  if (err !== 0) throw new Reject(handle, err)
  return a
}

export async function writeRequest(
  db: AttributeDatabase,
  conn: ServerConnection,
  handle: number,
  value: Uint8Array,
): Promise<Uint8Array> {
  const a = writable(db, conn, handle, 'request')
  await writeValue(conn, a, value, { offset: 0, withoutResponse: false })
  return encodeAttPdu(WriteResponse, {})
}

/** Write Command (3.4.5.3): no response, whatever happens. */
export async function writeCommand(
  db: AttributeDatabase,
  conn: ServerConnection,
  handle: number,
  value: Uint8Array,
): Promise<void> {
  try {
    const a = writable(db, conn, handle, 'command')
    await writeValue(conn, a, value, { offset: 0, withoutResponse: true })
  } catch (e) {
    if (!(e instanceof Reject)) throw e
    conn.stats.ignoredCommands++
  }
}

/**
 * Signed Write Command (3.4.5.4): written only when the connection can verify signatures
 * (`verifySignedWrite`, backed by the peer's CSRK) and the signature holds; otherwise ignored.
 */
export async function signedWriteCommand(
  db: AttributeDatabase,
  conn: ServerConnection,
  pdu: Uint8Array,
  handle: number,
  value: Uint8Array,
  signature: Uint8Array,
): Promise<void> {
  try {
    const verify = conn.verifySignedWrite
    if (verify === undefined) throw new Reject(handle, AttErrorCode.RequestNotSupported)
    const a = writable(db, conn, handle, 'signed')
    let ok = false
    try {
      ok = (await verify(pdu.subarray(0, pdu.length - signature.length), signature)) === true
    } catch {
      ok = false
    }
    if (!ok) throw new Reject(handle, AttErrorCode.InsufficientAuthentication)
    await writeValue(conn, a, value, { offset: 0, withoutResponse: true, signed: true })
  } catch (e) {
    if (!(e instanceof Reject)) throw e
    conn.stats.ignoredCommands++
  }
}

export function prepareWrite(
  db: AttributeDatabase,
  conn: ServerConnection,
  handle: number,
  offset: number,
  value: Uint8Array,
): Uint8Array {
  writable(db, conn, handle, 'request')
  if (
    conn.prepareQueue.length >= conn.prepareQueueLimit ||
    conn.preparedBytes + value.length > conn.prepareQueueBytes
  ) {
    throw new Reject(handle, AttErrorCode.PrepareQueueFull)
  }
  const copy = value.slice()
  conn.prepareQueue.push({ handle, offset, value: copy })
  conn.preparedBytes += copy.length
  return encodeAttPdu(PrepareWriteResponse, { handle, offset, value: copy })
}

interface Segment {
  attribute: Attribute
  offset: number
  value: Uint8Array
}

/** Queued parts grouped by handle (in the order the handles first appear), contiguous parts joined. */
function segments(db: AttributeDatabase, conn: ServerConnection): Segment[] {
  const byHandle = new Map<number, { offset: number; parts: Uint8Array[]; end: number }[]>()
  for (const p of conn.prepareQueue) {
    let list = byHandle.get(p.handle)
    if (list === undefined) byHandle.set(p.handle, (list = []))
    const last = list.at(-1)
    if (last !== undefined && last.end === p.offset) {
      last.parts.push(p.value)
      last.end += p.value.length
    } else {
      list.push({ offset: p.offset, parts: [p.value], end: p.offset + p.value.length })
    }
  }
  const out: Segment[] = []
  for (const [handle, list] of byHandle) {
    const a = db.get(handle)
    // The database may have changed since the Prepare Write.
    if (a === undefined) throw new Reject(handle, AttErrorCode.InvalidHandle)
    const err = writeError(conn, a, 'request')
    if (err !== 0) throw new Reject(handle, err)
    for (const s of list) {
      const value = new Uint8Array(s.end - s.offset)
      let at = 0
      for (const part of s.parts) {
        value.set(part, at)
        at += part.length
      }
      out.push({ attribute: a, offset: s.offset, value })
    }
  }
  return out
}

/** Check every segment as it would be written, in order, before writing any. */
function validate(list: Segment[]): void {
  const lengths = new Map<Attribute, number>()
  for (const s of list) {
    const a = s.attribute
    if (a.onRead === undefined && a.special === undefined) {
      const current = lengths.get(a) ?? a.value?.length ?? 0
      if (s.offset > current) throw new Reject(a.handle, AttErrorCode.InvalidOffset)
      if (s.offset + s.value.length > a.maxLength) throw new Reject(a.handle, AttErrorCode.InvalidAttributeValueLength)
      lengths.set(a, s.offset + s.value.length)
    } else {
      checkWriteRange(a, s.offset, s.value.length)
    }
  }
}

export async function executeWrite(db: AttributeDatabase, conn: ServerConnection, flags: number): Promise<Uint8Array> {
  if (flags !== 0x00 && flags !== 0x01) throw new Reject(0, AttErrorCode.InvalidPdu)
  try {
    if (flags === 0x01 && conn.prepareQueue.length > 0) {
      const list = segments(db, conn)
      validate(list)
      for (const s of list)
        await writeValue(conn, s.attribute, s.value, { offset: s.offset, withoutResponse: false, prepared: true })
    }
  } finally {
    conn.clearPrepareQueue()
  }
  return encodeAttPdu(ExecuteWriteResponse, {})
}
