/**
 * The twin's ATT server (Core v5.4 Vol 3 Part F 3.4): requests answered from the twin's flat
 * attribute table (table.ts), the captured handles as they were, sized to the connection's
 * ATT_MTU as each request prescribes. A function of the table and the connection's state, as
 * att/server.ts is of a database: one PDU in, the response out (undefined for commands).
 *
 * - Discovery: Find Information (3.4.3.1), Find By Type Value (3.4.3.3), Read By Type
 *   (3.4.4.1), Read By Group Type (3.4.4.9) walk the table; what the capture did not discover
 *   is not there (Attribute Not Found).
 * - Reads (3.4.4.3-3.4.4.8): the captured value; a read the device refused in the capture gets
 *   the same error; a value the capture never showed gets Unlikely Error (0x0E), the twin's
 *   "not known" (docs/TESTING.md). A CCCD reads as this client configured it (0x0000 at first).
 * - Writes (3.4.5, 3.4.6): accepted when the properties allow them (Write Not Permitted
 *   otherwise; commands that are not allowed are ignored), recorded through `onWrite`, values
 *   unchanged except CCCDs, which start and stop the replay of notifications (run.ts).
 * - Anything else: Request Not Supported; a request that does not decode: Invalid PDU.
 */
import { DecodeError } from '../../hci/errors.ts'
import {
  AttErrorCode,
  ErrorResponse,
  ExecuteWriteResponse,
  FindByTypeValueResponse,
  FindInformationResponse,
  PrepareWriteResponse,
  ReadBlobResponse,
  ReadByGroupTypeResponse,
  ReadByTypeResponse,
  ReadMultipleResponse,
  ReadMultipleVariableResponse,
  ReadResponse,
  WriteResponse,
  attPduSpec,
  decodeAttPdu,
  encodeAttPdu,
  isAttCommand,
} from '../../att/pdu.ts'
import { decodeUuid, parseUuid, shortUuid, type Uuid } from '../../att/uuid.ts'
import { CCCD, PRIMARY_SERVICE, SECONDARY_SERVICE, type TableAttribute } from './table.ts'

/** What the twin answers for a value the capture never showed. */
export const UNKNOWN_VALUE_ERROR = AttErrorCode.UnlikelyError
const MAX_PREPARED = 64
const MAX_VALUE = 512
const WRITE = 0x08
const WRITE_WITHOUT_RESPONSE = 0x04
const SIGNED_WRITE = 0x40

export type TwinWriteKind = 'request' | 'command' | 'signed' | 'prepared'

export interface TwinWrite {
  handle: number
  value: Uint8Array
  kind: TwinWriteKind
}

/** One client's state in the twin's server. */
export class TwinConnection {
  /** CCCD values written by this client, by descriptor handle. */
  readonly cccds = new Map<number, number>()
  readonly prepared: Array<{ handle: number; offset: number; value: Uint8Array }> = []
  constructor(
    /** The connection's ATT_MTU now. */
    readonly mtu: () => number,
    /** Every accepted write; a CCCD write also names the value handle it configures. */
    readonly onWrite: (w: TwinWrite, configures: number | undefined) => void = () => {},
  ) {}
}

class Refusal {
  constructor(
    readonly handle: number,
    readonly code: number,
  ) {}
}

type P = Record<string, any>

/** The type of `a` as Find Information sends it: 4 hex digits for 2 octets, else 128-bit. */
function wire(a: TableAttribute): string {
  return a.typeSize === 2 ? shortUuid(a.type!) : a.type!
}

export class TwinAttServer {
  private readonly byHandle: Map<number, TableAttribute>

  constructor(private readonly table: readonly TableAttribute[]) {
    this.byHandle = new Map(table.map((a) => [a.handle, a]))
  }

  /** Serve one PDU from the client; the response, or undefined when none is due. */
  handle(pdu: Uint8Array, c: TwinConnection): Uint8Array | undefined {
    const opcode = pdu[0]
    if (opcode === undefined) return undefined
    const command = isAttCommand(opcode)
    const spec = attPduSpec(opcode)
    if (spec === undefined || (spec.type !== 'request' && spec.type !== 'command'))
      return command ? undefined : refuse(opcode, 0, AttErrorCode.RequestNotSupported)
    const d = decodeAttPdu(pdu)
    if (d instanceof DecodeError) return command ? undefined : refuse(opcode, 0, AttErrorCode.InvalidPdu)
    const p = (d.params ?? {}) as P
    try {
      return this.serve(opcode, p, c)
    } catch (e) {
      if (!(e instanceof Refusal)) throw e
      return command ? undefined : refuse(opcode, e.handle, e.code)
    }
  }

