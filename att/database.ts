/**
 * The local attribute database of the GATT server (Core v5.4 Vol 3 Part F 3.2 "Attribute",
 * Part G 3 "Service interoperability requirements": service, include and characteristic
 * declarations, characteristic values and descriptors; Part G 7 "GATT service").
 *
 * Built from a plain declaration (services, their includes, characteristics with properties,
 * permissions, static values or async handlers, descriptors), with handles assigned in order or
 * fixed by the declaration. The mandatory GAP (0x1800: Device Name, Appearance) and GATT
 * (0x1801: Service Changed + CCCD, Client Supported Features, Database Hash, optionally Server
 * Supported Features) services are added first. A Client Characteristic Configuration
 * descriptor is added to every characteristic that can notify or indicate, and the Extended
 * Properties, User Description and Presentation Format descriptors when their options are given.
 * Anything that would make an invalid database throws a DatabaseError naming the offending
 * declaration (see att/database-build.ts for the rules).
 *
 * Services can be added and removed later; listeners hear the changed handle range (the server
 * indicates Service Changed with it) and the Database Hash (att/hash.ts) is recomputed.
 */
import { HcikitError } from '../hci/errors.ts'
import { attErrorName } from './pdu.ts'
import { GattUuid, parseUuid } from './uuid.ts'
import type { Uuid } from './uuid.ts'
import { databaseHash, databaseHashValue } from './hash.ts'
import { buildDatabase, buildAddedService, DatabaseError, type BuiltService } from './database-build.ts'
import {
  MAX_ATTRIBUTE_LENGTH,
  Property,
  type Attribute,
  type CharacteristicRef,
  type DatabaseDeclaration,
  type DescriptorRef,
  type ServiceDeclaration,
  type ServiceRef,
} from './database-types.ts'

export { Property, DatabaseError, MAX_ATTRIBUTE_LENGTH }
export type * from './database-types.ts'

// ---------------------------------------------------------------------------------------------
// Errors

/** Thrown by a read or write handler to answer with this ATT error code (0x80-0x9F: application errors). */
export class AttributeError extends HcikitError {
  override name = 'AttributeError'
  constructor(
    readonly errorCode: number,
    message?: string,
  ) {
    if (!Number.isInteger(errorCode) || errorCode < 1 || errorCode > 0xff)
      throw new RangeError(`ATT error code ${errorCode}`)
    super('ATT_ATTRIBUTE_ERROR', 'att', message ?? attErrorName(errorCode), {
      status: errorCode,
      statusName: attErrorName(errorCode),
    })
  }
}

export interface DatabaseChange {
  /** First and last handle of the range that changed. */
  readonly start: number
  readonly end: number
}

// ---------------------------------------------------------------------------------------------
// The database

export class AttributeDatabase {
  private services: BuiltService[]
  private sorted: Attribute[] = []
  private byHandle = new Map<number, Attribute>()
  private ids = new Map<string, CharacteristicRef>()
  private hashCache: Uint8Array | undefined
  private listeners: ((c: DatabaseChange) => void)[] = []
  /** The mandatory GAP service and its characteristics. */
  readonly gap: {
    readonly service: ServiceRef
    readonly deviceName: CharacteristicRef
    readonly appearance: CharacteristicRef
  }
  /** The mandatory GATT service and its characteristics. */
  readonly gatt: {
    readonly service: ServiceRef
    readonly serviceChanged: CharacteristicRef
    readonly clientSupportedFeatures: CharacteristicRef
    readonly databaseHash: CharacteristicRef
    readonly serverSupportedFeatures: CharacteristicRef | undefined
  }

  constructor(declaration: DatabaseDeclaration = {}) {
    this.services = buildDatabase(declaration)
    this.reindex()
    const [gap, gatt] = [this.services[0]!.ref, this.services[1]!.ref]
    const byUuid = (s: ServiceRef, u: Uuid): CharacteristicRef | undefined =>
      s.characteristics.find((c) => c.uuid === u)
    this.gap = {
      service: gap,
      deviceName: byUuid(gap, GattUuid.DeviceName)!,
      appearance: byUuid(gap, GattUuid.Appearance)!,
    }
    this.gatt = {
      service: gatt,
      serviceChanged: byUuid(gatt, GattUuid.ServiceChanged)!,
      clientSupportedFeatures: byUuid(gatt, GattUuid.ClientSupportedFeatures)!,
      databaseHash: byUuid(gatt, GattUuid.DatabaseHash)!,
      serverSupportedFeatures: byUuid(gatt, GattUuid.ServerSupportedFeatures),
    }
  }

  private reindex(): void {
    this.services.sort((a, b) => a.ref.handle - b.ref.handle)
    this.sorted = this.services.flatMap((s) => s.attributes)
    this.byHandle = new Map(this.sorted.map((a) => [a.handle, a]))
    this.ids = new Map()
    for (const c of this.characteristics) if (c.id !== undefined) this.ids.set(c.id, c)
    this.hashCache = undefined
  }

  /** Every attribute, in ascending handle order. */
  get attributes(): readonly Attribute[] {
    return this.sorted
  }

  get serviceRefs(): readonly ServiceRef[] {
    return this.services.map((s) => s.ref)
  }

  get characteristics(): readonly CharacteristicRef[] {
    return this.services.flatMap((s) => s.ref.characteristics)
  }

