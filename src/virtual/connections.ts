/**
 * Connections of the virtual controller, LE only: creating, cancelling and ending them.
 *
 * - HCI (Core v5.4 Vol 4 Part E): 7.8.12 LE Create Connection, 7.8.66 LE Extended Create
 *   Connection [v1], 7.8.13 LE Create Connection Cancel, 7.1.6 Disconnect, 7.5.4 Read RSSI;
 *   events 7.7.65.1 LE Connection Complete, 7.7.65.10 LE Enhanced Connection Complete [v1]/[v2]
 *   (v2 when unmasked, else v1 when unmasked, else the legacy event), 7.7.65.20 LE Channel
 *   Selection Algorithm, 7.7.5 Disconnection Complete.
 * - Link Layer (Vol 6 Part B): the Initiating state (4.4.4: the initiator answers a connectable
 *   advertisement of its peer, or of a device on the Filter Accept List, with CONNECT_IND /
 *   AUX_CONNECT_REQ), the Connection state (4.5, ll-connection.ts), the termination procedure
 *   (5.1.6, LL_TERMINATE_IND) and the dispatch of LL Control PDUs to the procedure modules
 *   (connection-update.ts, connection-procedures.ts, encryption.ts); an LL Control PDU nobody
 *   handles is answered with LL_UNKNOWN_RSP (2.4.2.7).
 * - The peripheral side: advertising.ts hands over a CONNECT_IND that reached an active
 *   connectable set (`c.hooks.onConnectInd`).
 * Local procedures run one at a time per connection, with the 40 s LL response timeout
 * (5.2: 0x22 LL Response Timeout).
 */
import {
  Disconnect,
  LeCreateConnection,
  LeCreateConnectionCancel,
  LeExtendedCreateConnection,
  ReadRssi,
} from '../../hci/commands.ts'
import {
  DisconnectionComplete,
  LeChannelSelectionAlgorithm,
  LeConnectionComplete,
  LeEnhancedConnectionComplete,
  LeEnhancedConnectionCompleteV2,
} from '../../hci/events.ts'
import { Status } from '../../hci/constants.ts'
import type { AdvPdu, ConnectIndPdu } from './link.ts'
import { ControllerError, type PeripheralConnect, type VirtualController } from './controller.ts'
import { filterAcceptList, filterAcceptListInUse } from './filter-accept-list.ts'
import {
  CENTRAL,
  Connection,
  LinkConnection,
  PERIPHERAL,
  type ConnParams,
  type LlControlOf,
  type LlOp,
  type LlPdu,
  LL_OPCODES,
} from './ll-connection.ts'
import { installProcedures } from './connection-procedures.ts'

export { Connection, LinkConnection, CENTRAL, PERIPHERAL } from './ll-connection.ts'

/** Feature bits (Vol 6 Part B 4.6) this module implements. */
const FEATURE_EXTENDED_REJECT = 2
const FEATURE_CSA2 = 14

/** Disconnect reasons a host may give (7.1.6). */
const DISCONNECT_REASONS = new Set([0x05, 0x13, 0x14, 0x15, 0x1a, 0x29, 0x3b])

/** LL response timeout (Vol 6 Part B 5.2): 40 s. */
const LL_RESPONSE_TIMEOUT_MS = 40_000

const NO_ADDRESS = '00:00:00:00:00:00'

/** The connection parameters of one PHY of a (Extended) Create Connection. */
interface InitParams {
  scanInterval: number
  scanWindow: number
  connectionIntervalMin: number
  connectionIntervalMax: number
  maxLatency: number
  supervisionTimeout: number
  minCeLength: number
  maxCeLength: number
}

interface Initiator {
  extended: boolean
  filterPolicy: number
  peer: { type: number; address: string }
  own: { address: string; type: number }
  /** Parameters by PHY (1 = 1M, 2 = 2M). */
  byPhy: Map<number, InitParams>
}

