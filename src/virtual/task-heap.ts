/**
 * The queue of a VirtualScheduler (scheduler.ts): a binary min-heap of tasks ordered by deadline,
 * then by scheduling order, in which every task knows its position, so that a cancelled task
 * leaves the queue at once (O(log n)) instead of waiting for its deadline. Link-layer timing
 * (Core v5.4 Vol 6 Part B 4.4.2.2 advertising events, 4.5.1 connection events, 5.2 procedure
 * timeouts) is all tasks on this queue; most timeouts are cancelled long before they are due.
 */

export interface Task {
  /** Deadline (ms of virtual time). */
  readonly at: number
  /** Scheduling order: ties run first-scheduled first. */
  readonly seq: number
  readonly fn: () => void
  /** Position in the heap; -1 once it has left (run or cancelled). */
  index: number
}

function before(x: Task, y: Task): boolean {
  return x.at < y.at || (x.at === y.at && x.seq < y.seq)
}

export class TaskHeap {
  private readonly a: Task[] = []

  get size(): number {
    return this.a.length
  }

  peek(): Task | undefined {
    return this.a[0]
  }

  push(t: Task): void {
    t.index = this.a.length
    this.a.push(t)
    this.up(t.index)
  }

  /** Take the first task out. */
  pop(): Task | undefined {
    const top = this.a[0]
    if (top) this.remove(top)
    return top
  }

  /** Take `t` out wherever it is; false if it is not queued. */
  remove(t: Task): boolean {
    const i = t.index
    if (i < 0 || this.a[i] !== t) return false
    const last = this.a.pop()!
    t.index = -1
    if (last !== t) {
      this.a[i] = last
      last.index = i
      this.up(i)
      this.down(last.index)
    }
    return true
  }

  /** Drop everything. */
  clear(): void {
    for (const t of this.a) t.index = -1
    this.a.length = 0
  }

  private up(i: number): void {
    const a = this.a
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!before(a[i]!, a[p]!)) break
      this.swap(i, p)
      i = p
    }
  }

  private down(i: number): void {
    const a = this.a
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < a.length && before(a[l]!, a[m]!)) m = l
      if (r < a.length && before(a[r]!, a[m]!)) m = r
      if (m === i) return
      this.swap(i, m)
      i = m
    }
  }

  private swap(i: number, j: number): void {
    const a = this.a
    const x = a[i]!
    const y = a[j]!
    a[i] = y
    a[j] = x
    x.index = j
    y.index = i
  }
}
