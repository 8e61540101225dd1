/**
 * The one discriminated union of HCI events, `HciEvent`, and its codec (Core v5.4 Vol 4 Part E
 * 5.4.4 event packet, 7.7 events).
 *
 * An HCI event packet is Event_Code(1), Parameter_Total_Length(1), parameters. Each event is
 * declared once with `event(code, name, params)` in the file of its family, which this file
 * gathers into `EventSpecs` and re-exports: events-controller.ts (command and data flow,
 * controller state), events-connection.ts (connections and their links), events-bredr.ts (BR/EDR
 * inquiry, pairing, broadcast), events-le.ts (LE Meta sub-events, code 0x3E, 7.7.65). Decoding,
 * encoding and printing derive from those declarations. `EVENT_NAMES` names every standard code.
 * Arrays are interleaved per element (BD_ADDR[0], ..., BD_ADDR[1], ...), as controllers send them.
 *
 * `decodeEvent` never throws: bad bytes come back as a `DecodeError` naming the field. Events
 * we have no spec for come back as `UnknownEvent` with the spec's name when the code is a
 * standard one. Bytes after the last declared parameter are kept (`trailing`), so re-encoding a
 * decoded event always reproduces the packet it came from.
 */
import type { EventSpec, EventParams } from './spec.ts'
import { formatWith, LE_META_EVENT } from './spec.ts'
import { DecodeError } from './errors.ts'
import { Reader, Writer, toHex } from './wire.ts'
import { LeEventSpecs, LE_SUBEVENT_NAMES } from './events-le.ts'
import {
  CommandComplete,
  CommandStatus,
  HardwareError,
  FlushOccurred,
  NumberOfCompletedPackets,
  LoopbackCommand,
  DataBufferOverflow,
  EnhancedFlushComplete,
  Vendor,
} from './events-controller.ts'
import {
  InquiryComplete,
  InquiryResult,
  RemoteNameRequestComplete,
  ReturnLinkKeys,
  PinCodeRequest,
  LinkKeyRequest,
  LinkKeyNotification,
  PageScanRepetitionModeChange,
  InquiryResultWithRssi,
  ExtendedInquiryResult,
  IoCapabilityRequest,
  IoCapabilityResponse,
  UserConfirmationRequest,
  UserPasskeyRequest,
  RemoteOobDataRequest,
  SimplePairingComplete,
  UserPasskeyNotification,
  KeypressNotification,
  RemoteHostSupportedFeaturesNotification,
  SynchronizationTrainComplete,
  SynchronizationTrainReceived,
  ConnectionlessPeripheralBroadcastReceive,
  ConnectionlessPeripheralBroadcastTimeout,
  TruncatedPageComplete,
  PeripheralPageResponseTimeout,
  ConnectionlessPeripheralBroadcastChannelMapChange,
  InquiryResponseNotification,
} from './events-bredr.ts'
import {
  ConnectionComplete,
  ConnectionRequest,
  DisconnectionComplete,
  AuthenticationComplete,
  EncryptionChange,
  ChangeConnectionLinkKeyComplete,
  LinkKeyTypeChanged,
  ReadRemoteSupportedFeaturesComplete,
  ReadRemoteVersionInformationComplete,
  QosSetupComplete,
  RoleChange,
  ModeChange,
  MaxSlotsChange,
  ReadClockOffsetComplete,
  ConnectionPacketTypeChanged,
  QosViolation,
  FlowSpecificationComplete,
  ReadRemoteExtendedFeaturesComplete,
  SynchronousConnectionComplete,
  SynchronousConnectionChanged,
  SniffSubrating,
  EncryptionKeyRefreshComplete,
  LinkSupervisionTimeoutChanged,
  TriggeredClockCapture,
  AuthenticatedPayloadTimeoutExpired,
  SamStatusChange,
  EncryptionChangeV2,
} from './events-connection.ts'

export * from './events-controller.ts'
export * from './events-connection.ts'
export * from './events-bredr.ts'
export * from './events-le.ts'

/**
 * Names of every event code of Core v5.4 7.7, plus a few codes removed from earlier versions
 * (0x1F, the AMP events 0x40-0x4D) so that old captures still print a name.
 */