/** A local LL procedure (5.1): one runs at a time per connection. */
export interface Procedure {
  name: string
  /** Send its first PDU. */
  begin(): void
  /** The peer rejected it (LL_REJECT_EXT_IND) or does not know it (LL_UNKNOWN_RSP -> 0x1A). */
  rejected?(errorCode: number): void
}

interface ProcState {
  active: (Procedure & { cancelTimer: () => void }) | undefined
  queue: Procedure[]
}

type ControlFn = (conn: Connection, pdu: never) => void

/** The suggested data length for new connections (7.8.34/7.8.35), shared with the procedures. */
export interface DataLengthDefaults {
  octets: number
  time: number
}

/** Per-controller state of the connection module; other modules reach it with `connectionsOf(c)`. */
export class Connections {
  readonly byHandle = new Map<number, Connection>()
  initiator: Initiator | undefined
  readonly suggested: DataLengthDefaults = { octets: 27, time: 328 }
  /** LE Set Default PHY (7.8.48): preferences for new PHY procedures; undefined = no preference. */
  defaultPhy: { tx: number | undefined; rx: number | undefined } = { tx: undefined, rx: undefined }
  private readonly controlFns = new Map<LlOp, ControlFn>()
  private readonly dataFns: Array<(conn: Connection, pdu: LlPdu) => void> = []
  private readonly openFns: Array<(conn: Connection) => void> = []
  private readonly closeFns: Array<(conn: Connection, reason: number) => void> = []
  private readonly procs = new WeakMap<Connection, ProcState>()

  constructor(readonly c: VirtualController) {}

  // --- for the other modules -------------------------------------------------------------------

  /** The open connection with this handle, or Unknown Connection Identifier (0x02). */
  get(handle: number): Connection {
    const conn = this.byHandle.get(handle & 0x0fff)
    if (!conn?.open) throw new ControllerError(Status.UnknownConnectionId, `no connection 0x${handle.toString(16)}`)
    return conn
  }

  /** Handle LL Control PDUs of one opcode (one module per opcode). */
  onControl<K extends LlOp>(op: K, fn: (conn: Connection, pdu: LlControlOf<K>) => void): void {
    if (this.controlFns.has(op)) throw new Error(`${op}: handled twice`)
    this.controlFns.set(op, fn as ControlFn)
  }

  /** LL Data PDUs received (acl-data.ts). */
  onData(fn: (conn: Connection, pdu: LlPdu) => void): void {
    this.dataFns.push(fn)
  }

  /** A connection was created (after its Connection Complete). */
  onOpen(fn: (conn: Connection) => void): void {
    this.openFns.push(fn)
  }

  /** A connection ended (after its Disconnection Complete, if any). */
  onClose(fn: (conn: Connection, reason: number) => void): void {
    this.closeFns.push(fn)
  }

  /** Run a local procedure now, or after the one in progress. */
  runProcedure(conn: Connection, proc: Procedure): void {
    const st = this.procState(conn)
    if (st.active) st.queue.push(proc)
    else this.begin(conn, st, proc)
  }

  /** The local procedure in progress, if any. */
  activeProcedure(conn: Connection): Procedure | undefined {
    return this.procs.get(conn)?.active
  }

  /** Is a local procedure of that name in progress or waiting? */
  hasProcedure(conn: Connection, name: string): boolean {
    const st = this.procs.get(conn)
    return st !== undefined && (st.active?.name === name || st.queue.some((p) => p.name === name))
  }

  /** The local procedure `name` is complete: start the next one. */
  finishProcedure(conn: Connection, name: string): void {
    const st = this.procs.get(conn)
    if (!st?.active || st.active.name !== name) return
    st.active.cancelTimer()
    st.active = undefined
    const next = st.queue.shift()
    if (next && conn.open) this.begin(conn, st, next)
  }

  // --- internals -------------------------------------------------------------------------------

  private procState(conn: Connection): ProcState {
    let st = this.procs.get(conn)
    if (!st) {
      st = { active: undefined, queue: [] }
      this.procs.set(conn, st)
    }
    return st
  }

