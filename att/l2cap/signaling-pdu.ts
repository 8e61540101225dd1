/**
 * L2CAP signalling commands (Core v5.4 Vol 3 Part A 4): the C-frames of the LE signalling
 * channel (CID 0x0005) and, for naming and logs, of the BR/EDR one (CID 0x0001).
 *
 * Each command is `Code (u8) | Identifier (u8) | Length (u16) | Data (Length octets)` (4.0,
 * Figure 4.3). On LE-U a C-frame carries exactly one command; on ACL-U it may carry several
 * back to back, so the decoder returns a list. The Length field frames each command; the data of
 * a command we declare must be used exactly (a DecodeError names the field otherwise). Codes
 * 0x0C-0x11 (AMP) were withdrawn in v5.3; their names are kept for old captures.
 *
 * Result codes: LE Credit Based Connection Response (4.23, Table 4.16), Credit Based Connection
 * Response (4.26, Table 4.18), Credit Based Reconfigure Response (4.28, Table 4.20), Connection
 * Parameter Update Response (4.21), Command Reject reasons (4.1, Table 4.3).
 */
import { DecodeError } from '../../hci/errors.ts'
import { Reader, Writer } from '../../hci/wire.ts'
import { u16, hex16, rest } from '../../hci/spec.ts'
import type { Fields, Kind, StructValue } from '../../hci/spec.ts'
import { pdu, decodeParams, encodeParams, untilEnd } from '../pdu.ts'
import type { PduSpec } from '../pdu.ts'

export const SIGNALING_HEADER_LENGTH = 4

export type SignalingSpec<P extends Fields = Fields> = PduSpec<P>
export type SignalingParams<S> = S extends PduSpec<infer P> ? StructValue<P> : never

const hex4 = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`
const hex2 = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`

function named(table: Readonly<Record<number, string>>, fallback: string): (v: number) => string {
  return (v) => `${table[v] ?? fallback} (${hex4(v)})`
}

// ---------------------------------------------------------------------------------------------
// Names of codes and results

export const SIGNALING_NAMES: Readonly<Record<number, string>> = {
  0x01: 'Command Reject',
  0x02: 'Connection Request',
  0x03: 'Connection Response',
  0x04: 'Configuration Request',
  0x05: 'Configuration Response',
  0x06: 'Disconnection Request',
  0x07: 'Disconnection Response',
  0x08: 'Echo Request',
  0x09: 'Echo Response',
  0x0a: 'Information Request',
  0x0b: 'Information Response',
  0x0c: 'Create Channel Request',
  0x0d: 'Create Channel Response',
  0x0e: 'Move Channel Request',
  0x0f: 'Move Channel Response',
  0x10: 'Move Channel Confirmation Request',
  0x11: 'Move Channel Confirmation Response',
  0x12: 'Connection Parameter Update Request',
  0x13: 'Connection Parameter Update Response',
  0x14: 'LE Credit Based Connection Request',
  0x15: 'LE Credit Based Connection Response',
  0x16: 'Flow Control Credit Indication',
  0x17: 'Credit Based Connection Request',
  0x18: 'Credit Based Connection Response',
  0x19: 'Credit Based Reconfigure Request',
  0x1a: 'Credit Based Reconfigure Response',
}

/** "Connection Parameter Update Request"; unknown "Unknown L2CAP Signaling Code (0x1b)". */
export function signalingName(code: number): string {
  return SIGNALING_NAMES[code] ?? `Unknown L2CAP Signaling Code (${hex2(code)})`
}

export const COMMAND_REJECT_REASONS: Readonly<Record<number, string>> = {
  0x0000: 'Command not understood',
  0x0001: 'Signaling MTU exceeded',
  0x0002: 'Invalid CID in request',
}
export const commandRejectReasonName = named(COMMAND_REJECT_REASONS, 'Reserved')

export const CONNECTION_PARAMETER_UPDATE_RESULTS: Readonly<Record<number, string>> = {
  0x0000: 'Connection Parameters accepted',
  0x0001: 'Connection Parameters rejected',
}
export const connectionParameterUpdateResultName = named(CONNECTION_PARAMETER_UPDATE_RESULTS, 'Reserved')

