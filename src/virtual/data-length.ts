/**
 * The Data Length Update procedure of the virtual controller (Core v5.4 Vol 6 Part B 5.1.9, the
 * effective values of 4.5.10) with its HCI side (Vol 4 Part E 7.8.33 LE Set Data Length, 7.8.34 /
 * 7.8.35 LE Read / Write Suggested Default Data Length, 7.8.46 LE Read Maximum Data Length,
 * 7.7.65.7 LE Data Length Change on each side whose effective values changed). A controller whose
 * Host raised the suggested default starts the procedure itself on every new connection, as
 * shipping controllers do.
 */
import {
  LeReadMaximumDataLength,
  LeReadSuggestedDefaultDataLength,
  LeSetDataLength,
  LeWriteSuggestedDefaultDataLength,
} from '../../hci/commands.ts'
import { LeDataLengthChange } from '../../hci/events.ts'
import { Status } from '../../hci/constants.ts'
import { fail } from './controller-error.ts'
import type { ControllerCore } from './core.ts'
import type { Connections } from './connections-state.ts'
import type { Connection, LlControlOf } from './ll-connection.ts'

/** Feature bit 5: LE Data Packet Length Extension (Vol 6 Part B 4.6). */
export const FEATURE_DATA_LENGTH = 5

/** The largest LL Data PDU payload, and its time on the slowest PHY we have (LE 1M: (251 + 14) * 8 us). */
export const MAX_OCTETS = 251
export const MAX_TIME = 2120
const MIN_OCTETS = 27
const MIN_TIME = 328

const PROC = 'data-length'

type LengthPdu = LlControlOf<'LL_LENGTH_REQ'> | LlControlOf<'LL_LENGTH_RSP'>

function checkLength(octets: number, time: number): void {
  if (octets < 0x001b || octets > 0x00fb || time < 0x0148 || time > 0x4290) {
    fail(Status.InvalidParameters, 'octets/time out of range')
  }
}

/** What we send in LL_LENGTH_REQ / LL_LENGTH_RSP. */
function ourLength(conn: Connection): Omit<LengthPdu, 'op'> {
  return {
    maxRxOctets: MAX_OCTETS,
    maxRxTime: MAX_TIME,
    maxTxOctets: conn.localMaxTxOctets,
    maxTxTime: conn.localMaxTxTime,
  }
}

export class DataLength {
  constructor(
    private readonly c: ControllerCore,
    private readonly m: Connections,
  ) {}

  /** Start the procedure, unless the peer cannot or one is already under way. */
  update(conn: Connection): void {
    const m = this.m
    if (!conn.peer.hasFeature(FEATURE_DATA_LENGTH) || m.procedures.has(conn, PROC)) return
    m.procedures.run(conn, {
      name: PROC,
      begin: () => conn.sendControl({ op: 'LL_LENGTH_REQ', ...ourLength(conn) }),
      rejected: () => m.procedures.finish(conn, PROC),
    })
  }

  opened(conn: Connection): void {
    if (conn.localMaxTxOctets !== MIN_OCTETS || conn.localMaxTxTime !== MIN_TIME) this.update(conn)
  }

  request(conn: Connection, pdu: LlControlOf<'LL_LENGTH_REQ'>): void {
    conn.sendControl({ op: 'LL_LENGTH_RSP', ...ourLength(conn) })
    this.peerLength(conn, pdu)
  }

  response(conn: Connection, pdu: LlControlOf<'LL_LENGTH_RSP'>): void {
    this.peerLength(conn, pdu)
    this.m.procedures.finish(conn, PROC)
  }

  /** Recompute the effective values from the peer's LL_LENGTH_REQ/RSP (4.5.10). */
  private peerLength(conn: Connection, r: LengthPdu): void {
    const txO = Math.max(MIN_OCTETS, Math.min(conn.localMaxTxOctets, r.maxRxOctets))
    const rxO = Math.max(MIN_OCTETS, Math.min(MAX_OCTETS, r.maxTxOctets))
    const txT = Math.max(MIN_TIME, Math.min(conn.localMaxTxTime, r.maxRxTime))
    const rxT = Math.max(MIN_TIME, Math.min(MAX_TIME, r.maxTxTime))
    if (txO === conn.maxTxOctets && rxO === conn.maxRxOctets && txT === conn.maxTxTime && rxT === conn.maxRxTime) return
    conn.maxTxOctets = txO
    conn.maxRxOctets = rxO
    conn.maxTxTime = txT
    conn.maxRxTime = rxT
    this.c.event(LeDataLengthChange, {
      connectionHandle: conn.handle,
      maxTxOctets: txO,
      maxTxTime: txT,
      maxRxOctets: rxO,
      maxRxTime: rxT,
    })
  }
}

export function installDataLength(c: ControllerCore, m: Connections): void {
  const dl = new DataLength(c, m)
  c.setFeature(FEATURE_DATA_LENGTH)
  m.onOpen((conn) => dl.opened(conn))
  m.onControl('LL_LENGTH_REQ', (conn, pdu) => dl.request(conn, pdu))
  m.onControl('LL_LENGTH_RSP', (conn, pdu) => dl.response(conn, pdu))

  // 7.8.33
  c.handle(LeSetDataLength, ({ connectionHandle, txOctets, txTime }) => {
    const conn = m.get(connectionHandle)
    checkLength(txOctets, txTime)
    conn.localMaxTxOctets = txOctets
    conn.localMaxTxTime = txTime
    dl.update(conn)
    return { status: 0, connectionHandle: conn.handle }
  })
  // 7.8.34 / 7.8.35
  c.handle(LeReadSuggestedDefaultDataLength, () => ({
    status: 0,
    suggestedMaxTxOctets: m.suggested.octets,
    suggestedMaxTxTime: m.suggested.time,
  }))
  c.handle(LeWriteSuggestedDefaultDataLength, ({ suggestedMaxTxOctets, suggestedMaxTxTime }) => {
    checkLength(suggestedMaxTxOctets, suggestedMaxTxTime)
    m.suggested.octets = suggestedMaxTxOctets
    m.suggested.time = suggestedMaxTxTime
    return { status: 0 }
  })
  // 7.8.46
  c.handle(LeReadMaximumDataLength, () => ({
    status: 0,
    supportedMaxTxOctets: MAX_OCTETS,
    supportedMaxTxTime: MAX_TIME,
    supportedMaxRxOctets: MAX_OCTETS,
    supportedMaxRxTime: MAX_TIME,
  }))
}
