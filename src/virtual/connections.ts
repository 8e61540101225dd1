/**
 * Connections of the virtual controller, LE only: creating, accepting and ending them.
 *
 * - HCI (Core v5.4 Vol 4 Part E): 7.1.6 Disconnect, 7.5.4 Read RSSI here; 7.8.12 LE Create
 *   Connection, 7.8.66 LE Extended Create Connection [v1] and 7.8.13 LE Create Connection Cancel
 *   in initiator.ts; the events in connections-state.ts.
 * - Link Layer (Vol 6 Part B): the Initiating state (4.4.4, initiator.ts), the peripheral side
 *   (advertiser.ts hands over a CONNECT_IND that reached an active connectable set through
 *   `c.hooks.onConnectInd`), the Connection state (4.5, ll-connection.ts), the termination
 *   procedure (5.1.6, LL_TERMINATE_IND) and the other procedures (connection-update.ts,
 *   connection-procedures.ts, encryption.ts). Local procedures run one at a time per connection,
 *   with the 40 s LL response timeout (5.2, procedure-queue.ts).
 */
import { Disconnect, ReadRssi } from '../../hci/commands.ts'
import { Status } from '../../hci/constants.ts'
import { fail } from './controller-error.ts'
import type { ControllerCore, PeripheralConnect } from './core.ts'
import { filterAcceptListInUse } from './filter-accept-list.ts'
import { Connections, FEATURE_CSA2, FEATURE_EXTENDED_REJECT } from './connections-state.ts'
import { PERIPHERAL, Connection, LinkConnection } from './ll-connection.ts'
import { Initiator, installInitiator } from './initiator.ts'
import { installProcedures } from './connection-procedures.ts'

export { Connection, LinkConnection, CENTRAL, PERIPHERAL } from './ll-connection.ts'
export { Connections, connectionsOf, type DataLengthDefaults } from './connections-state.ts'
export type { Procedure } from './procedure-queue.ts'
export { checkConnectionParameters } from './connection-params.ts'

/** Disconnect reasons a host may give (7.1.6). */
const DISCONNECT_REASONS = new Set([0x05, 0x13, 0x14, 0x15, 0x1a, 0x29, 0x3b])

/** The peripheral side: advertiser.ts has stopped the set that took the CONNECT_IND. */
function acceptConnection(c: ControllerCore, m: Connections, ind: PeripheralConnect): number | undefined {
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
    { address: ind.peerAddress.toUpperCase(), type: ind.peerAddressType },
    { interval, latency, timeout },
    phy,
    m.suggested,
    (x, r, n) => m.closed(x, r, n),
  )
  conn.peerRpa = ind.peerRpa
  conn.localRpa = ind.localRpa
  ll.peripheral = conn
  ll.start(ll.intervalMs) // no-op while the Central's clock runs; restarts it for supervision otherwise
  const csa2 = c.hasFeature(FEATURE_CSA2) && (!ind.pdu.legacy || ind.pdu.params.chSel2 === true)
  m.announce(conn, csa2, ind.legacy ? 0xff : ind.handle)
  return handle
}

/** 7.1.6 and the termination procedure (Vol 6 Part B 5.1.6); LL_REJECT_EXT_IND / LL_UNKNOWN_RSP. */
function installTermination(c: ControllerCore, m: Connections): void {
  c.handle(Disconnect, ({ connectionHandle, reason }) => {
    const conn = m.get(connectionHandle)
    if (!DISCONNECT_REASONS.has(reason)) fail(Status.InvalidParameters, 'reason')
    if (conn.terminating !== undefined) fail(Status.CommandDisallowed, 'already disconnecting')
    conn.terminating = Status.LocalHostTerminated
    conn.sendControl({ op: 'LL_TERMINATE_IND', errorCode: reason }, () => conn.close(Status.LocalHostTerminated), true)
    return 0
  })
  m.onControl('LL_TERMINATE_IND', (conn, pdu) => conn.close(pdu.errorCode))

  // LL_REJECT_EXT_IND / LL_UNKNOWN_RSP end the local procedure in progress.
  m.onControl('LL_REJECT_EXT_IND', (conn, pdu) => m.procedures.active(conn)?.rejected?.(pdu.errorCode))
  m.onControl('LL_UNKNOWN_RSP', (conn) => m.procedures.active(conn)?.rejected?.(Status.UnsupportedRemoteFeature))
}

export function installConnections(c: ControllerCore): Connections {
  const m = new Connections(c)
  const initiator = new Initiator(c, m)

  c.setFeature(FEATURE_EXTENDED_REJECT)
  c.setFeature(FEATURE_CSA2)
  c.activity('initiating', () => initiator.pending !== undefined)
  c.activity('connected', () => m.byHandle.size > 0)
  filterAcceptListInUse(c, () => initiator.pending?.filterPolicy === 1)

  c.onReset(() => {
    initiator.pending = undefined
    for (const conn of [...m.byHandle.values()]) conn.close(Status.LocalHostTerminated, false)
    m.suggested.octets = 27
    m.suggested.time = 328
    m.defaultPhy = { tx: undefined, rx: undefined }
  })

  installInitiator(c, initiator)
  c.onAir('adv', (from, adv) => initiator.advertisement(from, adv))
  c.hooks.onConnectInd((ind) => acceptConnection(c, m, ind))
  c.onAir('ll', (from, pdu) => {
    const end = pdu.ll.endOf(c)
    if (end && end.peer === from && pdu.from !== end.role) pdu.ll.deliver(end, pdu)
  })
  installTermination(c, m)

  // 7.5.4: the RSSI of the link to the peer (dBm).
  c.handle(ReadRssi, ({ connectionHandle }) => {
    const conn = m.get(connectionHandle)
    return { status: 0, connectionHandle: conn.handle, rssi: c.link.rssi(c, conn.peer) }
  })

  installProcedures(c, m)
  return m
}
