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
import type { ServerConnection } from './server-connection.ts'
import {
  buildDatabase,
  buildAddedService,
  Property,
  DatabaseError,
  MAX_ATTRIBUTE_LENGTH,
  type BuiltService,
} from './database-build.ts'

// ---------------------------------------------------------------------------------------------
// Declarations

export type PropertyName = keyof typeof Property
export { Property, DatabaseError, MAX_ATTRIBUTE_LENGTH }

/**
 * Who may read or write: 'open'; 'encrypted' (any encrypted link); 'authenticated' (encrypted
 * with an authenticated key, i.e. MITM-protected pairing); or a combination, with `keySize` the
 * minimum encryption key size and `authorized` requiring the link's authorization flag.
 */
export type Security = 'open' | 'encrypted' | 'authenticated' | SecurityRequirement
export interface SecurityRequirement {
  encrypted?: boolean
  authenticated?: boolean
  authorized?: boolean
  keySize?: number
}

export interface WriteOptions {
  offset: number
  /** A Write Command or Signed Write Command: nobody waits for an answer. */
  withoutResponse: boolean
  /** Part of an Execute Write Request (a long or reliable write). */
  prepared?: boolean
  signed?: boolean
}

/**
 * Produce the whole value (at most 512 octets). `offset` is the offset the client asked for
 * (0 for a Read, the blob offset for a Read Blob): a handler that wants a long read to see one
 * consistent value can take its snapshot when offset is 0. Throw an AttributeError to answer
 * with a specific ATT error code; any other exception becomes Unlikely Error.
 */
export type ReadHandler = (conn: ServerConnection, offset: number) => Uint8Array | Promise<Uint8Array>
/** Accept or refuse (throw an AttributeError) a write of `value` at `opts.offset`. */
export type WriteHandler = (conn: ServerConnection, value: Uint8Array, opts: WriteOptions) => void | Promise<void>

/** Characteristic Presentation Format (Vol 3 Part G 3.3.3.5): 7 octets. */
export interface PresentationFormat {
  /** Assigned Numbers 2.4.1 (0x04 uint8, 0x06 uint16, 0x19 utf8s, ...). */
  format: number
  exponent?: number
  /** An org.bluetooth.unit UUID as a 16-bit number (0x2700 unitless). */
  unit: number
  /** 0x01 = Bluetooth SIG Assigned Numbers (default). */
  namespace?: number
  description?: number
}

export interface DescriptorDeclaration {
  uuid: string | number
  handle?: number
  value?: Uint8Array | string
  onRead?: ReadHandler
  onWrite?: WriteHandler
  /** Default: readable by anyone, writable only when onWrite is given (then by anyone). */
  permissions?: { read?: Security | false; write?: Security | false }
  maxLength?: number
}

export interface CharacteristicDeclaration {
  uuid: string | number
  /** A name to find it by (`db.characteristic(id)`); unique in the database. */
  id?: string
  properties: readonly PropertyName[]
  /** Fixed handle of the characteristic declaration (its value is the next handle). */
  handle?: number
  /** Static value (updated by writes). Give this or onRead, not both. */
  value?: Uint8Array | string
  onRead?: ReadHandler
  onWrite?: WriteHandler
  /** Security of reads and writes of the value (default 'open'); the properties say which operations exist. */
  permissions?: { read?: Security; write?: Security }
  /** Longest value a client may write (default and maximum 512). */
  maxLength?: number
  /** Extended Properties: Reliable Write allowed. */
  reliableWrite?: boolean
  /** Extended Properties: the User Description may be written. */
  writableAuxiliaries?: boolean
  /** Characteristic User Description (0x2901). */
  description?: string | { value: string; handle?: number; write?: Security }
  /** Characteristic Presentation Format (0x2904). */
  presentationFormat?: PresentationFormat & { handle?: number }
  /** Options of the Client Characteristic Configuration descriptor added for notify/indicate. */
  cccd?: { handle?: number; write?: Security }
  /**
   * Further descriptors, in order, after the ones the options above add. Declaring 0x2902,
   * 0x2900, 0x2901 or 0x2904 here places that descriptor here instead (no value for 0x2902 and
   * 0x2900: the server owns those).
   */
  descriptors?: readonly DescriptorDeclaration[]
}