/** LE Credit Based Connection Response results (Table 4.16). */
export const LE_CREDIT_BASED_CONNECTION_RESULTS: Readonly<Record<number, string>> = {
  0x0000: 'Connection successful',
  0x0002: 'Connection refused - SPSM not supported',
  0x0004: 'Connection refused - no resources available',
  0x0005: 'Connection refused - insufficient authentication',
  0x0006: 'Connection refused - insufficient authorization',
  0x0007: 'Connection refused - encryption key size too short',
  0x0008: 'Connection refused - insufficient encryption',
  0x0009: 'Connection refused - invalid Source CID',
  0x000a: 'Connection refused - Source CID already allocated',
  0x000b: 'Connection refused - unacceptable parameters',
}
export const leCreditBasedConnectionResultName = named(LE_CREDIT_BASED_CONNECTION_RESULTS, 'Reserved')

/** Credit Based (enhanced) Connection Response results (Table 4.18). */
export const CREDIT_BASED_CONNECTION_RESULTS: Readonly<Record<number, string>> = {
  0x0000: 'All connections successful',
  0x0002: 'All connections refused - SPSM not supported',
  0x0004: 'Some connections refused - insufficient resources available',
  0x0005: 'All connections refused - insufficient authentication',
  0x0006: 'All connections refused - insufficient authorization',
  0x0007: 'All connections refused - encryption key size too short',
  0x0008: 'All connections refused - insufficient encryption',
  0x0009: 'Some connections refused - invalid Source CID',
  0x000a: 'Some connections refused - Source CID already allocated',
  0x000b: 'All connections refused - unacceptable parameters',
  0x000c: 'All connections refused - invalid parameters',
  0x000d: 'All connections pending - no further information available',
  0x000e: 'All connections pending - authentication pending',
  0x000f: 'All connections pending - authorization pending',
}
export const creditBasedConnectionResultName = named(CREDIT_BASED_CONNECTION_RESULTS, 'Reserved')

/** Credit Based Reconfigure Response results (Table 4.20). */
export const CREDIT_BASED_RECONFIGURE_RESULTS: Readonly<Record<number, string>> = {
  0x0000: 'Reconfiguration successful',
  0x0001: 'Reconfiguration failed - reduction in size of MTU not allowed',
  0x0002: 'Reconfiguration failed - reduction in size of MPS not allowed for more than one channel at a time',
  0x0003: 'Reconfiguration failed - one or more Destination CIDs invalid',
  0x0004: 'Reconfiguration failed - other unacceptable parameters',
}
export const creditBasedReconfigureResultName = named(CREDIT_BASED_RECONFIGURE_RESULTS, 'Reserved')

const withNames = (format: (v: number) => string): Kind<number> => ({ ...u16, kind: 'result', format })

// ---------------------------------------------------------------------------------------------
// The commands

const sig = pdu

