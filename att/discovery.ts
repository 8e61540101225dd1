/**
 * GATT discovery with few round trips (Core v5.4 Vol 3 Part G 4.4-4.7; the ATT requests of
 * Part F 3.4.3-3.4.4).
 *
 * The spec's procedures walk the database service by service; we walk it in whole-database
 * passes and use what each pass taught us to shrink the next:
 *  1. Primary services: Read By Group Type (0x2800) over the whole range (4.4.1).
 *  2. Characteristics: Read By Type (0x2803) over the span of the services (4.6.1), stopping as
 *     soon as what is left cannot hold a declaration and its value.
 *  3. Includes: Read By Type (0x2802) in one pass (4.5.1), only over the handles that can hold
 *     an include (between a service declaration and its first characteristic; Part G 3.1:
 *     includes come first). Secondary services are those included ones; their 128-bit UUIDs
 *     and the Database Hash, all 16 octets, are read together with one Read Multiple.
 *  4. Descriptors (4.7.1): only in the handle gaps after a characteristic value that can hold
 *     them. Find Information ranges are merged across gaps when every known attribute between
 *     them has a 16-bit type (so one response carries them all); the common one-handle gaps
 *     of notifying characteristics are closed with one Read By Type sweep for the Client
 *     Characteristic Configuration type (0x2902) when the plan says it saves requests.
 *
 * Every response is checked: handles must increase and stay in the requested range, ranges must
 * not overlap, lengths must be the ones the spec allows. A peer that breaks a rule gets a
 * GattError 'GATT_BAD_PEER' naming it; every loop advances by at least one handle per request,
 * so discovery ends (the bearer's 30 s timeout covers a peer that stops answering).
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
import { decodeUuid, GattUuid, parseUuid, uuidToAttBytes, type Uuid } from './uuid.ts'
import {
  RemoteCharacteristic,
  RemoteDatabase,
  RemoteDescriptor,
  RemoteService,
  CharProps,
  linkIncludes,
} from './remote-database.ts'

/** What discovery needs from the bearer. */
export interface AttRequester {
  readonly mtu: number
  request(pdu: Uint8Array, opts?: { signal?: AbortSignal }): Promise<AttPdu>
}

export interface DiscoveryOptions {
  signal?: AbortSignal
  /** Handle range to discover (default the whole database, 0x0001-0xFFFF). */
  start?: number
  end?: number
  /** Also read the Database Hash (0x2B2A) if the peer has one (default false). */
  readHash?: boolean
  /** Use the CCCD sweep when the plan says it saves requests (default true). */
  cccdSweep?: boolean
}

type Range = [number, number]

export function badPeer(message: string): GattError {
  return new GattError('GATT_BAD_PEER', message, {
    hint: 'the peer GATT server broke a rule of Core v5.4 Vol 3 Part G 4; its database cannot be trusted',
  })
}

export function isAttErrorCode(e: unknown, code: number): e is AttError {
  return e instanceof AttError && e.code === 'ATT_ERROR_RESPONSE' && e.status === code
}

function uuidOf(bytes: Uint8Array, what: string): Uuid {
  const u = decodeUuid(bytes)
  if (u instanceof DecodeError || bytes.length === 4) throw badPeer(`${what}: a UUID of ${bytes.length} octets`)
  return u
}

interface ServiceRec {
  uuid: Uuid | undefined
  start: number
  end: number
  primary: boolean
  includes: { handle: number; start: number; end: number }[]
}

interface CharRec {
  handle: number
  properties: number
  valueHandle: number
  uuid: Uuid
  wide: boolean
}

