/**
 * Advertising, legacy and extended (Core v5.4 Vol 4 Part E 7.8.5-7.8.9 legacy advertising
 * commands; 7.8.53-7.8.60 extended advertising sets; 7.7.65.18 LE Advertising Set Terminated;
 * Vol 6 Part B 2.3.1 legacy PDUs, 2.3.4 extended PDUs, 4.4.2 advertising state; Vol 4 Part E
 * 3.1.1 for the command-set rule; Vol 3 Part C 11 for the data format).
 *
 * - The command set is chosen per host (gap/command-set.ts): extended when the controller has LE
 *   Extended Advertising (LE feature bit 12) and the host has not used the legacy commands, unless
 *   the `extended` option forces it. With extended commands an advertiser may run several sets at
 *   once (`createSet`); with legacy commands there is one.
 * - An extended set uses legacy PDUs (seen by every scanner) when its data fits them, unless
 *   `legacyPdu: false` or the options need extended PDUs (more than 31 octets, a PHY other than
 *   1M, TX power in the PDU). Data longer than 251 octets is written in fragments (7.8.54).
 * - Duration: extended sets give it to the controller (Duration, Max_Extended_Advertising_Events)
 *   and learn the end from LE Advertising Set Terminated; the legacy set stops on a host timer
 *   (which needs the `clock` option). `onTerminated` / `terminated()` report why a set stopped by
 *   itself: a connection (with its handle), the duration, the event limit.
 * - Connections (gap/connections.ts accepts them): a central connecting to a connectable set
 *   ends that set (Vol 6 Part B 4.4.2.1; the controller stops it). `enabled` follows that from LE
 *   (Enhanced) Connection Complete with role peripheral (v2 names the set) and from LE Advertising
 *   Set Terminated; with `restartOnConnect` the set is enabled again once the controller says it
 *   has stopped, so the device stays discoverable while connected.
 */
import type { Clock, HciHost } from '../hci/host.ts'
import {
  LeRemoveAdvertisingSet,
  LeSetAdvertisingData,
  LeSetAdvertisingEnable,
  LeSetAdvertisingParameters,
  LeSetExtendedAdvertisingData,
  LeSetExtendedAdvertisingEnable,
  LeSetExtendedAdvertisingParameters,
  LeSetExtendedScanResponseData,
  LeSetScanResponseData,
} from '../hci/commands.ts'
import type { HciEvent } from '../hci/events.ts'
import { statusName } from '../hci/constants.ts'
import type { AdBuilder } from './ad.ts'
import { commandSet } from './command-set.ts'
import { GapError } from './events.ts'
import {
  bytesOf,
  extendedParameters,
  legacyParameters,
  planAdvertising,
  type AdvertiseOptions,
} from './advertising-plan.ts'

export type { AdvertiseOptions } from './advertising-plan.ts'

export interface Termination {
  reason: 'connection' | 'timeout' | 'limit' | 'error'
  /** The HCI status of LE Advertising Set Terminated (0 for a connection) and its name. */
  status: number
  statusName: string
  /** The connection made through the set. */
  connectionHandle?: number
  /** Num_Completed_Extended_Advertising_Events, when the controller said. */
  completedEvents?: number
}

/** Octets of advertising data per LE Set Extended Advertising Data command (7.8.54). */
const FRAGMENT = 251

function padded(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(31)
  out.set(b)
  return out
}

function isPeripheralComplete(
  e: HciEvent,
): e is Extract<
  HciEvent,
  { key: 'LeConnectionComplete' | 'LeEnhancedConnectionComplete' | 'LeEnhancedConnectionCompleteV2' }
> {
  return (
    (e.key === 'LeConnectionComplete' ||
      e.key === 'LeEnhancedConnectionComplete' ||
      e.key === 'LeEnhancedConnectionCompleteV2') &&
    e.params.status === 0 &&
    e.params.role === 1
  )
}

