/**
 * The adapter: one controller, brought up and owned (Core v5.4 Vol 4 Part E 7.3.2 Reset and the
 * bring-up of hci/bring-up.ts; Vol 3 Part C 9 GAP modes and procedures through gap/).
 *
 *   await using adapter = await open({ transport: 'virtual' })   // or 'tcp:127.0.0.1:9001', 'usb', 'uart:/dev/ttyACM0'
 *   for await (const ad of adapter.scan({ services: ['180d'], timeout: 5000 })) { ... }
 *   const device = await adapter.find({ name: 'Polar H10' }, { timeout: 10_000 })
 *   await using client = await adapter.connect(device, { timeout: 10_000 })
 *   // peripheral side
 *   const server = adapter.serve({ services: [...] })
 *   await adapter.advertise({ name: 'HRM', services: ['180d'] })
 *   adapter.on('connection', (central) => ...)
 *
 * `open()` is straight-line: open the transport (the spec string, else HCIKIT_TRANSPORT, else
 * 'virtual'), bring the controller up, and set up GAP; HCIKIT_LOG / HCIKIT_SNOOP are honoured.
 * Disposing the adapter disconnects every link, stops advertising and scanning, and closes the
 * transport. For 'virtual', the adapter's controller joins `link` (createVirtualLink()), or a
 * link of its own, in virtual time that runs as fast as the event loop allows; the adapter's
 * clock is that link's clock, so every `timeout` is virtual time there.
 *
 * Security (Core v5.4 Vol 3 Part H, gap/security-manager.ts): every link runs SMP. `pairing` is
 * the application's PairingDelegate (IO capability, passkeys, comparisons, accepting requests),
 * `bonds` the bond store (default in memory; a path keeps them in a JSON file, 0600). A reconnect
 * to a bonded peer encrypts with the stored LTK; `connect(…, { security })` reaches a level before
 * discovery; a GATT request refused for lack of security encrypts from the bond or pairs, then is
 * retried once. `bonds()` and `unpair()` manage the store.
 *
 * Privacy (`privacy: true`): we scan, connect and advertise from a resolvable private address
 * made from our IRK and changed every 15 min ('address' event); scan results carry the
 * advertiser's `identity` when a bond's IRK resolves its private address, and `connect(IDENTITY)`
 * reaches a bonded device at the private address it was last seen with (src/address-book.ts).
 *
 * Events (a typed map, state changes only): 'connection' (a central connected to us), 'state'
 * ('closed', with the transport's error when it failed), 'address' (our private address changed).
 */
import { HciHost, type Clock, type ControllerInfo } from '../hci/host.ts'
import type { Transport } from '../hci/transport.ts'
import { Connections, type Connection } from '../gap/connections.ts'
import { Scanner, type ScanFilter } from '../gap/scanner.ts'
import { Advertiser } from '../gap/advertiser.ts'
import { AttributeDatabase, type DatabaseDeclaration } from '../att/database.ts'
import { GattServer } from '../att/server.ts'
import { MemoryCacheStore, type CachePolicy, type GattCacheStore } from '../att/cache.ts'
import { VirtualLink } from './virtual/link.ts'
import type { VirtualController } from './virtual/controller.ts'
import { VirtualScheduler, clockFrom } from './virtual/scheduler.ts'
import { formatTransportSpec, openTransport, parseTransportSpec, type TransportSpec } from './transports/index.ts'
import { startFromEnv, type Subscription } from './log.ts'
import {
  validateFaultPlan,
  withFaults,
  type FaultPlan,
  type FaultTransport,
  type InjectedFault,
} from './faults/index.ts'
import { CallTracer } from './call-trace.ts'
import { Client } from './client.ts'
import { Central, advertisingData, type AdvertiseOptions } from './peripheral.ts'
import { BondedSubscriptions } from './bonded-subscriptions.ts'
import { SecurityManager } from '../gap/security-manager.ts'
import type { PairingDelegate, SecurityLevel } from '../gap/pairing-delegate.ts'
import { MemoryKeyStore, type Bond, type KeyStore, type LocalKeys } from '../gap/smp/keys.ts'
import { JsonFileKeyStore } from '../gap/smp/key-file.ts'
import { OwnAddress } from '../gap/own-address.ts'
import { ClosedError, NotFoundError, StateError, deadline, withDeadline, type CallOptions } from './errors.ts'
import { Emitter } from './emitter.ts'
import { cachePeerId } from './cache-dir.ts'
import { AddressBook, bondTarget, identityOfReport, type ConnectTarget } from './address-book.ts'
import { ChannelListeners, type ChannelHandler, type ChannelListener, type ListenOptions } from './channels.ts'
import {
  setAcceptList,
  toGapScanOptions,
  type Advertisement,
  type ScanOptions,
  type ScanStream,
} from './scan-options.ts'
import {
  checkDataLength,
  checkMtu,
  phyMasks,
  toConnectionParameters,
  type ConnectionParameterOptions,
  type PhyPreference,
} from './link-options.ts'

