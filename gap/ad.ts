/**
 * Advertising and scan-response data codec.
 *
 * The data is a sequence of AD structures, each a length octet followed by an AD type octet and
 * length - 1 octets of AD data (Core v5.4 Vol 3 Part C 11). A zero length octet ends the
 * significant part; what follows is padding. The formats of the data types are the Core
 * Specification Supplement v11 Part A, section 1; their codes are Assigned Numbers 2.3
 * (gap/ad-names.ts). Extended advertising (Core v5.4 Vol 6 Part B 2.3.4) uses the same format,
 * only longer.
 *
 * `parseAd` never throws: a structure whose length runs past the end of the data, or a data type
 * whose body has the wrong size, is reported in `errors` and everything before it is kept. Every
 * byte array in the result is a view into the input. `AdBuilder` writes the same structures.
 */
import { DecodeError } from '../hci/errors.ts'
import { Reader, Writer, toHex } from '../hci/wire.ts'
import { AdType, adTypeName, uriSchemeCodePoint, uriSchemeName } from './ad-names.ts'

export { AdType, adTypeName, isKnownAdType, uriSchemeName, uriSchemeCodePoint } from './ad-names.ts'

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
  /** All service UUID lists (0x02..0x07) merged in order, as lowercase 128-bit strings. */
  serviceUuids: string[]
  /** True when every service UUID list present is a complete list. */
  serviceUuidsComplete?: boolean
  /** All service solicitation lists (0x14, 0x1f, 0x15) merged in order. */
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
  manufacturerData: { companyId: number; data: Uint8Array }[]
  serviceData: { uuid: string; data: Uint8Array }[]
  /** Units of 0.625 ms, from Advertising Interval (0x1a) or Advertising Interval - long (0x2f). */
  advertisingInterval?: number
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

// ---- UUIDs ----

const BASE_SUFFIX = '-0000-1000-8000-00805f9b34fb'

/** A little-endian 2-, 4- or 16-octet UUID as the lowercase 128-bit string form. */
export function uuidToString(bytes: Uint8Array): string {
  const n = bytes.length
  if (n === 2 || n === 4) {
    let h = ''
    for (let i = n - 1; i >= 0; i--) h += bytes[i]!.toString(16).padStart(2, '0')
    return h.padStart(8, '0') + BASE_SUFFIX
  }
  if (n !== 16) throw new RangeError(`a UUID is 2, 4 or 16 bytes, not ${n}`)
  let h = ''
  for (let i = 15; i >= 0; i--) h += bytes[i]!.toString(16).padStart(2, '0')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/**
 * A UUID (a number up to 0xffffffff, "180d", "0x180D", "12345678" or the 128-bit string form) as
 * little-endian bytes in its shortest form: 2 octets for 16-bit values, 4 for 32-bit, 16 otherwise.
 */
export function uuidToBytes(uuid: number | string): Uint8Array {
  let v: number | undefined
  if (typeof uuid === 'number') {
    v = uuid
  } else {
    const s = uuid.trim().toLowerCase()
    const short = /^(?:0x)?([0-9a-f]{4}|[0-9a-f]{8})$/.exec(s)
    if (short) v = parseInt(short[1]!, 16)
    else if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(s)) {
      if (s.endsWith(BASE_SUFFIX)) v = parseInt(s.slice(0, 8), 16)
      else {
        const h = s.replace(/-/g, '')
        const out = new Uint8Array(16)
        for (let i = 0; i < 16; i++) out[15 - i] = parseInt(h.slice(i * 2, i * 2 + 2), 16)
        return out
      }
    } else throw new RangeError(`not a UUID: ${JSON.stringify(uuid)}`)
  }
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`not a UUID: ${uuid}`)
  return v <= 0xffff ? new Writer(2).u16(v).finish() : new Writer(4).u32(v).finish()
}

// ---- parsing ----

function addressString(b: Uint8Array): string {
  let s = ''
  for (let i = 5; i >= 0; i--) s += (i < 5 ? ':' : '') + b[i]!.toString(16).padStart(2, '0').toUpperCase()
  return s
}

const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true })

/** UTF-8, malformed sequences as U+FFFD; trailing NULs (C-string padding some devices send) dropped. */
function text(b: Uint8Array): string {
  return utf8.decode(b).replace(/\u0000+$/, '')
}

function fail(r: Reader, field: string, message: string): never {
  throw new DecodeError(field, r.offset, message)
}

