/**
 * LE Meta event (code 0x3E) sub-event specs and names (Core v5.4 Vol 4 Part E 7.7.65).
 *
 * Each sub-event is declared once with `leEvent(subevent, name, params)`; its parameters start
 * after the Subevent_Code byte. Arrays of reports are interleaved per report (Event_Type[0],
 * Address_Type[0], ..., RSSI[0], Event_Type[1], ...), the way controllers send them and BlueZ and
 * Wireshark read them. Names follow the spec's event titles without the "HCI_" prefix; a "v2"
 * suffix marks the second version of an event, the first version carries no suffix.
 * hci/events.ts gathers these into the one HciEvent union.
 */
import {
  leEvent,
  struct,
  list,
  counted,
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
} from './spec.ts'

/** Names of every LE Meta sub-event code of Core v5.4 (7.7.65; codes 0x01 - 0x29). */
export const LE_SUBEVENT_NAMES: Readonly<Record<number, string>> = {
  0x01: 'LE Connection Complete',
  0x02: 'LE Advertising Report',
  0x03: 'LE Connection Update Complete',
  0x04: 'LE Read Remote Features Complete',
  0x05: 'LE Long Term Key Request',
  0x06: 'LE Remote Connection Parameter Request',
  0x07: 'LE Data Length Change',
  0x08: 'LE Read Local P-256 Public Key Complete',
  0x09: 'LE Generate DHKey Complete',
  0x0a: 'LE Enhanced Connection Complete',
  0x0b: 'LE Directed Advertising Report',
  0x0c: 'LE PHY Update Complete',
  0x0d: 'LE Extended Advertising Report',
  0x0e: 'LE Periodic Advertising Sync Established',
  0x0f: 'LE Periodic Advertising Report',
  0x10: 'LE Periodic Advertising Sync Lost',
  0x11: 'LE Scan Timeout',
  0x12: 'LE Advertising Set Terminated',
  0x13: 'LE Scan Request Received',
  0x14: 'LE Channel Selection Algorithm',
  0x15: 'LE Connectionless IQ Report',
  0x16: 'LE Connection IQ Report',
  0x17: 'LE CTE Request Failed',
  0x18: 'LE Periodic Advertising Sync Transfer Received',
  0x19: 'LE CIS Established',
  0x1a: 'LE CIS Request',
  0x1b: 'LE Create BIG Complete',
  0x1c: 'LE Terminate BIG Complete',
  0x1d: 'LE BIG Sync Established',
  0x1e: 'LE BIG Sync Lost',
  0x1f: 'LE Request Peer SCA Complete',
  0x20: 'LE Path Loss Threshold',
  0x21: 'LE Transmit Power Reporting',
  0x22: 'LE BIGInfo Advertising Report',
  0x23: 'LE Subrate Change',
  0x24: 'LE Periodic Advertising Sync Established v2',
  0x25: 'LE Periodic Advertising Report v2',
  0x26: 'LE Periodic Advertising Sync Transfer Received v2',
  0x27: 'LE Periodic Advertising Subevent Data Request',
  0x28: 'LE Periodic Advertising Response Report',
  0x29: 'LE Enhanced Connection Complete v2',
}

// 7.7.65.1
export const LeConnectionComplete = leEvent(0x01, 'LE Connection Complete', {
  status,
  connectionHandle: hex16,
  role: u8,
  peerAddressType: u8,
  peerAddress: address,
  connectionInterval: u16,
  peripheralLatency: u16,
  supervisionTimeout: u16,
  centralClockAccuracy: u8,
})

// 7.7.65.2
export const LeAdvertisingReport = leEvent(0x02, 'LE Advertising Report', {
  reports: list(struct({ eventType: u8, addressType: u8, address, data: lengthPrefixed, rssi: i8 })),
})

// 7.7.65.3
export const LeConnectionUpdateComplete = leEvent(0x03, 'LE Connection Update Complete', {
  status,
  connectionHandle: hex16,
  connectionInterval: u16,
  peripheralLatency: u16,
  supervisionTimeout: u16,
})

// 7.7.65.4
export const LeReadRemoteFeaturesComplete = leEvent(0x04, 'LE Read Remote Features Complete', {
  status,
  connectionHandle: hex16,
  leFeatures: bytes(8),
})

// 7.7.65.5
export const LeLongTermKeyRequest = leEvent(0x05, 'LE Long Term Key Request', {
  connectionHandle: hex16,
  randomNumber: bytes(8),
  encryptedDiversifier: u16,
})

