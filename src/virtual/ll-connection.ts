/**
 * The Link Layer Connection state of the virtual controller (Core v5.4 Vol 6 Part B 4.5): one
 * `LinkConnection` per connection, shared by its two ends (`Connection`, one per controller).
 *
 * - Data channel PDUs (2.4) are typed objects on the air (kind 'll'): LLID 0b01 continuation or
 *   empty, 0b10 start of an L2CAP message, 0b11 LL Control PDU (2.4.2, `LlControl`).
 * - Connection events (4.5.1) every connInterval in virtual time, numbered by connEventCounter.
 *   In each event the Central sends, and the Peripheral answers only when it heard the Central
 *   (4.5.1): up to `packetsPerEvent` PDUs each way, an empty PDU when there is nothing to send.
 * - Acknowledgement (4.5.9) is modelled at the air: a PDU the link delivers counts as
 *   acknowledged; one the link drops (loss, out of range) stays at the head of its queue and is
 *   sent again at the next event. So loss delays, never loses or reorders, data.
 * - Timing 'fast': queued PDUs go out at once (a task at +0 ms) instead of waiting for the next
 *   event; events still run, for retransmissions, instants and supervision.
 * - Supervision (4.5.2): a connection not established within 6 connection events ends with
 *   0x3E; an established one with no PDU received for connSupervisionTimeout ends with 0x08.
 * - Procedures with an instant (5.5.1 ... "instant"): `atInstant(end, instant, fn)`; an end
 *   that learns of an instant already passed ends the connection with 0x28 Instant Passed.
 * - Encryption (5.1.3): a PDU sent while the sender's `txKey` is set carries that session key;
 *   a receiver expecting encrypted PDUs (`rxKey`) that cannot authenticate one (different key,
 *   or sent in the clear) has a MIC failure. Empty PDUs are never encrypted (no MIC).
 */
import type { Station } from './air.ts'
import type { ControllerCore } from './core.ts'
import type { Scheduler } from './scheduler.ts'
import { equalBytes } from '../../hci/wire.ts'

/** The HCI Role value: 0 Central, 1 Peripheral (Vol 4 Part E 7.7.65.1). */
export type Role = 0 | 1
export const CENTRAL: Role = 0
export const PERIPHERAL: Role = 1

/** LL Control PDUs (Vol 6 Part B 2.4.2), by their spec names; `LL_OPCODES` gives their opcodes. */
export type LlControl =
  | { op: 'LL_CONNECTION_UPDATE_IND'; interval: number; latency: number; timeout: number; instant: number }
  | { op: 'LL_TERMINATE_IND'; errorCode: number }
  | { op: 'LL_ENC_REQ'; rand: Uint8Array; ediv: number; skdm: Uint8Array; ivm: Uint8Array }
  | { op: 'LL_ENC_RSP'; skds: Uint8Array; ivs: Uint8Array }
  | { op: 'LL_START_ENC_REQ' }
  | { op: 'LL_START_ENC_RSP' }
  | { op: 'LL_UNKNOWN_RSP'; unknownType: number }
  | { op: 'LL_FEATURE_REQ'; featureSet: Uint8Array }
  | { op: 'LL_FEATURE_RSP'; featureSet: Uint8Array }
  | { op: 'LL_PAUSE_ENC_REQ' }
  | { op: 'LL_PAUSE_ENC_RSP' }
  | { op: 'LL_VERSION_IND'; versNr: number; compId: number; subVersNr: number }
  | { op: 'LL_PERIPHERAL_FEATURE_REQ'; featureSet: Uint8Array }
  | { op: 'LL_CONNECTION_PARAM_REQ'; intervalMin: number; intervalMax: number; latency: number; timeout: number }
  | { op: 'LL_CONNECTION_PARAM_RSP'; intervalMin: number; intervalMax: number; latency: number; timeout: number }
  | { op: 'LL_REJECT_EXT_IND'; rejectOpcode: LlOp; errorCode: number }
  | { op: 'LL_LENGTH_REQ'; maxRxOctets: number; maxRxTime: number; maxTxOctets: number; maxTxTime: number }
  | { op: 'LL_LENGTH_RSP'; maxRxOctets: number; maxRxTime: number; maxTxOctets: number; maxTxTime: number }
  | { op: 'LL_PHY_REQ'; txPhys: number; rxPhys: number }
  | { op: 'LL_PHY_RSP'; txPhys: number; rxPhys: number }
  | { op: 'LL_PHY_UPDATE_IND'; phyCToP: number; phyPToC: number; instant: number }

