/**
 * Time for the virtual controller and its air: a Scheduler runs tasks after delays, in
 * virtual time (tests: deterministic, manual or "auto") or in real time (`hcikit link`).
 * Link-layer timing (advertising intervals and advDelay, Core v5.4 Vol 6 Part B 4.4.2.2;
 * connection events, 4.5.1; procedure timeouts, 5.2) is expressed as tasks on it. A seeded PRNG
 * (splitmix32) gives the same random choices (advDelay, packet loss, LE Rand, RPAs) on every run.
 *
 * The virtual clock (docs/VIRTUAL-TIME.md): time is a number that moves only when a task runs,
 * to that task's deadline. Manual mode moves it in `advance()`. Auto mode (the in-process
 * `virtual` transport) runs due tasks one per event-loop turn and then, with nothing due, jumps
 * to the next deadline - but by default ('when-idle') only while the process has no real work
 * pending (real-work.ts: a ref'd timer or an I/O request in flight); while it has, virtual time
 * follows the wall clock and the scheduler sleeps on a real timer instead of spinning. So an
 * application that awaits 20 ms of real time sees about 20 ms of virtual time go by, not minutes;
 * a ref'd watchdog timer slows virtual time down to real time (unref it, or use
 * AbortSignal.timeout). `jump: 'always'` restores the fastest policy, `'never'` runs in real time.
 */
import type { Clock } from '../../hci/host.ts'
import { type Task, TaskHeap } from './task-heap.ts'
import { realWorkPending, countOwnTimer } from './real-work.ts'

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

/** The longest real sleep of a scheduler following the wall clock before it looks at real work again. */
const REAL_WAIT_CAP_MS = 25

/** Auto mode: when may virtual time jump ahead to the next task? (See VirtualSchedulerOptions.jump.) */
export type JumpPolicy = 'when-idle' | 'always' | 'never'

export interface VirtualSchedulerOptions {
  seed?: number
  /** true: time advances by itself ("auto" mode): due tasks run one per event-loop turn. */
  auto?: boolean
  /**
   * Auto mode: do not let pending tasks keep the process alive (default false). With periodic
   * work (an advertiser) pending forever, either set this or call `close()` when done.
   */
  unref?: boolean
  /**
   * Auto mode: when virtual time may jump to the next task's deadline (default 'when-idle').
   * - 'when-idle': only while no real work is pending in the process (a ref'd timer or an I/O
   *   request in flight, real-work.ts); meanwhile it follows the wall clock, never faster, so a
   *   virtual 15 s timeout cannot expire while the application awaits a real 20 ms timer.
   * - 'always': at every event-loop turn (fastest; a real await may span any virtual time).
   * - 'never': virtual time follows the wall clock (a deterministic run in real time).
   */
  jump?: JumpPolicy
  /** 'when-idle': what counts as pending real work (default: real-work.ts). */
  realWorkPending?: () => boolean
}

/**
 * Virtual time. Manual: nothing runs until `advance()` / `runUntilIdle()`. Auto: one due task
 * per `setImmediate` turn (so promise continuations and in-memory transport deliveries settle
 * between tasks); when the next task lies ahead, time jumps to its deadline or, while real work
 * is pending (`jump`), a real timer waits until the wall clock lets it get there. Pending tasks
 * keep the process alive (unless `unref`) until `close()`. A cancelled task leaves the queue at
 * once (task-heap.ts), so timeouts that never fire cost nothing after their cancel.
 */
export class VirtualScheduler implements Scheduler {
  private t = 0
  private seq = 0
  private readonly heap = new TaskHeap()
  private readonly rand: () => number
  private readonly auto: boolean
  private readonly unref: boolean
  private readonly jump: JumpPolicy
  private readonly pendingWork: () => boolean
  private closed = false
  /** Auto mode: an immediate or a real timer is armed to run `step`. */
  private pumping = false
  private realWait: NodeJS.Timeout | undefined
  /** Auto mode, while following the wall clock: where virtual and real time were together. */
  private anchor: { real: number; virtual: number } | undefined
  private running = false
  /** Auto mode counters: tasks run, event-loop wake-ups, real waits (tests count them, not time). */
  readonly stats = { ran: 0, wakeups: 0, realWaits: 0 }

  constructor(opts: VirtualSchedulerOptions = {}) {
    this.rand = seededRandom(opts.seed ?? 1)
    this.auto = opts.auto ?? false
    this.unref = opts.unref ?? false
    this.jump = opts.jump ?? 'when-idle'
    this.pendingWork = opts.realWorkPending ?? realWorkPending
  }

  /** Drop every pending task and accept no more (tasks scheduled later never run). */
  close(): void {
    this.closed = true
    this.heap.clear()
    this.disarmRealWait()
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
    const task: Task = { at: this.t + delayMs, seq: this.seq++, fn, index: -1 }
    this.heap.push(task)
    if (this.auto) {
      // A real wait was computed for the earlier head; a new task may be due sooner.
      if (this.realWait) this.disarmRealWait()
      this.pump()
    }
    return () => {
      this.heap.remove(task)
    }
  }

  /** Tasks queued (cancelled ones leave at once). */
  get pending(): number {
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

  private runWhile(due: (at: number) => boolean): void {
    if (this.running) throw new Error('VirtualScheduler: advance() called from inside a task')
    this.running = true
    try {
      for (;;) {
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
    if (this.pumping || this.closed) return
    this.pumping = true
    const im = setImmediate(this.step)
    if (this.unref) im.unref()
  }

  /** Auto mode: run the next task if it is due, or if time may get there now; else wait for real time. */
  private readonly step = (): void => {
    this.pumping = false
    this.stats.wakeups++
    if (this.running) return
    const next = this.heap.peek()
    if (!next) {
      this.anchor = undefined
      return
    }
    if (next.at > this.t) {
      const limit = this.jumpLimit()
      if (next.at > limit) {
        this.armRealWait(next.at - limit)
        return
      }
    }
    this.heap.pop()
    this.t = Math.max(this.t, next.at)
    this.stats.ran++
    this.running = true
    try {
      next.fn()
    } finally {
      this.running = false
      if (this.heap.size > 0) this.pump()
    }
  }

  /** How far virtual time may go now: anywhere, or (following the wall clock) where real time has got. */
  private jumpLimit(): number {
    if (this.jump === 'always' || (this.jump === 'when-idle' && !this.pendingWork())) {
      this.anchor = undefined
      return Infinity
    }
    const now = performance.now()
    this.anchor ??= { real: now, virtual: this.t }
    return Math.max(this.t, this.anchor.virtual + (now - this.anchor.real))
  }

  /**
   * Sleep on a real timer until the wall clock lets time reach the next task, at most
   * REAL_WAIT_CAP_MS at a time: the real work may end sooner, and then time may jump again.
   */
  private armRealWait(ms: number): void {
    this.pumping = true
    this.stats.realWaits++
    const h = setTimeout(
      () => {
        // Step from an immediate: inside its own callback a timer still counts as active.
        this.disarmRealWait()
        this.pump()
      },
      Math.min(REAL_WAIT_CAP_MS, Math.max(1, Math.ceil(ms))),
    )
    if (this.unref) h.unref()
    else countOwnTimer(1)
    this.realWait = h
  }

  private disarmRealWait(): void {
    const h = this.realWait
    if (!h) return
    this.realWait = undefined
    this.pumping = false
    clearTimeout(h)
    if (!this.unref) countOwnTimer(-1)
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
