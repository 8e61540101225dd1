/**
 * ATT PDUs (Core v5.4 Vol 3 Part F 3.3 and 3.4): every PDU declared once as a typed field table
 * keyed by its opcode (with att/pdu-family.ts, the machinery SMP and signalling share), and
 * re-exported here the ATT error codes of att/error-codes.ts (3.4.1.1, Table 3.4).
 *
 * A PDU is `Attribute Opcode (1 octet) | Attribute Parameters`. The opcode is kept whole: its
 * Command Flag (0x40) and Authentication Signature Flag (0x80) are part of the value (Write
 * Command is 0x52, Signed Write Command 0xD2), as in the spec's Table 3.37 and in Wireshark.
 *
 * Besides its parameters, a decoded PDU names the attribute handle and value it carries, chosen
 * to agree with Wireshark's `btatt.handle` / `btatt.value` (checked against tshark 4.0 on real
 * traces in test/att/pdu.test.ts). Per opcode:
 *   handle = the handle on the wire: Error Response (the handle in error, which tshark also files
 *            under btatt.handle), Read, Read Blob, Write Request/Command, Signed Write, Prepare
 *            Write Request/Response, Notification, Indication;
 *          = the first handle of a list, as tshark's first `btatt.handle`: Find Information
 *            Response (first handle), Find By Type Value Response (first found handle), Read By
 *            Type Response and Read By Group Type Response (first attribute handle), Read Multiple
 *            Request and Read Multiple Variable Request (first handle), Multiple Handle Value
 *            Notification (first handle);
 *          = absent for the range requests (Find Information, Find By Type Value, Read By Type,
 *            Read By Group Type): tshark files their Starting Handle under btatt.starting_handle,
 *            not btatt.handle; it is `params.startingHandle` here;
 *          = absent for Exchange MTU, Read / Read Blob / Read Multiple (Variable) Responses, Write
 *            Response, Execute Write, Confirmation. tshark shows a *generated* btatt.handle on
 *            several responses, copied from the request it matched; that handle is not in the PDU.
 *   value  = the attribute value: Read Response, Read Blob Response, Write Request, Write Command,
 *            Signed Write Command (without its 12-octet signature), Prepare Write Request and
 *            Response, Notification, Indication. Absent elsewhere (lists keep theirs in params).
 *            tshark shows btatt.value only for values it does not understand; a value of a known
 *            GATT type (a CCCD write, a Device Name read) it shows as typed fields instead.
 *
 * Decoding is structural: lengths and list framing are checked (a DecodeError names the field),
 * semantic rules (e.g. "at least two handles") are the server's business. Bytes after the last
 * parameter of a fixed-size PDU are an error (Invalid PDU), never silently dropped.
 */
import { DecodeError } from '../hci/errors.ts'
import { type Reader, toHex } from '../hci/wire.ts'
import { u8, u16, hex16, rest } from '../hci/spec.ts'
import type { Fields, Kind, StructValue } from '../hci/spec.ts'
import { uuidFromWire, uuidToWire } from './uuid.ts'
import { attErrorName } from './error-codes.ts'
import { decodePdu, encodePdu, formatPdu, pdu, reencodePdu, untilEnd, type PduSpec } from './pdu-family.ts'

export {
  decodeParams,
  decodePdu,
  encodeParams,
  encodePdu,
  formatPdu,
  pdu,
  reencodePdu,
  untilEnd,
  type DecodedPdu,
  type PduSpec,
} from './pdu-family.ts'
export { AttErrorCode, ATT_ERROR_NAMES, attErrorName } from './error-codes.ts'

// ---------------------------------------------------------------------------------------------
// Field kinds particular to ATT

/** A u8 that must be at least `min` (the per-item Length of the Read By (Group) Type Responses). */
function atLeast(min: number, what: string): Kind<number> {
  return {
    kind: 'u8',
    decode(r, f) {
      const at = r.offset
      const v = r.u8(f)
      if (v < min) throw new DecodeError(f, at, `${v} is less than ${min} (${what})`)
      return v
    },
    encode(w, v, f) {
      if (v < min) throw new RangeError(`${f}: ${v} is less than ${min} (${what})`)
      w.u8(v, f)
    },
  }
}

/**
 * A UUID as it appears in ATT: 2 or 16 octets, little-endian. In a decoded PDU it keeps its wire
 * form (att/uuid.ts): "2800" for a 16-bit UUID, "0000xxxx-0000-1000-8000-00805f9b34fb"-style
 * (lowercase, most significant first) for 128. `parseUuid` turns either into the canonical form.
 */
