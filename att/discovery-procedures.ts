/**
 * The single GATT discovery procedures and the checks of every answer (Core v5.4 Vol 3 Part G
 * 4.4.1 Discover All Primary Services, 4.4.2 by Service UUID, 4.6.1 Discover All
 * Characteristics of a Service, 4.7.1 Discover All Characteristic Descriptors; the ATT requests of
 * Part F 3.4.3-3.4.4). att/discovery.ts combines them into whole-database passes; the client also
 * uses them one by one.
 *
 * Every response is checked: handles must increase and stay in the requested range, ranges must
 * not overlap, lengths must be the ones the spec allows. A peer that breaks a rule gets a
 * GattError 'GATT_BAD_PEER' naming it; every loop advances by at least one handle per request.
 */
import { DecodeError } from '../hci/errors.ts'
import {
  type AttPdu,
  encodeAttPdu,
  isAttPdu,
  AttErrorCode,
  FindByTypeValueRequest,
  FindByTypeValueResponse,
  FindInformationRequest,
  FindInformationResponse,
  ReadByGroupTypeRequest,
  ReadByGroupTypeResponse,
  ReadByTypeRequest,
  ReadByTypeResponse,
  ReadMultipleRequest,
  ReadMultipleResponse,
  ReadRequest,
  ReadResponse,
} from './pdu.ts'
import { AttError, GattError, hex4 } from './errors.ts'
import { decodeUuid, parseUuid, uuidToAttBytes, type Uuid } from './uuid.ts'

/** What discovery needs from the bearer. */
export interface AttRequester {
  readonly mtu: number
  request(pdu: Uint8Array, opts?: { signal?: AbortSignal }): Promise<AttPdu>
}

export function badPeer(message: string): GattError {
  return new GattError('GATT_BAD_PEER', message, {
    hint: 'the peer GATT server broke a rule of Core v5.4 Vol 3 Part G 4; its database cannot be trusted',
  })
}

export function isAttErrorCode(e: unknown, code: number): e is AttError {
  return e instanceof AttError && e.code === 'ATT_ERROR_RESPONSE' && e.status === code
}

export function uuidOf(bytes: Uint8Array, what: string): Uuid {
  const u = decodeUuid(bytes)
  if (u instanceof DecodeError || bytes.length === 4) throw badPeer(`${what}: a UUID of ${bytes.length} octets`)
  return u
}

export interface ServiceRec {
  uuid: Uuid | undefined
  start: number
  end: number
  primary: boolean
  includes: { handle: number; start: number; end: number }[]
}

export interface CharRec {
  handle: number
  properties: number
  valueHandle: number
  uuid: Uuid
  wide: boolean
}

/** Discover All Primary Services (4.4.1) in [start, end]. */
export async function findPrimaryServices(
  req: AttRequester,
  start: number,
  end: number,
  signal?: AbortSignal,
): Promise<ServiceRec[]> {
  const out: ServiceRec[] = []
  let from = start
  let lastStart = 0
  let lastEnd = start - 1
  while (from <= end) {
    let rsp: AttPdu
    try {
      rsp = await req.request(
        encodeAttPdu(ReadByGroupTypeRequest, { startingHandle: from, endingHandle: end, groupType: '2800' }),
        { signal },
      )
    } catch (e) {
      if (isAttErrorCode(e, AttErrorCode.AttributeNotFound)) break
      throw e
    }
    if (!isAttPdu(rsp, ReadByGroupTypeResponse)) throw badPeer(`${rsp.name} to Read By Group Type`)
    const items = rsp.params.attributeData
    if (items.length === 0) throw badPeer('empty Read By Group Type Response')
    for (const it of items) {
      if (it.handle < from || it.handle > end)
        throw badPeer(`service at ${hex4(it.handle)} is outside the requested range ${hex4(from)}-${hex4(end)}`)
      if (it.handle <= lastStart)
        throw badPeer(`service handles do not increase (${hex4(it.handle)} after ${hex4(lastStart)})`)
      if (it.handle <= lastEnd)
        throw badPeer(
          `overlapping services: ${hex4(it.handle)} starts inside the previous one (ending ${hex4(lastEnd)})`,
        )
      if (it.endGroupHandle < it.handle)
        throw badPeer(`service at ${hex4(it.handle)} ends before it starts (${hex4(it.endGroupHandle)})`)
      out.push({
        uuid: uuidOf(it.value, `service at ${hex4(it.handle)}`),
        start: it.handle,
        end: it.endGroupHandle,
        primary: true,
        includes: [],
      })
      lastStart = it.handle
      lastEnd = it.endGroupHandle
    }
    if (lastEnd >= end) break
    from = lastEnd + 1
  }
  return out
}