export const EVENT_NAMES: Readonly<Record<number, string>> = {
  0x01: 'Inquiry Complete',
  0x02: 'Inquiry Result',
  0x03: 'Connection Complete',
  0x04: 'Connection Request',
  0x05: 'Disconnection Complete',
  0x06: 'Authentication Complete',
  0x07: 'Remote Name Request Complete',
  0x08: 'Encryption Change',
  0x09: 'Change Connection Link Key Complete',
  0x0a: 'Link Key Type Changed',
  0x0b: 'Read Remote Supported Features Complete',
  0x0c: 'Read Remote Version Information Complete',
  0x0d: 'QoS Setup Complete',
  0x0e: 'Command Complete',
  0x0f: 'Command Status',
  0x10: 'Hardware Error',
  0x11: 'Flush Occurred',
  0x12: 'Role Change',
  0x13: 'Number Of Completed Packets',
  0x14: 'Mode Change',
  0x15: 'Return Link Keys',
  0x16: 'PIN Code Request',
  0x17: 'Link Key Request',
  0x18: 'Link Key Notification',
  0x19: 'Loopback Command',
  0x1a: 'Data Buffer Overflow',
  0x1b: 'Max Slots Change',
  0x1c: 'Read Clock Offset Complete',
  0x1d: 'Connection Packet Type Changed',
  0x1e: 'QoS Violation',
  0x1f: 'Page Scan Mode Change', // removed from the spec
  0x20: 'Page Scan Repetition Mode Change',
  0x21: 'Flow Specification Complete',
  0x22: 'Inquiry Result with RSSI',
  0x23: 'Read Remote Extended Features Complete',
  0x2c: 'Synchronous Connection Complete',
  0x2d: 'Synchronous Connection Changed',
  0x2e: 'Sniff Subrating',
  0x2f: 'Extended Inquiry Result',
  0x30: 'Encryption Key Refresh Complete',
  0x31: 'IO Capability Request',
  0x32: 'IO Capability Response',
  0x33: 'User Confirmation Request',
  0x34: 'User Passkey Request',
  0x35: 'Remote OOB Data Request',
  0x36: 'Simple Pairing Complete',
  0x38: 'Link Supervision Timeout Changed',
  0x39: 'Enhanced Flush Complete',
  0x3b: 'User Passkey Notification',
  0x3c: 'Keypress Notification',
  0x3d: 'Remote Host Supported Features Notification',
  0x3e: 'LE Meta',
  // 0x40-0x4D: AMP events, removed in Core v5.3
  0x40: 'Physical Link Complete',
  0x41: 'Channel Selected',
  0x42: 'Disconnection Physical Link Complete',
  0x43: 'Physical Link Loss Early Warning',
  0x44: 'Physical Link Recovery',
  0x45: 'Logical Link Complete',
  0x46: 'Disconnection Logical Link Complete',
  0x47: 'Flow Spec Modify Complete',
  0x48: 'Number Of Completed Data Blocks',
  0x49: 'AMP Start Test',
  0x4a: 'AMP Test End',
  0x4b: 'AMP Receiver Report',
  0x4c: 'Short Range Mode Change Complete',
  0x4d: 'AMP Status Change',
  0x4e: 'Triggered Clock Capture',
  0x4f: 'Synchronization Train Complete',
  0x50: 'Synchronization Train Received',
  0x51: 'Connectionless Peripheral Broadcast Receive',
  0x52: 'Connectionless Peripheral Broadcast Timeout',
  0x53: 'Truncated Page Complete',
  0x54: 'Peripheral Page Response Timeout',
  0x55: 'Connectionless Peripheral Broadcast Channel Map Change',
  0x56: 'Inquiry Response Notification',
  0x57: 'Authenticated Payload Timeout Expired',
  0x58: 'SAM Status Change',
  0x59: 'Encryption Change v2',
  0xff: 'Vendor',
}

// ---------------------------------------------------------------------------------------------
// The union and its codec

