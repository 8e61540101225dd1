/**
 * The LE controller emulator's public surface (issue 3): virtual controllers on a shared
 * virtual air, speaking HCI (Core v5.4 Vol 4 Part E) to any host, in virtual or real time.
 */
export {
  VirtualScheduler,
  RealtimeScheduler,
  clockFrom,
  seededRandom,
  type Scheduler,
  type JumpPolicy,
  type VirtualSchedulerOptions,
} from './scheduler.ts'
export {
  VirtualLink,
  type LinkOptions,
  type AirPdu,
  type AirPduMap,
  type AirKind,
  type AdvPdu,
  type AdvProps,
  type ScanReqPdu,
  type ScanRspPdu,
  type ConnectIndPdu,
  type ConnectParams,
} from './link.ts'
export {
  VirtualController,
  ControllerError,
  ControllerHooks,
  type ControllerOptions,
  type PeripheralConnect,
  type Activity,
  type ControllerVersion,
} from './controller.ts'
export { leEncrypt, lmpFeaturesPage0 } from './basic.ts'
export { ah } from './crypto.ts'
export { RESOLVING_LIST_SIZE, DEFAULT_RPA_TIMEOUT_S } from './resolving-list.ts'
export { MAX_ADVERTISING_DATA_LENGTH, ADVERTISING_SETS } from './advertising.ts'
export { EXT_REPORT_MAX_DATA, DUPLICATE_FILTER_SIZE } from './scanning.ts'
export { connectionsOf, type Connection } from './connections.ts'
export { aclStats, type AclStats } from './acl-data.ts'
export { filterAcceptList, FILTER_ACCEPT_LIST_SIZE } from './filter-accept-list.ts'
export { supportedCommandBit, supportedCommandsMask, advertisingKindOf } from './supported-commands.ts'