  private serve(opcode: number, p: P, c: TwinConnection): Uint8Array | undefined {
    switch (opcode) {
      case 0x04:
        return this.findInformation(p.startingHandle, p.endingHandle, c)
      case 0x06:
        return this.findByTypeValue(p, c)
      case 0x08:
        return this.readByType(p.startingHandle, p.endingHandle, parseUuid(p.attributeType), c)
      case 0x10:
        return this.readByGroupType(p.startingHandle, p.endingHandle, parseUuid(p.groupType), c)
      case 0x0a:
        return encodeAttPdu(ReadResponse, { value: this.value(p.handle, c).subarray(0, c.mtu() - 1) })
      case 0x0c: {
        const v = this.value(p.handle, c)
        if (p.offset > v.length) throw new Refusal(p.handle, AttErrorCode.InvalidOffset)
        return encodeAttPdu(ReadBlobResponse, { value: v.subarray(p.offset, p.offset + c.mtu() - 1) })
      }
      case 0x0e: {
        const all = (p.handles as number[]).map((h) => this.value(h, c))
        const values = Buffer.concat(all).subarray(0, c.mtu() - 1)
        return encodeAttPdu(ReadMultipleResponse, { values: new Uint8Array(values) })
      }
      case 0x20:
        return this.readMultipleVariable(p.handles as number[], c)
      case 0x12:
        this.write(p.handle, p.value, 'request', c)
        return encodeAttPdu(WriteResponse, {})
      case 0x52:
        this.write(p.handle, p.value, 'command', c)
        return undefined
      case 0xd2:
        this.write(p.handle, p.value, 'signed', c)
        return undefined
      case 0x16:
        return this.prepare(p, c)
      case 0x18:
        return this.execute(p.flags, c)
      default:
        throw new Refusal(0, AttErrorCode.RequestNotSupported)
    }
  }

  private range(start: number, end: number): TableAttribute[] {
    if (start === 0 || start > end) throw new Refusal(start, AttErrorCode.InvalidHandle)
    return this.table.filter((a) => a.handle >= start && a.handle <= end)
  }

  private findInformation(start: number, end: number, c: TwinConnection): Uint8Array {
    const found = this.range(start, end).filter((a) => a.type !== undefined)
    if (found.length === 0) throw new Refusal(start, AttErrorCode.AttributeNotFound)
    const format = found[0]!.typeSize === 2 ? 1 : 2
    const max = Math.floor((c.mtu() - 2) / (format === 1 ? 4 : 18))
    const information: Array<{ handle: number; uuid: string }> = []
    for (const a of found) {
      if (information.length >= max || (a.typeSize === 2 ? 1 : 2) !== format) break
      information.push({ handle: a.handle, uuid: wire(a) })
    }
    return encodeAttPdu(FindInformationResponse, { format, information })
  }

  private findByTypeValue(p: P, c: TwinConnection): Uint8Array {
    const type = parseUuid(p.attributeType as number)
    const service = type === PRIMARY_SERVICE || type === SECONDARY_SERVICE
    const wanted = service ? decodeUuid(p.attributeValue) : undefined
    const max = Math.floor((c.mtu() - 1) / 4)
    const out: Array<{ foundHandle: number; groupEndHandle: number }> = []
    for (const a of this.range(p.startingHandle, p.endingHandle)) {
      if (out.length >= max) break
      if (a.type !== type || a.value === undefined) continue
      const match = service ? decodeUuid(a.value) === wanted : Buffer.from(a.value).equals(p.attributeValue)
      if (match) out.push({ foundHandle: a.handle, groupEndHandle: a.groupEnd ?? a.handle })
    }
    if (out.length === 0) throw new Refusal(p.startingHandle, AttErrorCode.AttributeNotFound)
    return encodeAttPdu(FindByTypeValueResponse, { handlesInformation: out })
  }

  /** Values of `found` that fit one response, all of the first one's length. */
  private sameLength(found: TableAttribute[], c: TwinConnection, overhead: number, cut: number) {
    const items: Array<{ a: TableAttribute; v: Uint8Array }> = []
    let length = 0
    for (const a of found) {
      if (items.length > 0 && 2 + (items.length + 1) * length > c.mtu()) break
      let v: Uint8Array
      try {
        v = this.value(a.handle, c).subarray(0, cut)
      } catch (e) {
        if (items.length === 0) throw e
        break
      }
      if (items.length === 0) length = v.length + overhead
      else if (v.length + overhead !== length) break
      items.push({ a, v })
    }
    return { length, items }
  }

  private readByType(start: number, end: number, type: Uuid, c: TwinConnection): Uint8Array {
    const found = this.range(start, end).filter((a) => a.type === type)
    if (found.length === 0) throw new Refusal(start, AttErrorCode.AttributeNotFound)
    const { length, items } = this.sameLength(found, c, 2, Math.min(c.mtu() - 4, 253))
    return encodeAttPdu(ReadByTypeResponse, {
      length,
      attributeData: items.map(({ a, v }) => ({ handle: a.handle, value: v })),
    })
  }

