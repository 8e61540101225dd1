/**
 * The GATT client (Core v5.4 Vol 3 Part G 4: the client side of every GATT procedure; 2.5.2
 * attribute caching and robust caching; 7.1 Service Changed).
 *
 * One `GattClient` per ATT bearer. `discover()` gives the peer's database (att/discovery.ts,
 * or the cache of att/cache.ts per policy), after which characteristics and descriptors are
 * addressed by their objects (or by raw handle). Reads, writes and subscriptions run through
 * the bearer's queue, so callers never serialise.
 *
 * Robust caching: after a discovery the client sets bit 0 (Robust Caching) of the peer's
 * Client Supported Features. A request answered with Database Out Of Sync (0x12) makes the
 * client re-validate (read the Database Hash; rediscover if it changed) and retry the request
 * once, with its target looked up again in the new database. A Service Changed indication
 * makes it rediscover the affected range and emit 'serviceChanged'.
 *
 * Security: a request the peer refuses with Insufficient Authentication (0x05), Insufficient
 * Encryption (0x0f) or Encryption Key Size Too Short (0x0c) goes to the `security` option (a
 * `SecurityUpgrade`, implemented by gap/link-security.ts: encrypt from the bond, or pair); when it
 * raised the link's security the request is sent once more (Vol 3 Part C 10.3.2).
 *
 * Notifications and indications: `subscribe()` writes the CCCD and returns a Subscription,
 * an async iterator of the values (or hands them to an `onValue` callback that receives the
 * value, the characteristic and the client); `onValue()` listens without touching the CCCD.
 * Values that arrive before anyone listens are buffered per handle, bounded, with drop counters;
 * a subscription's queue has an explicit overflow policy (`queue`), by default a stop with
 * GattError 'GATT_DROPPED', never a silent drop (att/notifications.ts).
 */
import type { Clock } from '../hci/host.ts'
import { equalBytes } from '../hci/wire.ts'
import type { AttBearer } from './bearer.ts'
import { AttError, GattError, hex4 } from './errors.ts'
import { AttErrorCode } from './pdu.ts'
import { GattUuid, parseUuid, type Uuid } from './uuid.ts'
import {
  RemoteCharacteristic,
  RemoteDatabase,
  type RemoteDescriptor,
  RemoteService,
  linkIncludes,
} from './remote-database.ts'
import {
  discoverDatabase,
  findCharacteristics,
  findDescriptors,
  findPrimaryServices,
  findPrimaryServicesByUuid,
  isAttErrorCode,
} from './discovery.ts'
import {
  MAX_VALUE_LENGTH,
  preparedWrite,
  readByUuid,
  readMultiple,
  readMultipleVariable,
  readValue,
  writeCommand,
  writeValue,
} from './procedures.ts'
import type { BoundedQueue, QueuePolicy } from './bounded-queue.ts'
import { NOTIFICATION_QUEUE_DEFAULTS, ValueRouter, valueQueue, type ValueRouterOptions } from './notifications.ts'
import { resolvePolicy } from './bounded-queue.ts'
import { loadCached, readDatabaseHash, saveCached, type CachePolicy, type GattCacheStore } from './cache.ts'
import { Subscription } from './subscription.ts'

export { Subscription } from './subscription.ts'
export { NOTIFICATION_QUEUE_DEFAULTS } from './notifications.ts'
export type { OverflowPolicy, QueuePolicy } from './bounded-queue.ts'

/** What a read or write is addressed to: a characteristic (its value), a descriptor, or a raw handle. */
export type Target = RemoteCharacteristic | RemoteDescriptor | number

export type ValueCallback = (value: Uint8Array, characteristic: RemoteCharacteristic, client: GattClient) => void

