/**
 * The twin file (docs/twin.schema.json): a device as a capture showed it, in plain JSON that
 * diffs well: its advertising (Core v5.4 Vol 3 Part C 11, advertising and scan response data as
 * hex), its GATT database with the handles it had (Vol 3 Part G 3: services, includes,
 * characteristics with their properties, descriptors), the values read from it, and the
 * notifications and indications it sent, with their timing.
 *
 * What the capture did not show is absent or marked, never invented: a value nobody read has no
 * `value`; a service whose characteristics were not all discovered has `characteristicsComplete:
 * false`; a characteristic whose descriptors were not all discovered has `descriptorsComplete:
 * false`; `servicesComplete` says whether the whole handle range was searched for services.
 *
 * `parseTwin` checks a file against this shape and says what is wrong and where (a TwinError
 * with the JSON path); it never trusts a length or a handle it has not checked.
 */
import { HcikitError } from '../../hci/errors.ts'
import { parseUuid } from '../../att/uuid.ts'

export const TWIN_FORMAT = 'hcikit-twin'
export const TWIN_VERSION = 1

/** Characteristic properties by name (Vol 3 Part G 3.3.1.1, Table 3.5), in bit order. */
export const PROPERTY_NAMES = [
  'broadcast',
  'read',
  'writeWithoutResponse',
  'write',
  'notify',
  'indicate',
  'authenticatedSignedWrites',
  'extendedProperties',
] as const
export type PropertyName = (typeof PROPERTY_NAMES)[number]

export interface TwinNotification {
  /** Milliseconds after the subscription (the CCCD write) that was captured, else after the connection. */
  atMs: number
  /** Hex. */
  value: string
  indication?: boolean
}

export interface TwinDescriptor {
  handle: number
  uuid: string
  value?: string
  valueTruncated?: boolean
  readError?: number
}

export interface TwinCharacteristic {
  /** The characteristic declaration's handle; its value is at `valueHandle`. */
  handle: number
  valueHandle: number
  uuid: string
  properties: PropertyName[]
  /** The value read (hex); absent: never read in the capture. */
  value?: string
  /** The value may be longer than what was read (read up to the ATT_MTU, no Read Blob followed). */
  valueTruncated?: boolean
  /** The ATT error code a read got (when no read succeeded). */
  readError?: number
  descriptorsComplete: boolean
  descriptors: TwinDescriptor[]
  notifications?: TwinNotification[]
}

export interface TwinInclude {
  handle: number
  serviceHandle: number
  endHandle: number
  uuid?: string
}

export interface TwinService {
  handle: number
  endHandle: number
  uuid: string
  primary: boolean
  includes: TwinInclude[]
  characteristicsComplete: boolean
  characteristics: TwinCharacteristic[]
}

/**
 * A small script, written by hand: when a central writes `onWrite.handle` (with exactly
 * `onWrite.value`, when given), the twin sends these notifications (or indications), each
 * `atMs` after the write. Twins made from captures have none.
 */
export interface TwinReaction {
  onWrite: { handle: number; value?: string }
  notify: Array<{ handle: number; value: string; atMs: number; indication?: boolean }>
}

/** An attribute the capture showed outside what was discovered (a read of a handle, a type from Find Information). */
export interface TwinAttribute {
  handle: number
  uuid?: string
  value?: string
  valueTruncated?: boolean
  readError?: number
}

export interface Twin {
  format: typeof TWIN_FORMAT
  version: typeof TWIN_VERSION
  source: { capture: string; frames: number; connections: number }
  device: { address: string; addressType: 'public' | 'random'; name?: string }
  advertising?: { data?: string; scanResponse?: string; connectable: boolean }
  /** The Server Rx MTU the device answered an Exchange MTU Request with. */
  mtu?: number
  servicesComplete: boolean
  services: TwinService[]
  otherAttributes: TwinAttribute[]
  /** Answers to writes (TwinReaction), in order; the first that matches a write runs. */
  reactions?: TwinReaction[]
}

/** The twin file does not have the documented shape; `path` is where (e.g. `services[2].handle`). */
export class TwinError extends HcikitError {
  override name = 'TwinError'
  constructor(
    readonly path: string,
    /** What is wrong, without the path. */
    readonly detail: string,
  ) {
    super('TWIN_INVALID', 'usage', `${path ? `${path}: ` : ''}${detail}`, {
      hint: 'a twin file is made by `hcikit twin CAPTURE`; its format is docs/twin.schema.json',
    })
  }
}

type Json = Record<string, unknown>

function obj(v: unknown, path: string): Json {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new TwinError(path, 'expected an object')
  return v as Json
}

function arr(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new TwinError(path, 'expected an array')
  return v
}

function handle(v: unknown, path: string): number {
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 0xffff)
    throw new TwinError(path, `expected a handle 1..65535, got ${JSON.stringify(v)}`)
  return v as number
}

function hex(v: unknown, path: string, max = 512): string {
  if (typeof v !== 'string' || !/^([0-9a-f]{2})*$/.test(v))
    throw new TwinError(path, 'expected lowercase hex bytes (e.g. "0a1b")')
  if (v.length / 2 > max) throw new TwinError(path, `${v.length / 2} octets: at most ${max}`)
  return v
}

