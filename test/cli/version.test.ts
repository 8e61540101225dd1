/**
 * `hcikit --version` (issue 12): the version is package.json's, and nothing heavy loads before
 * it is printed: the static imports of src/cli/main.ts, followed through every file they reach,
 * are node: modules and a handful of small CLI files (commands and the stack load when a command
 * runs, through import()). Timing itself belongs to the benchmarks, not to a unit test.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { run } from './run.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** The files a file loads when it is imported: value imports and re-exports, not `import type`, not import(). */
function staticImports(file: string): string[] {
  const src = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, false)
  const out: string[] = []
  for (const s of src.statements) {
    let spec: ts.Expression | undefined
    if (ts.isImportDeclaration(s) && !s.importClause?.isTypeOnly) spec = s.moduleSpecifier
    if (ts.isExportDeclaration(s) && !s.isTypeOnly) spec = s.moduleSpecifier
    if (spec && ts.isStringLiteral(spec)) out.push(spec.text)
  }
  return out
}

function closure(entry: string): Set<string> {
  const seen = new Set<string>()
  const todo = [entry]
  while (todo.length > 0) {
    const file = todo.pop()!
    if (seen.has(file)) continue
    seen.add(file)
    for (const spec of staticImports(file)) {
      if (spec.startsWith('.')) todo.push(resolve(dirname(file), spec))
    }
  }
  return seen
}

t.test('--version prints the version of package.json', async (t) => {
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string }
  for (const args of [['--version'], ['-V'], ['version']]) {
    const r = await run(args)
    t.equal(r.code, 0)
    t.equal(r.stdout, `hcikit ${pkg.version}\n`, args.join(' '))
  }
})

t.test('main.ts loads only small files before a command runs', async (t) => {
  const files = [...closure(`${ROOT}src/cli/main.ts`)].map((f) => f.slice(ROOT.length)).sort()
  t.same(files, ['hci/errors.ts', 'src/cli/main.ts', 'src/cli/output.ts', 'src/cli/usage.ts', 'src/cli/version.ts'])
})
