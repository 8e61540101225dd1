/**
 * A connection to a peripheral, as the public API gives it (Core v5.4 Vol 3 Part G 4: the GATT
 * client procedures; Vol 4 Part E 7.1.6 Disconnect, 7.8.18 LE Connection Update, 7.8.33 LE Set
 * Data Length, 7.8.49 LE Set PHY; Vol 3 Part A 4.22 LE credit based channels):
 * `adapter.connect()` returns a Client with the MTU exchanged and the peer's database already
 * discovered (unless `discover: false`), so characteristics are looked up synchronously.
 *
 *   await using client = await adapter.connect(device, { timeout: 10_000 })
 *   const hr = client.characteristic('180d', '2a37')
 *   for await (const value of client.notifications(hr)) { ... }
 *   await client.read(hr); await client.write(hr, bytes, { withoutResponse: true })
 *   await client.updateParameters({ intervalMax: 15 }); await client.setPhy(['2M'])
 *   const channel = await client.openChannel(0x80)          // a Duplex, one SDU per chunk
 *
 * Security (Core v5.4 Vol 3 Part H, Part C 10.2): `client.security` is the link's state and the
 * 'security' event its changes; `secure(level)` encrypts from the bond or pairs, `pair()` pairs
 * now. A read, write or subscription the peer refuses with Insufficient Authentication,
 * Encryption or Encryption Key Size raises the link's security that way and is retried once.
 *
 * Every promise takes `{ signal, timeout }`. `notifications()` writes the CCCD when the loop
 * starts and clears it when the loop ends (break, return, abort); it ends quietly when we
 * disconnect and throws a 'DISCONNECTED' GapError (status = the HCI reason) when the link is lost.
 * Events (state changes only): 'mtu', 'parameters', 'phy', 'dataLength', 'servicesChanged',
 * 'security', 'disconnected'. Disposing the client disconnects (0x13 Remote User Terminated Connection).
 */
import type { Clock } from '../hci/host.ts'
import { GattClient, type DiscoverySource, type QueuePolicy, type Subscription } from '../att/client.ts'
import { AttError } from '../att/errors.ts'
import { GattUuid } from '../att/uuid.ts'
import type { CachePolicy, GattCacheStore } from '../att/cache.ts'
import type { RemoteCharacteristic, RemoteDatabase, RemoteDescriptor, RemoteService } from '../att/remote-database.ts'
import type { Connection, DataLength, Disconnection } from '../gap/connections.ts'
import { GapError, NotFoundError, withDeadline, type CallOptions } from './errors.ts'
import { NO_TRACE, type CallTracer } from './call-trace.ts'
import { cachePeerId } from './cache-dir.ts'
import { openChannel, type CreditChannel, type OpenChannelOptions } from './channels.ts'
import {
  checkDataLength,
  fromActiveParameters,
  phyMasks,
  phyNames,
  toConnectionParameters,
  type ConnectionParameterOptions,
  type LinkParameters,
  type LinkPhy,
  type PhyPreference,
} from './link-options.ts'
import { Emitter } from './emitter.ts'
import type { LinkSecurityAgent } from '../gap/link-security.ts'
import { securityState, type PairingSummary, type SecurityLevel, type SecurityState } from '../gap/pairing-delegate.ts'
import type { DeviceAddress } from '../gap/smp/keys.ts'

export type {
  RemoteCharacteristic,
  RemoteDatabase,
  RemoteDescriptor,
  RemoteService,
  Disconnection,
  DataLength,
  QueuePolicy,
}

/** What a read or write is addressed to: a characteristic (its value), a descriptor, or a handle. */
export type GattTarget = RemoteCharacteristic | RemoteDescriptor | number

export interface NotificationOptions extends CallOptions {
  /** Subscribe to indications (default: notifications, unless the characteristic only indicates). */
  indicate?: boolean
  /**
   * Where values wait for the loop, and what happens when it falls behind (att/bounded-queue.ts):
   * `maxItems`, `maxBytes` (default 16 MiB), `overflow` ('error' by default, 'drop-oldest',
   * 'drop-newest'), `onDropped(count, total)`.
   */
  queue?: QueuePolicy
}

/** The values of notifications(): a `for await` stream that counts what its queue policy dropped. */
export interface NotificationStream extends AsyncGenerator<Uint8Array, void, undefined> {
  /** Values dropped so far because the loop fell behind (overflow 'drop-oldest' / 'drop-newest'). */
  readonly dropped: number
}

