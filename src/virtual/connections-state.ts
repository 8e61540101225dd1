/**
 * What the virtual controller knows of its LE connections (Core v5.4 Vol 6 Part B 4.5, the
 * Connection state): the open ends by handle, the pending Create Connection (initiator.ts), the
 * defaults new connections start from (Vol 4 Part E 7.8.34 suggested data length, 7.8.48 default
 * PHY), the local procedure queue (procedure-queue.ts), the dispatch of received LL PDUs (data to
 * acl-data.ts, each LL Control PDU opcode to the one module that handles it, LL_UNKNOWN_RSP for the
 * others, 2.4.2.7), and the connection-complete events (Vol 4 Part E 7.7.65.1 LE Connection
 * Complete, 7.7.65.10 LE Enhanced Connection Complete [v1]/[v2]: v2 when unmasked, else v1 when
 * unmasked, else the legacy event; 7.7.65.20 LE Channel Selection Algorithm; 7.7.5
 * Disconnection Complete). Other modules reach it with `connectionsOf(c)`.
 */
import {
  DisconnectionComplete,
  LeChannelSelectionAlgorithm,
  LeConnectionComplete,
  LeEnhancedConnectionComplete,
  LeEnhancedConnectionCompleteV2,
} from '../../hci/events.ts'
import { Status } from '../../hci/constants.ts'
import { fail } from './controller-error.ts'
import type { ControllerCore } from './core.ts'
import {
  CENTRAL,
  type ConnParams,
  type Connection,
  LL_OPCODES,
  type LlControlOf,
  type LlOp,
  type LlPdu,
  type LlReceiver,
} from './ll-connection.ts'
import { ProcedureQueue } from './procedure-queue.ts'

/** Feature bits (Vol 6 Part B 4.6) of the connection module. */
export const FEATURE_EXTENDED_REJECT = 2
export const FEATURE_CSA2 = 14

const NO_ADDRESS = '00:00:00:00:00:00'

type ControlFn = (conn: Connection, pdu: never) => void

/** The suggested data length for new connections (7.8.34/7.8.35), shared with the procedures. */
export interface DataLengthDefaults {
  octets: number
  time: number
}

/** The fields of a connection-complete event (7.7.65.1 / 7.7.65.10). */
export interface CompleteFields {
  handle: number
  role: number
  peerType: number
  peerAddress: string
  params: ConnParams
  clockAccuracy: number
  advertisingHandle: number
  /** Privacy: our RPA and the peer's (Local/Peer_Resolvable_Private_Address of 7.7.65.10). */
  localRpa?: string | undefined
  peerRpa?: string | undefined
}

const registry = new WeakMap<ControllerCore, Connections>()

/** The connection module of a controller (installConnections must have run). */
export function connectionsOf(c: ControllerCore): Connections {
  const m = registry.get(c)
  if (!m) throw new Error(`${c.name}: installConnections has not run`)
  return m
}

/** Route what an end receives to its own controller's module (both ends share one LinkConnection). */
export const linkReceiver: LlReceiver = {
  pdu: (end, pdu) => connectionsOf(end.ctl).receive(end, pdu),
  // MIC failure (Vol 6 Part B 5.1.3.1; the CCM MIC of Vol 6 Part E): the Link Layer leaves the
  // Connection state and tells its Host 0x3D. The emulator ends both sides with 0x3D: the side
  // that failed the check at once, and its peer, in the middle of the same encryption procedure,
  // with it (as hosts report it on both sides; a strictly silent peer would see 0x08 later).
  micFailure: (end) => {
    const other = end.other
    end.close(Status.MicFailure)
    other?.close(Status.MicFailure)
  },
}

export class Connections {
  readonly byHandle = new Map<number, Connection>()
  readonly suggested: DataLengthDefaults = { octets: 27, time: 328 }
  /** LE Set Default PHY (7.8.48): preferences for new PHY procedures; undefined = no preference. */
  defaultPhy: { tx: number | undefined; rx: number | undefined } = { tx: undefined, rx: undefined }
  readonly procedures: ProcedureQueue
  private readonly controlFns = new Map<LlOp, ControlFn>()
  private readonly dataFns: Array<(conn: Connection, pdu: LlPdu) => void> = []
  private readonly openFns: Array<(conn: Connection) => void> = []
  private readonly closeFns: Array<(conn: Connection, reason: number) => void> = []

  constructor(readonly c: ControllerCore) {
    this.procedures = new ProcedureQueue(c.link.scheduler)
    registry.set(c, this)
  }

  /** The open connection with this handle, or Unknown Connection Identifier (0x02). */
  get(handle: number): Connection {
    const conn = this.byHandle.get(handle & 0x0fff)
    if (!conn?.open) fail(Status.UnknownConnectionId, `no connection 0x${handle.toString(16)}`)
    return conn
  }

  /** Is there an open connection to (type, address)? Identity types 2/3 count as 0/1. */
  connectedTo(type: number, address: string): boolean {
    for (const x of this.byHandle.values()) {
      if (x.remote.address === address && (x.remote.type & 1) === (type & 1)) return true
    }
    return false
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
    return fail(Status.ConnectionLimitExceeded)
  }

  /** An end left the Connection state (its `closed` callback). */
  closed(conn: Connection, reason: number, notify: boolean): void {
    if (this.byHandle.get(conn.handle) === conn) this.byHandle.delete(conn.handle)
    this.procedures.drop(conn)
    if (notify) this.c.event(DisconnectionComplete, { status: 0, connectionHandle: conn.handle, reason })
    for (const fn of this.closeFns) fn(conn, reason)
  }

  /**
   * 7.7.65.1 / 7.7.65.10: the richest connection-complete event the host has unmasked. The
   * legacy event has no identity address types: a resolved peer appears there with its RPA.
   */
  connectionComplete(status: number, f: CompleteFields): void {
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
    const enhanced = {
      ...common,
      localResolvablePrivateAddress: f.localRpa ?? NO_ADDRESS,
      peerResolvablePrivateAddress: f.peerRpa ?? NO_ADDRESS,
    }
    if (c.eventEnabled(LeEnhancedConnectionCompleteV2)) {
      c.event(LeEnhancedConnectionCompleteV2, {
        ...enhanced,
        advertisingHandle: f.advertisingHandle,
        syncHandle: 0xffff,
      })
    } else if (c.eventEnabled(LeEnhancedConnectionComplete)) {
      c.event(LeEnhancedConnectionComplete, enhanced)
    } else if (f.peerRpa !== undefined && f.peerType >= 2) {
      c.event(LeConnectionComplete, { ...common, peerAddressType: 1, peerAddress: f.peerRpa })
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
      localRpa: conn.localRpa,
      peerRpa: conn.peerRpa,
    })
    this.c.event(LeChannelSelectionAlgorithm, {
      connectionHandle: conn.handle,
      channelSelectionAlgorithm: csa2 ? 1 : 0,
    })
    this.byHandle.set(conn.handle, conn)
    for (const fn of this.openFns) fn(conn)
  }
}