export type { Advertisement, ConnectTarget, ControllerInfo, Clock, ScanOptions, ScanStream }

export interface OpenOptions extends CallOptions {
  /**
   * 'virtual', 'tcp:HOST:PORT', 'unix:PATH', 'uart:PATH[@BAUD]', 'usb[:VID:PID]', 'replay:FILE';
   * default HCIKIT_TRANSPORT, else 'virtual'.
   */
  transport?: string | TransportSpec
  /** 'virtual': the link to join (default: a new one of this adapter's own). */
  link?: VirtualLink
  /** 'virtual': the controller's public address (default derived from the link's seed). */
  address?: string
  /** 'virtual': a name for logs. */
  name?: string
  /** GATT cache for connect() (default in memory, per adapter; `homeCacheStore()` shares the CLI's); false: always discover. */
  cache?: GattCacheStore | false
  /** Our ATT receive MTU on every link, both roles (23..65535, default 517); connect({ mtu }) for one link. */
  mtu?: number
  /** How this adapter pairs: IO capability, passkeys, comparisons, accepting requests (default Just Works, accept). */
  pairing?: PairingDelegate
  /** Where bonds are kept: a KeyStore, or the path of a JSON file (default in memory, per adapter). */
  bonds?: KeyStore | string
  /**
   * Privacy (Vol 3 Part C 10.7): scan, connect and advertise from a resolvable private address
   * made from our IRK, changed every `rotateMs` (default 15 min). Bonded peers resolve it.
   */
  privacy?: boolean | { rotateMs?: number }
  /** Environment for HCIKIT_TRANSPORT, HCIKIT_LOG, HCIKIT_SNOOP (default process.env). */
  env?: NodeJS.ProcessEnv
  /**
   * Show this adapter's HCI traffic in HCIKIT_LOG / HCIKIT_SNOOP / --snoop (default true). The
   * ready-made virtual devices (src/devices) open with false, so a session's log and capture hold
   * the traffic of the session's own adapter only.
   */
  diagnostics?: boolean
  /** Inject these faults into the transport's packets (src/faults/; `hcikit --faults rules.json`). */
  faults?: FaultPlan
}

export type AdapterState = 'open' | 'closed'

export interface AdapterEvents {
  /** A central connected to us (we advertised connectable). */
  connection: Central
  /** The adapter closed: by close()/dispose, or because the transport failed (`error`). */
  state: { state: AdapterState; error?: Error }
  /** Privacy: our resolvable private address changed. */
  address: { address: string; type: 'random' }
}

/** Which advertisements scan() and find() yield (gap/scan-filter.ts): every given criterion must hold. */
export type { ScanFilter }

/** find()'s options: the scan's, without the filter (find's first argument) and `duplicates`. */
export type FindOptions = Omit<ScanOptions, keyof ScanFilter | 'duplicates'>

