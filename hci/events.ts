/**
 * HCI event specs and the one discriminated union `HciEvent` (Core v5.4 Vol 4 Part E 5.4.4, 7.7).
 *
 * An HCI event packet is Event_Code(1), Parameter_Total_Length(1), parameters. Each event is
 * declared once with `event(code, name, params)`; decoding, encoding and printing derive from
 * that. LE Meta sub-events (code 0x3E, 7.7.65) live in events-le.ts and are re-exported here.
 * Arrays are interleaved per element (BD_ADDR[0], ..., BD_ADDR[1], ...), as controllers send them.
 *
 * `decodeEvent` never throws: bad bytes come back as a `DecodeError` naming the field. Events
 * we have no spec for come back as `UnknownEvent` with the spec's name when the code is a
 * standard one. Bytes after the last declared parameter are kept (`trailing`), so re-encoding a
 * decoded event always reproduces the packet it came from.
 */
import type { EventSpec, EventParams } from './spec.ts'
import {
  event,
  struct,
  list,
  u8,
  u16,
  u24,
  u32,
  i8,
  hex16,
  status,
  bytes,
  lengthPrefixed,
  rest,
  address,
  formatWith,
  LE_META_EVENT,
} from './spec.ts'
import { DecodeError } from './errors.ts'
import { Reader, Writer, toHex } from './wire.ts'
import { LeEventSpecs, LE_SUBEVENT_NAMES } from './events-le.ts'

export * from './events-le.ts'

/** Vendor-specific debug event code (Core v5.4 Vol 4 Part E 5.4.4). */
export const VENDOR_EVENT = 0xff

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
// Event specs, in event-code order (section numbers are of Core v5.4 Vol 4 Part E)

