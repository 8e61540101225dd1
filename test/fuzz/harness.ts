/**
 * The fuzz harness (docs/RELIABILITY.md, "Fuzzing"): every target is a fast-check property over
 * a decoder or a state machine's entry point.
 *
 * - `npm test` runs each target at a fixed seed for a fixed number of runs (a minute in all).
 * - `npm run fuzz` (test/fuzz/run.mjs) sets HCIKIT_FUZZ_SECONDS (and HCIKIT_FUZZ_SEED, random by
 *   default): each target then runs until its share of the time is spent.
 * - A failure writes its counterexample to test/fuzz/regressions/<target>-<seed>.json (commit it);
 *   every later run, fixed seed or not, replays all regressions of a target first (fast-check's
 *   `examples`), so a bug found once stays found.
 * Values are stored as JSON with bytes as {"$hex": "..."} and bigints as {"$bigint": "..."}.
 */
import fc from 'fast-check'
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REGRESSIONS = fileURLToPath(new URL('./regressions/', import.meta.url))
/** The seed `npm test` uses. */
export const FIXED_SEED = 0x13c0ffee

interface Tap {
  pass(message: string): void
}

function replacer(_key: string, v: unknown): unknown {
  if (v instanceof Uint8Array) return { $hex: Buffer.from(v).toString('hex') }
  if (typeof v === 'bigint') return { $bigint: v.toString() }
  return v
}

function reviver(_key: string, v: unknown): unknown {
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>
    if (typeof o['$hex'] === 'string' && Object.keys(o).length === 1)
      return Uint8Array.from(Buffer.from(o['$hex'], 'hex'))
    if (typeof o['$bigint'] === 'string' && Object.keys(o).length === 1) return BigInt(o['$bigint'])
  }
  return v
}

/** The saved counterexamples of a target. */
export function regressions<T extends unknown[]>(target: string): T[] {
  if (!existsSync(REGRESSIONS)) return []
  return readdirSync(REGRESSIONS)
    .filter((f) => f.startsWith(`${target}-`) && f.endsWith('.json'))
    .sort()
    .map((f) => (JSON.parse(readFileSync(join(REGRESSIONS, f), 'utf8'), reviver) as { args: T }).args)
}

function save(target: string, seed: number, args: unknown[], error: unknown): string {
  mkdirSync(REGRESSIONS, { recursive: true })
  const file = join(REGRESSIONS, `${target}-${seed >>> 0}.json`)
  const why = error instanceof Error ? error.message.split('\n')[0] : String(error)
  writeFileSync(file, JSON.stringify({ target, seed, error: why, args }, replacer, 2) + '\n')
  return file
}

export interface FuzzOptions {
  /** Runs at the fixed seed in `npm test` (default 200). */
  runs?: number
}

/** Seconds per target in a long run (HCIKIT_FUZZ_SECONDS), or undefined in `npm test`. */
function longRun(): { ms: number; seed: number } | undefined {
  const s = Number(process.env['HCIKIT_FUZZ_SECONDS'])
  if (!Number.isFinite(s) || s <= 0) return undefined
  const seed = Number(process.env['HCIKIT_FUZZ_SEED'] ?? Math.floor(Math.random() * 2 ** 31))
  return { ms: s * 1000, seed }
}

function settings<T>(target: string, o: FuzzOptions): fc.Parameters<[T]> & { seed: number } {
  const long = longRun()
  const examples = regressions<[T]>(target)
  if (long === undefined) return { seed: FIXED_SEED, numRuns: o.runs ?? 200, examples }
  return {
    seed: long.seed,
    numRuns: Number.MAX_SAFE_INTEGER,
    interruptAfterTimeLimit: long.ms,
    markInterruptAsFailure: false,
    examples,
  }
}

function failed<T>(target: string, seed: number, details: fc.RunDetails<[T]>): never {
  const file = details.counterexample ? save(target, seed, details.counterexample, details.errorInstance) : undefined
  throw new Error(
    `fuzz target ${target} failed (seed ${seed}, path ${details.counterexamplePath})${file ? `; saved to ${file}` : ''}\n` +
      fc.defaultReportMessage(details),
  )
}

/** Check a synchronous property; a counterexample is saved as a regression fixture. */
export function fuzz<T>(
  t: Tap,
  target: string,
  arb: fc.Arbitrary<T>,
  predicate: (v: T) => boolean,
  o: FuzzOptions = {},
): void {
  const s = settings<T>(target, o)
  const details = fc.check(fc.property(arb, predicate), s)
  if (details.failed) failed(target, s.seed, details)
  t.pass(`${target}: ${details.numRuns} runs (seed ${s.seed})`)
}

/** The same for an async property (state machines driven through promises). */
export async function fuzzAsync<T>(
  t: Tap,
  target: string,
  arb: fc.Arbitrary<T>,
  predicate: (v: T) => Promise<boolean>,
  o: FuzzOptions = {},
): Promise<void> {
  const s = settings<T>(target, o)
  const details = await fc.check(fc.asyncProperty(arb, predicate), s)
  if (details.failed) failed(target, s.seed, details)
  t.pass(`${target}: ${details.numRuns} runs (seed ${s.seed})`)
}