// ---------------------------------------------------------------------------------------------
// The single procedures, also used on their own by the client.

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
async function findInformation(
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
async function readFixed(
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

// ---------------------------------------------------------------------------------------------
// Handle ranges

function subtract(ranges: Range[], a: number, b: number): Range[] {
  const out: Range[] = []
  for (const [s, e] of ranges) {
    if (e < a || s > b) out.push([s, e])
    else {
      if (s < a) out.push([s, a - 1])
      if (e > b) out.push([b + 1, e])
    }
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// The whole-database discovery

export interface DiscoveryResult {
  database: RemoteDatabase
  /** The Database Hash, when asked for and present. */
  hash: Uint8Array | undefined
}

export async function discoverDatabase(req: AttRequester, opts: DiscoveryOptions = {}): Promise<DiscoveryResult> {
  const { signal } = opts
  const start = opts.start ?? 1
  const end = opts.end ?? 0xffff

  // 1. Primary services.
  const services: ServiceRec[] = await findPrimaryServices(req, start, end, signal)
  const chars: CharRec[] = []
  /** Handles the characteristic pass has covered. */
  let uncovered: Range[] = [[start, end]]

  const charPass = async (s: number, e: number): Promise<void> => {
    if (e - s < 1) return
    const hasRoom = (from: number): boolean =>
      services.some((sv) => {
        const lo = Math.max(from, sv.start + 1)
        return Math.min(sv.end, e) - lo >= 1
      })
    const found = await findCharacteristics(req, s, e, signal, hasRoom)
    for (const c of found.chars) {
      if (chars.some((k) => k.handle === c.handle)) throw badPeer(`characteristic ${hex4(c.handle)} reported twice`)
      chars.push(c)
    }
    uncovered = subtract(uncovered, s, Math.min(e, found.next - 1))
  }

  // 2. Characteristics over the span of the services.
  if (services.length) await charPass(services[0]!.start, services.at(-1)!.end)

  // 3. Includes, in the handles that can hold them; secondary services found there.
  const includeScanned = new Set<ServiceRec>()
  const needUuid: ServiceRec[] = []
  for (let round = 0; ; round++) {
    const todo = services.filter((s) => !includeScanned.has(s))
    if (todo.length === 0) break
    if (round > 8) throw badPeer('included services nested more than 8 deep')
    for (const s of todo) {
      includeScanned.add(s)
      // The characteristic pass must have covered this service (secondaries found later).
      for (const [a, b] of uncovered) {
        const lo = Math.max(a, s.start + 1)
        const hi = Math.min(b, s.end)
        if (hi - lo >= 1) await charPass(lo, hi)
      }
    }
    const candidates: Range[] = []
    for (const s of todo) {
      const first = chars
        .filter((c) => c.handle > s.start && c.handle <= s.end)
        .reduce((m, c) => Math.min(m, c.handle), s.end + 1)
      if (first - 1 >= s.start + 1) candidates.push([s.start + 1, first - 1])
    }
    candidates.sort((x, y) => x[0] - y[0])
    let pending = candidates
    while (pending.length) {
      const lo = pending[0]![0]
      const hi = pending.at(-1)![1]
      const items = await readByType(req, GattUuid.Include, lo, hi, signal)
      if (items.length === 0) break
      for (const it of items) {
        const owner = services.find((s) => s.start < it.handle && it.handle <= s.end)
        if (!owner) throw badPeer(`include declaration at ${hex4(it.handle)} is outside every service`)
        if (chars.some((c) => c.handle === it.handle || c.valueHandle === it.handle)) {
          throw badPeer(`include declaration at ${hex4(it.handle)} collides with a characteristic`)
        }
        if (it.value.length !== 4 && it.value.length !== 6)
          throw badPeer(`include at ${hex4(it.handle)}: ${it.value.length} octets (4 or 6 expected)`)
        const incStart = it.value[0]! | (it.value[1]! << 8)
        const incEnd = it.value[2]! | (it.value[3]! << 8)
        if (incStart === 0 || incEnd < incStart)
          throw badPeer(`include at ${hex4(it.handle)}: range ${hex4(incStart)}-${hex4(incEnd)}`)
        if (incStart <= it.handle && it.handle <= incEnd)
          throw badPeer(`service at ${hex4(owner.start)} includes itself`)
        owner.includes.push({ handle: it.handle, start: incStart, end: incEnd })
        let target = services.find((s) => s.start === incStart)
        if (target && target.end !== incEnd) {
          throw badPeer(
            `include at ${hex4(it.handle)} gives ${hex4(incStart)}-${hex4(incEnd)}, the service there ends at ${hex4(target.end)}`,
          )
        }
        if (!target) {
          const clash = services.find((s) => !(incEnd < s.start || incStart > s.end))
          if (clash)
            throw badPeer(
              `included range ${hex4(incStart)}-${hex4(incEnd)} overlaps the service at ${hex4(clash.start)}-${hex4(clash.end)}`,
            )
          target = {
            uuid: it.value.length === 6 ? uuidOf(it.value.subarray(4), `include at ${hex4(it.handle)}`) : undefined,
            start: incStart,
            end: incEnd,
            primary: false,
            includes: [],
          }
          services.push(target)
          services.sort((x, y) => x.start - y.start)
          if (!target.uuid) needUuid.push(target)
        }
      }
      pending = subtract(pending, lo, items.at(-1)!.handle)
    }
  }

  // 16-octet values: 128-bit UUIDs of included secondary services, and the Database Hash.
  const hashChar = opts.readHash ? chars.find((c) => c.uuid === GattUuid.DatabaseHash) : undefined
  const fixed = [...needUuid.map((s) => s.start), ...(hashChar ? [hashChar.valueHandle] : [])]
  let hash: Uint8Array | undefined
  if (fixed.length) {
    const values = await readFixed(req, fixed, 16, signal)
    for (const s of needUuid) s.uuid = uuidOf(values.get(s.start)!, `secondary service at ${hex4(s.start)}`)
    if (hashChar) {
      hash = values.get(hashChar.valueHandle)
      if (hash?.length !== 16) throw badPeer(`Database Hash of ${hash?.length} octets`)
      hash = hash.slice()
    }
  }

  // Build the model (characteristics into services, end handles), then find descriptors.
  const model = services.map((s) => new RemoteService(s.uuid!, s.start, s.end, s.primary))
  services.forEach((s, i) => model[i]!.includeDeclarations.push(...s.includes))
  const owned: { rec: CharRec; service: RemoteService; endHandle: number }[] = []
  chars.sort((a, b) => a.handle - b.handle)
  for (const [i, s] of model.entries()) {
    const inside = chars.filter((c) => c.handle > s.start && c.handle <= s.end)
    inside.forEach((c, k) => {
      if (c.valueHandle > s.end)
        throw badPeer(
          `characteristic value ${hex4(c.valueHandle)} is outside its service ${hex4(s.start)}-${hex4(s.end)}`,
        )
      const next = inside[k + 1]
      owned.push({ rec: c, service: model[i]!, endHandle: next ? next.handle - 1 : s.end })
    })
  }
  const built = owned.map((o) => {
    const c = new RemoteCharacteristic(
      o.rec.uuid,
      o.rec.handle,
      o.rec.properties,
      o.rec.valueHandle,
      o.endHandle,
      o.service,
    )
    o.service.characteristics.push(c)
    return { c, wide: o.rec.wide }
  })
  await findDescriptors(req, built, model, opts.cccdSweep ?? true, signal)
  linkIncludes(model)
  return { database: new RemoteDatabase(model, hash), hash }
}

/**
 * Descriptors of the given characteristics (4.7.1), asking only about their handle gaps, with
 * merged Find Information ranges and an optional CCCD sweep.
 */
export async function findDescriptors(
  req: AttRequester,
  built: { c: RemoteCharacteristic; wide: boolean }[],
  services: RemoteService[],
  cccdSweep: boolean,
  signal?: AbortSignal,
): Promise<void> {
  // Known attribute types: true = 128-bit on the wire.
  const wide = new Map<number, boolean>()
  for (const s of services) {
    wide.set(s.start, false)
    for (const inc of s.includeDeclarations) wide.set(inc.handle, false)
  }
  for (const { c, wide: w } of built) {
    wide.set(c.handle, false)
    wide.set(c.valueHandle, w)
  }
  const owner = (h: number): RemoteCharacteristic | undefined =>
    built.find(({ c }) => c.valueHandle < h && h <= c.endHandle)?.c
  const addDescriptor = (h: number, uuid: Uuid, isWide: boolean): void => {
    const c = owner(h)
    if (!c) return
    if (c.descriptors.some((d) => d.handle === h)) return
    c.descriptors.push(new RemoteDescriptor(uuid, h, c))
    c.descriptors.sort((a, b) => a.handle - b.handle)
    wide.set(h, isWide)
  }
  let gaps: Range[] = built
    .filter(({ c }) => c.endHandle > c.valueHandle)
    .map(({ c }) => [c.valueHandle + 1, c.endHandle] as Range)
  gaps.sort((a, b) => a[0] - b[0])
  if (gaps.length === 0) return

  const capacity = Math.max(1, Math.floor((req.mtu - 2) / 4))
  const wideIn = (a: number, b: number): boolean => {
    for (const [h, w] of wide) if (w && h >= a && h <= b) return true
    return false
  }
  /** Group gaps into Find Information ranges. */
  const clusters = (gs: Range[]): Range[] => {
    const out: Range[] = []
    for (const g of gs) {
      const cur = out.at(-1)
      if (cur && !wideIn(cur[1] + 1, g[0] - 1) && g[1] - cur[0] + 1 <= capacity) cur[1] = g[1]
      else out.push([g[0], g[1]])
    }
    return out
  }

  // The CCCD sweep, if it saves requests: predict the notifying characteristics' CCCD at the
  // first handle of their gap.
  if (cccdSweep) {
    const notifying = gaps.filter((g) => {
      const c = owner(g[0])
      return c !== undefined && (c.properties & (CharProps.Notify | CharProps.Indicate)) !== 0
    })
    let predicted = gaps
    for (const g of notifying) predicted = subtract(predicted, g[0], g[0])
    const withSweep = Math.ceil(notifying.length / capacity) + clusters(predicted).length
    if (notifying.length && withSweep < clusters(gaps).length) {
      let lo = notifying[0]![0]
      const hi = notifying.at(-1)![1]
      while (lo <= hi) {
        let items: { handle: number; value: Uint8Array }[]
        try {
          items = await readByType(req, GattUuid.ClientCharacteristicConfiguration, lo, hi, signal)
        } catch (e) {
          // e.g. a peer that wants encryption to read it: Find Information will do.
          if (e instanceof AttError && e.code === 'ATT_ERROR_RESPONSE') break
          throw e
        }
        if (items.length === 0) break
        for (const it of items) {
          if (!owner(it.handle)) throw badPeer(`CCCD at ${hex4(it.handle)} is not after a characteristic value`)
          if (it.value.length !== 2) throw badPeer(`CCCD at ${hex4(it.handle)}: ${it.value.length} octets`)
          addDescriptor(it.handle, GattUuid.ClientCharacteristicConfiguration, false)
          gaps = subtract(gaps, it.handle, it.handle)
        }
        const last = items.at(-1)!.handle
        // Notifying gaps up to `last` without a CCCD in them keep their handles for Find Information.
        const left = notifying.filter((g) => g[0] > last)
        if (left.length === 0) break
        lo = left[0]![0]
      }
    }
  }

  // Find Information over merged ranges until no gap is left.
  while (gaps.length) {
    const [cs, ce] = clusters(gaps)[0]!
    const items = await findInformation(req, cs, ce, signal)
    if (items.length === 0) {
      gaps = subtract(gaps, cs, ce)
      continue
    }
    for (const it of items) {
      if (gaps.some(([a, b]) => a <= it.handle && it.handle <= b)) addDescriptor(it.handle, it.uuid, it.wide)
    }
    gaps = subtract(gaps, cs, items.at(-1)!.handle)
  }
}