export type LlOp = LlControl['op']
export type LlControlOf<K extends LlOp> = Extract<LlControl, { op: K }>

/** Opcodes of the LL Control PDUs above (Vol 6 Part B 2.4.2, Table 2.18). */
export const LL_OPCODES: Readonly<Record<LlOp, number>> = {
  LL_CONNECTION_UPDATE_IND: 0x00,
  LL_TERMINATE_IND: 0x02,
  LL_ENC_REQ: 0x03,
  LL_ENC_RSP: 0x04,
  LL_START_ENC_REQ: 0x05,
  LL_START_ENC_RSP: 0x06,
  LL_UNKNOWN_RSP: 0x07,
  LL_FEATURE_REQ: 0x08,
  LL_FEATURE_RSP: 0x09,
  LL_PAUSE_ENC_REQ: 0x0a,
  LL_PAUSE_ENC_RSP: 0x0b,
  LL_VERSION_IND: 0x0c,
  LL_PERIPHERAL_FEATURE_REQ: 0x0e,
  LL_CONNECTION_PARAM_REQ: 0x0f,
  LL_CONNECTION_PARAM_RSP: 0x10,
  LL_REJECT_EXT_IND: 0x11,
  LL_LENGTH_REQ: 0x14,
  LL_LENGTH_RSP: 0x15,
  LL_PHY_REQ: 0x16,
  LL_PHY_RSP: 0x17,
  LL_PHY_UPDATE_IND: 0x18,
}

/** LLID (2.4): 0b01 continuation fragment or empty PDU, 0b10 start, 0b11 LL Control PDU. */
export const LLID = { Continuation: 0b01, Start: 0b10, Control: 0b11 } as const

/** A data channel PDU on the air. */
export interface LlPdu {
  kind: 'll'
  /** The connection it belongs to (stands for the Access Address). */
  ll: LinkConnection
  /** Role of the sender. */
  from: Role
  llid: number
  /** Data PDUs: the payload; empty for the empty PDU and for control PDUs. */
  payload: Uint8Array
  control?: LlControl
  /** The session key it was encrypted with; absent when sent in the clear. */
  key?: Uint8Array
}

declare module './air.ts' {
  interface AirPduMap {
    ll: LlPdu
  }
}

/** A PDU waiting in an end's transmit queue. */
interface Outgoing {
  pdu: LlPdu
  /** Called once the peer has it (the link delivered it). */
  onAck?: () => void
}

export interface ConnParams {
  /** connInterval, units of 1.25 ms. */
  interval: number
  /** connPeripheralLatency, events. */
  latency: number
  /** connSupervisionTimeout, units of 10 ms. */
  timeout: number
}

export type Timing = 'fast' | 'realistic'

/** Events with no PDU from the peer after which a new connection fails (4.5.2). */
const ESTABLISH_EVENTS = 6

/** One end of a connection: what one controller knows of it. */
export class Connection {
  open = true
  /** A PDU has been received from the peer (4.5.2 "established"). */
  established = false
  /** Time of the last PDU received from the peer. */
  lastRx: number
  /** connEventCounter at which this end joined (the first event it could take part in). */
  readonly firstEvent: number
  /** A LL_TERMINATE_IND of ours is on its way: supervision then ends it with our reason. */
  terminating: number | undefined
  /** Session keys in use (encryption.ts). */
  txKey: Uint8Array | undefined
  rxKey: Uint8Array | undefined
  /** No LL Data PDUs may be sent (encryption start/pause, 5.1.3). */
  dataPaused = false
  /** PHYs in use, 1 = LE 1M, 2 = LE 2M (Vol 4 Part E 7.8.47). */
  txPhy: number
  rxPhy: number
  /** Effective maximum LL Data PDU payload and time, each way (4.5.10). */
  maxTxOctets = 27
  maxTxTime = 328
  maxRxOctets = 27
  maxRxTime = 328
  /** This end's own maxima, sent in LL_LENGTH_REQ/RSP (connMaxTxOctets ...). */
  localMaxTxOctets: number
  localMaxTxTime: number
  readonly control: Outgoing[] = []
  readonly data: Outgoing[] = []
  /** What closed it. */
  reason: number | undefined
  /** Privacy (Vol 6 Part B 6): the peer's RPA when it was resolved (`remote` is then its identity, type 2/3). */
  peerRpa: string | undefined
  /** Our RPA on this connection when the controller made it from a local IRK. */
  localRpa: string | undefined