function exactly(r: Reader, n: number, field: string): void {
  if (r.remaining !== n) fail(r, field, `expected ${n} byte${n === 1 ? '' : 's'}, got ${r.remaining}`)
}

function atLeast(r: Reader, n: number, field: string): void {
  if (r.remaining < n) fail(r, field, `expected at least ${n} bytes, got ${r.remaining}`)
}

/** Reads whole `size`-octet UUIDs; a remainder is an error raised after the complete ones are kept. */
function uuidList(r: Reader, size: number, into: string[], field: string): void {
  while (r.remaining >= size) into.push(uuidToString(r.bytes(size, field)))
  if (r.remaining !== 0)
    fail(r, field, `${r.remaining} byte${r.remaining === 1 ? '' : 's'} left over (not a multiple of ${size})`)
}

function addressList(r: Reader, field: string): string[] {
  const out: string[] = []
  while (r.remaining >= 6) out.push(addressString(r.bytes(6, field)))
  if (r.remaining !== 0) fail(r, field, `${r.remaining} bytes left over (not a multiple of 6)`)
  return out
}

/** URI (CSS Part A 1.18): the first code point stands for the scheme name. */
function decodeUri(r: Reader): string {
  atLeast(r, 1, 'uri')
  const text = utf8.decode(r.rest())
  const cp = text.codePointAt(0)!
  const rest = text.slice(String.fromCodePoint(cp).length)
  const scheme = uriSchemeName(cp)
  if (scheme === undefined) fail(r, 'uri', `unassigned scheme code point 0x${cp.toString(16).padStart(4, '0')}`)
  return scheme + rest
}

function decodeIndoorPositioning(r: Reader): IndoorPositioning {
  const config = r.u8('indoorPositioning.config')
  const ips: IndoorPositioning = { config, locationNameAvailable: (config & 0x40) !== 0 }
  const s16 = (f: string) => (r.u16(f) << 16) >> 16
  if (config & 0x01) {
    if (config & 0x02) {
      ips.localNorth = s16('indoorPositioning.localNorth')
      ips.localEast = s16('indoorPositioning.localEast')
    } else {
      ips.latitude = r.u32('indoorPositioning.latitude') | 0
      ips.longitude = r.u32('indoorPositioning.longitude') | 0
    }
  }
  if (config & 0x04) ips.txPower = r.i8('indoorPositioning.txPower')
  if (config & 0x10) ips.floorNumber = r.u8('indoorPositioning.floorNumber')
  if (config & 0x08) ips.altitude = r.u16('indoorPositioning.altitude')
  if (config & 0x20) ips.uncertainty = r.u8('indoorPositioning.uncertainty')
  if (r.remaining)
    fail(r, 'indoorPositioning', `${r.remaining} bytes left over after the fields its configuration announces`)
  return ips
}

type Decoder = (ad: ParsedAd, r: Reader) => void

const serviceList =
  (size: number, complete: boolean): Decoder =>
  (ad, r) => {
    ad.serviceUuidsComplete = (ad.serviceUuidsComplete ?? true) && complete
    uuidList(r, size, ad.serviceUuids, 'serviceUuids')
  }
const solicitationList =
  (size: number): Decoder =>
  (ad, r) =>
    uuidList(r, size, ad.solicitationUuids, 'solicitationUuids')
const serviceData =
  (size: number): Decoder =>
  (ad, r) => {
    atLeast(r, size, 'serviceData.uuid')
    ad.serviceData.push({ uuid: uuidToString(r.bytes(size, 'serviceData.uuid')), data: r.rest() })
  }
const bytes16 =
  (set: (ad: ParsedAd, v: Uint8Array) => void, field: string): Decoder =>
  (ad, r) => {
    exactly(r, 16, field)
    set(ad, r.rest())
  }

