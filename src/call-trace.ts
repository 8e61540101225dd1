/**
 * Public API calls, tagged: each call an adapter or client makes on the user's behalf (open's
 * bring-up, connect and its steps, read, write, subscribe, disconnect, advertise...) puts a note
 * record (notes.ts) in the session's log and captures when it starts and when it ends, with how
 * long it took, so the HCI and ATT packets between the two belong to it. Calls nest (connect:
 * the link, the MTU exchange, discovery), each with its own number.
 *
 * When a call fails, the flight recorder (flight-recorder.ts) writes what led up to it as a
 * btsnoop capture, and the error's message names the file: "... (flight recorder: PATH)"
 * (`flightRecordingOf(err)` gives the path). An abort by the caller's own signal is not a
 * failure. One error is recorded once, by the innermost call it went through.
 */
import type { Clock } from '../hci/host.ts'
import { publishNote, notesWanted, type NoteHost } from './notes.ts'
import { acquireFlightRecorder, flightRecorder, releaseFlightRecorder } from './flight-recorder.ts'

const recordings = new WeakMap<object, string>()
let nextCall = 0

/** The flight-recorder capture written when this error failed a call, if one was. */
export function flightRecordingOf(err: unknown): string | undefined {
  return err !== null && typeof err === 'object' ? recordings.get(err) : undefined
}

export interface Call {
  /** The call succeeded. */
  done(): void
  /** The call failed with `err` (recorded, its message naming the capture); returns `err`. */
  failed(err: unknown): unknown
}

export interface CallTracerOptions {
  clock: Clock
  /** Put notes in the log and captures (default true; false for hosts kept out of them). */
  diagnostics?: boolean
  env?: NodeJS.ProcessEnv
  /** The adapter's host: its notes go among its packets. */
  host?: NoteHost | undefined
}

export class CallTracer {
  private readonly clock: Clock
  private readonly notes: boolean
  private readonly recording: boolean
  private closed = false
  private readonly host: NoteHost | undefined

  constructor(o: CallTracerOptions) {
    this.clock = o.clock
    this.host = o.host
    this.notes = o.diagnostics ?? true
    this.recording = this.notes && acquireFlightRecorder(o.env)
  }

  /** Start a call named `what`; `signal` is the caller's, whose abort is no failure. */
  begin(what: string, signal?: AbortSignal): Call {
    const id = ++nextCall
    const t0 = this.clock.now()
    this.note(`call #${id} ${what}: started`)
    return {
      done: () => this.note(`call #${id} ${what}: done in ${this.since(t0)}`),
      failed: (err) => this.failed(id, what, t0, err, signal),
    }
  }

  private since(t0: number): string {
    return `${(this.clock.now() - t0).toFixed(1)} ms`
  }

  /** The end of a call that failed: noted, and recorded unless the caller aborted it. */
  private failed(id: number, what: string, t0: number, err: unknown, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted && err === signal.reason) {
      this.note(`call #${id} ${what}: aborted after ${this.since(t0)}`)
      return err
    }
    this.note(
      `call #${id} ${what}: failed after ${this.since(t0)}: ${err instanceof Error ? err.message : String(err)}`,
    )
    this.record(err)
    return err
  }

  /**
   * Run `fn` as a call of the data path (a write without response: thousands a second), untagged
   * while it goes well; a failure is noted and recorded like any call's. `what` is built only then.
   */
  quiet<T>(what: () => string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const t0 = this.clock.now()
    return fn().catch((e: unknown) => {
      throw this.failed(++nextCall, what(), t0, e, signal)
    })
  }

  /** Run `fn` as the call `what`. */
  async run<T>(what: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const call = this.begin(what, signal)
    try {
      const r = await fn()
      call.done()
      return r
    } catch (e) {
      throw call.failed(e)
    }
  }

  private note(text: string): void {
    if (this.notes && notesWanted()) publishNote(text, BigInt(Math.round(this.clock.now() * 1000)), this.host)
  }

  /** Write the flight recording of a failure and name it in the error's message (once per error). */
  private record(err: unknown): void {
    if (!this.recording || !(err instanceof Error) || recordings.has(err)) return
    const path = flightRecorder().dump()
    if (path === undefined) return
    recordings.set(err, path)
    err.message = `${err.message} (flight recorder: ${path})`
  }

  /** The adapter closed: let go of the recorder. */
  close(): void {
    if (this.closed) return
    this.closed = true
    if (this.recording) releaseFlightRecorder()
  }
}

/** A tracer that notes nothing and records nothing (objects made outside an adapter). */
export const NO_TRACE: Pick<CallTracer, 'begin' | 'run' | 'quiet'> = {
  begin: () => ({ done: () => {}, failed: (e) => e }),
  run: (_what, fn) => fn(),
  quiet: (_what, fn) => fn(),
}