// 7.7.65.6
export const LeRemoteConnectionParameterRequest = leEvent(0x06, 'LE Remote Connection Parameter Request', {
  connectionHandle: hex16,
  intervalMin: u16,
  intervalMax: u16,
  maxLatency: u16,
  timeout: u16,
})

// 7.7.65.7
export const LeDataLengthChange = leEvent(0x07, 'LE Data Length Change', {
  connectionHandle: hex16,
  maxTxOctets: u16,
  maxTxTime: u16,
  maxRxOctets: u16,
  maxRxTime: u16,
})

// 7.7.65.8 (v5.4 splits the 64-octet public key into its X and Y coordinates, 32 octets each)
export const LeReadLocalP256PublicKeyComplete = leEvent(0x08, 'LE Read Local P-256 Public Key Complete', {
  status,
  keyXCoordinate: bytes(32),
  keyYCoordinate: bytes(32),
})

// 7.7.65.9
export const LeGenerateDhKeyComplete = leEvent(0x09, 'LE Generate DHKey Complete', { status, dhKey: bytes(32) })

const enhancedConnectionCompleteV1 = {
  status,
  connectionHandle: hex16,
  role: u8,
  peerAddressType: u8,
  peerAddress: address,
  localResolvablePrivateAddress: address,
  peerResolvablePrivateAddress: address,
  connectionInterval: u16,
  peripheralLatency: u16,
  supervisionTimeout: u16,
  centralClockAccuracy: u8,
}

// 7.7.65.10
export const LeEnhancedConnectionComplete = leEvent(
  0x0a,
  'LE Enhanced Connection Complete',
  enhancedConnectionCompleteV1,
)

// 7.7.65.11
export const LeDirectedAdvertisingReport = leEvent(0x0b, 'LE Directed Advertising Report', {
  reports: list(
    struct({ eventType: u8, addressType: u8, address, directAddressType: u8, directAddress: address, rssi: i8 }),
  ),
})

// 7.7.65.12
export const LePhyUpdateComplete = leEvent(0x0c, 'LE PHY Update Complete', {
  status,
  connectionHandle: hex16,
  txPhy: u8,
  rxPhy: u8,
})

// 7.7.65.13
export const LeExtendedAdvertisingReport = leEvent(0x0d, 'LE Extended Advertising Report', {
  reports: list(
    struct({
      eventType: u16,
      addressType: u8,
      address,
      primaryPhy: u8,
      secondaryPhy: u8,
      advertisingSid: u8,
      txPower: i8,
      rssi: i8,
      periodicAdvertisingInterval: u16,
      directAddressType: u8,
      directAddress: address,
      data: lengthPrefixed,
    }),
  ),
})

const syncEstablishedV1 = {
  status,
  syncHandle: hex16,
  advertisingSid: u8,
  advertiserAddressType: u8,
  advertiserAddress: address,
  advertiserPhy: u8,
  periodicAdvertisingInterval: u16,
  advertiserClockAccuracy: u8,
}

const pawrTiming = {
  numSubevents: u8,
  subeventInterval: u8,
  responseSlotDelay: u8,
  responseSlotSpacing: u8,
}

// 7.7.65.14
export const LePeriodicAdvertisingSyncEstablished = leEvent(
  0x0e,
  'LE Periodic Advertising Sync Established',
  syncEstablishedV1,
)

// 7.7.65.15
export const LePeriodicAdvertisingReport = leEvent(0x0f, 'LE Periodic Advertising Report', {
  syncHandle: hex16,
  txPower: i8,
  rssi: i8,
  cteType: u8,
  dataStatus: u8,
  data: lengthPrefixed,
})

// 7.7.65.16
export const LePeriodicAdvertisingSyncLost = leEvent(0x10, 'LE Periodic Advertising Sync Lost', { syncHandle: hex16 })

// 7.7.65.17
export const LeScanTimeout = leEvent(0x11, 'LE Scan Timeout', {})

// 7.7.65.18
export const LeAdvertisingSetTerminated = leEvent(0x12, 'LE Advertising Set Terminated', {
  status,
  advertisingHandle: u8,
  connectionHandle: hex16,
  numCompletedExtendedAdvertisingEvents: u8,
})

// 7.7.65.19
export const LeScanRequestReceived = leEvent(0x13, 'LE Scan Request Received', {
  advertisingHandle: u8,
  scannerAddressType: u8,
  scannerAddress: address,
})

// 7.7.65.20
export const LeChannelSelectionAlgorithm = leEvent(0x14, 'LE Channel Selection Algorithm', {
  connectionHandle: hex16,
  channelSelectionAlgorithm: u8,
})

