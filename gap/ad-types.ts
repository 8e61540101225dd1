/**
 * The shapes of parsed advertising and scan-response data (Core v5.4 Vol 3 Part C 11; the data
 * types of the Core Specification Supplement v11 Part A, section 1). Types only: the decoders
 * (gap/ad-decoders.ts) fill a `ParsedAd`, gap/ad.ts walks the AD structures.
 */

export interface AdStructure {
  type: number
  typeName: string
  /** Offset of the structure's length octet in the parsed data. */
  offset: number
  /** The AD data (after the type octet): a view into the parsed data. */
  data: Uint8Array
}

export interface IndoorPositioning {
  /** The Indoor Positioning Configuration octet. */
  config: number
  /** WGS84 coordinates (config bit 0 set, bit 1 clear), raw sint32 values. */
  latitude?: number
  longitude?: number
  /** Local coordinates (config bits 0 and 1 set), sint16 in decimetres. */
  localNorth?: number
  localEast?: number
  txPower?: number
  floorNumber?: number
  altitude?: number
  uncertainty?: number
  /** config bit 6: the Location Name characteristic is available over GATT. */
  locationNameAvailable: boolean
}

export interface TransportBlock {
  organizationId: number
  flags: number
  data: Uint8Array
}

export interface ParsedAd {
  /** Every complete AD structure, in order, raw. */
  structures: AdStructure[]
  /** Flags (0x01), the octets read little-endian (at most the first 4). */
  flags?: number
  /** All service UUID lists (0x02..0x07) merged in order, each UUID once, as lowercase 128-bit strings. */
  serviceUuids: string[]
  /** True when every service UUID list present is a complete list. */
  serviceUuidsComplete?: boolean
  /** All service solicitation lists (0x14, 0x1f, 0x15) merged in order, each UUID once. */
  solicitationUuids: string[]
  localName?: string
  shortName?: string
  txPower?: number
  classOfDevice?: number
  simplePairingHashC192?: Uint8Array
  simplePairingRandomizerR192?: Uint8Array
  simplePairingHashC256?: Uint8Array
  simplePairingRandomizerR256?: Uint8Array
  /** 0x10 with 16 octets: the Security Manager TK value (OOB data). */
  securityManagerTk?: Uint8Array
  /** 0x10 with 8 octets: the Device ID record (as carried in EIR). */
  deviceId?: { vendorIdSource: number; vendorId: number; productId: number; version: number }
  securityManagerOobFlags?: number
  /** Units of 1.25 ms; 0xffff means no specific value. */
  peripheralConnectionIntervalRange?: { min: number; max: number }
  appearance?: number
  /** Manufacturer Specific Data (0xff), in order; a repeat of the same company and bytes once. */
  manufacturerData: { companyId: number; data: Uint8Array }[]
  /** Service Data (0x16, 0x20, 0x21), in order; a repeat of the same UUID and bytes once. */
  serviceData: { uuid: string; data: Uint8Array }[]
  /** Units of 0.625 ms, from Advertising Interval (0x1a) or Advertising Interval - long (0x2f). */
  advertisingInterval?: number
  /** Public / Random Target Address lists (0x17, 0x18) merged, each address once. */
  publicTargetAddresses?: string[]
  randomTargetAddresses?: string[]
  leBluetoothDeviceAddress?: { address: string; random: boolean }
  leRole?: number
  leSecureConnectionsConfirmation?: Uint8Array
  leSecureConnectionsRandom?: Uint8Array
  uri?: string
  indoorPositioning?: IndoorPositioning
  transportDiscovery?: TransportBlock[]
  /** The LE features bit mask, octet 0 first (trailing zero octets may be left out). */
  leSupportedFeatures?: Uint8Array
  channelMapUpdate?: { channelMap: Uint8Array; instant: number }
  meshPbAdv?: Uint8Array
  meshMessage?: Uint8Array
  meshBeacon?: Uint8Array
  bigInfo?: Uint8Array
  broadcastCode?: Uint8Array
  resolvableSetIdentifier?: Uint8Array
  broadcastName?: string
  encryptedData?: { randomizer: Uint8Array; payload: Uint8Array; mic: Uint8Array }
  periodicAdvertisingResponseTiming?: {
    rspAccessAddress: number
    numSubevents: number
    subeventInterval: number
    responseSlotDelay: number
    responseSlotSpacing: number
  }
  electronicShelfLabel?: Uint8Array
  threeDInformation?: { flags: number; pathLossThreshold: number }
  /** Structures whose type is not assigned, raw with their type code. */
  unknown: AdStructure[]
  /** Malformed parts, with the offset in the parsed data where each was found. */
  errors: { offset: number; message: string }[]
}
