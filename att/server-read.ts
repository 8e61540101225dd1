/**
 * The server's discovery and read requests (Core v5.4 Vol 3 Part F 3.4.3 "Find information"
 * and 3.4.4 "Reading attributes"): Find Information, Find By Type Value, Read By Type, Read,
 * Read Blob, Read Multiple, Read Multiple Variable Length, Read By Group Type.
 *
 * Each takes decoded parameters and returns the response PDU, sized to the connection's
 * ATT_MTU as each section prescribes, or throws a Reject for the Error Response.
 */
import {
  AttErrorCode,
  encodeAttPdu,
  FindInformationResponse,
  FindByTypeValueResponse,
  ReadByTypeResponse,
  ReadResponse,
  ReadBlobResponse,
  ReadMultipleResponse,
  ReadMultipleVariableResponse,
  ReadByGroupTypeResponse,
} from './pdu.ts'
import type { GroupData, HandleUuid, HandlesInformation, HandleValue, LengthValue } from './pdu.ts'
import { GattUuid, decodeUuid, parseUuid, shortUuid, uuid16 } from './uuid.ts'
import type { Uuid } from './uuid.ts'
import type { Attribute, AttributeDatabase } from './database.ts'
import type { ServerConnection } from './server-connection.ts'
import { Reject, readError, readValue } from './server-access.ts'

/** Invalid Handle for a range with starting handle 0 or after the ending handle (3.4.3.1 and others). */
export function checkRange(start: number, end: number): void {
  if (start === 0 || start > end) throw new Reject(start, AttErrorCode.InvalidHandle)
}

/** A UUID in the form FindInformationResponse encodes: 4 hex digits for 16 bits, else 128. */
function wireUuid(u: Uuid): string {
  return uuid16(u) !== undefined ? shortUuid(u) : u
}

