/**
 * The GATT client's model of a peer's attribute database (Core v5.4 Vol 3 Part G 3: service,
 * include, characteristic and descriptor definitions), as discovered (att/discovery.ts) or taken
 * from the cache (att/cache.ts).
 *
 * Services (primary and secondary) in handle order; each with its includes and characteristics;
 * each characteristic with its properties (Part G 3.3.1.1), value handle, the last handle of its
 * definition and its descriptors. Lookups by UUID (any written form, att/uuid.ts) fail with a
 * GattError 'GATT_AMBIGUOUS' when more than one matches, and by handle.
 *
 * The model serialises to plain JSON (`toJSON` / `RemoteDatabase.fromJSON`, which validates
 * what it reads: a cache file is input like any other).
 */
import { GattError, hex4 } from './errors.ts'
import { parseUuid, shortUuid, type Uuid } from './uuid.ts'

/** Characteristic Properties (Part G 3.3.1.1, Table 3.5). */
export const CharProps = {
  Broadcast: 0x01,
  Read: 0x02,
  WriteWithoutResponse: 0x04,
  Write: 0x08,
  Notify: 0x10,
  Indicate: 0x20,
  AuthenticatedSignedWrites: 0x40,
  ExtendedProperties: 0x80,
} as const

const CCCD = parseUuid(0x2902)

export class RemoteDescriptor {
  readonly kind = 'descriptor'
  constructor(
    readonly uuid: Uuid,
    readonly handle: number,
    readonly characteristic: RemoteCharacteristic,
  ) {}

  toString(): string {
    return `descriptor ${shortUuid(this.uuid)} @${hex4(this.handle)}`
  }
}

export class RemoteCharacteristic {
  readonly kind = 'characteristic'
  readonly descriptors: RemoteDescriptor[] = []
  constructor(
    readonly uuid: Uuid,
    /** Handle of the characteristic declaration. */
    readonly handle: number,
    readonly properties: number,
    readonly valueHandle: number,
    /** Last handle of the characteristic definition (its last descriptor, or the value handle). */
    readonly endHandle: number,
    readonly service: RemoteService,
  ) {}

  /** The Client Characteristic Configuration descriptor, if the characteristic has one. */
  get cccd(): RemoteDescriptor | undefined {
    return this.descriptors.find((d) => d.uuid === CCCD)
  }

  can(prop: keyof typeof CharProps): boolean {
    return (this.properties & CharProps[prop]) !== 0
  }

  descriptor(uuid: string | number): RemoteDescriptor | undefined {
    const u = parseUuid(uuid)
    return one(
      this.descriptors.filter((d) => d.uuid === u),
      () => `descriptor ${shortUuid(u)} of ${this}`,
    )
  }

  toString(): string {
    return `characteristic ${shortUuid(this.uuid)} @${hex4(this.valueHandle)}`
  }
}

export class RemoteService {
  readonly kind = 'service'
  readonly characteristics: RemoteCharacteristic[] = []
  /** Services this one includes (Part G 3.2), resolved. */
  readonly includes: RemoteService[] = []
  /** The include declarations: where they are and what range they point to. */
  readonly includeDeclarations: { handle: number; start: number; end: number }[] = []
  constructor(
    readonly uuid: Uuid,
    readonly start: number,
    readonly end: number,
    readonly primary: boolean,
  ) {}

  /** Alias of `start`: the handle of the service declaration. */
  get handle(): number {
    return this.start
  }

  characteristic(uuid: string | number): RemoteCharacteristic | undefined {
    const u = parseUuid(uuid)
    return one(
      this.characteristics.filter((c) => c.uuid === u),
      () => `characteristic ${shortUuid(u)} in ${this}`,
    )
  }

  findCharacteristics(uuid: string | number): RemoteCharacteristic[] {
    const u = parseUuid(uuid)
    return this.characteristics.filter((c) => c.uuid === u)
  }

  toString(): string {
    return `${this.primary ? 'service' : 'secondary service'} ${shortUuid(this.uuid)} @${hex4(this.start)}-${hex4(this.end)}`
  }
}

export type RemoteAttribute = RemoteService | RemoteCharacteristic | RemoteDescriptor

function one<T extends { toString(): string }>(matches: T[], what: () => string): T | undefined {
  if (matches.length > 1) {
    throw new GattError('GATT_AMBIGUOUS', `${what()} is ambiguous: ${matches.length} matches (${matches.join(', ')})`, {
      hint: 'use the find...() form to get all matches and pick one by handle, or narrow the lookup by service',
    })
  }
  return matches[0]
}

// ---------------------------------------------------------------------------------------------
// JSON form (the cache): flat and explicit, no back references.