  private begin(conn: Connection, st: ProcState, proc: Procedure): void {
    const cancelTimer = this.c.link.scheduler.schedule(LL_RESPONSE_TIMEOUT_MS, () => {
      if (st.active?.name === proc.name) conn.close(Status.LlResponseTimeout)
    })
    st.active = { ...proc, cancelTimer }
    proc.begin()
  }

  /** A PDU for one of our ends (the LinkConnection's receiver). */
  receive(conn: Connection, pdu: LlPdu): void {
    if (!pdu.control) {
      for (const fn of this.dataFns) fn(conn, pdu)
      return
    }
    const fn = this.controlFns.get(pdu.control.op)
    if (fn) fn(conn, pdu.control as never)
    else conn.sendControl({ op: 'LL_UNKNOWN_RSP', unknownType: LL_OPCODES[pdu.control.op] })
  }

  allocateHandle(): number {
    for (let h = 0x0001; h <= 0x0eff; h++) if (!this.byHandle.has(h)) return h
    throw new ControllerError(Status.ConnectionLimitExceeded)
  }

  opened(conn: Connection): void {
    this.byHandle.set(conn.handle, conn)
    for (const fn of this.openFns) fn(conn)
  }

  closed(conn: Connection, reason: number, notify: boolean): void {
    if (this.byHandle.get(conn.handle) === conn) this.byHandle.delete(conn.handle)
    const st = this.procs.get(conn)
    st?.active?.cancelTimer()
    this.procs.delete(conn)
    if (notify) this.c.event(DisconnectionComplete, { status: 0, connectionHandle: conn.handle, reason })
    for (const fn of this.closeFns) fn(conn, reason)
  }

  /** 7.7.65.1 / 7.7.65.10: the richest connection-complete event the host has unmasked. */
  connectionComplete(
    status: number,
    f: {
      handle: number
      role: number
      peerType: number
      peerAddress: string
      params: ConnParams
      clockAccuracy: number
      advertisingHandle: number
    },
  ): void {
    const c = this.c
    const common = {
      status,
      connectionHandle: f.handle,
      role: f.role,
      peerAddressType: f.peerType,
      peerAddress: f.peerAddress,
      connectionInterval: f.params.interval,
      peripheralLatency: f.params.latency,
      supervisionTimeout: f.params.timeout,
      centralClockAccuracy: f.clockAccuracy,
    }
    const enhanced = { ...common, localResolvablePrivateAddress: NO_ADDRESS, peerResolvablePrivateAddress: NO_ADDRESS }
    if (c.eventEnabled(LeEnhancedConnectionCompleteV2)) {
      c.event(LeEnhancedConnectionCompleteV2, {
        ...enhanced,
        advertisingHandle: f.advertisingHandle,
        syncHandle: 0xffff,
      })
    } else if (c.eventEnabled(LeEnhancedConnectionComplete)) {
      c.event(LeEnhancedConnectionComplete, enhanced)
    } else {
      c.event(LeConnectionComplete, common)
    }
  }

  /** A new end: Connection Complete, then the Channel Selection Algorithm event (7.7.65.20). */
  announce(conn: Connection, csa2: boolean, advertisingHandle: number): void {
    this.connectionComplete(0, {
      handle: conn.handle,
      role: conn.role,
      peerType: conn.remote.type,
      peerAddress: conn.remote.address,
      params: conn.params,
      // Central_Clock_Accuracy: 0x00 on the Central; the Central's SCA (here 50 ppm, 0x05) on the Peripheral.
      clockAccuracy: conn.role === CENTRAL ? 0x00 : 0x05,
      advertisingHandle,
    })
    this.c.event(LeChannelSelectionAlgorithm, {
      connectionHandle: conn.handle,
      channelSelectionAlgorithm: csa2 ? 1 : 0,
    })
    this.opened(conn)
  }
}

const modules = new WeakMap<VirtualController, Connections>()

/** The connection module of a controller (installConnections must have run). */
export function connectionsOf(c: VirtualController): Connections {
  const m = modules.get(c)
  if (!m) throw new Error(`${c.name}: installConnections has not run`)
  return m
}

