/**
 * What one device's ATT server showed in a capture (Core v5.4 Vol 3 Part F 3.4, Part G 4): each
 * request the other side sent, paired with the device's response on the same bearer (ATT is
 * sequential, 3.3.2: one request outstanding per direction), read as GATT evidence:
 * - Read By Group Type «Primary/Secondary Service», Find By Type Value: services and their ranges;
 * - Read By Type «Include» / «Characteristic»: includes, characteristic declarations;
 * - Find Information: the type of each handle (descriptors);
 * - Read, Read Blob (a long value put back together), Read By Type of other types, Read Multiple
 *   Variable: values, and the errors reads got;
 * - Exchange MTU: the device's Server Rx MTU; notifications and indications with their time;
 *   writes, to find when the other side subscribed.
 * Which handle ranges were searched is kept per kind of search (intervals.ts), so that the twin
 * says what was discovered completely. Requests the device sent (it acting as a client) and
 * answers to them are not its server's and are left out. Everything kept is bounded.
 */
import { decodeUuid, parseUuid, shortUuid } from '../../att/uuid.ts'
import type { AttPdu } from '../../att/pdu.ts'
import { Intervals } from './intervals.ts'

export interface ServiceSeen {
  endHandle: number
  uuid: string
  primary: boolean
}
export interface CharacteristicSeen {
  valueHandle: number
  properties: number
  uuid: string
}
export interface IncludeSeen {
  serviceHandle: number
  endHandle: number
  uuid?: string
}
export interface ValueSeen {
  value: Uint8Array
  /** It may go on past what was read. */
  truncated: boolean
}
export interface Timed {
  connection: number
  tsUs: bigint
  handle: number
  value: Uint8Array
  indication?: boolean
}

/** ATT_MTU default and the longest attribute value (Vol 3 Part F 3.2.8, 3.2.9). */
const DEFAULT_MTU = 23
const MAX_VALUE = 512
const MAX_TIMED = 10_000
const ATTRIBUTE_NOT_FOUND = 0x0a
const ATTRIBUTE_NOT_LONG = 0x0b
const INVALID_OFFSET = 0x07

interface Bearer {
  request: AttPdu | undefined
  requestTs: bigint
  clientMtu: number
  mtu: number
}

type P = Record<string, any>

/**
 * UUIDs are kept as they were on the wire: "2a00" for 2 octets, the 128-bit form for 16 (even
 * one on the Bluetooth Base UUID), so the twin answers with the same octets.
 */
function uuidOf(bytes: Uint8Array): string | undefined {
  if (bytes.length !== 2 && bytes.length !== 16) return undefined
  const u = decodeUuid(bytes)
  if (typeof u !== 'string') return undefined
  return bytes.length === 2 ? shortUuid(u) : u
}

/** A UUID as a decoded ATT PDU carries it ("2800", or 128-bit with dashes), checked. */
function short(t: unknown): string | undefined {
  if (typeof t !== 'string') return undefined
  try {
    parseUuid(t)
  } catch {
    return undefined
  }
  return t.toLowerCase()
}

/** The 16-bit form of a requested type ("2803"), whichever size it was sent in. */
function wireType(t: unknown): string | undefined {
  const s = short(t)
  return s === undefined ? undefined : shortUuid(parseUuid(s))
}

export class DeviceEvidence {
  readonly services = new Map<number, ServiceSeen>()
  readonly includes = new Map<number, IncludeSeen>()
  readonly characteristics = new Map<number, CharacteristicSeen>()
  /** Attribute types from Find Information (and Read By Type items). */
  readonly types = new Map<number, string>()
  readonly values = new Map<number, ValueSeen>()
  readonly readErrors = new Map<number, number>()
  readonly searched = {
    primary: new Intervals(),
    secondary: new Intervals(),
    characteristics: new Intervals(),
    includes: new Intervals(),
    information: new Intervals(),
  }
  readonly notifications: Timed[] = []
  readonly writes: Timed[] = []
  /** Connection number -> when it started. */
  readonly connections = new Map<number, bigint>()
  /** ACL handles the device was reached on (for reports). */
  readonly aclHandles = new Set<number>()
  serverMtu: number | undefined
  /** Responses of the device's server seen. */
  responses = 0
  private readonly bearers = new Map<string, Bearer>()