/** One decoder per assigned AD type (CSS v11 Part A section 1). */
const DECODERS: Readonly<Record<number, Decoder>> = {
  [AdType.Flags]: (ad, r) => {
    // CSS 1.3: zero or more octets; the flags are a bit field across them, octet 0 first.
    const b = r.rest()
    let v = 0
    for (let i = 0; i < Math.min(4, b.length); i++) v += b[i]! * 2 ** (8 * i)
    ad.flags ??= v
  },
  [AdType.IncompleteUuid16]: serviceList(2, false),
  [AdType.CompleteUuid16]: serviceList(2, true),
  [AdType.IncompleteUuid32]: serviceList(4, false),
  [AdType.CompleteUuid32]: serviceList(4, true),
  [AdType.IncompleteUuid128]: serviceList(16, false),
  [AdType.CompleteUuid128]: serviceList(16, true),
  [AdType.ShortenedLocalName]: (ad, r) => void (ad.shortName ??= text(r.rest())),
  [AdType.CompleteLocalName]: (ad, r) => void (ad.localName ??= text(r.rest())),
  [AdType.TxPowerLevel]: (ad, r) => {
    exactly(r, 1, 'txPower')
    ad.txPower ??= r.i8('txPower')
  },
  [AdType.ClassOfDevice]: (ad, r) => {
    exactly(r, 3, 'classOfDevice')
    ad.classOfDevice ??= r.u24('classOfDevice')
  },
  [AdType.SimplePairingHashC192]: bytes16((ad, v) => (ad.simplePairingHashC192 ??= v), 'simplePairingHashC192'),
  [AdType.SimplePairingRandomizerR192]: bytes16(
    (ad, v) => (ad.simplePairingRandomizerR192 ??= v),
    'simplePairingRandomizerR192',
  ),
  [AdType.SimplePairingHashC256]: bytes16((ad, v) => (ad.simplePairingHashC256 ??= v), 'simplePairingHashC256'),
  [AdType.SimplePairingRandomizerR256]: bytes16(
    (ad, v) => (ad.simplePairingRandomizerR256 ??= v),
    'simplePairingRandomizerR256',
  ),
  [AdType.LeScConfirmationValue]: bytes16(
    (ad, v) => (ad.leSecureConnectionsConfirmation ??= v),
    'leSecureConnectionsConfirmation',
  ),
  [AdType.LeScRandomValue]: bytes16((ad, v) => (ad.leSecureConnectionsRandom ??= v), 'leSecureConnectionsRandom'),
  [AdType.DeviceIdOrSmTk]: (ad, r) => {
    if (r.remaining === 16) ad.securityManagerTk ??= r.rest()
    else if (r.remaining === 8) {
      ad.deviceId ??= {
        vendorIdSource: r.u16('deviceId.vendorIdSource'),
        vendorId: r.u16('deviceId.vendorId'),
        productId: r.u16('deviceId.productId'),
        version: r.u16('deviceId.version'),
      }
    } else fail(r, 'securityManagerTk', `expected 16 bytes (TK value) or 8 (Device ID), got ${r.remaining}`)
  },
  [AdType.SmOobFlags]: (ad, r) => {
    exactly(r, 1, 'securityManagerOobFlags')
    ad.securityManagerOobFlags ??= r.u8('securityManagerOobFlags')
  },
  [AdType.PeripheralConnectionIntervalRange]: (ad, r) => {
    exactly(r, 4, 'peripheralConnectionIntervalRange')
    ad.peripheralConnectionIntervalRange ??= { min: r.u16('min'), max: r.u16('max') }
  },
  [AdType.SolicitationUuid16]: solicitationList(2),
  [AdType.SolicitationUuid32]: solicitationList(4),
  [AdType.SolicitationUuid128]: solicitationList(16),
  [AdType.ServiceData16]: serviceData(2),
  [AdType.ServiceData32]: serviceData(4),
  [AdType.ServiceData128]: serviceData(16),
  [AdType.PublicTargetAddress]: (ad, r) => {
    ;(ad.publicTargetAddresses ??= []).push(...addressList(r, 'publicTargetAddresses'))
  },
  [AdType.RandomTargetAddress]: (ad, r) => {
    ;(ad.randomTargetAddresses ??= []).push(...addressList(r, 'randomTargetAddresses'))
  },
  [AdType.Appearance]: (ad, r) => {
    exactly(r, 2, 'appearance')
    ad.appearance ??= r.u16('appearance')
  },
  [AdType.AdvertisingInterval]: (ad, r) => {
    exactly(r, 2, 'advertisingInterval')
    ad.advertisingInterval ??= r.u16('advertisingInterval')
  },
  [AdType.AdvertisingIntervalLong]: (ad, r) => {
    if (r.remaining !== 3 && r.remaining !== 4)
      fail(r, 'advertisingInterval', `expected 3 or 4 bytes, got ${r.remaining}`)
    ad.advertisingInterval ??= r.remaining === 3 ? r.u24('advertisingInterval') : r.u32('advertisingInterval')
  },
  [AdType.LeBluetoothDeviceAddress]: (ad, r) => {
    exactly(r, 7, 'leBluetoothDeviceAddress')
    const address = addressString(r.bytes(6, 'leBluetoothDeviceAddress.address'))
    ad.leBluetoothDeviceAddress ??= { address, random: (r.u8('leBluetoothDeviceAddress.type') & 1) === 1 }
  },
  [AdType.LeRole]: (ad, r) => {
    exactly(r, 1, 'leRole')
    ad.leRole ??= r.u8('leRole')
  },
  [AdType.Uri]: (ad, r) => void (ad.uri ??= decodeUri(r)),
  [AdType.IndoorPositioning]: (ad, r) => void (ad.indoorPositioning ??= decodeIndoorPositioning(r)),
  [AdType.TransportDiscoveryData]: (ad, r) => {
    // Transport Discovery Service 4.1: one or more Transport Blocks.
    const blocks: TransportBlock[] = (ad.transportDiscovery ??= [])
    while (r.remaining > 0) {
      const organizationId = r.u8('transportDiscovery.organizationId')
      const flags = r.u8('transportDiscovery.flags')
      const data = r.bytes(r.u8('transportDiscovery.length'), 'transportDiscovery.data')
      blocks.push({ organizationId, flags, data })
    }
  },
  [AdType.LeSupportedFeatures]: (ad, r) => void (ad.leSupportedFeatures ??= r.rest()),
  [AdType.ChannelMapUpdateIndication]: (ad, r) => {
    exactly(r, 7, 'channelMapUpdate')
    const channelMap = r.bytes(5, 'channelMapUpdate.channelMap')
    ad.channelMapUpdate ??= { channelMap, instant: r.u16('channelMapUpdate.instant') }
  },
  [AdType.PbAdv]: (ad, r) => void (ad.meshPbAdv ??= r.rest()),
  [AdType.MeshMessage]: (ad, r) => void (ad.meshMessage ??= r.rest()),
  [AdType.MeshBeacon]: (ad, r) => void (ad.meshBeacon ??= r.rest()),
  [AdType.BigInfo]: (ad, r) => {
    // Core v5.4 Vol 6 Part B 4.4.2.10: 33 octets, or 57 for an encrypted BIG.
    if (r.remaining !== 33 && r.remaining !== 57) fail(r, 'bigInfo', `expected 33 or 57 bytes, got ${r.remaining}`)
    ad.bigInfo ??= r.rest()
  },
  [AdType.BroadcastCode]: bytes16((ad, v) => (ad.broadcastCode ??= v), 'broadcastCode'),
  [AdType.ResolvableSetIdentifier]: (ad, r) => {
    exactly(r, 6, 'resolvableSetIdentifier')
    ad.resolvableSetIdentifier ??= r.rest()
  },
  [AdType.BroadcastName]: (ad, r) => {
    const n = r.remaining
    ad.broadcastName ??= text(r.rest())
    if (n < 4 || n > 32) throw new DecodeError('broadcastName', r.offset - n, `expected 4 to 32 bytes, got ${n}`)
  },
  [AdType.EncryptedAdvertisingData]: (ad, r) => {
    // CSS 1.23: Randomizer (5 octets), encrypted payload, MIC (4 octets).
    atLeast(r, 9, 'encryptedData')
    const randomizer = r.bytes(5, 'encryptedData.randomizer')
    const payload = r.bytes(r.remaining - 4, 'encryptedData.payload')
    ad.encryptedData ??= { randomizer, payload, mic: r.rest() }
  },
  [AdType.PeriodicAdvertisingResponseTimingInformation]: (ad, r) => {
    exactly(r, 8, 'periodicAdvertisingResponseTiming')
    ad.periodicAdvertisingResponseTiming ??= {
      rspAccessAddress: r.u32('rspAccessAddress'),
      numSubevents: r.u8('numSubevents'),
      subeventInterval: r.u8('subeventInterval'),
      responseSlotDelay: r.u8('responseSlotDelay'),
      responseSlotSpacing: r.u8('responseSlotSpacing'),
    }
  },
  [AdType.ElectronicShelfLabel]: (ad, r) => void (ad.electronicShelfLabel ??= r.rest()),
  [AdType.ThreeDInformationData]: (ad, r) => {
    exactly(r, 2, 'threeDInformation')
    ad.threeDInformation ??= { flags: r.u8('flags'), pathLossThreshold: r.u8('pathLossThreshold') }
  },
  [AdType.ManufacturerSpecificData]: (ad, r) => {
    atLeast(r, 2, 'manufacturerData.companyId')
    ad.manufacturerData.push({ companyId: r.u16('manufacturerData.companyId'), data: r.rest() })
  },
}

