/**
 * The real-trace corpus: btsnoop/pcap captures recorded by other people with real phones and
 * devices, read in place and never copied into the project (docs/ARCHITECTURE.md, Tests).
 *
 * Where it is: the directory named by HCIKIT_REAL_TRACES, else `../shared/fixtures/real` beside
 * the repository. It is optional for `npm test`: a test file that needs it registers its cases
 * with `realTest` (or reads `realTraces()`), and when the corpus is absent the file prints ONE
 * line, "real-trace corpus not found: N cases skipped; set HCIKIT_REAL_TRACES=DIR", instead of
 * failing at load. CI sets HCIKIT_REQUIRE_REAL_TRACES=1 (.ci/run): that line is then a failure,
 * so the oracle tests can never be skipped silently there. A HCIKIT_REAL_TRACES that names a
 * missing directory is always a failure: the user asked for a corpus that is not there.
 */
import t, { type Test, type TestOpts } from 'tap'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const FROM_ENV = process.env['HCIKIT_REAL_TRACES']
/** Where the corpus is looked for (absolute, with a trailing slash). */
export const REAL_LOOKED_AT = `${resolve(FROM_ENV || join(ROOT, '..', 'shared', 'fixtures', 'real'))}/`
const present = existsSync(REAL_LOOKED_AT) && statSync(REAL_LOOKED_AT).isDirectory()
const required = process.env['HCIKIT_REQUIRE_REAL_TRACES'] === '1' || Boolean(FROM_ENV)

/** The corpus directory (absolute, trailing slash), or undefined when it is absent. */
export const REAL_DIR: string | undefined = present ? REAL_LOOKED_AT : undefined

let skipped = 0
let scheduled = false

/** Count `cases` that cannot run; the file's one line is printed once its tests are registered. */
function skip(cases: number): void {
  skipped += cases
  if (scheduled) return
  scheduled = true
  // Test files register their cases synchronously at load: by the next turn the count is whole.
  setImmediate(() => {
    scheduled = false
    const n = skipped
    skipped = 0
    const line = `real-trace corpus not found: ${n} case${n === 1 ? '' : 's'} skipped; set HCIKIT_REAL_TRACES=DIR`
    if (!required) return void t.test(line, { skip: true }, () => {})
    const why = FROM_ENV
      ? `HCIKIT_REAL_TRACES=${FROM_ENV} is not a directory`
      : 'HCIKIT_REQUIRE_REAL_TRACES=1 (CI) requires it'
    t.fail(`${line} (looked at ${REAL_LOOKED_AT}; ${why})`)
  })
}

/** True when the corpus is there; otherwise counts `cases` skipped for this file's one line. */
export function haveRealTraces(cases = 1): boolean {
  if (REAL_DIR === undefined) skip(cases)
  return REAL_DIR !== undefined
}

type TestFn = (t: Test) => unknown

/** `t.test` for a case that needs the corpus: registered when it is there, counted when not. */
export function realTest(name: string, fn: TestFn): void
export function realTest(name: string, opts: TestOpts, fn: TestFn): void
export function realTest(name: string, a: TestOpts | TestFn, b?: TestFn): void {
  if (!haveRealTraces()) return
  if (typeof a === 'function') void t.test(name, a)
  else if (b) void t.test(name, a, b)
}

/** The path of one trace of the corpus (call it inside a case registered with `realTest`). */
export function realTrace(name: string): string {
  if (REAL_DIR === undefined) throw new Error(`real-trace corpus not found at ${REAL_LOOKED_AT}`)
  return REAL_DIR + name
}

/**
 * Every capture file of the corpus (not the catalog files), sorted; [] when it is absent, and
 * then the loop these feed counts as one skipped case.
 */
export function realTraces(): string[] {
  if (!haveRealTraces()) return []
  return readdirSync(REAL_DIR!)
    .filter((f) => f !== 'CATALOG.md' && f !== 'catalog.json')
    .sort()
    .map((f) => REAL_DIR + f)
}

export interface CatalogEntry {
  file: string
  frames: number
  hci_events: number
  hci_cmds: number
  [key: string]: unknown
}

/** The corpus's catalog.json (per trace: frame, event and command counts tshark gave). */
export function realCatalog(): CatalogEntry[] {
  return JSON.parse(readFileSync(realTrace('catalog.json'), 'utf8')) as CatalogEntry[]
}

export function shortName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1)
}