export interface ServiceDeclaration {
  uuid: string | number
  /** A name for includes and lookups; unique in the database. */
  id?: string
  /** Default true. */
  primary?: boolean
  /** Fixed handle of the service declaration. */
  handle?: number
  /** Included services: their id, or the same declaration object. */
  includes?: readonly (string | ServiceDeclaration | ServiceRef)[]
  characteristics?: readonly CharacteristicDeclaration[]
}

export interface GapOptions {
  /** Device Name (0x2A00), default "hcikit". */
  deviceName?: string | Uint8Array
  /** Let clients write the Device Name (with that security; `true` = open). */
  deviceNameWritable?: boolean | Security
  /** Appearance (0x2A01), default 0x0000 (Unknown). */
  appearance?: number
  handle?: number
  /** More GAP characteristics (Peripheral Preferred Connection Parameters, ...). */
  characteristics?: readonly CharacteristicDeclaration[]
}

export interface GattOptions {
  handle?: number
  /** Include Server Supported Features (0x2B3A) with this value (bit 0: EATT supported). */
  serverSupportedFeatures?: number
}

export interface DatabaseDeclaration {
  gap?: GapOptions
  gatt?: GattOptions
  services?: readonly ServiceDeclaration[]
}

// ---------------------------------------------------------------------------------------------
// What the database is made of

export interface ServiceRef {
  readonly uuid: Uuid
  readonly id: string | undefined
  readonly primary: boolean
  readonly handle: number
  readonly endHandle: number
  readonly includes: readonly ServiceRef[]
  readonly characteristics: readonly CharacteristicRef[]
}

export interface CharacteristicRef {
  readonly uuid: Uuid
  readonly id: string | undefined
  readonly service: ServiceRef
  /** Handle of the characteristic declaration. */
  readonly handle: number
  readonly valueHandle: number
  /** Handle of its Client Characteristic Configuration descriptor, if it notifies or indicates. */
  readonly cccdHandle: number | undefined
  /** The properties octet. */
  readonly properties: number
  readonly descriptors: readonly DescriptorRef[]
}

export interface DescriptorRef {
  readonly uuid: Uuid
  readonly handle: number
  readonly characteristic: CharacteristicRef
}

/** Normalised security requirement; `null` in an Attribute means the operation is not permitted. */
export interface Requirement {
  readonly encrypted: boolean
  readonly authenticated: boolean
  readonly authorized: boolean
  readonly keySize: number
}

export type AttributeKind = 'service' | 'include' | 'characteristic' | 'value' | 'descriptor'

/** Attributes whose value the server computes or keeps per connection. */
export type SpecialAttribute = 'cccd' | 'clientSupportedFeatures' | 'databaseHash' | 'serviceChanged'

export interface Attribute {
  readonly handle: number
  readonly type: Uuid
  readonly kind: AttributeKind
  readonly service: ServiceRef
  readonly characteristic: CharacteristicRef | undefined
  /** The stored value: declarations and static values. Undefined for handler-backed or special attributes. */
  value: Uint8Array | undefined
  readonly read: Requirement | null
  readonly write: Requirement | null
  /** Which writes reach it: Write/Prepare Write Request, Write Command, Signed Write Command. */
  readonly writeRequest: boolean
  readonly writeCommand: boolean
  readonly signedWrite: boolean
  readonly maxLength: number
  readonly onRead: ReadHandler | undefined
  readonly onWrite: WriteHandler | undefined
  readonly special: SpecialAttribute | undefined
  /** Service declarations: the last handle of the service. */
  readonly groupEnd: number | undefined
}

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