export interface ConnectOptions extends CallOptions {
  /**
   * Reach this security level before discovery: encrypt from the bond when its key is good
   * enough, else pair. Default: encrypt from the bond when there is one (a reconnect to a bonded
   * peer is encrypted with the stored LTK), never pair; 'none' leaves the link unencrypted. A
   * protected request still pairs or encrypts when needed.
   */
  security?: SecurityLevel | 'none'
  /**
   * Exchange the MTU and discover the database (from the cache when valid) before resolving (default true).
   * The MTU is exchanged either way.
   */
  discover?: boolean
  /** 'validate' (default: the Database Hash decides), 'trust', or 'off' (always discover). */
  cachePolicy?: CachePolicy
  /** Our ATT receive MTU on this link (23..65535; default the adapter's, 517). */
  mtu?: number
  /** Connection parameters to ask for, ms (default 30-50 ms interval, latency 0, 4000 ms supervision timeout). */
  parameters?: ConnectionParameterOptions
  /** Preferred PHYs once connected (LE Set PHY): ['2M'], ['1M', '2M'], or { tx, rx }. */
  phys?: PhyPreference
  /** LE Data Length to send with once connected, octets per packet (27..251). */
  dataLength?: number
  /** Ask for the peer's Service Changed indications, so 'servicesChanged' fires (one Write Request; default true). */
  serviceChanged?: boolean
}

/** The reason a scan ends when the adapter closes cleanly (never thrown to the caller). */
const ADAPTER_CLOSED = Symbol('adapter closed')

/** Timers of the real world, for hardware transports. */
export const realClock: Clock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  now: () => Date.now(),
}

/**
 * A shared virtual air for several adapters in one process, in virtual time that jumps ahead
 * whenever the event loop is idle (fast, deterministic for a given seed).
 */
export function createVirtualLink(o: { seed?: number } = {}): VirtualLink {
  const seed = o.seed ?? 1
  return new VirtualLink({ seed, scheduler: new VirtualScheduler({ seed, auto: true }) })
}

// HCIKIT_LOG / HCIKIT_SNOOP: started with the first open adapter, stopped with the last.
let logUsers = 0
let logSubs: Subscription[] = []

/** Throws CaptureError (counting nothing) when HCIKIT_SNOOP cannot be written. */
function startLog(env: NodeJS.ProcessEnv): void {
  if (logUsers === 0) logSubs = startFromEnv(env)
  logUsers++
}

async function stopLog(): Promise<void> {
  if (--logUsers > 0) return
  const subs = logSubs
  logSubs = []
  await Promise.all(subs.map((s) => s.close()))
}

