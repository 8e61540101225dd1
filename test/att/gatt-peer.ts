/**
 * A small, independent GATT server for the client tests: it lays out a database declaration
 * (the JSON form of att/database.ts, e.g. fixtures/gatt/large-db.json) into a flat attribute
 * table by the rules of Core v5.4 Vol 3 Part G 3, and answers ATT requests over it by Part F
 * 3.4, building every response by hand (not with att/pdu.ts's encoder). It is deliberately
 * written apart from att/server.ts so the client is checked against a second reading of the
 * spec; `tamper` lets a test turn it into a bad peer.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { parseUuid, uuidToAttBytes, type Uuid } from '../../att/uuid.ts'

export interface FlatAttribute {
  handle: number
  type: Uuid
  value: Uint8Array
  /** Service declarations: the last handle of the service. */
  groupEnd?: number
  /** Properties of the characteristic this is the value of (for write checks). */
  props?: number
}

export interface ExpectedDescriptor {
  uuid: Uuid
  handle: number
}
export interface ExpectedCharacteristic {
  uuid: Uuid
  handle: number
  valueHandle: number
  properties: number
  descriptors: ExpectedDescriptor[]
}
export interface ExpectedService {
  uuid: Uuid
  start: number
  end: number
  primary: boolean
  includes: number[]
  characteristics: ExpectedCharacteristic[]
}

const PROPS: Record<string, number> = {
  broadcast: 1,
  read: 2,
  writeWithoutResponse: 4,
  write: 8,
  notify: 0x10,
  indicate: 0x20,
  authenticatedSignedWrites: 0x40,
  extendedProperties: 0x80,
}
const u16 = (v: number): number[] => [v & 0xff, v >> 8]
const text = (s: string): Uint8Array => new TextEncoder().encode(s)

type JsonValue = string | { hex: string } | undefined
function bytesOf(v: JsonValue): Uint8Array {
  if (v === undefined) return new Uint8Array(0)
  if (typeof v === 'string') return text(v)
  return Uint8Array.from(Buffer.from(v.hex, 'hex'))
}

export function loadDeclaration(url: URL): any {
  return JSON.parse(readFileSync(url, 'utf8'))
}

/** Lay out a declaration: GAP, GATT, then the services, handles from 1 in order. */
export function layout(decl: any): { attributes: FlatAttribute[]; expected: ExpectedService[] } {
  const gap = decl.gap ?? {}
  const services: any[] = [
    {
      uuid: '1800',
      characteristics: [
        { uuid: '2a00', properties: ['read'], value: gap.deviceName ?? 'hcikit' },
        { uuid: '2a01', properties: ['read'], value: { hex: Buffer.from(u16(gap.appearance ?? 0)).toString('hex') } },
        ...(gap.characteristics ?? []),
      ],
    },
    {
      uuid: '1801',
      characteristics: [
        { uuid: '2a05', properties: ['indicate'], special: 'sc' },
        { uuid: '2b29', properties: ['read', 'write'], value: { hex: '00' } },
        { uuid: '2b2a', properties: ['read'], special: 'hash' },
      ],
    },
    ...(decl.services ?? []),
  ]
  const attrs: FlatAttribute[] = []
  const expected: ExpectedService[] = []
  let h = 0
  const byId = new Map<string, ExpectedService>()
  const pendingIncludes: { attr: FlatAttribute; id: string; svc: ExpectedService }[] = []
  for (const s of services) {
    const uuid = parseUuid(s.uuid)
    const primary = s.primary !== false
    const decl: FlatAttribute = { handle: ++h, type: parseUuid(primary ? 0x2800 : 0x2801), value: uuidToAttBytes(uuid) }
    attrs.push(decl)
    const es: ExpectedService = {
      uuid,
      start: decl.handle,
      end: decl.handle,
      primary,
      includes: [],
      characteristics: [],
    }
    if (s.id) byId.set(s.id, es)
    for (const id of s.includes ?? []) {
      const inc: FlatAttribute = { handle: ++h, type: parseUuid(0x2802), value: new Uint8Array(0) }
      attrs.push(inc)
      es.includes.push(inc.handle)
      pendingIncludes.push({ attr: inc, id, svc: es })
    }
    for (const c of s.characteristics ?? []) {
      const cu = parseUuid(c.uuid)
      const props = (c.properties as string[]).reduce((m, p) => m | PROPS[p]!, 0)
      const dh = ++h
      const vh = ++h
      attrs.push({
        handle: dh,
        type: parseUuid(0x2803),
        value: Uint8Array.from([props, ...u16(vh), ...uuidToAttBytes(cu)]),
      })
      const value: FlatAttribute = { handle: vh, type: cu, value: bytesOf(c.value), props }
      if (c.special === 'hash') value.value = new Uint8Array(16)
      attrs.push(value)
      const ec: ExpectedCharacteristic = { uuid: cu, handle: dh, valueHandle: vh, properties: props, descriptors: [] }
      const desc = (type: number | string, v: Uint8Array): void => {
        const d: FlatAttribute = { handle: ++h, type: parseUuid(type), value: v, props: 0x0a }
        attrs.push(d)
        ec.descriptors.push({ uuid: d.type, handle: d.handle })
      }
      if (props & 0x30) desc(0x2902, new Uint8Array(2))
      if (c.description !== undefined) desc(0x2901, text(c.description))
      if (c.presentationFormat) {
        const f = c.presentationFormat
        desc(
          0x2904,
          Uint8Array.from([
            f.format,
            (f.exponent ?? 0) & 0xff,
            ...u16(f.unit),
            f.namespace ?? 1,
            ...u16(f.description ?? 0),
          ]),
        )
      }
      for (const d of c.descriptors ?? []) desc(d.uuid, bytesOf(d.value))
      es.characteristics.push(ec)
    }
    es.end = h
    decl.groupEnd = h
    expected.push(es)
  }
  for (const p of pendingIncludes) {
    const target = byId.get(p.id)!
    const b = uuidToAttBytes(target.uuid)
    p.attr.value = Uint8Array.from([...u16(target.start), ...u16(target.end), ...(b.length === 2 ? b : [])])
  }
  return { attributes: attrs, expected }
}

