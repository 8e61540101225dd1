/**
 * Running tshark for the tests, and remembering what it said.
 *
 * tshark is the independent oracle for every decoder (docs/ARCHITECTURE.md, Tests); dissecting a
 * large trace takes seconds, and several test files ask about the same traces. So the output of
 * a run over a capture file is kept under node_modules/.cache/hcikit/tshark/, keyed by a hash of
 * the file's bytes, tshark's version and the exact arguments (the field list among them): each
 * query runs once per trace, and a second `npm test` runs none. A test that writes a capture of
 * its own (different bytes each run) asks with `cache: false`. HCIKIT_TSHARK_CACHE=0 turns the
 * cache off.
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync, gzipSync } from 'node:zlib'
import { toolVersion } from './tools.ts'

const MODULES = fileURLToPath(new URL('../../node_modules/', import.meta.url))
export const CACHE_DIR = join(MODULES, '.cache', 'hcikit', 'tshark')
const cacheOn = process.env['HCIKIT_TSHARK_CACHE'] !== '0' && existsSync(MODULES)

const contentHashes = new Map<string, { key: string; hash: string }>()
const inFlight = new Map<string, Promise<string>>()

/** sha256 of a file's bytes, remembered per path, size and modification time. */
function contentHash(file: string): string {
  const st = statSync(file)
  const key = `${st.size}:${st.mtimeMs}`
  const known = contentHashes.get(file)
  if (known?.key === key) return known.hash
  const hash = createHash('sha256').update(readFileSync(file)).digest('hex')
  contentHashes.set(file, { key, hash })
  return hash
}

export interface TsharkOptions {
  /** Keep and reuse the output (default true): for traces whose bytes do not change run to run. */
  cache?: boolean
}

/**
 * tshark's standard output for `tshark -r FILE ...args` (or `tshark ...args` without a file).
 * Rejects with tshark's exit code and the start of its stderr when it fails.
 */
export function tsharkText(
  file: string | undefined,
  args: readonly string[],
  opts: TsharkOptions = {},
): Promise<string> {
  const full = file === undefined ? [...args] : ['-r', file, ...args]
  if (opts.cache === false || !cacheOn) return run(full)
  return remember([file === undefined ? '' : contentHash(file), args], () => run(full))
}

/**
 * `compute()`'s text, kept under a key made of tshark's version and `parts`: computed once per
 * key, then read back (in this process and in later runs).
 */
export function remember(parts: unknown[], compute: () => Promise<string>): Promise<string> {
  const version = toolVersion('tshark')?.split('\n')[0]
  if (version === undefined) return Promise.reject(new Error('tshark is not installed'))
  if (!cacheOn) return compute()
  const key = createHash('sha256')
    .update(JSON.stringify([version, ...parts]))
    .digest('hex')
  const pending = inFlight.get(key)
  if (pending) return pending
  const p = cached(key, compute)
  inFlight.set(key, p)
  return p
}

async function cached(key: string, compute: () => Promise<string>): Promise<string> {
  const path = join(CACHE_DIR, `${key}.gz`)
  if (existsSync(path)) {
    try {
      return gunzipSync(readFileSync(path)).toString('utf8')
    } catch {
      // a torn or foreign file: compute again and overwrite it
    }
  }
  const text = await compute()
  mkdirSync(CACHE_DIR, { recursive: true })
  // Another test process may be writing the same entry: write aside, then rename (atomic).
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, gzipSync(text, { level: 1 }))
  renameSync(tmp, path)
  return text
}

/** Run tshark; its standard output. */
export function run(args: string[]): Promise<string> {
  if (toolVersion('tshark') === undefined) return Promise.reject(new Error('tshark is not installed'))
  return new Promise((resolve, reject) => {
    const child = spawn('tshark', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => out.push(d))
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 4000) stderr += d.toString()
    })
    child.on('error', reject)
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'))
      else reject(new Error(`tshark ${args.join(' ')} exited ${code}: ${stderr}`))
    })
  })
}