/** data: empty (reason 0), the actual signalling MTU u16 (reason 1), or local CID + remote CID (reason 2). */
export const CommandReject = sig(0x01, 'Command Reject', { reason: withNames(commandRejectReasonName), data: rest })
export const ConnectionRequest = sig(0x02, 'Connection Request', { psm: hex16, sourceCid: hex16 })
export const ConnectionResponse = sig(0x03, 'Connection Response', {
  destinationCid: hex16,
  sourceCid: hex16,
  result: u16,
  status: u16,
})
export const ConfigurationRequest = sig(0x04, 'Configuration Request', {
  destinationCid: hex16,
  flags: u16,
  options: rest,
})
export const ConfigurationResponse = sig(0x05, 'Configuration Response', {
  sourceCid: hex16,
  flags: u16,
  result: u16,
  options: rest,
})
export const DisconnectionRequest = sig(0x06, 'Disconnection Request', { destinationCid: hex16, sourceCid: hex16 })
export const DisconnectionResponse = sig(0x07, 'Disconnection Response', { destinationCid: hex16, sourceCid: hex16 })
export const EchoRequest = sig(0x08, 'Echo Request', { data: rest })
export const EchoResponse = sig(0x09, 'Echo Response', { data: rest })
export const InformationRequest = sig(0x0a, 'Information Request', { infoType: u16 })
export const InformationResponse = sig(0x0b, 'Information Response', { infoType: u16, result: u16, data: rest })
/** Intervals in 1.25 ms units, latency in connection events, timeout in 10 ms units (4.20). */
export const ConnectionParameterUpdateRequest = sig(0x12, 'Connection Parameter Update Request', {
  intervalMin: u16,
  intervalMax: u16,
  latency: u16,
  timeout: u16,
})
export const ConnectionParameterUpdateResponse = sig(0x13, 'Connection Parameter Update Response', {
  result: withNames(connectionParameterUpdateResultName),
})
export const LeCreditBasedConnectionRequest = sig(0x14, 'LE Credit Based Connection Request', {
  spsm: hex16,
  sourceCid: hex16,
  mtu: u16,
  mps: u16,
  initialCredits: u16,
})
export const LeCreditBasedConnectionResponse = sig(0x15, 'LE Credit Based Connection Response', {
  destinationCid: hex16,
  mtu: u16,
  mps: u16,
  initialCredits: u16,
  result: withNames(leCreditBasedConnectionResultName),
})
export const FlowControlCreditIndication = sig(0x16, 'Flow Control Credit Indication', { cid: hex16, credits: u16 })
/** Up to five Source CIDs (4.25). */
export const CreditBasedConnectionRequest = sig(0x17, 'Credit Based Connection Request', {
  spsm: hex16,
  mtu: u16,
  mps: u16,
  initialCredits: u16,
  sourceCids: untilEnd(hex16),
})
export const CreditBasedConnectionResponse = sig(0x18, 'Credit Based Connection Response', {
  mtu: u16,
  mps: u16,
  initialCredits: u16,
  result: withNames(creditBasedConnectionResultName),
  destinationCids: untilEnd(hex16),
})
export const CreditBasedReconfigureRequest = sig(0x19, 'Credit Based Reconfigure Request', {
  mtu: u16,
  mps: u16,
  destinationCids: untilEnd(hex16),
})
export const CreditBasedReconfigureResponse = sig(0x1a, 'Credit Based Reconfigure Response', {
  result: withNames(creditBasedReconfigureResultName),
})

export const SIGNALING_COMMANDS: readonly SignalingSpec[] = [
  CommandReject,
  ConnectionRequest,
  ConnectionResponse,
  ConfigurationRequest,
  ConfigurationResponse,
  DisconnectionRequest,
  DisconnectionResponse,
  EchoRequest,
  EchoResponse,
  InformationRequest,
  InformationResponse,
  ConnectionParameterUpdateRequest,
  ConnectionParameterUpdateResponse,
  LeCreditBasedConnectionRequest,
  LeCreditBasedConnectionResponse,
  FlowControlCreditIndication,
  CreditBasedConnectionRequest,
  CreditBasedConnectionResponse,
  CreditBasedReconfigureRequest,
  CreditBasedReconfigureResponse,
] as readonly PduSpec<any>[] as readonly SignalingSpec[]

/** Codes valid on the LE signalling channel (Table 4.2, "LE-U" column). */
export const LE_SIGNALING_CODES: ReadonlySet<number> = new Set([
  0x01, 0x06, 0x07, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a,
])

const BY_CODE = new Map<number, SignalingSpec>(SIGNALING_COMMANDS.map((s) => [s.code, s]))

export function signalingSpec(code: number): SignalingSpec | undefined {
  return BY_CODE.get(code)
}

// ---------------------------------------------------------------------------------------------
// Decode and encode

export interface RawSignalingCommand {
  code: number
  identifier: number
  /** The Length field (= data.length after a successful split). */
  length: number
  /** A view of the command's data. */
  data: Uint8Array
  /** Offset of the command's first octet in the C-frame. */
  offset: number
}

export interface SignalingCommand extends RawSignalingCommand {
  name: string
  /** Decoded data, for the commands declared here; absent for codes we do not declare. */
  params?: Record<string, unknown>
  spec?: SignalingSpec
}

