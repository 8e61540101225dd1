/**
 * docs/ARCHITECTURE.md stays the map of the code (docs/ARCHITECTURE.md, Tests):
 * - every product source file (every file under hci/, att/, gap/, src/, and the .ts, .c and .gyp
 *   files at the root) and every directory holding one is named in the doc by its path;
 * - every repository path the doc names (a token starting hci/, att/, gap/, src/, test/, bench/,
 *   examples/, scripts/, fixtures/, docs/, prebuilds/ or .ci/ anywhere in the text, and a root
 *   file name such as `package.json` in backticks) exists;
 * - every citation of the doc in the code ("ARCHITECTURE.md, house style 6", "docs/ARCHITECTURE.md:
 *   no import cycles", `ARCHITECTURE "LinkSecurity"`) names a house-style item or a heading the doc has.
 * Each failure lists exactly the files, paths or citations concerned. The last test feeds the
 * checks synthetic input to show each can fail.
 */
import t from 'tap'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from './helpers/sources.ts'

const DOC = 'docs/ARCHITECTURE.md'
const SELF = 'test/architecture-doc.test.ts'
/** Folders of product code: each file in them must be named in the doc. */
const PRODUCT_DIRS = ['hci', 'att', 'gap', 'src']
/** Root files that are product code too. */
const PRODUCT_ROOT = /^[\w-]+\.(ts|c|h|gyp)$/
/** Folders whose files may cite the doc. */
const CITING_DIRS = ['hci', 'att', 'gap', 'src', 'test', 'bench', 'examples', 'scripts']
const CITING_FILE = /\.(ts|mts|mjs|js|c|h)$/
/** The first segment of a path in the doc that is checked to exist. */
const TOP = '(?:hci|att|gap|src|test|bench|examples|scripts|fixtures|docs|prebuilds|\\.ci)'
const PATH_IN_TEXT = new RegExp(`(?<![\\w./~$-])(${TOP}/[\\w./-]*)`, 'g')
const ROOT_FILE_IN_BACKTICKS = /`([\w-]+\.(?:json|gyp|md|ts|c|mjs))`/g

function* walk(root: string, dir: string): Generator<string> {
  for (const name of readdirSync(join(root, dir)).sort()) {
    if (name.startsWith('.')) continue
    const rel = `${dir}/${name}`
    if (statSync(join(root, rel)).isDirectory()) yield* walk(root, rel)
    else yield rel
  }
}

/** The product source files and the directories that hold them, relative to `root`. */
function productFiles(root: string): { files: string[]; dirs: string[] } {
  const files = readdirSync(root)
    .filter((n) => PRODUCT_ROOT.test(n) && statSync(join(root, n)).isFile())
    .sort()
  for (const top of PRODUCT_DIRS) if (existsSync(join(root, top))) files.push(...walk(root, top))
  const dirs = [...new Set(files.filter((f) => f.includes('/')).map((f) => f.slice(0, f.lastIndexOf('/'))))].sort()
  return { files, dirs }
}

/** Every repository path the doc names, without a trailing slash or full stop. */
function pathsInDoc(doc: string): string[] {
  const out = new Set<string>()
  for (const m of doc.matchAll(PATH_IN_TEXT)) {
    const next = doc[m.index + m[0].length]
    if (next !== undefined && '*<{$'.includes(next)) continue // a pattern, not a path
    out.add(m[1]!.replace(/[./]+$/, ''))
  }
  for (const m of doc.matchAll(ROOT_FILE_IN_BACKTICKS)) out.add(m[1]!)
  return [...out].sort()
}

/** Product files and directories the doc does not name. */
function unnamed(doc: string, product: { files: string[]; dirs: string[] }): string[] {
  const named = new Set(pathsInDoc(doc))
  return [...product.dirs.map((d) => `${d}/`), ...product.files].filter((p) => !named.has(p.replace(/\/$/, '')))
}

