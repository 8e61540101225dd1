/**
 * The LE connections of one HciHost (Core v5.4 Vol 4 Part E 7.8.12 LE Create Connection, 7.8.13
 * LE Create Connection Cancel, 7.8.66 LE Extended Create Connection, 7.7.65.1 / 7.7.65.10 LE
 * (Enhanced) Connection Complete, 7.7.5 Disconnection Complete, 7.7.65.6 / 7.8.31 remote
 * connection parameter requests; Vol 6 Part B 4.5 and Vol 4 Part E 3.1.1 for the choice between
 * the legacy and the extended command set).
 *
 * - connect(peer): as central. LE Extended Create Connection when the controller supports it and
 *   this host has not used legacy advertising commands (gap/command-set.ts), else LE Create
 *   Connection. Attempts are serialised (a controller initiates one connection at a time). A
 *   timeout or an abort sends LE Create Connection Cancel; a connection that completes anyway in
 *   that race is disconnected again, and the attempt rejects.
 * - A scan running on the same host (gap/scanner.ts) is paused before the first attempt and
 *   resumed when the last pending attempt ends (success, failure, timeout, abort), through the
 *   host's ScanControl (gap/scan-control.ts, which says why it always pauses); concurrent attempts
 *   pause it once. The attempt's promise settles without waiting for the resume.
 * - Peripheral: every LE (Enhanced) Connection Complete with role 1 becomes a Connection, handed
 *   synchronously to `onConnection` listeners and to the `server` option (a GattServer attached
 *   before the first ATT PDU can arrive), and to `accept()`.
 * - Routing: ACL PDUs from host.onAcl and the events naming a handle go to that Connection.
 * - LE Remote Connection Parameter Request (a peer using the Connection Parameters Request
 *   procedure) is answered by the parameter policy (default: accept valid values).
 */
import type { Clock, HciHost } from '../hci/host.ts'
import type { HciEvent } from '../hci/events.ts'
import {
  LeCreateConnection,
  LeCreateConnectionCancel,
  LeExtendedCreateConnection,
  LeRemoteConnectionParameterRequestNegativeReply,
  LeRemoteConnectionParameterRequestReply,
} from '../hci/commands.ts'
import { validConnectionParameters, type ConnectionParameters } from '../att/l2cap/signaling.ts'
import type { GattServer } from '../att/server.ts'
import { Connection, type AddressType, type ConnectionOptions, type PeerAddress } from './connection.ts'
import { commandSet } from './command-set.ts'
import { scanControl } from './scan-control.ts'
import { GapError, statusError, waitForEvent, type EventOf } from './events.ts'

export { Connection, GapError }
export type { AddressType, PeerAddress, ConnectionParameters }
export type {
  ActiveParameters,
  ConnectionEvents,
  DataLength,
  Disconnection,
  Phy,
  Role,
} from './connection.ts'

export interface ConnectionsOptions extends Omit<ConnectionOptions, 'clock'> {
  clock: Clock
  /** Peripheral role: serve this GATT database on every new connection (attached synchronously). */
  server?: GattServer
  /** Force the command set instead of choosing from the controller's features. */
  extended?: boolean
}

export interface ConnectOptions {
  signal?: AbortSignal
  /** Give up (and cancel) after this long (default 10000 ms). */
  timeout?: number
  /** Connection parameters asked for (default: interval 30-50 ms, latency 0, timeout 4 s). */
  parameters?: ConnectionParameters
  /** Scan interval and window while initiating, 0.625 ms units (default 0x60 / 0x60). */
  scanInterval?: number
  scanWindow?: number
  /** 0 public (default), 1 random (set with LE Set Random Address first). */
  ownAddressType?: number
  /** Our ATT receive MTU on this connection (default: the manager's `attMtu`). */
  attMtu?: number
}

type CompleteEvent =
  | EventOf<'LeConnectionComplete'>
  | EventOf<'LeEnhancedConnectionComplete'>
  | EventOf<'LeEnhancedConnectionCompleteV2'>

/** How an attempt ended: the connection (undefined when the event reports a failure) and the event. */
interface Completed {
  c: Connection | undefined
  e: CompleteEvent
}

const DEFAULT_PARAMETERS: ConnectionParameters = { intervalMin: 24, intervalMax: 40, latency: 0, timeout: 400 }

const NO_ADDRESS = '00:00:00:00:00:00'

