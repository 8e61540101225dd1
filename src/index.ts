/**
 * hcikit's public API: a Bluetooth LE host stack that talks HCI to a controller (Core v5.4
 * Vol 4 Part E) over USB, UART, TCP or an in-process virtual link. Exports only; see
 * src/adapter.ts for the shape:
 *
 *   await using adapter = await open({ transport: 'virtual' })
 *   const device = await adapter.find({ services: ['180d'] })
 *   await using client = await adapter.connect(device)
 *   for await (const v of client.notifications(client.characteristic('180d', '2a37'))) { ... }
 */
export {
  open,
  createVirtualLink,
  realClock,
  Adapter,
  type OpenOptions,
  type AdapterState,
  type AdapterEvents,
  type ScanFilter,
  type ScanOptions,
  type ConnectTarget,
  type ConnectOptions,
  type Advertisement,
  type ControllerInfo,
  type Clock,
} from './adapter.ts'
export {
  Client,
  type ClientEvents,
  type GattTarget,
  type RemoteCharacteristic,
  type RemoteDatabase,
  type RemoteDescriptor,
  type RemoteService,
  type Disconnection,
} from './client.ts'
export { Central, advertisingData, type AdvertiseOptions, type CentralEvents } from './peripheral.ts'
export * from './errors.ts'

// Building blocks the API hands out or takes.
export { GattServer, type SendResult, type ServerConnection } from '../att/server.ts'
export {
  AttributeDatabase,
  type DatabaseDeclaration,
  type ServiceDeclaration,
  type CharacteristicDeclaration,
  type DescriptorDeclaration,
  type CharacteristicRef,
  type ServiceRef,
  type PropertyName,
  type Security,
  type ReadHandler,
  type WriteHandler,
} from '../att/database.ts'
export { MemoryCacheStore, type GattCacheStore, type CachePolicy } from '../att/cache.ts'
export { parseUuid, uuidEquals, shortUuid, type Uuid } from '../att/uuid.ts'
export { AdBuilder, parseAd, type ParsedAd } from '../gap/ad.ts'
export { statusName } from '../hci/constants.ts'
export { VirtualLink } from './virtual/link.ts'
export type { VirtualController } from './virtual/controller.ts'
export { parseTransportSpec, formatTransportSpec, TRANSPORT_FORMS, type TransportSpec } from './transports/index.ts'
export { startLogging, startSnoop, startFromEnv } from './log.ts'

// Protocol-level testing (docs/TESTING.md): device twins, fault injection, the flight recorder.
export {
  buildTwin,
  buildTwinFromFile,
  loadTwin,
  parseTwin,
  formatTwin,
  startTwin,
  TwinError,
  type Twin,
  type TwinOptions,
  type RunningTwin,
  type TwinWrite,
} from './twin/index.ts'
export {
  withFaults,
  parseFaultPlan,
  loadFaultPlan,
  FaultPlanError,
  FaultTransport,
  type FaultPlan,
  type FaultRule,
} from './faults/index.ts'
export { flightRecorder, FlightRecorder } from './flight-recorder.ts'
export { flightRecordingOf } from './call-trace.ts'
