/**
 * A connection to a peripheral, as the public API gives it (Core v5.4 Vol 3 Part G 4: the GATT
 * client procedures; Vol 4 Part E 7.1.6 Disconnect): `adapter.connect()` returns a Client with
 * the peer's database already discovered, so characteristics are looked up synchronously.
 *
 *   await using client = await adapter.connect(device, { timeout: 10_000 })
 *   const hr = client.characteristic('180d', '2a37')
 *   for await (const value of client.notifications(hr)) { ... }
 *   await client.read(hr); await client.write(hr, bytes, { withoutResponse: true })
 *
 * Security (Core v5.4 Vol 3 Part H, Part C 10.2): `client.security` is the link's state and the
 * 'security' event its changes; `secure(level)` encrypts from the bond or pairs, `pair()` pairs
 * now. A read, write or subscription the peer refuses with Insufficient Authentication,
 * Encryption or Encryption Key Size raises the link's security that way and is retried once.
 *
 * Every promise takes `{ signal, timeout }`. `notifications()` writes the CCCD when the loop
 * starts and clears it when the loop ends (break, return, abort); it ends quietly when we
 * disconnect and throws a 'DISCONNECTED' GapError (status = the HCI reason) when the link is lost.
 * Disposing the client disconnects (0x13 Remote User Terminated Connection).
 */
import type { Clock } from '../hci/host.ts'
import { GattClient, type DiscoverySource } from '../att/client.ts'
import type { CachePolicy, GattCacheStore } from '../att/cache.ts'
import type { RemoteCharacteristic, RemoteDatabase, RemoteDescriptor, RemoteService } from '../att/remote-database.ts'
import type { Connection, Disconnection } from '../gap/connections.ts'
import { GapError, NotFoundError, abortedBy, withDeadline, type CallOptions } from './errors.ts'
import type { LinkSecurityAgent } from '../gap/link-security.ts'
import { securityState, type PairingSummary, type SecurityLevel, type SecurityState } from '../gap/pairing-delegate.ts'
import type { DeviceAddress } from '../gap/smp/keys.ts'

export type { RemoteCharacteristic, RemoteDatabase, RemoteDescriptor, RemoteService, Disconnection }

/** What a read or write is addressed to: a characteristic (its value), a descriptor, or a handle. */
export type GattTarget = RemoteCharacteristic | RemoteDescriptor | number

export interface ClientEvents {
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
}

export class Client implements AsyncDisposable {
  /** The peer's address, "AA:BB:CC:DD:EE:FF". */
  readonly address: string
  readonly addressType: 'public' | 'random'
  /** The GATT client procedures underneath (discovery by parts, long/reliable writes, cache). */
  readonly gatt: GattClient
  private readonly clock: Clock
  private readonly agent: LinkSecurityAgent | undefined