export interface GattClientOptions {
  /** Peer identity for the cache (its identity address, e.g. "C0:11:22:33:44:55/random"). */
  peer?: string
  store?: GattCacheStore
  /** Default 'validate'. */
  policy?: CachePolicy
  /** Set Robust Caching in the peer's Client Supported Features after discovery (default true). */
  robustCaching?: boolean
  /**
   * Whether the peer keeps our Client Supported Features across connections (a bonded peer,
   * Part G 2.5.2.1). Default: the link is encrypted and the peer is bonded (`LinkSecurity.bonded`,
   * kept by gap/link-security.ts). When true, a reconnection that reuses the cache does not write
   * them again (the 1-request reconnection).
   */
  bonded?: boolean
  /** Raise the link's security when the peer asks for more, then retry once (see SecurityUpgrade). */
  security?: SecurityUpgrade
  /** Timestamps of cache entries (default Date.now). */
  clock?: Pick<Clock, 'now'>
  /** Buffers for values that arrive before anyone listens. */
  buffer?: ValueRouterOptions
  /**
   * The queue of every subscription read with `for await` (each subscribe() may override it):
   * default at most 16 MiB waiting, then the subscription ends with GattError 'GATT_DROPPED'
   * (NOTIFICATION_QUEUE_DEFAULTS in att/notifications.ts says why).
   */
  queue?: QueuePolicy
  /** Short for `queue.maxItems` (default: no count bound, only the byte bound). */
  subscriptionLimit?: number
}

/** Options of one subscribe(). */
export interface SubscribeOptions {
  signal?: AbortSignal
  mode?: 'notify' | 'indicate'
  /** Hand every value to this callback instead of queueing it for `for await`. */
  onValue?: ValueCallback
  /** This subscription's queue, over the client's `queue` option. */
  queue?: QueuePolicy
}

/**
 * What the GATT client asks when the peer refuses a request for lack of security (Vol 3 Part C
 * 10.3.2); the layer that runs SMP implements it (gap/link-security.ts).
 */
export interface SecurityUpgrade {
  /**
   * Raise the link's security for the ATT error `errorCode` (0x05, 0x0c or 0x0f): encrypt from
   * the bond or pair. Resolves true when the request is worth sending again; rejects with the
   * reason when raising failed.
   */
  upgrade(errorCode: number, opts: { signal?: AbortSignal | undefined }): Promise<boolean>
}

const SECURITY_ERRORS: ReadonlySet<number> = new Set([
  AttErrorCode.InsufficientAuthentication,
  AttErrorCode.InsufficientEncryption,
  AttErrorCode.EncryptionKeySizeTooShort,
])

export type DiscoverySource = 'discovered' | 'cache-validated' | 'cache-trusted'

export interface ServiceChangedEvent {
  start: number
  end: number
  /** The database after the affected range was rediscovered (absent if that failed). */
  database?: RemoteDatabase
  error?: unknown
}

export interface GattClientEvents {
  serviceChanged: ServiceChangedEvent
  /** The database model was replaced (rediscovery after a hash change, Service Changed, Out Of Sync). */
  databaseChanged: RemoteDatabase
}

type Signal = { signal?: AbortSignal }

export class GattClient {
  /** The peer's database, once discovered. */
  database: RemoteDatabase | undefined
  /** Where the last `discover()` got the database from. */
  source: DiscoverySource | undefined
  /** Robust Caching was accepted by the peer's Client Supported Features. */
  robustCachingEnabled = false
  readonly router: ValueRouter
  private readonly peer: string | undefined
  private readonly store: GattCacheStore | undefined
  private readonly policy: CachePolicy
  private readonly robustCaching: boolean
  private readonly bondedOpt: boolean | undefined
  private readonly security: SecurityUpgrade | undefined
  private readonly clock: Pick<Clock, 'now'>
  private readonly queuePolicy: QueuePolicy
  private readonly listeners: { [K in keyof GattClientEvents]?: ((e: GattClientEvents[K]) => void)[] } = {}
  private readonly cccdBits = new Map<number, number>()
  private readonly subscribers = new Map<number, number>()
  private readonly queues = new Set<BoundedQueue<Uint8Array>>()
  private revalidating: Promise<boolean> | undefined
  private changeChain: Promise<void> = Promise.resolve()

