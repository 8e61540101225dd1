/**
 * The controller commands outside LE (Core v5.4 Vol 4 Part E 7.1 Link Control, 7.2 Link Policy,
 * 7.3 Controller & Baseband, 7.4 Informational parameters, 7.5 Status parameters) that hcikit
 * sends or the virtual controller answers, each declared once with `command(ogf, ocf, name, params,
 * returns?)` (hci/spec.ts) and listed in `CONTROLLER_COMMANDS`; and `CONTROLLER_COMMAND_NAMES`,
 * the names of the commands of 7.1-7.6 without a typed spec, so every standard opcode prints a
 * name. Commands answered by Command Status declare no return parameters; parameter names are the
 * spec's names in camelCase. commands.ts re-exports all of it beside the lookup and the codecs.
 */
import type { CommandSpec } from './spec.ts'
import { command, u8, u16, u24, i8, hex16, status, bytes, lengthPrefixed, address, list, rest, struct } from './spec.ts'

const LINK_CONTROL = 0x01
const LINK_POLICY = 0x02
const BASEBAND = 0x03
const INFORMATIONAL = 0x04
const STATUS_PARAMS = 0x05
const STATUS = { status }
const connectionHandle = hex16

// --- 7.1 Link Control ---------------------------------------------------------------------------

export const Disconnect = command(LINK_CONTROL, 0x0006, 'Disconnect', { connectionHandle, reason: status })
export const ReadRemoteVersionInformation = command(LINK_CONTROL, 0x001d, 'Read Remote Version Information', {
  connectionHandle,
})

// --- 7.2 Link Policy ----------------------------------------------------------------------------

export const ReadDefaultLinkPolicySettings = command(
  LINK_POLICY,
  0x000e,
  'Read Default Link Policy Settings',
  {},
  { status, defaultLinkPolicySettings: u16 },
)
export const WriteDefaultLinkPolicySettings = command(
  LINK_POLICY,
  0x000f,
  'Write Default Link Policy Settings',
  { defaultLinkPolicySettings: u16 },
  STATUS,
)

// --- 7.3 Controller & Baseband ------------------------------------------------------------------