export interface MiniServerOptions {
  /** Turn the server into a bad peer: change or drop ('drop') a response. */
  tamper?: (req: Uint8Array, rsp: Uint8Array) => Uint8Array | 'drop'
  /** Answer Read Multiple Variable (default true). */
  readMultipleVariable?: boolean
}

/** An ATT server over a flat attribute table; `handle` is its request handler (AttBearer.serve). */
export class MiniServer {
  /** Requests seen, by opcode name-ish hex. */
  readonly requests: string[] = []
  /** Write Commands applied. */
  commands = 0
  readonly queue: { handle: number; offset: number; value: Uint8Array }[] = []
  /** Set to force an answer of Database Out Of Sync to the next N requests (other than the hash read). */
  outOfSync = 0

  constructor(
    public attributes: FlatAttribute[],
    private readonly mtu: () => number,
    private readonly opts: MiniServerOptions = {},
  ) {
    this.rehash()
  }

  get(handle: number): FlatAttribute | undefined {
    return this.attributes.find((a) => a.handle === handle)
  }

  /** Recompute the Database Hash value (a digest of the structure here, not the spec's CMAC). */
  rehash(): Uint8Array {
    const md5 = createHash('md5')
    for (const a of this.attributes) {
      if (['2800', '2801', '2802', '2803'].some((t) => a.type === parseUuid(t)))
        md5.update(Uint8Array.from([...u16(a.handle), ...uuidToAttBytes(a.type), ...a.value]))
      else md5.update(Uint8Array.from([...u16(a.handle), ...uuidToAttBytes(a.type)]))
    }
    const hash = new Uint8Array(md5.digest())
    const hc = this.attributes.find((a) => a.type === parseUuid(0x2b2a))
    if (hc) hc.value = hash
    return hash
  }

  handle = (pdu: Uint8Array): Uint8Array | undefined | Promise<undefined> => {
    this.requests.push(pdu[0]!.toString(16).padStart(2, '0'))
    const rsp = this.answer(pdu)
    if (!rsp) return undefined
    const t = this.opts.tamper?.(pdu, rsp)
    if (t === 'drop') return new Promise<undefined>(() => {})
    return t ?? rsp
  }

  private err(op: number, handle: number, code: number): Uint8Array {
    return Uint8Array.from([0x01, op, ...u16(handle), code])
  }

