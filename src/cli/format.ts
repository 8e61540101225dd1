/**
 * What the CLI prints, as pure functions: advertisements (Core v5.4 Vol 3 Part C 11 AD data, as
 * gap/ad.ts parses it) and GATT databases (Vol 3 Part G 3: services, includes, characteristics
 * with their properties, descriptors) as the JSON shapes of issue 5 and as text; values as hex,
 * UUIDs as lowercase 128-bit strings in JSON and in their shortest form with a name in text.
 */
import { toHex } from '../../hci/wire.ts'
import { parseUuid, shortUuid } from '../../att/uuid.ts'
import type { RemoteCharacteristic, RemoteDatabase, RemoteService } from '../../att/remote-database.ts'
import type { Advertisement } from '../index.ts'
import { printable } from '../printable.ts'
import { SENSOR_COUNTER, SENSOR_ECHO, SENSOR_LABEL, SENSOR_SERVICE } from '../devices/index.ts'

// ---- advertisements ----

export interface AdvertisementJson {
  address: string
  addressType: 'public' | 'random'
  rssi: number
  name?: string
  serviceUuids: string[]
  manufacturerData: { companyId: number; data: string }[]
  serviceData: { uuid: string; data: string }[]
  txPower?: number
  connectable: boolean
}

/** One `scan --json` line (fields that are undefined are left out by JSON.stringify). */
export function advertisementJson(a: Advertisement): AdvertisementJson {
  return {
    address: a.address,
    addressType: a.addressType,
    rssi: a.rssi,
    name: a.name,
    serviceUuids: [...a.ad.serviceUuids],
    manufacturerData: a.ad.manufacturerData.map((m) => ({ companyId: m.companyId, data: toHex(m.data) })),
    serviceData: a.ad.serviceData.map((s) => ({ uuid: s.uuid, data: toHex(s.data) })),
    txPower: a.txPower ?? a.ad.txPower,
    connectable: a.connectable,
  }
}

/** A bar of 0..8 cells for an RSSI between -100 dBm (empty) and -30 dBm (full). */
export function rssiBar(rssi: number): string {
  const cells = Math.max(0, Math.min(8, Math.round(((rssi + 100) / 70) * 8)))
  return '█'.repeat(cells) + '·'.repeat(8 - cells)
}

// ---- names ----

/** A few assigned numbers (Bluetooth Assigned Numbers 3.4 services, 3.8 characteristics, 3.7 descriptors) for readable output. */
const NAMES: Record<number, string> = {
  0x1800: 'Generic Access',
  0x1801: 'Generic Attribute',
  0x180a: 'Device Information',
  0x180d: 'Heart Rate',
  0x180f: 'Battery',
  0x2900: 'Characteristic Extended Properties',
  0x2901: 'Characteristic User Description',
  0x2902: 'Client Characteristic Configuration',
  0x2903: 'Server Characteristic Configuration',
  0x2904: 'Characteristic Presentation Format',
  0x2a00: 'Device Name',
  0x2a01: 'Appearance',
  0x2a04: 'Peripheral Preferred Connection Parameters',
  0x2a05: 'Service Changed',
  0x2a19: 'Battery Level',
  0x2a24: 'Model Number String',
  0x2a25: 'Serial Number String',
  0x2a26: 'Firmware Revision String',
  0x2a27: 'Hardware Revision String',
  0x2a28: 'Software Revision String',
  0x2a29: 'Manufacturer Name String',
  0x2a37: 'Heart Rate Measurement',
  0x2a38: 'Body Sensor Location',
  0x2a39: 'Heart Rate Control Point',
  0x2b29: 'Client Supported Features',
  0x2b2a: 'Database Hash',
  0x2b3a: 'Server Supported Features',
}

/** The custom UUIDs of hcikit's own virtual devices (src/devices). */
const OWN_NAMES: Record<string, string> = {
  [SENSOR_SERVICE]: 'hcikit Sensor service',
  [SENSOR_COUNTER]: 'counter',
  [SENSOR_LABEL]: 'label',
  [SENSOR_ECHO]: 'echo',
}

/** "180d (Heart Rate)", or the short form alone when we have no name for it. */
export function uuidLabel(uuid: string): string {
  const short = shortUuid(uuid)
  const n = short.length === 4 ? NAMES[parseInt(short, 16)] : OWN_NAMES[uuid]
  return n ? `${short} (${n})` : short
}

// ---- characteristic properties (Core v5.4 Vol 3 Part G 3.3.1.1) ----

const PROPERTY_NAMES: [number, string][] = [
  [0x01, 'broadcast'],
  [0x02, 'read'],
  [0x04, 'writeWithoutResponse'],
  [0x08, 'write'],
  [0x10, 'notify'],
  [0x20, 'indicate'],
  [0x40, 'authenticatedSignedWrites'],
  [0x80, 'extendedProperties'],
]

export function propertyNames(properties: number): string[] {
  return PROPERTY_NAMES.filter(([bit]) => (properties & bit) !== 0).map(([, n]) => n)
}

// ---- values ----

