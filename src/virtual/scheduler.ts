/**
 * Time for the virtual controller and its air: a Scheduler runs tasks after delays, in
 * virtual time (tests: deterministic, manual or "fast") or in real time (`hcikit link`).
 * Link-layer timing (advertising intervals and advDelay, Core v5.4 Vol 6 Part B 4.4.2.2;
 * connection events, 4.5.1) is expressed as tasks on it. A seeded PRNG (splitmix32) gives
 * the same random choices (advDelay, packet loss, LE Rand) on every run.
 */
import type { Clock } from '../../hci/host.ts'

export interface Scheduler {
  /** Milliseconds of (virtual or real) time. */
  now(): number
  /** Run fn after delayMs (>= 0). Tasks due at the same time run in scheduling order. Returns a cancel function. */
  schedule(delayMs: number, fn: () => void): () => void
  /** Deterministic pseudo-random in [0, 1) from the link's seed. */
  random(): number
}

/** splitmix32: small, fast, good enough for link-layer choices; never for keys. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad)
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97)
    z = (z ^ (z >>> 15)) >>> 0
    return z / 0x1_0000_0000
  }
}

interface Task {
  at: number
  seq: number
  fn: () => void
  cancelled: boolean
}

/** Min-heap of tasks by (at, seq). */
class TaskHeap {
  private readonly a: Task[] = []
  get size(): number {
    return this.a.length
  }
  peek(): Task | undefined {
    return this.a[0]
  }
  push(t: Task): void {
    const a = this.a
    a.push(t)
    let i = a.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!before(a[i]!, a[p]!)) break
      ;[a[i], a[p]] = [a[p]!, a[i]!]
      i = p
    }
  }
  pop(): Task | undefined {
    const a = this.a
    const top = a[0]
    const last = a.pop()
    if (a.length > 0 && last) {
      a[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < a.length && before(a[l]!, a[m]!)) m = l
        if (r < a.length && before(a[r]!, a[m]!)) m = r
        if (m === i) break
        ;[a[i], a[m]] = [a[m]!, a[i]!]
        i = m
      }
    }
    return top
  }
}

function before(x: Task, y: Task): boolean {
  return x.at < y.at || (x.at === y.at && x.seq < y.seq)
}

export interface VirtualSchedulerOptions {
  seed?: number
  /** true: whenever the event loop is idle, time jumps to the next task ("fast" mode). */
  auto?: boolean
  /**
   * Auto mode: do not let pending tasks keep the process alive (default false). With periodic
   * work (an advertiser) pending forever, either set this or call `close()` when done.
   */
  unref?: boolean
}

/**
 * Virtual time. Manual: nothing runs until `advance()` / `runUntilIdle()`. Auto: one due task
 * per `setImmediate` turn (so promise continuations and in-memory transport deliveries settle
 * between tasks), time jumping to each task's deadline; pending tasks keep the process alive
 * (unless `unref`) until `close()`.
 */
export class VirtualScheduler implements Scheduler {
  private t = 0
  private seq = 0
  private readonly heap = new TaskHeap()
  private readonly rand: () => number
  private readonly auto: boolean
  private readonly unref: boolean
  private closed = false
  private pumping = false
  private running = false

  constructor(opts: VirtualSchedulerOptions = {}) {
    this.rand = seededRandom(opts.seed ?? 1)
    this.auto = opts.auto ?? false
    this.unref = opts.unref ?? false
  }

  /** Drop every pending task and accept no more (tasks scheduled later never run). */
  close(): void {
    this.closed = true
    while (this.heap.pop()) {
      // drain
    }
  }

  now(): number {
    return this.t
  }

  random(): number {
    return this.rand()
  }

  schedule(delayMs: number, fn: () => void): () => void {
    if (!(delayMs >= 0)) delayMs = 0
    if (this.closed) return () => {}
    const task: Task = { at: this.t + delayMs, seq: this.seq++, fn, cancelled: false }
    this.heap.push(task)
    if (this.auto) this.pump()
    return () => {
      task.cancelled = true
    }
  }

  /** Tasks not yet run (cancelled ones may be counted until they reach the front). */
  get pending(): number {
    this.dropCancelled()
    return this.heap.size
  }

  /** Run every task due within `ms` from now, in order; time ends at now + ms. */
  advance(ms: number): void {
    const end = this.t + Math.max(0, ms)
    this.runWhile((at) => at <= end)
    this.t = Math.max(this.t, end)
  }

  /** Run tasks until none is left, or until `limitMs` of virtual time has passed (default 60 s). */
  runUntilIdle(limitMs = 60_000): void {
    const end = this.t + limitMs
    this.runWhile((at) => at <= end)
  }

  private dropCancelled(): void {
    while (this.heap.peek()?.cancelled) this.heap.pop()
  }

  private runWhile(due: (at: number) => boolean): void {
    if (this.running) throw new Error('VirtualScheduler: advance() called from inside a task')
    this.running = true
    try {
      for (;;) {
        this.dropCancelled()
        const next = this.heap.peek()
        if (!next || !due(next.at)) break
        this.heap.pop()
        this.t = Math.max(this.t, next.at)
        next.fn()
      }
    } finally {
      this.running = false
    }
  }

  private pump(): void {
    if (this.pumping) return
    this.pumping = true
    const step = (): void => {
      this.pumping = false
      if (this.running) return
      this.dropCancelled()
      const next = this.heap.pop()
      if (!next) return
      this.t = Math.max(this.t, next.at)
      this.running = true
      try {
        next.fn()
      } finally {
        this.running = false
        this.dropCancelled()
        if (this.heap.size > 0) this.pump()
      }
    }
    const im = setImmediate(step)
    if (this.unref) im.unref()
  }
}

/** Real time on the global timers (for `hcikit link`); random choices still seeded. */
export class RealtimeScheduler implements Scheduler {
  private readonly rand: () => number
  private readonly start = performance.now()

  constructor(opts: { seed?: number } = {}) {
    this.rand = seededRandom(opts.seed ?? 1)
  }

  now(): number {
    return performance.now() - this.start
  }

  random(): number {
    return this.rand()
  }

  schedule(delayMs: number, fn: () => void): () => void {
    const h = setTimeout(fn, Math.max(0, delayMs))
    return () => clearTimeout(h)
  }
}

/** An hci/host.ts Clock on a Scheduler, so an HciHost runs in the same (virtual) time. */
export function clockFrom(s: Scheduler): Clock {
  return {
    setTimeout: (fn, ms) => s.schedule(ms, fn),
    clearTimeout: (handle) => {
      if (typeof handle === 'function') (handle as () => void)()
    },
    now: () => s.now(),
  }
}