/** Open a transport and bring the controller up. The adapter owns both. */
export async function open(o: OpenOptions = {}): Promise<Adapter> {
  const env = o.env ?? process.env
  const faults = o.faults === undefined ? undefined : validateFaultPlan(o.faults) // before anything is opened
  const spec =
    typeof o.transport === 'object'
      ? o.transport
      : parseTransportSpec(o.transport ?? env['HCIKIT_TRANSPORT'] ?? 'virtual')
  if (o.mtu !== undefined) checkMtu(o.mtu)
  // The key store is read before the controller comes up: a bad file fails before anything opens,
  // and no file I/O stands between the bring-up and the caller's first command (a `replay:`
  // transport plays its packets on without waiting, src/transports/replay.ts).
  const store = typeof o.bonds === 'string' ? new JsonFileKeyStore(o.bonds) : (o.bonds ?? new MemoryKeyStore())
  const local = await store.localKeys()
  // Before anything opens, so that an HCIKIT_SNOOP path that cannot be written rejects first.
  startLog(env)
  let transport: Transport
  let clock: Clock
  let ownedScheduler: VirtualScheduler | undefined
  let controller: VirtualController | undefined
  if (spec.kind === 'virtual') {
    const link = o.link ?? createVirtualLink()
    if (!o.link) ownedScheduler = link.scheduler as VirtualScheduler
    // Loaded on demand: a hardware transport never needs the emulator (docs/PERFORMANCE.md).
    const { VirtualController } = await import('./virtual/controller.ts')
    controller = new VirtualController(link, { timing: 'fast', address: o.address, name: o.name })
    transport = controller.attach()
    clock = clockFrom(link.scheduler)
  } else {
    transport = await openTransport(spec, { env, signal: o.signal, timeout: o.timeout }).catch(async (err: unknown) => {
      await stopLog()
      throw err
    })
    clock = realClock
  }
  const injector = faults ? withFaults(transport, faults, { clock }) : undefined
  transport = injector ?? transport
  const name = o.name ?? formatTransportSpec(spec)
  const host = new HciHost(transport, { clock, diagnostics: o.diagnostics ?? true, name })
  // Public API calls tagged in the log and captures; a failed one leaves a flight recording (call-trace.ts).
  const calls = new CallTracer({ clock, diagnostics: o.diagnostics ?? true, env, host: { id: host.id, name } })
  if (injector) injector.host = { id: host.id, name }
  try {
    const bringUp = () => withDeadline(clock, o, 'controller bring-up', (signal) => host.init({ signal }))
    const info = await calls.run('open: controller bring-up', bringUp, o.signal)
    let own: OwnAddress | undefined
    // The adapter pauses its advertising around each change of our private address.
    let adapter: Adapter | undefined
    if (o.privacy) {
      const rotateMs = typeof o.privacy === 'object' ? o.privacy.rotateMs : undefined
      own = new OwnAddress(host, clock, local.irk, {
        rotateMs,
        around: (apply) => (adapter ? adapter.pausingAdvertising(apply) : apply()),
      })
      await own.start()
    }
    adapter = new Adapter(host, info, clock, { ...o, ownedScheduler, controller, store, local, own, calls, injector })
    return adapter
  } catch (err) {
    calls.close()
    await host.close().catch(() => undefined)
    if (controller) controller.link.remove(controller)
    ownedScheduler?.close()
    await stopLog()
    throw err
  }
}

interface AdapterInternals extends OpenOptions {
  ownedScheduler: VirtualScheduler | undefined
  controller: VirtualController | undefined
  store: KeyStore
  local: LocalKeys
  own: OwnAddress | undefined
  calls: CallTracer
  injector: FaultTransport | undefined
}

export class Adapter implements AsyncDisposable {
  /** 'open' until closed (or the transport failed). */
  state: AdapterState = 'open'
  /** The GATT server, once serve() was called. */
  gattServer: GattServer | undefined
  /** The HCI host underneath (commands, events, ACL) for what the API does not cover. */
  readonly hci: HciHost
  /** The virtual controller, when the transport is 'virtual'. */
  readonly virtualController: VirtualController | undefined
  private readonly connections: Connections
  /** SMP on every link, the bonds, the pairing delegate. */
  readonly security: SecurityManager
  private readonly scanner: Scanner
  private readonly advertiser: Advertiser
  private readonly cache: GattCacheStore | undefined
  private readonly channels: ChannelListeners
  /** Bonded centrals' CCCD values across their connections (Vol 3 Part G 3.3.3.3). */
  private readonly subscriptions = new BondedSubscriptions((h) => this.gattServer?.db.get(h)?.special === 'cccd')
  private readonly addresses = new AddressBook((o) => this.scanning(toGapScanOptions(o), o))
  /** Our private address (privacy on), else undefined. */
  private readonly own: OwnAddress | undefined
  private readonly centralSet = new Set<Central>()
  private readonly clientSet = new Set<Client>()
  private readonly events = new Emitter<AdapterEvents>()
  private readonly ownedScheduler: VirtualScheduler | undefined
  private advertising: AdvertiseOptions | undefined
  private closing: Promise<void> | undefined
  private readonly calls: CallTracer
  private readonly injector: FaultTransport | undefined