/** Discover Primary Service by Service UUID (4.4.2) in [start, end]. */
export async function findPrimaryServicesByUuid(
  req: AttRequester,
  uuid: Uuid,
  start: number,
  end: number,
  signal?: AbortSignal,
): Promise<ServiceRec[]> {
  const out: ServiceRec[] = []
  let from = start
  let lastEnd = start - 1
  let lastStart = 0
  const value = uuidToAttBytes(uuid)
  while (from <= end) {
    let rsp: AttPdu
    try {
      rsp = await req.request(
        encodeAttPdu(FindByTypeValueRequest, {
          startingHandle: from,
          endingHandle: end,
          attributeType: 0x2800,
          attributeValue: value,
        }),
        { signal },
      )
    } catch (e) {
      if (isAttErrorCode(e, AttErrorCode.AttributeNotFound)) break
      throw e
    }
    if (!isAttPdu(rsp, FindByTypeValueResponse)) throw badPeer(`${rsp.name} to Find By Type Value`)
    const items = rsp.params.handlesInformation
    if (items.length === 0) throw badPeer('empty Find By Type Value Response')
    for (const it of items) {
      const h = it.foundHandle
      if (h < from || h > end)
        throw badPeer(`service at ${hex4(h)} is outside the requested range ${hex4(from)}-${hex4(end)}`)
      if (h <= lastStart) throw badPeer(`service handles do not increase (${hex4(h)} after ${hex4(lastStart)})`)
      if (h <= lastEnd)
        throw badPeer(`overlapping services: ${hex4(h)} starts inside the previous one (ending ${hex4(lastEnd)})`)
      if (it.groupEndHandle < h)
        throw badPeer(`service at ${hex4(h)} ends before it starts (${hex4(it.groupEndHandle)})`)
      out.push({ uuid, start: h, end: it.groupEndHandle, primary: true, includes: [] })
      lastStart = h
      lastEnd = it.groupEndHandle
    }
    if (lastEnd >= end) break
    from = lastEnd + 1
  }
  return out
}

/**
 * Discover All Characteristics (4.6.1) with Read By Type over [start, end]. `hasRoom(from)`
 * says whether handles from `from` on can still hold a declaration and its value. `next` is
 * the first handle not searched (end + 1 when the peer said there is nothing more).
 */
export async function findCharacteristics(
  req: AttRequester,
  start: number,
  end: number,
  signal?: AbortSignal,
  hasRoom: (from: number) => boolean = (from) => end - from >= 1,
): Promise<{ chars: CharRec[]; next: number }> {
  const out: CharRec[] = []
  let from = start
  let last: CharRec | undefined
  while (end - from >= 1 && hasRoom(from)) {
    let rsp: AttPdu
    try {
      rsp = await req.request(
        encodeAttPdu(ReadByTypeRequest, { startingHandle: from, endingHandle: end, attributeType: '2803' }),
        { signal },
      )
    } catch (e) {
      if (isAttErrorCode(e, AttErrorCode.AttributeNotFound)) return { chars: out, next: end + 1 }
      throw e
    }
    if (!isAttPdu(rsp, ReadByTypeResponse)) throw badPeer(`${rsp.name} to Read By Type`)
    const items = rsp.params.attributeData
    if (items.length === 0) throw badPeer('empty Read By Type Response')
    for (const it of items) {
      const where = `characteristic declaration at ${hex4(it.handle)}`
      if (it.handle < from || it.handle > end)
        throw badPeer(`${where} is outside the requested range ${hex4(from)}-${hex4(end)}`)
      if (last && it.handle <= last.handle)
        throw badPeer(`characteristic handles do not increase (${hex4(it.handle)} after ${hex4(last.handle)})`)
      if (last && it.handle <= last.valueHandle)
        throw badPeer(`${where} overlaps the value of the previous one (${hex4(last.valueHandle)})`)
      if (it.value.length !== 5 && it.value.length !== 19)
        throw badPeer(`${where}: ${it.value.length} octets (5 or 19 expected)`)
      const valueHandle = it.value[1]! | (it.value[2]! << 8)
      if (valueHandle <= it.handle)
        throw badPeer(`${where}: value handle ${hex4(valueHandle)} does not follow the declaration`)
      last = {
        handle: it.handle,
        properties: it.value[0]!,
        valueHandle,
        uuid: uuidOf(it.value.subarray(3), where),
        wide: it.value.length === 19,
      }
      out.push(last)
    }
    from = last!.valueHandle + 1
  }
  return { chars: out, next: Math.max(from, start) }
}

