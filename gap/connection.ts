/**
 * One LE ACL connection of an HciHost, as the rest of the stack sees it (Core v5.4 Vol 4 Part E
 * 7.1.6 Disconnect, 7.7.5 Disconnection Complete, 7.7.8 Encryption Change, 7.8.18 LE Connection
 * Update, 7.8.33 LE Set Data Length, 7.8.49 LE Set PHY, 7.5.4 Read RSSI; Vol 3 Part A 4.20 L2CAP
 * Connection Parameter Update Request).
 *
 * A Connection is an att/ `AclLink`: frames go out with `host.sendAcl(handle, ...)`, frames come
 * in from `host.onAcl` for its handle (routed by the manager, gap/connections.ts), and it closes
 * on Disconnection Complete with an error naming the reason. It owns its L2CAP multiplexer and
 * its ATT bearer, and implements `LinkSecurity` from Encryption Change events.
 *
 * State changes are a typed event map (`on('parameters' | 'dataLength' | 'phy' | 'security' |
 * 'disconnected')`); every wait (disconnect, parameter update, PHY) has a timeout.
 */
import type { Clock, HciHost } from '../hci/host.ts'
import type { HciEvent } from '../hci/events.ts'
import {
  Disconnect,
  LeConnectionUpdate,
  LeReadPhy,
  LeSetDataLength,
  LeSetPhy,
  ReadEncryptionKeySize,
  ReadRssi,
} from '../hci/commands.ts'
import { statusName } from '../hci/constants.ts'
import type { AclLink, LinkSecurity } from '../att/l2cap/link.ts'
import { linkClosedError } from '../att/l2cap/link.ts'
import { L2capMux } from '../att/l2cap/mux.ts'
import { validConnectionParameters, type ConnectionParameters } from '../att/l2cap/signaling.ts'
import { AttBearer } from '../att/bearer.ts'
import { GapError, statusError, waitForEvent, type EventOf } from './events.ts'

export type { ConnectionParameters }

export type Role = 'central' | 'peripheral'
export type AddressType = 'public' | 'random'

export interface PeerAddress {
  address: string
  type: AddressType
}

/** Parameters in force (Vol 4 Part E 7.7.65.1 units: interval 1.25 ms, timeout 10 ms). */
export interface ActiveParameters {
  interval: number
  latency: number
  timeout: number
}

export interface DataLength {
  maxTxOctets: number
  maxTxTime: number
  maxRxOctets: number
  maxRxTime: number
}

/** 1 = LE 1M, 2 = LE 2M, 3 = LE Coded (7.7.65.12). */
export interface Phy {
  tx: number
  rx: number
}

export interface Disconnection {
  /** The HCI reason code of Disconnection Complete (7.7.5). */
  reason: number
  /** Its name in the spec ("Remote User Terminated Connection"). */
  reasonName: string
  /** Who asked: we did (disconnect()), or the peer / the link (supervision timeout...). */
  local: boolean
}

export interface ConnectionEvents {
  parameters: ActiveParameters
  dataLength: DataLength
  phy: Phy
  security: LinkSecurity
  disconnected: Disconnection
}

export interface ConnectionOptions {
  clock: Clock
  /** Our ATT receive MTU (default 517). */
  attMtu?: number
  /** ATT transaction timeout (default 30000). */
  attTimeoutMs?: number
  /** Timeout of the HCI procedures this class waits on (default 10000 ms). */
  procedureTimeoutMs?: number
  /** Central: decide on the peer's L2CAP Connection Parameter Update Request (default: accept valid values). */
  parameterPolicy?: (p: ConnectionParameters) => boolean | Promise<boolean>
}

export interface ConnectionInit {
  handle: number
  role: Role
  peer: PeerAddress
  parameters: ActiveParameters
  /** LE Enhanced Connection Complete: the peer's RPA on the air when the controller resolved it (peer is then the identity). */
  peerRpa?: string | undefined
  /** LE Enhanced Connection Complete: our RPA on the air when the controller made it. */
  localRpa?: string | undefined
}

/** `signal` and `timeout` (ms, default the procedure timeout) of the procedures below. */
export type Signal = { signal?: AbortSignal; timeout?: number }

const hex3 = (h: number): string => `0x${h.toString(16).padStart(3, '0')}`

