/**
 * Attribute handle ranges (Core v5.4 Vol 3 Part F 3.2.2: handles 0x0001-0xFFFF; the Starting and
 * Ending Handle of the discovery requests, 3.4.3-3.4.4): sorted lists of disjoint closed ranges,
 * and binary searches over sorted lists, so GATT discovery looks things up in logarithmic time.
 */

/** [first, last], inclusive. */
export type Range = [number, number]

/** `ranges` without [a, b] (ranges sorted and disjoint, the result too). */
export function subtract(ranges: readonly Range[], a: number, b: number): Range[] {
  const out: Range[] = []
  for (const [s, e] of ranges) {
    if (e < a || s > b) out.push([s, e])
    else {
      if (s < a) out.push([s, a - 1])
      if (e > b) out.push([b + 1, e])
    }
  }
  return out
}

/** The first index in `items[from..]` whose `key` is >= x (items sorted by key); items.length if none. */
export function lowerBound<T>(items: readonly T[], x: number, key: (t: T) => number, from = 0): number {
  let lo = from
  let hi = items.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (key(items[mid]!) < x) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** The last item whose `key` is < x (items sorted by key), or undefined. */
export function lastBelow<T>(items: readonly T[], x: number, key: (t: T) => number): T | undefined {
  const i = lowerBound(items, x, key) - 1
  return i >= 0 ? items[i] : undefined
}

/** Whether `h` lies in one of `ranges[from..]` (sorted and disjoint). */
export function inRanges(ranges: readonly Range[], h: number, from = 0): boolean {
  const i = lowerBound(ranges, h, (r) => r[1], from)
  return i < ranges.length && ranges[i]![0] <= h
}

/** Insert `h` into the sorted array `list` (no duplicates). */
export function insertSorted(list: number[], h: number): void {
  const i = lowerBound(list, h, (x) => x)
  if (list[i] !== h) list.splice(i, 0, h)
}