/** Parses advertising or scan-response data. Never throws; see `errors`. */
export function parseAd(data: Uint8Array): ParsedAd {
  const ad: ParsedAd = {
    structures: [],
    serviceUuids: [],
    solicitationUuids: [],
    manufacturerData: [],
    serviceData: [],
    unknown: [],
    errors: [],
  }
  let o = 0
  while (o < data.length) {
    const length = data[o]!
    if (length === 0) {
      // Core v5.4 Vol 3 Part C 11: the non-significant part shall be all-zero octets.
      for (let i = o + 1; i < data.length; i++) {
        if (data[i] !== 0) {
          ad.errors.push({
            offset: i,
            message: `non-zero byte in the padding after the zero length octet at offset ${o}`,
          })
          break
        }
      }
      break
    }
    if (o + 1 + length > data.length) {
      const type = o + 1 < data.length ? ` (type 0x${data[o + 1]!.toString(16).padStart(2, '0')})` : ''
      ad.errors.push({
        offset: o,
        message: `AD structure${type} length ${length} runs past the end of the data (${data.length - o - 1} bytes left)`,
      })
      break
    }
    const type = data[o + 1]!
    const s: AdStructure = { type, typeName: adTypeName(type), offset: o, data: data.subarray(o + 2, o + 1 + length) }
    ad.structures.push(s)
    const decode = DECODERS[type]
    if (decode === undefined) ad.unknown.push(s)
    else {
      try {
        decode(ad, new Reader(data, o + 2, o + 1 + length))
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e
        ad.errors.push({
          offset: e.offset,
          message: `${s.typeName} (0x${type.toString(16).padStart(2, '0')}): ${e.message}`,
        })
      }
    }
    o += 1 + length
  }
  return ad
}