export class Connection implements AclLink {
  readonly handle: number
  readonly role: Role
  readonly peer: PeerAddress
  /** The peer's resolvable private address on the air, when the controller resolved it to `peer`. */
  readonly peerRpa: string | undefined
  /** Our resolvable private address on the air, when the controller generated it. */
  readonly localRpa: string | undefined
  readonly security: LinkSecurity = { encrypted: false, authenticated: false, keySize: 0 }
  parameters: ActiveParameters
  dataLength: DataLength | undefined
  phy: Phy = { tx: 1, rx: 1 }
  /** Set once the link is gone. */
  disconnection: Disconnection | undefined
  readonly mux: L2capMux
  readonly att: AttBearer
  /** Resolves when the link is gone (never rejects). */
  readonly disconnected: Promise<Disconnection>

  private readonly clock: Clock
  /** Default timeout of the procedures below, ms. */
  private readonly procedureTimeout: number
  private readonly frameCbs: ((frame: Uint8Array) => void)[] = []
  private readonly closeCbs: ((reason?: Error) => void)[] = []
  private closeError: GapError | undefined
  private localDisconnect = false
  private resolveDisconnected!: (d: Disconnection) => void
  private readonly listeners: { [K in keyof ConnectionEvents]?: ((e: ConnectionEvents[K]) => void)[] } = {}

  constructor(
    private readonly host: HciHost,
    init: ConnectionInit,
    opts: ConnectionOptions,
  ) {
    this.handle = init.handle
    this.role = init.role
    this.peer = init.peer
    this.peerRpa = init.peerRpa
    this.localRpa = init.localRpa
    this.parameters = init.parameters
    this.clock = opts.clock
    this.procedureTimeout = opts.procedureTimeoutMs ?? 10_000
    this.disconnected = new Promise((resolve) => (this.resolveDisconnected = resolve))
    this.mux = new L2capMux(this, {
      clock: opts.clock,
      signaling: {
        onConnectionParameterUpdate: opts.parameterPolicy,
        // Central: we accepted the peer's request; the controller applies it (7.8.18).
        onConnectionParametersAccepted: (p) => void this.connectionUpdate(p).catch(() => {}),
      },
    })
    this.att = new AttBearer(this.mux.att, {
      clock: opts.clock,
      mtu: opts.attMtu,
      timeout: opts.attTimeoutMs,
    })
  }

  // --- AclLink -------------------------------------------------------------------------------

  get closed(): boolean {
    return this.disconnection !== undefined
  }

  send(frame: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(linkClosedError(this.closeError))
    return this.host.sendAcl(this.handle, frame)
  }

  onFrame(cb: (frame: Uint8Array) => void): void {
    this.frameCbs.push(cb)
  }

  onClose(cb: (reason?: Error) => void): void {
    if (this.closed) queueMicrotask(() => cb(this.closeError))
    else this.closeCbs.push(cb)
  }

  // --- events ----------------------------------------------------------------------------------

  on<K extends keyof ConnectionEvents>(event: K, cb: (e: ConnectionEvents[K]) => void): () => void {
    const list = (this.listeners[event] ??= []) as ((e: ConnectionEvents[K]) => void)[]
    list.push(cb)
    return () => {
      const i = list.indexOf(cb)
      if (i >= 0) list.splice(i, 1)
    }
  }

  private emit<K extends keyof ConnectionEvents>(event: K, e: ConnectionEvents[K]): void {
    for (const cb of [...((this.listeners[event] ?? []) as ((e: ConnectionEvents[K]) => void)[])]) cb(e)
  }

  /** From the manager: an L2CAP PDU for this handle. */
  receiveFrame(frame: Uint8Array): void {
    if (this.closed) return
    for (const cb of this.frameCbs) cb(frame)
  }

  /** From the manager: an HCI event about this handle. */
  receiveEvent(e: HciEvent): void {
    switch (e.key) {
      case 'DisconnectionComplete':
        if (e.params.status === 0) this.close(e.params.reason)
        break
      case 'LeConnectionUpdateComplete':
        if (e.params.status === 0) {
          const p = e.params
          this.parameters = {
            interval: p.connectionInterval,
            latency: p.peripheralLatency,
            timeout: p.supervisionTimeout,
          }
          this.emit('parameters', this.parameters)
        }
        break
      case 'LeDataLengthChange': {
        const { maxTxOctets, maxTxTime, maxRxOctets, maxRxTime } = e.params
        this.dataLength = { maxTxOctets, maxTxTime, maxRxOctets, maxRxTime }
        this.emit('dataLength', this.dataLength)
        break
      }
      case 'LePhyUpdateComplete':
        if (e.params.status === 0) {
          this.phy = { tx: e.params.txPhy, rx: e.params.rxPhy }
          this.emit('phy', this.phy)
        }
        break
      case 'EncryptionChange':
      case 'EncryptionChangeV2':
      case 'EncryptionKeyRefreshComplete':
        // With SMP running on this link (gap/link-security.ts), it decides what the change means.
        if (this.securityEvents) this.securityEvents(e)
        else this.defaultSecurityEvent(e)
        break
      default:
        break
    }
  }