export interface ServiceJson {
  uuid: string
  start: number
  end: number
  primary: boolean
  includes?: { handle: number; start: number; end: number }[]
  characteristics: {
    uuid: string
    handle: number
    properties: number
    valueHandle: number
    endHandle: number
    descriptors?: { uuid: string; handle: number }[]
  }[]
}

export interface RemoteDatabaseJson {
  services: ServiceJson[]
  /** Database Hash (hex), when the peer has one. */
  hash?: string
}

export class RemoteDatabase {
  /** Every service, primary and secondary, in handle order. */
  readonly services: readonly RemoteService[]
  /** The Database Hash the peer reported when this model was made (16 octets), if any. */
  hash: Uint8Array | undefined
  private readonly byHandle = new Map<number, RemoteAttribute>()

  constructor(services: RemoteService[], hash?: Uint8Array) {
    this.services = [...services].sort((a, b) => a.start - b.start)
    this.hash = hash
    for (const s of this.services) {
      this.byHandle.set(s.start, s)
      for (const c of s.characteristics) {
        this.byHandle.set(c.handle, c)
        this.byHandle.set(c.valueHandle, c)
        for (const d of c.descriptors) this.byHandle.set(d.handle, d)
      }
    }
  }

  get primaryServices(): RemoteService[] {
    return this.services.filter((s) => s.primary)
  }

  get characteristics(): RemoteCharacteristic[] {
    return this.services.flatMap((s) => s.characteristics)
  }

  /** The service with this UUID; undefined if none; GattError 'GATT_AMBIGUOUS' if several. */
  service(uuid: string | number): RemoteService | undefined {
    const u = parseUuid(uuid)
    return one(this.findServices(u), () => `service ${shortUuid(u)}`)
  }

  findServices(uuid: string | number): RemoteService[] {
    const u = parseUuid(uuid)
    return this.services.filter((s) => s.uuid === u)
  }

  /**
   * `characteristic(charUuid)` over the whole database, or `characteristic(serviceUuid,
   * charUuid)` within that service. Undefined if none; 'GATT_AMBIGUOUS' if several.
   */
  characteristic(a: string | number, b?: string | number): RemoteCharacteristic | undefined {
    if (b === undefined) {
      const u = parseUuid(a)
      return one(this.findCharacteristics(u), () => `characteristic ${shortUuid(u)}`)
    }
    const service = this.service(a)
    return service?.characteristic(b)
  }

  findCharacteristics(uuid: string | number): RemoteCharacteristic[] {
    const u = parseUuid(uuid)
    return this.characteristics.filter((c) => c.uuid === u)
  }

  /** What lives at `handle`: a service declaration, a characteristic (declaration or value), a descriptor. */
  at(handle: number): RemoteAttribute | undefined {
    return this.byHandle.get(handle)
  }

  /** The characteristic whose value is at `valueHandle`. */
  characteristicAt(valueHandle: number): RemoteCharacteristic | undefined {
    const a = this.byHandle.get(valueHandle)
    return a instanceof RemoteCharacteristic && a.valueHandle === valueHandle ? a : undefined
  }

  /** The service whose range holds `handle`. */
  serviceOf(handle: number): RemoteService | undefined {
    return this.services.find((s) => s.start <= handle && handle <= s.end)
  }

  toJSON(): RemoteDatabaseJson {
    const out: RemoteDatabaseJson = { services: this.services.map(serviceJson) }
    if (this.hash) out.hash = Buffer.from(this.hash).toString('hex')
    return out
  }

  /**
   * Rebuild from `toJSON()` output; a GattError 'GATT_INVALID_CACHE' value (never a throw) when
   * the input is not a consistent database.
   */
  static fromJSON(json: unknown): RemoteDatabase | GattError {
    try {
      return build(json)
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e)
      return new GattError('GATT_INVALID_CACHE', `not a GATT database: ${why}`, {
        cause: e,
        hint: 'the stored entry is discarded and the database discovered again',
      })
    }
  }
}

type CharacteristicJson = ServiceJson['characteristics'][number]

function serviceJson(s: RemoteService): ServiceJson {
  const out: ServiceJson = {
    uuid: s.uuid,
    start: s.start,
    end: s.end,
    primary: s.primary,
    characteristics: s.characteristics.map(characteristicJson),
  }
  if (s.includeDeclarations.length) out.includes = s.includeDeclarations.map((i) => ({ ...i }))
  return out
}

