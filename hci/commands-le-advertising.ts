/**
 * LE advertising commands (Core v5.4 Vol 4 Part E 7.8.5-7.8.9 legacy advertising, 7.8.52-7.8.60
 * and 7.8.122 extended advertising sets, 7.8.61-7.8.63 periodic advertising): parameters, data
 * and enable, one advertising set at a time.
 *
 * Declared once each with `command()` (hci/spec.ts), named as commands-le.ts explains; LE_COMMANDS
 * there lists them, and commands.ts re-exports them beside the lookup and codec functions.
 */
import { command, u8, u16, u24, i8, status, bytes, lengthPrefixed, address, list, struct } from './spec.ts'

const LE = 0x08
const STATUS = { status }

// --- 7.8.5-7.8.9 Legacy advertising ----------------------------------------------------------

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

// --- 7.8.52-7.8.60, 7.8.122 Extended advertising ---------------------------------------------

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

// --- 7.8.61-7.8.63 Periodic advertising ------------------------------------------------------

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
