/**
 * Fault injection on any transport (hci/transport.ts: HCI packets of Core v5.4 Vol 4 Part E
 * 5.4, whatever carries them: a USB dongle, a UART, TCP, the virtual controller): a wrapper that
 * applies a fault plan (rules.ts) to the packets going down (tx, host to controller) and coming
 * up (rx), as a flaky radio, a lossy UART or a buggy controller would.
 *
 * For each packet the first rule that picks it (match.ts) acts; the others only count it.
 * Every fault is marked where the session is recorded: a note record (notes.ts) in HCIKIT_LOG,
 * in --snoop / HCIKIT_SNOOP captures and in the flight recorder, saying which rule did what to
 * which packet; `injected` keeps the last 1000 for tests. Timers (delay, reorder, held credits)
 * run on the clock given, the adapter's: virtual time on a virtual link.
 *
 * The controller's side of a faked answer (`status`): the command never reaches the
 * controller; the host gets Command Complete with the status alone (a failed command's return
 * parameters, 7.7.14) or Command Status (7.7.15) for commands answered that way, one credit.
 */
import { commandSpec } from '../../hci/commands.ts'
import { TransportError } from '../../hci/errors.ts'
import { CommandComplete, CommandStatus, NumberOfCompletedPackets, decodeEvent, encodeEvent } from '../../hci/events.ts'
import type { Clock } from '../../hci/host.ts'
import type { HciPacket, Transport } from '../../hci/transport.ts'
import { publishNote, type NoteHost } from '../notes.ts'
import { Selector, describe, factsOf, seeded, type PacketFacts } from './match.ts'
import { validateFaultPlan, type FaultPlan, type FaultRule } from './rules.ts'

export interface InjectedFault {
  rule: number
  name: string
  action: FaultRule['action']
  direction: 'tx' | 'rx'
  packet: string
}

export interface FaultTransportOptions {
  /** Timers for delays, reordering and held credits (default the real ones). */
  clock?: Clock
  /** Put a note in the log and captures for each fault (default true). */
  marks?: boolean
}

const realClock: Clock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  now: () => Date.now(),
}
const MAX_LOG = 1000
/** How long a reordered packet waits for the next one before it goes anyway. */
const REORDER_WAIT_MS = 1000

type Direction = 'tx' | 'rx'

export class FaultTransport implements Transport {
  /** The host above, once there is one: its notes go among its packets (set by open()). */
  host: NoteHost | undefined
  readonly plan: FaultPlan
  /** The faults injected so far (the last 1000). */
  readonly injected: InjectedFault[] = []
  /** Faults per rule, in plan order. */
  readonly counts: number[]
  private readonly selectors: Selector[]
  private readonly clock: Clock
  private readonly marks: boolean
  private readonly packetCbs: Array<(p: HciPacket) => void> = []
  private readonly closeCbs: Array<(err?: Error) => void> = []
  private readonly held: Record<Direction, { p: HciPacket; timer: unknown } | undefined> = {
    tx: undefined,
    rx: undefined,
  }
  /** hold-credits: per rule, packets still to hold back, and what is held per handle. */
  private readonly credits = new Map<number, { left: number; held: Map<number, number> }>()
  private closed = false

  constructor(
    readonly inner: Transport,
    plan: FaultPlan,
    o: FaultTransportOptions = {},
  ) {
    this.plan = validateFaultPlan(plan)
    const random = seeded(this.plan.seed ?? 1)
    this.selectors = this.plan.rules.map((r) => new Selector(r, random))
    this.counts = this.plan.rules.map(() => 0)
    this.clock = o.clock ?? realClock
    this.marks = o.marks ?? true
    inner.onPacket((p) => this.incoming(p))
    inner.onClose((err) => this.finish(err))
  }

  send(packet: HciPacket): void | Promise<void> {
    if (this.closed) throw new TransportError('send on a closed transport (fault injection)')
    const f = factsOf('tx', packet)
    const i = this.pick(f)
    if (i < 0) return this.pass('tx', packet)
    return this.act(i, f, { type: packet.type, data: packet.data.slice() })
  }

  private incoming(packet: HciPacket): void {
    if (this.closed) return
    const f = factsOf('rx', packet)
    const i = this.pick(f)
    if (i < 0) this.pass('rx', packet)
    else void this.act(i, f, packet)
  }

  private pick(f: PacketFacts): number {
    let chosen = -1
    this.selectors.forEach((s, i) => {
      if (s.picks(f) && chosen < 0) chosen = i
    })
    return chosen
  }

  /** A packet on its way, and the reordered one held behind it, if any. */
  private pass(dir: Direction, p: HciPacket): void | Promise<void> {
    const r = this.forward(dir, p)
    const h = this.held[dir]
    if (h) {
      this.held[dir] = undefined
      this.clock.clearTimeout(h.timer)
      void this.forward(dir, h.p)
    }
    return r
  }

  private forward(dir: Direction, p: HciPacket): void | Promise<void> {
    if (this.closed) return
    if (dir === 'tx') return this.inner.send(p)
    for (const cb of this.packetCbs) cb(p)
  }

  private note(i: number, f: PacketFacts, p: HciPacket, what: string): void {
    const r = this.plan.rules[i]!
    const name = r.name ?? `rule ${i + 1}`
    this.counts[i]!++
    this.injected.push({ rule: i, name, action: r.action, direction: f.direction, packet: describe(f, p) })
    if (this.injected.length > MAX_LOG) this.injected.shift()
    if (this.marks)
      publishNote(`fault (${name}): ${what} ${describe(f, p)}`, BigInt(Math.round(this.clock.now() * 1000)), this.host)
  }