export function findInformation(db: AttributeDatabase, conn: ServerConnection, start: number, end: number): Uint8Array {
  checkRange(start, end)
  const found = db.range(start, end)
  if (found.length === 0) throw new Reject(start, AttErrorCode.AttributeNotFound)
  const format = uuid16(found[0]!.type) !== undefined ? 1 : 2
  const max = Math.floor((conn.mtu - 2) / (format === 1 ? 4 : 18))
  const information: HandleUuid[] = []
  for (const a of found) {
    if (information.length >= max || (uuid16(a.type) !== undefined ? 1 : 2) !== format) break
    information.push({ handle: a.handle, uuid: wireUuid(a.type) })
  }
  return encodeAttPdu(FindInformationResponse, { format, information })
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

export async function findByTypeValue(
  db: AttributeDatabase,
  conn: ServerConnection,
  p: { startingHandle: number; endingHandle: number; attributeType: number; attributeValue: Uint8Array },
): Promise<Uint8Array> {
  checkRange(p.startingHandle, p.endingHandle)
  const type = parseUuid(p.attributeType)
  const max = Math.floor((conn.mtu - 1) / 4)
  const isService = type === GattUuid.PrimaryService || type === GattUuid.SecondaryService
  const wanted = isService ? decodeUuid(p.attributeValue) : undefined
  const out: HandlesInformation[] = []
  for (const a of db.range(p.startingHandle, p.endingHandle)) {
    if (out.length >= max) break
    if (a.type !== type || readError(conn, a) !== 0) continue
    let match: boolean
    if (isService) {
      // A service UUID matches in either size (Part F 3.2.1: compare 16-bit UUIDs as 128-bit).
      match = typeof wanted === 'string' && decodeUuid(a.value!) === wanted
    } else {
      let v: Uint8Array
      try {
        v = await readValue(db, conn, a, 0)
      } catch {
        continue
      }
      match = sameBytes(v, p.attributeValue)
    }
    if (match) out.push({ foundHandle: a.handle, groupEndHandle: a.groupEnd ?? a.handle })
  }
  if (out.length === 0) throw new Reject(p.startingHandle, AttErrorCode.AttributeNotFound)
  return encodeAttPdu(FindByTypeValueResponse, { handlesInformation: out })
}

/**
 * The attributes of `found` that one Read By Type / Read By Group Type Response holds: as many as
 * fit ATT_MTU, all of one value length (`overhead` octets of handles per item). An attribute
 * that cannot be read ends the list; if it is the first, its error is the answer.
 */
async function sameLengthValues(
  db: AttributeDatabase,
  conn: ServerConnection,
  found: Attribute[],
  overhead: number,
  cut: number,
): Promise<{ length: number; items: Array<{ a: Attribute; v: Uint8Array }> }> {
  const items: Array<{ a: Attribute; v: Uint8Array }> = []
  let length = 0
  for (const a of found) {
    if (items.length > 0 && 2 + (items.length + 1) * length > conn.mtu) break
    const err = readError(conn, a)
    if (err !== 0) {
      if (items.length === 0) throw new Reject(a.handle, err)
      break
    }
    let v: Uint8Array
    try {
      v = (await readValue(db, conn, a, 0)).subarray(0, cut)
    } catch (e) {
      if (items.length === 0) throw e
      break
    }
    if (items.length === 0) length = v.length + overhead
    else if (v.length + overhead !== length) break
    items.push({ a, v })
  }
  return { length, items }
}

/** Read By Type (3.4.4.1): the attributes of a type in a range (handle + value per item). */
export async function readByType(
  db: AttributeDatabase,
  conn: ServerConnection,
  start: number,
  end: number,
  type: Uuid,
): Promise<Uint8Array> {
  checkRange(start, end)
  const found = db.range(start, end).filter((a) => a.type === type)
  if (found.length === 0) throw new Reject(start, AttErrorCode.AttributeNotFound)
  const { length, items } = await sameLengthValues(db, conn, found, 2, Math.min(conn.mtu - 4, 253))
  const attributeData: HandleValue[] = items.map(({ a, v }) => ({ handle: a.handle, value: v }))
  return encodeAttPdu(ReadByTypeResponse, { length, attributeData })
}

function readable(db: AttributeDatabase, conn: ServerConnection, handle: number): Attribute {
  const a = db.get(handle)
  if (a === undefined) throw new Reject(handle, AttErrorCode.InvalidHandle)
  const err = readError(conn, a)
  if (err !== 0) throw new Reject(handle, err)
  return a
}

export async function read(db: AttributeDatabase, conn: ServerConnection, handle: number): Promise<Uint8Array> {
  const a = readable(db, conn, handle)
  const v = await readValue(db, conn, a, 0)
  return encodeAttPdu(ReadResponse, { value: v.subarray(0, conn.mtu - 1) })
}

/** Attributes whose value has a length fixed by the specification. */
function fixedLength(a: Attribute): boolean {
  if (a.kind === 'service' || a.kind === 'include' || a.kind === 'characteristic') return true
  if (a.special === 'cccd' || a.special === 'databaseHash' || a.special === 'clientSupportedFeatures') return true
  return a.type === GattUuid.ExtendedProperties || a.type === GattUuid.PresentationFormat
}

/**
 * Read Blob (3.4.4.5). An offset past the end is Invalid Offset; an offset equal to the length
 * reads nothing. A value of fixed length that a Read Response holds with room to spare
 * (<= ATT_MTU - 3: declarations, CCCD, Database Hash, ...) answers with Attribute Not Long, as
 * the spec allows; values an application defines are served from any offset.
 */
export async function readBlob(
  db: AttributeDatabase,
  conn: ServerConnection,
  handle: number,
  offset: number,
): Promise<Uint8Array> {
  const a = readable(db, conn, handle)
  const v = await readValue(db, conn, a, offset)
  if (offset > v.length) throw new Reject(handle, AttErrorCode.InvalidOffset)
  if (fixedLength(a) && v.length <= conn.mtu - 3) throw new Reject(handle, AttErrorCode.AttributeNotLong)
  return encodeAttPdu(ReadBlobResponse, { value: v.subarray(offset, offset + conn.mtu - 1) })
}

async function readAll(db: AttributeDatabase, conn: ServerConnection, handles: number[]): Promise<Uint8Array[]> {
  // Two or more handles (3.4.4.7, 3.4.4.11).
  if (handles.length < 2) throw new Reject(handles[0] ?? 0, AttErrorCode.InvalidPdu)
  const attrs = handles.map((h) => readable(db, conn, h))
  const values: Uint8Array[] = []
  for (const a of attrs) values.push(await readValue(db, conn, a, 0))
  return values
}

export async function readMultiple(
  db: AttributeDatabase,
  conn: ServerConnection,
  handles: number[],
): Promise<Uint8Array> {
  const values = await readAll(db, conn, handles)
  const all = new Uint8Array(values.reduce((n, v) => n + v.length, 0))
  let at = 0
  for (const v of values) {
    all.set(v, at)
    at += v.length
  }
  return encodeAttPdu(ReadMultipleResponse, { values: all.subarray(0, conn.mtu - 1) })
}

/** Read Multiple Variable (3.4.4.11): Length Value tuples, the list cut at ATT_MTU - 1 octets. */
export async function readMultipleVariable(
  db: AttributeDatabase,
  conn: ServerConnection,
  handles: number[],
): Promise<Uint8Array> {
  const values = await readAll(db, conn, handles)
  const out: LengthValue[] = []
  let room = conn.mtu - 1
  for (const v of values) {
    if (room < 2) break
    const shown = v.subarray(0, Math.min(v.length, room - 2))
    out.push({ length: v.length, value: shown })
    room -= 2 + shown.length
  }
  return encodeAttPdu(ReadMultipleVariableResponse, { values: out })
}

/** Read By Group Type (3.4.4.9); GATT groups by «Primary Service» and «Secondary Service» only. */
export async function readByGroupType(
  db: AttributeDatabase,
  conn: ServerConnection,
  start: number,
  end: number,
  type: Uuid,
): Promise<Uint8Array> {
  checkRange(start, end)
  if (type !== GattUuid.PrimaryService && type !== GattUuid.SecondaryService)
    throw new Reject(start, AttErrorCode.UnsupportedGroupType)
  const found = db.range(start, end).filter((a) => a.type === type)
  if (found.length === 0) throw new Reject(start, AttErrorCode.AttributeNotFound)
  const { length, items } = await sameLengthValues(db, conn, found, 4, Math.min(conn.mtu - 6, 251))
  const attributeData: GroupData[] = items.map(({ a, v }) => ({
    handle: a.handle,
    endGroupHandle: a.groupEnd ?? a.handle,
    value: v,
  }))
  return encodeAttPdu(ReadByGroupTypeResponse, { length, attributeData })
}