  /**
   * Where the encryption events of this link go (Encryption Change, Key Refresh Complete) when
   * the security layer (gap/link-security.ts) runs on it; it then keeps `security` current
   * through `updateSecurity`. Without it, the link tracks encryption alone.
   */
  securityEvents:
    | ((e: EventOf<'EncryptionChange' | 'EncryptionChangeV2' | 'EncryptionKeyRefreshComplete'>) => void)
    | undefined

  /** Change the link's security (gap/link-security.ts) and emit 'security'. */
  updateSecurity(patch: Partial<LinkSecurity>): void {
    Object.assign(this.security, patch)
    this.emit('security', this.security)
  }

  private defaultSecurityEvent(
    e: EventOf<'EncryptionChange' | 'EncryptionChangeV2' | 'EncryptionKeyRefreshComplete'>,
  ): void {
    switch (e.key) {
      case 'EncryptionChange':
      case 'EncryptionChangeV2':
        if (e.params.status === 0) {
          this.security.encrypted = e.params.encryptionEnabled !== 0
          if (!this.security.encrypted) this.security.keySize = 0
          else if (e.key === 'EncryptionChangeV2') this.security.keySize = e.params.encryptionKeySize
          else {
            // v1 carries no key size: ask the controller (7.5.6).
            this.security.keySize = 16
            this.host.send(ReadEncryptionKeySize, { connectionHandle: this.handle }).then(
              (r) => {
                this.security.keySize = r.keySize
                this.emit('security', this.security)
              },
              () => undefined,
            )
          }
          this.emit('security', this.security)
        }
        break
      case 'EncryptionKeyRefreshComplete':
        if (e.params.status === 0) this.emit('security', this.security)
        break
    }
  }

  /** The link is gone (Disconnection Complete, or the transport closed). */
  close(reason: number, message?: string): void {
    if (this.closed) return
    const reasonName = statusName(reason)
    this.disconnection = { reason, reasonName, local: this.localDisconnect }
    this.closeError = new GapError(
      'DISCONNECTED',
      message ?? `handle ${hex3(this.handle)} disconnected: ${reasonName}`,
      {
        status: reason,
        statusName: reasonName,
      },
    )
    for (const cb of this.closeCbs.splice(0)) cb(this.closeError)
    this.emit('disconnected', this.disconnection)
    this.resolveDisconnected(this.disconnection)
  }

  private wait<K extends HciEvent['key']>(
    key: K,
    what: string,
    o: Signal,
    accept: (e: EventOf<K>) => boolean = () => true,
  ) {
    return waitForEvent(
      this.host,
      this.clock,
      (e) => {
        if (
          e.key === 'DisconnectionComplete' &&
          e.params.status === 0 &&
          (e.params.connectionHandle & 0xfff) === this.handle
        ) {
          throw new GapError('DISCONNECTED', `${what}: the link went away (${statusName(e.params.reason)})`, {
            status: e.params.reason,
            statusName: statusName(e.params.reason),
          })
        }
        if (e.key !== key) return undefined
        const ev = e as EventOf<K>
        const h = (ev as unknown as { params: { connectionHandle?: number } }).params.connectionHandle
        return h !== undefined && (h & 0xfff) === this.handle && accept(ev) ? ev : undefined
      },
      {
        signal: o.signal,
        timeout: o.timeout ?? this.procedureTimeout,
        what: `${what} for handle ${hex3(this.handle)}`,
      },
    )
  }

  private notClosed(what: string): void {
    if (this.closed)
      throw new GapError(
        'DISCONNECTED',
        `${what}: handle ${hex3(this.handle)} is disconnected (${this.disconnection!.reasonName})`,
      )
  }

  // --- procedures ------------------------------------------------------------------------------

  /**
   * Disconnect (7.1.6) with `reason` (default 0x13 Remote User Terminated Connection) and wait for
   * Disconnection Complete. Resolves with the reason our controller reported.
   */
  async disconnect(reason = 0x13, o: Signal = {}): Promise<Disconnection> {
    if (this.closed) return this.disconnection!
    this.localDisconnect = true
    const w = this.wait('DisconnectionComplete', 'Disconnection Complete', o)
    w.promise.catch(() => undefined)
    try {
      await this.host.send(Disconnect, { connectionHandle: this.handle, reason }, { signal: o.signal })
    } catch (err) {
      w.cancel()
      if (this.closed) return this.disconnection!
      this.localDisconnect = false
      throw err
    }
    try {
      await w.promise
    } catch (err) {
      if (!this.closed) throw err
    }
    return this.disconnection!
  }

