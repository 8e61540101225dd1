/**
 * One decoder per assigned AD data type (Core Specification Supplement v11 Part A, section 1;
 * codes from Assigned Numbers 2.3, gap/ad-names.ts), each reading the AD data of one structure
 * into a `ParsedAd`. A decoder throws a DecodeError when the data has the wrong size; gap/ad.ts
 * records it in `errors` and goes on with the next structure. Fields that may appear once keep
 * the first value; lists accumulate as sets, because advertising data and its scan response are
 * parsed together and a scan response often repeats what the advertisement said: a UUID (service
 * or solicitation) or a target address appears once, service data once per UUID and payload,
 * manufacturer data once per company and payload (different payloads are all kept, in order).
 */
import { DecodeError } from '../hci/errors.ts'
import { equalBytes, type Reader } from '../hci/wire.ts'
import { AdType, uriSchemeName } from './ad-names.ts'
import type { IndoorPositioning, ParsedAd, TransportBlock } from './ad-types.ts'
import { uuidToString } from './ad-uuid.ts'

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

/** `v` added to the list unless it is there already (lists of UUIDs and addresses are sets). */
function addOnce(into: string[], v: string): void {
  if (!into.includes(v)) into.push(v)
}

/** Reads whole `size`-octet UUIDs; a remainder is an error raised after the complete ones are kept. */
function uuidList(r: Reader, size: number, into: string[], field: string): void {
  while (r.remaining >= size) addOnce(into, uuidToString(r.bytes(size, field)))
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
    const uuid = uuidToString(r.bytes(size, 'serviceData.uuid'))
    const data = r.rest()
    if (!ad.serviceData.some((d) => d.uuid === uuid && equalBytes(d.data, data))) ad.serviceData.push({ uuid, data })
  }
const bytes16 =
  (set: (ad: ParsedAd, v: Uint8Array) => void, field: string): Decoder =>
  (ad, r) => {
    exactly(r, 16, field)
    set(ad, r.rest())
  }

/** One decoder per assigned AD type (CSS v11 Part A section 1). */
export const DECODERS: Readonly<Record<number, Decoder>> = {
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
    const list = (ad.publicTargetAddresses ??= [])
    for (const a of addressList(r, 'publicTargetAddresses')) addOnce(list, a)
  },
  [AdType.RandomTargetAddress]: (ad, r) => {
    const list = (ad.randomTargetAddresses ??= [])
    for (const a of addressList(r, 'randomTargetAddresses')) addOnce(list, a)
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
    const companyId = r.u16('manufacturerData.companyId')
    const data = r.rest()
    const known = ad.manufacturerData.some((m) => m.companyId === companyId && equalBytes(m.data, data))
    if (!known) ad.manufacturerData.push({ companyId, data })
  },
}
