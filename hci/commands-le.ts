/**
 * LE Controller commands (Core v5.4 Vol 4 Part E 7.8), each declared once with its parameters
 * and, for commands the controller answers with Command Complete, its return parameters.
 * Commands answered by Command Status (their result arrives as an LE Meta sub-event) declare no
 * return parameters. Layouts follow the section of each command; re-exported by commands.ts,
 * which holds the lookup and codec functions.
 *
 * Names: `name` is the spec's command name (section title, v-suffix as printed in the spec).
 * Parameter names are the spec's names in camelCase with the redundant leading `LE_` dropped
 * (LE_Scan_Interval -> scanInterval, LE_Event_Mask -> eventMask), and the on/off parameter of a
 * "Set ... Enable" command is `enable`. Per-PHY blocks (Set Extended Scan Parameters, Extended
 * Create Connection) are `perPhy`, one element per bit set in the PHY bitmask, in bit order.
 *
 * Opcodes of 7.8 commands without a typed spec are named in LE_COMMAND_NAMES, so every LE opcode
 * of Core v5.4 prints a name (plus the few Core 6.0 ones seen in real captures).
 */
import {
  command,
  u8,
  u16,
  u24,
  i8,
  i16,
  hex16,
  status,
  bytes,
  lengthPrefixed,
  address,
  list,
  perBit,
  struct,
} from './spec.ts'

const LE = 0x08
const STATUS = { status }

const connectionHandle = hex16
const withHandle = { status, connectionHandle }

// --- 7.8.1-7.8.3 Controller setup -------------------------------------------------------------

export const LeSetEventMask = command(LE, 0x0001, 'LE Set Event Mask', { eventMask: bytes(8) }, STATUS)
export const LeReadBufferSize = command(
  LE,
  0x0002,
  'LE Read Buffer Size [v1]',
  {},
  {
    status,
    aclDataPacketLength: u16,
    totalNumLeAclDataPackets: u8,
  },
)
export const LeReadBufferSizeV2 = command(
  LE,
  0x0060,
  'LE Read Buffer Size [v2]',
  {},
  {
    status,
    aclDataPacketLength: u16,
    totalNumLeAclDataPackets: u8,
    isoDataPacketLength: u16,
    totalNumIsoDataPackets: u8,
  },
)
export const LeReadLocalSupportedFeatures = command(
  LE,
  0x0003,
  'LE Read Local Supported Features',
  {},
  {
    status,
    features: bytes(8),
  },
)
export const LeReadSupportedStates = command(LE, 0x001c, 'LE Read Supported States', {}, { status, states: bytes(8) })
export const LeSetRandomAddress = command(LE, 0x0005, 'LE Set Random Address', { randomAddress: address }, STATUS)
export const LeSetHostFeature = command(LE, 0x0074, 'LE Set Host Feature', { bitNumber: u8, bitValue: u8 }, STATUS)
export const LeReadTransmitPower = command(
  LE,
  0x004b,
  'LE Read Transmit Power',
  {},
  {
    status,
    minTxPower: i8,
    maxTxPower: i8,
  },
)
export const LeReadRfPathCompensation = command(
  LE,
  0x004c,
  'LE Read RF Path Compensation',
  {},
  {
    status,
    rfTxPathCompensationValue: i16,
    rfRxPathCompensationValue: i16,
  },
)
export const LeWriteRfPathCompensation = command(
  LE,
  0x004d,
  'LE Write RF Path Compensation',
  {
    rfTxPathCompensationValue: i16,
    rfRxPathCompensationValue: i16,
  },
  STATUS,
)

// --- 7.8.5-7.8.9 Legacy advertising -----------------------------------------------------------

