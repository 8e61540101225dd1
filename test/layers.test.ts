/**
 * The layer rule of ARCHITECTURE.md, kept true by parsing every source file's imports:
 *   src/cli, src/devices -> src -> gap -> att -> hci
 *   src/transports, src/native, src/virtual -> hci only
 * A folder imports only from folders to its right. Imports are read with the TypeScript parser
 * (test/helpers/sources.ts): type-only imports, re-exports and dynamic imports count.
 */
import t from 'tap'
import { importsOf, sourceFiles } from './helpers/sources.ts'

function layerOf(rel: string): string {
  if (/^src\/(transports|native|virtual)\//.test(rel)) return 'src-edge'
  if (/^src\/(cli|devices)\//.test(rel)) return 'src-app'
  return rel.split('/')[0]!
}

const ALLOWED: Record<string, string[]> = {
  hci: ['hci'],
  att: ['hci', 'att'],
  gap: ['hci', 'att', 'gap'],
  src: ['hci', 'att', 'gap', 'src', 'src-edge'],
  'src-app': ['hci', 'att', 'gap', 'src', 'src-edge', 'src-app'],
  'src-edge': ['hci', 'src-edge'],
}

t.test('no import points up the layer stack', async (t) => {
  const bad: string[] = []
  let checked = 0
  for (const file of sourceFiles()) {
    const from = layerOf(file.rel)
    for (const i of importsOf(file)) {
      checked++
      const to = layerOf(i.target)
      if (!ALLOWED[from]?.includes(to)) bad.push(`${file.rel}:${i.line} imports ${i.target} (${from} -> ${to})`)
    }
  }
  t.ok(checked > 0, 'imports were found and checked')
  t.same(bad, [], 'imports follow the layer rule (type-only imports and re-exports included)')
})

t.test('the check itself catches an upward import', async (t) => {
  t.equal(layerOf('hci/host.ts'), 'hci')
  t.equal(layerOf('src/transports/uart.ts'), 'src-edge')
  t.notOk(ALLOWED['hci']!.includes(layerOf('att/pdu.ts')))
  t.notOk(ALLOWED['src-edge']!.includes(layerOf('gap/ad.ts')))
  t.equal(layerOf('src/cli/scan.ts'), 'src-app')
  t.notOk(ALLOWED['src']!.includes(layerOf('src/cli/scan.ts')), 'the public API does not import the CLI')
})
