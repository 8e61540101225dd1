/**
 * BR/EDR HCI events outside a connection (Core v5.4 Vol 4 Part E 7.7.1-7.7.2, 7.7.7, 7.7.21-7.7.24,
 * 7.7.31, 7.7.33, 7.7.38, 7.7.40-7.7.45, 7.7.48-7.7.50, 7.7.67-7.7.74): inquiry and remote names,
 * link keys, PIN and Secure Simple Pairing, synchronization trains, Connectionless Peripheral
 * Broadcast and truncated paging. Arrays are interleaved per element (BD_ADDR[0], ...,
 * BD_ADDR[1], ...), as controllers send them.
 *
 * Declared once each with `event(code, name, params)` (hci/spec.ts); hci/events.ts gathers them
 * into `EventSpecs` and the one `HciEvent` union, and re-exports them beside the codec.
 */
import { event, struct, list, u8, u16, u24, u32, i8, status, bytes, lengthPrefixed, address } from './spec.ts'

/** 7.7.1 */
export const InquiryComplete = event(0x01, 'Inquiry Complete', { status })
/** 7.7.2 (Reserved: 2 octets, formerly the page scan period and page scan modes) */
export const InquiryResult = event(0x02, 'Inquiry Result', {
  responses: list(
    struct({ bdAddr: address, pageScanRepetitionMode: u8, reserved: bytes(2), classOfDevice: u24, clockOffset: u16 }),
  ),
})
/** 7.7.7 (Remote_Name: 248 octets, UTF-8, NUL-terminated when shorter) */
export const RemoteNameRequestComplete = event(0x07, 'Remote Name Request Complete', {
  status,
  bdAddr: address,
  remoteName: bytes(248),
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
/** 7.7.31 */
export const PageScanRepetitionModeChange = event(0x20, 'Page Scan Repetition Mode Change', {
  bdAddr: address,
  pageScanRepetitionMode: u8,
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
/** 7.7.48 */
export const UserPasskeyNotification = event(0x3b, 'User Passkey Notification', { bdAddr: address, passkey: u32 })
/** 7.7.49 */
export const KeypressNotification = event(0x3c, 'Keypress Notification', { bdAddr: address, notificationType: u8 })
/** 7.7.50 */
export const RemoteHostSupportedFeaturesNotification = event(0x3d, 'Remote Host Supported Features Notification', {
  bdAddr: address,
  hostSupportedFeatures: bytes(8),
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
