/**
 * Running the bench's measurements in child processes (each stack, each run, a fresh process, so
 * that CPU and RSS are its own), and the statistics over runs.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

/** dist/bench/<rel>.js, for a bench module `rel` ('gatt/peripheral'). */
export function benchScript(rel: string): string {
  return fileURLToPath(new URL(`./${rel}.js`, import.meta.url))
}

/** Run a bench script to completion; resolve with its last stdout line parsed as JSON. */
export function runJson<T>(rel: string, args: string[], opts: { timeout?: number; node?: string[] } = {}): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const child = spawn(process.execPath, [...(opts.node ?? []), benchScript(rel), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.stderr.on('data', (c: Buffer) => (err += c.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeout ?? 300_000)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      const last = out.trim().split('\n').at(-1) ?? ''
      if (code !== 0) return reject(new Error(`${rel} ${args.join(' ')}: exit ${code ?? signal}\n${err}${out}`))
      try {
        resolve(JSON.parse(last) as T)
      } catch {
        reject(new Error(`${rel}: no JSON result\n${err}${out}`))
      }
    })
  })
}

/** A long-running helper process: resolves once it printed a line matching `ready`. */
export async function startHelper(
  rel: string,
  args: string[],
  ready: RegExp,
): Promise<{ child: ChildProcess; match: RegExpExecArray; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [benchScript(rel), ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
  let err = ''
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()))
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! })
    lines.on('line', (l) => {
      const m = ready.exec(l)
      if (m) resolve(m)
    })
    child.once('exit', (code) => reject(new Error(`${rel} exited (${code}) before it was ready\n${err}`)))
  })
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  return {
    child,
    match,
    async stop() {
      child.stdin!.end()
      const t = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(t)
    },
  }
}

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}