const iqSamples = counted(struct({ iSample: i8, qSample: i8 }), 'sampleCount')

// 7.7.65.21
export const LeConnectionlessIqReport = leEvent(0x15, 'LE Connectionless IQ Report', {
  syncHandle: hex16,
  channelIndex: u8,
  rssi: i16,
  rssiAntennaId: u8,
  cteType: u8,
  slotDurations: u8,
  packetStatus: u8,
  periodicEventCounter: u16,
  sampleCount: u8,
  samples: iqSamples,
})

// 7.7.65.22
export const LeConnectionIqReport = leEvent(0x16, 'LE Connection IQ Report', {
  connectionHandle: hex16,
  rxPhy: u8,
  dataChannelIndex: u8,
  rssi: i16,
  rssiAntennaId: u8,
  cteType: u8,
  slotDurations: u8,
  packetStatus: u8,
  connectionEventCounter: u16,
  sampleCount: u8,
  samples: iqSamples,
})

// 7.7.65.23
export const LeCteRequestFailed = leEvent(0x17, 'LE CTE Request Failed', { status, connectionHandle: hex16 })

const syncTransferReceivedV1 = {
  status,
  connectionHandle: hex16,
  serviceData: u16,
  syncHandle: hex16,
  advertisingSid: u8,
  advertiserAddressType: u8,
  advertiserAddress: address,
  advertiserPhy: u8,
  periodicAdvertisingInterval: u16,
  advertiserClockAccuracy: u8,
}

// 7.7.65.24
export const LePeriodicAdvertisingSyncTransferReceived = leEvent(
  0x18,
  'LE Periodic Advertising Sync Transfer Received',
  syncTransferReceivedV1,
)

// 7.7.65.25
export const LeCisEstablished = leEvent(0x19, 'LE CIS Established', {
  status,
  connectionHandle: hex16,
  cigSyncDelay: u24,
  cisSyncDelay: u24,
  transportLatencyCToP: u24,
  transportLatencyPToC: u24,
  phyCToP: u8,
  phyPToC: u8,
  nse: u8,
  bnCToP: u8,
  bnPToC: u8,
  ftCToP: u8,
  ftPToC: u8,
  maxPduCToP: u16,
  maxPduPToC: u16,
  isoInterval: u16,
})

// 7.7.65.26
export const LeCisRequest = leEvent(0x1a, 'LE CIS Request', {
  aclConnectionHandle: hex16,
  cisConnectionHandle: hex16,
  cigId: u8,
  cisId: u8,
})

// 7.7.65.27 (Num_BIS is the count of the Connection_Handle list)
export const LeCreateBigComplete = leEvent(0x1b, 'LE Create BIG Complete', {
  status,
  bigHandle: u8,
  bigSyncDelay: u24,
  transportLatencyBig: u24,
  phy: u8,
  nse: u8,
  bn: u8,
  pto: u8,
  irc: u8,
  maxPdu: u16,
  isoInterval: u16,
  connectionHandles: list(hex16),
})

// 7.7.65.28
export const LeTerminateBigComplete = leEvent(0x1c, 'LE Terminate BIG Complete', { bigHandle: u8, reason: status })

// 7.7.65.29 (Num_BIS is the count of the Connection_Handle list)
export const LeBigSyncEstablished = leEvent(0x1d, 'LE BIG Sync Established', {
  status,
  bigHandle: u8,
  transportLatencyBig: u24,
  nse: u8,
  bn: u8,
  pto: u8,
  irc: u8,
  maxPdu: u16,
  isoInterval: u16,
  connectionHandles: list(hex16),
})

// 7.7.65.30
export const LeBigSyncLost = leEvent(0x1e, 'LE BIG Sync Lost', { bigHandle: u8, reason: status })

// 7.7.65.31
export const LeRequestPeerScaComplete = leEvent(0x1f, 'LE Request Peer SCA Complete', {
  status,
  connectionHandle: hex16,
  peerClockAccuracy: u8,
})

// 7.7.65.32
export const LePathLossThreshold = leEvent(0x20, 'LE Path Loss Threshold', {
  connectionHandle: hex16,
  currentPathLoss: u8,
  zoneEntered: u8,
})

// 7.7.65.33 (Reason here is a report reason, not an error code)
export const LeTransmitPowerReporting = leEvent(0x21, 'LE Transmit Power Reporting', {
  status,
  connectionHandle: hex16,
  reason: u8,
  phy: u8,
  txPowerLevel: i8,
  txPowerLevelFlag: u8,
  delta: i8,
})

