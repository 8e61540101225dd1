/**
 * LE Controller commands (Core v5.4 Vol 4 Part E 7.8): the controller setup commands (7.8.1-7.8.4,
 * 7.8.27, 7.8.74-7.8.76, 7.8.115), `LE_COMMANDS` (every typed LE command) and `LE_COMMAND_NAMES`.
 * The other commands are declared by family and re-exported from here (and, with the lookup and
 * codec functions, from commands.ts):
 *   commands-le-advertising.ts  legacy, extended and periodic advertising
 *   commands-le-scanning.ts     scanning, synchronizing to periodic advertising
 *   commands-le-connections.ts  initiating, connection parameters, the Filter Accept List
 *   commands-le-security.ts     encryption, keys, the resolving list and privacy
 *   commands-le-radio.ts        data length, PHY, test mode, transmit power
 *
 * Each command is declared once with its parameters and, for commands the controller answers with
 * Command Complete, its return parameters. Commands answered by Command Status (their result
 * arrives as an LE Meta sub-event) declare no return parameters. Layouts follow the section of
 * each command.
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
import { command, u8, u16, i8, i16, status, bytes, address } from './spec.ts'
import {
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
} from './commands-le-advertising.ts'
import {
  LeSetScanParameters,
  LeSetScanEnable,
  LeSetExtendedScanParameters,
  LeSetExtendedScanEnable,
  LePeriodicAdvertisingCreateSync,
  LePeriodicAdvertisingCreateSyncCancel,
  LePeriodicAdvertisingTerminateSync,
  LeAddDeviceToPeriodicAdvertiserList,
  LeRemoveDeviceFromPeriodicAdvertiserList,
  LeClearPeriodicAdvertiserList,
  LeReadPeriodicAdvertiserListSize,
  LeSetPeriodicAdvertisingReceiveEnable,
} from './commands-le-scanning.ts'
import {
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
} from './commands-le-connections.ts'
import {
  LeEncrypt,
  LeRand,
  LeEnableEncryption,
  LeLongTermKeyRequestReply,
  LeLongTermKeyRequestNegativeReply,
  LeReadLocalP256PublicKey,
  LeGenerateDhKey,
  LeGenerateDhKeyV2,
  LeAddDeviceToResolvingList,
  LeRemoveDeviceFromResolvingList,
  LeClearResolvingList,
  LeReadResolvingListSize,
  LeReadPeerResolvableAddress,
  LeReadLocalResolvableAddress,
  LeSetAddressResolutionEnable,
  LeSetResolvablePrivateAddressTimeout,
  LeSetPrivacyMode,
} from './commands-le-security.ts'
import {
  LeSetDataLength,
  LeReadSuggestedDefaultDataLength,
  LeWriteSuggestedDefaultDataLength,
  LeReadMaximumDataLength,
  LeReadPhy,
  LeSetDefaultPhy,
  LeSetPhy,
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
} from './commands-le-radio.ts'

export * from './commands-le-advertising.ts'
export * from './commands-le-scanning.ts'
export * from './commands-le-connections.ts'
export * from './commands-le-security.ts'
export * from './commands-le-radio.ts'

const LE = 0x08
const STATUS = { status }

// --- 7.8.1-7.8.4, 7.8.27, 7.8.74-7.8.76, 7.8.115 Controller setup ----------------------------

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

/** Every typed LE command spec: the setup commands above and those of the family files. */
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