/** One advertising set: the legacy one (handle 0), or an extended set. */
export class AdvertisingSet {
  /** Whether the controller is advertising this set (as far as the host knows). */
  enabled = false
  /** Whether this set uses legacy PDUs. */
  legacyPdu = true
  private opts: AdvertiseOptions = {}
  private readonly cbs = new Set<(t: Termination) => void>()
  private timer: unknown
  private removed = false

  constructor(
    private readonly adv: Advertiser,
    readonly handle: number,
    readonly extended: boolean,
  ) {}

  get options(): Readonly<AdvertiseOptions> {
    return this.opts
  }

  /** Called when the set stops by itself (connection, duration, event limit). Returns unsubscribe. */
  onTerminated(cb: (t: Termination) => void): () => void {
    this.cbs.add(cb)
    return () => void this.cbs.delete(cb)
  }

  /** The next termination. */
  terminated(): Promise<Termination> {
    return new Promise((resolve) => {
      const off = this.onTerminated((t) => {
        off()
        resolve(t)
      })
    })
  }

  /** Parameters and data (the set must not be enabled: stop() first, or use start()). */
  async configure(o: AdvertiseOptions): Promise<void> {
    if (this.removed) throw new GapError('REMOVED', `advertising set ${this.handle} was removed`)
    const plan = planAdvertising(o, this.extended, this.adv.clock !== undefined)
    const host = this.adv.host
    const signal = o.signal
    if (!this.extended) await host.send(LeSetAdvertisingParameters, legacyParameters(plan), { signal })
    else await host.send(LeSetExtendedAdvertisingParameters, extendedParameters(plan, this.handle, o), { signal })
    this.opts = o
    this.legacyPdu = plan.legacyPdu
    await this.writeData(plan.data, plan.rsp, { signal })
  }

  private async writeData(data: Uint8Array, rsp: Uint8Array | undefined, so: { signal?: AbortSignal }): Promise<void> {
    const host = this.adv.host
    if (!this.extended) {
      await host.send(LeSetAdvertisingData, { advertisingDataLength: data.length, advertisingData: padded(data) }, so)
      if (rsp)
        await host.send(
          LeSetScanResponseData,
          { scanResponseDataLength: rsp.length, scanResponseData: padded(rsp) },
          so,
        )
      return
    }
    const scannableExt = !this.legacyPdu && (this.opts.scannable ?? this.opts.scanResponse !== undefined)
    if (!scannableExt)
      await this.fragments(data, (operation, piece) =>
        host.send(
          LeSetExtendedAdvertisingData,
          { advertisingHandle: this.handle, operation, fragmentPreference: 1, advertisingData: piece },
          so,
        ),
      )
    if (rsp)
      await this.fragments(rsp, (operation, piece) =>
        host.send(
          LeSetExtendedScanResponseData,
          { advertisingHandle: this.handle, operation, fragmentPreference: 1, scanResponseData: piece },
          so,
        ),
      )
  }

  /** 7.8.54 Operation: 3 complete, else 1 first, 0 intermediate, 2 last. */
  private async fragments(
    b: Uint8Array,
    send: (operation: number, piece: Uint8Array) => Promise<unknown>,
  ): Promise<void> {
    if (b.length <= FRAGMENT) {
      await send(3, b)
      return
    }
    for (let at = 0; at < b.length; at += FRAGMENT) {
      const last = at + FRAGMENT >= b.length
      await send(at === 0 ? 1 : last ? 2 : 0, b.subarray(at, at + FRAGMENT))
    }
  }

  /** Replace the data (and scan response). Fragmented data is written with the set stopped, then restarted. */
  async setData(data: Uint8Array | AdBuilder, scanResponse?: Uint8Array | AdBuilder): Promise<void> {
    const maxLen = this.legacyPdu ? 31 : 1650
    const d = bytesOf(data, maxLen)
    const r = scanResponse === undefined ? undefined : bytesOf(scanResponse, maxLen)
    if (d.length > maxLen || (r?.length ?? 0) > maxLen)
      throw new GapError('AD_TOO_LONG', `at most ${maxLen} octets with ${this.legacyPdu ? 'legacy' : 'extended'} PDUs`)
    const restart = this.enabled && this.extended && (d.length > FRAGMENT || (r?.length ?? 0) > FRAGMENT)
    if (restart) await this.stop()
    this.opts = { ...this.opts, data: d }
    if (r) this.opts.scanResponse = r
    await this.writeData(d, r, {})
    if (restart) await this.enable()
  }