export { uuidFromWire, uuidToWire }

/** The rest of the PDU as a 16- or 128-bit UUID (Read By Type / Read By Group Type Requests). */
const uuidRest: Kind<string> = {
  kind: 'uuid',
  decode(r, f) {
    const at = r.offset
    const b = r.rest()
    if (b.length !== 2 && b.length !== 16) throw new DecodeError(f, at, `${b.length} octets: a UUID has 2 or 16`)
    return uuidFromWire(b)
  },
  encode: (w, v, f) => void w.bytes(uuidToWire(v, f)),
}

/** Find Information Response format: 1 = handles with 16-bit UUIDs, 2 = with 128-bit UUIDs. */
const infoFormat: Kind<number> = {
  kind: 'u8',
  decode(r, f) {
    const at = r.offset
    const v = r.u8(f)
    if (v !== 1 && v !== 2) throw new DecodeError(f, at, `${v} is neither 1 (16-bit UUIDs) nor 2 (128-bit UUIDs)`)
    return v
  },
  encode(w, v, f) {
    if (v !== 1 && v !== 2) throw new RangeError(`${f}: ${v} is neither 1 nor 2`)
    w.u8(v, f)
  },
}

export interface HandleUuid {
  handle: number
  uuid: string
}
const handleUuid: Kind<HandleUuid> = {
  kind: 'handleUuid',
  decode(r, f, soFar) {
    const handle = r.u16(`${f}.handle`)
    return { handle, uuid: uuidFromWire(r.bytes(soFar.format === 2 ? 16 : 2, `${f}.uuid`)) }
  },
  encode(w, v, f, whole) {
    const b = uuidToWire(v.uuid, `${f}.uuid`)
    if (b.length !== (whole.format === 2 ? 16 : 2))
      throw new RangeError(`${f}.uuid: does not match format ${whole.format}`)
    w.u16(v.handle, `${f}.handle`).bytes(b)
  },
}

export interface HandlesInformation {
  foundHandle: number
  groupEndHandle: number
}
const handlesInformation: Kind<HandlesInformation> = {
  kind: 'handlesInformation',
  decode: (r, f) => ({ foundHandle: r.u16(`${f}.foundHandle`), groupEndHandle: r.u16(`${f}.groupEndHandle`) }),
  encode: (w, v, f) => void w.u16(v.foundHandle, `${f}.foundHandle`).u16(v.groupEndHandle, `${f}.groupEndHandle`),
}

/** Exactly `whole.length - overhead` octets (the value part of Read By (Group) Type items). */
function valueSized(r: Reader, f: string, soFar: Record<string, unknown>, overhead: number): Uint8Array {
  return r.bytes(Number(soFar.length) - overhead, f)
}
function checkSized(v: Uint8Array, f: string, whole: Record<string, unknown>, overhead: number): void {
  if (v.length !== Number(whole.length) - overhead) {
    throw new RangeError(
      `${f}: ${v.length} octets, but length ${whole.length} leaves ${Number(whole.length) - overhead}`,
    )
  }
}

export interface HandleValue {
  handle: number
  value: Uint8Array
}
const typeData: Kind<HandleValue> = {
  kind: 'attributeData',
  decode(r, f, soFar) {
    const handle = r.u16(`${f}.handle`)
    return { handle, value: valueSized(r, `${f}.value`, soFar, 2) }
  },
  encode(w, v, f, whole) {
    checkSized(v.value, `${f}.value`, whole, 2)
    w.u16(v.handle, `${f}.handle`).bytes(v.value)
  },
}

export interface GroupData {
  handle: number
  endGroupHandle: number
  value: Uint8Array
}
const groupData: Kind<GroupData> = {
  kind: 'attributeData',
  decode(r, f, soFar) {
    const handle = r.u16(`${f}.handle`)
    const endGroupHandle = r.u16(`${f}.endGroupHandle`)
    return { handle, endGroupHandle, value: valueSized(r, `${f}.value`, soFar, 4) }
  },
  encode(w, v, f, whole) {
    checkSized(v.value, `${f}.value`, whole, 4)
    w.u16(v.handle, `${f}.handle`).u16(v.endGroupHandle, `${f}.endGroupHandle`).bytes(v.value)
  },
}

