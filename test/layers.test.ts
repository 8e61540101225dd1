/**
 * The layer rule of ARCHITECTURE.md, kept true by parsing every source file's imports:
 *   src/cli, src/devices -> src -> gap -> att -> hci
 *   src/transports, src/native, src/virtual -> hci only
 * A folder imports only from folders to its right.
 */
import t from 'tap'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')

function layerOf(rel: string): string {
  if (/^src\/(transports|native|virtual)\//.test(rel)) return 'src-edge'
  return rel.split('/')[0]!
}

const ALLOWED: Record<string, string[]> = {
  hci: ['hci'],
  att: ['hci', 'att'],
  gap: ['hci', 'att', 'gap'],
  src: ['hci', 'att', 'gap', 'src', 'src-edge'],
  'src-edge': ['hci', 'src-edge'],
}

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) yield* files(p)
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) yield p
  }
}

t.test('no import points up the layer stack', async (t) => {
  const bad: string[] = []
  let checked = 0
  for (const top of ['hci', 'att', 'gap', 'src']) {
    let exists = true
    try {
      statSync(join(ROOT, top))
    } catch {
      exists = false
    }
    if (!exists) continue
    for (const file of files(join(ROOT, top))) {
      const rel = relative(ROOT, file)
      const from = layerOf(rel)
      const text = readFileSync(file, 'utf8')
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
        checked++
        const target = relative(ROOT, resolve(dirname(file), m[1]!))
        const to = layerOf(target)
        if (!ALLOWED[from]?.includes(to)) bad.push(`${rel} imports ${target} (${from} -> ${to})`)
      }
    }
  }
  t.ok(checked > 0, 'imports were found and checked')
  t.same(bad, [], 'imports follow the layer rule')
})

t.test('the check itself catches an upward import', async (t) => {
  t.equal(layerOf('hci/host.ts'), 'hci')
  t.equal(layerOf('src/transports/uart.ts'), 'src-edge')
  t.notOk(ALLOWED['hci']!.includes(layerOf('att/pdu.ts')))
  t.notOk(ALLOWED['src-edge']!.includes(layerOf('gap/ad.ts')))
})