/** Route what an end receives to its own controller's module. */
const receiver = {
  pdu: (end: Connection, pdu: LlPdu): void => connectionsOf(end.ctl).receive(end, pdu),
  // MIC failure (Vol 6 Part B 5.1.3.1; the CCM MIC of Vol 6 Part E): the Link Layer leaves the
  // Connection state and tells its Host 0x3D. The emulator ends both sides with 0x3D: the side
  // that failed the check at once, and its peer, in the middle of the same encryption procedure,
  // with it (as hosts report it on both sides; a strictly silent peer would see 0x08 later).
  micFailure: (end: Connection): void => {
    const other = end.other
    end.close(Status.MicFailure)
    other?.close(Status.MicFailure)
  },
}

function checkScan(p: { scanInterval: number; scanWindow: number }): void {
  const ok = (v: number): boolean => v >= 0x0004 && v <= 0x4000
  if (!ok(p.scanInterval) || !ok(p.scanWindow) || p.scanWindow > p.scanInterval) {
    throw new ControllerError(Status.InvalidParameters, 'scan interval/window')
  }
}

/** Connection parameter ranges of 7.8.12 (and 7.8.18, 7.8.31). */
export function checkConnectionParameters(p: {
  connectionIntervalMin: number
  connectionIntervalMax: number
  maxLatency: number
  supervisionTimeout: number
  minCeLength?: number
  maxCeLength?: number
}): void {
  const bad = (why: string): never => {
    throw new ControllerError(Status.InvalidParameters, why)
  }
  const { connectionIntervalMin: min, connectionIntervalMax: max, maxLatency, supervisionTimeout } = p
  if (min < 0x0006 || min > 0x0c80 || max < 0x0006 || max > 0x0c80 || min > max) bad('connection interval')
  if (maxLatency > 0x01f3) bad('max latency')
  if (supervisionTimeout < 0x000a || supervisionTimeout > 0x0c80) bad('supervision timeout')
  // Supervision timeout (10 ms units) > (1 + latency) * interval max (1.25 ms units) * 2.
  if (supervisionTimeout * 10 <= (1 + maxLatency) * max * 1.25 * 2) bad('supervision timeout too short')
  if (p.minCeLength !== undefined && p.maxCeLength !== undefined && p.minCeLength > p.maxCeLength) bad('CE length')
}

