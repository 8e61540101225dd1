/**
 * From one device's evidence (evidence.ts) to the twin's database (format.ts), following the
 * grouping rules of Core v5.4 Vol 3 Part G 3: a service owns the handles up to its End Group
 * Handle; a characteristic owns its declaration, its value (the next handle) and the handles up
 * to the next characteristic declaration or the end of its service, which are its descriptors.
 *
 * Completeness is what the searches covered: a service's characteristics are complete when
 * «Characteristic» was searched over its whole range, a characteristic's descriptors when Find
 * Information covered the handles after its value. Values, errors and types the capture showed
 * for handles outside that tree are kept as `otherAttributes`. Notifications are timed from the
 * subscription that enabled them (the last write of the notify or indicate bit to one of the
 * characteristic's descriptors before the first one), else from the start of the connection, in
 * the first connection that carried them.
 */
import { toHex } from '../../hci/wire.ts'
import { parseUuid, shortUuid, uuidEquals } from '../../att/uuid.ts'
import type { DeviceEvidence, Timed } from './evidence.ts'
import {
  PROPERTY_NAMES,
  type TwinAttribute,
  type TwinCharacteristic,
  type TwinDescriptor,
  type TwinNotification,
  type TwinService,
} from './format.ts'

/** Notifications kept per characteristic. */
export const MAX_NOTIFICATIONS = 1000
const DECLARATIONS = new Set(['2800', '2801', '2802', '2803'])

function propertyNames(bits: number): TwinCharacteristic['properties'] {
  return PROPERTY_NAMES.filter((_, i) => (bits >> i) & 1)
}

/** Value, truncation and read error of a handle, as the twin writes them. */
function valueFields(
  e: DeviceEvidence,
  handle: number,
): { value?: string; valueTruncated?: boolean; readError?: number } {
  const v = e.values.get(handle)
  const out: { value?: string; valueTruncated?: boolean; readError?: number } = {}
  if (v) {
    out.value = toHex(v.value)
    if (v.truncated) out.valueTruncated = true
  }
  const err = e.readErrors.get(handle)
  if (err !== undefined) out.readError = err
  return out
}

export function assembleServices(e: DeviceEvidence): { services: TwinService[]; placed: Set<number> } {
  const placed = new Set<number>()
  const starts = [...e.services.keys()].sort((a, b) => a - b)
  const services: TwinService[] = []
  let lastEnd = 0
  for (const h of starts) {
    const s = e.services.get(h)!
    if (h <= lastEnd || s.endHandle < h) continue // overlapping or inverted: not a database
    lastEnd = s.endHandle
    placed.add(h)
    services.push(service(e, h, s.endHandle, s.uuid, s.primary, placed))
  }
  return { services, placed }
}

function service(
  e: DeviceEvidence,
  handle: number,
  endHandle: number,
  uuid: string,
  primary: boolean,
  placed: Set<number>,
): TwinService {
  const includes = [...e.includes.entries()]
    .filter(([h]) => h > handle && h <= endHandle)
    .sort((a, b) => a[0] - b[0])
    .map(([h, i]) => {
      placed.add(h)
      return i.uuid === undefined
        ? { handle: h, serviceHandle: i.serviceHandle, endHandle: i.endHandle }
        : { handle: h, serviceHandle: i.serviceHandle, endHandle: i.endHandle, uuid: i.uuid }
    })
  const decls = [...e.characteristics.keys()]
    .filter((h) => h > handle && h <= endHandle && e.characteristics.get(h)!.valueHandle === h + 1)
    .sort((a, b) => a - b)
  const characteristics = decls.map((h, i) => {
    const end = i + 1 < decls.length ? decls[i + 1]! - 1 : endHandle
    return characteristic(e, h, Math.max(end, h + 1), placed)
  })
  return {
    handle,
    endHandle,
    uuid,
    primary,
    includes,
    // A declaration needs its value after it, inside the service: none can start at the last handle.
    characteristicsComplete: e.searched.characteristics.covers(handle + 1, endHandle - 1),
    characteristics,
  }
}

function characteristic(e: DeviceEvidence, handle: number, end: number, placed: Set<number>): TwinCharacteristic {
  const c = e.characteristics.get(handle)!
  placed.add(handle)
  placed.add(c.valueHandle)
  const descriptors: TwinDescriptor[] = []
  for (let h = c.valueHandle + 1; h <= end; h++) {
    const type = e.types.get(h)
    if (type === undefined || DECLARATIONS.has(shortUuid(parseUuid(type)))) continue
    placed.add(h)
    descriptors.push({ handle: h, uuid: type, ...valueFields(e, h) })
  }
  const out: TwinCharacteristic = {
    handle,
    valueHandle: c.valueHandle,
    uuid: c.uuid,
    properties: propertyNames(c.properties),
    ...valueFields(e, c.valueHandle),
    descriptorsComplete: e.searched.information.covers(c.valueHandle + 1, end),
    descriptors,
  }
  const notifications = timing(e, c.valueHandle, descriptors)
  if (notifications.length > 0) out.notifications = notifications
  return out
}

/** The notifications of one value handle, timed from their subscription (see the overview). */
function timing(e: DeviceEvidence, valueHandle: number, descriptors: TwinDescriptor[]): TwinNotification[] {
  const mine = e.notifications.filter((n) => n.handle === valueHandle)
  if (mine.length === 0) return []
  const connection = mine[0]!.connection
  const first = mine[0]!.tsUs
  const cccds = new Set(descriptors.filter((d) => uuidEquals(d.uuid, 0x2902)).map((d) => d.handle))
  const subscribed = e.writes
    .filter(
      (w: Timed) =>
        w.connection === connection &&
        w.tsUs <= first &&
        (cccds.size > 0 ? cccds.has(w.handle) : w.handle > valueHandle && w.handle <= valueHandle + 3) &&
        ((w.value[0] ?? 0) & 0x03) !== 0,
    )
    .at(-1)
  const base = subscribed?.tsUs ?? e.connections.get(connection) ?? first
  return mine
    .filter((n) => n.connection === connection)
    .slice(0, MAX_NOTIFICATIONS)
    .map((n) => {
      const atMs = Math.max(0, Number(n.tsUs - base) / 1000) // microseconds as milliseconds
      const t: TwinNotification = { atMs, value: toHex(n.value) }
      if (n.indication) t.indication = true
      return t
    })
}

/** Handles the capture showed something about (a value, an error, a type) that no service places. */
export function otherAttributes(e: DeviceEvidence, placed: Set<number>): TwinAttribute[] {
  const handles = new Set([...e.values.keys(), ...e.readErrors.keys(), ...e.types.keys()])
  return [...handles]
    .filter((h) => !placed.has(h) && h >= 1 && h <= 0xffff)
    .sort((a, b) => a - b)
    .map((h) => {
      const a: TwinAttribute = { handle: h }
      const t = e.types.get(h)
      if (t !== undefined) a.uuid = t
      return { ...a, ...valueFields(e, h) }
    })
}