/** 7.7.1 */
export const InquiryComplete = event(0x01, 'Inquiry Complete', { status })
/** 7.7.2 (Reserved: 2 octets, formerly the page scan period and page scan modes) */
export const InquiryResult = event(0x02, 'Inquiry Result', {
  responses: list(
    struct({ bdAddr: address, pageScanRepetitionMode: u8, reserved: bytes(2), classOfDevice: u24, clockOffset: u16 }),
  ),
})
/** 7.7.3 */
export const ConnectionComplete = event(0x03, 'Connection Complete', {
  status,
  connectionHandle: hex16,
  bdAddr: address,
  linkType: u8,
  encryptionEnabled: u8,
})
/** 7.7.4 */
export const ConnectionRequest = event(0x04, 'Connection Request', {
  bdAddr: address,
  classOfDevice: u24,
  linkType: u8,
})
/** 7.7.5 */
export const DisconnectionComplete = event(0x05, 'Disconnection Complete', {
  status,
  connectionHandle: hex16,
  reason: status,
})
/** 7.7.6 */
export const AuthenticationComplete = event(0x06, 'Authentication Complete', { status, connectionHandle: hex16 })
/** 7.7.7 (Remote_Name: 248 octets, UTF-8, NUL-terminated when shorter) */
export const RemoteNameRequestComplete = event(0x07, 'Remote Name Request Complete', {
  status,
  bdAddr: address,
  remoteName: bytes(248),
})
/** 7.7.8 [v1] */
export const EncryptionChange = event(0x08, 'Encryption Change', {
  status,
  connectionHandle: hex16,
  encryptionEnabled: u8,
})
/** 7.7.9 */
export const ChangeConnectionLinkKeyComplete = event(0x09, 'Change Connection Link Key Complete', {
  status,
  connectionHandle: hex16,
})
/** 7.7.10 */
export const LinkKeyTypeChanged = event(0x0a, 'Link Key Type Changed', { status, connectionHandle: hex16, keyFlag: u8 })
/** 7.7.11 */
export const ReadRemoteSupportedFeaturesComplete = event(0x0b, 'Read Remote Supported Features Complete', {
  status,
  connectionHandle: hex16,
  lmpFeatures: bytes(8),
})
/** 7.7.12 */
export const ReadRemoteVersionInformationComplete = event(0x0c, 'Read Remote Version Information Complete', {
  status,
  connectionHandle: hex16,
  version: u8,
  companyIdentifier: u16,
  subversion: u16,
})
/** 7.7.13 */
export const QosSetupComplete = event(0x0d, 'QoS Setup Complete', {
  status,
  connectionHandle: hex16,
  unused: u8,
  serviceType: u8,
  tokenRate: u32,
  peakBandwidth: u32,
  latency: u32,
  delayVariation: u32,
})
/** 7.7.14 (the return parameters are decoded by the command's spec, chosen by `opcode`) */
export const CommandComplete = event(0x0e, 'Command Complete', {
  numHciCommandPackets: u8,
  opcode: hex16,
  returnParameters: rest,
})
/** 7.7.15 */
export const CommandStatus = event(0x0f, 'Command Status', { status, numHciCommandPackets: u8, opcode: hex16 })
/** 7.7.16 */
export const HardwareError = event(0x10, 'Hardware Error', { hardwareCode: u8 })
/** 7.7.17 */
export const FlushOccurred = event(0x11, 'Flush Occurred', { handle: hex16 })
/** 7.7.18 */
export const RoleChange = event(0x12, 'Role Change', { status, bdAddr: address, newRole: u8 })
/** 7.7.19 (Num_Handles, then Connection_Handle and Num_Completed_Packets per handle) */
export const NumberOfCompletedPackets = event(0x13, 'Number Of Completed Packets', {
  handles: list(struct({ connectionHandle: hex16, numCompletedPackets: u16 })),
})
/** 7.7.20 */
export const ModeChange = event(0x14, 'Mode Change', {
  status,
  connectionHandle: hex16,
  currentMode: u8,
  interval: u16,
})
/** 7.7.21 */
export const ReturnLinkKeys = event(0x15, 'Return Link Keys', {
  keys: list(struct({ bdAddr: address, linkKey: bytes(16) })),
})
/** 7.7.22 */
export const PinCodeRequest = event(0x16, 'PIN Code Request', { bdAddr: address })
/** 7.7.23 */
export const LinkKeyRequest = event(0x17, 'Link Key Request', { bdAddr: address })
/** 7.7.24 */
export const LinkKeyNotification = event(0x18, 'Link Key Notification', {
  bdAddr: address,
  linkKey: bytes(16),
  keyType: u8,
})
/** 7.7.25 (the looped-back command packet, without its H4 byte) */
export const LoopbackCommand = event(0x19, 'Loopback Command', { hciCommandPacket: rest })
/** 7.7.26 */
export const DataBufferOverflow = event(0x1a, 'Data Buffer Overflow', { linkType: u8 })
/** 7.7.27 */
export const MaxSlotsChange = event(0x1b, 'Max Slots Change', { connectionHandle: hex16, lmpMaxSlots: u8 })
/** 7.7.28 */
export const ReadClockOffsetComplete = event(0x1c, 'Read Clock Offset Complete', {
  status,
  connectionHandle: hex16,
  clockOffset: u16,
})
/** 7.7.29 */
export const ConnectionPacketTypeChanged = event(0x1d, 'Connection Packet Type Changed', {
  status,
  connectionHandle: hex16,
  packetType: u16,
})
/** 7.7.30 */
export const QosViolation = event(0x1e, 'QoS Violation', { handle: hex16 })
/** 7.7.31 */
export const PageScanRepetitionModeChange = event(0x20, 'Page Scan Repetition Mode Change', {
  bdAddr: address,
  pageScanRepetitionMode: u8,
})
/** 7.7.32 */
export const FlowSpecificationComplete = event(0x21, 'Flow Specification Complete', {
  status,
  connectionHandle: hex16,
  unused: u8,
  flowDirection: u8,
  serviceType: u8,
  tokenRate: u32,
  tokenBucketSize: u32,
  peakBandwidth: u32,
  accessLatency: u32,
})
/** 7.7.33 */
export const InquiryResultWithRssi = event(0x22, 'Inquiry Result with RSSI', {
  responses: list(
    struct({
      bdAddr: address,
      pageScanRepetitionMode: u8,
      reserved: u8,
      classOfDevice: u24,
      clockOffset: u16,
      rssi: i8,
    }),
  ),
})
/** 7.7.34 */
export const ReadRemoteExtendedFeaturesComplete = event(0x23, 'Read Remote Extended Features Complete', {
  status,
  connectionHandle: hex16,
  pageNumber: u8,
  maxPageNumber: u8,
  extendedLmpFeatures: bytes(8),
})
/** 7.7.35 */
export const SynchronousConnectionComplete = event(0x2c, 'Synchronous Connection Complete', {
  status,
  connectionHandle: hex16,
  bdAddr: address,
  linkType: u8,
  transmissionInterval: u8,
  retransmissionWindow: u8,
  rxPacketLength: u16,
  txPacketLength: u16,
  airMode: u8,
})
/** 7.7.36 */
export const SynchronousConnectionChanged = event(0x2d, 'Synchronous Connection Changed', {
  status,
  connectionHandle: hex16,
  transmissionInterval: u8,
  retransmissionWindow: u8,
  rxPacketLength: u16,
  txPacketLength: u16,
})
/** 7.7.37 */
export const SniffSubrating = event(0x2e, 'Sniff Subrating', {
  status,
  connectionHandle: hex16,
  maxTxLatency: u16,
  maxRxLatency: u16,
  minRemoteTimeout: u16,
  minLocalTimeout: u16,
})
/** 7.7.38 (Num_Responses is always 1 here) */
export const ExtendedInquiryResult = event(0x2f, 'Extended Inquiry Result', {
  numResponses: u8,
  bdAddr: address,
  pageScanRepetitionMode: u8,
  reserved: u8,
  classOfDevice: u24,
  clockOffset: u16,
  rssi: i8,
  extendedInquiryResponse: bytes(240),
})
/** 7.7.39 */
export const EncryptionKeyRefreshComplete = event(0x30, 'Encryption Key Refresh Complete', {
  status,
  connectionHandle: hex16,
})
/** 7.7.40 */
export const IoCapabilityRequest = event(0x31, 'IO Capability Request', { bdAddr: address })
/** 7.7.41 */
export const IoCapabilityResponse = event(0x32, 'IO Capability Response', {
  bdAddr: address,
  ioCapability: u8,
  oobDataPresent: u8,
  authenticationRequirements: u8,
})
/** 7.7.42 */
export const UserConfirmationRequest = event(0x33, 'User Confirmation Request', { bdAddr: address, numericValue: u32 })
/** 7.7.43 */
export const UserPasskeyRequest = event(0x34, 'User Passkey Request', { bdAddr: address })
/** 7.7.44 */
export const RemoteOobDataRequest = event(0x35, 'Remote OOB Data Request', { bdAddr: address })
/** 7.7.45 */
export const SimplePairingComplete = event(0x36, 'Simple Pairing Complete', { status, bdAddr: address })
/** 7.7.46 */
export const LinkSupervisionTimeoutChanged = event(0x38, 'Link Supervision Timeout Changed', {
  connectionHandle: hex16,
  linkSupervisionTimeout: u16,
})
/** 7.7.47 */
export const EnhancedFlushComplete = event(0x39, 'Enhanced Flush Complete', { handle: hex16 })
/** 7.7.48 */
export const UserPasskeyNotification = event(0x3b, 'User Passkey Notification', { bdAddr: address, passkey: u32 })
/** 7.7.49 */
export const KeypressNotification = event(0x3c, 'Keypress Notification', { bdAddr: address, notificationType: u8 })
/** 7.7.50 */
export const RemoteHostSupportedFeaturesNotification = event(0x3d, 'Remote Host Supported Features Notification', {
  bdAddr: address,
  hostSupportedFeatures: bytes(8),
})
/** 7.7.66 */
export const TriggeredClockCapture = event(0x4e, 'Triggered Clock Capture', {
  connectionHandle: hex16,
  whichClock: u8,
  clock: u32,
  slotOffset: u16,
})
/** 7.7.67 */
export const SynchronizationTrainComplete = event(0x4f, 'Synchronization Train Complete', { status })
/** 7.7.68 */
export const SynchronizationTrainReceived = event(0x50, 'Synchronization Train Received', {
  status,
  bdAddr: address,
  clockOffset: u32,
  afhChannelMap: bytes(10),
  ltAddr: u8,
  nextBroadcastInstant: u32,
  connectionlessPeripheralBroadcastInterval: u16,
  serviceData: u8,
})
/** 7.7.69 */
export const ConnectionlessPeripheralBroadcastReceive = event(0x51, 'Connectionless Peripheral Broadcast Receive', {
  bdAddr: address,
  ltAddr: u8,
  clk: u32,
  offset: u32,
  receiveStatus: u8,
  fragment: u8,
  data: lengthPrefixed,
})
/** 7.7.70 */
export const ConnectionlessPeripheralBroadcastTimeout = event(0x52, 'Connectionless Peripheral Broadcast Timeout', {
  bdAddr: address,
  ltAddr: u8,
})
/** 7.7.71 */
export const TruncatedPageComplete = event(0x53, 'Truncated Page Complete', { status, bdAddr: address })
/** 7.7.72 */
export const PeripheralPageResponseTimeout = event(0x54, 'Peripheral Page Response Timeout', {})
/** 7.7.73 */
export const ConnectionlessPeripheralBroadcastChannelMapChange = event(
  0x55,
  'Connectionless Peripheral Broadcast Channel Map Change',
  { channelMap: bytes(10) },
)
/** 7.7.74 */
export const InquiryResponseNotification = event(0x56, 'Inquiry Response Notification', { lap: u24, rssi: i8 })
/** 7.7.75 */
export const AuthenticatedPayloadTimeoutExpired = event(0x57, 'Authenticated Payload Timeout Expired', {
  connectionHandle: hex16,
})
/** 7.7.76 */
export const SamStatusChange = event(0x58, 'SAM Status Change', {
  connectionHandle: hex16,
  localSamIndex: u8,
  localSamTxAvailability: u8,
  localSamRxAvailability: u8,
  remoteSamIndex: u8,
  remoteSamTxAvailability: u8,
  remoteSamRxAvailability: u8,
})
/** 7.7.8 [v2] */
export const EncryptionChangeV2 = event(0x59, 'Encryption Change v2', {
  status,
  connectionHandle: hex16,
  encryptionEnabled: u8,
  encryptionKeySize: u8,
})
/** Vendor-specific debug event: the parameters are the vendor's own. */
export const Vendor = event(VENDOR_EVENT, 'Vendor', { data: rest })

// ---------------------------------------------------------------------------------------------
// The union and its codec

/** Every typed event spec, keyed by its const name. */
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
