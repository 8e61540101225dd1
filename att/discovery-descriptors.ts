/**
 * Finding characteristic descriptors in few requests (Core v5.4 Vol 3 Part G 4.7.1 Discover All
 * Characteristic Descriptors, with Find Information, Part F 3.4.3.1; 3.3.3.3 the Client
 * Characteristic Configuration descriptor, read here with Read By Type, Part F 3.4.4.1).
 *
 * Only the handle gaps after a characteristic value that can hold descriptors are asked about.
 * Find Information ranges are merged across gaps when every known attribute between them has a
 * 16-bit type (so one response, of format 0x01, carries them all) and the merged range fits one
 * response. The common one-handle gaps of notifying characteristics are closed with one Read By
 * Type sweep for the CCCD type (0x2902) when the plan says it saves requests. Every lookup (the
 * characteristic owning a handle, the gap holding it, a 128-bit type between two gaps) is a
 * binary search, so the work grows as n log n with the size of the database.
 */
import { AttError, hex4 } from './errors.ts'
import { badPeer, findInformation, readByType, type AttRequester } from './discovery-procedures.ts'
import { inRanges, insertSorted, lastBelow, lowerBound, subtract, type Range } from './handle-ranges.ts'
import { CharProps, RemoteDescriptor, type RemoteCharacteristic } from './remote-database.ts'
import { GattUuid, type Uuid } from './uuid.ts'

export interface BuiltCharacteristic {
  c: RemoteCharacteristic
  /** Its value attribute has a 128-bit type. */
  wide: boolean
}

class DescriptorSearch {
  /** Handle gaps still to ask about, sorted; gaps[head..] are left. */
  gaps: Range[]
  head = 0
  /** Handles known to have a 128-bit attribute type, sorted. */
  private readonly wide: number[] = []
  private readonly byValue: BuiltCharacteristic[]
  readonly capacity: number

  constructor(
    private readonly req: AttRequester,
    built: readonly BuiltCharacteristic[],
    private readonly signal: AbortSignal | undefined,
  ) {
    this.byValue = [...built].sort((a, b) => a.c.valueHandle - b.c.valueHandle)
    for (const b of this.byValue) if (b.wide) this.wide.push(b.c.valueHandle)
    this.wide.sort((a, b) => a - b)
    this.gaps = this.byValue
      .filter(({ c }) => c.endHandle > c.valueHandle)
      .map(({ c }) => [c.valueHandle + 1, c.endHandle] as Range)
      .sort((a, b) => a[0] - b[0])
    this.capacity = Math.max(1, Math.floor((req.mtu - 2) / 4))
  }

  /** The characteristic whose descriptor range holds `h`. */
  owner(h: number): RemoteCharacteristic | undefined {
    const b = lastBelow(this.byValue, h, (x) => x.c.valueHandle)
    return b && h <= b.c.endHandle ? b.c : undefined
  }

  add(h: number, uuid: Uuid, isWide: boolean): void {
    const c = this.owner(h)
    if (!c) return
    const ds = c.descriptors
    if (ds.some((d) => d.handle === h)) return
    const d = new RemoteDescriptor(uuid, h, c)
    const at = lowerBound(ds, h, (x) => x.handle)
    if (at === ds.length) ds.push(d)
    else ds.splice(at, 0, d)
    if (isWide) insertSorted(this.wide, h)
  }

  private wideIn(a: number, b: number): boolean {
    const i = lowerBound(this.wide, a, (x) => x)
    return i < this.wide.length && this.wide[i]! <= b
  }

  /** The Find Information range that starts at gs[from]: later gaps join while they may. */
  cluster(gs: readonly Range[], from: number): { range: Range; next: number } {
    const range: Range = [gs[from]![0], gs[from]![1]]
    let i = from + 1
    for (; i < gs.length; i++) {
      const g = gs[i]!
      if (this.wideIn(range[1] + 1, g[0] - 1) || g[1] - range[0] + 1 > this.capacity) break
      range[1] = g[1]
    }
    return { range, next: i }
  }

  /** Find Information requests needed for `gs` as the plan stands. */
  clusterCount(gs: readonly Range[]): number {
    let n = 0
    for (let i = 0; i < gs.length; n++) i = this.cluster(gs, i).next
    return n
  }

  /** The CCCD sweep, when it saves requests: the CCCD predicted at the first handle of each notifying gap. */
  async cccdSweep(): Promise<void> {
    const notifying: Range[] = []
    const predicted: Range[] = []
    for (const g of this.gaps) {
      const c = this.owner(g[0])
      if (c === undefined || (c.properties & (CharProps.Notify | CharProps.Indicate)) === 0) predicted.push(g)
      else {
        notifying.push(g)
        if (g[1] > g[0]) predicted.push([g[0] + 1, g[1]])
      }
    }
    const withSweep = Math.ceil(notifying.length / this.capacity) + this.clusterCount(predicted)
    if (notifying.length === 0 || withSweep >= this.clusterCount(this.gaps)) return
    const found: number[] = []
    try {
      await this.sweep(notifying, found)
    } finally {
      for (const h of found) this.gaps = subtract(this.gaps, h, h)
    }
  }

  private async sweep(notifying: readonly Range[], found: number[]): Promise<void> {
    let lo = notifying[0]![0]
    const hi = notifying.at(-1)![1]
    let left = 0
    while (lo <= hi) {
      let items: { handle: number; value: Uint8Array }[]
      try {
        items = await readByType(this.req, GattUuid.ClientCharacteristicConfiguration, lo, hi, this.signal)
      } catch (e) {
        // e.g. a peer that wants encryption to read it: Find Information will do.
        if (e instanceof AttError && e.code === 'ATT_ERROR_RESPONSE') return
        throw e
      }
      if (items.length === 0) return
      for (const it of items) {
        if (!this.owner(it.handle)) throw badPeer(`CCCD at ${hex4(it.handle)} is not after a characteristic value`)
        if (it.value.length !== 2) throw badPeer(`CCCD at ${hex4(it.handle)}: ${it.value.length} octets`)
        this.add(it.handle, GattUuid.ClientCharacteristicConfiguration, false)
        found.push(it.handle)
      }
      const last = items.at(-1)!.handle
      // Notifying gaps up to `last` without a CCCD in them keep their handles for Find Information.
      left = lowerBound(notifying, last + 1, (g) => g[0], left)
      if (left >= notifying.length) return
      lo = notifying[left]![0]
    }
  }

  /** Find Information over merged ranges until no gap is left. */
  async findInformation(): Promise<void> {
    const gaps = this.gaps
    while (this.head < gaps.length) {
      const [cs, ce] = this.cluster(gaps, this.head).range
      const items = await findInformation(this.req, cs, ce, this.signal)
      for (const it of items) if (inRanges(gaps, it.handle, this.head)) this.add(it.handle, it.uuid, it.wide)
      const through = items.length === 0 ? ce : items.at(-1)!.handle
      while (this.head < gaps.length && gaps[this.head]![1] <= through) this.head++
      const g = gaps[this.head]
      if (g && g[0] <= through) gaps[this.head] = [through + 1, g[1]]
    }
  }
}

/**
 * Descriptors of the given characteristics (4.7.1), asking only about their handle gaps, with
 * merged Find Information ranges and an optional CCCD sweep.
 */
export async function findDescriptors(
  req: AttRequester,
  built: readonly BuiltCharacteristic[],
  cccdSweep: boolean,
  signal?: AbortSignal,
): Promise<void> {
  const search = new DescriptorSearch(req, built, signal)
  if (search.gaps.length === 0) return
  if (cccdSweep) await search.cccdSweep()
  await search.findInformation()
}