  /** Configure (when options are given) and enable. */
  async start(o?: AdvertiseOptions): Promise<void> {
    if (o) {
      if (this.enabled) await this.stop()
      await this.configure(o)
    }
    await this.enable(o?.signal)
  }

  /** Enable with the configured duration and event limit. */
  async enable(signal?: AbortSignal): Promise<void> {
    const host = this.adv.host
    const so = { signal }
    const o = this.opts
    if (!this.extended) {
      await host.send(LeSetAdvertisingEnable, { enable: 1 }, so)
      this.enabled = true
      if (o.durationMs !== undefined && this.adv.clock) {
        const clock = this.adv.clock
        clock.clearTimeout(this.timer)
        this.timer = clock.setTimeout(() => {
          this.timer = undefined
          if (!this.enabled) return
          void host.send(LeSetAdvertisingEnable, { enable: 0 }).catch(() => undefined)
          this.ended({ reason: 'timeout', status: 0x3c, statusName: statusName(0x3c) })
        }, o.durationMs)
      }
      return
    }
    const duration = o.durationMs === undefined ? 0 : Math.max(1, Math.ceil(o.durationMs / 10))
    await host.send(
      LeSetExtendedAdvertisingEnable,
      {
        enable: 1,
        sets: [{ advertisingHandle: this.handle, duration, maxExtendedAdvertisingEvents: o.maxEvents ?? 0 }],
      },
      so,
    )
    this.enabled = true
  }

  /** Disable (disabling while disabled is not an error, 7.8.9 / 7.8.56). */
  async stop(): Promise<void> {
    const host = this.adv.host
    this.clearTimer()
    if (!this.extended) await host.send(LeSetAdvertisingEnable, { enable: 0 })
    else
      await host.send(LeSetExtendedAdvertisingEnable, {
        enable: 0,
        sets: [{ advertisingHandle: this.handle, duration: 0, maxExtendedAdvertisingEvents: 0 }],
      })
    this.enabled = false
  }

  /** Stop and forget the set (LE Remove Advertising Set for extended sets). */
  async remove(): Promise<void> {
    if (this.enabled) await this.stop()
    if (this.extended) await this.adv.host.send(LeRemoveAdvertisingSet, { advertisingHandle: this.handle })
    this.removed = true
    this.adv.forget(this)
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.adv.clock?.clearTimeout(this.timer)
    this.timer = undefined
  }

  /** @internal the set stopped by itself. */
  ended(t: Termination): void {
    this.enabled = false
    this.clearTimer()
    for (const cb of [...this.cbs]) cb(t)
    if (t.reason === 'connection' && this.opts.restartOnConnect && !this.removed) {
      void this.enable().catch(() => undefined)
    }
  }
}

export interface AdvertiserOptions {
  /** Needed for a duration with legacy advertising (a host timer). */
  clock?: Clock
  /** Force the extended (true) or legacy (false) commands instead of choosing. */
  extended?: boolean
}

export class Advertiser {
  readonly clock: Clock | undefined
  private readonly forceExtended: boolean | undefined
  private readonly byHandle = new Map<number, AdvertisingSet>()
  private readonly off: () => void

  constructor(
    readonly host: HciHost,
    o: AdvertiserOptions = {},
  ) {
    this.clock = o.clock
    this.forceExtended = o.extended
    this.off = host.onEvent((e) => this.event(e))
  }

  /** Whether any set is advertising (as far as the host knows). */
  get advertising(): boolean {
    for (const s of this.byHandle.values()) if (s.enabled) return true
    return false
  }

  /** The sets by handle. */
  get sets(): ReadonlyMap<number, AdvertisingSet> {
    return this.byHandle
  }

  /** Whether this advertiser uses the extended commands (decided at first use). */
  get extended(): boolean {
    return this.forceExtended ?? commandSet(this.host).choose()
  }