export const LeSetAdvertisingParameters = command(
  LE,
  0x0006,
  'LE Set Advertising Parameters',
  {
    advertisingIntervalMin: u16,
    advertisingIntervalMax: u16,
    advertisingType: u8,
    ownAddressType: u8,
    peerAddressType: u8,
    peerAddress: address,
    advertisingChannelMap: u8,
    advertisingFilterPolicy: u8,
  },
  STATUS,
)
export const LeReadAdvertisingPhysicalChannelTxPower = command(
  LE,
  0x0007,
  'LE Read Advertising Physical Channel Tx Power',
  {},
  { status, txPowerLevel: i8 },
)
/** Advertising_Data is always 31 octets on the wire; the first advertisingDataLength are significant. */
export const LeSetAdvertisingData = command(
  LE,
  0x0008,
  'LE Set Advertising Data',
  {
    advertisingDataLength: u8,
    advertisingData: bytes(31),
  },
  STATUS,
)
export const LeSetScanResponseData = command(
  LE,
  0x0009,
  'LE Set Scan Response Data',
  {
    scanResponseDataLength: u8,
    scanResponseData: bytes(31),
  },
  STATUS,
)
export const LeSetAdvertisingEnable = command(LE, 0x000a, 'LE Set Advertising Enable', { enable: u8 }, STATUS)

// --- 7.8.52-7.8.60 Extended advertising -------------------------------------------------------

export const LeSetAdvertisingSetRandomAddress = command(
  LE,
  0x0035,
  'LE Set Advertising Set Random Address',
  {
    advertisingHandle: u8,
    randomAddress: address,
  },
  STATUS,
)
const extendedAdvertisingParameters = {
  advertisingHandle: u8,
  advertisingEventProperties: u16,
  primaryAdvertisingIntervalMin: u24,
  primaryAdvertisingIntervalMax: u24,
  primaryAdvertisingChannelMap: u8,
  ownAddressType: u8,
  peerAddressType: u8,
  peerAddress: address,
  advertisingFilterPolicy: u8,
  advertisingTxPower: i8,
  primaryAdvertisingPhy: u8,
  secondaryAdvertisingMaxSkip: u8,
  secondaryAdvertisingPhy: u8,
  advertisingSid: u8,
  scanRequestNotificationEnable: u8,
}
export const LeSetExtendedAdvertisingParameters = command(
  LE,
  0x0036,
  'LE Set Extended Advertising Parameters [v1]',
  extendedAdvertisingParameters,
  { status, selectedTxPower: i8 },
)
export const LeSetExtendedAdvertisingParametersV2 = command(
  LE,
  0x007f,
  'LE Set Extended Advertising Parameters [v2]',
  {
    ...extendedAdvertisingParameters,
    primaryAdvertisingPhyOptions: u8,
    secondaryAdvertisingPhyOptions: u8,
  },
  { status, selectedTxPower: i8 },
)
export const LeSetExtendedAdvertisingData = command(
  LE,
  0x0037,
  'LE Set Extended Advertising Data',
  {
    advertisingHandle: u8,
    operation: u8,
    fragmentPreference: u8,
    advertisingData: lengthPrefixed,
  },
  STATUS,
)
export const LeSetExtendedScanResponseData = command(
  LE,
  0x0038,
  'LE Set Extended Scan Response Data',
  {
    advertisingHandle: u8,
    operation: u8,
    fragmentPreference: u8,
    scanResponseData: lengthPrefixed,
  },
  STATUS,
)
export const LeSetExtendedAdvertisingEnable = command(
  LE,
  0x0039,
  'LE Set Extended Advertising Enable',
  {
    enable: u8,
    sets: list(struct({ advertisingHandle: u8, duration: u16, maxExtendedAdvertisingEvents: u8 })),
  },
  STATUS,
)
export const LeReadMaximumAdvertisingDataLength = command(
  LE,
  0x003a,
  'LE Read Maximum Advertising Data Length',
  {},
  { status, maxAdvertisingDataLength: u16 },
)
export const LeReadNumberOfSupportedAdvertisingSets = command(
  LE,
  0x003b,
  'LE Read Number of Supported Advertising Sets',
  {},
  { status, numSupportedAdvertisingSets: u8 },
)
export const LeRemoveAdvertisingSet = command(
  LE,
  0x003c,
  'LE Remove Advertising Set',
  { advertisingHandle: u8 },
  STATUS,
)
export const LeClearAdvertisingSets = command(LE, 0x003d, 'LE Clear Advertising Sets', {}, STATUS)
export const LeSetDataRelatedAddressChanges = command(
  LE,
  0x007c,
  'LE Set Data Related Address Changes',
  {
    advertisingHandle: u8,
    changeReasons: u8,
  },
  STATUS,
)

