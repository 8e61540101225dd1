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
import { HcikitError } from '../hci/errors.ts'
import { GattUuid, parseUuid, uuid16, uuidToAttBytes, UuidError } from './uuid.ts'
import type { Uuid } from './uuid.ts'
import type {
  Attribute,
  CharacteristicDeclaration,
  CharacteristicRef,
  DatabaseDeclaration,
  DescriptorDeclaration,
  DescriptorRef,
  ReadHandler,
  Requirement,
  Security,
  ServiceDeclaration,
  ServiceRef,
  SpecialAttribute,
  WriteHandler,
} from './database.ts'

/** Characteristic properties (Vol 3 Part G 3.3.1.1, Table 3.5). */
export const Property = {
  broadcast: 0x01,
  read: 0x02,
  writeWithoutResponse: 0x04,
  write: 0x08,
  notify: 0x10,
  indicate: 0x20,
  authenticatedSignedWrites: 0x40,
  extendedProperties: 0x80,
} as const

/** The longest attribute value (Vol 3 Part F 3.2.9). */
export const MAX_ATTRIBUTE_LENGTH = 512

/** The declaration does not make a valid database. `path` names the declaration at fault. */
export class DatabaseError extends HcikitError {
  override name = 'DatabaseError'
  constructor(
    readonly path: string,
    message: string,
    hint?: string,
  ) {
    super('GATT_INVALID_DATABASE', 'usage', `${path}: ${message}`, hint === undefined ? {} : { hint })
  }
}

export interface BuiltService {
  readonly ref: ServiceRef
  readonly attributes: Attribute[]
  readonly declaration: ServiceDeclaration | undefined
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }
type InternalCharacteristic = CharacteristicDeclaration & { special?: SpecialAttribute }

const OPEN: Requirement = Object.freeze({ encrypted: false, authenticated: false, authorized: false, keySize: 0 })
const hex4 = (h: number): string => `0x${h.toString(16).padStart(4, '0')}`
const utf8 = new TextEncoder()
const DEVICE_NAME_MAX = 248

/** Normalise a Security option. */
export function requirement(s: Security | true, path: string): Requirement {
  if (s === true || s === 'open') return OPEN
  if (s === 'encrypted') return { ...OPEN, encrypted: true }
  if (s === 'authenticated') return { ...OPEN, encrypted: true, authenticated: true }
  if (s === null || typeof s !== 'object')
    throw new DatabaseError(
      path,
      `${JSON.stringify(s)} is not a security requirement ('open', 'encrypted', 'authenticated' or an object)`,
    )
  const keySize = s.keySize ?? 0
  if (!Number.isInteger(keySize) || (keySize !== 0 && (keySize < 7 || keySize > 16))) {
    throw new DatabaseError(path, `keySize ${keySize}: an encryption key has 7 to 16 octets`)
  }
  const authenticated = s.authenticated === true
  return {
    encrypted: s.encrypted === true || authenticated || keySize > 0,
    authenticated,
    authorized: s.authorized === true,
    keySize,
  }
}

function uuidAt(u: string | number, path: string): Uuid {
  try {
    return parseUuid(u)
  } catch (e) {
    if (e instanceof UuidError) throw new DatabaseError(path, e.message, e.hint)
    throw e
  }
}

function bytesOf(v: Uint8Array | string | undefined): Uint8Array {
  if (v === undefined) return new Uint8Array(0)
  return typeof v === 'string' ? utf8.encode(v) : v.slice()
}

/** Hands out handles in increasing order and remembers who has each. */
class Handles {
  constructor(
    public last: number,
    readonly used: Map<number, string>,
  ) {}