// ---- JSON ----

function toJson(v: unknown): unknown {
  if (v instanceof Uint8Array) return toHex(v)
  if (Array.isArray(v)) return v.map(toJson)
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = toJson(x)
    return out
  }
  return v
}

/** The parsed data as plain JSON: byte arrays as lowercase hex, UUIDs as lowercase 128-bit strings. */
export function adToJson(ad: ParsedAd): Record<string, unknown> {
  return toJson(ad) as Record<string, unknown>
}

// ---- building ----

/** Writes AD structures in the order the methods are called (Core v5.4 Vol 3 Part C 11). */
export class AdBuilder {
  private readonly parts: { type: number; data: Uint8Array }[] = []

  /** Any AD structure; `data` is the AD data after the type octet (at most 254 bytes). */
  raw(type: number, data: Uint8Array): this {
    if (!Number.isInteger(type) || type < 0 || type > 0xff) throw new RangeError(`AD type ${type} is not an octet`)
    if (data.length > 254) {
      throw new RangeError(
        `${adTypeName(type)}: ${data.length} bytes of AD data do not fit in one AD structure (at most 254)`,
      )
    }
    this.parts.push({ type, data })
    return this
  }

  private write(type: number, fill: (w: Writer) => void): this {
    const w = new Writer(32)
    fill(w)
    return this.raw(type, w.finish())
  }

  flags(n: number): this {
    return this.write(AdType.Flags, (w) => w.u8(n, 'flags'))
  }

  name(s: string, complete = true): this {
    return this.raw(complete ? AdType.CompleteLocalName : AdType.ShortenedLocalName, new TextEncoder().encode(s))
  }

  /** One list per UUID size present (16-, 32-, 128-bit), in that order. */
  serviceUuids(list: readonly (number | string)[], complete = true): this {
    const types = complete
      ? [AdType.CompleteUuid16, AdType.CompleteUuid32, AdType.CompleteUuid128]
      : [AdType.IncompleteUuid16, AdType.IncompleteUuid32, AdType.IncompleteUuid128]
    return this.uuidLists(list, types, complete)
  }

  solicitationUuids(list: readonly (number | string)[]): this {
    return this.uuidLists(
      list,
      [AdType.SolicitationUuid16, AdType.SolicitationUuid32, AdType.SolicitationUuid128],
      false,
    )
  }

  private uuidLists(list: readonly (number | string)[], types: number[], emptyComplete: boolean): this {
    const bySize = new Map<number, Uint8Array[]>([
      [2, []],
      [4, []],
      [16, []],
    ])
    for (const u of list) {
      const b = uuidToBytes(u)
      bySize.get(b.length)!.push(b)
    }
    // An empty complete list says "no services" (CSS Part A 1.1).
    if (list.length === 0 && emptyComplete) return this.raw(types[0]!, new Uint8Array(0))
    ;[2, 4, 16].forEach((size, i) => {
      const items = bySize.get(size)!
      if (items.length) this.write(types[i]!, (w) => items.forEach((b) => w.bytes(b)))
    })
    return this
  }