export interface LengthValue {
  /** The Value Length field; the last tuple's value may be cut short of it by ATT_MTU (3.4.4.12). */
  length: number
  value: Uint8Array
}
const lengthValue: Kind<LengthValue> = {
  kind: 'lengthValue',
  decode(r, f) {
    const length = r.u16(`${f}.length`)
    return { length, value: r.bytes(Math.min(length, r.remaining), `${f}.value`) }
  },
  encode(w, v, f) {
    if (v.value.length > v.length)
      throw new RangeError(`${f}.value: ${v.value.length} octets exceed length ${v.length}`)
    w.u16(v.length, `${f}.length`).bytes(v.value)
  },
}

/** Handle Length Value tuples of the Multiple Handle Value Notification (3.4.7.4). */
const handleLengthValue: Kind<HandleValue> = {
  kind: 'handleLengthValue',
  decode(r, f) {
    const handle = r.u16(`${f}.handle`)
    return { handle, value: r.bytes(r.u16(`${f}.length`), `${f}.value`) }
  },
  encode: (w, v, f) => void w.u16(v.handle, `${f}.handle`).u16(v.value.length, `${f}.length`).bytes(v.value),
}

export const SIGNATURE_LENGTH = 12

/** The value of a Signed Write Command: everything but the trailing 12-octet signature. */
const valueBeforeSignature: Kind<Uint8Array> = {
  kind: 'valueBeforeSignature',
  decode(r, f) {
    const n = r.remaining - SIGNATURE_LENGTH
    if (n < 0) r.need(SIGNATURE_LENGTH, 'signature')
    return r.bytes(n, f)
  },
  encode: (w, v) => void w.bytes(v),
  format: (v) => toHex(v),
}

const signature: Kind<Uint8Array> = {
  kind: 'signature',
  decode: (r, f) => r.bytes(SIGNATURE_LENGTH, f),
  encode(w, v, f) {
    if (v.length !== SIGNATURE_LENGTH)
      throw new RangeError(`${f}: expected ${SIGNATURE_LENGTH} octets, got ${v.length}`)
    w.bytes(v)
  },
  format: (v) => toHex(v),
}

const opcodeKind: Kind<number> = { ...u8, kind: 'attOpcode', format: (v) => attOpcodeName(v) }
const errorKind: Kind<number> = { ...u8, kind: 'attError', format: (v) => attErrorName(v) }
const uuid16: Kind<number> = { ...hex16, kind: 'uuid16' }

// ---------------------------------------------------------------------------------------------
// The PDUs

export type AttPduType = 'request' | 'response' | 'command' | 'notification' | 'indication' | 'confirmation'

export interface AttPduSpec<P extends Fields = Fields> extends PduSpec<P> {
  /** Same number as `code`: the whole opcode octet. */
  readonly opcode: number
  readonly type: AttPduType
  /** The attribute handle this PDU carries (see the file overview for the choice per opcode). */
  extractHandle?(p: StructValue<P>): number | undefined
  /** The attribute value this PDU carries. */
  extractValue?(p: StructValue<P>): Uint8Array | undefined
}

export type AttParams<S> = S extends AttPduSpec<infer P> ? StructValue<P> : never

interface Extract<P extends Fields> {
  handle?: (p: StructValue<P>) => number | undefined
  value?: (p: StructValue<P>) => Uint8Array | undefined
}

function att<P extends Fields>(
  opcode: number,
  type: AttPduType,
  name: string,
  fields: P,
  extract: Extract<P> = {},
): AttPduSpec<P> {
  const spec: AttPduSpec<P> = { ...pdu(opcode, name, fields), opcode, type }
  if (extract.handle) spec.extractHandle = extract.handle
  if (extract.value) spec.extractValue = extract.value
  return spec
}

const onWire = { handle: (p: { handle: number }) => p.handle }
const handleAndValue = { handle: (p: { handle: number }) => p.handle, value: (p: { value: Uint8Array }) => p.value }
const justValue = { value: (p: { value: Uint8Array }) => p.value }

// 3.4.1 Error handling
export const ErrorResponse = att(
  0x01,
  'response',
  'Error Response',
  { requestOpcode: opcodeKind, handle: hex16, errorCode: errorKind },
  onWire,
)

// 3.4.2 MTU exchange
export const ExchangeMtuRequest = att(0x02, 'request', 'Exchange MTU Request', { clientRxMtu: u16 })
export const ExchangeMtuResponse = att(0x03, 'response', 'Exchange MTU Response', { serverRxMtu: u16 })

