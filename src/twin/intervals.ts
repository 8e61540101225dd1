/**
 * Handle ranges known to have been searched (Core v5.4 Vol 3 Part G 4.4-4.7: discovery walks a
 * handle range request by request). A response covers the part of its request's range up to the
 * last item it lists; an Error Response "Attribute Not Found" covers the whole request. The twin
 * builder keeps one set per kind of search and asks whether a range was covered in full.
 */
export class Intervals {
  /** Disjoint, sorted, merged [start, end] pairs. */
  private spans: Array<[number, number]> = []

  add(start: number, end: number): void {
    if (end < start) return
    const out: Array<[number, number]> = []
    let s = start
    let e = end
    for (const [a, b] of this.spans) {
      if (b + 1 < s || a > e + 1) out.push([a, b])
      else {
        s = Math.min(s, a)
        e = Math.max(e, b)
      }
    }
    out.push([s, e])
    out.sort((x, y) => x[0] - y[0])
    this.spans = out
  }

  /** Is every handle of [start, end] covered? (An empty range is.) */
  covers(start: number, end: number): boolean {
    if (end < start) return true
    return this.spans.some(([a, b]) => a <= start && b >= end)
  }
}
