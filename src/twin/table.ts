/**
 * A twin's GATT database as the flat attribute table an ATT server walks (Core v5.4 Vol 3
 * Part F 3.2: handle, type, value), with the declarations' values built as Part G 3 lays them
 * out: a service declaration holds the service UUID (3.1), an include its service's handles and
 * 16-bit UUID (3.2), a characteristic declaration its properties, value handle and UUID (3.3.1).
 * Characteristic values and descriptors hold what the capture read, or nothing (unknown).
 */
import { parseUuid, uuidToAttBytes, uuidToBytes, type Uuid } from '../../att/uuid.ts'
import { fromHex } from '../../hci/wire.ts'
import { PROPERTY_NAMES, type Twin } from './format.ts'

export interface TableAttribute {
  readonly handle: number
  /** Canonical (128-bit) UUID; undefined for a handle the capture only read (its type unknown). */
  readonly type: Uuid | undefined
  /** The type as it goes on the wire: 2 or 16 octets, as captured. */
  readonly typeSize?: 2 | 16
  readonly kind: 'service' | 'include' | 'declaration' | 'value' | 'descriptor' | 'other'
  /** Undefined: the capture never showed it. */
  readonly value: Uint8Array | undefined
  /** The error a read of it got in the capture. */
  readonly readError: number | undefined
  /** Service declarations: the service's last handle. */
  readonly groupEnd?: number
  /** A Client Characteristic Configuration descriptor: the value handle it configures. */
  readonly configures?: number | undefined
  /** A characteristic value: its characteristic's properties octet. */
  readonly properties?: number | undefined
}

export const PRIMARY_SERVICE = parseUuid(0x2800)
export const SECONDARY_SERVICE = parseUuid(0x2801)
export const INCLUDE = parseUuid(0x2802)
export const CHARACTERISTIC = parseUuid(0x2803)
export const CCCD = parseUuid(0x2902)

const u16le = (v: number): number[] => [v & 0xff, v >> 8]

/** The octets of a twin UUID, in the size the twin wrote it: "2a00" 2, 128-bit 16. */
function wireBytes(s: string): Uint8Array {
  return s.length === 4 ? uuidToAttBytes(parseUuid(s)) : uuidToBytes(parseUuid(s), 16)
}
const sizeOf = (s: string): 2 | 16 => (s.length === 4 ? 2 : 16)

function bits(names: readonly string[]): number {
  return names.reduce((b, n) => b | (1 << PROPERTY_NAMES.indexOf(n as (typeof PROPERTY_NAMES)[number])), 0)
}

const hexOrUndefined = (h: string | undefined): Uint8Array | undefined => (h === undefined ? undefined : fromHex(h))

/** Every attribute of the twin, in handle order (a later duplicate handle is dropped). */
export function attributeTable(t: Twin): TableAttribute[] {
  const out: TableAttribute[] = []
  const add = (a: TableAttribute): void => void out.push(a)
  for (const s of t.services) {
    add({
      handle: s.handle,
      type: s.primary ? PRIMARY_SERVICE : SECONDARY_SERVICE,
      typeSize: 2,
      kind: 'service',
      value: wireBytes(s.uuid),
      readError: undefined,
      groupEnd: s.endHandle,
    })
    for (const i of s.includes) {
      const short = i.uuid !== undefined && i.uuid.length === 4 ? [...wireBytes(i.uuid)] : []
      add({
        handle: i.handle,
        type: INCLUDE,
        typeSize: 2,
        kind: 'include',
        value: Uint8Array.from([...u16le(i.serviceHandle), ...u16le(i.endHandle), ...short]),
        readError: undefined,
      })
    }
    for (const c of s.characteristics) {
      add({
        handle: c.handle,
        type: CHARACTERISTIC,
        typeSize: 2,
        kind: 'declaration',
        value: Uint8Array.from([bits(c.properties), ...u16le(c.valueHandle), ...wireBytes(c.uuid)]),
        readError: undefined,
      })
      add({
        handle: c.valueHandle,
        type: parseUuid(c.uuid),
        typeSize: sizeOf(c.uuid),
        kind: 'value',
        value: hexOrUndefined(c.value),
        readError: c.readError,
        properties: bits(c.properties),
      })
      for (const d of c.descriptors) {
        const type = parseUuid(d.uuid)
        add({
          handle: d.handle,
          type,
          typeSize: sizeOf(d.uuid),
          kind: 'descriptor',
          value: hexOrUndefined(d.value),
          readError: d.readError,
          configures: type === CCCD ? c.valueHandle : undefined,
        })
      }
    }
  }
  for (const o of t.otherAttributes) {
    if (o.uuid === undefined && o.value === undefined && o.readError === undefined) continue
    add({
      handle: o.handle,
      type: o.uuid === undefined ? undefined : parseUuid(o.uuid),
      typeSize: o.uuid === undefined ? undefined : sizeOf(o.uuid),
      kind: 'other',
      value: hexOrUndefined(o.value),
      readError: o.readError,
    })
  }
  out.sort((a, b) => a.handle - b.handle)
  return out.filter((a, i) => i === 0 || a.handle !== out[i - 1]!.handle)
}