/** The RPAs an LE Enhanced Connection Complete reports (all zero: none in use). */
function rpasOf(e: CompleteEvent): { peerRpa?: string; localRpa?: string } {
  if (e.key === 'LeConnectionComplete') return {}
  const out: { peerRpa?: string; localRpa?: string } = {}
  if (e.params.peerResolvablePrivateAddress !== NO_ADDRESS)
    out.peerRpa = e.params.peerResolvablePrivateAddress.toUpperCase()
  if (e.params.localResolvablePrivateAddress !== NO_ADDRESS)
    out.localRpa = e.params.localResolvablePrivateAddress.toUpperCase()
  return out
}

function isComplete(e: HciEvent): e is CompleteEvent {
  return (
    e.key === 'LeConnectionComplete' ||
    e.key === 'LeEnhancedConnectionComplete' ||
    e.key === 'LeEnhancedConnectionCompleteV2'
  )
}

/** Events that carry a Connection_Handle for one of our connections. */
const HANDLE_EVENTS: ReadonlySet<string> = new Set([
  'DisconnectionComplete',
  'LeConnectionUpdateComplete',
  'LeDataLengthChange',
  'LePhyUpdateComplete',
  'EncryptionChange',
  'EncryptionChangeV2',
  'EncryptionKeyRefreshComplete',
])

const normalise = (a: string): string => a.toUpperCase()

export class Connections {
  /** Open connections by handle. */
  readonly byHandle = new Map<number, Connection>()
  private readonly clock: Clock
  private readonly connectionOptions: ConnectionOptions
  private readonly server: GattServer | undefined
  private readonly forceExtended: boolean | undefined
  private readonly connectionCbs: ((c: Connection) => void)[] = []
  private readonly backlog: Connection[] = []
  private readonly acceptors: ((c: Connection) => void)[] = []
  private attempt: Promise<unknown> = Promise.resolve()
  private initiating:
    | { peer: PeerAddress; attMtu: number | undefined; claim: (c: Connection | undefined, e: CompleteEvent) => void }
    | undefined
  private readonly offEvent: () => void
  private readonly offAcl: () => void
  private readonly offClose: () => void

  constructor(
    readonly host: HciHost,
    opts: ConnectionsOptions,
  ) {
    const { server, extended, ...connectionOptions } = opts
    this.clock = opts.clock
    this.connectionOptions = connectionOptions
    this.server = server
    this.forceExtended = extended
    this.offEvent = host.onEvent((e) => this.event(e))
    this.offAcl = host.onAcl((handle, pdu) => this.byHandle.get(handle)?.receiveFrame(pdu))
    this.offClose = host.onClose(() => {
      for (const c of [...this.byHandle.values()])
        c.close(0x08, `handle 0x${c.handle.toString(16)}: the transport closed`)
      this.byHandle.clear()
    })
  }

  /** Called synchronously for every new connection (both roles), before any of its data. */
  onConnection(cb: (c: Connection) => void): () => void {
    this.connectionCbs.push(cb)
    return () => {
      const i = this.connectionCbs.indexOf(cb)
      if (i >= 0) this.connectionCbs.splice(i, 1)
    }
  }

  /** Stop routing (the connections stay as they are). */
  close(): void {
    this.offEvent()
    this.offAcl()
    this.offClose()
  }

  private event(e: HciEvent): void {
    if (isComplete(e)) return this.complete(e)
    if (e.key === 'HardwareError') return this.hardwareError(e.params.hardwareCode)
    if (e.key === 'LeRemoteConnectionParameterRequest') return this.remoteParameterRequest(e)
    if (!HANDLE_EVENTS.has(e.key)) return
    const handle = ((e as unknown as { params: { connectionHandle?: number } }).params.connectionHandle ?? -1) & 0xfff
    const c = this.byHandle.get(handle)
    if (!c) return
    c.receiveEvent(e)
    if (c.closed) this.byHandle.delete(handle)
  }

  /**
   * Hardware Error (Core v5.4 Vol 4 Part E 7.7.16): the controller lost its state, links included,
   * and no Disconnection Complete will come: every connection ends now, with an error naming it.
   */
  private hardwareError(code: number): void {
    const hex = `0x${code.toString(16).padStart(2, '0')}`
    for (const c of [...this.byHandle.values()])
      c.close(
        0x1f,
        `handle 0x${c.handle.toString(16)}: the controller reported Hardware Error ${hex}; its links are gone`,
      )
    this.byHandle.clear()
  }