  constructor(
    host: HciHost,
    /** What bring-up read from the controller: version, features, buffers, address. */
    readonly info: ControllerInfo,
    /** The adapter's time: virtual time on a virtual link, else the real timers. */
    readonly clock: Clock,
    o: AdapterInternals,
  ) {
    this.hci = host
    this.virtualController = o.controller
    this.ownedScheduler = o.ownedScheduler
    this.calls = o.calls
    this.injector = o.injector
    this.cache = o.cache === false ? undefined : (o.cache ?? new MemoryCacheStore())
    // Scanner, advertiser and connections agree on one command set per host (gap/command-set.ts).
    this.connections = new Connections(host, { clock, attMtu: o.mtu })
    // Before anything else listens for connections: every link gets its security agent first.
    const own = o.own
    this.own = own
    this.security = new SecurityManager(host, this.connections, {
      clock,
      store: o.store,
      local: o.local,
      identity: { address: info.address, type: 'public' },
      delegate: o.pairing,
      ownAddress: own ? () => own.current! : undefined,
    })
    own?.onChange((a) => this.events.emit('address', { address: a.address, type: 'random' }))
    this.scanner = new Scanner(host, clock)
    this.advertiser = new Advertiser(host)
    this.channels = new ChannelListeners(() => this.connections.byHandle.values())
    this.connections.onConnection((c) => {
      this.channels.attach(c)
      this.peripheralConnected(c)
    })
    host.onClose((err) => {
      if (this.state === 'closed') return
      this.state = 'closed'
      this.events.emit('state', err ? { state: 'closed', error: err } : { state: 'closed' })
    })
  }

  /** Our public address, "AA:BB:CC:DD:EE:FF". */
  get address(): string {
    return this.info.address.toUpperCase()
  }

  /** With privacy on: the resolvable private address we use now (it changes on a timer). */
  get privateAddress(): string | undefined {
    return this.own?.current?.address
  }

  /** Own_Address_Type for scanning, connecting and advertising: random (our RPA) with privacy on. */
  private get ownAddressType(): number {
    return this.own ? 1 : 0
  }

  /** The faults injected so far, in order, when opened with `faults` (each also a note in the log and captures). */
  get injectedFaults(): readonly InjectedFault[] {
    return this.injector?.injected ?? []
  }

  on<K extends keyof AdapterEvents>(event: K, cb: (e: AdapterEvents[K]) => void): () => void {
    return this.events.on(event, cb)
  }

  private open(what: string): void {
    if (this.state !== 'open') throw new ClosedError(`${what}: the adapter is closed`)
  }

  // --- central ---------------------------------------------------------------------------------

  /**
   * Advertisements that pass the filter, until `timeout` (the loop then ends), the signal aborts
   * (the loop throws its reason) or you leave the loop. One scan at a time per adapter. Timing,
   * PHYs, the controller-side accept list and the queue policy are options (src/scan-options.ts);
   * the stream's `dropped` counts what a loop that fell behind lost. The loop also ends when the
   * adapter closes: quietly when the transport ended cleanly (a replayed capture that is over),
   * with the transport's error when it failed.
   */
  scan(o: ScanOptions = {}): ScanStream {
    let from: number | undefined
    let to: number | undefined
    const loop = this.userScan(o, (start) => {
      if (start) from = this.scanner.dropped
      else to = this.scanner.dropped
    })
    return Object.defineProperty(loop, 'dropped', {
      get: () => (from === undefined ? 0 : (to ?? this.scanner.dropped) - from),
    }) as ScanStream
  }

  private async *userScan(o: ScanOptions, mark: (start: boolean) => void): AsyncGenerator<Advertisement> {
    this.open('scan')
    const g = toGapScanOptions(o)
    await this.addresses.lookup.userScanStarts()
    mark(true)
    try {
      yield* this.scanning(g, o)
    } finally {
      mark(false)
      this.addresses.lookup.userScanEnded()
    }
  }