  private kind(): boolean {
    const ext = this.extended
    commandSet(this.host).use(ext ? 'extended' : 'legacy')
    return ext
  }

  /** A new set, configured and not enabled. Extended commands allow several; legacy ones one. */
  async createSet(o: AdvertiseOptions = {}): Promise<AdvertisingSet> {
    const ext = this.kind()
    // Extended: handle 0 is start()'s default set; createSet() takes the next free one from 1.
    let handle = ext ? 1 : 0
    if (ext) while (this.byHandle.has(handle)) handle++
    else if (this.byHandle.has(0))
      throw new GapError('UNSUPPORTED', 'legacy advertising has a single set', {
        hint: 'a controller with LE Extended Advertising runs several sets',
      })
    if (handle > 0xef) throw new GapError('UNSUPPORTED', 'no advertising handle left (0x00-0xEF)')
    const s = new AdvertisingSet(this, handle, ext)
    this.byHandle.set(handle, s)
    try {
      await s.configure(o)
    } catch (err) {
      this.byHandle.delete(handle)
      throw err
    }
    return s
  }

  /** The default set (handle 0, `defaultSet` after): configure and enable. */
  async start(o: AdvertiseOptions = {}): Promise<void> {
    const ext = this.kind()
    let s = this.byHandle.get(0)
    if (!s) {
      s = new AdvertisingSet(this, 0, ext)
      this.byHandle.set(0, s)
    }
    await s.start(o)
  }

  /** The set start() uses (handle 0), once started. */
  get defaultSet(): AdvertisingSet | undefined {
    return this.byHandle.get(0)
  }

  /** Replace the data of the default set. */
  async setData(data: Uint8Array | AdBuilder, scanResponse?: Uint8Array | AdBuilder): Promise<void> {
    const s = this.byHandle.get(0)
    if (!s) throw new GapError('NOT_STARTED', 'start() the advertiser first')
    await s.setData(data, scanResponse)
  }

  /** Disable every set. */
  async stop(): Promise<void> {
    if (this.byHandle.size === 0) {
      // Nothing of ours: still make sure the controller is quiet (legacy: allowed any time).
      if (!this.extended) await this.host.send(LeSetAdvertisingEnable, { enable: 0 })
      return
    }
    for (const s of this.byHandle.values()) await s.stop()
  }

  close(): void {
    this.off()
  }

  /** @internal */
  forget(s: AdvertisingSet): void {
    if (this.byHandle.get(s.handle) === s) this.byHandle.delete(s.handle)
  }

  private event(e: HciEvent): void {
    if (e.key === 'LeAdvertisingSetTerminated') {
      const p = e.params
      const s = this.byHandle.get(p.advertisingHandle)
      if (!s?.extended) return
      const reason =
        p.status === 0 ? 'connection' : p.status === 0x3c ? 'timeout' : p.status === 0x43 ? 'limit' : 'error'
      const t: Termination = {
        reason,
        status: p.status,
        statusName: statusName(p.status),
        completedEvents: p.numCompletedExtendedAdvertisingEvents,
      }
      if (p.status === 0) t.connectionHandle = p.connectionHandle & 0xfff
      s.ended(t)
      return
    }
    if (!isPeripheralComplete(e)) return
    const handle = e.params.connectionHandle & 0xfff
    const legacy = this.byHandle.get(0)
    if (legacy && !legacy.extended) {
      // The controller stopped legacy advertising when the connection was made (7.8.9).
      if (legacy.enabled)
        legacy.ended({ reason: 'connection', status: 0, statusName: statusName(0), connectionHandle: handle })
      return
    }
    // Extended: LE Advertising Set Terminated follows and says which set; v2 already names it.
    if (e.key === 'LeEnhancedConnectionCompleteV2') {
      const s = this.byHandle.get(e.params.advertisingHandle)
      if (s) s.enabled = false
      return
    }
    const connectable = [...this.byHandle.values()].filter((s) => s.enabled && (s.options.connectable ?? true))
    if (connectable.length === 1) connectable[0]!.enabled = false
  }
}