  /**
   * New connection parameters. Central: LE Connection Update (7.8.18); peripheral: an L2CAP
   * Connection Parameter Update Request (Vol 3 Part A 4.20), which the central may refuse
   * ('PARAMETERS_REJECTED'). Resolves with the parameters in force after LE Connection Update
   * Complete.
   */
  async updateParameters(p: ConnectionParameters, o: Signal = {}): Promise<ActiveParameters> {
    this.notClosed('updateParameters')
    if (!validConnectionParameters(p)) {
      throw new GapError('INVALID_PARAMETERS', `connection parameters outside the spec's limits: ${JSON.stringify(p)}`)
    }
    if (this.role === 'central') return this.connectionUpdate(p, o)
    const w = this.wait('LeConnectionUpdateComplete', 'LE Connection Update Complete', o)
    w.promise.catch(() => undefined)
    let accepted: boolean
    try {
      accepted = await this.mux.signaling.requestConnectionParameterUpdate(p, { signal: o.signal })
    } catch (err) {
      w.cancel()
      throw err
    }
    if (!accepted) {
      w.cancel()
      throw new GapError('PARAMETERS_REJECTED', `the central rejected the connection parameters ${JSON.stringify(p)}`)
    }
    const e = await w.promise
    if (e.params.status !== 0) throw statusError('HCI_COMMAND_FAILED', 'connection parameter update', e.params.status)
    return this.parameters
  }

  private async connectionUpdate(p: ConnectionParameters, o: Signal = {}): Promise<ActiveParameters> {
    const w = this.wait('LeConnectionUpdateComplete', 'LE Connection Update Complete', o)
    w.promise.catch(() => undefined)
    try {
      await this.host.send(
        LeConnectionUpdate,
        {
          connectionHandle: this.handle,
          connectionIntervalMin: p.intervalMin,
          connectionIntervalMax: p.intervalMax,
          maxLatency: p.latency,
          supervisionTimeout: p.timeout,
          minCeLength: 0,
          maxCeLength: 0,
        },
        { signal: o.signal },
      )
    } catch (err) {
      w.cancel()
      throw err
    }
    const e = await w.promise
    if (e.params.status !== 0) throw statusError('HCI_COMMAND_FAILED', 'LE Connection Update', e.params.status)
    return this.parameters
  }

  /**
   * LE Set Data Length (7.8.33). Resolves once the controller took it; LE Data Length Change
   * (emitted as 'dataLength', kept in `dataLength`) follows when the values in use change.
   */
  async setDataLength(txOctets: number, txTime = Math.min(17040, (txOctets + 14) * 8), o: Signal = {}): Promise<void> {
    this.notClosed('setDataLength')
    await this.host.send(LeSetDataLength, { connectionHandle: this.handle, txOctets, txTime }, { signal: o.signal })
  }

  /**
   * LE Set PHY (7.8.49): preferred PHYs as bit masks (1 = 1M, 2 = 2M, 4 = Coded). Resolves with the
   * PHYs in use from LE PHY Update Complete.
   */
  async setPhy(pref: { tx: number; rx: number }, o: Signal = {}): Promise<Phy> {
    this.notClosed('setPhy')
    const w = this.wait('LePhyUpdateComplete', 'LE PHY Update Complete', o)
    w.promise.catch(() => undefined)
    try {
      await this.host.send(
        LeSetPhy,
        { connectionHandle: this.handle, allPhys: 0, txPhys: pref.tx, rxPhys: pref.rx, phyOptions: 0 },
        { signal: o.signal },
      )
    } catch (err) {
      w.cancel()
      throw err
    }
    const e = await w.promise
    if (e.params.status !== 0) throw statusError('HCI_COMMAND_FAILED', 'PHY update', e.params.status)
    return this.phy
  }

  /** LE Read PHY (7.8.47). */
  async readPhy(o: Signal = {}): Promise<Phy> {
    this.notClosed('readPhy')
    const r = await this.host.send(LeReadPhy, { connectionHandle: this.handle }, { signal: o.signal })
    this.phy = { tx: r.txPhy, rx: r.rxPhy }
    return this.phy
  }

  /** Read RSSI (7.5.4), in dBm. */
  async readRssi(o: Signal = {}): Promise<number> {
    this.notClosed('readRssi')
    const r = await this.host.send(ReadRssi, { connectionHandle: this.handle }, { signal: o.signal })
    return r.rssi
  }

  toString(): string {
    return `${this.role} connection ${hex3(this.handle)} to ${this.peer.address}/${this.peer.type}`
  }
}
