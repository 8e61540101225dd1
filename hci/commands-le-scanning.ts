/**
 * LE scanning commands (Core v5.4 Vol 4 Part E 7.8.10-7.8.11 legacy scanning, 7.8.64-7.8.65
 * extended scanning) and the scanner side of periodic advertising: synchronizing to a train and
 * the Periodic Advertiser List (7.8.67-7.8.73, 7.8.88).
 *
 * Declared once each with `command()` (hci/spec.ts), named as commands-le.ts explains; LE_COMMANDS
 * there lists them, and commands.ts re-exports them beside the lookup and codec functions.
 */
import { command, u8, u16, hex16, status, address, perBit, struct } from './spec.ts'

const LE = 0x08
const STATUS = { status }

// --- 7.8.10-7.8.11, 7.8.64-7.8.65 Scanning ---------------------------------------------------

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

// --- 7.8.67-7.8.73, 7.8.88 Periodic advertising synchronization ------------------------------

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