export const SetEventMask = command(BASEBAND, 0x0001, 'Set Event Mask', { eventMask: bytes(8) }, STATUS)
export const Reset = command(BASEBAND, 0x0003, 'Reset', {}, STATUS)
/** Filter_Condition_Type and Condition depend on Filter_Type (7.3.3); kept as raw bytes. */
export const SetEventFilter = command(BASEBAND, 0x0005, 'Set Event Filter', { filterType: u8, condition: rest }, STATUS)
export const WriteLocalName = command(BASEBAND, 0x0013, 'Write Local Name', { localName: bytes(248) }, STATUS)
export const ReadLocalName = command(BASEBAND, 0x0014, 'Read Local Name', {}, { status, localName: bytes(248) })
export const ReadPageTimeout = command(BASEBAND, 0x0017, 'Read Page Timeout', {}, { status, pageTimeout: u16 })
export const WritePageTimeout = command(BASEBAND, 0x0018, 'Write Page Timeout', { pageTimeout: u16 }, STATUS)
export const ReadScanEnable = command(BASEBAND, 0x0019, 'Read Scan Enable', {}, { status, scanEnable: u8 })
export const WriteScanEnable = command(BASEBAND, 0x001a, 'Write Scan Enable', { scanEnable: u8 }, STATUS)
export const ReadClassOfDevice = command(BASEBAND, 0x0023, 'Read Class of Device', {}, { status, classOfDevice: u24 })
export const WriteClassOfDevice = command(BASEBAND, 0x0024, 'Write Class of Device', { classOfDevice: u24 }, STATUS)
export const ReadTransmitPowerLevel = command(
  BASEBAND,
  0x002d,
  'Read Transmit Power Level',
  { connectionHandle, type: u8 },
  { status, connectionHandle, txPowerLevel: i8 },
)
export const SetControllerToHostFlowControl = command(
  BASEBAND,
  0x0031,
  'Set Controller To Host Flow Control',
  { flowControlEnable: u8 },
  STATUS,
)
export const HostBufferSize = command(
  BASEBAND,
  0x0033,
  'Host Buffer Size',
  {
    hostAclDataPacketLength: u16,
    hostSynchronousDataPacketLength: u8,
    hostTotalNumAclDataPackets: u16,
    hostTotalNumSynchronousDataPackets: u16,
  },
  STATUS,
)
/** Normally answered by nothing at all (7.3.40), so no return parameters. */
export const HostNumberOfCompletedPackets = command(BASEBAND, 0x0035, 'Host Number Of Completed Packets', {
  handles: list(struct({ connectionHandle, hostNumOfCompletedPackets: u16 })),
})
export const WriteExtendedInquiryResponse = command(
  BASEBAND,
  0x0052,
  'Write Extended Inquiry Response',
  { fecRequired: u8, extendedInquiryResponse: bytes(240) },
  STATUS,
)
export const WriteSimplePairingMode = command(
  BASEBAND,
  0x0056,
  'Write Simple Pairing Mode',
  { simplePairingMode: u8 },
  STATUS,
)
export const ReadDefaultErroneousDataReporting = command(
  BASEBAND,
  0x005a,
  'Read Default Erroneous Data Reporting',
  {},
  { status, erroneousDataReporting: u8 },
)
export const WriteDefaultErroneousDataReporting = command(
  BASEBAND,
  0x005b,
  'Write Default Erroneous Data Reporting',
  { erroneousDataReporting: u8 },
  STATUS,
)
export const SetEventMaskPage2 = command(
  BASEBAND,
  0x0063,
  'Set Event Mask Page 2',
  { eventMaskPage2: bytes(8) },
  STATUS,
)
/** The second octet was Simultaneous_LE_Host; Core v5.4 calls it Unused (always 0x00). */
export const ReadLeHostSupport = command(
  BASEBAND,
  0x006c,
  'Read LE Host Support',
  {},
  { status, leSupportedHost: u8, unused: u8 },
)
export const WriteLeHostSupport = command(
  BASEBAND,
  0x006d,
  'Write LE Host Support',
  { leSupportedHost: u8, unused: u8 },
  STATUS,
)
export const ReadSecureConnectionsHostSupport = command(
  BASEBAND,
  0x0079,
  'Read Secure Connections Host Support',
  {},
  { status, secureConnectionsHostSupport: u8 },
)
export const WriteSecureConnectionsHostSupport = command(
  BASEBAND,
  0x007a,
  'Write Secure Connections Host Support',
  { secureConnectionsHostSupport: u8 },
  STATUS,
)
export const ReadAuthenticatedPayloadTimeout = command(
  BASEBAND,
  0x007b,
  'Read Authenticated Payload Timeout',
  { connectionHandle },
  { status, connectionHandle, authenticatedPayloadTimeout: u16 },
)
export const WriteAuthenticatedPayloadTimeout = command(
  BASEBAND,
  0x007c,
  'Write Authenticated Payload Timeout',
  { connectionHandle, authenticatedPayloadTimeout: u16 },
  { status, connectionHandle },
)
export const ConfigureDataPath = command(
  BASEBAND,
  0x0083,
  'Configure Data Path',
  { dataPathDirection: u8, dataPathId: u8, vendorSpecificConfig: lengthPrefixed },
  STATUS,
)
export const SetMinEncryptionKeySize = command(
  BASEBAND,
  0x0084,
  'Set Min Encryption Key Size',
  { minEncryptionKeySize: u8 },
  STATUS,
)

// --- 7.4 Informational parameters ---------------------------------------------------------------