  private act(i: number, f: PacketFacts, p: HciPacket): void | Promise<void> {
    const r = this.plan.rules[i]!
    const dir = f.direction
    switch (r.action) {
      case 'drop':
        return this.note(i, f, p, 'dropped')
      case 'delay':
        this.note(i, f, p, `delayed by ${r.ms} ms`)
        this.clock.setTimeout(() => void this.forward(dir, p), r.ms)
        return
      case 'duplicate': {
        this.note(i, f, p, `sent ${1 + (r.times ?? 1)} times`)
        const first = this.pass(dir, p)
        for (let k = 0; k < (r.times ?? 1); k++) void this.forward(dir, { type: p.type, data: p.data.slice() })
        return first
      }
      case 'reorder':
        return this.reorder(i, f, p)
      case 'mutate':
        return this.pass(dir, this.mutate(i, f, p, r))
      case 'status':
        return this.fakeAnswer(i, f, p, r.status)
      case 'hold-credits':
        return this.pass(dir, this.holdCredits(i, f, p, r))
      case 'cut':
        this.note(i, f, p, 'cut the transport at')
        this.finish(new TransportError(`fault injection cut the transport (${r.name ?? `rule ${i + 1}`})`))
        void this.inner.close().catch(() => undefined)
        return
    }
  }

  private reorder(i: number, f: PacketFacts, p: HciPacket): void {
    const dir = f.direction
    const before = this.held[dir]
    if (before) {
      // Already one waiting: that one goes now, behind nothing.
      this.clock.clearTimeout(before.timer)
      void this.forward(dir, before.p)
    }
    this.note(i, f, p, 'held back behind the next packet:')
    const timer = this.clock.setTimeout(() => {
      if (this.held[dir]?.p !== p) return
      this.held[dir] = undefined
      void this.forward(dir, p)
    }, REORDER_WAIT_MS)
    this.held[dir] = { p, timer }
  }

  private mutate(i: number, f: PacketFacts, p: HciPacket, r: Extract<FaultRule, { action: 'mutate' }>): HciPacket {
    const data = p.data.slice()
    const bytes = Buffer.from(r.xor ?? r.set!, 'hex')
    let changed = 0
    for (let k = 0; k < bytes.length && r.offset + k < data.length; k++, changed++)
      data[r.offset + k] = r.xor !== undefined ? data[r.offset + k]! ^ bytes[k]! : bytes[k]!
    this.note(i, f, p, `${r.xor !== undefined ? 'xored' : 'set'} ${changed} octet(s) at ${r.offset} of`)
    return { type: p.type, data }
  }

  private fakeAnswer(i: number, f: PacketFacts, p: HciPacket, status: number): void {
    const opcode = f.opcode ?? 0
    this.note(i, f, p, `answered with status 0x${status.toString(16).padStart(2, '0')} instead of sending`)
    const answer =
      commandSpec(opcode)?.returns === undefined
        ? encodeEvent(CommandStatus, { status, numHciCommandPackets: 1, opcode })
        : encodeEvent(CommandComplete, { numHciCommandPackets: 1, opcode, returnParameters: Uint8Array.of(status) })
    this.clock.setTimeout(() => void this.forward('rx', { type: 4, data: answer }), 0)
  }

  /** Number Of Completed Packets with fewer packets than the controller completed. */
  private holdCredits(
    i: number,
    f: PacketFacts,
    p: HciPacket,
    r: Extract<FaultRule, { action: 'hold-credits' }>,
  ): HciPacket {
    const e = decodeEvent(p.data)
    if (e instanceof Error || e.key !== 'NumberOfCompletedPackets') return p
    let state = this.credits.get(i)
    if (!state) {
      state = { left: r.count, held: new Map() }
      this.credits.set(i, state)
    }
    const s = state
    if (s.left === 0) return p // all held already: this one passes untouched
    const handles = e.params.handles.map((h) => {
      const take = Math.min(s.left, h.numCompletedPackets)
      s.left -= take
      if (take > 0) s.held.set(h.connectionHandle, (s.held.get(h.connectionHandle) ?? 0) + take)
      return { connectionHandle: h.connectionHandle, numCompletedPackets: h.numCompletedPackets - take }
    })
    this.note(i, f, p, `held back credits (${r.count - s.left} of ${r.count} so far) from`)
    if (s.left === 0 && r.ms !== undefined) this.clock.setTimeout(() => this.release(s.held), r.ms)
    return { type: 4, data: encodeEvent(NumberOfCompletedPackets, { handles }) }
  }

  private release(held: Map<number, number>): void {
    const handles = [...held].map(([connectionHandle, numCompletedPackets]) => ({
      connectionHandle,
      numCompletedPackets,
    }))
    held.clear()
    if (handles.length > 0)
      void this.forward('rx', { type: 4, data: encodeEvent(NumberOfCompletedPackets, { handles }) })
  }

  onPacket(cb: (packet: HciPacket) => void): void {
    this.packetCbs.push(cb)
  }

  onClose(cb: (err?: Error) => void): void {
    this.closeCbs.push(cb)
  }

  async close(): Promise<void> {
    this.finish(undefined)
    await this.inner.close()
  }

  private finish(err: Error | undefined): void {
    if (this.closed) return
    this.closed = true
    for (const d of ['tx', 'rx'] as const) {
      const h = this.held[d]
      if (h) this.clock.clearTimeout(h.timer)
      this.held[d] = undefined
    }
    for (const cb of this.closeCbs) cb(err)
  }
}

/** Wrap a transport so that `plan`'s faults happen to its packets. */
export function withFaults(inner: Transport, plan: FaultPlan, o: FaultTransportOptions = {}): FaultTransport {
  return new FaultTransport(inner, plan, o)
}
