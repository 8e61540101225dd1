/**
 * The shapes of the local attribute database (Core v5.4 Vol 3 Part F 3.2 "Attribute"; Part G 3
 * service, include and characteristic declarations, 3.3.1.1 characteristic properties, 3.3.3
 * descriptors): what a user declares (`DatabaseDeclaration` and its parts) and what the
 * database is made of once built (`Attribute`, `ServiceRef`, ...). Types and constants only, so
 * the builder (att/database-build.ts) and the database (att/database.ts) both depend on this file
 * and not on each other.
 */
import type { ServerConnection } from './server-connection.ts'
import type { Uuid } from './uuid.ts'

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

export type PropertyName = keyof typeof Property

/** The longest attribute value (Vol 3 Part F 3.2.9). */
export const MAX_ATTRIBUTE_LENGTH = 512

// ---------------------------------------------------------------------------------------------
// Declarations

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
