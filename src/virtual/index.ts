/**
 * The LE controller emulator's public surface (issue 3): virtual controllers on a shared
 * virtual air, speaking HCI (Core v5.4 Vol 4 Part E) to any host, in virtual or real time.
 */
export { VirtualScheduler, RealtimeScheduler, clockFrom, seededRandom, type Scheduler } from './scheduler.ts'
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
} from './controller.ts'
export { supportedCommandBit, supportedCommandsMask, advertisingKindOf } from './supported-commands.ts'
