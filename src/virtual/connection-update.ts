/**
 * Connection parameter changes on the virtual controller.
 *
 * - HCI (Core v5.4 Vol 4 Part E): 7.8.18 LE Connection Update, 7.8.31 LE Remote Connection
 *   Parameter Request Reply, 7.8.32 ... Negative Reply; events 7.7.65.3 LE Connection Update
 *   Complete and 7.7.65.6 LE Remote Connection Parameter Request.
 * - Link Layer (Vol 6 Part B): 5.1.1 Connection Update procedure (the Central sends
 *   LL_CONNECTION_UPDATE_IND; both ends switch at its instant) and 5.1.7 Connection Parameters
 *   Request procedure (LL_CONNECTION_PARAM_REQ / _RSP, answered by the Host through the Remote
 *   Connection Parameter Request event; LL_REJECT_EXT_IND carries a refusal). A Central whose
 *   LL_CONNECTION_PARAM_REQ is refused with Unsupported Remote Feature (the Peripheral's Host has
 *   masked the request event) falls back to the Connection Update procedure. A Host that masked
 *   the request event gets its controller to refuse with 0x1A.
 * LE Connection Update Complete goes to a Host that asked (LE Connection Update), and to the
 * other Host only when the parameters changed (7.7.65.3).
 */
import {
  LeConnectionUpdate,
  LeRemoteConnectionParameterRequestNegativeReply,
  LeRemoteConnectionParameterRequestReply,
} from '../../hci/commands.ts'
import { LeConnectionUpdateComplete, LeRemoteConnectionParameterRequest } from '../../hci/events.ts'
import { Status } from '../../hci/constants.ts'
import { fail } from './controller-error.ts'
import type { ControllerCore } from './core.ts'
import { CENTRAL, PERIPHERAL, type Connection, type ConnParams, type LlControlOf } from './ll-connection.ts'
import type { Connections } from './connections-state.ts'
import { checkConnectionParameters, validRange, type Range } from './connection-params.ts'

/** Feature bit 1: Connection Parameters Request procedure (Vol 6 Part B 4.6). */
export const FEATURE_CONN_PARAM_REQ = 1

const PROC = 'connection-update'

const same = (a: ConnParams, b: ConnParams): boolean =>
  a.interval === b.interval && a.latency === b.latency && a.timeout === b.timeout

/** Parameters picked from a requested range: the shortest interval asked for. */
const pick = (r: Range): ConnParams => ({ interval: r.intervalMin, latency: r.latency, timeout: r.timeout })

export class ConnectionUpdate {
  /** Connections whose Host was asked (Remote Connection Parameter Request) and has not answered. */
  readonly asked = new WeakMap<Connection, Range>()

  constructor(
    private readonly c: ControllerCore,
    private readonly m: Connections,
  ) {}

  /** 7.8.18: the Connection Parameters Request procedure if both sides have it, else Connection Update. */
  hostUpdate(conn: Connection, want: Range): void {
    const m = this.m
    if (m.procedures.has(conn, PROC) || this.asked.has(conn)) {
      fail(Status.CommandDisallowed, 'a connection update is in progress')
    }
    const bothCpr = this.c.hasFeature(FEATURE_CONN_PARAM_REQ) && conn.peer.hasFeature(FEATURE_CONN_PARAM_REQ)
    let sentRequest = false
    m.procedures.run(conn, {
      name: PROC,
      begin: () => {
        if (bothCpr) {
          sentRequest = true
          conn.sendControl({ op: 'LL_CONNECTION_PARAM_REQ', ...want })
        } else if (conn.role === CENTRAL) {
          this.centralUpdate(conn, pick(want), true)
        } else {
          // A Peripheral can only ask, and the Central does not know how to be asked.
          this.complete(conn, Status.UnsupportedRemoteFeature)
          m.procedures.finish(conn, PROC)
        }
      },
      rejected: (code) => {
        if (conn.role === CENTRAL && sentRequest && code === Status.UnsupportedRemoteFeature) {
          sentRequest = false
          this.centralUpdate(conn, pick(want), true)
          return
        }
        this.complete(conn, code)
        m.procedures.finish(conn, PROC)
      },
    })
  }

  /** The Peripheral learns the new parameters and their instant. */
  indication(conn: Connection, pdu: LlControlOf<'LL_CONNECTION_UPDATE_IND'>): void {
    if (conn.role !== PERIPHERAL) return
    const params: ConnParams = { interval: pdu.interval, latency: pdu.latency, timeout: pdu.timeout }
    const hostAsked = this.m.procedures.active(conn)?.name === PROC
    if (!conn.ll.atInstant(conn, pdu.instant, () => this.switchTo(conn, params, hostAsked))) {
      conn.close(Status.InstantPassed)
    }
  }

