/**
 * LE security commands (Core v5.4 Vol 4 Part E 7.8.22-7.8.26 encryption and the Long Term Key,
 * 7.8.36-7.8.37 P-256 and DHKey, 7.8.38-7.8.45 and 7.8.77 the resolving list and privacy).
 *
 * Declared once each with `command()` (hci/spec.ts), named as commands-le.ts explains; LE_COMMANDS
 * there lists them, and commands.ts re-exports them beside the lookup and codec functions.
 */
import { command, u8, u16, hex16, status, bytes, address } from './spec.ts'

const LE = 0x08
const STATUS = { status }
const connectionHandle = hex16
const withHandle = { status, connectionHandle }

// --- 7.8.22-7.8.26, 7.8.36-7.8.37 Encryption and keys ----------------------------------------

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

// --- 7.8.38-7.8.45, 7.8.77 Privacy (resolving list) ------------------------------------------

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
