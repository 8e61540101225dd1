/**
 * `hcikit cache list|clear` and the GATT cache the CLI keeps between runs under HCIKIT_HOME, on the
 * virtual transport against the virtual heart-rate monitor: a run stores what it discovered, the
 * next run reuses it while the Database Hash matches (the entry is not written again), a stored
 * hash that no longer matches makes the run discover and store again, and clear forgets.
 * The files on disk are the oracle.
 */
import t from 'tap'
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HRM, SENSOR, run } from './run.ts'

function home(): { env: NodeJS.ProcessEnv; dir: string } {
  const h = mkdtempSync(join(tmpdir(), 'hcikit-cache-cli-'))
  return { env: { HCIKIT_HOME: h }, dir: join(h, 'gatt-cache') }
}

const entry = (dir: string, name: string): { savedAt: number; database: { hash?: string } } =>
  JSON.parse(readFileSync(join(dir, name), 'utf8'))

t.test('runs share the cache; list shows it; a changed hash is discovered again', async (t) => {
  const { env, dir } = home()
  const empty = await run(['cache', 'list'], { env })
  t.equal(empty.code, 0)
  t.same(empty.lines, [`no cached GATT databases in ${dir}`])

  const first = await run(['gatt', HRM, '--json'], { env })
  t.equal(first.code, 0, first.stderr)
  const files = readdirSync(dir)
  t.equal(files.length, 1, 'one file for the heart-rate monitor')
  const stored = entry(dir, files[0]!)
  t.match(stored.database.hash, /^[0-9a-f]{32}$/)

  const list = await run(['cache', 'list'], { env })
  t.equal(list.lines.length, 1)
  t.match(list.lines[0], new RegExp(`^${HRM}  public  4 services  hash ${stored.database.hash}  stored \\d{4}-`))
  const json = JSON.parse((await run(['cache', 'list', '--json'], { env })).stdout) as { peer: string }[]
  t.match(json, [{ peer: `${HRM}/public`, address: HRM, addressType: 'public', services: 4 }])

  const second = await run(['gatt', HRM, '--json'], { env })
  t.equal(second.stdout, first.stdout, 'the same tree')
  t.equal(entry(dir, files[0]!).savedAt, stored.savedAt, 'the cached database was used, not stored again')

  const tampered = { ...stored, database: { ...stored.database, hash: '00'.repeat(16) } }
  writeFileSync(join(dir, files[0]!), JSON.stringify(tampered))
  const third = await run(['read', HRM, '2a38'], { env })
  t.equal(third.code, 0, third.stderr)
  const after = entry(dir, files[0]!)
  t.equal(after.database.hash, stored.database.hash, 'discovered and stored again with the real hash')
  t.ok(after.savedAt >= stored.savedAt && after.savedAt <= Date.now(), 'stored at wall-clock time')

  const noCache = await run(['gatt', HRM, '--no-cache'], { env })
  t.equal(noCache.code, 0)
  t.equal(entry(dir, files[0]!).savedAt, after.savedAt, '--no-cache neither reads nor writes it')
})

t.test('clear ADDRESS, clear --all, usage errors', async (t) => {
  const { env, dir } = home()
  t.equal((await run(['gatt', HRM], { env })).code, 0)
  t.equal((await run(['gatt', SENSOR], { env })).code, 0)
  t.equal(readdirSync(dir).length, 2)

  const one = await run(['cache', 'clear', HRM.toLowerCase()], { env })
  t.equal(one.code, 0)
  t.same(one.lines, [`removed the cached GATT database of ${HRM} (public)`])
  t.equal(readdirSync(dir).length, 1)
  t.same((await run(['cache', 'clear', HRM], { env })).lines, [`nothing cached for ${HRM}`])
  t.same((await run(['cache', 'clear', SENSOR, '--address-type', 'random'], { env })).lines, [
    `nothing cached for ${SENSOR} (random)`,
  ])

  writeFileSync(join(dir, 'C0_3a00_3a00_3a00_3a00_3a01_2frandom.json'), '{broken')
  t.match((await run(['cache', 'list'], { env })).lines, [
    /^11:22/,
    /^C0:00:00:00:00:01 {2}random {2}unusable: not JSON/,
  ])
  const all = await run(['cache', 'clear', '--all'], { env })
  t.same(all.lines, [`removed 2 cached GATT databases from ${dir}`])
  t.same(readdirSync(dir), [])

  for (const args of [
    ['cache'],
    ['cache', 'bogus'],
    ['cache', 'clear'],
    ['cache', 'clear', 'nope'],
    ['cache', 'clear', '--all', HRM],
  ]) {
    const r = await run(args, { env })
    t.equal(r.code, 2, `${args.join(' ')}: usage error`)
  }
  t.match((await run(['cache', '--help'], { env })).stdout, /HCIKIT_HOME/)
})