  /** 5.1.7: a request from the peer goes to our Host (7.7.65.6) unless it masked the event. */
  request(conn: Connection, pdu: LlControlOf<'LL_CONNECTION_PARAM_REQ'>): void {
    const r: Range = {
      intervalMin: pdu.intervalMin,
      intervalMax: pdu.intervalMax,
      latency: pdu.latency,
      timeout: pdu.timeout,
    }
    if (conn.role === CENTRAL && this.m.procedures.active(conn)?.name === PROC) {
      this.reject(conn, Status.LlProcedureCollision)
      return
    }
    if (!validRange(r)) {
      this.reject(conn, Status.InvalidLlParameters)
      return
    }
    if (!this.c.eventEnabled(LeRemoteConnectionParameterRequest)) {
      this.reject(conn, Status.UnsupportedRemoteFeature)
      return
    }
    this.asked.set(conn, r)
    this.c.event(LeRemoteConnectionParameterRequest, {
      connectionHandle: conn.handle,
      intervalMin: r.intervalMin,
      intervalMax: r.intervalMax,
      maxLatency: r.latency,
      timeout: r.timeout,
    })
  }

  /** The Central gets the Peripheral's answer to its own request. */
  response(conn: Connection, pdu: LlControlOf<'LL_CONNECTION_PARAM_RSP'>): void {
    if (conn.role !== CENTRAL || this.m.procedures.active(conn)?.name !== PROC) return
    this.centralUpdate(conn, pick(pdu), true)
  }

  /** 7.8.31: our Host accepted the peer's request with these parameters. */
  hostAccepted(conn: Connection, r: Range): void {
    this.asked.delete(conn)
    if (conn.role === CENTRAL) this.centralUpdate(conn, pick(r), false)
    else conn.sendControl({ op: 'LL_CONNECTION_PARAM_RSP', ...r })
  }

  reject(conn: Connection, errorCode: number): void {
    conn.sendControl({ op: 'LL_REJECT_EXT_IND', rejectOpcode: 'LL_CONNECTION_PARAM_REQ', errorCode })
  }

  /** The Central's Connection Update procedure (5.1.1): new parameters at an instant. */
  private centralUpdate(conn: Connection, params: ConnParams, hostAsked: boolean): void {
    const instant = conn.ll.instantAhead()
    conn.sendControl({ op: 'LL_CONNECTION_UPDATE_IND', ...params, instant })
    conn.ll.atInstant(conn, instant, () => this.switchTo(conn, params, hostAsked))
  }

  /** At the instant: the new parameters, reported to a Host that asked or when they changed. */
  private switchTo(conn: Connection, params: ConnParams, hostAsked: boolean): void {
    const changed = !same(conn.params, params)
    conn.params = params
    if (hostAsked || changed) this.complete(conn, 0)
    if (hostAsked) this.m.procedures.finish(conn, PROC)
  }

  private complete(conn: Connection, status: number): void {
    this.c.event(LeConnectionUpdateComplete, {
      status,
      connectionHandle: conn.handle,
      connectionInterval: conn.params.interval,
      peripheralLatency: conn.params.latency,
      supervisionTimeout: conn.params.timeout,
    })
  }
}

export function installConnectionUpdate(c: ControllerCore, m: Connections): void {
  c.setFeature(FEATURE_CONN_PARAM_REQ)
  const u = new ConnectionUpdate(c, m)

  // 7.8.18
  c.handle(LeConnectionUpdate, (p) => {
    const conn = m.get(p.connectionHandle)
    checkConnectionParameters(p)
    u.hostUpdate(conn, {
      intervalMin: p.connectionIntervalMin,
      intervalMax: p.connectionIntervalMax,
      latency: p.maxLatency,
      timeout: p.supervisionTimeout,
    })
    return 0
  })
  m.onControl('LL_CONNECTION_UPDATE_IND', (conn, pdu) => u.indication(conn, pdu))
  m.onControl('LL_CONNECTION_PARAM_REQ', (conn, pdu) => u.request(conn, pdu))
  m.onControl('LL_CONNECTION_PARAM_RSP', (conn, pdu) => u.response(conn, pdu))

  // 7.8.31
  c.handle(LeRemoteConnectionParameterRequestReply, (p) => {
    const conn = m.get(p.connectionHandle)
    if (!u.asked.has(conn)) fail(Status.CommandDisallowed, 'no request pending')
    checkConnectionParameters({
      connectionIntervalMin: p.intervalMin,
      connectionIntervalMax: p.intervalMax,
      maxLatency: p.maxLatency,
      supervisionTimeout: p.timeout,
      minCeLength: p.minCeLength,
      maxCeLength: p.maxCeLength,
    })
    u.hostAccepted(conn, {
      intervalMin: p.intervalMin,
      intervalMax: p.intervalMax,
      latency: p.maxLatency,
      timeout: p.timeout,
    })
    return { status: 0, connectionHandle: conn.handle }
  })

  // 7.8.32
  c.handle(LeRemoteConnectionParameterRequestNegativeReply, ({ connectionHandle, reason }) => {
    const conn = m.get(connectionHandle)
    if (!u.asked.has(conn)) fail(Status.CommandDisallowed, 'no request pending')
    if (reason === 0) fail(Status.InvalidParameters, 'reason 0x00')
    u.asked.delete(conn)
    u.reject(conn, reason)
    return { status: 0, connectionHandle: conn.handle }
  })
}