/** A UUID as it was on the wire: 4 hex digits (2 octets) or the 128-bit form (16 octets). */
function uuid(v: unknown, path: string): string {
  if (typeof v !== 'string' || !/^([0-9a-f]{4}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.test(v))
    throw new TwinError(
      path,
      `${JSON.stringify(v)} is not a UUID as the twin writes them ("2a00", or 128-bit lowercase)`,
    )
  parseUuid(v)
  return v
}

function optional<T>(o: Json, key: string, path: string, f: (v: unknown, p: string) => T): T | undefined {
  return o[key] === undefined ? undefined : f(o[key], `${path}.${key}`)
}

function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw new TwinError(path, 'expected true or false')
  return v
}

function errorCode(v: unknown, path: string): number {
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 0xff)
    throw new TwinError(path, 'expected an ATT error code 1..255')
  return v as number
}

/** value, valueTruncated and readError, where an attribute has them. */
function valueFields(o: Json, path: string): { value?: string; valueTruncated?: boolean; readError?: number } {
  const out: { value?: string; valueTruncated?: boolean; readError?: number } = {}
  const value = optional(o, 'value', path, hex)
  if (value !== undefined) out.value = value
  if (o.valueTruncated !== undefined) out.valueTruncated = bool(o.valueTruncated, `${path}.valueTruncated`)
  const readError = optional(o, 'readError', path, errorCode)
  if (readError !== undefined) out.readError = readError
  return out
}

function descriptor(v: unknown, path: string): TwinDescriptor {
  const o = obj(v, path)
  return { handle: handle(o.handle, `${path}.handle`), uuid: uuid(o.uuid, `${path}.uuid`), ...valueFields(o, path) }
}

function notification(v: unknown, path: string): TwinNotification {
  const o = obj(v, path)
  if (typeof o.atMs !== 'number' || !Number.isFinite(o.atMs) || o.atMs < 0)
    throw new TwinError(`${path}.atMs`, 'expected milliseconds >= 0')
  const n: TwinNotification = { atMs: o.atMs, value: hex(o.value, `${path}.value`) }
  if (o.indication !== undefined) n.indication = bool(o.indication, `${path}.indication`)
  return n
}

function characteristic(v: unknown, path: string): TwinCharacteristic {
  const o = obj(v, path)
  const properties = arr(o.properties, `${path}.properties`).map((p, i) => {
    if (!PROPERTY_NAMES.includes(p as PropertyName))
      throw new TwinError(`${path}.properties[${i}]`, `unknown property ${JSON.stringify(p)}`)
    return p as PropertyName
  })
  const c: TwinCharacteristic = {
    handle: handle(o.handle, `${path}.handle`),
    valueHandle: handle(o.valueHandle, `${path}.valueHandle`),
    uuid: uuid(o.uuid, `${path}.uuid`),
    properties,
    ...valueFields(o, path),
    descriptorsComplete: bool(o.descriptorsComplete, `${path}.descriptorsComplete`),
    descriptors: arr(o.descriptors, `${path}.descriptors`).map((d, i) => descriptor(d, `${path}.descriptors[${i}]`)),
  }
  if (c.valueHandle !== c.handle + 1)
    throw new TwinError(`${path}.valueHandle`, 'the value follows its declaration (Core v5.4 Vol 3 Part G 3.3)')
  if (o.notifications !== undefined)
    c.notifications = arr(o.notifications, `${path}.notifications`).map((n, i) =>
      notification(n, `${path}.notifications[${i}]`),
    )
  return c
}

function include(v: unknown, path: string): TwinInclude {
  const o = obj(v, path)
  const i: TwinInclude = {
    handle: handle(o.handle, `${path}.handle`),
    serviceHandle: handle(o.serviceHandle, `${path}.serviceHandle`),
    endHandle: handle(o.endHandle, `${path}.endHandle`),
  }
  const u = optional(o, 'uuid', path, uuid)
  if (u !== undefined) i.uuid = u
  return i
}

function service(v: unknown, path: string): TwinService {
  const o = obj(v, path)
  const s: TwinService = {
    handle: handle(o.handle, `${path}.handle`),
    endHandle: handle(o.endHandle, `${path}.endHandle`),
    uuid: uuid(o.uuid, `${path}.uuid`),
    primary: bool(o.primary, `${path}.primary`),
    includes: arr(o.includes, `${path}.includes`).map((x, i) => include(x, `${path}.includes[${i}]`)),
    characteristicsComplete: bool(o.characteristicsComplete, `${path}.characteristicsComplete`),
    characteristics: arr(o.characteristics, `${path}.characteristics`).map((x, i) =>
      characteristic(x, `${path}.characteristics[${i}]`),
    ),
  }
  if (s.endHandle < s.handle) throw new TwinError(`${path}.endHandle`, 'ends before it starts')
  // The declaration must be inside; a value past the end is kept as a device had it (twins copy bugs too).
  for (const [i, c] of s.characteristics.entries()) {
    if (c.handle <= s.handle || c.handle > s.endHandle)
      throw new TwinError(`${path}.characteristics[${i}]`, 'outside its service')
  }
  return s
}

