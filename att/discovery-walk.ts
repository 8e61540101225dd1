/**
 * The characteristic and include passes of whole-database discovery (Core v5.4 Vol 3 Part G
 * 4.6.1 Discover All Characteristics of a Service, 4.5.1 Find Included Services; Part G 3.1:
 * include declarations come first in a service, before its characteristics).
 *
 * Characteristics: Read By Type (0x2803) over the span of the services, stopping as soon as what
 * is left cannot hold a declaration and its value; the handles it covered are remembered, so a
 * secondary service found later only has its own uncovered handles searched.
 * Includes: Read By Type (0x2802) in one pass over the handles that can hold an include (between
 * a service declaration and its first characteristic), rounds repeated for the secondary services
 * found (at most 8 deep). Lookups by handle use sets, maps and binary searches over the sorted
 * services: the passes do work linear (times a log) in the size of the database.
 */
import { hex4 } from './errors.ts'
import {
  badPeer,
  findCharacteristics,
  readByType,
  uuidOf,
  type AttRequester,
  type CharRec,
  type ServiceRec,
} from './discovery-procedures.ts'
import { lastBelow, lowerBound, subtract, type Range } from './handle-ranges.ts'
import { GattUuid } from './uuid.ts'

const MAX_INCLUDE_DEPTH = 8

/** What the passes found, and what is left to search. */
export class DiscoveryWalk {
  /** Services sorted by start handle: the primary ones, then the secondary ones found. */
  readonly services: ServiceRec[]
  readonly chars: CharRec[] = []
  /** Secondary services whose 128-bit UUID is still to be read. */
  readonly needUuid: ServiceRec[] = []
  private readonly declHandles = new Set<number>()
  /** Declaration and value handles of the characteristics. */
  private readonly charHandles = new Set<number>()
  private readonly byStart = new Map<number, ServiceRec>()
  /** Handles the characteristic pass has not covered. */
  private uncovered: Range[]

  constructor(
    private readonly req: AttRequester,
    services: ServiceRec[],
    start: number,
    end: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.services = services
    for (const s of services) this.byStart.set(s.start, s)
    this.uncovered = [[start, end]]
  }

  /** Characteristics in [s, e], as far as the services there can hold them. */
  async charPass(s: number, e: number): Promise<void> {
    if (e - s < 1) return
    const hasRoom = (from: number): boolean =>
      this.services.some((sv) => Math.min(sv.end, e) - Math.max(from, sv.start + 1) >= 1)
    const found = await findCharacteristics(this.req, s, e, this.signal, hasRoom)
    for (const c of found.chars) {
      if (this.declHandles.has(c.handle)) throw badPeer(`characteristic ${hex4(c.handle)} reported twice`)
      this.declHandles.add(c.handle)
      this.charHandles.add(c.handle)
      this.charHandles.add(c.valueHandle)
      this.chars.push(c)
    }
    this.uncovered = subtract(this.uncovered, s, Math.min(e, found.next - 1))
  }

  /** Include rounds until no service is left unscanned. */
  async includes(): Promise<void> {
    const scanned = new Set<ServiceRec>()
    for (let round = 0; ; round++) {
      const todo = this.services.filter((s) => !scanned.has(s))
      if (todo.length === 0) return
      if (round > MAX_INCLUDE_DEPTH) throw badPeer(`included services nested more than ${MAX_INCLUDE_DEPTH} deep`)
      for (const s of todo) {
        scanned.add(s)
        await this.coverService(s)
      }
      await this.includeRound(todo)
    }
  }

  /** The characteristic pass must have covered this service (secondaries are found later). */
  private async coverService(s: ServiceRec): Promise<void> {
    for (const [a, b] of this.uncovered) {
      const lo = Math.max(a, s.start + 1)
      const hi = Math.min(b, s.end)
      if (hi - lo >= 1) await this.charPass(lo, hi)
    }
  }

  /** One Read By Type (0x2802) pass over the handles of `todo` that can hold includes. */
  private async includeRound(todo: readonly ServiceRec[]): Promise<void> {
    const sorted = this.chars.map((c) => c.handle).sort((a, b) => a - b)
    const candidates: Range[] = []
    for (const s of todo) {
      const i = lowerBound(sorted, s.start + 1, (h) => h)
      const first = i < sorted.length && sorted[i]! <= s.end ? sorted[i]! : s.end + 1
      if (first - 1 >= s.start + 1) candidates.push([s.start + 1, first - 1])
    }
    candidates.sort((x, y) => x[0] - y[0])
    let pending = candidates
    while (pending.length) {
      const lo = pending[0]![0]
      const hi = pending.at(-1)![1]
      const items = await readByType(this.req, GattUuid.Include, lo, hi, this.signal)
      if (items.length === 0) return
      for (const it of items) this.addInclude(it.handle, it.value)
      pending = subtract(pending, lo, items.at(-1)!.handle)
    }
  }

  /** One include declaration (Part G 3.2): checked, recorded, and its service added when new. */
  private addInclude(handle: number, value: Uint8Array): void {
    const owner = this.serviceAt(handle)
    if (!owner) throw badPeer(`include declaration at ${hex4(handle)} is outside every service`)
    if (this.charHandles.has(handle))
      throw badPeer(`include declaration at ${hex4(handle)} collides with a characteristic`)
    if (value.length !== 4 && value.length !== 6)
      throw badPeer(`include at ${hex4(handle)}: ${value.length} octets (4 or 6 expected)`)
    const incStart = value[0]! | (value[1]! << 8)
    const incEnd = value[2]! | (value[3]! << 8)
    if (incStart === 0 || incEnd < incStart)
      throw badPeer(`include at ${hex4(handle)}: range ${hex4(incStart)}-${hex4(incEnd)}`)
    if (incStart <= handle && handle <= incEnd) throw badPeer(`service at ${hex4(owner.start)} includes itself`)
    owner.includes.push({ handle, start: incStart, end: incEnd })
    const target = this.byStart.get(incStart)
    if (target) {
      if (target.end !== incEnd) {
        throw badPeer(
          `include at ${hex4(handle)} gives ${hex4(incStart)}-${hex4(incEnd)}, the service there ends at ${hex4(target.end)}`,
        )
      }
      return
    }
    const clash = this.overlapping(incStart, incEnd)
    if (clash)
      throw badPeer(
        `included range ${hex4(incStart)}-${hex4(incEnd)} overlaps the service at ${hex4(clash.start)}-${hex4(clash.end)}`,
      )
    const uuid = value.length === 6 ? uuidOf(value.subarray(4), `include at ${hex4(handle)}`) : undefined
    const secondary: ServiceRec = { uuid, start: incStart, end: incEnd, primary: false, includes: [] }
    this.services.splice(
      lowerBound(this.services, incStart, (s) => s.start),
      0,
      secondary,
    )
    this.byStart.set(incStart, secondary)
    if (!uuid) this.needUuid.push(secondary)
  }

  /** The service whose range holds `handle` after its declaration (services are disjoint). */
  private serviceAt(handle: number): ServiceRec | undefined {
    const s = lastBelow(this.services, handle, (x) => x.start)
    return s && handle <= s.end ? s : undefined
  }

  /** The first service overlapping [a, b], if any (disjoint services: their ends increase too). */
  private overlapping(a: number, b: number): ServiceRec | undefined {
    const s = this.services[lowerBound(this.services, a, (x) => x.end)]
    return s && s.start <= b ? s : undefined
  }
}