// --- 7.8.61-7.8.63, 7.8.67-7.8.73 Periodic advertising -----------------------------------------

const periodicAdvertisingParameters = {
  advertisingHandle: u8,
  periodicAdvertisingIntervalMin: u16,
  periodicAdvertisingIntervalMax: u16,
  periodicAdvertisingProperties: u16,
}
export const LeSetPeriodicAdvertisingParameters = command(
  LE,
  0x003e,
  'LE Set Periodic Advertising Parameters [v1]',
  periodicAdvertisingParameters,
  STATUS,
)
export const LeSetPeriodicAdvertisingParametersV2 = command(
  LE,
  0x0086,
  'LE Set Periodic Advertising Parameters [v2]',
  {
    ...periodicAdvertisingParameters,
    numSubevents: u8,
    subeventInterval: u8,
    responseSlotDelay: u8,
    responseSlotSpacing: u8,
    numResponseSlots: u8,
  },
  { status, advertisingHandle: u8 },
)
export const LeSetPeriodicAdvertisingData = command(
  LE,
  0x003f,
  'LE Set Periodic Advertising Data',
  {
    advertisingHandle: u8,
    operation: u8,
    advertisingData: lengthPrefixed,
  },
  STATUS,
)
export const LeSetPeriodicAdvertisingEnable = command(
  LE,
  0x0040,
  'LE Set Periodic Advertising Enable',
  {
    enable: u8,
    advertisingHandle: u8,
  },
  STATUS,
)
export const LePeriodicAdvertisingCreateSync = command(LE, 0x0044, 'LE Periodic Advertising Create Sync', {
  options: u8,
  advertisingSid: u8,
  advertiserAddressType: u8,
  advertiserAddress: address,
  skip: u16,
  syncTimeout: u16,
  syncCteType: u8,
})
export const LePeriodicAdvertisingCreateSyncCancel = command(
  LE,
  0x0045,
  'LE Periodic Advertising Create Sync Cancel',
  {},
  STATUS,
)
export const LePeriodicAdvertisingTerminateSync = command(
  LE,
  0x0046,
  'LE Periodic Advertising Terminate Sync',
  { syncHandle: hex16 },
  STATUS,
)
const periodicAdvertiser = { advertiserAddressType: u8, advertiserAddress: address, advertisingSid: u8 }
export const LeAddDeviceToPeriodicAdvertiserList = command(
  LE,
  0x0047,
  'LE Add Device To Periodic Advertiser List',
  periodicAdvertiser,
  STATUS,
)
export const LeRemoveDeviceFromPeriodicAdvertiserList = command(
  LE,
  0x0048,
  'LE Remove Device From Periodic Advertiser List',
  periodicAdvertiser,
  STATUS,
)
export const LeClearPeriodicAdvertiserList = command(LE, 0x0049, 'LE Clear Periodic Advertiser List', {}, STATUS)
export const LeReadPeriodicAdvertiserListSize = command(
  LE,
  0x004a,
  'LE Read Periodic Advertiser List Size',
  {},
  { status, periodicAdvertiserListSize: u8 },
)
export const LeSetPeriodicAdvertisingReceiveEnable = command(
  LE,
  0x0059,
  'LE Set Periodic Advertising Receive Enable',
  { syncHandle: hex16, enable: u8 },
  STATUS,
)

// --- 7.8.10-7.8.11, 7.8.64-7.8.65 Scanning ----------------------------------------------------