/**
 * Split a C-frame's payload into its commands by their Length fields, without looking at their
 * data (so that a host can still answer a command whose data is bad with a Command Reject that
 * echoes its identifier). Never throws.
 */
export function splitSignaling(bytes: Uint8Array): RawSignalingCommand[] | DecodeError {
  const r = new Reader(bytes)
  const out: RawSignalingCommand[] = []
  try {
    do {
      const offset = r.offset
      const f = out.length === 0 ? '' : `commands[${out.length}].`
      const code = r.u8(`${f}code`)
      const identifier = r.u8(`${f}identifier`)
      const length = r.u16(`${f}length`)
      const data = r.bytes(length, `${f}data`)
      out.push({ code, identifier, length, data, offset })
    } while (r.remaining > 0)
    return out
  } catch (e) {
    if (e instanceof DecodeError) return e
    return new DecodeError('signaling', r.offset, String(e))
  }
}

/** Decode one command's data. Offsets in a DecodeError are relative to the whole C-frame. */
export function decodeSignalingCommand(raw: RawSignalingCommand, frame?: Uint8Array): SignalingCommand | DecodeError {
  const name = signalingName(raw.code)
  const spec = BY_CODE.get(raw.code)
  if (!spec) return { ...raw, name }
  const whole = frame ?? raw.data
  const start = frame ? raw.offset + SIGNALING_HEADER_LENGTH : 0
  const params = decodeParams(spec, whole.subarray(0, start + raw.length), start)
  if (params instanceof DecodeError) return params
  return { ...raw, name, params, spec }
}

/** Decode a C-frame's payload: one command on LE-U, one or more on ACL-U. Never throws. */
export function decodeSignaling(bytes: Uint8Array): SignalingCommand[] | DecodeError {
  const raws = splitSignaling(bytes)
  if (raws instanceof DecodeError) return raws
  const out: SignalingCommand[] = []
  for (const raw of raws) {
    const c = decodeSignalingCommand(raw, bytes)
    if (c instanceof DecodeError) return c
    out.push(c)
  }
  return out
}

/** One command from its declaration (throws RangeError on values that do not fit). */
export function encodeSignaling<S extends SignalingSpec<any>>(
  spec: S,
  identifier: number,
  params: SignalingParams<S>,
): Uint8Array {
  const w = new Writer(16)
  w.u8(spec.code, 'code').u8(identifier, 'identifier').u16(0, 'length')
  encodeParams(w, spec as SignalingSpec, params as StructValue<Fields>)
  const length = w.length - SIGNALING_HEADER_LENGTH
  if (length > 0xffff) throw new RangeError(`${spec.name}: ${length} octets of data do not fit the Length field`)
  w.patchU16(2, length)
  return w.finish()
}

/** One command from raw data (any code). */
export function encodeSignalingRaw(code: number, identifier: number, data: Uint8Array): Uint8Array {
  return new Writer(SIGNALING_HEADER_LENGTH + data.length)
    .u8(code, 'code')
    .u8(identifier, 'identifier')
    .u16(data.length, 'length')
    .bytes(data)
    .finish()
}

/** Re-encode decoded commands into one C-frame payload. */
export function encodeSignalingCommands(cmds: readonly SignalingCommand[]): Uint8Array {
  const w = new Writer(64)
  for (const c of cmds) {
    w.bytes(
      c.spec && c.params
        ? encodeSignaling(c.spec, c.identifier, c.params as SignalingParams<SignalingSpec>)
        : encodeSignalingRaw(c.code, c.identifier, c.data),
    )
  }
  return w.finish()
}

const REQUESTS: ReadonlySet<number> = new Set([0x02, 0x04, 0x06, 0x08, 0x0a, 0x0c, 0x0e, 0x10, 0x12, 0x14, 0x17, 0x19])

/** Does this code ask for a response (Table 4.2: a Request, not a Response or Indication)? */
export function isSignalingRequest(code: number): boolean {
  return REQUESTS.has(code)
}