  private answer(pdu: Uint8Array): Uint8Array | undefined {
    const op = pdu[0]!
    const rd = (o: number): number => pdu[o]! | (pdu[o + 1]! << 8)
    const mtu = this.mtu()
    const inRange = (s: number, e: number): FlatAttribute[] =>
      this.attributes.filter((a) => a.handle >= s && a.handle <= e)
    const isHashRead = op === 0x08 && pdu.length === 7 && rd(5) === 0x2b2a
    if (this.outOfSync > 0 && !isHashRead && (op & 0x40) === 0) {
      this.outOfSync--
      return this.err(op, 0, 0x12)
    }
    switch (op) {
      case 0x04: {
        const [s, e] = [rd(1), rd(3)]
        if (s === 0 || s > e) return this.err(op, s, 0x01)
        const found = inRange(s, e)
        if (!found.length) return this.err(op, s, 0x0a)
        const wide = uuidToAttBytes(found[0]!.type).length === 16
        const out = [0x05, wide ? 2 : 1]
        for (const a of found) {
          const b = uuidToAttBytes(a.type)
          if ((b.length === 16) !== wide || out.length + 2 + b.length > mtu) break
          out.push(...u16(a.handle), ...b)
        }
        return Uint8Array.from(out)
      }
      case 0x06: {
        const [s, e, type] = [rd(1), rd(3), rd(5)]
        const value = pdu.subarray(7)
        const found = inRange(s, e).filter(
          (a) => a.type === parseUuid(type) && Buffer.from(a.value).equals(Buffer.from(value)),
        )
        if (!found.length) return this.err(op, s, 0x0a)
        const out = [0x07]
        for (const a of found) {
          if (out.length + 4 > mtu) break
          out.push(...u16(a.handle), ...u16(a.groupEnd ?? a.handle))
        }
        return Uint8Array.from(out)
      }
      case 0x08:
      case 0x10: {
        const [s, e] = [rd(1), rd(3)]
        if (s === 0 || s > e) return this.err(op, s, 0x01)
        const type =
          pdu.length === 7 ? parseUuid(rd(5)) : parseUuid(Buffer.from(pdu.subarray(5)).reverse().toString('hex'))
        if (op === 0x10 && type !== parseUuid(0x2800) && type !== parseUuid(0x2801)) return this.err(op, s, 0x10)
        const found = inRange(s, e).filter((a) => a.type === type)
        if (!found.length) return this.err(op, s, 0x0a)
        const head = op === 0x10 ? 4 : 2
        const len = Math.min(found[0]!.value.length, mtu - 2 - head, 255 - head)
        const out = [op + 1, head + len]
        for (const a of found) {
          if (Math.min(a.value.length, 255 - head) !== len && a !== found[0]) break
          if (out.length + head + len > mtu) break
          out.push(...u16(a.handle))
          if (op === 0x10) out.push(...u16(a.groupEnd!))
          out.push(...a.value.subarray(0, len))
        }
        return Uint8Array.from(out)
      }
      case 0x0a:
      case 0x0c: {
        const a = this.get(rd(1))
        if (!a) return this.err(op, rd(1), 0x01)
        const offset = op === 0x0c ? rd(3) : 0
        if (offset > a.value.length) return this.err(op, a.handle, 0x07)
        return Uint8Array.from([op + 1, ...a.value.subarray(offset, offset + mtu - 1)])
      }
      case 0x0e:
      case 0x20: {
        if (op === 0x20 && this.opts.readMultipleVariable === false) return this.err(op, 0, 0x06)
        const out = [op + 1]
        for (let o = 1; o + 1 < pdu.length; o += 2) {
          const a = this.get(rd(o))
          if (!a) return this.err(op, rd(o), 0x01)
          if (op === 0x20) out.push(...u16(a.value.length))
          out.push(...a.value)
        }
        return Uint8Array.from(out.slice(0, mtu))
      }
      case 0x12:
      case 0x52: {
        const a = this.get(rd(1))
        if (!a) return op === 0x12 ? this.err(op, rd(1), 0x01) : undefined
        a.value = pdu.slice(3)
        if (op === 0x52) {
          this.commands++
          return undefined
        }
        return Uint8Array.of(0x13)
      }
      case 0x16: {
        const a = this.get(rd(1))
        if (!a) return this.err(op, rd(1), 0x01)
        this.queue.push({ handle: a.handle, offset: rd(3), value: pdu.slice(5) })
        return Uint8Array.from([0x17, ...pdu.subarray(1)])
      }
      case 0x18: {
        const q = this.queue.splice(0)
        if (pdu[1] === 0x01) {
          // Each prepared part replaces the value from its offset on (chunks of a long write
          // arrive at increasing offsets and so build the whole value).
          for (const w of q) {
            const a = this.get(w.handle)!
            const v = new Uint8Array(w.offset + w.value.length)
            v.set(a.value.subarray(0, w.offset))
            v.set(w.value, w.offset)
            a.value = v
          }
        }
        return Uint8Array.of(0x19)
      }
      default:
        if (op & 0x40) return undefined
        return this.err(op, 0, 0x06)
    }
  }
}
