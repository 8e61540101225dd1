/**
 * From a characteristic declaration to its attributes (Core v5.4 Vol 3 Part G 3.3: the
 * characteristic declaration 3.3.1 with its properties 3.3.1.1, the value 3.3.2, then the
 * descriptors 3.3.3, placed by att/database-descriptors.ts).
 *
 * The declaration is checked first, in a fixed order (so a declaration with several faults always
 * gets the same error): UUID and id, property names, the declared descriptors, the options that
 * add descriptors, then what the properties allow (permissions, handlers), maximum length and
 * static value. Only then are handles taken.
 */
import { GattUuid, uuid16, uuidToAttBytes, type Uuid } from './uuid.ts'
import {
  Property,
  type Attribute,
  type CharacteristicDeclaration,
  type CharacteristicRef,
  type ServiceRef,
} from './database-types.ts'
import {
  attribute,
  DatabaseError,
  maxLengthOf,
  requirement,
  staticValue,
  uuidAt,
  type Context,
  type InternalCharacteristic,
  type Mutable,
} from './database-attribute.ts'
import { placeDescriptors, type DeclaredDescriptor } from './database-descriptors.ts'

/** Which operations the value allows (from the properties and Extended Properties). */
interface Access {
  canRead: boolean
  writeRequest: boolean
  writeCommand: boolean
  signedWrite: boolean
  canWrite: boolean
}

/** The properties octet from the property names. */
function propertiesOf(c: CharacteristicDeclaration, path: string): number {
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
  return props
}

/** The `descriptors` list, with UUIDs parsed; at most one of each single-instance type, no declaration types. */
function declaredDescriptors(c: CharacteristicDeclaration, path: string): DeclaredDescriptor[] {
  const declared = (c.descriptors ?? []).map((d, i) => ({
    d,
    uuid: uuidAt(d.uuid, `${path}.descriptors[${i}].uuid`),
    path: `${path}.descriptors[${i}]`,
  }))
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
  return declared
}

/** The options that add descriptors must agree with the properties and with the declared descriptors. */
function checkDescriptorOptions(
  c: CharacteristicDeclaration,
  path: string,
  notifies: boolean,
  declared: readonly DeclaredDescriptor[],
): void {
  const has = (u: Uuid): boolean => declared.some((x) => x.uuid === u)
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
}

/** What the properties allow; permissions and handlers for operations that do not exist are errors. */
function accessOf(c: CharacteristicDeclaration, path: string, props: number): Access {
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
  return { canRead, writeRequest, writeCommand, signedWrite, canWrite }
}

/** The characteristic declaration's value: properties, value handle, UUID (3.3.1). */
function declarationValue(props: number, valueHandle: number, uuid: Uuid): Uint8Array {
  const uuidBytes = uuidToAttBytes(uuid)
  const v = new Uint8Array(3 + uuidBytes.length)
  v[0] = props
  v[1] = valueHandle & 0xff
  v[2] = valueHandle >>> 8
  v.set(uuidBytes, 3)
  return v
}

export function buildCharacteristic(
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
  let props = propertiesOf(c, path)
  const declared = declaredDescriptors(c, path)
  const declaresExtended = declared.some((x) => x.uuid === GattUuid.ExtendedProperties)
  if (c.reliableWrite || c.writableAuxiliaries || declaresExtended) props |= Property.extendedProperties
  const notifies = (props & (Property.notify | Property.indicate)) !== 0
  checkDescriptorOptions(c, path, notifies, declared)
  const access = accessOf(c, path, props)
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
  const attributes: Attribute[] = [
    attribute({
      handle: declHandle,
      type: GattUuid.Characteristic,
      kind: 'characteristic',
      service,
      characteristic: ref,
      value: declarationValue(props, valueHandle, uuid),
    }),
    attribute({
      handle: valueHandle,
      type: uuid,
      kind: 'value',
      service,
      characteristic: ref,
      value,
      read: access.canRead ? requirement(c.permissions?.read ?? 'open', `${path}.permissions.read`) : null,
      write: access.canWrite ? requirement(c.permissions?.write ?? 'open', `${path}.permissions.write`) : null,
      writeRequest: access.writeRequest,
      writeCommand: access.writeCommand,
      signedWrite: access.signedWrite,
      maxLength,
      onRead: c.onRead,
      onWrite: c.onWrite,
      special,
    }),
  ]
  ref.descriptors = placeDescriptors(c, path, ref, declared, notifies, ctx, attributes)
  return { ref, attributes }
}