/** The peer's database changed (Service Changed indication, or a Database Hash that moved). */
export interface ServicesChanged {
  /** The database now (client.database is the same object). Absent when rediscovery failed. */
  database?: RemoteDatabase
  /** Why the changed part could not be discovered again (the old model stays). */
  error?: unknown
}

export interface ClientEvents {
  /** The ATT MTU changed (the exchange, by us or by the peer). */
  mtu: number
  /** New connection parameters are in force (LE Connection Update Complete). */
  parameters: LinkParameters
  /** The PHYs changed (LE PHY Update Complete). */
  phy: LinkPhy
  /** The LE Data Length changed (LE Data Length Change). */
  dataLength: DataLength
  servicesChanged: ServicesChanged
  /** The link is gone (with the HCI reason and its name). */
  disconnected: Disconnection
  /** The link's security changed (encrypted, paired, bonded). */
  security: SecurityState
}

export interface ClientOptions {
  clock: Clock
  /** GATT cache store (default: the adapter's in-memory store). */
  cache?: GattCacheStore | undefined
  /** Default 'validate' (the Database Hash decides whether the cache is still good). */
  cachePolicy?: CachePolicy | undefined
  /** The link's security agent (the adapter's SecurityManager makes one per link). */
  security?: LinkSecurityAgent | undefined
  /** Tags each call in the log and captures; a failed one leaves a flight recording (the adapter's). @internal */
  calls?: CallTracer
}

export class Client implements AsyncDisposable {
  /** The peer's address, "AA:BB:CC:DD:EE:FF". */
  readonly address: string
  readonly addressType: 'public' | 'random'
  /** The GATT client procedures underneath (discovery by parts, long/reliable writes, cache). */
  readonly gatt: GattClient
  private readonly clock: Clock
  private readonly agent: LinkSecurityAgent | undefined
  private readonly events = new Emitter<ClientEvents>()
  private serviceChanged: Subscription | undefined
  private readonly calls: Pick<CallTracer, 'begin' | 'run' | 'quiet'>

  constructor(
    /** The LE connection underneath (handle, role, HCI procedures, L2CAP). */
    readonly connection: Connection,
    o: ClientOptions,
  ) {
    this.address = connection.peer.address
    this.addressType = connection.peer.type
    this.clock = o.clock
    this.agent = o.security
    this.calls = o.calls ?? NO_TRACE
    this.gatt = new GattClient(connection.att, {
      peer: cachePeerId(this.address, this.addressType),
      store: o.cache,
      policy: o.cache ? (o.cachePolicy ?? 'validate') : 'off',
      security: o.security,
      // Cache entries carry wall-clock time (Date.now), not the link's virtual time.
    })
    const e = this.events
    connection.att.onMtu((mtu) => e.emit('mtu', mtu))
    connection.on('parameters', (p) => e.emit('parameters', fromActiveParameters(p)))
    connection.on('phy', (p) => e.emit('phy', phyNames(p)))
    connection.on('dataLength', (d) => e.emit('dataLength', d))
    connection.on('disconnected', (d) => e.emit('disconnected', d))
    connection.on('security', (s) => e.emit('security', securityState(s)))
    this.gatt.on('databaseChanged', (database) => e.emit('servicesChanged', { database }))
    this.gatt.on('serviceChanged', (c) => {
      if (c.error !== undefined) e.emit('servicesChanged', { error: c.error })
    })
  }

  /** The link's security now. */
  get security(): SecurityState {
    return securityState(this.connection.security)
  }

  /** The peer's identity address when known (from its bond or a pairing); its own address otherwise. */
  get identity(): DeviceAddress {
    return this.agent?.identity ?? this.connection.peer
  }

  /**
   * Reach a security level: encrypt from the bond when its key is good enough, else pair (when
   * the pairing delegate allows). Resolves with the link's security.
   */
  async secure(level: SecurityLevel = 'encrypted', o: CallOptions = {}): Promise<SecurityState> {
    const agent = this.needAgent('secure')
    await this.traced(`secure ${this.address} (${level})`, o, `securing the link to ${this.address}`, (signal) =>
      agent.secure(level, { signal }),
    )
    return this.security
  }

  /** Encrypt from the bond if there is one (never pairs); resolves with whether it did. */
  async encryptFromBond(o: CallOptions = {}): Promise<boolean> {
    const agent = this.needAgent('encryptFromBond')
    return this.traced(`encrypt from bond ${this.address}`, o, `encrypting the link to ${this.address}`, (signal) =>
      agent.encryptIfBonded({ signal }),
    )
  }

