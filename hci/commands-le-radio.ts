/**
 * LE commands about the radio side of a link (Core v5.4 Vol 4 Part E 7.8.33-7.8.35 and
 * 7.8.46 data length, 7.8.47-7.8.49 PHY, 7.8.28-7.8.30 and 7.8.94 test mode and sleep clock,
 * 7.8.117-7.8.121 transmit power control and path loss).
 *
 * Declared once each with `command()` (hci/spec.ts), named as commands-le.ts explains; LE_COMMANDS
 * there lists them, and commands.ts re-exports them beside the lookup and codec functions.
 */
import { command, u8, u16, i8, hex16, status } from './spec.ts'

const LE = 0x08
const STATUS = { status }
const connectionHandle = hex16
const withHandle = { status, connectionHandle }

// --- 7.8.33-7.8.35, 7.8.46-7.8.49 Data length and PHY ----------------------------------------

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

// --- 7.8.28-7.8.30, 7.8.94 Test mode and sleep clock -----------------------------------------

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

// --- 7.8.117-7.8.121 Power control -----------------------------------------------------------

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