/** Every typed event spec, keyed by its const name, in event-code order (LE Meta sub-events last). */
export const EventSpecs = {
  InquiryComplete,
  InquiryResult,
  ConnectionComplete,
  ConnectionRequest,
  DisconnectionComplete,
  AuthenticationComplete,
  RemoteNameRequestComplete,
  EncryptionChange,
  ChangeConnectionLinkKeyComplete,
  LinkKeyTypeChanged,
  ReadRemoteSupportedFeaturesComplete,
  ReadRemoteVersionInformationComplete,
  QosSetupComplete,
  CommandComplete,
  CommandStatus,
  HardwareError,
  FlushOccurred,
  RoleChange,
  NumberOfCompletedPackets,
  ModeChange,
  ReturnLinkKeys,
  PinCodeRequest,
  LinkKeyRequest,
  LinkKeyNotification,
  LoopbackCommand,
  DataBufferOverflow,
  MaxSlotsChange,
  ReadClockOffsetComplete,
  ConnectionPacketTypeChanged,
  QosViolation,
  PageScanRepetitionModeChange,
  FlowSpecificationComplete,
  InquiryResultWithRssi,
  ReadRemoteExtendedFeaturesComplete,
  SynchronousConnectionComplete,
  SynchronousConnectionChanged,
  SniffSubrating,
  ExtendedInquiryResult,
  EncryptionKeyRefreshComplete,
  IoCapabilityRequest,
  IoCapabilityResponse,
  UserConfirmationRequest,
  UserPasskeyRequest,
  RemoteOobDataRequest,
  SimplePairingComplete,
  LinkSupervisionTimeoutChanged,
  EnhancedFlushComplete,
  UserPasskeyNotification,
  KeypressNotification,
  RemoteHostSupportedFeaturesNotification,
  TriggeredClockCapture,
  SynchronizationTrainComplete,
  SynchronizationTrainReceived,
  ConnectionlessPeripheralBroadcastReceive,
  ConnectionlessPeripheralBroadcastTimeout,
  TruncatedPageComplete,
  PeripheralPageResponseTimeout,
  ConnectionlessPeripheralBroadcastChannelMapChange,
  InquiryResponseNotification,
  AuthenticatedPayloadTimeoutExpired,
  SamStatusChange,
  EncryptionChangeV2,
  Vendor,
  ...LeEventSpecs,
} as const

export type EventKey = keyof typeof EventSpecs

export type KnownEvent = {
  [K in EventKey]: {
    key: K
    code: number
    subevent?: number
    name: string
    params: EventParams<(typeof EventSpecs)[K]>
    /** Bytes after the last declared parameter (a newer spec version, or a vendor extension). */
    trailing?: Uint8Array
  }
}[EventKey]

/**
 * An event we have no spec for. `raw` is its parameters after the header (for LE Meta, after
 * the subevent code too); `name` is the spec's name when the code is a standard one.
 */
export interface UnknownEvent {
  key: 'Unknown'
  code: number
  subevent?: number
  name: string
  raw: Uint8Array
}

/** The one discriminated union of HCI events, on `key`. */
export type HciEvent = KnownEvent | UnknownEvent

export const EVENTS: readonly EventSpec[] = Object.values(EventSpecs)

const byCode = new Map<number, EventSpec>()
const bySubevent = new Map<number, EventSpec>()
const keyOf = new Map<EventSpec, EventKey>()
for (const [key, spec] of Object.entries(EventSpecs) as [EventKey, EventSpec][]) {
  const table = spec.subevent === undefined ? byCode : bySubevent
  const at = spec.subevent ?? spec.code
  if (table.has(at)) throw new Error(`duplicate event spec for ${spec.name}`)
  table.set(at, spec)
  keyOf.set(spec, key)
}