  /**
   * One scan, the user's or the address lookup's: every advertisement is remembered (with the
   * identity a bond resolves its address to) and reported.
   */
  private async *scanning(g: ReturnType<typeof toGapScanOptions>, o: ScanOptions): AsyncGenerator<Advertisement> {
    if (o.acceptList) await setAcceptList(this.hci, o.acceptList, o)
    // The user's filter sees the identity too (it runs inside the scanner, before the loop below).
    const user = g.filter
    const filter = user && ((ad: Advertisement) => user(this.withIdentity(ad)))
    const closed = new AbortController()
    const off = this.on('state', (s) => closed.abort(s.error ?? ADAPTER_CLOSED))
    const signal = o.signal ? AbortSignal.any([o.signal, closed.signal]) : closed.signal
    const scan = { ...g, filter, ownAddressType: this.ownAddressType, timeout: o.timeout, signal }
    try {
      for await (const ad of this.scanner.scan(scan)) {
        // Resolving an RPA is one AES per bond: once per advertisement (the filter did it if given).
        if (!user) this.withIdentity(ad)
        this.addresses.remember(ad.address, ad.addressType, ad.identity)
        yield ad
      }
    } catch (e) {
      if (e !== ADAPTER_CLOSED) throw e
    } finally {
      off()
    }
  }

  /** The advertisement with the identity its controller or one of our bonds resolved, when one did. */
  private withIdentity(ad: Advertisement): Advertisement {
    const identity = identityOfReport(ad) ?? this.security.identityOf({ address: ad.address, type: ad.addressType })
    if (identity) ad.identity = identity
    return ad
  }

  /** The first advertisement that passes the filter; 'NOT_FOUND' after `timeout` (default 10000 ms). */
  find(filter: ScanFilter, o: FindOptions = {}): Promise<Advertisement> {
    return this.calls.run(`find ${describe(filter)}`, () => this.findNow(filter, o), o.signal)
  }

  private async findNow(filter: ScanFilter, o: FindOptions): Promise<Advertisement> {
    const timeout = o.timeout ?? 10_000
    for await (const ad of this.scan({ ...o, ...filter, timeout })) return ad
    throw new NotFoundError(`no advertisement matched ${describe(filter)} within ${timeout} ms`, {
      hint: 'is the device advertising and in range? `hcikit scan` shows what is around',
    })
  }

  /**
   * Connect to a device (an advertisement from scan/find, or an address: with its type, a bonded
   * identity at the private address it was last seen with, the type last seen in a scan, or else
   * found with a scan inside the call's `timeout`), encrypt from the bond (or reach `security`),
   * exchange the MTU and discover its database. Dispose the client (or disconnect) to end the link.
   */
  async connect(target: ConnectTarget, o: ConnectOptions = {}): Promise<Client> {
    this.open('connect')
    const parameters = o.parameters ? toConnectionParameters(o.parameters) : undefined
    if (o.mtu !== undefined) checkMtu(o.mtu)
    if (o.dataLength !== undefined) checkDataLength(o.dataLength)
    if (o.phys !== undefined) phyMasks(o.phys)
    const timeout = o.timeout ?? 10_000
    const name = typeof target === 'string' ? target : target.address
    const d = deadline(this.clock, { timeout, signal: o.signal }, `connecting to ${name}`)
    const call = this.calls.begin(`connect ${name}`, o.signal)
    let connection: Connection | undefined
    try {
      const peer = await this.addresses.peerOf(target, d.signal!, timeout)
      const link = {
        timeout,
        signal: d.signal,
        parameters,
        attMtu: o.mtu,
        ownAddressType: this.ownAddressType,
      }
      connection = await this.calls.run('connect: link', () => this.connections.connect(peer, link))
      const client = new Client(connection, {
        clock: this.clock,
        cache: o.cachePolicy === 'off' ? undefined : this.cache,
        cachePolicy: o.cachePolicy,
        security: this.security.agent(connection),
        calls: this.calls,
      })
      if (o.security === undefined) await client.encryptFromBond({ signal: d.signal })
      else if (o.security !== 'none') await client.secure(o.security, { signal: d.signal })
      if (o.dataLength !== undefined) await client.setDataLength(o.dataLength, { signal: d.signal })
      if (o.phys !== undefined) await client.setPhy(o.phys, { signal: d.signal })
      await client.setUp({ signal: d.signal, discover: o.discover, serviceChanged: o.serviceChanged })
      this.clientSet.add(client)
      void connection.disconnected.then(() => this.clientSet.delete(client))
      call.done()
      return client
    } catch (err) {
      if (connection && !connection.closed) await connection.disconnect(0x13).catch(() => undefined)
      throw call.failed(err)
    } finally {
      d.done()
    }
  }

