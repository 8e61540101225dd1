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
 * Events (a typed map, state changes only): 'connection' (a central connected to us), 'state'
 * ('closed', with the transport's error when it failed).
 */
import { HciHost, type Clock, type ControllerInfo } from '../hci/host.ts'
import type { Transport } from '../hci/transport.ts'
import { Connections, type Connection } from '../gap/connections.ts'
import { Scanner, type Advertisement, type ScanFilter } from '../gap/scanner.ts'
import { Advertiser } from '../gap/advertiser.ts'
import { AttributeDatabase, type DatabaseDeclaration } from '../att/database.ts'
import { GattServer } from '../att/server.ts'
import { MemoryCacheStore, type CachePolicy, type GattCacheStore } from '../att/cache.ts'
import { VirtualLink } from './virtual/link.ts'
import { VirtualController } from './virtual/controller.ts'
import { VirtualScheduler, clockFrom } from './virtual/scheduler.ts'
import { formatTransportSpec, openTransport, parseTransportSpec, type TransportSpec } from './transports/index.ts'
import { startFromEnv, type Subscription } from './log.ts'
import { Client } from './client.ts'
import { Central, advertisingData, type AdvertiseOptions } from './peripheral.ts'
import { ClosedError, NotFoundError, deadline, withDeadline, type CallOptions } from './errors.ts'

export type { Advertisement, ControllerInfo, Clock }

export interface OpenOptions extends CallOptions {
  /** 'virtual', 'tcp:HOST:PORT', 'unix:PATH', 'uart:PATH[@BAUD]', 'usb[:VID:PID]', 'replay:FILE'; default HCIKIT_TRANSPORT, else 'virtual'. */
  transport?: string | TransportSpec
  /** 'virtual': the link to join (default: a new one of this adapter's own). */
  link?: VirtualLink
  /** 'virtual': the controller's public address (default derived from the link's seed). */
  address?: string
  /** 'virtual': a name for logs. */
  name?: string
  /** GATT cache for connect() (default in memory, per adapter); false: always discover. */
  cache?: GattCacheStore | false
  /** Our ATT receive MTU (default 517). */
  attMtu?: number
  /** Environment for HCIKIT_TRANSPORT, HCIKIT_LOG, HCIKIT_SNOOP (default process.env). */
  env?: NodeJS.ProcessEnv
  /**
   * Show this adapter's HCI traffic in HCIKIT_LOG / HCIKIT_SNOOP / --snoop (default true). The
   * ready-made virtual devices (src/devices) open with false, so a session's log and capture hold
   * the traffic of the session's own adapter only.
   */
  diagnostics?: boolean
}

export type AdapterState = 'open' | 'closed'

export interface AdapterEvents {
  /** A central connected to us (we advertised connectable). */
  connection: Central
  /** The adapter closed: by close()/dispose, or because the transport failed (`error`). */
  state: { state: AdapterState; error?: Error }
}

/** Which advertisements scan() and find() yield (gap/scan-filter.ts): every given criterion must hold. */
export type { ScanFilter }

export interface ScanOptions extends ScanFilter, CallOptions {
  /** Active scanning, with scan responses merged (default true). */
  active?: boolean
  /** Yield every advertisement, not just the first of each device (and again when its data changes) (default false). */
  duplicates?: boolean
}

export type ConnectTarget = Advertisement | string | { address: string; addressType?: 'public' | 'random' }

export interface ConnectOptions extends CallOptions {
  /** Discover the database (from the cache when valid) before resolving (default true). */
  discover?: boolean
  /** 'validate' (default: the Database Hash decides), 'trust', or 'off' (always discover). */
  cachePolicy?: CachePolicy
}

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
  const spec =
    typeof o.transport === 'object'
      ? o.transport
      : parseTransportSpec(o.transport ?? env['HCIKIT_TRANSPORT'] ?? 'virtual')
  // First, so that an HCIKIT_SNOOP path that cannot be written rejects before anything opens.
  startLog(env)
  let transport: Transport
  let clock: Clock
  let ownedScheduler: VirtualScheduler | undefined
  let controller: VirtualController | undefined
  if (spec.kind === 'virtual') {
    const link = o.link ?? createVirtualLink()
    if (!o.link) ownedScheduler = link.scheduler as VirtualScheduler
    controller = new VirtualController(link, {
      timing: 'fast',
      ...(o.address ? { address: o.address } : {}),
      ...(o.name ? { name: o.name } : {}),
    })
    transport = controller.attach()
    clock = clockFrom(link.scheduler)
  } else {
    transport = await openTransport(spec, {
      env,
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.timeout !== undefined ? { timeoutMs: o.timeout } : {}),
    }).catch(async (err: unknown) => {
      await stopLog()
      throw err
    })
    clock = realClock
  }
  const name = o.name ?? formatTransportSpec(spec)
  const host = new HciHost(transport, { clock, diagnostics: o.diagnostics ?? true, name })
  try {
    const info = await withDeadline(clock, o, 'controller bring-up', (signal) => host.init(signal ? { signal } : {}))
    return new Adapter(host, info, clock, { ...o, ownedScheduler, controller })
  } catch (err) {
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
  private readonly scanner: Scanner
  private readonly advertiser: Advertiser
  private readonly cache: GattCacheStore | undefined
  private readonly seen = new Map<string, 'public' | 'random'>()
  private readonly centralSet = new Set<Central>()
  private readonly clientSet = new Set<Client>()
  private readonly listeners: { [K in keyof AdapterEvents]?: ((e: AdapterEvents[K]) => void)[] } = {}
  private readonly ownedScheduler: VirtualScheduler | undefined
  private advertising: AdvertiseOptions | undefined
  private closing: Promise<void> | undefined

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
    this.cache = o.cache === false ? undefined : (o.cache ?? new MemoryCacheStore())
    // Scanner, advertiser and connections agree on one command set per host (gap/command-set.ts).
    this.connections = new Connections(host, { clock, ...(o.attMtu !== undefined ? { attMtu: o.attMtu } : {}) })
    this.scanner = new Scanner(host, clock)
    this.advertiser = new Advertiser(host)
    this.connections.onConnection((c) => this.peripheralConnected(c))
    host.onClose((err) => {
      if (this.state === 'closed') return
      this.state = 'closed'
      this.emit('state', err ? { state: 'closed', error: err } : { state: 'closed' })
    })
  }

  /** Our public address, "AA:BB:CC:DD:EE:FF". */
  get address(): string {
    return this.info.address.toUpperCase()
  }

  on<K extends keyof AdapterEvents>(event: K, cb: (e: AdapterEvents[K]) => void): () => void {
    const list = (this.listeners[event] ??= []) as ((e: AdapterEvents[K]) => void)[]
    list.push(cb)
    return () => {
      const i = list.indexOf(cb)
      if (i >= 0) list.splice(i, 1)
    }
  }

  private emit<K extends keyof AdapterEvents>(event: K, e: AdapterEvents[K]): void {
    for (const cb of [...((this.listeners[event] ?? []) as ((e: AdapterEvents[K]) => void)[])]) cb(e)
  }

  private open(what: string): void {
    if (this.state !== 'open') throw new ClosedError(`${what}: the adapter is closed`)
  }

  // --- central ---------------------------------------------------------------------------------

  /**
   * Advertisements that pass the filter, until `timeout` (the loop then ends), the signal aborts
   * (the loop throws its reason) or you leave the loop. One scan at a time per adapter.
   */
  async *scan(o: ScanOptions = {}): AsyncGenerator<Advertisement, void, undefined> {
    this.open('scan')
    const { timeout, signal, ...rest } = o
    const it = this.scanner.scan({
      active: true,
      ...rest,
      ...(timeout !== undefined ? { timeoutMs: timeout } : {}),
      ...(signal ? { signal } : {}),
    })
    for await (const ad of it) {
      this.remember(ad.address, ad.addressType)
      yield ad
    }
  }

  private remember(address: string, type: 'public' | 'random'): void {
    this.seen.delete(address)
    this.seen.set(address, type)
    if (this.seen.size > 1000) this.seen.delete(this.seen.keys().next().value!)
  }

  /** The first advertisement that passes the filter; 'NOT_FOUND' after `timeout` (default 10000 ms). */
  async find(filter: ScanFilter, o: CallOptions & { active?: boolean } = {}): Promise<Advertisement> {
    const timeout = o.timeout ?? 10_000
    for await (const ad of this.scan({
      ...filter,
      timeout,
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.active !== undefined ? { active: o.active } : {}),
    }))
      return ad
    throw new NotFoundError(`no advertisement matched ${describe(filter)} within ${timeout} ms`, {
      hint: 'is the device advertising and in range? `hcikit scan` shows what is around',
    })
  }

  /**
   * Connect to a device (an advertisement from scan/find, or an address with its type; an address
   * alone uses the type last seen in a scan, else public), exchange the MTU and discover its
   * database. Dispose the client (or disconnect) to end the link.
   */
  async connect(target: ConnectTarget, o: ConnectOptions = {}): Promise<Client> {
    this.open('connect')
    const peer =
      typeof target === 'string'
        ? { address: target.toUpperCase(), type: this.seen.get(target.toUpperCase()) ?? ('public' as const) }
        : 'ad' in target
          ? { address: target.address, type: target.addressType }
          : {
              address: target.address.toUpperCase(),
              type: target.addressType ?? this.seen.get(target.address.toUpperCase()) ?? ('public' as const),
            }
    const timeout = o.timeout ?? 10_000
    const d = deadline(this.clock, { timeout, signal: o.signal }, `connecting to ${peer.address}`)
    let connection: Connection | undefined
    try {
      connection = await this.connections.connect(peer, {
        timeoutMs: timeout,
        ...(d.signal ? { signal: d.signal } : {}),
      })
      const client = new Client(connection, {
        clock: this.clock,
        cache: o.cachePolicy === 'off' ? undefined : this.cache,
        cachePolicy: o.cachePolicy,
      })
      if (o.discover ?? true) await client.setUp(d.signal ? { signal: d.signal } : {})
      this.clientSet.add(client)
      void connection.disconnected.then(() => this.clientSet.delete(client))
      return client
    } catch (err) {
      if (connection && !connection.closed) await connection.disconnect(0x13).catch(() => undefined)
      throw err
    } finally {
      d.done()
    }
  }

  /** Peripherals we are connected to (clients from connect()). */
  get clients(): readonly Client[] {
    return [...this.clientSet]
  }

  // --- peripheral ------------------------------------------------------------------------------

  /**
   * Serve a GATT database (GAP and GATT services are added) to every central that connects.
   * One database per adapter: add or remove services on `server.db` later.
   */
  serve(declaration: DatabaseDeclaration = {}): GattServer {
    this.open('serve')
    if (this.gattServer)
      throw new ClosedError('serve: this adapter already serves a database (add services to adapter.gattServer.db)')
    const server = new GattServer(new AttributeDatabase(declaration))
    this.gattServer = server
    return server
  }

  /** Start advertising (replacing what was advertised). Connectable by default. */
  async advertise(o: AdvertiseOptions = {}): Promise<void> {
    this.open('advertise')
    const { data, scanResponse } = advertisingData(o)
    await withDeadline(this.clock, o, 'advertise', (signal) =>
      this.advertiser.start({
        data,
        ...(scanResponse ? { scanResponse } : {}),
        connectable: o.connectable ?? true,
        ...(o.interval !== undefined ? { intervalMs: o.interval } : {}),
        ...(signal ? { signal } : {}),
      }),
    )
    this.advertising = o
  }

  /** Stop advertising. */
  async stopAdvertising(o: CallOptions = {}): Promise<void> {
    this.advertising = undefined
    if (this.state !== 'open') return
    await withDeadline(this.clock, o, 'stop advertising', () => this.advertiser.stop())
  }

  /** Centrals connected to us. */
  get centrals(): readonly Central[] {
    return [...this.centralSet]
  }

  private peripheralConnected(c: Connection): void {
    if (c.role !== 'peripheral') return
    const gatt = this.gattServer?.attach(c.att, c.security)
    const central = new Central(c, gatt, this.clock)
    this.centralSet.add(central)
    void c.disconnected.then(() => {
      this.centralSet.delete(central)
      const adv = this.advertising
      if (adv && (adv.connectable ?? true) && (adv.restart ?? true) && this.state === 'open' && !this.closing) {
        void this.advertise(adv).catch(() => undefined)
      }
    })
    this.emit('connection', central)
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
          withDeadline(this.clock, { timeout: 2000 }, 'disconnect', (signal) =>
            c.disconnect(0x13, signal ? { signal } : {}),
          ).catch(() => undefined),
        ),
      )
      if (this.advertiser.advertising)
        await withDeadline(this.clock, { timeout: 2000 }, 'stop advertising', () => this.advertiser.stop()).catch(
          () => undefined,
        )
    }
    this.connections.close()
    this.advertiser.close()
    this.gattServer?.close()
    await this.hci.close().catch(() => undefined)
    if (this.virtualController) this.virtualController.link.remove(this.virtualController)
    this.ownedScheduler?.close()
    if (this.state === 'open') {
      this.state = 'closed'
      this.emit('state', { state: 'closed' })
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
