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
  type ScanStream,
  type FindOptions,
  type ConnectTarget,
  type ConnectOptions,
  type Advertisement,
  type ControllerInfo,
  type Clock,
} from './adapter.ts'
export {
  Client,
  type ClientEvents,
  type ClientOptions,
  type ServicesChanged,
  type DataLength,
  type NotificationOptions,
  type NotificationStream,
  type GattTarget,
  type RemoteCharacteristic,
  type RemoteDatabase,
  type RemoteDescriptor,
  type RemoteService,
  type Disconnection,
} from './client.ts'
export { Central, advertisingData, type AdvertiseOptions, type CentralEvents } from './peripheral.ts'
export type { AcceptListEntry, ScanPhy } from './scan-options.ts'
export type { QueuePolicy, OverflowPolicy } from '../att/bounded-queue.ts'
export type {
  ConnectionParameterOptions,
  LinkParameters,
  LinkPhy,
  Phy,
  PhyPreference,
} from './link-options.ts'
export {
  ChannelListener,
  type ChannelHandler,
  type ChannelParameterOptions,
  type CreditChannel,
  type ListenOptions,
  type OpenChannelOptions,
  type SecurityRequirements,
} from './channels.ts'
export { hcikitHome } from './home.ts'
export { gattCacheDir, homeCacheStore, cachePeerId, listCachedPeers, type CachedPeer } from './cache-dir.ts'
export * from './errors.ts'

// The link underneath a Client or a Central (client.connection, central.connection).
export type {
  Connection,
  ConnectionEvents,
  ActiveParameters,
  Phy as ConnectionPhy,
  Role,
  AddressType,
  PeerAddress,
} from '../gap/connections.ts'
export type { Signal as ConnectionCallOptions } from '../gap/connection.ts'

// Building blocks the API hands out or takes.
export { GattServer, type SendResult, type ServerConnection, type ServerSecurity } from '../att/server.ts'
export type { PreparedWrite } from '../att/server-connection.ts'
export type { RemoteDatabaseJson, ServiceJson, RemoteAttribute } from '../att/remote-database.ts'
export type { ChannelState, ChannelStats } from '../att/l2cap/credit-channel.ts'
export type { LinkSecurity } from '../att/l2cap/link.ts'
export type { ConnectionParameters } from '../att/l2cap/signaling.ts'
export type { AclBufferSize } from '../hci/acl-flow.ts'
export {
  AttributeDatabase,
  type DatabaseDeclaration,
  type ServiceDeclaration,
  type CharacteristicDeclaration,
  type DescriptorDeclaration,
  type CharacteristicRef,
  type ServiceRef,
  type DescriptorRef,
  type PropertyName,
  type Security,
  type SecurityRequirement,
  type Requirement,
  type ReadHandler,
  type WriteHandler,
  type WriteOptions,
  type PresentationFormat,
  type GapOptions,
  type GattOptions,
  type Attribute,
  type AttributeKind,
  type SpecialAttribute,
  type DatabaseChange,
} from '../att/database.ts'
export { MemoryCacheStore, type GattCacheStore, type CachePolicy, type CacheEntry } from '../att/cache.ts'
export { JsonFileCacheStore } from '../att/cache-file.ts'
export { parseUuid, uuidEquals, shortUuid, type Uuid } from '../att/uuid.ts'
export {
  AdBuilder,
  parseAd,
  type ParsedAd,
  type AdStructure,
  type IndoorPositioning,
  type TransportBlock,
} from '../gap/ad.ts'
export type {
  PairingDelegate,
  PairingRequestInfo,
  PairingSummary,
  SecurityLevel,
  SecurityState,
  IoCapability,
  PairingMethod,
} from '../gap/pairing-delegate.ts'
export {
  MemoryKeyStore,
  type KeyStore,
  type Bond,
  type LongTermKey,
  type LocalKeys,
  type DeviceAddress,
} from '../gap/smp/keys.ts'
export { JsonFileKeyStore } from '../gap/smp/key-file.ts'
export { createScOobData } from '../gap/smp/oob.ts'
export type { P256KeyPair, P256PublicKey } from '../gap/smp/p256.ts'
export type { ScOobData, PeerOobData } from '../gap/smp/pairing-types.ts'
export { generateRpa, resolvesWith, randomAddressKind, type RandomAddressKind } from '../gap/privacy.ts'
export { statusName } from '../hci/constants.ts'
export { VirtualLink } from './virtual/link.ts'
export type { VirtualController } from './virtual/controller.ts'
export { parseTransportSpec, formatTransportSpec, TRANSPORT_FORMS, type TransportSpec } from './transports/index.ts'
export {
  startLogging,
  startSnoop,
  startFromEnv,
  PACKET_CHANNEL,
  LOG_CHANNEL,
  type PacketMessage,
  type Subscription as LogSubscription,
  type CaptureSubscription,
  type SnoopOptions,
} from './log.ts'
export type { NoteHost } from './notes.ts'

// Protocol-level testing (docs/TESTING.md): device twins, fault injection, the flight recorder.
export {
  buildTwin,
  buildTwinFromFile,
  loadTwin,
  parseTwin,
  formatTwin,
  startTwin,
  TwinError,
  type BuildTwinOptions,
  type BuiltTwin,
  type TwinCandidate,
  type Twin,
  type TwinService,
  type TwinCharacteristic,
  type TwinDescriptor,
  type TwinInclude,
  type TwinNotification,
  type TwinAttribute,
  type TwinReaction,
  type TwinOptions,
  type RunningTwin,
  type TwinCentral,
  type TwinWrite,
  type TwinWriteKind,
} from './twin/index.ts'
export {
  withFaults,
  parseFaultPlan,
  loadFaultPlan,
  FaultPlanError,
  FaultTransport,
  type FaultPlan,
  type FaultRule,
  type FaultMatch,
  type FaultTransportOptions,
  type InjectedFault,
} from './faults/index.ts'
export type { Transport, HciPacket } from '../hci/transport.ts'
export type { CaptureRecord, CaptureNote } from '../hci/snoop/record.ts'
export {
  flightRecorder,
  FlightRecorder,
  type FlightRecorderOptions,
  type FlightRecorderEntry,
} from './flight-recorder.ts'
export { flightRecordingOf } from './call-trace.ts'