export function installConnections(c: VirtualController): void {
  const m = new Connections(c)
  modules.set(c, m)

  c.setFeature(FEATURE_EXTENDED_REJECT)
  c.setFeature(FEATURE_CSA2)
  c.activity('initiating', () => m.initiator !== undefined)
  c.activity('connected', () => m.byHandle.size > 0)
  filterAcceptListInUse(c, () => m.initiator?.filterPolicy === 1)

  c.onReset(() => {
    m.initiator = undefined
    for (const conn of [...m.byHandle.values()]) conn.close(Status.LocalHostTerminated, false)
    m.suggested.octets = 27
    m.suggested.time = 328
    m.defaultPhy = { tx: undefined, rx: undefined }
  })

  const startInitiating = (init: Initiator): number => {
    if (m.initiator) throw new ControllerError(Status.CommandDisallowed, 'a Create Connection is pending')
    if (init.filterPolicy === 0) {
      const peer = init.peer.address
      const already = [...m.byHandle.values()].some(
        (x) => x.remote.address === peer && x.remote.type === (init.peer.type & 1),
      )
      if (already) throw new ControllerError(Status.ConnectionAlreadyExists)
    }
    m.initiator = init
    return 0
  }

  // 7.8.12
  c.handle(LeCreateConnection, (p) => {
    checkScan(p)
    if (p.initiatorFilterPolicy > 1 || p.peerAddressType > 3 || p.ownAddressType > 3) {
      throw new ControllerError(Status.InvalidParameters)
    }
    checkConnectionParameters(p)
    const own = c.ownAddress(p.ownAddressType)
    if (!own) throw new ControllerError(Status.InvalidParameters, 'no random address set')
    return startInitiating({
      extended: false,
      filterPolicy: p.initiatorFilterPolicy,
      peer: { type: p.peerAddressType, address: p.peerAddress.toUpperCase() },
      own,
      byPhy: new Map([[1, p]]),
    })
  })

  // 7.8.66 (v1): per-PHY parameters for 1M (bit 0), 2M (bit 1), Coded (bit 2).
  c.handle(LeExtendedCreateConnection, (p) => {
    if (p.initiatorFilterPolicy > 1 || p.peerAddressType > 3 || p.ownAddressType > 3) {
      throw new ControllerError(Status.InvalidParameters)
    }
    if (p.initiatingPhys === 0 || (p.initiatingPhys & ~0x07) !== 0) throw new ControllerError(Status.InvalidParameters)
    if (p.initiatingPhys & 0x04) throw new ControllerError(Status.UnsupportedFeature, 'LE Coded PHY')
    if ((p.initiatingPhys & 0x01) === 0) throw new ControllerError(Status.InvalidParameters, 'no primary-channel PHY')
    const byPhy = new Map<number, InitParams>()
    let i = 0
    for (const phy of [1, 2]) {
      if ((p.initiatingPhys & (1 << (phy - 1))) === 0) continue
      const block = p.perPhy[i++]!
      checkScan(block)
      checkConnectionParameters(block)
      byPhy.set(phy, block)
    }
    const own = c.ownAddress(p.ownAddressType)
    if (!own) throw new ControllerError(Status.InvalidParameters, 'no random address set')
    return startInitiating({
      extended: true,
      filterPolicy: p.initiatorFilterPolicy,
      peer: { type: p.peerAddressType, address: p.peerAddress.toUpperCase() },
      own,
      byPhy,
    })
  })

  // 7.8.13: the cancelled attempt ends with a connection-complete event, status 0x02.
  c.handle(LeCreateConnectionCancel, () => {
    const init = m.initiator
    if (!init) throw new ControllerError(Status.CommandDisallowed, 'no Create Connection pending')
    m.initiator = undefined
    m.connectionComplete(Status.UnknownConnectionId, {
      handle: 0,
      role: CENTRAL,
      peerType: init.peer.type,
      peerAddress: init.peer.address,
      params: { interval: 0, latency: 0, timeout: 0 },
      clockAccuracy: 0,
      advertisingHandle: 0xff,
    })
    return { status: 0 }
  })

  // Initiating: answer the first connectable advertisement that matches (4.4.4).
  c.onAir('adv', (from, adv) => {
    const init = m.initiator
    if (!init || !adv.props.connectable) return
    if (!init.extended && !adv.props.legacy) return
    if (adv.props.directed) {
      if (adv.targetA?.toUpperCase() !== init.own.address || adv.targetAType !== init.own.type) return
    }
    const advA = adv.advA.toUpperCase()
    if (init.filterPolicy === 0) {
      if (advA !== init.peer.address || adv.advAType !== (init.peer.type & 1)) return
    } else if (!filterAcceptList(c).has(adv.advAType, advA)) return
    if ([...m.byHandle.values()].some((x) => x.remote.address === advA && x.remote.type === adv.advAType)) return
    connect(from, adv, init)
  })

  const connect = (advertiser: VirtualController, adv: AdvPdu, init: Initiator): void => {
    // An AUX_CONNECT_REQ on a 2M secondary channel makes a 2M connection (with the 2M parameters if given).
    const phy = !adv.props.legacy && adv.secondaryPhy === 2 ? 2 : 1
    const p = init.byPhy.get(phy) ?? init.byPhy.get(1)!
    const params: ConnParams = {
      interval: p.connectionIntervalMin,
      latency: p.maxLatency,
      timeout: p.supervisionTimeout,
    }
    const ll = new LinkConnection(c.link.scheduler, c.link, c.timing, c.packetsPerEvent, receiver)
    const csa2 = c.hasFeature(FEATURE_CSA2) && (!adv.props.legacy || advertiser.hasFeature(FEATURE_CSA2))
    const ind: ConnectIndPdu = {
      kind: 'connect_ind',
      initA: init.own.address,
      initAType: init.own.type,
      advA: adv.advA,
      advAType: adv.advAType,
      handle: adv.handle,
      legacy: adv.props.legacy,
      params: { ...params, phy, chSel2: c.hasFeature(FEATURE_CSA2) },
      extra: ll,
    }
    // A CONNECT_IND lost on the air: the initiator keeps listening for the next advertisement.
    if (!c.link.unicast(c, advertiser, ind)) return
    m.initiator = undefined
    const conn = new Connection(
      ll,
      CENTRAL,
      c,
      advertiser,
      m.allocateHandle(),
      init.own,
      { address: adv.advA.toUpperCase(), type: adv.advAType },
      params,
      phy,
      m.suggested,
      (x, r, n) => m.closed(x, r, n),
    )
    ll.central = conn
    // The first connection event follows transmitWindowDelay (1.25 ms) after the CONNECT_IND (4.5.3).
    ll.start(1.25)
    m.announce(conn, csa2, 0xff)
  }

  // The peripheral side: advertising.ts has stopped the set that took the CONNECT_IND.
  c.hooks.onConnectInd((ind: PeripheralConnect) => {
    const ll = ind.pdu.extra
    if (!(ll instanceof LinkConnection) || ll.peripheral) return undefined
    const handle = m.allocateHandle()
    const { interval, latency, timeout } = ind.pdu.params
    const phy = ind.pdu.params.phy === 2 ? 2 : 1
    const conn = new Connection(
      ll,
      PERIPHERAL,
      c,
      ind.from,
      handle,
      { address: ind.localAddress.toUpperCase(), type: ind.localAddressType },
      { address: ind.pdu.initA.toUpperCase(), type: ind.pdu.initAType },
      { interval, latency, timeout },
      phy,
      m.suggested,
      (x, r, n) => m.closed(x, r, n),
    )
    ll.peripheral = conn
    ll.start(ll.intervalMs) // no-op while the Central's clock runs; restarts it for supervision otherwise
    const csa2 = c.hasFeature(FEATURE_CSA2) && (!ind.pdu.legacy || ind.pdu.params.chSel2 === true)
    m.announce(conn, csa2, ind.legacy ? 0xff : ind.handle)
    return handle
  })

  c.onAir('ll', (from, pdu) => {
    const end = pdu.ll.endOf(c)
    if (end && end.peer === from && pdu.from !== end.role) pdu.ll.deliver(end, pdu)
  })

  // 7.1.6 and the termination procedure (Vol 6 Part B 5.1.6).
  c.handle(Disconnect, ({ connectionHandle, reason }) => {
    const conn = m.get(connectionHandle)
    if (!DISCONNECT_REASONS.has(reason)) throw new ControllerError(Status.InvalidParameters, 'reason')
    if (conn.terminating !== undefined) throw new ControllerError(Status.CommandDisallowed, 'already disconnecting')
    conn.terminating = Status.LocalHostTerminated
    conn.sendControl({ op: 'LL_TERMINATE_IND', errorCode: reason }, () => conn.close(Status.LocalHostTerminated), true)
    return 0
  })
  m.onControl('LL_TERMINATE_IND', (conn, pdu) => conn.close(pdu.errorCode))

  // LL_REJECT_EXT_IND / LL_UNKNOWN_RSP end the local procedure in progress.
  m.onControl('LL_REJECT_EXT_IND', (conn, pdu) => m.activeProcedure(conn)?.rejected?.(pdu.errorCode))
  m.onControl('LL_UNKNOWN_RSP', (conn) => m.activeProcedure(conn)?.rejected?.(Status.UnsupportedRemoteFeature))

  // 7.5.4: the RSSI of the link to the peer (dBm).
  c.handle(ReadRssi, ({ connectionHandle }) => {
    const conn = m.get(connectionHandle)
    return { status: 0, connectionHandle: conn.handle, rssi: c.link.rssi(c, conn.peer) }
  })

  installProcedures(c, m)
}
