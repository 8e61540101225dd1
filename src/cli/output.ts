/**
 * Output that goes away, for the CLI (docs/RELIABILITY.md, issue 13 item 1).
 *
 * `OutputGuard` owns the error events of a run's stdout and stderr, so that no write can end
 * the process with an unhandled 'error' event: a reader that quits (EPIPE: `| head -1`, Wireshark
 * closed) aborts the command through `signal` and the run ends quietly with exit 0, as the reader
 * asked; any other write failure (ENOSPC on `> /dev/full`) aborts it too and becomes one line on
 * stderr and exit 1. Errors on stderr itself are ignored (there is nowhere left to say them).
 *
 * `LineOutput` batches lines for the commands that print a lot (decode), with back-pressure.
 */
import type { Writable } from 'node:stream'
import type { CaptureError } from '../../hci/errors.ts'

/** The codes of a reader that went away (a closed pipe or socket). */
const GONE = new Set(['EPIPE', 'ECONNRESET', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END'])

/** What a command's signal is aborted with when its output went away. */
export class OutputGoneError extends Error {
  override name = 'OutputGoneError'
}

function errnoText(e: NodeJS.ErrnoException): string {
  const text = e.message.replace(/^\w+: /, '').replace(/, \w+$/, '')
  return e.code && !text.includes(e.code) ? `${text} (${e.code})` : text
}

export class OutputGuard {
  private readonly ac = new AbortController()
  private error: NodeJS.ErrnoException | undefined
  private captureFailed = false

  constructor(
    readonly stdout: NodeJS.WritableStream,
    readonly stderr: NodeJS.WritableStream,
    caller?: AbortSignal,
  ) {
    stdout.on('error', this.onStdoutError)
    if (stderr !== stdout) stderr.on('error', this.onStderrError)
    if (caller?.aborted) this.ac.abort(caller.reason)
    else caller?.addEventListener('abort', () => this.ac.abort(caller.reason), { once: true })
  }

  /** Aborted when stdout fails (or the caller's signal aborts): commands end on it. */
  get signal(): AbortSignal {
    return this.ac.signal
  }

  /** The reader of stdout went away. */
  get closed(): boolean {
    return this.error !== undefined && GONE.has(this.error.code ?? '')
  }

  private readonly onStdoutError = (e: NodeJS.ErrnoException): void => {
    this.error ??= e
    if (!this.ac.signal.aborted) this.ac.abort(new OutputGoneError(`stdout: ${errnoText(e)}`))
  }

  private readonly onStderrError = (): void => undefined

  /** A capture that stopped (src/snoop-capture.ts `onError`): one line, once; on stdout, as stdout. */
  readonly onCapture = (e: CaptureError): void => {
    const cause = e.cause as NodeJS.ErrnoException | undefined
    if (cause !== undefined && GONE.has(cause.code ?? '') && e.message.includes('capture -:')) {
      this.onStdoutError(cause)
      return
    }
    if (this.captureFailed) return
    this.captureFailed = true
    this.stderr.write(`hcikit: ${e.message}${e.hint ? `\n  hint: ${e.hint}` : ''}\n`)
  }

  /** Let the errors of the last writes arrive (they are emitted a turn after the write). */
  async settled(): Promise<void> {
    const s = this.stdout as Writable
    if (this.error === undefined && !s.destroyed && s.writable !== false) {
      await new Promise<void>((resolve) => s.write('', () => resolve()))
    }
    await new Promise((resolve) => setImmediate(resolve))
  }

  dispose(): void {
    this.stdout.off('error', this.onStdoutError)
    this.stderr.off('error', this.onStderrError)
  }

  /** The run's exit code, given the command's: output failures and failed captures count. */
  exitCode(code: number): number {
    if (this.closed) return code === 2 ? 2 : 0
    if (this.error !== undefined) {
      this.stderr.write(
        `hcikit: cannot write the output: ${errnoText(this.error)}\n  hint: is the disk or device full? Write elsewhere or to a pipe\n`,
      )
      return 1
    }
    return code === 0 && this.captureFailed ? 1 : code
  }
}

export class LineOutput {
  private buf: string[] = []
  private size = 0
  closed = false

  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {
    // The run's OutputGuard reports the error; here it only means: stop writing.
    const stop = (): void => {
      this.closed = true
    }
    out.once('error', stop)
    out.once('close', stop)
  }

  async line(s: string): Promise<void> {
    if (this.closed) return
    this.buf.push(s)
    this.size += s.length + 1
    if (this.size >= 64 * 1024) await this.flush()
  }

  async flush(): Promise<void> {
    if (this.closed || this.buf.length === 0) return
    const chunk = this.buf.join('\n') + '\n'
    this.buf = []
    this.size = 0
    if (!this.out.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.out.off('drain', done)
          this.out.off('close', done)
          this.out.off('error', done)
          resolve()
        }
        this.out.on('drain', done)
        this.out.on('close', done)
        this.out.on('error', done)
      })
    }
  }
}