  /** Pair now (even when bonded: new keys replace the bond). Resolves with what the pairing achieved. */
  pair(o: CallOptions = {}): Promise<PairingSummary> {
    const agent = this.needAgent('pair')
    return this.traced(`pair ${this.address}`, o, `pairing with ${this.address}`, (signal) => agent.pair({ signal }))
  }

  /**
   * A public call: tagged in the log and captures as `what` (a failure leaves a flight recording,
   * src/call-trace.ts), bounded by `o`'s timeout and signal (`label` names it in a TIMEOUT).
   */
  private traced<T>(
    what: string,
    o: CallOptions,
    label: string,
    fn: (signal: AbortSignal | undefined) => Promise<T>,
  ): Promise<T> {
    return this.calls.run(what, () => withDeadline(this.clock, o, label, fn), o.signal)
  }

  private needAgent(what: string): LinkSecurityAgent {
    if (!this.agent)
      throw new GapError('INVALID_STATE', `${what}: this client has no security agent (make it with adapter.connect())`)
    return this.agent
  }

  /**
   * Exchange the MTU, then (unless `discover` is false) discover the database and ask for its
   * Service Changed indications (unless `serviceChanged` is false). adapter.connect() does this.
   */
  async setUp(o: CallOptions & { discover?: boolean; serviceChanged?: boolean } = {}): Promise<this> {
    await withDeadline(this.clock, o, `setting up the connection to ${this.address}`, async (signal) => {
      await this.calls.run('connect: MTU exchange', () => this.gatt.exchangeMtu({ signal }), o.signal)
      if (!(o.discover ?? true)) return
      await this.calls.run('connect: discovery', () => this.gatt.discover({ signal }), o.signal)
      if (o.serviceChanged ?? true)
        await this.calls.run('connect: Service Changed', () => this.watchServiceChanged(signal), o.signal)
    })
    return this
  }

  /**
   * Enable the peer's Service Changed indications (Core v5.4 Vol 3 Part G 7.1), so that
   * 'servicesChanged' fires when its database changes. A peer that refuses keeps us informed
   * through Database Out Of Sync (robust caching) instead: the refusal is not an error. A bonded
   * peer whose database came from our cache keeps the CCCD we wrote on an earlier connection
   * (Part G 3.3.3.3: persistent for bonded clients), so nothing is written; the GATT client
   * handles Service Changed indications whether or not this connection wrote the CCCD.
   */
  private async watchServiceChanged(signal: AbortSignal | undefined): Promise<void> {
    const sc = this.gatt.database?.findCharacteristics(GattUuid.ServiceChanged)[0]
    if (!sc?.cccd || this.serviceChanged) return
    if (this.security.bonded && this.source !== undefined && this.source !== 'discovered') return
    try {
      this.serviceChanged = await this.gatt.subscribe(sc, { mode: 'indicate', onValue: () => {}, signal })
    } catch (e) {
      if (!(e instanceof AttError)) throw e
    }
  }

  /** The effective ATT_MTU. */
  get mtu(): number {
    return this.gatt.mtu
  }

  get connected(): boolean {
    return !this.connection.closed
  }

  /** Resolves when the link is gone (never rejects). */
  get disconnected(): Promise<Disconnection> {
    return this.connection.disconnected
  }

  /** The connection parameters in force (ms). */
  get parameters(): LinkParameters {
    return fromActiveParameters(this.connection.parameters)
  }

  /** The PHYs in use. */
  get phy(): LinkPhy {
    return phyNames(this.connection.phy)
  }

  /** The LE Data Length in use, once the controller reported one. */
  get dataLength(): DataLength | undefined {
    return this.connection.dataLength
  }

  /** The peer's database (discovered at connect, or by discover() after `discover: false`). */
  get database(): RemoteDatabase {
    const db = this.gatt.database
    if (!db)
      throw new NotFoundError(`${this.address}: the database was not discovered`, {
        protocol: 'att',
        hint: 'connect without `discover: false`, or call client.discover() first',
      })
    return db
  }

  get services(): readonly RemoteService[] {
    return this.database.services
  }

  /** Where the database came from: discovered, or the cache (validated by the Database Hash). */
  get source(): DiscoverySource | undefined {
    return this.gatt.source
  }

  /** Discover the database (from the cache when the policy allows): after `connect(..., { discover: false })`. */
  discover(o: CallOptions = {}): Promise<RemoteDatabase> {
    return this.traced(`discover ${this.address}`, o, 'discovery', async (signal) => {
      const db = await this.gatt.discover({ signal })
      await this.watchServiceChanged(signal)
      return db
    })
  }