  next(fixed: number | undefined, path: string): number {
    let h: number
    if (fixed !== undefined) {
      if (!Number.isInteger(fixed) || fixed < 1 || fixed > 0xffff)
        throw new DatabaseError(path, `handle ${String(fixed)} is not in 0x0001..0xFFFF`)
      const owner = this.used.get(fixed)
      if (owner !== undefined) throw new DatabaseError(path, `handle ${hex4(fixed)} is already used by ${owner}`)
      if (fixed <= this.last) {
        throw new DatabaseError(
          path,
          `handle ${hex4(fixed)} comes after ${hex4(this.last)}: handles must increase in declaration order`,
        )
      }
      h = fixed
    } else {
      h = this.last + 1
      if (h > 0xffff) throw new DatabaseError(path, 'no handles left: the database ends at 0xFFFF')
      const owner = this.used.get(h)
      if (owner !== undefined) throw new DatabaseError(path, `handle ${hex4(h)} is already used by ${owner}`)
    }
    this.last = h
    this.used.set(h, path)
    return h
  }
}

interface Context {
  readonly handles: Handles
  readonly serviceIds: Set<string>
  readonly characteristicIds: Set<string>
  /** Include attributes whose value waits for every service to have its handles. */
  readonly pending: {
    attr: Mutable<Attribute>
    target: string | ServiceDeclaration | ServiceRef
    path: string
    owner: Mutable<ServiceRef>
  }[]
}

function attribute(
  a: Partial<Attribute> & Pick<Attribute, 'handle' | 'type' | 'kind' | 'service'>,
): Mutable<Attribute> {
  return {
    characteristic: undefined,
    value: undefined,
    read: OPEN,
    write: null,
    writeRequest: false,
    writeCommand: false,
    signedWrite: false,
    maxLength: MAX_ATTRIBUTE_LENGTH,
    onRead: undefined,
    onWrite: undefined,
    special: undefined,
    groupEnd: undefined,
    ...a,
  }
}

function maxLengthOf(m: number | undefined, path: string): number {
  const n = m ?? MAX_ATTRIBUTE_LENGTH
  if (!Number.isInteger(n) || n < 0 || n > MAX_ATTRIBUTE_LENGTH) {
    throw new DatabaseError(path, `maxLength ${String(m)}: an attribute value has 0 to ${MAX_ATTRIBUTE_LENGTH} octets`)
  }
  return n
}

