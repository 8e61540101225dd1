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
import { NO_TRACE, type CallTracer } from './call-trace.ts'

export type { RemoteCharacteristic, RemoteDatabase, RemoteDescriptor, RemoteService, Disconnection }

/** What a read or write is addressed to: a characteristic (its value), a descriptor, or a handle. */
export type GattTarget = RemoteCharacteristic | RemoteDescriptor | number

export interface ClientEvents {
  /** The link is gone (with the HCI reason and its name). */
  disconnected: Disconnection
}

export interface ClientOptions {
  clock: Clock
  /** GATT cache store (default: the adapter's in-memory store). */
  cache?: GattCacheStore | undefined
  /** Default 'validate' (the Database Hash decides whether the cache is still good). */
  cachePolicy?: CachePolicy | undefined
  /** Tags each call in the log and captures; a failed one leaves a flight recording (the adapter's). */
  calls?: CallTracer
}

export class Client implements AsyncDisposable {
  /** The peer's address, "AA:BB:CC:DD:EE:FF". */
  readonly address: string
  readonly addressType: 'public' | 'random'
  /** The GATT client procedures underneath (discovery by parts, long/reliable writes, cache). */
  readonly gatt: GattClient
  private readonly clock: Clock
  private readonly calls: Pick<CallTracer, 'begin' | 'run'>

  constructor(
    /** The LE connection underneath (parameters, PHY, data length, RSSI). */
    readonly connection: Connection,
    o: ClientOptions,
  ) {
    this.address = connection.peer.address
    this.addressType = connection.peer.type
    this.clock = o.clock
    this.calls = o.calls ?? NO_TRACE
    this.gatt = new GattClient(connection.att, {
      peer: `${this.address}/${this.addressType}`,
      ...(o.cache ? { store: o.cache } : {}),
      policy: o.cache ? (o.cachePolicy ?? 'validate') : 'off',
      clock: o.clock,
    })
  }

  /** Exchange the MTU and discover the database (adapter.connect() does this). */
  async setUp(o: CallOptions = {}): Promise<this> {
    await withDeadline(this.clock, o, `setting up the connection to ${this.address}`, async (signal) => {
      await this.calls.run('connect: MTU exchange', () => this.gatt.exchangeMtu(signal ? { signal } : {}), o.signal)
      await this.calls.run('connect: discovery', () => this.gatt.discover(signal ? { signal } : {}), o.signal)
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
    const discover = (): Promise<RemoteDatabase> =>
      withDeadline(this.clock, o, 'discovery', (signal) =>
        this.gatt.discover({ policy: 'off', ...(signal ? { signal } : {}) }),
      )
    return this.calls.run(`rediscover ${this.address}`, discover, o.signal)
  }

  on<K extends keyof ClientEvents>(event: K, cb: (e: ClientEvents[K]) => void): () => void {
    return this.connection.on(event, cb)
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
    const read = (): Promise<Uint8Array> =>
      withDeadline(this.clock, o, `read from ${this.address}`, (signal) =>
        this.gatt.read(target, signal ? { signal } : {}),
      )
    return this.calls.run(`read ${describeTarget(target)}`, read, o.signal)
  }

  /** Write a value: with response (default, long values as prepared writes) or without. */
  write(target: GattTarget, value: Uint8Array, o: CallOptions & { withoutResponse?: boolean } = {}): Promise<void> {
    const what = `write${o.withoutResponse ? ' without response' : ''} ${describeTarget(target)}`
    return this.calls.run(what, () => this.writeNow(target, value, o), o.signal)
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
    const subscribe = () =>
      withDeadline(this.clock, { timeout: o.timeout, signal: o.signal }, `subscribing to ${characteristic}`, (signal) =>
        this.gatt.subscribe(characteristic, { mode, ...(signal ? { signal } : {}) }),
      )
    const sub = await this.calls.run(`subscribe ${characteristic}`, subscribe, o.signal)
    const it = sub[Symbol.asyncIterator]()
    const stop = abortedBy(o.signal)
    try {
      for (;;) {
        let r: IteratorResult<Uint8Array>
        try {
          r = await Promise.race([it.next(), stop.promise])
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
    const disconnect = (): Promise<Disconnection> =>
      withDeadline(this.clock, o, 'disconnect', (signal) =>
        this.connection.disconnect(o.reason ?? 0x13, signal ? { signal } : {}),
      )
    return this.calls.run(`disconnect ${this.address}`, disconnect, o.signal)
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