  constructor(
    readonly ll: LinkConnection,
    readonly role: Role,
    readonly ctl: ControllerCore,
    readonly peer: ControllerCore,
    readonly handle: number,
    readonly local: { address: string; type: number },
    readonly remote: { address: string; type: number },
    public params: ConnParams,
    phy: number,
    suggested: { octets: number; time: number },
    private readonly closed: (conn: Connection, reason: number, notify: boolean) => void,
  ) {
    this.lastRx = ll.scheduler.now()
    this.firstEvent = ll.counter
    this.txPhy = phy
    this.rxPhy = phy
    this.localMaxTxOctets = suggested.octets
    this.localMaxTxTime = suggested.time
  }

  /** The other end, if it exists and is open. */
  get other(): Connection | undefined {
    const o = this.role === CENTRAL ? this.ll.peripheral : this.ll.central
    return o?.open ? o : undefined
  }

  /** Queue an LL Control PDU (sent before any data; `first`: before other control PDUs too). */
  sendControl(control: LlControl, onAck?: () => void, first = false): void {
    if (!this.open) return
    const pdu: LlPdu = { kind: 'll', ll: this.ll, from: this.role, llid: LLID.Control, payload: EMPTY, control }
    const item = onAck ? { pdu, onAck } : { pdu }
    if (first) this.control.unshift(item)
    else this.control.push(item)
    this.ll.kick(this)
  }

  /** Queue an LL Data PDU (LLID start or continuation). */
  sendData(llid: number, payload: Uint8Array, onAck?: () => void): void {
    if (!this.open) return
    const pdu: LlPdu = { kind: 'll', ll: this.ll, from: this.role, llid, payload }
    this.data.push(onAck ? { pdu, onAck } : { pdu })
    this.ll.kick(this)
  }

  /** Leave the Connection state (4.5): reported to the host (Disconnection Complete) when `notify`. */
  close(reason: number, notify = true): void {
    if (!this.open) return
    this.open = false
    this.reason = reason
    this.control.length = 0
    this.data.length = 0
    this.closed(this, reason, notify)
    this.ll.endClosed()
  }

  /** The next PDU to send, without taking it (control first; data unless paused). */
  peek(): Outgoing | undefined {
    if (this.control.length > 0) return this.control[0]
    if (!this.dataPaused && this.data.length > 0) return this.data[0]
    return undefined
  }

  take(item: Outgoing): void {
    const q = this.control[0] === item ? this.control : this.data
    q.shift()
  }
}

const EMPTY = new Uint8Array(0)

/** An empty PDU (LLID 0b01, no payload): never encrypted, it has no MIC. */
function emptyPdu(ll: LinkConnection, from: Role): LlPdu {
  return { kind: 'll', ll, from, llid: LLID.Continuation, payload: EMPTY }
}

/** A queued PDU as it goes on the air: with the sender's session key when it has a payload to encrypt. */
function onAir(pdu: LlPdu, txKey: Uint8Array | undefined): LlPdu {
  if (!txKey || (!pdu.control && pdu.payload.length === 0)) return pdu
  return { ...pdu, key: txKey }
}

/** What the owning module does with PDUs an end receives. */
export interface LlReceiver {
  /** A non-empty PDU that passed the MIC check (or was sent in the clear to an end expecting that). */
  pdu(end: Connection, pdu: LlPdu): void
  /** The MIC check failed at `end` (5.1.3). */
  micFailure(end: Connection): void
}

/** A connection on the air: its event clock, shared by the Central and the Peripheral end. */
export class LinkConnection {
  central: Connection | undefined
  peripheral: Connection | undefined
  /** connEventCounter of the next connection event. */
  counter = 0
  /** connEventCounter of the last event that ran (-1: none yet). */
  lastEvent = -1
  private cancelTick: (() => void) | undefined
  private flushing = new Set<Connection>()
  private readonly instants: Array<{ end: Connection; instant: number; fn: () => void }> = []
  /** Statistics for tests: events run, PDUs sent, retransmissions. */
  readonly stats = { events: 0, pdus: 0, retransmissions: 0 }

  constructor(
    readonly scheduler: Scheduler,
    readonly air: {
      unicast(from: Station, to: Station, pdu: LlPdu): boolean
    },
    readonly timing: Timing,
    readonly packetsPerEvent: number,
    readonly receiver: LlReceiver,
  ) {}