/** Paths the doc names that do not exist under `root`. */
function dangling(doc: string, exists: (rel: string) => boolean): string[] {
  return pathsInDoc(doc).filter((p) => !exists(p))
}

/** What the doc offers to be cited by: its headings (lower case) and its house-style item numbers. */
function citable(doc: string): { headings: Set<string>; houseStyle: number[] } {
  const headings = new Set<string>()
  const houseStyle: number[] = []
  let inHouseStyle = false
  for (const line of doc.split('\n')) {
    const h = /^(#{1,6})\s+(.*?)\s*$/.exec(line)
    if (h) {
      const text = h[2]!.replace(/`/g, '').toLowerCase()
      headings.add(text)
      if (h[1]!.length <= 2) inHouseStyle = text === 'house style'
      continue
    }
    const item = inHouseStyle ? /^(\d+)\.\s/.exec(line) : null
    if (item) houseStyle.push(Number(item[1]))
  }
  return { headings, houseStyle }
}

/** The section names a text cites after each "ARCHITECTURE" (see the header for the forms read). */
function citationsIn(text: string): string[] {
  // Join comment lines: "... house style 8 and the layer\n * rule" reads as one phrase.
  const flat = text.replace(/\n[ \t]*(?:\*(?!\/)|\/\/)?[ \t]*/g, ' ')
  const out: string[] = []
  for (const m of flat.matchAll(/ARCHITECTURE(?:\.md)?/g)) {
    const rest = flat.slice(m.index + m[0].length, m.index + m[0].length + 240)
    const quoted = /^\s*"([^"]+)"/.exec(rest)
    if (quoted) {
      out.push(quoted[1]!)
      continue
    }
    const lead = /^(?:'s\s+|\s*[,:(]\s*|\s+(?=house style \d))/.exec(rest)
    if (!lead) continue // "see docs/ARCHITECTURE.md" cites the whole doc
    const ref = rest.slice(lead[0].length).split(/[):;]|\*\/|\.(?:\s|$)/)[0]!
    for (const part of ref.split(/,|\band\b/)) {
      const name = part
        .trim()
        .replace(/^the\s+/i, '')
        .replace(/^["']|["']$/g, '')
      // Longer phrases are prose about the doc ("of ARCHITECTURE.md, kept true by parsing ..."), not names.
      if (name !== '' && name.split(/\s+/).length <= 4) out.push(name)
    }
  }
  return out
}

/** Citations (file: name) that name nothing the doc has. */
function brokenCitations(doc: string, sources: Array<{ rel: string; text: string }>): string[] {
  const { headings, houseStyle } = citable(doc)
  const bad: string[] = []
  for (const s of sources) {
    for (const name of citationsIn(s.text)) {
      const n = /^house style (\d+)$/i.exec(name)
      const ok = n ? houseStyle.includes(Number(n[1])) : headings.has(name.toLowerCase())
      if (!ok) bad.push(`${s.rel}: "${name}"`)
    }
  }
  return bad
}

function citingSources(root: string): Array<{ rel: string; text: string }> {
  const out: Array<{ rel: string; text: string }> = []
  for (const top of CITING_DIRS) {
    if (!existsSync(join(root, top))) continue
    for (const rel of walk(root, top)) {
      if (rel === SELF || !CITING_FILE.test(rel)) continue
      out.push({ rel, text: readFileSync(join(root, rel), 'utf8') })
    }
  }
  return out
}

const doc = readFileSync(join(ROOT, DOC), 'utf8')

t.test('every product source file and its directory is named in docs/ARCHITECTURE.md', async (t) => {
  const product = productFiles(ROOT)
  t.ok(product.files.length > 150, `${product.files.length} product files found`)
  const missing = unnamed(doc, product)
  const how = `add each to its directory's table; 'npx biome check --write ${DOC}' aligns the table`
  t.same(missing, [], `not named in ${DOC} (${how}): ${missing.join(', ') || 'none'}`)
})

t.test('every path docs/ARCHITECTURE.md names exists', async (t) => {
  const paths = pathsInDoc(doc)
  t.ok(paths.length > 150, `${paths.length} paths named`)
  const gone = dangling(doc, (p) => existsSync(join(ROOT, p)))
  t.same(gone, [], `named in ${DOC} but not in the repository: ${gone.join(', ') || 'none'}`)
})

t.test('every citation of docs/ARCHITECTURE.md in the code names something it has', async (t) => {
  const { houseStyle } = citable(doc)
  t.same(
    houseStyle,
    houseStyle.map((_, i) => i + 1),
    'the house style items are numbered 1, 2, 3, ... in order',
  )
  const sources = citingSources(ROOT)
  const cited = sources.flatMap((s) => citationsIn(s.text))
  t.ok(cited.length > 10, `${cited.length} citations read`)
  const bad = brokenCitations(doc, sources)
  t.same(bad, [], `cited but not in ${DOC} (a heading or a house style number): ${bad.join('; ') || 'none'}`)
})

t.test('the check itself: each rule can fail', async (t) => {
  const fake = [
    '# Map',
    '## House style',
    '1. One declaration per packet.',
    '2. Cursor codecs.',
    '## Layer rule',
    '### `LinkSecurity`',
    '| `hci/host.ts` | HciHost |',
    'hci/ holds `hci/wire.ts`; see `hci/gone.ts`, `test/**/*.test.ts`, ../shared/docs/x.md and `package.json`.',
    'Nothing at `nowhere.json` or src/twin/.',
  ].join('\n')
  const product = { files: ['binding.gyp', 'hci/host.ts', 'hci/new.ts', 'hci/wire.ts'], dirs: ['hci'] }
  t.same(unnamed(fake, product), ['binding.gyp', 'hci/new.ts'], 'files the doc does not name, exactly')
  t.same(
    pathsInDoc(fake),
    ['hci', 'hci/gone.ts', 'hci/host.ts', 'hci/wire.ts', 'nowhere.json', 'package.json', 'src/twin'],
    'paths in tables, backticks and prose; patterns and paths outside the repository are skipped',
  )
  const there = new Set(['hci', 'hci/host.ts', 'hci/wire.ts', 'package.json'])
  t.same(
    dangling(fake, (p) => there.has(p)),
    ['hci/gone.ts', 'nowhere.json', 'src/twin'],
    'paths that do not exist',
  )
  t.same(citable(fake).houseStyle, [1, 2], 'house style items')
  const sources = [
    { rel: 'hci/a.ts', text: '/**\n * Codecs (ARCHITECTURE.md, house style 2 and the layer\n * rule).\n */' },
    { rel: 'hci/b.ts', text: "// docs/ARCHITECTURE.md's layer rule; (see docs/ARCHITECTURE.md) is the whole doc" },
    { rel: 'att/c.ts', text: '/** Implemented by gap/ (ARCHITECTURE "LinkSecurity"); ARCHITECTURE house style 2 */' },
    {
      rel: 'gap/d.ts',
      text: '/** (docs/ARCHITECTURE.md, house style 10: x) (docs/ARCHITECTURE.md: no import cycles) */',
    },
    { rel: 'src/e.ts', text: '// The rule of ARCHITECTURE.md, kept true by parsing every import of every file.' },
    { rel: 'src/f.ts', text: '/** See ARCHITECTURE "Wiring" and docs/ARCHITECTURE.md (layer rule, small files). */' },
  ]
  t.same(citationsIn(sources[0]!.text), ['house style 2', 'layer rule'], 'a citation over two comment lines')
  t.same(citationsIn(sources[4]!.text), [], 'prose after the name is not a citation')
  t.same(
    brokenCitations(fake, sources),
    ['gap/d.ts: "house style 10"', 'gap/d.ts: "no import cycles"', 'src/f.ts: "Wiring"', 'src/f.ts: "small files"'],
    'citations of items and sections the doc does not have, exactly',
  )
})