export const ReadLocalVersionInformation = command(
  INFORMATIONAL,
  0x0001,
  'Read Local Version Information',
  {},
  {
    status,
    hciVersion: u8,
    hciSubversion: u16,
    lmpVersion: u8,
    companyIdentifier: u16,
    lmpSubversion: u16,
  },
)
export const ReadLocalSupportedCommands = command(
  INFORMATIONAL,
  0x0002,
  'Read Local Supported Commands',
  {},
  { status, supportedCommands: bytes(64) },
)
export const ReadLocalSupportedFeatures = command(
  INFORMATIONAL,
  0x0003,
  'Read Local Supported Features',
  {},
  { status, lmpFeatures: bytes(8) },
)
export const ReadLocalExtendedFeatures = command(
  INFORMATIONAL,
  0x0004,
  'Read Local Extended Features',
  { pageNumber: u8 },
  { status, pageNumber: u8, maxPageNumber: u8, extendedLmpFeatures: bytes(8) },
)
export const ReadBufferSize = command(
  INFORMATIONAL,
  0x0005,
  'Read Buffer Size',
  {},
  {
    status,
    aclDataPacketLength: u16,
    synchronousDataPacketLength: u8,
    totalNumAclDataPackets: u16,
    totalNumSynchronousDataPackets: u16,
  },
)
export const ReadBdAddr = command(INFORMATIONAL, 0x0009, 'Read BD_ADDR', {}, { status, bdAddr: address })
export const ReadLocalSimplePairingOptions = command(
  INFORMATIONAL,
  0x000c,
  'Read Local Simple Pairing Options',
  {},
  { status, simplePairingOptions: u8, maxEncryptionKeySize: u8 },
)

// --- 7.5 Status parameters ----------------------------------------------------------------------

export const ReadRssi = command(
  STATUS_PARAMS,
  0x0005,
  'Read RSSI',
  { connectionHandle },
  { status, connectionHandle, rssi: i8 },
)
export const ReadEncryptionKeySize = command(
  STATUS_PARAMS,
  0x0008,
  'Read Encryption Key Size',
  { connectionHandle },
  { status, connectionHandle, keySize: u8 },
)

// ------------------------------------------------------------------------------------------------

/** Every typed command spec above (7.1-7.5), in section order. */
export const CONTROLLER_COMMANDS: readonly CommandSpec[] = [
  Disconnect,
  ReadRemoteVersionInformation,
  ReadDefaultLinkPolicySettings,
  WriteDefaultLinkPolicySettings,
  SetEventMask,
  Reset,
  SetEventFilter,
  WriteLocalName,
  ReadLocalName,
  ReadPageTimeout,
  WritePageTimeout,
  ReadScanEnable,
  WriteScanEnable,
  ReadClassOfDevice,
  WriteClassOfDevice,
  ReadTransmitPowerLevel,
  SetControllerToHostFlowControl,
  HostBufferSize,
  HostNumberOfCompletedPackets,
  WriteExtendedInquiryResponse,
  WriteSimplePairingMode,
  ReadDefaultErroneousDataReporting,
  WriteDefaultErroneousDataReporting,
  SetEventMaskPage2,
  ReadLeHostSupport,
  WriteLeHostSupport,
  ReadSecureConnectionsHostSupport,
  WriteSecureConnectionsHostSupport,
  ReadAuthenticatedPayloadTimeout,
  WriteAuthenticatedPayloadTimeout,
  ConfigureDataPath,
  SetMinEncryptionKeySize,
  ReadLocalVersionInformation,
  ReadLocalSupportedCommands,
  ReadLocalSupportedFeatures,
  ReadLocalExtendedFeatures,
  ReadBufferSize,
  ReadBdAddr,
  ReadLocalSimplePairingOptions,
  ReadRssi,
  ReadEncryptionKeySize,
]

/**
 * Names of the commands of Core v5.4 Vol 4 Part E 7.1-7.6 (OGF 0x01-0x06) that have no typed
 * spec, by opcode. A few commands removed from the specification (AMP, Park, encryption mode)
 * are kept so that old captures still print a name.
 */