  /** Every bond in the store (keys in wire order; see gap/smp/keys.ts). */
  bonds(o: CallOptions = {}): Promise<Bond[]> {
    return withDeadline(this.clock, o, 'reading the bonds', () => this.security.bonds())
  }

  /**
   * Forget a peer: remove its bond (by identity address, or an address that resolves to it).
   * Resolves false when there was none. Links open to it stay up, no longer bonded.
   */
  unpair(peer: string | { address: string; addressType?: 'public' | 'random' }, o: CallOptions = {}): Promise<boolean> {
    const target = bondTarget(peer)
    this.subscriptions.forget(typeof peer === 'string' ? peer : peer.address)
    return withDeadline(this.clock, o, 'removing the bond', () => this.security.unpair(target))
  }

  /** Peripherals we are connected to (clients from connect()). */
  get clients(): readonly Client[] {
    return [...this.clientSet]
  }

  /**
   * Forget the GATT database cached for `address` (both address types, or the one given), so the
   * next connect() discovers it again. Resolves true when something was stored. Open clients keep
   * the database they have.
   */
  async clearCache(address: string, o: { addressType?: 'public' | 'random' } = {}): Promise<boolean> {
    const store = this.cache
    if (!store) return false
    let found = false
    for (const type of o.addressType ? [o.addressType] : (['public', 'random'] as const)) {
      const peer = cachePeerId(address.trim(), type)
      if (await store.load(peer).catch(() => undefined)) found = true
      await store.delete(peer)
    }
    return found
  }

  // --- L2CAP -----------------------------------------------------------------------------------

  /**
   * Accept LE credit-based channels on `psm` on every link, open now or later, both roles; the
   * handler gets each channel (a Duplex, src/channels.ts) and its connection. One listener per PSM
   * ('PSM_IN_USE'); close() the returned listener to stop accepting.
   */
  listen(psm: number, handler: ChannelHandler, o: ListenOptions = {}): ChannelListener {
    this.open('listen')
    return this.channels.listen(psm, handler, o)
  }

  // --- peripheral ------------------------------------------------------------------------------

  /**
   * Serve a GATT database (GAP and GATT services are added) to every central that connects.
   * One database per adapter: add or remove services on `server.db` later.
   */
  serve(declaration: DatabaseDeclaration = {}): GattServer {
    this.open('serve')
    if (this.gattServer)
      throw new StateError('ALREADY_SERVING', 'serve: this adapter already serves a database', {
        hint: 'add or remove services on adapter.gattServer.db instead',
      })
    const server = new GattServer(new AttributeDatabase(declaration))
    this.gattServer = server
    return server
  }

  /** Start advertising (replacing what was advertised). Connectable by default. */
  async advertise(o: AdvertiseOptions = {}): Promise<void> {
    this.open('advertise')
    const { data, scanResponse } = advertisingData(o)
    const advertise = (): Promise<void> =>
      withDeadline(this.clock, o, 'advertise', (signal) =>
        this.advertiser.start({
          data,
          scanResponse,
          connectable: o.connectable ?? true,
          ownAddressType: this.ownAddressType,
          intervalMs: o.interval,
          signal,
        }),
      )
    await this.calls.run('advertise', advertise, o.signal)
    this.advertising = o
  }

