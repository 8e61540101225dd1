/**
 * The shared air of the virtual controllers (the `Air` of air.ts): who hears whom, at what RSSI,
 * with what loss and delay, for the PDUs of Core v5.4 Vol 6 Part B 2.3 and 2.4 as air.ts declares
 * them.
 *
 * Every delivery goes through the scheduler (never re-entrantly inside broadcast/unicast), so
 * the order of events is the order of virtual time, then of sending.
 */
import type { Scheduler } from './scheduler.ts'
import { VirtualScheduler } from './scheduler.ts'
import type { Air, AirPdu, Station } from './air.ts'
import type { VirtualController } from './controller.ts'

export type {
  AdvProps,
  LegacyAdvType,
  AdvPdu,
  ScanReqPdu,
  ScanRspPdu,
  ConnectParams,
  ConnectIndPdu,
  AirPduMap,
  AirKind,
  AirPdu,
  Station,
  Air,
} from './air.ts'

export interface LinkOptions {
  scheduler?: Scheduler
  /** Seed of the default VirtualScheduler (ignored when a scheduler is given). */
  seed?: number
}

const pairKey = (a: Station, b: Station): string => (a.id < b.id ? `${a.id}:${b.id}` : `${b.id}:${a.id}`)

export class VirtualLink implements Air {
  readonly scheduler: Scheduler
  /** Seed of the link (default addresses are derived from it). */
  readonly seed: number
  /** The controllers on the air, by id. */
  private readonly members = new Map<number, VirtualController>()
  private readonly rssiOf = new Map<string, number>()
  private readonly outOfRange = new Set<string>()
  private lossProbability = 0
  private delayMs = 0
  private nextId = 0
  /** PDUs put on the air and PDUs dropped (loss or range), for tests. */
  readonly stats = { sent: 0, delivered: 0, lost: 0 }

  constructor(opts: LinkOptions = {}) {
    this.seed = opts.seed ?? 1
    this.scheduler = opts.scheduler ?? new VirtualScheduler({ seed: this.seed })
  }

  get controllers(): ReadonlySet<VirtualController> {
    return new Set(this.members.values())
  }

  /** A small index per controller on this link (used for default addresses and pair keys). */
  allocateId(): number {
    return this.nextId++
  }

  add(c: VirtualController): void {
    this.members.set(c.id, c)
  }

  remove(c: Station): void {
    if (this.members.get(c.id) === c) this.members.delete(c.id)
  }

  /** Is `s` on this link? */
  has(s: Station): boolean {
    return this.members.get(s.id) === s
  }

  setRssi(a: Station, b: Station, dBm: number): void {
    this.rssiOf.set(pairKey(a, b), Math.max(-127, Math.min(20, Math.round(dBm))))
  }

  rssi(a: Station, b: Station): number {
    return this.rssiOf.get(pairKey(a, b)) ?? -50
  }

  /** Probability in [0, 1] that any one PDU is lost (seeded by the scheduler's PRNG). */
  setLoss(probability: number): void {
    this.lossProbability = Math.max(0, Math.min(1, probability))
  }

  get loss(): number {
    return this.lossProbability
  }

  setDelay(ms: number): void {
    this.delayMs = Math.max(0, ms)
  }

  get delay(): number {
    return this.delayMs
  }

  setInRange(a: Station, b: Station, inRange: boolean): void {
    if (inRange) this.outOfRange.delete(pairKey(a, b))
    else this.outOfRange.add(pairKey(a, b))
  }

  inRange(a: Station, b: Station): boolean {
    return a !== b && this.has(a) && this.has(b) && !this.outOfRange.has(pairKey(a, b))
  }

  /** Broadcast an advertising-channel PDU from `from` to every other controller in range. */
  broadcast(from: Station, pdu: AirPdu): void {
    this.stats.sent++
    for (const to of this.members.values()) {
      if (to === from) continue
      this.deliver(from, to, pdu)
    }
  }

  /** Deliver a PDU to one controller after the link delay. false: it will not be delivered. */
  unicast(from: Station, to: Station, pdu: AirPdu): boolean {
    this.stats.sent++
    return this.deliver(from, to, pdu)
  }

  private deliver(from: Station, to: Station, pdu: AirPdu): boolean {
    if (!this.inRange(from, to)) return false
    if (this.lossProbability > 0 && this.scheduler.random() < this.lossProbability) {
      this.stats.lost++
      return false
    }
    const rssi = this.rssi(from, to)
    this.scheduler.schedule(this.delayMs, () => {
      if (!this.has(to)) return
      this.stats.delivered++
      to.receive(from, pdu, rssi)
    })
    return true
  }
}
