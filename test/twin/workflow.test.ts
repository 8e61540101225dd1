/**
 * The twin workflow of docs/TESTING.md, through the command line (src/cli/twin.ts, --device on
 * the virtual transport): record a session with a device once (`--snoop`), make a twin of it
 * (`hcikit twin`), then talk to the twin offline and get the same answers: `gatt --json` prints
 * the same database and values, `notify --json` the same notifications. The device is hcikit's
 * virtual heart-rate monitor; its recorded session is the only thing the twin learns from. Each
 * run has a GATT cache of its own (HCIKIT_HOME): a recording made from a cache would hold no
 * discovery (docs/TESTING.md: record with `gatt --no-cache`), and the twin is talked to as a
 * machine that never met the device would.
 */
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseTwin } from '../../src/twin/format.ts'
import { HRM, run } from '../cli/run.ts'

const dir = mkdtempSync(join(tmpdir(), 'hcikit-twin-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
let homes = 0
/** A run's own HCIKIT_HOME, so no run finds the GATT cache of another. */
const home = (): { env: NodeJS.ProcessEnv } => ({ env: { HCIKIT_HOME: join(dir, `home-${++homes}`) } })

t.test('record once, twin, test offline: gatt and notify answer as the device did', async (t) => {
  const session = join(dir, 'session.btsnoop')
  const twinFile = join(dir, 'hrm.twin.json')
  const recorded = await run(['--snoop', session, 'gatt', HRM, '--json', '--no-cache'], home())
  t.equal(recorded.code, 0, recorded.stderr)
  const notifyArgs = ['notify', HRM, '2a37', '--count', '2', '--json']
  const notified = await run(['--snoop', join(dir, 'notify.btsnoop'), ...notifyArgs], home())
  t.equal(notified.code, 0, notified.stderr)

  const made = await run(['twin', session, '--out', twinFile])
  t.equal(made.code, 0, made.stderr)
  t.match(made.stderr, /twin of 11:22:33:44:55:01 \(public\) "hcikit HRM"/)
  const twin = parseTwin(readFileSync(twinFile, 'utf8'))
  t.equal(twin.servicesComplete, true, 'gatt discovered everything')

  const offline = await run(['--device', twinFile, 'gatt', HRM, '--json'], home())
  t.equal(offline.code, 0, offline.stderr)
  t.same(JSON.parse(offline.stdout), JSON.parse(recorded.stdout), 'the same database and values, from the twin')

  const notifyTwin = join(dir, 'hrm-notify.twin.json')
  t.equal((await run(['twin', join(dir, 'notify.btsnoop'), '--out', notifyTwin])).code, 0)
  const replayed = await run(['--device', notifyTwin, ...notifyArgs], home())
  t.equal(replayed.code, 0, replayed.stderr)
  t.same(
    replayed.lines.map((l) => JSON.parse(l)),
    notified.lines.map((l) => JSON.parse(l)),
    'the same notifications',
  )
})

t.test('a twin file that is not one is refused with where and what', async (t) => {
  const bad = join(dir, 'bad.json')
  const { writeFileSync } = await import('node:fs')
  writeFileSync(bad, JSON.stringify({ format: 'hcikit-twin', version: 1, services: 'none' }))
  const r = await run(['--device', bad, 'scan', '--timeout', '1'])
  t.equal(r.code, 2)
  t.match(r.stderr, new RegExp(`hcikit: ${bad}: services: expected an array`))
  t.match(r.stderr, /hint: a twin file is made by `hcikit twin CAPTURE`/)
  const real = await run(['--transport', 'replay:/nonexistent', '--device', bad, 'scan'])
  t.equal(real.code, 2)
  t.match(real.stderr, /--device TWIN runs on the virtual transport/)
})