  private readByGroupType(start: number, end: number, type: Uuid, c: TwinConnection): Uint8Array {
    const found = this.range(start, end)
    if (type !== PRIMARY_SERVICE && type !== SECONDARY_SERVICE)
      throw new Refusal(start, AttErrorCode.UnsupportedGroupType)
    const groups = found.filter((a) => a.type === type)
    if (groups.length === 0) throw new Refusal(start, AttErrorCode.AttributeNotFound)
    const { length, items } = this.sameLength(groups, c, 4, Math.min(c.mtu() - 6, 251))
    return encodeAttPdu(ReadByGroupTypeResponse, {
      length,
      attributeData: items.map(({ a, v }) => ({ handle: a.handle, endGroupHandle: a.groupEnd ?? a.handle, value: v })),
    })
  }

  private readMultipleVariable(handles: number[], c: TwinConnection): Uint8Array {
    const values: Array<{ length: number; value: Uint8Array }> = []
    let room = c.mtu() - 1
    for (const h of handles) {
      const v = this.value(h, c)
      const part = v.subarray(0, Math.max(0, room - 2))
      values.push({ length: v.length, value: part })
      room -= 2 + part.length
      if (room <= 2) break
    }
    return encodeAttPdu(ReadMultipleVariableResponse, { values })
  }

  /** The value of `handle` for a read, or the Refusal the twin answers with. */
  private value(handle: number, c: TwinConnection): Uint8Array {
    const a = this.byHandle.get(handle)
    if (!a) throw new Refusal(handle, AttErrorCode.InvalidHandle)
    if (a.type === CCCD) {
      const v = c.cccds.get(handle) ?? 0
      return Uint8Array.of(v & 0xff, v >> 8)
    }
    if (a.value !== undefined) return a.value
    throw new Refusal(handle, a.readError ?? UNKNOWN_VALUE_ERROR)
  }

  private writable(handle: number, kind: TwinWriteKind): TableAttribute {
    const a = this.byHandle.get(handle)
    if (!a) throw new Refusal(handle, AttErrorCode.InvalidHandle)
    const need = kind === 'command' ? WRITE_WITHOUT_RESPONSE : kind === 'signed' ? SIGNED_WRITE : WRITE
    const ok =
      a.kind === 'descriptor' || a.kind === 'other' || (a.kind === 'value' && ((a.properties ?? 0) & need) !== 0)
    if (!ok) throw new Refusal(handle, AttErrorCode.WriteNotPermitted)
    return a
  }

  private write(handle: number, value: Uint8Array, kind: TwinWriteKind, c: TwinConnection): void {
    const a = this.writable(handle, kind)
    if (value.length > MAX_VALUE) throw new Refusal(handle, AttErrorCode.InvalidAttributeValueLength)
    if (a.type === CCCD) {
      if (value.length !== 2) throw new Refusal(handle, AttErrorCode.InvalidAttributeValueLength)
      c.cccds.set(handle, value[0]! | (value[1]! << 8))
    }
    c.onWrite({ handle, value: value.slice(), kind }, a.configures)
  }

  private prepare(p: P, c: TwinConnection): Uint8Array {
    this.writable(p.handle, 'request')
    if (c.prepared.length >= MAX_PREPARED) throw new Refusal(p.handle, AttErrorCode.PrepareQueueFull)
    c.prepared.push({ handle: p.handle, offset: p.offset, value: (p.value as Uint8Array).slice() })
    return encodeAttPdu(PrepareWriteResponse, { handle: p.handle, offset: p.offset, value: p.value })
  }

  private execute(flags: number, c: TwinConnection): Uint8Array {
    const queue = c.prepared.splice(0)
    if (flags === 1) {
      const byHandle = new Map<number, Uint8Array>()
      for (const q of queue) {
        const before = byHandle.get(q.handle) ?? new Uint8Array(0)
        if (q.offset > before.length) throw new Refusal(q.handle, AttErrorCode.InvalidOffset)
        const v = new Uint8Array(Math.max(before.length, q.offset + q.value.length))
        v.set(before)
        v.set(q.value, q.offset)
        if (v.length > MAX_VALUE) throw new Refusal(q.handle, AttErrorCode.InvalidAttributeValueLength)
        byHandle.set(q.handle, v)
      }
      for (const [handle, value] of byHandle) this.write(handle, value, 'prepared', c)
    }
    return encodeAttPdu(ExecuteWriteResponse, {})
  }
}

function refuse(requestOpcode: number, handle: number, errorCode: number): Uint8Array {
  return encodeAttPdu(ErrorResponse, { requestOpcode, handle, errorCode })
}