function characteristicJson(c: RemoteCharacteristic): CharacteristicJson {
  const out: CharacteristicJson = {
    uuid: c.uuid,
    handle: c.handle,
    properties: c.properties,
    valueHandle: c.valueHandle,
    endHandle: c.endHandle,
  }
  if (c.descriptors.length) out.descriptors = c.descriptors.map((d) => ({ uuid: d.uuid, handle: d.handle }))
  return out
}

function invalid(message: string): GattError {
  return new GattError('GATT_INVALID_CACHE', message)
}

function handle(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 0xffff)
    throw invalid(`${what}: ${String(v)} is not a handle`)
  return v
}

/** `v` as an object (its fields still to check). */
function object(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw invalid(`${what}: not an object`)
  return v as Record<string, unknown>
}

/** `v` as a list of objects; absent is empty when `optional`. */
function list(v: unknown, what: string, optional: boolean): Record<string, unknown>[] {
  if (v === undefined && optional) return []
  if (!Array.isArray(v)) throw invalid(`${what}: not a list`)
  return v.map((x, i) => object(x, `${what}[${i}]`))
}

function uuid(v: unknown, what: string): Uuid {
  try {
    return parseUuid(String(v))
  } catch (e) {
    throw new GattError('GATT_INVALID_CACHE', `${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e })
  }
}

function buildService(sj: Record<string, unknown>, where: string): RemoteService {
  const s = new RemoteService(
    uuid(sj.uuid, `${where}.uuid`),
    handle(sj.start, `${where}.start`),
    handle(sj.end, `${where}.end`),
    sj.primary === true,
  )
  if (s.end < s.start) throw invalid(`${where}: end before start`)
  for (const inc of list(sj.includes, `${where}.includes`, true)) {
    s.includeDeclarations.push({
      handle: handle(inc.handle, `${where}.include`),
      start: handle(inc.start, `${where}.include.start`),
      end: handle(inc.end, `${where}.include.end`),
    })
  }
  if (!Array.isArray(sj.characteristics)) throw invalid(`${where}: no characteristics array`)
  let last = s.start
  for (const [k, cj] of list(sj.characteristics, `${where}.characteristics`, false).entries()) {
    const c = buildCharacteristic(cj, `${where}.characteristics[${k}]`, s, last)
    s.characteristics.push(c)
    last = c.endHandle
  }
  return s
}

function buildCharacteristic(
  cj: Record<string, unknown>,
  cw: string,
  s: RemoteService,
  last: number,
): RemoteCharacteristic {
  const h = handle(cj.handle, `${cw}.handle`)
  const v = handle(cj.valueHandle, `${cw}.valueHandle`)
  const e = handle(cj.endHandle, `${cw}.endHandle`)
  if (!(last < h && h < v && v <= e && e <= s.end)) throw invalid(`${cw}: handles out of order`)
  const props = cj.properties
  if (typeof props !== 'number' || !Number.isInteger(props) || props < 0 || props > 0xff)
    throw invalid(`${cw}.properties: ${String(props)} is not an octet`)
  const c = new RemoteCharacteristic(uuid(cj.uuid, `${cw}.uuid`), h, props, v, e, s)
  let dl = v
  for (const dj of list(cj.descriptors, `${cw}.descriptors`, true)) {
    const dh = handle(dj.handle, `${cw}.descriptor`)
    if (!(dl < dh && dh <= e)) throw invalid(`${cw}: descriptor handles out of order`)
    dl = dh
    c.descriptors.push(new RemoteDescriptor(uuid(dj.uuid, `${cw}.descriptor.uuid`), dh, c))
  }
  return c
}

function build(json: unknown): RemoteDatabase {
  const j = json as RemoteDatabaseJson
  if (!j || typeof j !== 'object' || !Array.isArray(j.services)) throw invalid('no services array')
  const services = list(j.services, 'services', false).map((sj, i) => buildService(sj, `services[${i}]`))
  services.sort((a, b) => a.start - b.start)
  for (let i = 1; i < services.length; i++) {
    if (services[i]!.start <= services[i - 1]!.end) throw invalid(`services overlap at ${hex4(services[i]!.start)}`)
  }
  linkIncludes(services)
  const hash =
    typeof j.hash === 'string' && /^[0-9a-f]{32}$/i.test(j.hash)
      ? Uint8Array.from(Buffer.from(j.hash, 'hex'))
      : undefined
  return new RemoteDatabase(services, hash)
}

/** Resolve every service's include declarations to the services they point to. */
export function linkIncludes(services: RemoteService[]): void {
  const byStart = new Map(services.map((s) => [s.start, s]))
  for (const s of services) {
    s.includes.length = 0
    for (const inc of s.includeDeclarations) {
      const target = byStart.get(inc.start)
      if (target && target.end === inc.end && target !== s) s.includes.push(target)
    }
  }
}
