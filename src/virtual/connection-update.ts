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
import { ControllerError, type VirtualController } from './controller.ts'
import { CENTRAL, PERIPHERAL, type Connection, type ConnParams } from './ll-connection.ts'
import { checkConnectionParameters, type Connections } from './connections.ts'

/** Feature bit 1: Connection Parameters Request procedure (Vol 6 Part B 4.6). */
export const FEATURE_CONN_PARAM_REQ = 1

const PROC = 'connection-update'

interface Range {
  intervalMin: number
  intervalMax: number
  latency: number
  timeout: number
}

const same = (a: ConnParams, b: ConnParams): boolean =>
  a.interval === b.interval && a.latency === b.latency && a.timeout === b.timeout

/** Parameters picked from a requested range: the shortest interval asked for. */
const pick = (r: Range): ConnParams => ({ interval: r.intervalMin, latency: r.latency, timeout: r.timeout })

function validRange(r: Range): boolean {
  try {
    checkConnectionParameters({
      connectionIntervalMin: r.intervalMin,
      connectionIntervalMax: r.intervalMax,
      maxLatency: r.latency,
      supervisionTimeout: r.timeout,
    })
    return true
  } catch {
    return false
  }
}

export function installConnectionUpdate(c: VirtualController, m: Connections): void {
  c.setFeature(FEATURE_CONN_PARAM_REQ)
  const bothCpr = (conn: Connection): boolean =>
    c.hasFeature(FEATURE_CONN_PARAM_REQ) && conn.peer.hasFeature(FEATURE_CONN_PARAM_REQ)
  /** Connections whose Host was asked (Remote Connection Parameter Request) and has not answered. */
  const asked = new WeakMap<Connection, Range>()

  const complete = (conn: Connection, status: number): void => {
    c.event(LeConnectionUpdateComplete, {
      status,
      connectionHandle: conn.handle,
      connectionInterval: conn.params.interval,
      peripheralLatency: conn.params.latency,
      supervisionTimeout: conn.params.timeout,
    })
  }

  /** The Central's Connection Update procedure (5.1.1): new parameters at an instant. */
  const centralUpdate = (conn: Connection, params: ConnParams, hostAsked: boolean): void => {
    const instant = conn.ll.instantAhead()
    conn.sendControl({ op: 'LL_CONNECTION_UPDATE_IND', ...params, instant })
    conn.ll.atInstant(conn, instant, () => {
      const changed = !same(conn.params, params)
      conn.params = params
      if (hostAsked || changed) complete(conn, 0)
      if (hostAsked) m.finishProcedure(conn, PROC)
    })
  }

  // 7.8.18
  c.handle(LeConnectionUpdate, (p) => {
    const conn = m.get(p.connectionHandle)
    checkConnectionParameters(p)
    if (m.hasProcedure(conn, PROC) || asked.has(conn)) {
      throw new ControllerError(Status.CommandDisallowed, 'a connection update is in progress')
    }
    const want: Range = {
      intervalMin: p.connectionIntervalMin,
      intervalMax: p.connectionIntervalMax,
      latency: p.maxLatency,
      timeout: p.supervisionTimeout,
    }
    let sentRequest = false
    m.runProcedure(conn, {
      name: PROC,
      begin: () => {
        if (bothCpr(conn)) {
          sentRequest = true
          conn.sendControl({ op: 'LL_CONNECTION_PARAM_REQ', ...want })
        } else if (conn.role === CENTRAL) {
          centralUpdate(conn, pick(want), true)
        } else {
          // A Peripheral can only ask, and the Central does not know how to be asked.
          complete(conn, Status.UnsupportedRemoteFeature)
          m.finishProcedure(conn, PROC)
        }
      },
      rejected: (code) => {
        if (conn.role === CENTRAL && sentRequest && code === Status.UnsupportedRemoteFeature) {
          sentRequest = false
          centralUpdate(conn, pick(want), true)
          return
        }
        complete(conn, code)
        m.finishProcedure(conn, PROC)
      },
    })
    return 0
  })

  // The Peripheral learns the new parameters and their instant.
  m.onControl('LL_CONNECTION_UPDATE_IND', (conn, pdu) => {
    if (conn.role !== PERIPHERAL) return
    const params: ConnParams = { interval: pdu.interval, latency: pdu.latency, timeout: pdu.timeout }
    const hostAsked = m.activeProcedure(conn)?.name === PROC
    const ok = conn.ll.atInstant(conn, pdu.instant, () => {
      const changed = !same(conn.params, params)
      conn.params = params
      if (hostAsked || changed) complete(conn, 0)
      if (hostAsked) m.finishProcedure(conn, PROC)
    })
    if (!ok) conn.close(Status.InstantPassed)
  })

  const reject = (conn: Connection, errorCode: number): void =>
    conn.sendControl({ op: 'LL_REJECT_EXT_IND', rejectOpcode: 'LL_CONNECTION_PARAM_REQ', errorCode })

  // 5.1.7: a request from the peer goes to our Host (7.7.65.6) unless it masked the event.
  m.onControl('LL_CONNECTION_PARAM_REQ', (conn, pdu) => {
    const r: Range = {
      intervalMin: pdu.intervalMin,
      intervalMax: pdu.intervalMax,
      latency: pdu.latency,
      timeout: pdu.timeout,
    }
    if (conn.role === CENTRAL && m.activeProcedure(conn)?.name === PROC) {
      reject(conn, Status.LlProcedureCollision)
      return
    }
    if (!validRange(r)) {
      reject(conn, Status.InvalidLlParameters)
      return
    }
    if (!c.eventEnabled(LeRemoteConnectionParameterRequest)) {
      reject(conn, Status.UnsupportedRemoteFeature)
      return
    }
    asked.set(conn, r)
    c.event(LeRemoteConnectionParameterRequest, {
      connectionHandle: conn.handle,
      intervalMin: r.intervalMin,
      intervalMax: r.intervalMax,
      maxLatency: r.latency,
      timeout: r.timeout,
    })
  })

  // The Central gets the Peripheral's answer to its own request.
  m.onControl('LL_CONNECTION_PARAM_RSP', (conn, pdu) => {
    if (conn.role !== CENTRAL || m.activeProcedure(conn)?.name !== PROC) return
    centralUpdate(conn, pick(pdu), true)
  })

  // 7.8.31
  c.handle(LeRemoteConnectionParameterRequestReply, (p) => {
    const conn = m.get(p.connectionHandle)
    if (!asked.has(conn)) throw new ControllerError(Status.CommandDisallowed, 'no request pending')
    checkConnectionParameters({
      connectionIntervalMin: p.intervalMin,
      connectionIntervalMax: p.intervalMax,
      maxLatency: p.maxLatency,
      supervisionTimeout: p.timeout,
      minCeLength: p.minCeLength,
      maxCeLength: p.maxCeLength,
    })
    asked.delete(conn)
    const r: Range = {
      intervalMin: p.intervalMin,
      intervalMax: p.intervalMax,
      latency: p.maxLatency,
      timeout: p.timeout,
    }
    if (conn.role === CENTRAL) centralUpdate(conn, pick(r), false)
    else conn.sendControl({ op: 'LL_CONNECTION_PARAM_RSP', ...r })
    return { status: 0, connectionHandle: conn.handle }
  })

  // 7.8.32
  c.handle(LeRemoteConnectionParameterRequestNegativeReply, ({ connectionHandle, reason }) => {
    const conn = m.get(connectionHandle)
    if (!asked.has(conn)) throw new ControllerError(Status.CommandDisallowed, 'no request pending')
    if (reason === 0) throw new ControllerError(Status.InvalidParameters, 'reason 0x00')
    asked.delete(conn)
    reject(conn, reason)
    return { status: 0, connectionHandle: conn.handle }
  })
}