  /** A new connection to the device (its number and start). */
  connected(connection: number, tsUs: bigint, aclHandle: number): void {
    this.connections.set(connection, tsUs)
    this.aclHandles.add(aclHandle)
    for (const k of [...this.bearers.keys()]) if (k.startsWith(`${connection}/`)) this.bearers.delete(k)
  }

  /** One ATT PDU on a bearer of `connection`; `fromDevice` when the device sent it. */
  observe(connection: number, cid: number, fromDevice: boolean, p: AttPdu, tsUs: bigint): void {
    const key = `${connection}/${cid}`
    let b = this.bearers.get(key)
    if (!b) {
      b = { request: undefined, requestTs: 0n, clientMtu: DEFAULT_MTU, mtu: DEFAULT_MTU }
      this.bearers.set(key, b)
    }
    const params = (p.params ?? {}) as P
    if (!fromDevice) {
      if (p.opcode === 0x12 || p.opcode === 0x52)
        this.timed(this.writes, { connection, tsUs, handle: params.handle, value: params.value })
      if (isRequest(p.opcode)) {
        b.request = p
        b.requestTs = tsUs
      }
      return
    }
    if (p.opcode === 0x1b || p.opcode === 0x1d) {
      this.timed(this.notifications, {
        connection,
        tsUs,
        handle: params.handle,
        value: params.value,
        indication: p.opcode === 0x1d,
      })
      return
    }
    if (p.opcode === 0x23) {
      for (const t of params.tuples as { handle: number; value: Uint8Array }[])
        this.timed(this.notifications, { connection, tsUs, handle: t.handle, value: t.value })
      return
    }
    const req = b.request
    if (!req || !isResponse(p.opcode)) return
    b.request = undefined
    this.responses++
    if (p.opcode === 0x01) this.error(req, params)
    else this.answer(b, req, p.opcode, params)
  }

  private timed(list: Timed[], t: Timed): void {
    if (list.length < MAX_TIMED) list.push({ ...t, value: t.value.slice() })
  }

  private error(req: AttPdu, e: P): void {
    if (e.requestOpcode !== req.opcode) return
    const r = (req.params ?? {}) as P
    const code = e.errorCode as number
    if (code === ATTRIBUTE_NOT_FOUND) {
      switch (req.opcode) {
        case 0x04:
          return this.searched.information.add(r.startingHandle, r.endingHandle)
        case 0x08: {
          const t = wireType(r.attributeType)
          if (t === '2803') this.searched.characteristics.add(r.startingHandle, r.endingHandle)
          else if (t === '2802') this.searched.includes.add(r.startingHandle, r.endingHandle)
          return
        }
        case 0x10: {
          const t = wireType(r.groupType)
          if (t === '2800') this.searched.primary.add(r.startingHandle, r.endingHandle)
          else if (t === '2801') this.searched.secondary.add(r.startingHandle, r.endingHandle)
          return
        }
      }
      return
    }
    if (req.opcode === 0x0a || req.opcode === 0x08) {
      if (!this.values.has(e.handle)) this.readErrors.set(e.handle, code)
    } else if (req.opcode === 0x0c && (code === ATTRIBUTE_NOT_LONG || code === INVALID_OFFSET)) {
      const v = this.values.get(r.handle)
      if (v && r.offset === v.value.length) v.truncated = false
    }
  }

  private answer(b: Bearer, req: AttPdu, opcode: number, p: P): void {
    const r = (req.params ?? {}) as P
    switch (opcode) {
      case 0x03: // Exchange MTU Response
        if (req.opcode !== 0x02) return
        this.serverMtu = p.serverRxMtu
        b.mtu = Math.max(DEFAULT_MTU, Math.min(r.clientRxMtu as number, p.serverRxMtu as number))
        return
      case 0x05:
        if (req.opcode === 0x04) this.information(r, p)
        return
      case 0x07:
        if (req.opcode === 0x06) this.foundByType(r, p)
        return
      case 0x09:
        if (req.opcode === 0x08) this.byType(b, r, p)
        return
      case 0x0b:
        if (req.opcode === 0x0a) this.read(r.handle, p.value, p.value.length >= b.mtu - 1)
        return
      case 0x0d:
        if (req.opcode === 0x0c) this.blob(r.handle, r.offset, p.value, p.value.length >= b.mtu - 1)
        return
      case 0x0f:
        if (req.opcode === 0x0e && (r.handles as number[]).length === 1)
          this.read(r.handles[0], p.values, p.values.length >= b.mtu - 1)
        return
      case 0x11:
        if (req.opcode === 0x10) this.groups(r, p)
        return
      case 0x21:
        if (req.opcode === 0x20)
          (p.values as { length: number; value: Uint8Array }[]).forEach((v, i) => {
            const h = (r.handles as number[])[i]
            if (h !== undefined) this.read(h, v.value, v.value.length < v.length)
          })
        return
    }
  }