  constructor(
    readonly bearer: AttBearer,
    opts: GattClientOptions = {},
  ) {
    this.peer = opts.peer
    this.store = opts.store
    this.policy = opts.policy ?? 'validate'
    this.robustCaching = opts.robustCaching ?? true
    this.bondedOpt = opts.bonded
    this.security = opts.security
    this.clock = opts.clock ?? { now: () => Date.now() }
    this.queuePolicy = { maxItems: opts.subscriptionLimit, ...opts.queue }
    this.router = new ValueRouter(opts.buffer)
    bearer.onNotification((handle, value, indication) => this.onValueFromPeer(handle, value, indication))
    bearer.onClose((reason) => {
      for (const q of this.queues) q.end(reason)
      this.queues.clear()
    })
  }

  get mtu(): number {
    return this.bearer.mtu
  }

  private get bonded(): boolean {
    const s = this.bearer.channel.link.security
    return this.bondedOpt ?? (s.encrypted && s.bonded === true)
  }

  on<K extends keyof GattClientEvents>(event: K, cb: (e: GattClientEvents[K]) => void): () => void {
    const list = (this.listeners[event] ??= []) as ((e: GattClientEvents[K]) => void)[]
    list.push(cb)
    return () => {
      const i = list.indexOf(cb)
      if (i >= 0) list.splice(i, 1)
    }
  }

  private emit<K extends keyof GattClientEvents>(event: K, e: GattClientEvents[K]): void {
    for (const cb of [...(this.listeners[event] ?? [])] as ((e: GattClientEvents[K]) => void)[]) cb(e)
  }

  /** Exchange MTU (asks for the bearer's maximum, 517 by default). */
  exchangeMtu(opts: Signal = {}): Promise<number> {
    return this.bearer.exchangeMtu(opts)
  }

  // -------------------------------------------------------------------------------------------
  // Discovery and caching

  /**
   * The peer's whole database: from the cache when the policy allows and (for 'validate') the
   * Database Hash matches, else discovered (and stored). Then Robust Caching is enabled.
   */
  async discover(opts: Signal & { policy?: CachePolicy } = {}): Promise<RemoteDatabase> {
    const { signal } = opts
    const policy = opts.policy ?? this.policy
    const store = policy !== 'off' && this.peer !== undefined ? this.store : undefined
    let db: RemoteDatabase | undefined
    let hashRead = false
    let currentHash: Uint8Array | undefined
    if (store) {
      const cached = await loadCached(store, this.peer!)
      if (cached && policy === 'trust') {
        db = cached
        this.source = 'cache-trusted'
      } else if (cached?.hash) {
        const h = await this.retryOutOfSync(() => readDatabaseHash(this.bearer, signal))
        hashRead = true
        currentHash = h?.hash
        if (currentHash && equalBytes(currentHash, cached.hash)) {
          db = cached
          this.source = 'cache-validated'
        }
      }
    }
    const fromCache = db !== undefined
    if (!db) {
      db = await this.fullDiscovery({ signal, readHash: policy !== 'off' && !hashRead, knownHash: currentHash, store })
      this.source = 'discovered'
    }
    this.setDatabase(db, false)
    if (this.robustCaching && (!fromCache || !this.bonded)) await this.enableRobustCaching(signal)
    return db
  }

  private async fullDiscovery(o: {
    signal?: AbortSignal | undefined
    readHash: boolean
    knownHash?: Uint8Array | undefined
    store?: GattCacheStore | undefined
  }): Promise<RemoteDatabase> {
    const { database } = await this.retryOutOfSync(() =>
      discoverDatabase(this.bearer, { readHash: o.readHash, signal: o.signal }),
    )
    if (o.knownHash) database.hash = o.knownHash
    const store = o.store ?? (this.policy !== 'off' && this.peer !== undefined ? this.store : undefined)
    if (store && this.peer !== undefined) await saveCached(store, this.peer, database, this.clock.now())
    return database
  }