  private complete(e: CompleteEvent): void {
    const p = e.params
    if (p.status !== 0) {
      // A failed or cancelled attempt of ours (role 0); nothing for a peripheral.
      this.initiating?.claim(undefined, e)
      return
    }
    const peer: PeerAddress = { address: normalise(p.peerAddress), type: p.peerAddressType & 1 ? 'random' : 'public' }
    // Our own attempt may ask for its own ATT MTU: set before the first ATT PDU can arrive.
    const attMtu = p.role === 0 ? this.initiating?.attMtu : undefined
    const c = new Connection(
      this.host,
      {
        handle: p.connectionHandle & 0xfff,
        role: p.role === 0 ? 'central' : 'peripheral',
        peer,
        parameters: { interval: p.connectionInterval, latency: p.peripheralLatency, timeout: p.supervisionTimeout },
        ...rpasOf(e),
      },
      attMtu === undefined ? this.connectionOptions : { ...this.connectionOptions, attMtu },
    )
    this.byHandle.set(c.handle, c)
    if (c.role === 'peripheral' && this.server) this.server.attach(c.att, c.security)
    for (const cb of [...this.connectionCbs]) cb(c)
    if (c.role === 'central' && this.initiating) {
      this.initiating.claim(c, e)
      return
    }
    if (c.role === 'peripheral') {
      const a = this.acceptors.shift()
      if (a) a(c)
      else {
        this.backlog.push(c)
        if (this.backlog.length > 16) this.backlog.shift()
      }
    }
  }

  private remoteParameterRequest(e: EventOf<'LeRemoteConnectionParameterRequest'>): void {
    const p = e.params
    const handle = p.connectionHandle & 0xfff
    const params = { intervalMin: p.intervalMin, intervalMax: p.intervalMax, latency: p.maxLatency, timeout: p.timeout }
    const policy = this.connectionOptions.parameterPolicy ?? (() => true)
    void (async () => {
      let ok = false
      try {
        ok = validConnectionParameters(params) && (await policy(params))
      } catch {
        ok = false
      }
      if (ok) {
        await this.host.send(LeRemoteConnectionParameterRequestReply, {
          connectionHandle: handle,
          intervalMin: p.intervalMin,
          intervalMax: p.intervalMax,
          maxLatency: p.maxLatency,
          timeout: p.timeout,
          minCeLength: 0,
          maxCeLength: 0,
        })
      } else {
        // 0x3B Unacceptable Connection Parameters
        await this.host.send(LeRemoteConnectionParameterRequestNegativeReply, {
          connectionHandle: handle,
          reason: 0x3b,
        })
      }
    })().catch(() => undefined)
  }

  /**
   * Peripheral: the next connection made to us (one that arrived before is returned at once).
   * Rejects with 'TIMEOUT' after `timeout` ms (default 30000).
   */
  accept(o: { signal?: AbortSignal; timeout?: number } = {}): Promise<Connection> {
    const ready = this.backlog.shift()
    if (ready) return Promise.resolve(ready)
    return new Promise((resolve, reject) => {
      if (o.signal?.aborted) return reject(o.signal.reason)
      const ms = o.timeout ?? 30_000
      const done = (): void => {
        const i = this.acceptors.indexOf(take)
        if (i >= 0) this.acceptors.splice(i, 1)
        this.clock.clearTimeout(timer)
        o.signal?.removeEventListener('abort', onAbort)
      }
      const take = (c: Connection): void => {
        done()
        resolve(c)
      }
      const onAbort = (): void => {
        done()
        reject(o.signal!.reason)
      }
      const timer = this.clock.setTimeout(() => {
        done()
        reject(
          new GapError('TIMEOUT', `no central connected within ${ms} ms`, {
            hint: 'is the advertiser enabled and connectable?',
          }),
        )
      }, ms)
      o.signal?.addEventListener('abort', onAbort, { once: true })
      this.acceptors.push(take)
    })
  }

  /** Whether connect() uses LE Extended Create Connection on this host. */
  get extended(): boolean {
    if (this.forceExtended !== undefined) return this.forceExtended
    return commandSet(this.host).current() === 'extended'
  }

  /** Connect to `peer` as central. Attempts are serialised. */
  connect(peer: PeerAddress | string, o: ConnectOptions = {}): Promise<Connection> {
    const target: PeerAddress =
      typeof peer === 'string'
        ? { address: normalise(peer), type: 'public' }
        : { address: normalise(peer.address), type: peer.type }
    // Taken now, so attempts queued behind each other share one pause of the scan.
    const hold = scanControl(this.host).hold()
    const run = this.attempt.then(() => hold.ready).then(() => this.connectNow(target, o))
    const release = (): void => void hold.release()
    void run.then(release, release)
    this.attempt = run.catch(() => undefined)
    return run
  }

