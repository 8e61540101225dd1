/**
 * From a database declaration to attributes (Core v5.4 Vol 3 Part G 3: service declaration
 * 3.1, include 3.2, characteristic declaration 3.3.1, value 3.3.2, descriptors 3.3.3; the
 * GAP service, Vol 3 Part C 12; the GATT service, Part G 7).
 *
 * Handles are given in declaration order (GAP, GATT, then the declared services), each one
 * after the previous unless the declaration fixes it; a fixed handle must be greater than every
 * handle before it. The rules that make a declaration invalid, each a DatabaseError naming the
 * declaration:
 *   - a UUID that does not parse; a property name that does not exist;
 *   - a handle outside 0x0001..0xFFFF, used twice, or not increasing; running out of handles;
 *   - a declared 0x1800 or 0x1801 service (they are built from the `gap` and `gatt` options);
 *   - a Client Characteristic Configuration descriptor (or `cccd` options) on a characteristic
 *     that neither notifies nor indicates; a value or handler for a CCCD or an Extended
 *     Properties descriptor (the server owns those);
 *   - two descriptors of a type that may appear once (0x2900-0x2903) on one characteristic;
 *     a declaration type (0x2800-0x2803) declared as a descriptor;
 *   - a static value longer than its maximum length (at most 512 octets, Part F 3.2.9);
 *     both a value and an onRead handler; an onRead handler without an onWrite handler on
 *     something writable; permissions for an operation the properties do not allow;
 *     writableAuxiliaries without a User Description;
 *   - an include that names no service of the database, or the service itself;
 *   - two services or characteristics with the same id.
 */
import { GattUuid, uuid16, uuidToAttBytes } from './uuid.ts'
import type {
  Attribute,
  CharacteristicDeclaration,
  CharacteristicRef,
  DatabaseDeclaration,
  ServiceDeclaration,
  ServiceRef,
} from './database-types.ts'
import {
  attribute,
  bytesOf,
  DatabaseError,
  Handles,
  hex4,
  uuidAt,
  type Context,
  type InternalCharacteristic,
  type Mutable,
} from './database-attribute.ts'
import { buildCharacteristic } from './database-characteristic.ts'

export { DatabaseError, requirement } from './database-attribute.ts'

const DEVICE_NAME_MAX = 248

export interface BuiltService {
  readonly ref: ServiceRef
  readonly attributes: Attribute[]
  readonly declaration: ServiceDeclaration | undefined
}

function buildService(d: ServiceDeclaration, path: string, ctx: Context, mandatory: boolean): BuiltService {
  if (d === null || typeof d !== 'object') throw new DatabaseError(path, 'a service declaration is an object')
  const uuid = uuidAt(d.uuid, `${path}.uuid`)
  if (!mandatory && (uuid === GattUuid.GapService || uuid === GattUuid.GattService)) {
    throw new DatabaseError(
      path,
      `the ${uuid === GattUuid.GapService ? 'GAP (0x1800)' : 'GATT (0x1801)'} service is added automatically`,
      'configure it with the `gap` and `gatt` options of the declaration',
    )
  }
  if (d.id !== undefined) {
    if (ctx.serviceIds.has(d.id))
      throw new DatabaseError(`${path}.id`, `another service has id ${JSON.stringify(d.id)}`)
    ctx.serviceIds.add(d.id)
  }
  const primary = d.primary ?? true
  const handle = ctx.handles.next(d.handle, path)
  const ref: Mutable<ServiceRef> = {
    uuid,
    id: d.id,
    primary,
    handle,
    endHandle: handle,
    includes: [],
    characteristics: [],
  }
  const decl = attribute({
    handle,
    type: primary ? GattUuid.PrimaryService : GattUuid.SecondaryService,
    kind: 'service',
    service: ref,
    value: uuidToAttBytes(uuid),
  })
  const attributes: Attribute[] = [decl]
  ;(d.includes ?? []).forEach((target, j) => {
    const p = `${path}.includes[${j}]`
    const h = ctx.handles.next(undefined, p)
    const a = attribute({ handle: h, type: GattUuid.Include, kind: 'include', service: ref })
    ctx.pending.push({ attr: a, target, path: p, owner: ref })
    attributes.push(a)
  })
  const chars: CharacteristicRef[] = []
  ;(d.characteristics ?? []).forEach((c, k) => {
    const built = buildCharacteristic(c as InternalCharacteristic, `${path}.characteristics[${k}]`, ref, ctx)
    chars.push(built.ref)
    attributes.push(...built.attributes)
  })
  ref.characteristics = chars
  ref.endHandle = ctx.handles.last
  decl.groupEnd = ref.endHandle
  return { ref, attributes, declaration: mandatory ? undefined : d }
}

// ---------------------------------------------------------------------------------------------
// The mandatory services

