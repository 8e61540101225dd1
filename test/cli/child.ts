/**
 * Test helper: run the real `hcikit` program (src/cli/main.ts through the TypeScript loader tap
 * itself uses, transpile-only) in a child process under bash, so that a test can give it the
 * output a user would: a pipe to a reader that quits early (`| head -1`), a full device
 * (`> /dev/full`), a capture path in a missing directory. `pipefail` makes the exit code
 * hcikit's. Each run has a deadline; a hang is a test failure, not a stuck suite.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

function tsLoader(): string {
  const own = process.execArgv.find((a) => a.includes('@tapjs/typescript'))
  return own ?? `--import=${import.meta.resolve('@tapjs/typescript/import')}`
}

export interface ChildRun {
  code: number | null
  stdout: string
  stderr: string
  /** Wall time of the run in ms. */
  ms: number
}

/**
 * Run `hcikit ARGS` followed by the shell text `tail` (e.g. `| head -1`, `> /dev/full`), with
 * `env` added to an environment cleared of HCIKIT_* variables.
 */
export function hcikit(
  args: string[],
  tail = '',
  o: {
    env?: NodeJS.ProcessEnv
    ms?: number /** shell text before the command (e.g. `ulimit -f 2;`) */
    pre?: string
  } = {},
): Promise<ChildRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, TS_NODE_TRANSPILE_ONLY: '1', ...o.env }
  for (const k of Object.keys(env)) if (k.startsWith('HCIKIT_') && !(o.env && k in o.env)) delete env[k]
  const quoted = [process.execPath, tsLoader(), MAIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`)
  // tap's process-info hook rides along in NODE_OPTIONS (and writes files): hcikit runs without it.
  const script = `set -o pipefail; unset NODE_OPTIONS; ${o.pre ?? ''} ${quoted.join(' ')} ${tail}`
  const started = Date.now()
  const child = spawn('bash', ['-c', script], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const ms = o.ms ?? 120_000
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      stderr += `\n[test] killed after ${ms} ms`
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {
        // gone
      }
    }, ms)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, ms: Date.now() - started })
    })
  })
}

/** Run several at once, at most `n` at a time (the machine has few cores). */
export async function all<T>(jobs: (() => Promise<T>)[], n = 2): Promise<T[]> {
  const out: T[] = new Array(jobs.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++
      out[i] = await jobs[i]!()
    }
  }
  await Promise.all(Array.from({ length: Math.min(n, jobs.length) }, worker))
  return out
}
