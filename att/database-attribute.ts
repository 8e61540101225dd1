/**
 * What every part of the database builder shares (Core v5.4 Vol 3 Part F 3.2 attributes: handle
 * 3.2.2, value length 3.2.9, permissions 3.2.5; Part G 3 declarations): the error a bad
 * declaration gets, security requirements, handle allocation in increasing order, attributes with
 * their defaults, and static values checked against their maximum length. The rules themselves
 * are listed in att/database-build.ts.
 */
import { HcikitError } from '../hci/errors.ts'
import { parseUuid, UuidError, type Uuid } from './uuid.ts'
import {
  MAX_ATTRIBUTE_LENGTH,
  type Attribute,
  type CharacteristicDeclaration,
  type ReadHandler,
  type Requirement,
  type Security,
  type ServiceDeclaration,
  type ServiceRef,
  type SpecialAttribute,
} from './database-types.ts'

/** The declaration does not make a valid database. `path` names the declaration at fault. */
export class DatabaseError extends HcikitError {
  override name = 'DatabaseError'
  constructor(
    readonly path: string,
    message: string,
    hint?: string,
  ) {
    super('GATT_INVALID_DATABASE', 'usage', `${path}: ${message}`, { hint })
  }
}

export type Mutable<T> = { -readonly [K in keyof T]: T[K] }
export type InternalCharacteristic = CharacteristicDeclaration & { special?: SpecialAttribute }

export const OPEN: Requirement = Object.freeze({
  encrypted: false,
  authenticated: false,
  authorized: false,
  keySize: 0,
})
export const hex4 = (h: number): string => `0x${h.toString(16).padStart(4, '0')}`
const utf8 = new TextEncoder()

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

export function uuidAt(u: string | number, path: string): Uuid {
  try {
    return parseUuid(u)
  } catch (e) {
    if (e instanceof UuidError) throw new DatabaseError(path, e.message, e.hint)
    throw e
  }
}

export function bytesOf(v: Uint8Array | string | undefined): Uint8Array {
  if (v === undefined) return new Uint8Array(0)
  return typeof v === 'string' ? utf8.encode(v) : v.slice()
}

/** Hands out handles in increasing order and remembers who has each. */
export class Handles {
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

export interface Context {
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

export function attribute(
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

export function maxLengthOf(m: number | undefined, path: string): number {
  const n = m ?? MAX_ATTRIBUTE_LENGTH
  if (!Number.isInteger(n) || n < 0 || n > MAX_ATTRIBUTE_LENGTH) {
    throw new DatabaseError(path, `maxLength ${String(m)}: an attribute value has 0 to ${MAX_ATTRIBUTE_LENGTH} octets`)
  }
  return n
}

export function staticValue(
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
      `static value of ${bytes.length} octets is longer than ${maxLength}` +
        (maxLength === MAX_ATTRIBUTE_LENGTH ? ' (the longest attribute value)' : ' (its maxLength)'),
    )
  }
  return bytes
}