/** Find Information (4.7.1) over [start, end]: [handle, uuid, 128-bit?] in handle order. */
export async function findInformation(
  req: AttRequester,
  start: number,
  end: number,
  signal?: AbortSignal,
): Promise<{ handle: number; uuid: Uuid; wide: boolean }[]> {
  let rsp: AttPdu
  try {
    rsp = await req.request(encodeAttPdu(FindInformationRequest, { startingHandle: start, endingHandle: end }), {
      signal,
    })
  } catch (e) {
    if (isAttErrorCode(e, AttErrorCode.AttributeNotFound)) return []
    throw e
  }
  if (!isAttPdu(rsp, FindInformationResponse)) throw badPeer(`${rsp.name} to Find Information`)
  const items = rsp.params.information
  if (items.length === 0) throw badPeer('empty Find Information Response')
  let prev = start - 1
  return items.map((it) => {
    if (it.handle < start || it.handle > end)
      throw badPeer(`attribute ${hex4(it.handle)} is outside the requested range ${hex4(start)}-${hex4(end)}`)
    if (it.handle <= prev)
      throw badPeer(`Find Information handles do not increase (${hex4(it.handle)} after ${hex4(prev)})`)
    prev = it.handle
    return { handle: it.handle, uuid: parseUuid(it.uuid), wide: rsp.params!.format === 2 }
  })
}

/** Read By Type over [start, end] for one attribute type: the (handle, value) pairs, handles checked. */
export async function readByType(
  req: AttRequester,
  type: Uuid,
  start: number,
  end: number,
  signal?: AbortSignal,
): Promise<{ handle: number; value: Uint8Array }[]> {
  let rsp: AttPdu
  try {
    rsp = await req.request(
      encodeAttPdu(ReadByTypeRequest, { startingHandle: start, endingHandle: end, attributeType: wireUuid(type) }),
      { signal },
    )
  } catch (e) {
    if (isAttErrorCode(e, AttErrorCode.AttributeNotFound)) return []
    throw e
  }
  if (!isAttPdu(rsp, ReadByTypeResponse)) throw badPeer(`${rsp.name} to Read By Type`)
  const items = rsp.params.attributeData
  if (items.length === 0) throw badPeer('empty Read By Type Response')
  let prev = start - 1
  for (const it of items) {
    if (it.handle < start || it.handle > end)
      throw badPeer(`attribute ${hex4(it.handle)} is outside the requested range ${hex4(start)}-${hex4(end)}`)
    if (it.handle <= prev)
      throw badPeer(`Read By Type handles do not increase (${hex4(it.handle)} after ${hex4(prev)})`)
    prev = it.handle
  }
  return items
}

/** A UUID as the ATT PDU specs want it: "2a2b" when it has a 16-bit alias, else the 128-bit string. */
export function wireUuid(u: Uuid): string {
  const b = uuidToAttBytes(u)
  return b.length === 2 ? ((b[1]! << 8) | b[0]!).toString(16).padStart(4, '0') : u
}

/**
 * Read values whose length is known (16 octets each here): Read Multiple for as many as fit in
 * ATT_MTU-1, one Read for a single one; falls back to single Reads when the peer does not
 * support Read Multiple or the lengths do not add up.
 */
export async function readFixed(
  req: AttRequester,
  handles: number[],
  size: number,
  signal?: AbortSignal,
): Promise<Map<number, Uint8Array>> {
  const out = new Map<number, Uint8Array>()
  const single = async (h: number): Promise<void> => {
    const rsp = await req.request(encodeAttPdu(ReadRequest, { handle: h }), { signal })
    if (!isAttPdu(rsp, ReadResponse)) throw badPeer(`${rsp.name} to Read Request`)
    out.set(h, rsp.params.value)
  }
  const perRequest = Math.max(1, Math.floor((req.mtu - 1) / size))
  let multipleOk = true
  for (let i = 0; i < handles.length; i += perRequest) {
    const batch = handles.slice(i, i + perRequest)
    if (batch.length === 1 || !multipleOk) {
      for (const h of batch) await single(h)
      continue
    }
    let values: Uint8Array | undefined
    try {
      const rsp = await req.request(encodeAttPdu(ReadMultipleRequest, { handles: batch }), { signal })
      if (isAttPdu(rsp, ReadMultipleResponse) && rsp.params.values.length === batch.length * size)
        values = rsp.params.values
    } catch (e) {
      if (!isAttErrorCode(e, AttErrorCode.RequestNotSupported)) throw e
      multipleOk = false
    }
    if (!values) {
      for (const h of batch) await single(h)
      continue
    }
    batch.forEach((h, k) => out.set(h, values.subarray(k * size, (k + 1) * size)))
  }
  return out
}
