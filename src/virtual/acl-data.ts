/**
 * ACL data through the virtual controller (Core v5.4):
 * - From the Host (Vol 4 Part E 5.4.2, 4.1.1 ACL flow control): the controller holds at most
 *   Total_Num_LE_ACL_Data_Packets packets; one more is dropped and reported with Data Buffer
 *   Overflow (7.7.26, link type 0x01). A held packet is cut into LL Data PDUs of the
 *   connection's effective maximum payload (Vol 6 Part B 2.4, 4.5.10): LLID 0b10 for the first
 *   piece of a start fragment (PB 0b00 or 0b10), 0b01 for the others. When its last piece has
 *   been acknowledged on the air, its buffer is free again and Number Of Completed Packets
 *   (7.7.19) tells the Host, coalesced per handle within one moment of virtual time. Buffers of
 *   a connection that ends are freed without a report (the Host frees them on Disconnection
 *   Complete, 4.1.1).
 * - To the Host: the LL payloads of one L2CAP PDU (from a start PDU on) are delivered as ACL
 *   packets of exactly the Host-facing buffer size (LE_ACL_Data_Packet_Length), the last one
 *   shorter: PB 0b10 first, 0b01 continuing, BC 0b00 (5.4.2, controller to host). The L2CAP
 *   basic header (Vol 3 Part A 3.1) tells where a PDU ends; bytes that do not fit that framing
 *   are passed on when the next start PDU arrives.
 */
import { decodeAclHeader, encodeAcl, PB } from '../../hci/acl.ts'
import { DecodeError } from '../../hci/errors.ts'
import { DataBufferOverflow, NumberOfCompletedPackets } from '../../hci/events.ts'
import type { ControllerCore } from './core.ts'
import type { Connections } from './connections-state.ts'
import { LLID, type Connection, type LlPdu } from './ll-connection.ts'

/** Link type of Data Buffer Overflow for ACL (7.7.26). */
const LINK_TYPE_ACL = 0x01

/** Statistics for tests. */
export interface AclStats {
  fromHost: number
  malformed: number
  unknownHandle: number
  overflows: number
  completed: number
  toHost: number
}

const statsOf = new WeakMap<ControllerCore, AclStats>()

/** ACL counters of a controller (installAclData must have run). */
export function aclStats(c: ControllerCore): AclStats {
  return statsOf.get(c)!
}

/** Host -> air: the controller's ACL buffers, LL Data PDUs, Number Of Completed Packets. */
export class AclFromHost {
  /** Host packets held by the controller, in all. */
  private held = 0
  private readonly heldBy = new WeakMap<Connection, number>()
  private readonly completions = new Map<number, number>()
  private reportScheduled = false

  constructor(
    private readonly c: ControllerCore,
    private readonly m: Connections,
    private readonly stats: AclStats,
  ) {}

  reset(): void {
    this.held = 0
    this.completions.clear()
  }

  /** A connection ended: its buffers are free, with no report (the Host frees them itself, 4.1.1). */
  closed(conn: Connection): void {
    this.held -= this.heldBy.get(conn) ?? 0
    this.heldBy.delete(conn)
    this.completions.delete(conn.handle)
  }

  /** An ACL packet from the Host. */
  packet(data: Uint8Array): void {
    const { c, stats } = this
    const a = decodeAclHeader(data)
    if (a instanceof DecodeError || a.bc !== 0 || a.pb === PB.Complete) {
      stats.malformed++
      return
    }
    const conn = this.m.byHandle.get(a.handle)
    if (!conn?.open) {
      stats.unknownHandle++
      return
    }
    if (this.held >= c.aclCount) {
      stats.overflows++
      c.event(DataBufferOverflow, { linkType: LINK_TYPE_ACL })
      return
    }
    stats.fromHost++
    this.held++
    this.heldBy.set(conn, (this.heldBy.get(conn) ?? 0) + 1)
    const start = a.pb === PB.FirstNonFlushable || a.pb === PB.FirstFlushable
    if (a.data.length === 0) {
      this.completed(conn) // nothing to send
      return
    }
    const size = conn.maxTxOctets
    for (let at = 0; at < a.data.length; at += size) {
      const piece = a.data.subarray(at, at + size)
      const last = at + size >= a.data.length
      conn.sendData(
        start && at === 0 ? LLID.Start : LLID.Continuation,
        piece,
        last ? () => this.completed(conn) : undefined,
      )
    }
  }