export const LeSetScanParameters = command(
  LE,
  0x000b,
  'LE Set Scan Parameters',
  {
    scanType: u8,
    scanInterval: u16,
    scanWindow: u16,
    ownAddressType: u8,
    scanningFilterPolicy: u8,
  },
  STATUS,
)
export const LeSetScanEnable = command(LE, 0x000c, 'LE Set Scan Enable', { enable: u8, filterDuplicates: u8 }, STATUS)
export const LeSetExtendedScanParameters = command(
  LE,
  0x0041,
  'LE Set Extended Scan Parameters',
  {
    ownAddressType: u8,
    scanningFilterPolicy: u8,
    scanningPhys: u8,
    perPhy: perBit(struct({ scanType: u8, scanInterval: u16, scanWindow: u16 }), 'scanningPhys'),
  },
  STATUS,
)
export const LeSetExtendedScanEnable = command(
  LE,
  0x0042,
  'LE Set Extended Scan Enable',
  {
    enable: u8,
    filterDuplicates: u8,
    duration: u16,
    period: u16,
  },
  STATUS,
)

// --- 7.8.12-7.8.18, 7.8.66 Connections and the Filter Accept List ------------------------------

const connectionParameters = {
  connectionIntervalMin: u16,
  connectionIntervalMax: u16,
  maxLatency: u16,
  supervisionTimeout: u16,
  minCeLength: u16,
  maxCeLength: u16,
}
export const LeCreateConnection = command(LE, 0x000d, 'LE Create Connection', {
  scanInterval: u16,
  scanWindow: u16,
  initiatorFilterPolicy: u8,
  peerAddressType: u8,
  peerAddress: address,
  ownAddressType: u8,
  ...connectionParameters,
})
const initiatingPhy = struct({ scanInterval: u16, scanWindow: u16, ...connectionParameters })
const extendedCreateConnection = {
  initiatorFilterPolicy: u8,
  ownAddressType: u8,
  peerAddressType: u8,
  peerAddress: address,
  initiatingPhys: u8,
  perPhy: perBit(initiatingPhy, 'initiatingPhys'),
}
export const LeExtendedCreateConnection = command(
  LE,
  0x0043,
  'LE Extended Create Connection [v1]',
  extendedCreateConnection,
)
export const LeExtendedCreateConnectionV2 = command(LE, 0x0085, 'LE Extended Create Connection [v2]', {
  advertisingHandle: u8,
  subevent: u8,
  ...extendedCreateConnection,
})
export const LeCreateConnectionCancel = command(LE, 0x000e, 'LE Create Connection Cancel', {}, STATUS)
export const LeConnectionUpdate = command(LE, 0x0013, 'LE Connection Update', {
  connectionHandle,
  ...connectionParameters,
})
export const LeReadFilterAcceptListSize = command(
  LE,
  0x000f,
  'LE Read Filter Accept List Size',
  {},
  { status, filterAcceptListSize: u8 },
)
export const LeClearFilterAcceptList = command(LE, 0x0010, 'LE Clear Filter Accept List', {}, STATUS)
export const LeAddDeviceToFilterAcceptList = command(
  LE,
  0x0011,
  'LE Add Device To Filter Accept List',
  { addressType: u8, address },
  STATUS,
)
export const LeRemoveDeviceFromFilterAcceptList = command(
  LE,
  0x0012,
  'LE Remove Device From Filter Accept List',
  { addressType: u8, address },
  STATUS,
)
export const LeRemoteConnectionParameterRequestReply = command(
  LE,
  0x0020,
  'LE Remote Connection Parameter Request Reply',
  {
    connectionHandle,
    intervalMin: u16,
    intervalMax: u16,
    maxLatency: u16,
    timeout: u16,
    minCeLength: u16,
    maxCeLength: u16,
  },
  withHandle,
)
export const LeRemoteConnectionParameterRequestNegativeReply = command(
  LE,
  0x0021,
  'LE Remote Connection Parameter Request Negative Reply',
  { connectionHandle, reason: status },
  withHandle,
)
export const LeSetHostChannelClassification = command(
  LE,
  0x0014,
  'LE Set Host Channel Classification',
  { channelMap: bytes(5) },
  STATUS,
)
export const LeReadChannelMap = command(
  LE,
  0x0015,
  'LE Read Channel Map',
  { connectionHandle },
  { status, connectionHandle, channelMap: bytes(5) },
)
export const LeReadRemoteFeatures = command(LE, 0x0016, 'LE Read Remote Features', { connectionHandle })
export const LeRequestPeerSca = command(LE, 0x006d, 'LE Request Peer SCA', { connectionHandle })
const subrateParameters = {
  subrateMin: u16,
  subrateMax: u16,
  maxLatency: u16,
  continuationNumber: u16,
  supervisionTimeout: u16,
}
export const LeSetDefaultSubrate = command(LE, 0x007d, 'LE Set Default Subrate', subrateParameters, STATUS)
export const LeSubrateRequest = command(LE, 0x007e, 'LE Subrate Request', { connectionHandle, ...subrateParameters })