  /** Discover again, bypassing the cache. */
  rediscover(o: CallOptions = {}): Promise<RemoteDatabase> {
    return this.traced(`rediscover ${this.address}`, o, 'discovery', (signal) =>
      this.gatt.discover({ policy: 'off', signal }),
    )
  }

  on<K extends keyof ClientEvents>(event: K, cb: (e: ClientEvents[K]) => void): () => void {
    return this.events.on(event, cb)
  }

  /** A service by UUID ('180d', 0x180d or 128-bit). Throws 'NOT_FOUND'. */
  service(uuid: string | number): RemoteService {
    const s = this.database.service(uuid)
    if (!s)
      throw new NotFoundError(`${this.address} has no service ${fmt(uuid)}`, {
        protocol: 'att',
        hint: `its services: ${this.services.map((x) => x.uuid).join(', ')}`,
      })
    return s
  }

  /** A characteristic by service and characteristic UUID (or by characteristic UUID alone). Throws 'NOT_FOUND'. */
  characteristic(service: string | number, characteristic?: string | number): RemoteCharacteristic {
    const c =
      characteristic === undefined
        ? this.database.characteristic(service)
        : this.database.characteristic(service, characteristic)
    if (!c) {
      const what = characteristic === undefined ? fmt(service) : `${fmt(characteristic)} in service ${fmt(service)}`
      throw new NotFoundError(`${this.address} has no characteristic ${what}`, {
        protocol: 'att',
        hint: 'client.services lists what the peer has',
      })
    }
    return c
  }

  /** Read a value (long values in full). */
  read(target: GattTarget, o: CallOptions = {}): Promise<Uint8Array> {
    return this.traced(`read ${describeTarget(target)}`, o, `read from ${this.address}`, (signal) =>
      this.gatt.read(target, { signal }),
    )
  }

  /** Write a value: with response (default, long values as prepared writes) or without. */
  write(target: GattTarget, value: Uint8Array, o: CallOptions & { withoutResponse?: boolean } = {}): Promise<void> {
    // Writes without response are the data path: tagged in the log and captures only when one fails.
    if (o.withoutResponse)
      return this.calls.quiet(
        () => `write without response ${describeTarget(target)}`,
        () => this.writeNow(target, value, o),
        o.signal,
      )
    return this.calls.run(`write ${describeTarget(target)}`, () => this.writeNow(target, value, o), o.signal)
  }

  private writeNow(
    target: GattTarget,
    value: Uint8Array,
    o: CallOptions & { withoutResponse?: boolean },
  ): Promise<void> {
    if (o.withoutResponse)
      return withDeadline(this.clock, o, `write to ${this.address}`, () =>
        this.gatt.writeWithoutResponse(target, value),
      )
    return withDeadline(this.clock, o, `write to ${this.address}`, (signal) =>
      value.length > this.mtu - 3
        ? this.gatt.writeLong(target, value, { signal })
        : this.gatt.write(target, value, { signal }),
    )
  }

  /**
   * The characteristic's notifications (or indications, with `indicate: true` or when it only
   * indicates), from the moment the loop starts; leaving the loop unsubscribes. `timeout` bounds
   * the subscription (the CCCD write), `signal` ends the loop. Values wait for the loop in a
   * bounded queue (`queue`): by default up to 16 MiB, then the loop reads what was queued and ends
   * with a GattError 'GATT_DROPPED' (nothing is lost silently); with overflow 'drop-oldest' or
   * 'drop-newest' it goes on, and the stream's `dropped` (and `queue.onDropped`) count what went.
   */
  notifications(characteristic: RemoteCharacteristic, o: NotificationOptions = {}): NotificationStream {
    let sub: Subscription | undefined
    const loop = this.notificationLoop(characteristic, o, (s) => (sub = s))
    return Object.defineProperty(loop, 'dropped', { get: () => sub?.dropped ?? 0 }) as NotificationStream
  }