// 3.4.3 Find information
export const FindInformationRequest = att(0x04, 'request', 'Find Information Request', {
  startingHandle: hex16,
  endingHandle: hex16,
})
export const FindInformationResponse = att(
  0x05,
  'response',
  'Find Information Response',
  { format: infoFormat, information: untilEnd(handleUuid) },
  {
    handle: (p) => p.information[0]?.handle,
  },
)
export const FindByTypeValueRequest = att(0x06, 'request', 'Find By Type Value Request', {
  startingHandle: hex16,
  endingHandle: hex16,
  attributeType: uuid16,
  attributeValue: rest,
})
export const FindByTypeValueResponse = att(
  0x07,
  'response',
  'Find By Type Value Response',
  { handlesInformation: untilEnd(handlesInformation) },
  {
    handle: (p) => p.handlesInformation[0]?.foundHandle,
  },
)

// 3.4.4 Reading attributes
export const ReadByTypeRequest = att(0x08, 'request', 'Read By Type Request', {
  startingHandle: hex16,
  endingHandle: hex16,
  attributeType: uuidRest,
})
export const ReadByTypeResponse = att(
  0x09,
  'response',
  'Read By Type Response',
  { length: atLeast(2, 'a handle'), attributeData: untilEnd(typeData) },
  {
    handle: (p) => p.attributeData[0]?.handle,
  },
)
export const ReadRequest = att(0x0a, 'request', 'Read Request', { handle: hex16 }, onWire)
export const ReadResponse = att(0x0b, 'response', 'Read Response', { value: rest }, justValue)
export const ReadBlobRequest = att(0x0c, 'request', 'Read Blob Request', { handle: hex16, offset: u16 }, onWire)
export const ReadBlobResponse = att(0x0d, 'response', 'Read Blob Response', { value: rest }, justValue)
export const ReadMultipleRequest = att(
  0x0e,
  'request',
  'Read Multiple Request',
  { handles: untilEnd(hex16) },
  { handle: (p) => p.handles[0] },
)
export const ReadMultipleResponse = att(0x0f, 'response', 'Read Multiple Response', { values: rest })
export const ReadByGroupTypeRequest = att(0x10, 'request', 'Read By Group Type Request', {
  startingHandle: hex16,
  endingHandle: hex16,
  groupType: uuidRest,
})
export const ReadByGroupTypeResponse = att(
  0x11,
  'response',
  'Read By Group Type Response',
  { length: atLeast(4, 'two handles'), attributeData: untilEnd(groupData) },
  {
    handle: (p) => p.attributeData[0]?.handle,
  },
)
export const ReadMultipleVariableRequest = att(
  0x20,
  'request',
  'Read Multiple Variable Request',
  { handles: untilEnd(hex16) },
  { handle: (p) => p.handles[0] },
)
export const ReadMultipleVariableResponse = att(0x21, 'response', 'Read Multiple Variable Response', {
  values: untilEnd(lengthValue),
})

// 3.4.5 Writing attributes
export const WriteRequest = att(0x12, 'request', 'Write Request', { handle: hex16, value: rest }, handleAndValue)
export const WriteResponse = att(0x13, 'response', 'Write Response', {})
export const WriteCommand = att(0x52, 'command', 'Write Command', { handle: hex16, value: rest }, handleAndValue)
export const SignedWriteCommand = att(
  0xd2,
  'command',
  'Signed Write Command',
  { handle: hex16, value: valueBeforeSignature, signature },
  handleAndValue,
)

// 3.4.6 Queued writes
export const PrepareWriteRequest = att(
  0x16,
  'request',
  'Prepare Write Request',
  { handle: hex16, offset: u16, value: rest },
  handleAndValue,
)
export const PrepareWriteResponse = att(
  0x17,
  'response',
  'Prepare Write Response',
  { handle: hex16, offset: u16, value: rest },
  handleAndValue,
)
/** flags: 0x00 cancel all prepared writes, 0x01 immediately write all pending prepared values. */
export const ExecuteWriteRequest = att(0x18, 'request', 'Execute Write Request', { flags: u8 })
export const ExecuteWriteResponse = att(0x19, 'response', 'Execute Write Response', {})

