/**
 * GATT value procedures over an ATT bearer (Core v5.4 Vol 3 Part G 4.8-4.9; the PDUs of Part F
 * 3.4.4-3.4.6): reads (Read, Read Long with Read Blob, Read Multiple, Read Multiple Variable,
 * Read Using Characteristic UUID) and writes (Write Request, Write Command, Write Long with
 * Prepare/Execute Write, Reliable Writes).
 *
 * Long reads continue with Read Blob while a response fills ATT_MTU-1 octets; they end on a
 * shorter response, on Attribute Not Long / Invalid Offset at the end of the value, and never go
 * past 512 octets (the longest attribute value, Part F 3.2.9): a peer that keeps sending full
 * blobs gets a GattError instead of a loop. Prepared writes check every echoed Prepare Write
 * Response against what was sent; on a mismatch (or any error) the queue is cancelled with an
 * Execute Write Request (flags 0x00) before the error is thrown.
 */
import {
  encodeAttPdu,
  isAttPdu,
  AttErrorCode,
  ExecuteWriteRequest,
  PrepareWriteRequest,
  PrepareWriteResponse,
  ReadBlobRequest,
  ReadBlobResponse,
  ReadMultipleRequest,
  ReadMultipleResponse,
  ReadMultipleVariableRequest,
  ReadMultipleVariableResponse,
  ReadRequest,
  ReadResponse,
  WriteCommand,
  WriteRequest,
} from './pdu.ts'
import { GattError, hex4 } from './errors.ts'
import { badPeer, isAttErrorCode, readByType, type AttRequester } from './discovery.ts'
import { equalBytes } from '../hci/wire.ts'
import type { Uuid } from './uuid.ts'

/** The longest attribute value (Part F 3.2.9). */
export const MAX_VALUE_LENGTH = 512

export interface ValueRequester extends AttRequester {
  command(pdu: Uint8Array): Promise<void>
}

type Signal = { signal?: AbortSignal }

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/** Read Blob from `offset` until a short response; `first` is what was already read. */
async function readRest(
  req: AttRequester,
  handle: number,
  first: Uint8Array[],
  offset: number,
  opts: Signal,
): Promise<Uint8Array> {
  const parts = first
  let total = offset
  for (;;) {
    const full = req.mtu - 1
    let chunk: Uint8Array
    try {
      const rsp = await req.request(encodeAttPdu(ReadBlobRequest, { handle, offset: total }), opts)
      if (!isAttPdu(rsp, ReadBlobResponse)) throw badPeer(`${rsp.name} to Read Blob`)
      chunk = rsp.params.value
    } catch (e) {
      // The value ended exactly where the previous response did.
      if (
        total > 0 &&
        (isAttErrorCode(e, AttErrorCode.AttributeNotLong) || isAttErrorCode(e, AttErrorCode.InvalidOffset))
      )
        break
      throw e
    }
    if (chunk.length > 0) {
      parts.push(chunk)
      total += chunk.length
    }
    if (total > MAX_VALUE_LENGTH) {
      throw badPeer(
        `value at ${hex4(handle)} goes on past ${MAX_VALUE_LENGTH} octets (the longest an attribute may have)`,
      )
    }
    if (chunk.length < full) break
  }
  return concat(parts)
}

/**
 * Read a value (4.8.1), and the rest of it with Read Blob (4.8.3) when the first response
 * fills ATT_MTU-1. `offset` > 0 starts with Read Blob directly.
 */
export async function readValue(
  req: AttRequester,
  handle: number,
  opts: Signal & { offset?: number; long?: boolean } = {},
): Promise<Uint8Array> {
  const offset = opts.offset ?? 0
  if (offset > 0) return readRest(req, handle, [], offset, opts)
  const rsp = await req.request(encodeAttPdu(ReadRequest, { handle }), opts)
  if (!isAttPdu(rsp, ReadResponse)) throw badPeer(`${rsp.name} to Read Request`)
  const value = rsp.params.value
  if (opts.long === false || value.length < req.mtu - 1) return value
  return readRest(req, handle, [value], value.length, opts)
}

/** Read Multiple (4.8.4): the values, concatenated (the caller knows their lengths). */
export async function readMultiple(req: AttRequester, handles: number[], opts: Signal = {}): Promise<Uint8Array> {
  if (handles.length < 2) throw new RangeError('Read Multiple needs at least two handles')
  const rsp = await req.request(encodeAttPdu(ReadMultipleRequest, { handles }), opts)
  if (!isAttPdu(rsp, ReadMultipleResponse)) throw badPeer(`${rsp.name} to Read Multiple`)
  return rsp.params.values
}

/**
 * Read Multiple Variable Length (4.8.5): one value per handle. A value cut short by ATT_MTU
 * (its length field says more) is completed with Read Blob.
 */