  /** The highest handle in use. */
  get lastHandle(): number {
    return this.sorted.at(-1)?.handle ?? 0
  }

  get(handle: number): Attribute | undefined {
    return this.byHandle.get(handle)
  }

  /** Attributes with start <= handle <= end, ascending. */
  range(start: number, end: number): Attribute[] {
    const a = this.sorted
    let lo = 0
    let hi = a.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (a[mid]!.handle < start) lo = mid + 1
      else hi = mid
    }
    const out: Attribute[] = []
    for (let i = lo; i < a.length && a[i]!.handle <= end; i++) out.push(a[i]!)
    return out
  }

  /** A characteristic by its id or its UUID (which must be unique in the database). */
  characteristic(query: string | number): CharacteristicRef {
    if (typeof query === 'string') {
      const byId = this.ids.get(query)
      if (byId) return byId
    }
    let uuid: Uuid
    try {
      uuid = parseUuid(query)
    } catch {
      throw new DatabaseError(String(query), 'no characteristic has this id')
    }
    const found = this.characteristics.filter((c) => c.uuid === uuid)
    if (found.length === 1) return found[0]!
    if (found.length === 0) throw new DatabaseError(String(query), 'no characteristic has this id or UUID')
    throw new DatabaseError(
      String(query),
      `${found.length} characteristics have this UUID`,
      'give the characteristic an id and look it up by that',
    )
  }

  /** The characteristic one of whose attributes (declaration, value, descriptor) has this handle. */
  characteristicAt(handle: number): CharacteristicRef {
    const c = this.byHandle.get(handle)?.characteristic
    if (c === undefined)
      throw new DatabaseError(`handle 0x${handle.toString(16).padStart(4, '0')}`, 'not part of a characteristic')
    return c
  }

  /** A service by id or UUID (must be unique). */
  service(query: string | number): ServiceRef {
    const refs = this.serviceRefs
    const byId = typeof query === 'string' ? refs.find((s) => s.id === query) : undefined
    if (byId) return byId
    let uuid: Uuid
    try {
      uuid = parseUuid(query)
    } catch {
      throw new DatabaseError(String(query), 'no service has this id')
    }
    const found = refs.filter((s) => s.uuid === uuid)
    if (found.length === 1) return found[0]!
    throw new DatabaseError(
      String(query),
      found.length === 0 ? 'no service has this id or UUID' : `${found.length} services have this UUID`,
    )
  }

  /** Replace a static value (a characteristic's value or a descriptor). The hash does not change. */
  setValue(target: CharacteristicRef | DescriptorRef | number, value: Uint8Array | string): void {
    const handle = typeof target === 'number' ? target : 'valueHandle' in target ? target.valueHandle : target.handle
    const a = this.byHandle.get(handle)
    const where = `handle 0x${handle.toString(16).padStart(4, '0')}`
    if (!a) throw new DatabaseError(where, 'no such attribute')
    if (a.kind !== 'value' && a.kind !== 'descriptor')
      throw new DatabaseError(where, `a ${a.kind} declaration cannot be changed`)
    if (a.special !== undefined || a.onRead !== undefined)
      throw new DatabaseError(where, 'its value comes from a handler or the server, not from storage')
    const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value
    if (bytes.length > a.maxLength)
      throw new DatabaseError(where, `${bytes.length} octets exceed its maximum length ${a.maxLength}`)
    a.value = bytes.slice()
  }

  /** Add a service after the last handle (or at its fixed handle, in a free range). */
  addService(declaration: ServiceDeclaration): ServiceRef {
    const built = buildAddedService(declaration, this.services)
    this.services.push(built)
    this.reindex()
    this.emit({ start: built.ref.handle, end: built.ref.endHandle })
    return built.ref
  }

  /** Remove a service added by the declaration or addService (not GAP or GATT, not one that is included). */
  removeService(service: ServiceRef): void {
    const i = this.services.findIndex((s) => s.ref === service)
    const where = `service ${service.uuid} at 0x${service.handle.toString(16)}`
    if (i < 0) throw new DatabaseError(where, 'not in this database')
    if (service === this.gap.service || service === this.gatt.service)
      throw new DatabaseError(where, 'the GAP and GATT services are mandatory')
    const includer = this.services.find((s) => s.ref.includes.includes(service))
    if (includer)
      throw new DatabaseError(
        where,
        `included by the service at 0x${includer.ref.handle.toString(16)}; remove that first`,
      )
    this.services.splice(i, 1)
    this.reindex()
    this.emit({ start: service.handle, end: service.endHandle })
  }

  /** Hear about added and removed services. Returns the unsubscribe function. */
  onChange(cb: (change: DatabaseChange) => void): () => void {
    this.listeners.push(cb)
    return () => {
      this.listeners = this.listeners.filter((l) => l !== cb)
    }
  }

  private emit(c: DatabaseChange): void {
    for (const l of [...this.listeners]) l(c)
  }

  /** The Database Hash, most significant octet first (att/hash.ts). */
  hash(): Uint8Array {
    this.hashCache ??= databaseHash(this.sorted)
    return this.hashCache.slice()
  }

  /** The Database Hash characteristic value (the hash as a little-endian uint128). */
  hashValue(): Uint8Array {
    return databaseHashValue(this.hash())
  }
}