// --- 7.8.22-7.8.26, 7.8.36-7.8.37 Encryption and keys ------------------------------------------

export const LeEncrypt = command(
  LE,
  0x0017,
  'LE Encrypt',
  { key: bytes(16), plaintextData: bytes(16) },
  { status, encryptedData: bytes(16) },
)
export const LeRand = command(LE, 0x0018, 'LE Rand', {}, { status, randomNumber: bytes(8) })
export const LeEnableEncryption = command(LE, 0x0019, 'LE Enable Encryption', {
  connectionHandle,
  randomNumber: bytes(8),
  encryptedDiversifier: u16,
  longTermKey: bytes(16),
})
export const LeLongTermKeyRequestReply = command(
  LE,
  0x001a,
  'LE Long Term Key Request Reply',
  { connectionHandle, longTermKey: bytes(16) },
  withHandle,
)
export const LeLongTermKeyRequestNegativeReply = command(
  LE,
  0x001b,
  'LE Long Term Key Request Negative Reply',
  { connectionHandle },
  withHandle,
)
export const LeReadLocalP256PublicKey = command(LE, 0x0025, 'LE Read Local P-256 Public Key', {})
export const LeGenerateDhKey = command(LE, 0x0026, 'LE Generate DHKey [v1]', { remoteP256PublicKey: bytes(64) })
export const LeGenerateDhKeyV2 = command(LE, 0x005e, 'LE Generate DHKey [v2]', {
  remoteP256PublicKey: bytes(64),
  keyType: u8,
})

// --- 7.8.33-7.8.35, 7.8.46-7.8.49 Data length and PHY ------------------------------------------

export const LeSetDataLength = command(
  LE,
  0x0022,
  'LE Set Data Length',
  { connectionHandle, txOctets: u16, txTime: u16 },
  withHandle,
)
export const LeReadSuggestedDefaultDataLength = command(
  LE,
  0x0023,
  'LE Read Suggested Default Data Length',
  {},
  { status, suggestedMaxTxOctets: u16, suggestedMaxTxTime: u16 },
)
export const LeWriteSuggestedDefaultDataLength = command(
  LE,
  0x0024,
  'LE Write Suggested Default Data Length',
  { suggestedMaxTxOctets: u16, suggestedMaxTxTime: u16 },
  STATUS,
)
export const LeReadMaximumDataLength = command(
  LE,
  0x002f,
  'LE Read Maximum Data Length',
  {},
  {
    status,
    supportedMaxTxOctets: u16,
    supportedMaxTxTime: u16,
    supportedMaxRxOctets: u16,
    supportedMaxRxTime: u16,
  },
)
export const LeReadPhy = command(
  LE,
  0x0030,
  'LE Read PHY',
  { connectionHandle },
  { status, connectionHandle, txPhy: u8, rxPhy: u8 },
)
export const LeSetDefaultPhy = command(
  LE,
  0x0031,
  'LE Set Default PHY',
  { allPhys: u8, txPhys: u8, rxPhys: u8 },
  STATUS,
)
export const LeSetPhy = command(LE, 0x0032, 'LE Set PHY', {
  connectionHandle,
  allPhys: u8,
  txPhys: u8,
  rxPhys: u8,
  phyOptions: u16,
})