  manufacturerData(companyId: number, data: Uint8Array): this {
    return this.write(AdType.ManufacturerSpecificData, (w) => w.u16(companyId, 'companyId').bytes(data))
  }

  serviceData(uuid: number | string, data: Uint8Array): this {
    const b = uuidToBytes(uuid)
    const type = b.length === 2 ? AdType.ServiceData16 : b.length === 4 ? AdType.ServiceData32 : AdType.ServiceData128
    return this.write(type, (w) => w.bytes(b).bytes(data))
  }

  txPower(n: number): this {
    return this.write(AdType.TxPowerLevel, (w) => w.i8(n, 'txPower'))
  }

  appearance(n: number): this {
    return this.write(AdType.Appearance, (w) => w.u16(n, 'appearance'))
  }

  /** Units of 0.625 ms; values above 0xffff use Advertising Interval - long (3 octets, or 4). */
  advertisingInterval(n: number): this {
    if (n <= 0xffff) return this.write(AdType.AdvertisingInterval, (w) => w.u16(n, 'advertisingInterval'))
    return this.write(AdType.AdvertisingIntervalLong, (w) =>
      n <= 0xffffff ? w.u24(n, 'advertisingInterval') : w.u32(n, 'advertisingInterval'),
    )
  }

  /** Units of 1.25 ms; 0xffff for "no specific value". */
  peripheralConnectionIntervalRange(min: number, max: number): this {
    return this.write(AdType.PeripheralConnectionIntervalRange, (w) => w.u16(min, 'min').u16(max, 'max'))
  }

  leRole(n: number): this {
    return this.write(AdType.LeRole, (w) => w.u8(n, 'leRole'))
  }

  publicTargetAddresses(list: readonly string[]): this {
    return this.write(AdType.PublicTargetAddress, (w) => list.forEach((a) => writeAddress(w, a)))
  }

  randomTargetAddresses(list: readonly string[]): this {
    return this.write(AdType.RandomTargetAddress, (w) => list.forEach((a) => writeAddress(w, a)))
  }

  leBluetoothDeviceAddress(address: string, random: boolean): this {
    return this.write(AdType.LeBluetoothDeviceAddress, (w) => writeAddress(w, address).u8(random ? 1 : 0))
  }

  /** The scheme is replaced by its code point when it has one, else 0x01 precedes the whole URI. */
  uri(s: string): this {
    const colon = s.indexOf(':')
    const cp = colon > 0 ? uriSchemeCodePoint(s.slice(0, colon + 1)) : undefined
    const text = cp === undefined ? `\u0001${s}` : String.fromCodePoint(cp) + s.slice(colon + 1)
    return this.raw(AdType.Uri, new TextEncoder().encode(text))
  }

  broadcastName(s: string): this {
    const b = new TextEncoder().encode(s)
    if (b.length < 4 || b.length > 32) throw new RangeError(`broadcastName: ${b.length} bytes, must be 4 to 32`)
    return this.raw(AdType.BroadcastName, b)
  }

  /** The data, at most `maxLength` bytes (31 for legacy advertising, up to 1650 extended). */
  build(maxLength = 31): Uint8Array {
    const w = new Writer(64)
    for (const p of this.parts) {
      const size = 2 + p.data.length
      if (w.length + size > maxLength) {
        const total = this.parts.reduce((n, q) => n + 2 + q.data.length, 0)
        throw new RangeError(
          `${adTypeName(p.type)} (${size} bytes at offset ${w.length}) does not fit: ` +
            `the AD structures need ${total} bytes, the limit is ${maxLength}`,
        )
      }
      w.u8(p.data.length + 1)
        .u8(p.type)
        .bytes(p.data)
    }
    return w.finish()
  }
}

function writeAddress(w: Writer, a: string): Writer {
  const m = /^([0-9a-f]{2})(?::([0-9a-f]{2})){5}$/i.test(a) ? a.split(':') : undefined
  if (!m) throw new RangeError(`${JSON.stringify(a)} is not an address like AA:BB:CC:DD:EE:FF`)
  for (let i = 5; i >= 0; i--) w.u8(parseInt(m[i]!, 16))
  return w
}
