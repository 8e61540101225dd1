/**
 * The project's TypeScript sources as the code-health tests see them, parsed with the project's
 * own `typescript` (no regular expressions): every relative import (value, type-only, re-export,
 * dynamic `import()` and `import('...')` types), every function with its length in lines, and
 * the lines of code of each file (not blank, not comment-only). The rules they check are in
 * docs/ARCHITECTURE.md (layer rule, small files, short functions).
 */
import ts from 'typescript'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
/** The folders of the product code (tests, benchmarks, examples and scripts are not held to the rules). */
export const SOURCE_DIRS = ['hci', 'att', 'gap', 'src'] as const

export interface SourceFile {
  /** Path relative to the repository root, with forward slashes. */
  rel: string
  text: string
  ast: ts.SourceFile
}

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) yield* walk(p)
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) yield p
  }
}

/** Every source file under SOURCE_DIRS (or `dirs`), parsed. */
export function sourceFiles(root = ROOT, dirs: readonly string[] = SOURCE_DIRS): SourceFile[] {
  const out: SourceFile[] = []
  for (const top of dirs) {
    if (!statSync(join(root, top), { throwIfNoEntry: false })?.isDirectory()) continue
    for (const file of walk(join(root, top))) {
      const text = readFileSync(file, 'utf8')
      const ast = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS)
      out.push({ rel: relative(root, file).split('\\').join('/'), text, ast })
    }
  }
  return out
}

export interface Import {
  /** The imported file, relative to the root (".js" read as ".ts", as the compiler rewrites them). */
  target: string
  typeOnly: boolean
  line: number
}

/** The relative imports of a file, of every kind. */
export function importsOf(f: SourceFile): Import[] {
  const out: Import[] = []
  const add = (spec: ts.Expression | ts.LiteralTypeNode | undefined, typeOnly: boolean, at: ts.Node): void => {
    const lit = spec && ts.isLiteralTypeNode(spec) ? spec.literal : spec
    if (!lit || !ts.isStringLiteral(lit) || !lit.text.startsWith('.')) return
    const target = join(dirname(f.rel), lit.text.replace(/\.js$/, '.ts')).split('\\').join('/')
    out.push({ target, typeOnly, line: f.ast.getLineAndCharacterOfPosition(at.getStart()).line + 1 })
  }
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n)) add(n.moduleSpecifier, n.importClause?.isTypeOnly ?? false, n)
    else if (ts.isExportDeclaration(n)) add(n.moduleSpecifier, n.isTypeOnly, n)
    else if (ts.isImportTypeNode(n)) add(n.argument as ts.LiteralTypeNode, true, n)
    else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword) add(n.arguments[0], false, n)
    ts.forEachChild(n, visit)
  }
  visit(f.ast)
  return out
}

export interface FunctionSpan {
  name: string
  line: number
  lines: number
}

/** Every function, method, accessor, constructor and arrow function with a body, and its length. */
export function functionsOf(f: SourceFile): FunctionSpan[] {
  const out: FunctionSpan[] = []
  const visit = (n: ts.Node): void => {
    if (ts.isFunctionLike(n) && 'body' in n && n.body) {
      const a = f.ast.getLineAndCharacterOfPosition(n.getStart()).line
      const b = f.ast.getLineAndCharacterOfPosition(n.end).line
      out.push({ name: functionName(n), line: a + 1, lines: b - a + 1 })
    }
    ts.forEachChild(n, visit)
  }
  visit(f.ast)
  return out
}

function functionName(n: ts.SignatureDeclaration): string {
  if (n.name) return n.name.getText()
  if (ts.isConstructorDeclaration(n)) return 'constructor'
  const p = n.parent
  if (p && ts.isVariableDeclaration(p)) return p.name.getText()
  if (p && ts.isPropertyAssignment(p)) return p.name.getText()
  return '(anonymous)'
}

/** Lines that hold code: not blank, not only a comment. */
export function codeLines(f: SourceFile): number {
  return f.text.split('\n').filter((l) => l.trim() !== '' && !/^\s*(\/\/|\*|\/\*)/.test(l)).length
}

/** Strongly connected components of more than one file (or a file importing itself): the cycles. */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const out: string[][] = []
  const strong = (v: string): void => {
    index.set(v, next)
    low.set(v, next++)
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        strong(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) !== index.get(v)) return
    const comp: string[] = []
    let w: string
    do {
      w = stack.pop()!
      onStack.delete(w)
      comp.push(w)
    } while (w !== v)
    if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(comp.sort())
  }
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) strong(v)
  return out.sort((a, b) => a[0]!.localeCompare(b[0]!))
}