// --- 7.8.38-7.8.45, 7.8.77 Privacy (resolving list) --------------------------------------------

const peerIdentity = { peerIdentityAddressType: u8, peerIdentityAddress: address }
export const LeAddDeviceToResolvingList = command(
  LE,
  0x0027,
  'LE Add Device To Resolving List',
  {
    ...peerIdentity,
    peerIrk: bytes(16),
    localIrk: bytes(16),
  },
  STATUS,
)
export const LeRemoveDeviceFromResolvingList = command(
  LE,
  0x0028,
  'LE Remove Device From Resolving List',
  peerIdentity,
  STATUS,
)
export const LeClearResolvingList = command(LE, 0x0029, 'LE Clear Resolving List', {}, STATUS)
export const LeReadResolvingListSize = command(
  LE,
  0x002a,
  'LE Read Resolving List Size',
  {},
  { status, resolvingListSize: u8 },
)
export const LeReadPeerResolvableAddress = command(LE, 0x002b, 'LE Read Peer Resolvable Address', peerIdentity, {
  status,
  peerResolvableAddress: address,
})
export const LeReadLocalResolvableAddress = command(LE, 0x002c, 'LE Read Local Resolvable Address', peerIdentity, {
  status,
  localResolvableAddress: address,
})
export const LeSetAddressResolutionEnable = command(
  LE,
  0x002d,
  'LE Set Address Resolution Enable',
  { enable: u8 },
  STATUS,
)
export const LeSetResolvablePrivateAddressTimeout = command(
  LE,
  0x002e,
  'LE Set Resolvable Private Address Timeout',
  { rpaTimeout: u16 },
  STATUS,
)
export const LeSetPrivacyMode = command(LE, 0x004e, 'LE Set Privacy Mode', { ...peerIdentity, privacyMode: u8 }, STATUS)

// --- 7.8.28-7.8.30, 7.8.94 Test mode and sleep clock --------------------------------------------

export const LeReceiverTest = command(LE, 0x001d, 'LE Receiver Test [v1]', { rxChannel: u8 }, STATUS)
export const LeReceiverTestV2 = command(
  LE,
  0x0033,
  'LE Receiver Test [v2]',
  { rxChannel: u8, phy: u8, modulationIndex: u8 },
  STATUS,
)
export const LeTransmitterTest = command(
  LE,
  0x001e,
  'LE Transmitter Test [v1]',
  { txChannel: u8, testDataLength: u8, packetPayload: u8 },
  STATUS,
)
export const LeTransmitterTestV2 = command(
  LE,
  0x0034,
  'LE Transmitter Test [v2]',
  { txChannel: u8, testDataLength: u8, packetPayload: u8, phy: u8 },
  STATUS,
)
export const LeTestEnd = command(LE, 0x001f, 'LE Test End', {}, { status, numPackets: u16 })
export const LeModifySleepClockAccuracy = command(LE, 0x005f, 'LE Modify Sleep Clock Accuracy', { action: u8 }, STATUS)

// --- 7.8.117-7.8.121 Power control -------------------------------------------------------------

export const LeEnhancedReadTransmitPowerLevel = command(
  LE,
  0x0076,
  'LE Enhanced Read Transmit Power Level',
  { connectionHandle, phy: u8 },
  { status, connectionHandle, phy: u8, currentTxPowerLevel: i8, maxTxPowerLevel: i8 },
)
export const LeReadRemoteTransmitPowerLevel = command(LE, 0x0077, 'LE Read Remote Transmit Power Level', {
  connectionHandle,
  phy: u8,
})
export const LeSetPathLossReportingParameters = command(
  LE,
  0x0078,
  'LE Set Path Loss Reporting Parameters',
  {
    connectionHandle,
    highThreshold: u8,
    highHysteresis: u8,
    lowThreshold: u8,
    lowHysteresis: u8,
    minTimeSpent: u16,
  },
  withHandle,
)
export const LeSetPathLossReportingEnable = command(
  LE,
  0x0079,
  'LE Set Path Loss Reporting Enable',
  { connectionHandle, enable: u8 },
  withHandle,
)
export const LeSetTransmitPowerReportingEnable = command(
  LE,
  0x007a,
  'LE Set Transmit Power Reporting Enable',
  { connectionHandle, localEnable: u8, remoteEnable: u8 },
  withHandle,
)

