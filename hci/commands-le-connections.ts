/**
 * LE connection commands (Core v5.4 Vol 4 Part E 7.8.12-7.8.21, 7.8.31-7.8.32, 7.8.66, 7.8.108,
 * 7.8.123-7.8.124): initiating (legacy and extended), connection update and the remote
 * parameter request, the Filter Accept List, channel map, remote features, sleep clock accuracy
 * and subrating.
 *
 * Declared once each with `command()` (hci/spec.ts), named as commands-le.ts explains; LE_COMMANDS
 * there lists them, and commands.ts re-exports them beside the lookup and codec functions.
 */
import { command, u8, u16, hex16, status, bytes, address, perBit, struct } from './spec.ts'

const LE = 0x08
const STATUS = { status }
const connectionHandle = hex16
const withHandle = { status, connectionHandle }

// --- 7.8.12-7.8.18, 7.8.66 Connections and the Filter Accept List ----------------------------

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