const hex2 = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`

/** The spec for an event code (and, for LE Meta, its subevent code), if we have one. */
export function eventSpec(code: number, subevent?: number): EventSpec | undefined {
  if (code === LE_META_EVENT) return subevent === undefined ? undefined : bySubevent.get(subevent)
  return byCode.get(code)
}

/**
 * The specification's name of an event: "Disconnection Complete", "LE Advertising Report".
 * Codes the spec does not define read "Unknown Event (0x..)" / "Unknown LE Meta Sub-event (0x..)".
 */
export function eventName(code: number, subevent?: number): string {
  if (code === LE_META_EVENT && subevent !== undefined) {
    return LE_SUBEVENT_NAMES[subevent] ?? `Unknown LE Meta Sub-event (${hex2(subevent)})`
  }
  return EVENT_NAMES[code] ?? `Unknown Event (${hex2(code)})`
}

/**
 * packet = event code(1) + parameter total length(1) + parameters (for LE Meta, the first
 * parameter byte is the subevent code). No H4 byte. Never throws. Parameter length that
 * disagrees with the bytes present -> DecodeError naming 'parameterTotalLength'. Parameters that
 * do not decode -> DecodeError naming the field (offsets count from the start of `packet`).
 * Unknown event -> UnknownEvent. Byte ranges in the result are views of `packet`.
 */
export function decodeEvent(packet: Uint8Array): HciEvent | DecodeError {
  if (packet.length < 1) return new DecodeError('eventCode', 0, 'needs 1 byte, only 0 left')
  if (packet.length < 2) return new DecodeError('parameterTotalLength', 1, 'needs 1 byte, only 0 left')
  const code = packet[0]!
  const length = packet[1]!
  if (packet.length - 2 !== length) {
    return new DecodeError(
      'parameterTotalLength',
      1,
      `says ${length} byte${length === 1 ? '' : 's'} of parameters, ${packet.length - 2} present`,
    )
  }
  let start = 2
  let subevent: number | undefined
  if (code === LE_META_EVENT) {
    if (length < 1) return new DecodeError('subeventCode', 2, 'needs 1 byte, only 0 left')
    subevent = packet[2]!
    start = 3
  }
  const spec = eventSpec(code, subevent)
  if (!spec) {
    const unknown: UnknownEvent = { key: 'Unknown', code, name: eventName(code, subevent), raw: packet.subarray(start) }
    if (subevent !== undefined) unknown.subevent = subevent
    return unknown
  }
  const r = new Reader(packet, start)
  let params: Record<string, unknown>
  try {
    params = spec.params.decode(r, '', {}) as Record<string, unknown>
  } catch (e) {
    if (e instanceof DecodeError) return e
    return new DecodeError('parameters', r.offset, e instanceof Error ? e.message : String(e))
  }
  const out: Record<string, unknown> = { key: keyOf.get(spec)!, code }
  if (subevent !== undefined) out['subevent'] = subevent
  out['name'] = spec.name
  out['params'] = params
  if (r.remaining > 0) out['trailing'] = r.rest()
  return out as KnownEvent
}

/**
 * Build a full event packet (code, length, [subevent], params, trailing). Typed by spec.
 * Throws RangeError when a value does not fit its field or the parameters exceed 255 bytes
 * (a programming error, not wire input).
 */
export function encodeEvent<E extends EventSpec>(spec: E, params: EventParams<E>, trailing?: Uint8Array): Uint8Array {
  const w = new Writer(32)
  w.u8(spec.code, 'eventCode')
  w.u8(0, 'parameterTotalLength')
  if (spec.subevent !== undefined) w.u8(spec.subevent, 'subeventCode')
  spec.params.encode(w, params as Record<string, unknown>, '', params as Record<string, unknown>)
  if (trailing) w.bytes(trailing)
  return finish(w, spec.name)
}

function finish(w: Writer, name: string): Uint8Array {
  const length = w.length - 2
  if (length > 255) throw new RangeError(`${name}: ${length} bytes of parameters do not fit an event (255 at most)`)
  w.patchU8(1, length)
  return w.finish()
}

/** Re-encode a decoded event to its bytes (used by round-trip tests and replay). */
export function reencodeEvent(e: HciEvent): Uint8Array {
  if (e.key === 'Unknown') {
    const w = new Writer(e.raw.length + 3)
    w.u8(e.code, 'eventCode')
    w.u8(0, 'parameterTotalLength')
    if (e.subevent !== undefined) w.u8(e.subevent, 'subeventCode')
    w.bytes(e.raw)
    return finish(w, e.name)
  }
  const spec: EventSpec = EventSpecs[e.key]
  return encodeEvent(spec, e.params as EventParams<EventSpec>, e.trailing)
}

/** One line for logs: `LE Advertising Report reports=[...]`. */
export function formatEvent(e: HciEvent): string {
  if (e.key === 'Unknown') return `${e.name} raw=${toHex(e.raw)}`
  const spec: EventSpec = EventSpecs[e.key]
  const body = formatWith(spec.params, e.params as Record<string, unknown>)
  const tail = e.trailing ? ` trailing=${toHex(e.trailing)}` : ''
  return body ? `${e.name} ${body}${tail}` : `${e.name}${tail}`
}