  private read(handle: number, value: Uint8Array, truncated: boolean): void {
    this.values.set(handle, { value: value.slice(0, MAX_VALUE), truncated })
    this.readErrors.delete(handle)
  }

  private blob(handle: number, offset: number, part: Uint8Array, more: boolean): void {
    if (offset === 0) return this.read(handle, part, more)
    const v = this.values.get(handle)
    if (!v || offset !== v.value.length || v.value.length + part.length > MAX_VALUE) return
    const whole = new Uint8Array(v.value.length + part.length)
    whole.set(v.value)
    whole.set(part, v.value.length)
    this.values.set(handle, { value: whole, truncated: more })
  }

  private information(r: P, p: P): void {
    const info = p.information as { handle: number; uuid: string }[]
    for (const i of info) {
      const u = short(i.uuid)
      if (u !== undefined) this.types.set(i.handle, u)
    }
    const last = info.at(-1)?.handle
    if (last !== undefined) this.searched.information.add(r.startingHandle, last)
  }

  private foundByType(r: P, p: P): void {
    if (r.attributeType !== 0x2800 && r.attributeType !== 0x2801) return
    const uuid = uuidOf(r.attributeValue as Uint8Array)
    if (uuid === undefined) return
    for (const h of p.handlesInformation as { foundHandle: number; groupEndHandle: number }[])
      this.services.set(h.foundHandle, { endHandle: h.groupEndHandle, uuid, primary: r.attributeType === 0x2800 })
  }

  private groups(r: P, p: P): void {
    const t = wireType(r.groupType)
    if (t !== '2800' && t !== '2801') return
    const items = p.attributeData as { handle: number; endGroupHandle: number; value: Uint8Array }[]
    for (const g of items) {
      const uuid = uuidOf(g.value)
      if (uuid !== undefined) this.services.set(g.handle, { endHandle: g.endGroupHandle, uuid, primary: t === '2800' })
    }
    const last = items.at(-1)
    if (last)
      (t === '2800' ? this.searched.primary : this.searched.secondary).add(r.startingHandle, last.endGroupHandle)
  }

  private byType(b: Bearer, r: P, p: P): void {
    const t = wireType(r.attributeType)
    const items = p.attributeData as { handle: number; value: Uint8Array }[]
    const last = items.at(-1)?.handle
    if (t === '2803') {
      let covered = last
      for (const i of items) {
        const v = i.value
        const uuid = v.length === 5 || v.length === 19 ? uuidOf(v.subarray(3)) : undefined
        if (uuid === undefined) continue
        const valueHandle = v[1]! | (v[2]! << 8)
        this.characteristics.set(i.handle, { properties: v[0]!, valueHandle, uuid })
        // The value after the last declaration is no declaration either.
        if (i.handle === last && valueHandle === last + 1) covered = valueHandle
      }
      if (covered !== undefined) this.searched.characteristics.add(r.startingHandle, covered)
    } else if (t === '2802') {
      for (const i of items) {
        const v = i.value
        if (v.length !== 4 && v.length !== 6) continue
        const inc: IncludeSeen = { serviceHandle: v[0]! | (v[1]! << 8), endHandle: v[2]! | (v[3]! << 8) }
        if (v.length === 6) inc.uuid = uuidOf(v.subarray(4))!
        this.includes.set(i.handle, inc)
      }
      if (last !== undefined) this.searched.includes.add(r.startingHandle, last)
    } else if (t !== undefined) {
      const cut = Math.min(b.mtu - 4, 253)
      for (const i of items) {
        this.types.set(i.handle, t)
        this.read(i.handle, i.value, i.value.length >= cut)
      }
    }
  }
}

function isRequest(opcode: number): boolean {
  return [0x02, 0x04, 0x06, 0x08, 0x0a, 0x0c, 0x0e, 0x10, 0x12, 0x16, 0x18, 0x20].includes(opcode)
}

function isResponse(opcode: number): boolean {
  return [0x01, 0x03, 0x05, 0x07, 0x09, 0x0b, 0x0d, 0x0f, 0x11, 0x13, 0x17, 0x19, 0x21].includes(opcode)
}