  /** The end of `c` in this connection. */
  endOf(c: ControllerCore): Connection | undefined {
    if (this.central?.ctl === c) return this.central
    if (this.peripheral?.ctl === c) return this.peripheral
    return undefined
  }

  /** Start the event clock: the first event `firstMs` from now. */
  start(firstMs: number): void {
    if (this.cancelTick) return
    this.cancelTick = this.scheduler.schedule(firstMs, () => this.tick())
  }

  /** The connection interval in ms (the Central's view governs the events). */
  get intervalMs(): number {
    const p = (this.central ?? this.peripheral)?.params
    return (p?.interval ?? 6) * 1.25
  }

  /** Schedule `fn` at the event `instant` for `end`. false: that instant has passed. */
  atInstant(end: Connection, instant: number, fn: () => void): boolean {
    if (this.lastEvent >= 0 && ((instant - this.lastEvent) & 0xffff) === 0) return false
    if (this.lastEvent >= 0 && ((instant - this.lastEvent) & 0xffff) >= 0x8000) return false
    this.instants.push({ end, instant, fn })
    return true
  }

  /** An instant a few events ahead, for a procedure starting now (5.5.1: at least 6 events). */
  instantAhead(events = 6): number {
    return (this.counter + events) & 0xffff
  }

  /** fast timing: send what `end` has queued without waiting for the next event. */
  kick(end: Connection): void {
    if (this.timing !== 'fast' || this.flushing.has(end)) return
    this.flushing.add(end)
    this.scheduler.schedule(0, () => {
      this.flushing.delete(end)
      if (!end.open || !end.other) return
      this.burst(end, Infinity, false)
    })
  }

  /** One end closed: stop the clock when neither is left. */
  endClosed(): void {
    if (this.central?.open || this.peripheral?.open) return
    this.cancelTick?.()
    this.cancelTick = undefined
  }

  /** Called by the receiving controller's air handler. */
  deliver(to: Connection, pdu: LlPdu): void {
    if (!to.open) return
    to.lastRx = this.scheduler.now()
    to.established = true
    if (pdu.llid === LLID.Continuation && pdu.payload.length === 0 && !pdu.control) return // empty PDU
    const expectKey = to.rxKey
    if (expectKey ? !pdu.key || !equalBytes(pdu.key, expectKey) : pdu.key !== undefined) {
      this.receiver.micFailure(to)
      return
    }
    this.receiver.pdu(to, pdu)
  }

  /**
   * Send up to `max` PDUs from `end`; with `emptyIfIdle`, an empty PDU when nothing is queued.
   * Stops at the first PDU the air drops (it is retransmitted later). true: something got through.
   */
  private burst(end: Connection, max: number, emptyIfIdle: boolean): boolean {
    const to = end.peer
    let sent = 0
    let through = false
    while (sent < max && end.open) {
      const item = end.peek()
      if (!item && (sent > 0 || !emptyIfIdle)) break
      const pdu = item ? onAir(item.pdu, end.txKey) : emptyPdu(this, end.role)
      this.stats.pdus++
      if (!this.air.unicast(end.ctl, to, pdu)) {
        if (item) this.stats.retransmissions++
        break
      }
      through = true
      sent++
      if (!item) break
      end.take(item)
      item.onAck?.()
    }
    return through
  }

  private tick(): void {
    this.cancelTick = undefined
    const n = this.counter
    this.lastEvent = n
    this.stats.events++
    // Procedures whose instant is this event take effect before it (5.5.1).
    for (let i = 0; i < this.instants.length; ) {
      const x = this.instants[i]!
      if (x.instant === n) {
        this.instants.splice(i, 1)
        if (x.end.open) x.fn()
      } else i++
    }
    const c = this.central
    const p = this.peripheral
    const max = this.timing === 'fast' ? Infinity : this.packetsPerEvent
    if (c?.open && this.burst(c, max, true) && p?.open) this.burst(p, max, true)
    const now = this.scheduler.now()
    for (const end of [c, p]) {
      if (!end?.open) continue
      if (!end.established) {
        if (((n - end.firstEvent) & 0xffff) + 1 >= ESTABLISH_EVENTS) end.close(end.terminating ?? 0x3e)
      } else if (now - end.lastRx >= end.params.timeout * 10) {
        end.close(end.terminating ?? 0x08)
      }
    }
    this.counter = (n + 1) & 0xffff
    if (this.central?.open || this.peripheral?.open) {
      this.cancelTick = this.scheduler.schedule(this.intervalMs, () => this.tick())
    }
  }
}