/**
 * Hex, plus the text when the bytes (two or more) are printable UTF-8: `48656c6c6f "Hello"`
 * (controls that slip through, such as bidirectional overrides, escaped: src/printable.ts).
 */
export function valueText(v: Uint8Array): string {
  const hex = v.length === 0 ? '(empty)' : toHex(v)
  if (v.length < 2) return hex
  const text = Buffer.from(v).toString('utf8')
  const isText = /^[\x20-\x7e\u00a0-\uffff]+$/.test(text) && !text.includes('\ufffd')
  return isText ? `${hex} "${printable(text)}"` : hex
}

/** A value given on the command line as hex (`0102`, `01:02`, `0x0102`, `01 02`). Throws RangeError. */
export function parseHexArg(s: string): Uint8Array {
  const clean = s.trim().replace(/^0x/i, '').replace(/[\s:]/g, '')
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) {
    throw new RangeError(`${JSON.stringify(s)} is not hex bytes (write e.g. 0102ff or 01:02:ff)`)
  }
  return Uint8Array.from(Buffer.from(clean, 'hex'))
}

/**
 * CHAR on the command line: a handle written in hex with `0x` (`0x000b`), or a UUID written
 * without it (`2a37`, `0000fff1`, 128-bit with or without dashes). Throws UuidError.
 */
export type CharRef = { handle: number } | { uuid: string }

export function parseCharArg(s: string): CharRef {
  const t = s.trim()
  if (/^0x[0-9a-f]{1,4}$/i.test(t)) {
    const handle = parseInt(t.slice(2), 16)
    if (handle >= 1) return { handle }
  }
  return { uuid: parseUuid(t) }
}

// ---- GATT databases ----

export interface DescriptorJson {
  uuid: string
  handle: number
  value?: string
}

export interface CharacteristicJson {
  uuid: string
  handle: number
  valueHandle: number
  properties: string[]
  value?: string
  descriptors: DescriptorJson[]
}

export interface ServiceJsonOut {
  uuid: string
  handle: number
  endHandle: number
  primary: boolean
  includes: { handle: number; serviceHandle: number; endHandle: number; uuid?: string }[]
  characteristics: CharacteristicJson[]
}

export interface GattJson {
  address: string
  mtu: number
  services: ServiceJsonOut[]
}

/** Values read, by attribute handle (characteristic value handles and descriptor handles). */
export type ValuesByHandle = ReadonlyMap<number, Uint8Array>

export function gattJson(address: string, mtu: number, db: RemoteDatabase, values: ValuesByHandle): GattJson {
  return {
    address,
    mtu,
    services: db.services.map((s) => serviceJson(s, values)),
  }
}

function serviceJson(s: RemoteService, values: ValuesByHandle): ServiceJsonOut {
  return {
    uuid: s.uuid,
    handle: s.start,
    endHandle: s.end,
    primary: s.primary,
    includes: s.includeDeclarations.map((i) => {
      const target = s.includes.find((x) => x.start === i.start)
      return { handle: i.handle, serviceHandle: i.start, endHandle: i.end, uuid: target?.uuid }
    }),
    characteristics: s.characteristics.map((c) => characteristicJson(c, values)),
  }
}

function characteristicJson(c: RemoteCharacteristic, values: ValuesByHandle): CharacteristicJson {
  const v = values.get(c.valueHandle)
  return {
    uuid: c.uuid,
    handle: c.handle,
    valueHandle: c.valueHandle,
    properties: propertyNames(c.properties),
    value: v && toHex(v),
    descriptors: c.descriptors.map((d) => {
      const dv = values.get(d.handle)
      return { uuid: d.uuid, handle: d.handle, value: dv && toHex(dv) }
    }),
  }
}

const h4 = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`

/** The database as an indented tree, one attribute per line. */
export function gattTree(
  address: string,
  mtu: number,
  db: RemoteDatabase,
  values: ValuesByHandle,
  errors: ReadonlyMap<number, string> = new Map(),
): string[] {
  const lines = [`${address}  (ATT MTU ${mtu}, ${db.services.length} services)`]
  const val = (handle: number): string => {
    const v = values.get(handle)
    if (v) return ` = ${valueText(v)}`
    const e = errors.get(handle)
    return e ? `  (${e})` : ''
  }
  for (const s of db.services) {
    lines.push(`${s.primary ? 'service' : 'secondary service'} ${uuidLabel(s.uuid)}  ${h4(s.start)}..${h4(s.end)}`)
    for (const inc of s.includeDeclarations)
      lines.push(`  include ${h4(inc.start)}..${h4(inc.end)}  @${h4(inc.handle)}`)
    for (const c of s.characteristics) {
      lines.push(
        `  characteristic ${uuidLabel(c.uuid)}  @${h4(c.valueHandle)}  [${propertyNames(c.properties).join(', ')}]${val(c.valueHandle)}`,
      )
      for (const d of c.descriptors) lines.push(`    descriptor ${uuidLabel(d.uuid)}  @${h4(d.handle)}${val(d.handle)}`)
    }
  }
  return lines
}