/** Every typed LE command spec above. */
export const LE_COMMANDS = [
  LeSetEventMask,
  LeReadBufferSize,
  LeReadBufferSizeV2,
  LeReadLocalSupportedFeatures,
  LeReadSupportedStates,
  LeSetRandomAddress,
  LeSetHostFeature,
  LeReadTransmitPower,
  LeReadRfPathCompensation,
  LeWriteRfPathCompensation,
  LeSetAdvertisingParameters,
  LeReadAdvertisingPhysicalChannelTxPower,
  LeSetAdvertisingData,
  LeSetScanResponseData,
  LeSetAdvertisingEnable,
  LeSetAdvertisingSetRandomAddress,
  LeSetExtendedAdvertisingParameters,
  LeSetExtendedAdvertisingParametersV2,
  LeSetExtendedAdvertisingData,
  LeSetExtendedScanResponseData,
  LeSetExtendedAdvertisingEnable,
  LeReadMaximumAdvertisingDataLength,
  LeReadNumberOfSupportedAdvertisingSets,
  LeRemoveAdvertisingSet,
  LeClearAdvertisingSets,
  LeSetDataRelatedAddressChanges,
  LeSetPeriodicAdvertisingParameters,
  LeSetPeriodicAdvertisingParametersV2,
  LeSetPeriodicAdvertisingData,
  LeSetPeriodicAdvertisingEnable,
  LePeriodicAdvertisingCreateSync,
  LePeriodicAdvertisingCreateSyncCancel,
  LePeriodicAdvertisingTerminateSync,
  LeAddDeviceToPeriodicAdvertiserList,
  LeRemoveDeviceFromPeriodicAdvertiserList,
  LeClearPeriodicAdvertiserList,
  LeReadPeriodicAdvertiserListSize,
  LeSetPeriodicAdvertisingReceiveEnable,
  LeSetScanParameters,
  LeSetScanEnable,
  LeSetExtendedScanParameters,
  LeSetExtendedScanEnable,
  LeCreateConnection,
  LeExtendedCreateConnection,
  LeExtendedCreateConnectionV2,
  LeCreateConnectionCancel,
  LeConnectionUpdate,
  LeReadFilterAcceptListSize,
  LeClearFilterAcceptList,
  LeAddDeviceToFilterAcceptList,
  LeRemoveDeviceFromFilterAcceptList,
  LeRemoteConnectionParameterRequestReply,
  LeRemoteConnectionParameterRequestNegativeReply,
  LeSetHostChannelClassification,
  LeReadChannelMap,
  LeReadRemoteFeatures,
  LeRequestPeerSca,
  LeSetDefaultSubrate,
  LeSubrateRequest,
  LeEncrypt,
  LeRand,
  LeEnableEncryption,
  LeLongTermKeyRequestReply,
  LeLongTermKeyRequestNegativeReply,
  LeReadLocalP256PublicKey,
  LeGenerateDhKey,
  LeGenerateDhKeyV2,
  LeSetDataLength,
  LeReadSuggestedDefaultDataLength,
  LeWriteSuggestedDefaultDataLength,
  LeReadMaximumDataLength,
  LeReadPhy,
  LeSetDefaultPhy,
  LeSetPhy,
  LeAddDeviceToResolvingList,
  LeRemoveDeviceFromResolvingList,
  LeClearResolvingList,
  LeReadResolvingListSize,
  LeReadPeerResolvableAddress,
  LeReadLocalResolvableAddress,
  LeSetAddressResolutionEnable,
  LeSetResolvablePrivateAddressTimeout,
  LeSetPrivacyMode,
  LeReceiverTest,
  LeReceiverTestV2,
  LeTransmitterTest,
  LeTransmitterTestV2,
  LeTestEnd,
  LeModifySleepClockAccuracy,
  LeEnhancedReadTransmitPowerLevel,
  LeReadRemoteTransmitPowerLevel,
  LeSetPathLossReportingParameters,
  LeSetPathLossReportingEnable,
  LeSetTransmitPowerReportingEnable,
] as const