  private async *notificationLoop(
    characteristic: RemoteCharacteristic,
    o: NotificationOptions,
    subscribed: (s: Subscription) => void,
  ): AsyncGenerator<Uint8Array, void, undefined> {
    const mode = o.indicate ? 'indicate' : characteristic.can('Notify') ? 'notify' : 'indicate'
    const subscribe = () =>
      withDeadline(this.clock, { timeout: o.timeout, signal: o.signal }, `subscribing to ${characteristic}`, (signal) =>
        this.gatt.subscribe(characteristic, { mode, signal, queue: o.queue }),
      )
    const sub = await this.calls.run(`subscribe ${characteristic}`, subscribe, o.signal)
    subscribed(sub)
    const it = sub[Symbol.asyncIterator]()
    // An abort unsubscribes, which ends the queue (a pending next() resolves done). Racing every
    // next() against one long-lived abort promise instead would leave a reaction on it, and the
    // value with it, per notification: memory growing with the stream (test/hostile/flood.test.ts).
    let stopping: Promise<void> | undefined
    const onAbort = (): void => void (stopping ??= sub.unsubscribe().catch(() => undefined))
    o.signal?.addEventListener('abort', onAbort, { once: true })
    if (o.signal?.aborted) onAbort()
    try {
      for (;;) {
        let r: IteratorResult<Uint8Array>
        try {
          r = await it.next()
        } catch (err) {
          if (o.signal?.aborted) throw o.signal.reason
          // The link went away: quietly when we disconnected, else with its reason.
          const d = this.connection.disconnection
          if (d?.local) return
          if (d)
            throw new GapError('DISCONNECTED', `${this.address} disconnected: ${d.reasonName}`, {
              status: d.reason,
              statusName: d.reasonName,
              cause: err,
            })
          throw err
        }
        // Aborted: the values still queued are not wanted.
        if (o.signal?.aborted) throw o.signal.reason
        if (r.done) return
        yield r.value
      }
    } finally {
      o.signal?.removeEventListener('abort', onAbort)
      await (stopping ?? sub.unsubscribe().catch(() => undefined))
    }
  }

  /** The RSSI of the link (dBm). */
  readRssi(o: CallOptions = {}): Promise<number> {
    return this.traced(`read RSSI ${this.address}`, o, 'Read RSSI', (signal) => this.connection.readRssi({ signal }))
  }

  /**
   * Ask for new connection parameters (ms; fields left out keep their defaults: 30-50 ms,
   * latency 0, 4000 ms) with LE Connection Update. Resolves with the parameters in force.
   */
  async updateParameters(p: ConnectionParameterOptions, o: CallOptions = {}): Promise<LinkParameters> {
    const units = toConnectionParameters(p)
    return this.traced(`update parameters ${this.address}`, o, 'connection parameter update', async (signal) =>
      fromActiveParameters(await this.connection.updateParameters(units, { signal })),
    )
  }

  /**
   * Preferred PHYs (LE Set PHY): `['2M']` for both directions, or `{ tx, rx }`. The controllers
   * choose among them; resolves with the PHYs in use after LE PHY Update Complete.
   */
  async setPhy(pref: PhyPreference, o: CallOptions = {}): Promise<LinkPhy> {
    const masks = phyMasks(pref)
    return this.traced(`set PHY ${this.address}`, o, 'PHY update', async (signal) =>
      phyNames(await this.connection.setPhy(masks, { signal })),
    )
  }

  /**
   * The LE Data Length we send with (27..251 octets per packet; LE Set Data Length). Resolves once
   * the controller took it; 'dataLength' follows when the values in use change.
   */
  async setDataLength(octets: number, o: CallOptions = {}): Promise<void> {
    checkDataLength(octets)
    return this.traced(`set data length ${this.address} (${octets})`, o, 'LE Set Data Length', (signal) =>
      this.connection.setDataLength(octets, undefined, { signal }),
    )
  }

  /**
   * Open an LE credit-based channel to the peer's `psm` (src/channels.ts: a Duplex, one SDU per
   * chunk, with back-pressure). Rejects with an L2capError 'CONNECTION_REFUSED' carrying the
   * peer's result (e.g. 0x0002 SPSM not supported).
   */
  openChannel(psm: number, o: OpenChannelOptions = {}): Promise<CreditChannel> {
    const what = `L2CAP channel to PSM 0x${psm.toString(16)}`
    return this.traced(`open ${what} of ${this.address}`, o, `opening an ${what}`, (signal) =>
      openChannel(this.connection, psm, o, signal),
    )
  }

  /** Disconnect (default reason 0x13 Remote User Terminated Connection); resolves with the reason. */
  disconnect(o: CallOptions & { reason?: number } = {}): Promise<Disconnection> {
    return this.traced(`disconnect ${this.address}`, o, 'disconnect', (signal) =>
      this.connection.disconnect(o.reason ?? 0x13, { signal }),
    )
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.connection.closed) return
    await this.disconnect({ timeout: 5000 }).catch(() => undefined)
  }

  toString(): string {
    return `Client(${this.address}/${this.addressType})`
  }
}

function describeTarget(t: GattTarget): string {
  return typeof t === 'number' ? `handle 0x${t.toString(16).padStart(4, '0')}` : String(t)
}

function fmt(u: string | number): string {
  return typeof u === 'number' ? `0x${u.toString(16).padStart(4, '0')}` : u
}
