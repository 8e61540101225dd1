/**
 * The live table of `hcikit scan` in a terminal (docs/RELIABILITY.md, issue 13 item 12): the
 * ScanTable redrawn in place at a bounded rate, never once per advertisement. An advertisement
 * only marks the table changed; a timer draws at most one frame per `intervalMs` (and only when
 * something changed or time made "LAST SEEN" move), and a frame is at most the terminal's lines,
 * each cut to its width. So 10,000 devices at 1,000 advertisements/s cost four small frames a
 * second, not a redraw of every row per advertisement.
 *
 * Scrolling: when the keyboard is a terminal, ↑/↓, Page Up/Down, Home/End move the view
 * (raw mode, so Ctrl-C arrives as a key and is passed to `onInterrupt`).
 */
import type { Advertisement } from '../index.ts'
import { ScanTable, type ScanTableOptions } from './scan-table.ts'

/** Timers for the redraw (the real ones in the CLI, hand-driven ones in tests). */
export interface ViewTimers {
  setInterval(fn: () => void, ms: number): unknown
  clearInterval(handle: unknown): void
}

export interface LiveViewOptions extends ScanTableOptions {
  /** At most one frame per this many ms (default 250). */
  intervalMs?: number
  timers?: ViewTimers
  /** The time now, in ms, on the same clock as the advertisements' (default Date.now). */
  now?: () => number
}

/** A terminal-like output: what it writes to and how big it is. */
export interface Screen {
  write(s: string): unknown
  rows?: number
  columns?: number
}

const realTimers: ViewTimers = {
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
}

const KEYS: Record<string, (page: number) => number> = {
  '\x1b[A': () => -1,
  '\x1b[B': () => 1,
  '\x1b[5~': (page) => -page,
  '\x1b[6~': (page) => page,
  '\x1b[H': () => -Infinity,
  '\x1b[F': () => Infinity,
}

export class LiveView {
  readonly table: ScanTable
  private readonly timers: ViewTimers
  private readonly now: () => number
  private readonly intervalMs: number
  private handle: unknown
  private drawn = 0
  private offset = 0
  private changed = true
  private lastSecond = -1
  /** Frames written and their bytes, for the curious (and the tests). */
  readonly stats = { frames: 0, bytes: 0 }

  constructor(
    private readonly screen: Screen,
    o: LiveViewOptions = {},
  ) {
    this.table = new ScanTable(o)
    this.timers = o.timers ?? realTimers
    this.now = o.now ?? Date.now
    this.intervalMs = o.intervalMs ?? 250
  }

  start(): void {
    this.handle ??= this.timers.setInterval(() => this.tick(), this.intervalMs)
  }

  /** Stop the timer and draw the last frame. */
  stop(): void {
    if (this.handle !== undefined) this.timers.clearInterval(this.handle)
    this.handle = undefined
    this.draw()
  }

  update(ad: Advertisement): void {
    this.table.update(ad, ad.timestamp)
    this.changed = true
  }

  /** A key from the terminal (raw mode); true when it was one of ours. */
  key(data: string): boolean {
    const move = KEYS[data]
    if (move === undefined) return false
    const page = Math.max(1, (this.screen.rows ?? 24) - 3)
    const next = this.offset + move(page)
    this.offset = Number.isFinite(next) ? Math.max(0, next) : next > 0 ? this.table.size : 0
    this.changed = true
    return true
  }

  private tick(): void {
    // "LAST SEEN" counts seconds: a new second is a change too.
    const now = this.now()
    const second = Math.floor(now / 1000)
    if (this.table.expire(now) > 0) this.changed = true
    if (!this.changed && second === this.lastSecond) return
    this.lastSecond = second
    this.draw()
  }

  private draw(): void {
    this.changed = false
    const height = Math.max(3, (this.screen.rows ?? 24) - 1)
    const { lines, offset } = this.table.render(this.now(), {
      height,
      width: this.screen.columns ?? 80,
      offset: this.offset,
    })
    this.offset = offset
    // Up to the first line drawn, rewrite each line, clear what is left below from before.
    const up = this.drawn > 0 ? `\x1b[${this.drawn}A` : ''
    const frame = `${up}${lines.map((l) => `\x1b[2K${l}\n`).join('')}\x1b[J`
    this.drawn = lines.length
    this.stats.frames++
    this.stats.bytes += Buffer.byteLength(frame)
    this.screen.write(frame)
  }
}