  /** Run `fn` with advertising stopped, then advertise again as before (privacy: a new address). @internal */
  async pausingAdvertising(fn: () => Promise<void>): Promise<void> {
    const adv = this.advertising
    if (!adv || !this.advertiser.advertising || this.state !== 'open') return fn()
    await this.advertiser.stop()
    try {
      await fn()
    } finally {
      if (this.advertising === adv && this.state === 'open') await this.advertise(adv).catch(() => undefined)
    }
  }

  /** Stop advertising. */
  async stopAdvertising(o: CallOptions = {}): Promise<void> {
    this.advertising = undefined
    if (this.state !== 'open') return
    const stop = () => withDeadline(this.clock, o, 'stop advertising', () => this.advertiser.stop())
    await this.calls.run('stop advertising', stop, o.signal)
  }

  /** Centrals connected to us. */
  get centrals(): readonly Central[] {
    return [...this.centralSet]
  }

  private peripheralConnected(c: Connection): void {
    if (c.role !== 'peripheral') return
    const gatt = this.gattServer?.attach(c.att, c.security)
    const central = new Central(c, gatt, this.clock, this.security.agent(c), this.calls)
    if (gatt) this.subscriptions.track(c, gatt, () => central.identity)
    this.centralSet.add(central)
    void c.disconnected.then(() => {
      this.centralSet.delete(central)
      const adv = this.advertising
      if (adv && (adv.connectable ?? true) && (adv.restart ?? true) && this.state === 'open' && !this.closing) {
        void this.advertise(adv).catch(() => undefined)
      }
    })
    this.events.emit('connection', central)
  }

  // --- closing ---------------------------------------------------------------------------------

  /** Disconnect everything, stop advertising, close the transport. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown()
    return this.closing
  }

  private async shutdown(): Promise<void> {
    this.advertising = undefined
    if (this.state === 'open') {
      const links = [...this.connections.byHandle.values()]
      await Promise.all(
        links.map((c) =>
          withDeadline(this.clock, { timeout: 2000 }, 'disconnect', (signal) => c.disconnect(0x13, { signal })).catch(
            () => undefined,
          ),
        ),
      )
      if (this.advertiser.advertising)
        await withDeadline(this.clock, { timeout: 2000 }, 'stop advertising', () => this.advertiser.stop()).catch(
          () => undefined,
        )
    }
    this.channels.close()
    this.connections.close()
    this.security.close()
    this.own?.stop()
    this.advertiser.close()
    this.gattServer?.close()
    await this.hci.close().catch(() => undefined)
    this.calls.close()
    if (this.virtualController) this.virtualController.link.remove(this.virtualController)
    this.ownedScheduler?.close()
    if (this.state === 'open') {
      this.state = 'closed'
      this.events.emit('state', { state: 'closed' })
    }
    await stopLog()
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  toString(): string {
    return `Adapter(${this.address})`
  }
}

function describe(f: ScanFilter): string {
  const parts: string[] = []
  if (f.name !== undefined) parts.push(`name ${String(f.name)}`)
  if (f.services?.length) parts.push(`services ${f.services.join(',')}`)
  if (f.addresses?.length) parts.push(`address ${f.addresses.join(',')}`)
  if (f.manufacturer !== undefined)
    parts.push(
      `manufacturer ${[f.manufacturer]
        .flat()
        .map((m) => `0x${m.toString(16).padStart(4, '0')}`)
        .join(',')}`,
    )
  if (f.minRssi !== undefined) parts.push(`rssi >= ${f.minRssi}`)
  if (f.filter) parts.push('your filter')
  return parts.length ? parts.join(', ') : '(any)'
}