function staticValue(
  value: Uint8Array | string | undefined,
  onRead: ReadHandler | undefined,
  maxLength: number,
  path: string,
): Uint8Array | undefined {
  if (onRead !== undefined && value !== undefined)
    throw new DatabaseError(path, 'give a static value or an onRead handler, not both')
  if (onRead !== undefined) return undefined
  if (value !== undefined && typeof value !== 'string' && !(value instanceof Uint8Array)) {
    throw new DatabaseError(path, 'a value is a Uint8Array or a string')
  }
  const bytes = bytesOf(value)
  if (bytes.length > maxLength) {
    throw new DatabaseError(
      path,
      `static value of ${bytes.length} octets is longer than ${maxLength}${
        maxLength === MAX_ATTRIBUTE_LENGTH ? ' (the longest attribute value)' : ' (its maxLength)'
      }`,
    )
  }
  return bytes
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

function buildCharacteristic(
  c: InternalCharacteristic,
  path: string,
  service: ServiceRef,
  ctx: Context,
): { ref: CharacteristicRef; attributes: Attribute[] } {
  if (c === null || typeof c !== 'object') throw new DatabaseError(path, 'a characteristic declaration is an object')
  const uuid = uuidAt(c.uuid, `${path}.uuid`)
  if (c.id !== undefined) {
    if (ctx.characteristicIds.has(c.id))
      throw new DatabaseError(`${path}.id`, `another characteristic has id ${JSON.stringify(c.id)}`)
    ctx.characteristicIds.add(c.id)
  }
  if (!Array.isArray(c.properties))
    throw new DatabaseError(`${path}.properties`, 'a list of property names, e.g. ["read", "notify"]')
  let props = 0
  for (const name of c.properties) {
    if (!Object.hasOwn(Property, name)) {
      throw new DatabaseError(
        `${path}.properties`,
        `unknown property ${JSON.stringify(name)} (one of ${Object.keys(Property).join(', ')})`,
      )
    }
    props |= Property[name as keyof typeof Property]
  }
  const declared = (c.descriptors ?? []).map((d, i) => ({
    d,
    uuid: uuidAt(d.uuid, `${path}.descriptors[${i}].uuid`),
    path: `${path}.descriptors[${i}]`,
  }))
  const has = (u: Uuid): boolean => declared.some((x) => x.uuid === u)
  for (const once of [
    GattUuid.ExtendedProperties,
    GattUuid.UserDescription,
    GattUuid.ClientCharacteristicConfiguration,
    GattUuid.ServerCharacteristicConfiguration,
  ]) {
    const n = declared.filter((x) => x.uuid === once)
    if (n.length > 1)
      throw new DatabaseError(n[1]!.path, `a characteristic has at most one 0x${uuid16(once)!.toString(16)} descriptor`)
  }
  for (const x of declared) {
    const t = uuid16(x.uuid)
    if (t !== undefined && t >= 0x2800 && t <= 0x2803)
      throw new DatabaseError(x.path, `0x${t.toString(16)} is a declaration type, not a descriptor`)
  }
  if (c.reliableWrite || c.writableAuxiliaries || has(GattUuid.ExtendedProperties)) props |= Property.extendedProperties
  const extended = (props & Property.extendedProperties) !== 0
  const notifies = (props & (Property.notify | Property.indicate)) !== 0
  if (has(GattUuid.ClientCharacteristicConfiguration) && !notifies) {
    throw new DatabaseError(
      declared.find((x) => x.uuid === GattUuid.ClientCharacteristicConfiguration)!.path,
      'a Client Characteristic Configuration descriptor on a characteristic that neither notifies nor indicates',
    )
  }
  if (c.cccd !== undefined && !notifies)
    throw new DatabaseError(`${path}.cccd`, 'CCCD options on a characteristic that neither notifies nor indicates')
  if (c.description !== undefined && has(GattUuid.UserDescription))
    throw new DatabaseError(`${path}.description`, 'the User Description is also declared in descriptors')
  if (c.presentationFormat !== undefined && has(GattUuid.PresentationFormat))
    throw new DatabaseError(`${path}.presentationFormat`, 'a Presentation Format is also declared in descriptors')
  if (c.writableAuxiliaries && c.description === undefined && !has(GattUuid.UserDescription)) {
    throw new DatabaseError(`${path}.writableAuxiliaries`, 'writable auxiliaries without a User Description to write')
  }

  const canRead = (props & Property.read) !== 0
  const writeRequest = (props & Property.write) !== 0 || c.reliableWrite === true
  const writeCommand = (props & Property.writeWithoutResponse) !== 0
  const signedWrite = (props & Property.authenticatedSignedWrites) !== 0
  const canWrite = writeRequest || writeCommand || signedWrite
  if (c.permissions?.read !== undefined && !canRead)
    throw new DatabaseError(
      `${path}.permissions.read`,
      'read permissions, but the characteristic has no "read" property',
    )
  if (c.permissions?.write !== undefined && !canWrite)
    throw new DatabaseError(
      `${path}.permissions.write`,
      'write permissions, but the characteristic has no write property',
    )
  if (c.onWrite !== undefined && !canWrite)
    throw new DatabaseError(`${path}.onWrite`, 'an onWrite handler, but the characteristic has no write property')
  if (c.onRead !== undefined && c.onWrite === undefined && canWrite) {
    throw new DatabaseError(
      `${path}.onWrite`,
      'a writable characteristic with an onRead handler needs an onWrite handler (writes would go nowhere)',
    )
  }
  const maxLength = maxLengthOf(c.maxLength, `${path}.maxLength`)
  const special = c.special
  const value = special === undefined ? staticValue(c.value, c.onRead, maxLength, path) : undefined

  const declHandle = ctx.handles.next(c.handle, path)
  const valueHandle = ctx.handles.next(undefined, `${path} (value)`)
  const ref: Mutable<CharacteristicRef> = {
    uuid,
    id: c.id,
    service,
    handle: declHandle,
    valueHandle,
    cccdHandle: undefined,
    properties: props,
    descriptors: [],
  }
  const uuidBytes = uuidToAttBytes(uuid)
  const declValue = new Uint8Array(3 + uuidBytes.length)
  declValue[0] = props
  declValue[1] = valueHandle & 0xff
  declValue[2] = valueHandle >>> 8
  declValue.set(uuidBytes, 3)
  const attributes: Attribute[] = [
    attribute({
      handle: declHandle,
      type: GattUuid.Characteristic,
      kind: 'characteristic',
      service,
      characteristic: ref,
      value: declValue,
    }),
    attribute({
      handle: valueHandle,
      type: uuid,
      kind: 'value',
      service,
      characteristic: ref,
      value,
      read: canRead ? requirement(c.permissions?.read ?? 'open', `${path}.permissions.read`) : null,
      write: canWrite ? requirement(c.permissions?.write ?? 'open', `${path}.permissions.write`) : null,
      writeRequest,
      writeCommand,
      signedWrite,
      maxLength,
      onRead: c.onRead,
      onWrite: c.onWrite,
      special,
    }),
  ]

  // The descriptors the options add, then the declared ones.
  type Plan = { uuid: Uuid; path: string; make: (handle: number) => Mutable<Attribute> }
  const plan: Plan[] = []
  const descriptor = (handle: number, type: Uuid, a: Partial<Attribute>): Mutable<Attribute> =>
    attribute({ handle, type, kind: 'descriptor', service, characteristic: ref, ...a })
  const extValue = new Uint8Array([(c.reliableWrite ? 1 : 0) | (c.writableAuxiliaries ? 2 : 0), 0])
  const cudWrite = (w: Security | undefined, p: string): Requirement | null =>
    c.writableAuxiliaries ? requirement(w ?? 'open', p) : null
  if (extended && !has(GattUuid.ExtendedProperties)) {
    plan.push({
      uuid: GattUuid.ExtendedProperties,
      path: `${path} (extended properties)`,
      make: (h) => descriptor(h, GattUuid.ExtendedProperties, { value: extValue }),
    })
  }
  if (c.description !== undefined) {
    const d = typeof c.description === 'string' ? { value: c.description } : c.description
    const p = `${path}.description`
    const v = staticValue(d.value, undefined, MAX_ATTRIBUTE_LENGTH, p)
    plan.push({
      uuid: GattUuid.UserDescription,
      path: p,
      make: (h) =>
        descriptor(h, GattUuid.UserDescription, {
          value: v,
          write: cudWrite(d.write, `${p}.write`),
          writeRequest: true,
        }),
    })
  }
  const cccdPath = `${path}.cccd`
  const cccd = (h: number): Mutable<Attribute> => {
    ref.cccdHandle = h
    return descriptor(h, GattUuid.ClientCharacteristicConfiguration, {
      special: 'cccd',
      write: requirement(c.cccd?.write ?? 'open', `${cccdPath}.write`),
      writeRequest: true,
      maxLength: 2,
    })
  }
  if (notifies && !has(GattUuid.ClientCharacteristicConfiguration))
    plan.push({ uuid: GattUuid.ClientCharacteristicConfiguration, path: cccdPath, make: cccd })
  if (c.presentationFormat !== undefined) {
    const f = c.presentationFormat
    const p = `${path}.presentationFormat`
    const v = presentationFormat(f, p)
    plan.push({
      uuid: GattUuid.PresentationFormat,
      path: p,
      make: (h) => descriptor(h, GattUuid.PresentationFormat, { value: v }),
    })
  }
  const fixed = new Map<Plan, number | undefined>()
  for (const p of plan) {
    const h =
      p.uuid === GattUuid.ClientCharacteristicConfiguration
        ? c.cccd?.handle
        : p.uuid === GattUuid.PresentationFormat
          ? c.presentationFormat?.handle
          : typeof c.description === 'object' && p.uuid === GattUuid.UserDescription
            ? c.description.handle
            : undefined
    fixed.set(p, h)
  }
  for (const x of declared) {
    plan.push({
      uuid: x.uuid,
      path: x.path,
      make: (h) => declaredDescriptor(x.d, x.uuid, x.path, h, descriptor, { cccd, extValue, cudWrite }),
    })
    fixed.set(plan.at(-1)!, x.d.handle)
  }
  const descriptors: DescriptorRef[] = []
  for (const p of plan) {
    const h = ctx.handles.next(fixed.get(p), p.path)
    attributes.push(p.make(h))
    descriptors.push({ uuid: p.uuid, handle: h, characteristic: ref })
  }
  ref.descriptors = descriptors
  return { ref, attributes }
}

function declaredDescriptor(
  d: DescriptorDeclaration,
  uuid: Uuid,
  path: string,
  handle: number,
  descriptor: (handle: number, type: Uuid, a: Partial<Attribute>) => Mutable<Attribute>,
  own: {
    cccd: (h: number) => Mutable<Attribute>
    extValue: Uint8Array
    cudWrite: (w: Security | undefined, p: string) => Requirement | null
  },
): Mutable<Attribute> {
  const owned = uuid === GattUuid.ClientCharacteristicConfiguration || uuid === GattUuid.ExtendedProperties
  if (
    owned &&
    (d.value !== undefined ||
      d.onRead !== undefined ||
      d.onWrite !== undefined ||
      d.permissions !== undefined ||
      d.maxLength !== undefined)
  ) {
    throw new DatabaseError(
      path,
      `the server owns the value of this descriptor${
        uuid === GattUuid.ClientCharacteristicConfiguration
          ? " (per connection); use the characteristic's cccd option"
          : ' (from reliableWrite and writableAuxiliaries)'
      }`,
    )
  }
  if (uuid === GattUuid.ClientCharacteristicConfiguration) return own.cccd(handle)
  if (uuid === GattUuid.ExtendedProperties) return descriptor(handle, uuid, { value: own.extValue })
  const maxLength = maxLengthOf(d.maxLength, `${path}.maxLength`)
  const value = staticValue(d.value, d.onRead, maxLength, path)
  const perms = d.permissions ?? {}
  const read = perms.read === false ? null : requirement(perms.read ?? 'open', `${path}.permissions.read`)
  let write: Requirement | null =
    perms.write === false
      ? null
      : perms.write !== undefined
        ? requirement(perms.write, `${path}.permissions.write`)
        : d.onWrite !== undefined
          ? OPEN
          : null
  if (d.onRead !== undefined && d.onWrite === undefined && write !== null) {
    throw new DatabaseError(
      `${path}.onWrite`,
      'a writable descriptor with an onRead handler needs an onWrite handler (writes would go nowhere)',
    )
  }
  if (uuid === GattUuid.UserDescription) {
    const aux = own.cudWrite(undefined, `${path}.permissions.write`)
    if (write !== null && aux === null)
      throw new DatabaseError(path, 'a writable User Description needs writableAuxiliaries on its characteristic')
    write ??= aux
  }
  return descriptor(handle, uuid, {
    value,
    read,
    write,
    writeRequest: write !== null,
    maxLength,
    onRead: d.onRead,
    onWrite: d.onWrite as WriteHandler | undefined,
  })
}

function presentationFormat(
  f: { format: number; exponent?: number; unit: number; namespace?: number; description?: number },
  path: string,
): Uint8Array {
  const check = (v: number, min: number, max: number, name: string): number => {
    if (!Number.isInteger(v) || v < min || v > max)
      throw new DatabaseError(`${path}.${name}`, `${v} is not an integer ${min}..${max}`)
    return v
  }
  const exp = check(f.exponent ?? 0, -128, 127, 'exponent')
  const unit = check(f.unit, 0, 0xffff, 'unit')
  const desc = check(f.description ?? 0, 0, 0xffff, 'description')
  return new Uint8Array([
    check(f.format, 0, 0xff, 'format'),
    exp & 0xff,
    unit & 0xff,
    unit >>> 8,
    check(f.namespace ?? 1, 0, 0xff, 'namespace'),
    desc & 0xff,
    desc >>> 8,
  ])
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
    ...(writable === false ? {} : { permissions: { write: writable === true ? 'open' : writable } }),
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
        `handles ${hex4(built.ref.handle)}..${hex4(built.ref.endHandle)} overlap the service at ` +
          `${hex4(s.ref.handle)}..${hex4(s.ref.endHandle)}`,
      )
    }
  }
  resolveIncludes(ctx, [...existing, built])
  return built
}