function attribute(v: unknown, path: string): TwinAttribute {
  const o = obj(v, path)
  const a: TwinAttribute = { handle: handle(o.handle, `${path}.handle`) }
  const u = optional(o, 'uuid', path, uuid)
  if (u !== undefined) a.uuid = u
  return { ...a, ...valueFields(o, path) }
}

function device(v: unknown, path: string): Twin['device'] {
  const o = obj(v, path)
  if (typeof o.address !== 'string' || !/^([0-9A-F]{2}:){5}[0-9A-F]{2}$/.test(o.address))
    throw new TwinError(`${path}.address`, 'expected "AA:BB:CC:DD:EE:FF" (uppercase)')
  if (o.addressType !== 'public' && o.addressType !== 'random')
    throw new TwinError(`${path}.addressType`, 'expected "public" or "random"')
  const d: Twin['device'] = { address: o.address, addressType: o.addressType }
  if (o.name !== undefined) {
    if (typeof o.name !== 'string') throw new TwinError(`${path}.name`, 'expected a string')
    d.name = o.name
  }
  return d
}

function advertising(v: unknown, path: string): NonNullable<Twin['advertising']> {
  const o = obj(v, path)
  const a: NonNullable<Twin['advertising']> = { connectable: bool(o.connectable, `${path}.connectable`) }
  const data = optional(o, 'data', path, (x, p) => hex(x, p, 1650))
  if (data !== undefined) a.data = data
  const rsp = optional(o, 'scanResponse', path, (x, p) => hex(x, p, 1650))
  if (rsp !== undefined) a.scanResponse = rsp
  return a
}

function source(v: unknown, path: string): Twin['source'] {
  const o = obj(v, path)
  if (typeof o.capture !== 'string') throw new TwinError(`${path}.capture`, 'expected the capture file name')
  for (const k of ['frames', 'connections'] as const)
    if (!Number.isInteger(o[k]) || (o[k] as number) < 0) throw new TwinError(`${path}.${k}`, 'expected a count')
  return { capture: o.capture, frames: o.frames as number, connections: o.connections as number }
}

function reaction(v: unknown, path: string): TwinReaction {
  const o = obj(v, path)
  const w = obj(o.onWrite, `${path}.onWrite`)
  const onWrite: TwinReaction['onWrite'] = { handle: handle(w.handle, `${path}.onWrite.handle`) }
  const value = optional(w, 'value', `${path}.onWrite`, hex)
  if (value !== undefined) onWrite.value = value
  const notify = arr(o.notify, `${path}.notify`).map((n, i) => {
    const p = `${path}.notify[${i}]`
    const x = obj(n, p)
    const t = notification(x, p)
    return { handle: handle(x.handle, `${p}.handle`), ...t }
  })
  return { onWrite, notify }
}

/** Check a parsed twin file; throws TwinError naming the first problem. */
export function validateTwin(v: unknown): Twin {
  const o = obj(v, '')
  if (o.format !== TWIN_FORMAT) throw new TwinError('format', `expected "${TWIN_FORMAT}"`)
  if (o.version !== TWIN_VERSION)
    throw new TwinError('version', `version ${JSON.stringify(o.version)}: this hcikit reads version ${TWIN_VERSION}`)
  const services = arr(o.services, 'services').map((s, i) => service(s, `services[${i}]`))
  for (let i = 1; i < services.length; i++)
    if (services[i]!.handle <= services[i - 1]!.endHandle)
      throw new TwinError(`services[${i}].handle`, 'services must be in handle order and not overlap')
  const t: Twin = {
    format: TWIN_FORMAT,
    version: TWIN_VERSION,
    source: source(o.source, 'source'),
    device: device(o.device, 'device'),
    servicesComplete: bool(o.servicesComplete, 'servicesComplete'),
    services,
    otherAttributes: arr(o.otherAttributes ?? [], 'otherAttributes').map((a, i) =>
      attribute(a, `otherAttributes[${i}]`),
    ),
  }
  if (o.advertising !== undefined) t.advertising = advertising(o.advertising, 'advertising')
  if (o.reactions !== undefined)
    t.reactions = arr(o.reactions, 'reactions').map((r, i) => reaction(r, `reactions[${i}]`))
  if (o.mtu !== undefined) {
    if (!Number.isInteger(o.mtu) || (o.mtu as number) < 23 || (o.mtu as number) > 0xffff)
      throw new TwinError('mtu', 'expected an ATT_MTU 23..65535')
    t.mtu = o.mtu as number
  }
  return t
}

/** A twin file's text to a Twin (TwinError when it is not JSON or not the documented shape). */
export function parseTwin(text: string): Twin {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch (e) {
    throw new TwinError('', `not JSON: ${(e as Error).message}`)
  }
  return validateTwin(v)
}

/** The twin as the file's text: two-space indentation, one field per line, keys in a fixed order. */
export function formatTwin(t: Twin): string {
  return `${JSON.stringify(t, null, 2)}\n`
}