export const CONTROLLER_COMMAND_NAMES: Readonly<Record<number, string>> = {
  0x0000: 'No Operation',
  // 7.1 Link Control
  0x0401: 'Inquiry',
  0x0402: 'Inquiry Cancel',
  0x0403: 'Periodic Inquiry Mode',
  0x0404: 'Exit Periodic Inquiry Mode',
  0x0405: 'Create Connection',
  0x0408: 'Create Connection Cancel',
  0x0409: 'Accept Connection Request',
  0x040a: 'Reject Connection Request',
  0x040b: 'Link Key Request Reply',
  0x040c: 'Link Key Request Negative Reply',
  0x040d: 'PIN Code Request Reply',
  0x040e: 'PIN Code Request Negative Reply',
  0x040f: 'Change Connection Packet Type',
  0x0411: 'Authentication Requested',
  0x0413: 'Set Connection Encryption',
  0x0415: 'Change Connection Link Key',
  0x0417: 'Central Link Key',
  0x0419: 'Remote Name Request',
  0x041a: 'Remote Name Request Cancel',
  0x041b: 'Read Remote Supported Features',
  0x041c: 'Read Remote Extended Features',
  0x041f: 'Read Clock Offset',
  0x0420: 'Read LMP Handle',
  0x0428: 'Setup Synchronous Connection',
  0x0429: 'Accept Synchronous Connection Request',
  0x042a: 'Reject Synchronous Connection Request',
  0x042b: 'IO Capability Request Reply',
  0x042c: 'User Confirmation Request Reply',
  0x042d: 'User Confirmation Request Negative Reply',
  0x042e: 'User Passkey Request Reply',
  0x042f: 'User Passkey Request Negative Reply',
  0x0430: 'Remote OOB Data Request Reply',
  0x0433: 'Remote OOB Data Request Negative Reply',
  0x0434: 'IO Capability Request Negative Reply',
  0x0435: 'Create Physical Link',
  0x0436: 'Accept Physical Link',
  0x0437: 'Disconnect Physical Link',
  0x0438: 'Create Logical Link',
  0x0439: 'Accept Logical Link',
  0x043a: 'Disconnect Logical Link',
  0x043b: 'Logical Link Cancel',
  0x043c: 'Flow Spec Modify',
  0x043d: 'Enhanced Setup Synchronous Connection',
  0x043e: 'Enhanced Accept Synchronous Connection Request',
  0x043f: 'Truncated Page',
  0x0440: 'Truncated Page Cancel',
  0x0441: 'Set Connectionless Peripheral Broadcast',
  0x0442: 'Set Connectionless Peripheral Broadcast Receive',
  0x0443: 'Start Synchronization Train',
  0x0444: 'Receive Synchronization Train',
  0x0445: 'Remote OOB Extended Data Request Reply',
  // 7.2 Link Policy
  0x0801: 'Hold Mode',
  0x0803: 'Sniff Mode',
  0x0804: 'Exit Sniff Mode',
  0x0805: 'Park State',
  0x0806: 'Exit Park State',
  0x0807: 'QoS Setup',
  0x0809: 'Role Discovery',
  0x080b: 'Switch Role',
  0x080c: 'Read Link Policy Settings',
  0x080d: 'Write Link Policy Settings',
  0x0810: 'Flow Specification',
  0x0811: 'Sniff Subrating',
  // 7.3 Controller & Baseband
  0x0c08: 'Flush',
  0x0c09: 'Read PIN Type',
  0x0c0a: 'Write PIN Type',
  0x0c0b: 'Create New Unit Key',
  0x0c0d: 'Read Stored Link Key',
  0x0c11: 'Write Stored Link Key',
  0x0c12: 'Delete Stored Link Key',
  0x0c15: 'Read Connection Accept Timeout',
  0x0c16: 'Write Connection Accept Timeout',
  0x0c1b: 'Read Page Scan Activity',
  0x0c1c: 'Write Page Scan Activity',
  0x0c1d: 'Read Inquiry Scan Activity',
  0x0c1e: 'Write Inquiry Scan Activity',
  0x0c1f: 'Read Authentication Enable',
  0x0c20: 'Write Authentication Enable',
  0x0c21: 'Read Encryption Mode',
  0x0c22: 'Write Encryption Mode',
  0x0c25: 'Read Voice Setting',
  0x0c26: 'Write Voice Setting',
  0x0c27: 'Read Automatic Flush Timeout',
  0x0c28: 'Write Automatic Flush Timeout',
  0x0c29: 'Read Num Broadcast Retransmissions',
  0x0c2a: 'Write Num Broadcast Retransmissions',
  0x0c2b: 'Read Hold Mode Activity',
  0x0c2c: 'Write Hold Mode Activity',
  0x0c2e: 'Read Synchronous Flow Control Enable',
  0x0c2f: 'Write Synchronous Flow Control Enable',
  0x0c36: 'Read Link Supervision Timeout',
  0x0c37: 'Write Link Supervision Timeout',
  0x0c38: 'Read Number Of Supported IAC',
  0x0c39: 'Read Current IAC LAP',
  0x0c3a: 'Write Current IAC LAP',
  0x0c3f: 'Set AFH Host Channel Classification',
  0x0c42: 'Read Inquiry Scan Type',
  0x0c43: 'Write Inquiry Scan Type',
  0x0c44: 'Read Inquiry Mode',
  0x0c45: 'Write Inquiry Mode',
  0x0c46: 'Read Page Scan Type',
  0x0c47: 'Write Page Scan Type',
  0x0c48: 'Read AFH Channel Assessment Mode',
  0x0c49: 'Write AFH Channel Assessment Mode',
  0x0c51: 'Read Extended Inquiry Response',
  0x0c53: 'Refresh Encryption Key',
  0x0c55: 'Read Simple Pairing Mode',
  0x0c57: 'Read Local OOB Data',
  0x0c58: 'Read Inquiry Response Transmit Power Level',
  0x0c59: 'Write Inquiry Transmit Power Level',
  0x0c5f: 'Enhanced Flush',
  0x0c60: 'Send Keypress Notification',
  0x0c61: 'Read Logical Link Accept Timeout',
  0x0c62: 'Write Logical Link Accept Timeout',
  0x0c64: 'Read Location Data',
  0x0c65: 'Write Location Data',
  0x0c66: 'Read Flow Control Mode',
  0x0c67: 'Write Flow Control Mode',
  0x0c68: 'Read Enhanced Transmit Power Level',
  0x0c69: 'Read Best Effort Flush Timeout',
  0x0c6a: 'Write Best Effort Flush Timeout',
  0x0c6b: 'Short Range Mode',
  0x0c6e: 'Set MWS Channel Parameters',
  0x0c6f: 'Set External Frame Configuration',
  0x0c70: 'Set MWS Signaling',
  0x0c71: 'Set MWS Transport Layer',
  0x0c72: 'Set MWS Scan Frequency Table',
  0x0c73: 'Set MWS_PATTERN Configuration',
  0x0c74: 'Set Reserved LT_ADDR',
  0x0c75: 'Delete Reserved LT_ADDR',
  0x0c76: 'Set Connectionless Peripheral Broadcast Data',
  0x0c77: 'Read Synchronization Train Parameters',
  0x0c78: 'Write Synchronization Train Parameters',
  0x0c7d: 'Read Local OOB Extended Data',
  0x0c7e: 'Read Extended Page Timeout',
  0x0c7f: 'Write Extended Page Timeout',
  0x0c80: 'Read Extended Inquiry Length',
  0x0c81: 'Write Extended Inquiry Length',
  0x0c82: 'Set Ecosystem Base Interval',
  // 7.4 Informational parameters
  0x100a: 'Read Data Block Size',
  0x100b: 'Read Local Supported Codecs [v1]',
  0x100d: 'Read Local Supported Codecs [v2]',
  0x100e: 'Read Local Supported Codec Capabilities',
  0x100f: 'Read Local Supported Controller Delay',
  // 7.5 Status parameters
  0x1401: 'Read Failed Contact Counter',
  0x1402: 'Reset Failed Contact Counter',
  0x1403: 'Read Link Quality',
  0x1406: 'Read AFH Channel Map',
  0x1407: 'Read Clock',
  0x1409: 'Read Local AMP Info',
  0x140a: 'Read Local AMP ASSOC',
  0x140b: 'Write Remote AMP ASSOC',
  0x140c: 'Get MWS Transport Layer Configuration',
  0x140d: 'Set Triggered Clock Capture',
  // 7.6 Testing
  0x1801: 'Read Loopback Mode',
  0x1802: 'Write Loopback Mode',
  0x1803: 'Enable Implementation Under Test Mode',
  0x1804: 'Write Simple Pairing Debug Mode',
  0x1807: 'Enable AMP Receiver Reports',
  0x1808: 'AMP Test End',
  0x1809: 'AMP Test',
  0x180a: 'Write Secure Connections Test Mode',
}