  /** Discovery requests answered with Database Out Of Sync: read the hash (makes us change-aware), then once more. */
  private async retryOutOfSync<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (e) {
      if (!isAttErrorCode(e, AttErrorCode.DatabaseOutOfSync)) throw e
      await readDatabaseHash(this.bearer)
      return fn()
    }
  }

  private setDatabase(db: RemoteDatabase, announce: boolean): void {
    this.database = db
    if (announce) this.emit('databaseChanged', db)
  }

  private async enableRobustCaching(signal?: AbortSignal): Promise<void> {
    const csf = this.database?.findCharacteristics(GattUuid.ClientSupportedFeatures)[0]
    if (!csf) return
    try {
      await writeValue(this.bearer, csf.valueHandle, new Uint8Array([0x01]), { signal })
      this.robustCachingEnabled = true
    } catch (e) {
      // A peer that refuses (e.g. Value Not Allowed) simply has no robust caching for us.
      if (!(e instanceof AttError && e.code === 'ATT_ERROR_RESPONSE')) throw e
      this.robustCachingEnabled = false
    }
  }

  /**
   * Re-validate the database (after Database Out Of Sync): read the hash; rediscover when it
   * differs (or the peer has none). Resolves true when the database changed. One at a time.
   */
  revalidate(): Promise<boolean> {
    this.revalidating ??= (async () => {
      try {
        const h = await readDatabaseHash(this.bearer)
        if (h && this.database?.hash && equalBytes(h.hash, this.database.hash)) return false
        const db = await this.fullDiscovery({ readHash: false, knownHash: h?.hash })
        this.setDatabase(db, true)
        return true
      } finally {
        this.revalidating = undefined
      }
    })()
    return this.revalidating
  }

  /** Discover Primary Services, all of them or those of one UUID (no characteristics yet). */
  async discoverPrimaryServices(uuid?: string | number, opts: Signal = {}): Promise<RemoteService[]> {
    const recs =
      uuid === undefined
        ? await findPrimaryServices(this.bearer, 1, 0xffff, opts.signal)
        : await findPrimaryServicesByUuid(this.bearer, parseUuid(uuid), 1, 0xffff, opts.signal)
    return recs.map((r) => new RemoteService(r.uuid!, r.start, r.end, true))
  }

  /** Discover All Characteristics of a Service (4.6.1), with their descriptors when `descriptors` is set. */
  async discoverCharacteristics(
    service: RemoteService,
    opts: Signal & { descriptors?: boolean } = {},
  ): Promise<RemoteCharacteristic[]> {
    const { chars } = await findCharacteristics(this.bearer, service.start, service.end, opts.signal)
    service.characteristics.length = 0
    const built = chars
      .filter((c) => c.valueHandle <= service.end)
      .map((c, i, all) => {
        const end = all[i + 1] ? all[i + 1]!.handle - 1 : service.end
        const rc = new RemoteCharacteristic(c.uuid, c.handle, c.properties, c.valueHandle, end, service)
        service.characteristics.push(rc)
        return { c: rc, wide: c.wide }
      })
    if (opts.descriptors) await findDescriptors(this.bearer, built, true, opts.signal)
    return service.characteristics
  }

  /** Discover All Characteristic Descriptors (4.7.1) of one characteristic. */
  async discoverDescriptors(characteristic: RemoteCharacteristic, opts: Signal = {}): Promise<RemoteDescriptor[]> {
    characteristic.descriptors.length = 0
    await findDescriptors(this.bearer, [{ c: characteristic, wide: false }], false, opts.signal)
    return characteristic.descriptors
  }

  // -------------------------------------------------------------------------------------------
  // Reads and writes

  /** The value of a characteristic or descriptor, whole (Read, then Read Blob while needed). */
  async read(target: Target, opts: Signal & { offset?: number; long?: boolean } = {}): Promise<Uint8Array> {
    return this.synced([target], ([h]) => readValue(this.bearer, h!, opts), opts.signal)
  }

  /** Read Multiple: the values of several attributes, concatenated (their lengths must be known). */
  async readMultiple(targets: Target[], opts: Signal = {}): Promise<Uint8Array> {
    return this.synced(targets, (hs) => readMultiple(this.bearer, hs, opts), opts.signal)
  }

  /** Read Multiple Variable: one whole value per target. */
  async readMultipleVariable(targets: Target[], opts: Signal = {}): Promise<Uint8Array[]> {
    return this.synced(targets, (hs) => readMultipleVariable(this.bearer, hs, opts), opts.signal)
  }

  /** Read Using Characteristic UUID over [start, end] (default the whole database). */
  async readByUuid(
    uuid: string | number,
    opts: Signal & { start?: number; end?: number } = {},
  ): Promise<{ handle: number; value: Uint8Array }[]> {
    const u: Uuid = parseUuid(uuid)
    return this.synced([], () => readByUuid(this.bearer, u, opts.start ?? 1, opts.end ?? 0xffff, opts), opts.signal)
  }

  /**
   * Write a value and wait for the peer to accept it: a Write Request when it fits (ATT_MTU-3),
   * else a long write (Prepare Write + Execute Write).
   */
  async write(target: Target, value: Uint8Array, opts: Signal = {}): Promise<void> {
    checkLength(value.length)
    return this.synced(
      [target],
      ([h]) =>
        value.length <= this.bearer.mtu - 3
          ? writeValue(this.bearer, h!, value, opts)
          : preparedWrite(this.bearer, [{ handle: h!, value }], opts),
      opts.signal,
    )
  }

  /** Write Long Characteristic Values: always Prepare Write + Execute Write, from `offset`. */
  async writeLong(target: Target, value: Uint8Array, opts: Signal & { offset?: number } = {}): Promise<void> {
    checkLength((opts.offset ?? 0) + value.length)
    return this.synced(
      [target],
      ([h]) => preparedWrite(this.bearer, [{ handle: h!, value, offset: opts.offset ?? 0 }], opts),
      opts.signal,
    )
  }

  /**
   * Reliable Writes (4.9.5): every part is queued and its echo checked; all are executed
   * together, or (on any mismatch or error) none.
   */
  async reliableWrite(
    parts: { target: Target; value: Uint8Array; offset?: number }[],
    opts: Signal = {},
  ): Promise<void> {
    for (const p of parts) checkLength((p.offset ?? 0) + p.value.length)
    return this.synced(
      parts.map((p) => p.target),
      (hs) =>
        preparedWrite(
          this.bearer,
          parts.map((p, i) => ({ handle: hs[i]!, value: p.value, offset: p.offset ?? 0 })),
          opts,
        ),
      opts.signal,
    )
  }

  /** Write Without Response: resolves when the link took the frame (bounded in flight by the bearer). */
  async writeWithoutResponse(target: Target, value: Uint8Array): Promise<void> {
    return writeCommand(this.bearer, handleOf(target), value)
  }

  /**
   * Run `fn` on the targets' handles; when the peer asks for more security, raise it through the
   * `security` option and run it once more (see SecurityUpgrade).
   */
  private async synced<T>(targets: Target[], fn: (handles: number[]) => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      return await this.inSync(targets, fn)
    } catch (e) {
      if (!this.security || !(e instanceof AttError) || !SECURITY_ERRORS.has(e.errorCode ?? -1)) throw e
      if (!(await this.security.upgrade(e.errorCode!, { signal }))) throw e
      return this.inSync(targets, fn)
    }
  }

  /** Run `fn` on the targets' handles; on Database Out Of Sync, re-validate and run it once more. */
  private async inSync<T>(targets: Target[], fn: (handles: number[]) => Promise<T>): Promise<T> {
    try {
      return await fn(targets.map(handleOf))
    } catch (e) {
      if (!isAttErrorCode(e, AttErrorCode.DatabaseOutOfSync)) throw e
      const before = this.database
      const changed = await this.revalidate()
      const handles = targets.map((t) => handleOf(changed ? this.remap(t, before, e) : t))
      return fn(handles)
    }
  }

  /** The same characteristic or descriptor in the new database (by UUIDs and instance order). */
  private remap(t: Target, before: RemoteDatabase | undefined, original: AttError): Target {
    const now = this.database
    const lost = (what: string): GattError =>
      new GattError('GATT_NOT_FOUND', `${what} is gone from the peer's database after it changed`, { cause: original })
    if (typeof t === 'number' || !before || !now) {
      if (typeof t === 'number') {
        throw new GattError(
          'GATT_NOT_FOUND',
          `handle ${hex4(t)}: the peer's database changed and a raw handle cannot be followed`,
          {
            cause: original,
            hint: 'address characteristics by their objects from client.database',
          },
        )
      }
      throw lost(String(t))
    }
    const c = t instanceof RemoteCharacteristic ? t : t.characteristic
    const s = c.service
    const sNew = now.findServices(s.uuid)[before.findServices(s.uuid).indexOf(s)]
    const cNew = sNew?.findCharacteristics(c.uuid)[s.findCharacteristics(c.uuid).indexOf(c)]
    if (!cNew) throw lost(String(c))
    if (t instanceof RemoteCharacteristic) return cNew
    const same = c.descriptors.filter((d) => d.uuid === t.uuid)
    const dNew = cNew.descriptors.filter((d) => d.uuid === t.uuid)[same.indexOf(t)]
    if (!dNew) throw lost(String(t))
    return dNew
  }

  // -------------------------------------------------------------------------------------------
  // Notifications and indications

  private onValueFromPeer(handle: number, value: Uint8Array, indication: boolean): void {
    // Service Changed is indicated (Vol 3 Part G 7.1): look it up for indications only, not per notification.
    if (indication) {
      const sc = this.database?.findCharacteristics(GattUuid.ServiceChanged)[0]
      if (sc && handle === sc.valueHandle) this.onServiceChanged(value)
    }
    this.router.deliver(handle, value)
  }

  /** Listen to a characteristic's values without touching its CCCD. Returns the remover. */
  onValue(characteristic: RemoteCharacteristic, cb: ValueCallback): () => void {
    return this.router.add(characteristic.valueHandle, { push: (v) => cb(v, characteristic, this) })
  }

  /**
   * Enable notifications (or indications) in the CCCD and listen. Without `onValue` the values
   * queue in the returned Subscription for `for await`. Values that arrived before are
   * delivered first.
   */
  async subscribe(characteristic: RemoteCharacteristic, opts: SubscribeOptions = {}): Promise<Subscription> {
    const cccd = characteristic.cccd
    if (!cccd) {
      throw new GattError(
        'GATT_NOT_SUPPORTED',
        `${characteristic} has no Client Characteristic Configuration descriptor`,
        {
          hint: 'only characteristics with the notify or indicate property can be subscribed to',
        },
      )
    }
    const mode = opts.mode ?? (characteristic.can('Notify') ? 'notify' : 'indicate')
    const bit = mode === 'notify' ? 0x0001 : 0x0002
    const cb = opts.onValue
    const policy = resolvePolicy({ ...this.queuePolicy, ...opts.queue }, NOTIFICATION_QUEUE_DEFAULTS)
    const release = (): void => void sub.unsubscribe().catch(() => {})
    const queue = cb ? undefined : valueQueue(policy, String(characteristic), { onReturn: release, onDrained: release })
    const remove = this.router.add(characteristic.valueHandle, queue ?? { push: (v) => cb!(v, characteristic, this) })
    if (queue) this.queues.add(queue)
    const vh = characteristic.valueHandle
    this.subscribers.set(vh, (this.subscribers.get(vh) ?? 0) + 1)
    let active = true
    const sub: Subscription = new Subscription(characteristic, queue, async () => {
      if (!active) return
      active = false
      remove()
      if (queue) {
        queue.end()
        this.queues.delete(queue)
      }
      const left = (this.subscribers.get(vh) ?? 1) - 1
      if (left > 0) {
        this.subscribers.set(vh, left)
        return
      }
      this.subscribers.delete(vh)
      this.cccdBits.delete(cccd.handle)
      if (!this.bearer.closed) await this.write(cccd, new Uint8Array([0, 0]))
    })
    try {
      const cur = this.cccdBits.get(cccd.handle) ?? 0
      if ((cur & bit) === 0) {
        const next = cur | bit
        await this.write(cccd, new Uint8Array([next & 0xff, next >> 8]), opts)
        this.cccdBits.set(cccd.handle, next)
      }
    } catch (e) {
      active = false
      remove()
      queue?.end()
      if (queue) this.queues.delete(queue)
      const left = (this.subscribers.get(vh) ?? 1) - 1
      if (left > 0) this.subscribers.set(vh, left)
      else this.subscribers.delete(vh)
      throw e
    }
    return sub
  }

  // -------------------------------------------------------------------------------------------
  // Service Changed

  private onServiceChanged(value: Uint8Array): void {
    if (value.length !== 4) return
    const start = value[0]! | (value[1]! << 8)
    const end = value[2]! | (value[3]! << 8)
    if (start === 0 || end < start) return
    this.changeChain = this.changeChain.then(async () => {
      try {
        const db = await this.rediscoverRange(start, end)
        this.emit('serviceChanged', { start, end, database: db })
      } catch (error) {
        this.emit('serviceChanged', { start, end, error })
      }
    })
  }

  /** Rediscover [start, end] (widened to whole services) and merge it into the database. */
  async rediscoverRange(start: number, end: number, opts: Signal = {}): Promise<RemoteDatabase> {
    const old = this.database
    let lo = start
    let hi = end
    for (const s of old?.services ?? []) {
      if (s.end >= lo && s.start <= hi) {
        lo = Math.min(lo, s.start)
        hi = Math.max(hi, s.end)
      }
    }
    const part = await discoverDatabase(this.bearer, {
      start: lo,
      end: hi,
      signal: opts.signal,
    })
    const kept = (old?.services ?? []).filter((s) => s.end < lo || s.start > hi)
    const fresh = part.database.services.filter((s) => s.start >= lo && s.start <= hi)
    const merged = [...kept, ...fresh]
    linkIncludes(merged)
    const h = await readDatabaseHash(this.bearer, opts.signal).catch(() => undefined)
    const db = new RemoteDatabase(merged, h?.hash)
    this.setDatabase(db, true)
    const store = this.policy !== 'off' && this.peer !== undefined ? this.store : undefined
    if (store) await saveCached(store, this.peer!, db, this.clock.now())
    return db
  }

  /** Close the bearer: pending operations reject, subscriptions end. */
  close(err?: Error): void {
    this.bearer.close(err)
  }
}

function handleOf(t: Target): number {
  if (typeof t === 'number') {
    if (!Number.isInteger(t) || t < 1 || t > 0xffff) throw new RangeError(`${t} is not an attribute handle`)
    return t
  }
  return t instanceof RemoteCharacteristic ? t.valueHandle : t.handle
}

function checkLength(n: number): void {
  if (n > MAX_VALUE_LENGTH) {
    throw new GattError('GATT_VALUE_TOO_LONG', `${n} octets: an attribute value has at most ${MAX_VALUE_LENGTH}`)
  }
}
