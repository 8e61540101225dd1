/**
 * Pausing a running scan around connection attempts (Core v5.4 Vol 4 Part E 7.8.11 / 7.8.65 LE
 * Set (Extended) Scan Enable, 7.8.12 / 7.8.66 LE (Extended) Create Connection, 7.8.27 LE Read
 * Supported States; Vol 6 Part B 1.1.1 the combinations of link layer states).
 *
 * One ScanControl per HciHost (like gap/command-set.ts), shared by the Scanner and Connections of
 * that host. The Scanner registers its running scan with `pause()` / `resume()` (LE Set (Extended)
 * Scan Enable 0 / 1, keeping its own dedup, merge and queue state, so the consumer only sees a
 * gap). Connections takes a `hold()` for each connect(): the first hold pauses the registered scan,
 * the last release resumes it, so concurrent attempts pause once and resume once.
 *
 * Policy: always pause. Whether a controller may scan and initiate at once is given by bits of its
 * LE Supported States (7.8.27, Vol 6 Part B 1.1.1), which the bring-up does not read; controllers
 * that lack those states answer Create Connection with Command Disallowed (0x0C). Pausing is
 * correct on every controller and costs only scan time during the attempt, so no command is spent
 * to find out. Pause and resume run one after another in call order; their failures are ignored
 * (the connection attempt then gets the controller's own answer, and the scan stays as it is).
 * A scan that starts while a hold is taken is paused right after it registers.
 */
import type { HciHost } from '../hci/host.ts'

/** What the Scanner registers for its running scan. */
export interface PausableScan {
  pause(): Promise<void>
  resume(): Promise<void>
}

/** A taken hold: `ready` settles once the scan (if any) is paused; `release` once it is resumed. */
export interface ScanHold {
  readonly ready: Promise<void>
  release(): Promise<void>
}

export class ScanControl {
  private active: PausableScan | undefined
  private paused = false
  private holds = 0
  private chain: Promise<void> = Promise.resolve()
  /** Pauses and resumes done (for diagnostics and tests). */
  readonly counts = { pauses: 0, resumes: 0 }

  /** Whether a hold is taken (a connection attempt is pending). */
  get held(): boolean {
    return this.holds > 0
  }

  /** Register the running scan; the returned function unregisters it (when the scan ends). */
  register(scan: PausableScan): () => void {
    this.active = scan
    this.paused = false
    if (this.holds > 0) this.enqueue(() => this.doPause())
    return () => {
      if (this.active === scan) {
        this.active = undefined
        this.paused = false
      }
    }
  }

  /** Take a hold: the registered scan is paused (by the first hold) until every hold is released. */
  hold(): ScanHold {
    this.holds++
    const ready = this.holds === 1 ? this.enqueue(() => this.doPause()) : this.chain
    let released: Promise<void> | undefined
    return {
      ready,
      release: () => {
        if (released) return released
        this.holds--
        released = this.holds === 0 ? this.enqueue(() => this.doResume()) : Promise.resolve()
        return released
      },
    }
  }

  private enqueue(op: () => Promise<void>): Promise<void> {
    const next = this.chain.then(op).catch(() => undefined)
    this.chain = next
    return next
  }

  private async doPause(): Promise<void> {
    const scan = this.active
    if (!scan || this.paused || this.holds === 0) return
    this.paused = true
    this.counts.pauses++
    await scan.pause()
  }

  private async doResume(): Promise<void> {
    const scan = this.active
    if (!scan || !this.paused || this.holds > 0) return
    this.paused = false
    this.counts.resumes++
    await scan.resume()
  }
}

const controls = new WeakMap<HciHost, ScanControl>()

/** The ScanControl of `host` (created on first use). */
export function scanControl(host: HciHost): ScanControl {
  let c = controls.get(host)
  if (!c) {
    c = new ScanControl()
    controls.set(host, c)
  }
  return c
}