  private async connectNow(peer: PeerAddress, o: ConnectOptions): Promise<Connection> {
    if (o.signal?.aborted) throw o.signal.reason
    const params = o.parameters ?? DEFAULT_PARAMETERS
    if (!validConnectionParameters(params)) {
      throw new GapError(
        'INVALID_PARAMETERS',
        `connection parameters outside the spec's limits: ${JSON.stringify(params)}`,
      )
    }
    const set = commandSet(this.host)
    const extended = this.forceExtended ?? set.choose()
    set.use(extended ? 'extended' : 'legacy')
    let claim!: (c: Connection | undefined, e: CompleteEvent) => void
    const completed = new Promise<Completed>((resolve) => {
      claim = (c, e) => resolve({ c, e })
    })
    this.initiating = { peer, attMtu: o.attMtu, claim }
    try {
      await sendCreateConnection(this.host, peer, o, params, extended)
      // Wait for the complete event, a timeout or an abort.
      const first = await this.completedOrStopped(peer, o, completed)
      if (!('stop' in first)) return this.result(peer, first)
      await this.cancel(completed)
      throw first.stop
    } finally {
      this.initiating = undefined
    }
  }

  /** The complete event, or what stops the wait (the timeout's error, or the signal's reason). */
  private completedOrStopped(
    peer: PeerAddress,
    o: ConnectOptions,
    completed: Promise<Completed>,
  ): Promise<Completed | { stop: unknown }> {
    const timeout = o.timeout ?? 10_000
    const stopped = new Promise<{ stop: unknown }>((resolve) => {
      const timer = this.clock.setTimeout(() => {
        const stop = new GapError('TIMEOUT', `no connection to ${peer.address}/${peer.type} within ${timeout} ms`, {
          hint: 'is the peer advertising connectable, in range, with this address type?',
        })
        resolve({ stop })
      }, timeout)
      const onAbort = (): void => resolve({ stop: o.signal!.reason })
      o.signal?.addEventListener('abort', onAbort, { once: true })
      void completed.then(() => {
        this.clock.clearTimeout(timer)
        o.signal?.removeEventListener('abort', onAbort)
      })
    })
    return Promise.race([completed, stopped])
  }

  /**
   * Timed out or aborted: cancel (7.8.13); the controller then reports the attempt as ended
   * (Unknown Connection Identifier), or the connection was made in the meantime: disconnect it.
   */
  private async cancel(completed: Promise<Completed>): Promise<void> {
    await this.host.send(LeCreateConnectionCancel, {}).catch(() => undefined)
    const after = waitForEvent(this.host, this.clock, (e) => (isComplete(e) ? true : undefined), {
      timeout: 2000,
      what: 'the connection complete event after LE Create Connection Cancel',
    })
    after.promise.catch(() => undefined)
    const late = await Promise.race([completed, after.promise.then(() => completed)]).catch(() => undefined)
    after.cancel()
    if (late?.c) await late.c.disconnect(0x13).catch(() => undefined)
  }

  private result(peer: PeerAddress, r: Completed): Connection {
    if (!r.c) {
      const s = r.e.params.status
      throw statusError('CONNECT_FAILED', `connection to ${peer.address}/${peer.type} failed`, s)
    }
    return r.c
  }
}

/** LE Extended Create Connection (7.8.66) or LE Create Connection (7.8.12) to `peer`. */
async function sendCreateConnection(
  host: HciHost,
  peer: PeerAddress,
  o: ConnectOptions,
  params: ConnectionParameters,
  extended: boolean,
): Promise<void> {
  const conn = {
    connectionIntervalMin: params.intervalMin,
    connectionIntervalMax: params.intervalMax,
    maxLatency: params.latency,
    supervisionTimeout: params.timeout,
    minCeLength: 0,
    maxCeLength: 0,
  }
  const scanInterval = o.scanInterval ?? 0x60
  const scanWindow = o.scanWindow ?? 0x60
  const peerAddressType = peer.type === 'random' ? 1 : 0
  const ownAddressType = o.ownAddressType ?? 0
  if (extended) {
    await host.send(LeExtendedCreateConnection, {
      initiatorFilterPolicy: 0,
      ownAddressType,
      peerAddressType,
      peerAddress: peer.address,
      initiatingPhys: 0x01,
      perPhy: [{ scanInterval, scanWindow, ...conn }],
    })
  } else {
    await host.send(LeCreateConnection, {
      scanInterval,
      scanWindow,
      initiatorFilterPolicy: 0,
      peerAddressType,
      peerAddress: peer.address,
      ownAddressType,
      ...conn,
    })
  }
}
