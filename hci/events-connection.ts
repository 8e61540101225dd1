/**
 * HCI events about connections and their links (Core v5.4 Vol 4 Part E 7.7.3-7.7.6, 7.7.8-7.7.13,
 * 7.7.18, 7.7.20, 7.7.27-7.7.30, 7.7.32, 7.7.34-7.7.37, 7.7.39, 7.7.46, 7.7.66, 7.7.75-7.7.76):
 * set-up and disconnection, authentication and encryption, remote features and version, role,
 * mode and link parameter changes, synchronous connections, QoS and flow specifications.
 *
 * Declared once each with `event(code, name, params)` (hci/spec.ts); hci/events.ts gathers them
 * into `EventSpecs` and the one `HciEvent` union, and re-exports them beside the codec.
 */
import { event, u8, u16, u24, u32, hex16, status, bytes, address } from './spec.ts'

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
/** 7.7.18 */
export const RoleChange = event(0x12, 'Role Change', { status, bdAddr: address, newRole: u8 })
/** 7.7.20 */
export const ModeChange = event(0x14, 'Mode Change', {
  status,
  connectionHandle: hex16,
  currentMode: u8,
  interval: u16,
})
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
/** 7.7.39 */
export const EncryptionKeyRefreshComplete = event(0x30, 'Encryption Key Refresh Complete', {
  status,
  connectionHandle: hex16,
})
/** 7.7.46 */
export const LinkSupervisionTimeoutChanged = event(0x38, 'Link Supervision Timeout Changed', {
  connectionHandle: hex16,
  linkSupervisionTimeout: u16,
})
/** 7.7.66 */
export const TriggeredClockCapture = event(0x4e, 'Triggered Clock Capture', {
  connectionHandle: hex16,
  whichClock: u8,
  clock: u32,
  slotOffset: u16,
})
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