// 3.4.7 Server initiated
export const HandleValueNotification = att(
  0x1b,
  'notification',
  'Handle Value Notification',
  { handle: hex16, value: rest },
  handleAndValue,
)
export const HandleValueIndication = att(
  0x1d,
  'indication',
  'Handle Value Indication',
  { handle: hex16, value: rest },
  handleAndValue,
)
export const HandleValueConfirmation = att(0x1e, 'confirmation', 'Handle Value Confirmation', {})
export const MultipleHandleValueNotification = att(
  0x23,
  'notification',
  'Multiple Handle Value Notification',
  { tuples: untilEnd(handleLengthValue) },
  {
    handle: (p) => p.tuples[0]?.handle,
  },
)

export const ATT_PDUS: readonly AttPduSpec[] = [
  ErrorResponse,
  ExchangeMtuRequest,
  ExchangeMtuResponse,
  FindInformationRequest,
  FindInformationResponse,
  FindByTypeValueRequest,
  FindByTypeValueResponse,
  ReadByTypeRequest,
  ReadByTypeResponse,
  ReadRequest,
  ReadResponse,
  ReadBlobRequest,
  ReadBlobResponse,
  ReadMultipleRequest,
  ReadMultipleResponse,
  ReadByGroupTypeRequest,
  ReadByGroupTypeResponse,
  WriteRequest,
  WriteResponse,
  PrepareWriteRequest,
  PrepareWriteResponse,
  ExecuteWriteRequest,
  ExecuteWriteResponse,
  HandleValueNotification,
  HandleValueIndication,
  HandleValueConfirmation,
  ReadMultipleVariableRequest,
  ReadMultipleVariableResponse,
  MultipleHandleValueNotification,
  WriteCommand,
  SignedWriteCommand,
] as readonly AttPduSpec<any>[] as readonly AttPduSpec[]

const BY_OPCODE = new Map<number, AttPduSpec>(ATT_PDUS.map((s) => [s.opcode, s]))

export function attPduSpec(opcode: number): AttPduSpec | undefined {
  return BY_OPCODE.get(opcode)
}

const hex2 = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`

/** "Read By Type Request"; "Unknown ATT Opcode (0x3f)". */
export function attOpcodeName(opcode: number): string {
  return BY_OPCODE.get(opcode)?.name ?? `Unknown ATT Opcode (${hex2(opcode)})`
}

/** Command Flag (bit 6): the PDU needs no response (3.3.1). */
export function isAttCommand(opcode: number): boolean {
  return (opcode & 0x40) !== 0
}

// ---------------------------------------------------------------------------------------------
// Decode and encode

export interface AttPdu {
  opcode: number
  name: string
  /** The decoded parameters; `{ data }` (the raw parameters) for an opcode we do not know. */
  params?: Record<string, unknown>
  handle?: number
  value?: Uint8Array
  /** The declaration it was decoded with; undefined for an unknown opcode. */
  spec?: AttPduSpec
}

/** Narrow a decoded PDU to one declaration: `if (isAttPdu(p, ReadRequest)) p.params.handle`. */
export function isAttPdu<S extends AttPduSpec<any>>(
  p: AttPdu,
  spec: S,
): p is AttPdu & { spec: S; params: AttParams<S> } {
  return p.spec === (spec as AttPduSpec)
}

/** Decode one ATT PDU (the payload of an L2CAP B-frame on CID 0x0004). Never throws. */
export function decodeAttPdu(bytes: Uint8Array): AttPdu | DecodeError {
  const d = decodePdu(bytes, BY_OPCODE, attOpcodeName, 'opcode')
  if (d instanceof DecodeError) return d
  const out: AttPdu = { opcode: d.code, name: d.name }
  if (d.params) out.params = d.params
  if (!d.spec) return out
  out.spec = d.spec
  const params = d.params as StructValue<Fields>
  const handle = d.spec.extractHandle?.(params)
  if (handle !== undefined) out.handle = handle
  const value = d.spec.extractValue?.(params)
  if (value !== undefined) out.value = value
  return out
}

/** Encode a PDU from its declaration (throws RangeError on parameters that do not fit). */
export function encodeAttPdu<S extends AttPduSpec<any>>(spec: S, params: AttParams<S>): Uint8Array {
  return encodePdu(spec as AttPduSpec, params as StructValue<Fields>)
}

/** Re-encode a decoded PDU, known opcode or not. */
export function reencodeAttPdu(p: AttPdu): Uint8Array {
  return reencodePdu({ ...p, code: p.opcode })
}

/** One line for logs: "Read Request handle=0x0013". */
export function formatAttPdu(p: AttPdu): string {
  return formatPdu({ ...p, code: p.opcode })
}
