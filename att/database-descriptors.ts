/**
 * The descriptors of a characteristic (Core v5.4 Vol 3 Part G 3.3.3: Extended Properties
 * 3.3.3.1, User Description 3.3.3.2, Client Characteristic Configuration 3.3.3.3, Presentation
 * Format 3.3.3.5, and any other declared descriptor).
 *
 * First the descriptors the characteristic's options add (Extended Properties when an extended
 * property is set, the User Description from `description`, the CCCD when it notifies or
 * indicates, the Presentation Format), then the declared ones in order; declaring one of those
 * types places it there instead. The server owns the values of the CCCD (per connection) and of
 * Extended Properties (from the options): a declaration gives neither a value nor handlers.
 * Handles are taken in that order, each fixed one where the declaration puts it.
 */
import { GattUuid, type Uuid } from './uuid.ts'
import {
  MAX_ATTRIBUTE_LENGTH,
  Property,
  type Attribute,
  type CharacteristicRef,
  type DescriptorDeclaration,
  type DescriptorRef,
  type PresentationFormat,
  type Requirement,
  type Security,
  type WriteHandler,
} from './database-types.ts'
import {
  attribute,
  DatabaseError,
  maxLengthOf,
  OPEN,
  requirement,
  staticValue,
  type Context,
  type InternalCharacteristic,
  type Mutable,
} from './database-attribute.ts'

/** A descriptor from the characteristic's `descriptors` list, its UUID parsed. */
export interface DeclaredDescriptor {
  d: DescriptorDeclaration
  uuid: Uuid
  path: string
}

interface Planned {
  uuid: Uuid
  path: string
  /** The handle the declaration fixes, if any. */
  fixed: number | undefined
  make: (handle: number) => Mutable<Attribute>
}

/** Makes the descriptor attributes of one characteristic, those the server owns included. */
class DescriptorMaker {
  readonly extValue: Uint8Array

  constructor(
    private readonly c: InternalCharacteristic,
    private readonly path: string,
    private readonly ref: Mutable<CharacteristicRef>,
  ) {
    this.extValue = new Uint8Array([(c.reliableWrite ? 1 : 0) | (c.writableAuxiliaries ? 2 : 0), 0])
  }

  get properties(): number {
    return this.ref.properties
  }

  descriptor(handle: number, type: Uuid, a: Partial<Attribute>): Mutable<Attribute> {
    const { service } = this.ref
    return attribute({ handle, type, kind: 'descriptor', service, characteristic: this.ref, ...a })
  }

  /** Who may write the User Description: only with writable auxiliaries (3.3.3.1). */
  cudWrite(w: Security | undefined, p: string): Requirement | null {
    return this.c.writableAuxiliaries ? requirement(w ?? 'open', p) : null
  }

  cccd(h: number): Mutable<Attribute> {
    this.ref.cccdHandle = h
    return this.descriptor(h, GattUuid.ClientCharacteristicConfiguration, {
      special: 'cccd',
      write: requirement(this.c.cccd?.write ?? 'open', `${this.path}.cccd.write`),
      writeRequest: true,
      maxLength: 2,
    })
  }
}

/** The descriptors the options add, in their order. */
function optionDescriptors(
  c: InternalCharacteristic,
  path: string,
  m: DescriptorMaker,
  notifies: boolean,
  declared: readonly DeclaredDescriptor[],
): Planned[] {
  const has = (u: Uuid): boolean => declared.some((x) => x.uuid === u)
  const plan: Planned[] = []
  const extended = (m.properties & Property.extendedProperties) !== 0
  if (extended && !has(GattUuid.ExtendedProperties)) {
    plan.push({
      uuid: GattUuid.ExtendedProperties,
      path: `${path} (extended properties)`,
      fixed: undefined,
      make: (h) => m.descriptor(h, GattUuid.ExtendedProperties, { value: m.extValue }),
    })
  }
  if (c.description !== undefined) {
    const d = typeof c.description === 'string' ? { value: c.description } : c.description
    const p = `${path}.description`
    const v = staticValue(d.value, undefined, MAX_ATTRIBUTE_LENGTH, p)
    plan.push({
      uuid: GattUuid.UserDescription,
      path: p,
      fixed: typeof c.description === 'object' ? c.description.handle : undefined,
      make: (h) =>
        m.descriptor(h, GattUuid.UserDescription, {
          value: v,
          write: m.cudWrite(d.write, `${p}.write`),
          writeRequest: true,
        }),
    })
  }
  if (notifies && !has(GattUuid.ClientCharacteristicConfiguration))
    plan.push({
      uuid: GattUuid.ClientCharacteristicConfiguration,
      path: `${path}.cccd`,
      fixed: c.cccd?.handle,
      make: (h) => m.cccd(h),
    })
  if (c.presentationFormat !== undefined) {
    const p = `${path}.presentationFormat`
    const v = presentationFormat(c.presentationFormat, p)
    plan.push({
      uuid: GattUuid.PresentationFormat,
      path: p,
      fixed: c.presentationFormat.handle,
      make: (h) => m.descriptor(h, GattUuid.PresentationFormat, { value: v }),
    })
  }
  return plan
}

/** Every descriptor of the characteristic: handles taken, attributes appended to `attributes`. */
export function placeDescriptors(
  c: InternalCharacteristic,
  path: string,
  ref: Mutable<CharacteristicRef>,
  declared: readonly DeclaredDescriptor[],
  notifies: boolean,
  ctx: Context,
  attributes: Attribute[],
): DescriptorRef[] {
  const m = new DescriptorMaker(c, path, ref)
  const plan = optionDescriptors(c, path, m, notifies, declared)
  for (const x of declared) {
    plan.push({ uuid: x.uuid, path: x.path, fixed: x.d.handle, make: (h) => declaredDescriptor(x, h, m) })
  }
  const descriptors: DescriptorRef[] = []
  for (const p of plan) {
    const h = ctx.handles.next(p.fixed, p.path)
    attributes.push(p.make(h))
    descriptors.push({ uuid: p.uuid, handle: h, characteristic: ref })
  }
  return descriptors
}

/** One declared descriptor; the CCCD and Extended Properties get the server's own value. */
function declaredDescriptor(x: DeclaredDescriptor, handle: number, m: DescriptorMaker): Mutable<Attribute> {
  const { d, uuid, path } = x
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
      'the server owns the value of this descriptor' +
        (uuid === GattUuid.ClientCharacteristicConfiguration
          ? " (per connection); use the characteristic's cccd option"
          : ' (from reliableWrite and writableAuxiliaries)'),
    )
  }
  if (uuid === GattUuid.ClientCharacteristicConfiguration) return m.cccd(handle)
  if (uuid === GattUuid.ExtendedProperties) return m.descriptor(handle, uuid, { value: m.extValue })
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
    const aux = m.cudWrite(undefined, `${path}.permissions.write`)
    if (write !== null && aux === null)
      throw new DatabaseError(path, 'a writable User Description needs writableAuxiliaries on its characteristic')
    write ??= aux
  }
  const onWrite = d.onWrite as WriteHandler | undefined
  return m.descriptor(handle, uuid, {
    value,
    read,
    write,
    writeRequest: write !== null,
    maxLength,
    onRead: d.onRead,
    onWrite,
  })
}

/** Characteristic Presentation Format (3.3.3.5): 7 octets, each field checked. */
function presentationFormat(f: PresentationFormat, path: string): Uint8Array {
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