export async function readMultipleVariable(
  req: AttRequester,
  handles: number[],
  opts: Signal = {},
): Promise<Uint8Array[]> {
  if (handles.length < 2) throw new RangeError('Read Multiple Variable needs at least two handles')
  const rsp = await req.request(encodeAttPdu(ReadMultipleVariableRequest, { handles }), opts)
  if (!isAttPdu(rsp, ReadMultipleVariableResponse)) throw badPeer(`${rsp.name} to Read Multiple Variable`)
  const got = rsp.params.values
  if (got.length > handles.length)
    throw badPeer(`Read Multiple Variable: ${got.length} values for ${handles.length} handles`)
  const out: Uint8Array[] = []
  for (const [i, h] of handles.entries()) {
    const v = got[i]
    if (!v) {
      // Values after the one the MTU cut off were not sent at all.
      out.push(await readValue(req, h, opts))
    } else if (v.value.length < v.length) {
      if (v.length > MAX_VALUE_LENGTH) throw badPeer(`Read Multiple Variable: a value of ${v.length} octets`)
      out.push(await readRest(req, h, [v.value], v.value.length, opts))
    } else out.push(v.value)
  }
  return out
}

/**
 * Read Using Characteristic UUID (4.8.2): every (handle, value) of that type in [start, end],
 * continuing after the last handle of each response. Values are as the server sent them (cut
 * at ATT_MTU-4 or 253 octets: read the rest with `readValue` when that matters).
 */
export async function readByUuid(
  req: AttRequester,
  uuid: Uuid,
  start: number,
  end: number,
  opts: Signal = {},
): Promise<{ handle: number; value: Uint8Array }[]> {
  const out: { handle: number; value: Uint8Array }[] = []
  let from = start
  while (from <= end) {
    const items = await readByType(req, uuid, from, end, opts.signal)
    if (items.length === 0) break
    out.push(...items.map((i) => ({ handle: i.handle, value: i.value })))
    const last = items.at(-1)!.handle
    if (last >= end) break
    from = last + 1
  }
  return out
}

/** Write Characteristic Value (4.9.3): Write Request, for values up to ATT_MTU-3. */
export async function writeValue(
  req: AttRequester,
  handle: number,
  value: Uint8Array,
  opts: Signal = {},
): Promise<void> {
  await req.request(encodeAttPdu(WriteRequest, { handle, value }), opts)
}

/** Write Without Response (4.9.1): resolves when the link took the frame. */
export async function writeCommand(req: ValueRequester, handle: number, value: Uint8Array): Promise<void> {
  if (value.length > req.mtu - 3) {
    throw new GattError(
      'GATT_VALUE_TOO_LONG',
      `${value.length} octets do not fit a Write Command at ATT_MTU ${req.mtu} (at most ${req.mtu - 3})`,
      {
        hint: 'use write() (a long write) or exchange a larger MTU first',
      },
    )
  }
  await req.command(encodeAttPdu(WriteCommand, { handle, value }))
}

export interface PreparedPart {
  handle: number
  value: Uint8Array
  /** Offset of `value` in the attribute (default 0). */
  offset?: number
}

/**
 * Queue `parts` with Prepare Write Requests (in ATT_MTU-5 chunks), check every echo, then
 * Execute Write (flags 0x01). Used by Write Long Characteristic Values (4.9.4) with one part
 * and by Reliable Writes (4.9.5) with several. Any failure cancels the queue (flags 0x00).
 */
export async function preparedWrite(req: AttRequester, parts: PreparedPart[], opts: Signal = {}): Promise<void> {
  let queued = false
  try {
    for (const part of parts) {
      const base = part.offset ?? 0
      const step = req.mtu - 5
      let pos = 0
      do {
        const chunk = part.value.subarray(pos, pos + step)
        const offset = base + pos
        queued = true
        const rsp = await req.request(
          encodeAttPdu(PrepareWriteRequest, { handle: part.handle, offset, value: chunk }),
          opts,
        )
        if (!isAttPdu(rsp, PrepareWriteResponse)) throw badPeer(`${rsp.name} to Prepare Write`)
        const echo = rsp.params
        if (echo.handle !== part.handle || echo.offset !== offset || !equalBytes(echo.value, chunk)) {
          throw new GattError(
            'GATT_RELIABLE_WRITE_MISMATCH',
            `the peer echoed handle ${hex4(echo.handle)} offset ${echo.offset} (${echo.value.length} octets) ` +
              `for handle ${hex4(part.handle)} offset ${offset} (${chunk.length} octets): write cancelled`,
            { hint: 'the value was corrupted on the way; the queued writes were cancelled and nothing was written' },
          )
        }
        pos += chunk.length
      } while (pos < part.value.length)
    }
    await req.request(encodeAttPdu(ExecuteWriteRequest, { flags: 0x01 }), opts)
  } catch (e) {
    if (queued) {
      // Cancel whatever the server queued; the original error is the one that matters.
      await req.request(encodeAttPdu(ExecuteWriteRequest, { flags: 0x00 })).catch(() => {})
    }
    throw e
  }
}
