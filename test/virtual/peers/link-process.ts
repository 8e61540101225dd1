/**
 * Test helpers: run `hcikit link` (src/cli/main.ts through the TypeScript loader tap itself uses)
 * and other peer programs as child processes, each in its own process group so that teardown
 * can kill it with everything it started (socat), and wait on their output with timeouts.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url))

/** The --import flag of tap's TypeScript loader (inherited from the test process when present). */
function tsLoader(): string {
  const own = process.execArgv.find((a) => a.includes('@tapjs/typescript'))
  return own ?? `--import=${import.meta.resolve('@tapjs/typescript/import')}`
}

export interface Teardown {
  teardown(fn: () => unknown): void
}

/** A child process whose stdout and stderr lines are kept and can be awaited. */
export class Peer {
  readonly stdout: string[] = []
  readonly stderr: string[] = []
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  private waiters: Array<() => void> = []

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    /** stderr lines left out of `tail()` (chatty debug output). */
    private readonly quiet?: RegExp,
  ) {
    createInterface({ input: child.stdout! }).on('line', (l) => this.add(this.stdout, l))
    createInterface({ input: child.stderr! }).on('line', (l) => this.add(this.stderr, l))
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        resolve({ code, signal })
        this.wake()
      }),
    )
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  private add(list: string[], line: string): void {
    list.push(line)
    if (process.env['HCIKIT_TEST_VERBOSE']) process.stderr.write(`[${this.name}] ${line}\n`)
    this.wake()
  }

  private wake(): void {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }

  /**
   * Resolve with the result of `pick` over the collected lines once it is not undefined; reject
   * after `ms`, or when the process exits first, with what it printed.
   */
  async until<T>(what: string, pick: (p: Peer) => T | undefined, ms: number): Promise<T> {
    const deadline = Date.now() + ms
    for (;;) {
      const v = pick(this)
      if (v !== undefined) return v
      if (!this.running) throw new Error(`${this.name} exited while waiting for ${what}\n${this.tail()}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${this.name}: ${what}\n${this.tail()}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** The first stdout or stderr line matching `re` (from line index `from` of that stream). */
  line(stream: 'stdout' | 'stderr', re: RegExp, ms: number, from = 0): Promise<string> {
    return this.until(`a ${stream} line matching ${re}`, (p) => p[stream].slice(from).find((l) => re.test(l)), ms)
  }

  tail(n = 40): string {
    const err = this.quiet ? this.stderr.filter((l) => !this.quiet!.test(l)) : this.stderr
    return [`--- ${this.name} stdout:`, ...this.stdout.slice(-n), `--- ${this.name} stderr:`, ...err.slice(-n)].join(
      '\n',
    )
  }

  /** Send a signal to the process group; resolve with how it exited. */
  async stop(
    signal: NodeJS.Signals = 'SIGTERM',
    ms = 10_000,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) process.kill(this.child.pid!, signal)
    let timer: NodeJS.Timeout | undefined
    try {
      return await Promise.race([
        this.exited,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`${this.name} did not exit within ${ms} ms of ${signal}\n${this.tail()}`)),
            ms,
          )
        }),
      ])
    } finally {
      clearTimeout(timer)
    }
  }

  /** Kill the whole process group (teardown): whatever is left of it. */
  killGroup(): void {
    try {
      process.kill(-this.child.pid!, 'SIGKILL')
    } catch {
      // already gone
    }
  }
}

/** Start a program in its own process group; it is killed (group and all) at teardown. */
export function startPeer(
  t: Teardown,
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  quiet?: RegExp,
): Peer {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  const peer = new Peer(name, child, quiet)
  t.teardown(() => peer.killGroup())
  return peer
}

/** `hcikit link ARGS`: resolves once it printed its `count` "SPEC ADDRESS [SNOOP]" lines. */
export async function startLink(
  t: Teardown,
  args: string[],
  count: number,
  ms = 60_000,
): Promise<{ peer: Peer; served: string[][] }> {
  const peer = startPeer(t, 'hcikit link', process.execPath, [tsLoader(), MAIN, 'link', ...args])
  await peer.until(`${count} served lines`, (p) => (p.stdout.length >= count ? true : undefined), ms)
  return { peer, served: peer.stdout.slice(0, count).map((l) => l.split(' ')) }
}

/** Whether the process group `pgid` has any process left. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0)
    return true
  } catch {
    return false
  }
}