  /** A held packet went out whole: its buffer is free; reported once per moment of virtual time. */
  private completed(conn: Connection): void {
    if (!conn.open) return
    this.held--
    this.heldBy.set(conn, (this.heldBy.get(conn) ?? 1) - 1)
    this.stats.completed++
    this.completions.set(conn.handle, (this.completions.get(conn.handle) ?? 0) + 1)
    if (!this.reportScheduled) {
      this.reportScheduled = true
      this.c.link.scheduler.schedule(0, () => this.report())
    }
  }

  private report(): void {
    this.reportScheduled = false
    if (this.completions.size === 0) return
    const handles = [...this.completions].map(([connectionHandle, numCompletedPackets]) => ({
      connectionHandle,
      numCompletedPackets,
    }))
    this.completions.clear()
    this.c.event(NumberOfCompletedPackets, { handles })
  }
}

/** Reassembly toward the Host, per connection. */
interface Rx {
  /** Inside a PDU that began with a start LL PDU. */
  active: boolean
  /** The next ACL packet to the Host is the first of its PDU. */
  first: boolean
  /** Total bytes of the PDU (L2CAP header + length) once known. */
  expected: number | undefined
  /** Bytes of the PDU received so far. */
  received: number
  /** Received and not yet passed to the Host. */
  chunks: Uint8Array[]
  pending: number
}

/** Air -> Host: LL payloads as ACL packets of the Host-facing buffer size. */
export class AclToHost {
  private readonly rxOf = new WeakMap<Connection, Rx>()

  constructor(
    private readonly c: ControllerCore,
    private readonly stats: AclStats,
  ) {}

  closed(conn: Connection): void {
    this.rxOf.delete(conn)
  }

  /** An LL Data PDU from the peer. */
  pdu(conn: Connection, pdu: LlPdu): void {
    const size = this.c.aclDataLength
    let rx = this.rxOf.get(conn)
    if (!rx) {
      rx = { active: false, first: true, expected: undefined, received: 0, chunks: [], pending: 0 }
      this.rxOf.set(conn, rx)
    }
    if (pdu.llid === LLID.Start) {
      this.flush(conn, rx)
      Object.assign(rx, { active: true, first: true, expected: undefined, received: 0 })
    } else if (!rx.active) {
      // A continuation with no PDU in progress: pass it on as one.
      Object.assign(rx, { active: true, first: false, expected: 0, received: 0 })
    }
    rx.chunks.push(pdu.payload)
    rx.pending += pdu.payload.length
    rx.received += pdu.payload.length
    if (rx.expected === undefined && rx.received >= 2) {
      rx.expected = 4 + (peekByte(rx, 0) | (peekByte(rx, 1) << 8))
    }
    while (rx.pending >= size) this.emit(conn, rx, size)
    if (rx.expected !== undefined && rx.received >= rx.expected) {
      this.flush(conn, rx)
      rx.active = false
    }
  }

  private flush(conn: Connection, rx: Rx): void {
    while (rx.pending > 0) this.emit(conn, rx, Math.min(rx.pending, this.c.aclDataLength))
  }

  private emit(conn: Connection, rx: Rx, n: number): void {
    const bytes = take(rx, n)
    this.stats.toHost++
    this.c.aclToHost(encodeAcl(conn.handle, rx.first ? PB.FirstFlushable : PB.Continuing, 0, bytes))
    rx.first = false
  }
}

/** The first `n` pending bytes, removed from `rx`. */
function take(rx: Rx, n: number): Uint8Array {
  const out = new Uint8Array(n)
  let at = 0
  while (at < n) {
    const head = rx.chunks[0]!
    const k = Math.min(head.length, n - at)
    out.set(head.subarray(0, k), at)
    at += k
    if (k === head.length) rx.chunks.shift()
    else rx.chunks[0] = head.subarray(k)
  }
  rx.pending -= n
  return out
}

/** Byte `i` of what is pending (only used while the whole PDU so far is still pending). */
function peekByte(rx: Rx, i: number): number {
  for (const ch of rx.chunks) {
    if (i < ch.length) return ch[i]!
    i -= ch.length
  }
  return 0
}

export function installAclData(c: ControllerCore, m: Connections): void {
  const stats: AclStats = { fromHost: 0, malformed: 0, unknownHandle: 0, overflows: 0, completed: 0, toHost: 0 }
  statsOf.set(c, stats)
  const out = new AclFromHost(c, m, stats)
  const back = new AclToHost(c, stats)
  c.onReset(() => out.reset())
  m.onClose((conn) => {
    out.closed(conn)
    back.closed(conn)
  })
  c.onHostAcl((data) => out.packet(data))
  m.onData((conn, pdu) => back.pdu(conn, pdu))
}