function gapService(d: DatabaseDeclaration): ServiceDeclaration {
  const g = d.gap ?? {}
  const name = g.deviceName ?? 'hcikit'
  const nameBytes = bytesOf(name)
  if (nameBytes.length > DEVICE_NAME_MAX)
    throw new DatabaseError(
      'gap.deviceName',
      `${nameBytes.length} octets; a Device Name has at most ${DEVICE_NAME_MAX}`,
    )
  const appearance = g.appearance ?? 0
  if (!Number.isInteger(appearance) || appearance < 0 || appearance > 0xffff)
    throw new DatabaseError('gap.appearance', `${appearance} is not a 16-bit value`)
  const writable = g.deviceNameWritable ?? false
  const deviceName: CharacteristicDeclaration = {
    uuid: GattUuid.DeviceName,
    properties: writable === false ? ['read'] : ['read', 'write'],
    value: nameBytes,
    maxLength: DEVICE_NAME_MAX,
    permissions: writable === false ? undefined : { write: writable === true ? 'open' : writable },
  }
  const out: ServiceDeclaration = {
    uuid: GattUuid.GapService,
    characteristics: [
      deviceName,
      { uuid: GattUuid.Appearance, properties: ['read'], value: new Uint8Array([appearance & 0xff, appearance >>> 8]) },
      ...(g.characteristics ?? []),
    ],
  }
  return g.handle === undefined ? out : { ...out, handle: g.handle }
}

function gattService(d: DatabaseDeclaration): ServiceDeclaration {
  const g = d.gatt ?? {}
  const chars: InternalCharacteristic[] = [
    { uuid: GattUuid.ServiceChanged, properties: ['indicate'], special: 'serviceChanged' },
    { uuid: GattUuid.ClientSupportedFeatures, properties: ['read', 'write'], special: 'clientSupportedFeatures' },
    { uuid: GattUuid.DatabaseHash, properties: ['read'], special: 'databaseHash' },
  ]
  if (g.serverSupportedFeatures !== undefined) {
    const f = g.serverSupportedFeatures
    if (!Number.isInteger(f) || f < 0 || f > 0xff)
      throw new DatabaseError('gatt.serverSupportedFeatures', `${f} is not an octet`)
    chars.push({ uuid: GattUuid.ServerSupportedFeatures, properties: ['read'], value: new Uint8Array([f]) })
  }
  const out: ServiceDeclaration = { uuid: GattUuid.GattService, characteristics: chars }
  return g.handle === undefined ? out : { ...out, handle: g.handle }
}

// ---------------------------------------------------------------------------------------------
// Whole databases and added services

function resolveIncludes(ctx: Context, services: readonly BuiltService[]): void {
  for (const p of ctx.pending) {
    const t = p.target
    const target =
      typeof t === 'string'
        ? services.find((s) => s.ref.id === t)
        : services.find((s) => s.declaration === t || s.ref === t)
    if (!target) {
      throw new DatabaseError(
        p.path,
        `${typeof t === 'string' ? `no service has id ${JSON.stringify(t)}` : 'the included service is not part of this database'}`,
      )
    }
    if (target.ref === p.owner) throw new DatabaseError(p.path, 'a service cannot include itself')
    const r = target.ref
    const short = uuid16(r.uuid)
    const v = new Uint8Array(short === undefined ? 4 : 6)
    v[0] = r.handle & 0xff
    v[1] = r.handle >>> 8
    v[2] = r.endHandle & 0xff
    v[3] = r.endHandle >>> 8
    if (short !== undefined) {
      v[4] = short & 0xff
      v[5] = short >>> 8
    }
    p.attr.value = v
    ;(p.owner.includes as ServiceRef[]).push(r)
  }
}

export function buildDatabase(d: DatabaseDeclaration): BuiltService[] {
  if (d === null || typeof d !== 'object') throw new DatabaseError('declaration', 'a database declaration is an object')
  const ctx: Context = {
    handles: new Handles(0, new Map()),
    serviceIds: new Set(),
    characteristicIds: new Set(),
    pending: [],
  }
  const out = [buildService(gapService(d), 'gap', ctx, true), buildService(gattService(d), 'gatt', ctx, true)]
  if (d.services !== undefined && !Array.isArray(d.services))
    throw new DatabaseError('services', 'a list of service declarations')
  ;(d.services ?? []).forEach((s, i) => out.push(buildService(s, `services[${i}]`, ctx, false)))
  resolveIncludes(ctx, out)
  return out
}

export function buildAddedService(d: ServiceDeclaration, existing: readonly BuiltService[]): BuiltService {
  const used = new Map<number, string>()
  const ctx: Context = {
    handles: new Handles(0, used),
    serviceIds: new Set(),
    characteristicIds: new Set(),
    pending: [],
  }
  for (const s of existing) {
    if (s.ref.id !== undefined) ctx.serviceIds.add(s.ref.id)
    for (const c of s.ref.characteristics) if (c.id !== undefined) ctx.characteristicIds.add(c.id)
    for (const a of s.attributes) used.set(a.handle, `the service at ${hex4(s.ref.handle)}`)
  }
  const last = Math.max(0, ...existing.map((s) => s.ref.endHandle))
  ctx.handles.last = d?.handle === undefined ? last : Math.max(0, d.handle - 1)
  const built = buildService(d, 'service', ctx, false)
  for (const s of existing) {
    if (built.ref.handle <= s.ref.endHandle && built.ref.endHandle >= s.ref.handle) {
      throw new DatabaseError(
        'service',
        `handles ${hex4(built.ref.handle)}..${hex4(built.ref.endHandle)} overlap ` +
          `the service at ${hex4(s.ref.handle)}..${hex4(s.ref.endHandle)}`,
      )
    }
  }
  resolveIncludes(ctx, [...existing, built])
  return built
}