  constructor(
    /** The LE connection underneath (parameters, PHY, data length, RSSI). */
    readonly connection: Connection,
    o: ClientOptions,
  ) {
    this.address = connection.peer.address
    this.addressType = connection.peer.type
    this.clock = o.clock
    this.agent = o.security
    this.gatt = new GattClient(connection.att, {
      peer: `${this.address}/${this.addressType}`,
      ...(o.cache ? { store: o.cache } : {}),
      policy: o.cache ? (o.cachePolicy ?? 'validate') : 'off',
      clock: o.clock,
      ...(o.security ? { security: o.security } : {}),
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
    await withDeadline(this.clock, o, `securing the link to ${this.address}`, (signal) =>
      agent.secure(level, { signal }),
    )
    return this.security
  }

  /** Encrypt from the bond if there is one (never pairs); resolves with whether it did. */
  async encryptFromBond(o: CallOptions = {}): Promise<boolean> {
    const agent = this.needAgent('encryptFromBond')
    return withDeadline(this.clock, o, `encrypting the link to ${this.address}`, (signal) =>
      agent.encryptIfBonded({ signal }),
    )
  }

  /** Pair now (even when bonded: new keys replace the bond). Resolves with what the pairing achieved. */
  pair(o: CallOptions = {}): Promise<PairingSummary> {
    const agent = this.needAgent('pair')
    return withDeadline(this.clock, o, `pairing with ${this.address}`, (signal) => agent.pair({ signal }))
  }

  private needAgent(what: string): LinkSecurityAgent {
    if (!this.agent)
      throw new GapError('INVALID_STATE', `${what}: this client has no security agent (make it with adapter.connect())`)
    return this.agent
  }

  /** Exchange the MTU and discover the database (adapter.connect() does this). */
  async setUp(o: CallOptions = {}): Promise<this> {
    await withDeadline(this.clock, o, `setting up the connection to ${this.address}`, async (signal) => {
      await this.gatt.exchangeMtu(signal ? { signal } : {})
      await this.gatt.discover(signal ? { signal } : {})
    })
    return this
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

  /** The peer's database (discovered at connect). */
  get database(): RemoteDatabase {
    return this.gatt.database!
  }

  get services(): readonly RemoteService[] {
    return this.database.services
  }

  /** Where the database came from: discovered, or the cache (validated by the Database Hash). */
  get source(): DiscoverySource | undefined {
    return this.gatt.source
  }

  /** Discover again, bypassing the cache. */
  async rediscover(o: CallOptions = {}): Promise<RemoteDatabase> {
    return withDeadline(this.clock, o, 'discovery', (signal) =>
      this.gatt.discover({ policy: 'off', ...(signal ? { signal } : {}) }),
    )
  }

  on<K extends keyof ClientEvents>(event: K, cb: (e: ClientEvents[K]) => void): () => void {
    if (event === 'security') {
      return this.connection.on('security', (s) => (cb as (e: SecurityState) => void)(securityState(s)))
    }
    return this.connection.on('disconnected', cb as (e: Disconnection) => void)
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
    return withDeadline(this.clock, o, `read from ${this.address}`, (signal) =>
      this.gatt.read(target, signal ? { signal } : {}),
    )
  }

  /** Write a value: with response (default, long values as prepared writes) or without. */
  write(target: GattTarget, value: Uint8Array, o: CallOptions & { withoutResponse?: boolean } = {}): Promise<void> {
    if (o.withoutResponse)
      return withDeadline(this.clock, o, `write to ${this.address}`, () =>
        this.gatt.writeWithoutResponse(target, value),
      )
    return withDeadline(this.clock, o, `write to ${this.address}`, (signal) =>
      value.length > this.mtu - 3
        ? this.gatt.writeLong(target, value, signal ? { signal } : {})
        : this.gatt.write(target, value, signal ? { signal } : {}),
    )
  }

  /**
   * The characteristic's notifications (or indications, with `indicate: true` or when it only
   * indicates), from the moment the loop starts; leaving the loop unsubscribes. `timeout` bounds
   * the subscription (the CCCD write), `signal` ends the loop.
   */
  async *notifications(
    characteristic: RemoteCharacteristic,
    o: CallOptions & { indicate?: boolean } = {},
  ): AsyncGenerator<Uint8Array, void, undefined> {
    const mode = o.indicate ? 'indicate' : characteristic.can('Notify') ? 'notify' : 'indicate'
    const sub = await withDeadline(
      this.clock,
      { timeout: o.timeout, signal: o.signal },
      `subscribing to ${characteristic}`,
      (signal) => this.gatt.subscribe(characteristic, { mode, ...(signal ? { signal } : {}) }),
    )
    const it = sub[Symbol.asyncIterator]()
    const stop = abortedBy(o.signal)
    try {
      for (;;) {
        let r: IteratorResult<Uint8Array>
        try {
          // Without a signal there is nothing to race (one promise less per value).
          r = await (o.signal ? Promise.race([it.next(), stop.promise]) : it.next())
        } catch (err) {
          if (o.signal?.aborted && err === o.signal.reason) throw err
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
        if (r.done) return
        yield r.value
      }
    } finally {
      stop.off()
      await sub.unsubscribe().catch(() => undefined)
    }
  }

  /** The RSSI of the link (dBm). */
  readRssi(o: CallOptions = {}): Promise<number> {
    return withDeadline(this.clock, o, 'Read RSSI', (signal) => this.connection.readRssi(signal ? { signal } : {}))
  }

  /** Disconnect (default reason 0x13 Remote User Terminated Connection); resolves with the reason. */
  disconnect(o: CallOptions & { reason?: number } = {}): Promise<Disconnection> {
    return withDeadline(this.clock, o, 'disconnect', (signal) =>
      this.connection.disconnect(o.reason ?? 0x13, signal ? { signal } : {}),
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

function fmt(u: string | number): string {
  return typeof u === 'number' ? `0x${u.toString(16).padStart(4, '0')}` : u
}