// 7.7.65.34
export const LeBigInfoAdvertisingReport = leEvent(0x22, 'LE BIGInfo Advertising Report', {
  syncHandle: hex16,
  numBis: u8,
  nse: u8,
  isoInterval: u16,
  bn: u8,
  pto: u8,
  irc: u8,
  maxPdu: u16,
  sduInterval: u24,
  maxSdu: u16,
  phy: u8,
  framing: u8,
  encryption: u8,
})

// 7.7.65.35
export const LeSubrateChange = leEvent(0x23, 'LE Subrate Change', {
  status,
  connectionHandle: hex16,
  subrateFactor: u16,
  peripheralLatency: u16,
  continuationNumber: u16,
  supervisionTimeout: u16,
})

// 7.7.65.14 [v2]
export const LePeriodicAdvertisingSyncEstablishedV2 = leEvent(0x24, 'LE Periodic Advertising Sync Established v2', {
  ...syncEstablishedV1,
  ...pawrTiming,
})

// 7.7.65.15 [v2]
export const LePeriodicAdvertisingReportV2 = leEvent(0x25, 'LE Periodic Advertising Report v2', {
  syncHandle: hex16,
  txPower: i8,
  rssi: i8,
  cteType: u8,
  periodicEventCounter: u16,
  subevent: u8,
  dataStatus: u8,
  data: lengthPrefixed,
})

// 7.7.65.24 [v2]
export const LePeriodicAdvertisingSyncTransferReceivedV2 = leEvent(
  0x26,
  'LE Periodic Advertising Sync Transfer Received v2',
  { ...syncTransferReceivedV1, ...pawrTiming },
)

// 7.7.65.36
export const LePeriodicAdvertisingSubeventDataRequest = leEvent(0x27, 'LE Periodic Advertising Subevent Data Request', {
  advertisingHandle: u8,
  subeventStart: u8,
  subeventDataCount: u8,
})

// 7.7.65.37
export const LePeriodicAdvertisingResponseReport = leEvent(0x28, 'LE Periodic Advertising Response Report', {
  advertisingHandle: u8,
  subevent: u8,
  txStatus: u8,
  responses: list(
    struct({ txPower: i8, rssi: i8, cteType: u8, responseSlot: u8, dataStatus: u8, data: lengthPrefixed }),
  ),
})

// 7.7.65.10 [v2]
export const LeEnhancedConnectionCompleteV2 = leEvent(0x29, 'LE Enhanced Connection Complete v2', {
  ...enhancedConnectionCompleteV1,
  advertisingHandle: u8,
  syncHandle: hex16,
})

/** Every typed LE Meta sub-event, keyed by its const name. */
export const LeEventSpecs = {
  LeConnectionComplete,
  LeAdvertisingReport,
  LeConnectionUpdateComplete,
  LeReadRemoteFeaturesComplete,
  LeLongTermKeyRequest,
  LeRemoteConnectionParameterRequest,
  LeDataLengthChange,
  LeReadLocalP256PublicKeyComplete,
  LeGenerateDhKeyComplete,
  LeEnhancedConnectionComplete,
  LeDirectedAdvertisingReport,
  LePhyUpdateComplete,
  LeExtendedAdvertisingReport,
  LePeriodicAdvertisingSyncEstablished,
  LePeriodicAdvertisingReport,
  LePeriodicAdvertisingSyncLost,
  LeScanTimeout,
  LeAdvertisingSetTerminated,
  LeScanRequestReceived,
  LeChannelSelectionAlgorithm,
  LeConnectionlessIqReport,
  LeConnectionIqReport,
  LeCteRequestFailed,
  LePeriodicAdvertisingSyncTransferReceived,
  LeCisEstablished,
  LeCisRequest,
  LeCreateBigComplete,
  LeTerminateBigComplete,
  LeBigSyncEstablished,
  LeBigSyncLost,
  LeRequestPeerScaComplete,
  LePathLossThreshold,
  LeTransmitPowerReporting,
  LeBigInfoAdvertisingReport,
  LeSubrateChange,
  LePeriodicAdvertisingSyncEstablishedV2,
  LePeriodicAdvertisingReportV2,
  LePeriodicAdvertisingSyncTransferReceivedV2,
  LePeriodicAdvertisingSubeventDataRequest,
  LePeriodicAdvertisingResponseReport,
  LeEnhancedConnectionCompleteV2,
} as const