/**
 * Names of the LE Controller commands of Core v5.4 Vol 4 Part E 7.8 that have no typed spec
 * above, by opcode (OGF 0x08). 0x2087-0x2096 are Core 6.0 additions (Channel Sounding and
 * friends) already sent by shipping Android stacks.
 */
export const LE_COMMAND_NAMES: Readonly<Record<number, string>> = {
  0x204f: 'LE Receiver Test [v3]',
  0x2050: 'LE Transmitter Test [v3]',
  0x2051: 'LE Set Connectionless CTE Transmit Parameters',
  0x2052: 'LE Set Connectionless CTE Transmit Enable',
  0x2053: 'LE Set Connectionless IQ Sampling Enable',
  0x2054: 'LE Set Connection CTE Receive Parameters',
  0x2055: 'LE Set Connection CTE Transmit Parameters',
  0x2056: 'LE Connection CTE Request Enable',
  0x2057: 'LE Connection CTE Response Enable',
  0x2058: 'LE Read Antenna Information',
  0x205a: 'LE Periodic Advertising Sync Transfer',
  0x205b: 'LE Periodic Advertising Set Info Transfer',
  0x205c: 'LE Set Periodic Advertising Sync Transfer Parameters',
  0x205d: 'LE Set Default Periodic Advertising Sync Transfer Parameters',
  0x2061: 'LE Read ISO TX Sync',
  0x2062: 'LE Set CIG Parameters',
  0x2063: 'LE Set CIG Parameters Test',
  0x2064: 'LE Create CIS',
  0x2065: 'LE Remove CIG',
  0x2066: 'LE Accept CIS Request',
  0x2067: 'LE Reject CIS Request',
  0x2068: 'LE Create BIG',
  0x2069: 'LE Create BIG Test',
  0x206a: 'LE Terminate BIG',
  0x206b: 'LE BIG Create Sync',
  0x206c: 'LE BIG Terminate Sync',
  0x206e: 'LE Setup ISO Data Path',
  0x206f: 'LE Remove ISO Data Path',
  0x2070: 'LE ISO Transmit Test',
  0x2071: 'LE ISO Receive Test',
  0x2072: 'LE ISO Read Test Counters',
  0x2073: 'LE ISO Test End',
  0x2075: 'LE Read ISO Link Quality',
  0x207b: 'LE Transmitter Test [v4]',
  0x2082: 'LE Set Periodic Advertising Subevent Data',
  0x2083: 'LE Set Periodic Advertising Response Data',
  0x2084: 'LE Set Periodic Sync Subevent',
  // Core 6.0
  0x2087: 'LE Read All Local Supported Features',
  0x2088: 'LE Read All Remote Features',
  0x2089: 'LE CS Read Local Supported Capabilities',
  0x208a: 'LE CS Read Remote Supported Capabilities',
  0x208b: 'LE CS Write Cached Remote Supported Capabilities',
  0x208c: 'LE CS Security Enable',
  0x208d: 'LE CS Set Default Settings',
  0x208e: 'LE CS Read Remote FAE Table',
  0x208f: 'LE CS Write Cached Remote FAE Table',
  0x2090: 'LE CS Create Config',
  0x2091: 'LE CS Remove Config',
  0x2092: 'LE CS Set Channel Classification',
  0x2093: 'LE CS Set Procedure Parameters',
  0x2094: 'LE CS Procedure Enable',
  0x2095: 'LE CS Test',
  0x2096: 'LE CS Test End',
}
