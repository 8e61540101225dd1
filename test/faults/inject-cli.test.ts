/**
 * `hcikit --faults FILE` (src/cli/main.ts): the plan's faults happen to the session's adapter and
 * are shown in the log; a plan file that is not a plan is a usage error naming the file and the
 * place (exit code 2).
 */
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from '../cli/run.ts'

const dir = mkdtempSync(join(tmpdir(), 'hcikit-faults-cli-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

t.test('a refused scan: the fault in the log, the typed error on the command line', async (t) => {
  const plan = join(dir, 'plan.json')
  writeFileSync(
    plan,
    JSON.stringify({ rules: [{ packet: 'cmd', opcode: '0x2042', action: 'status', status: '0x0c' }] }),
  )
  const r = await run(['--faults', plan, '--log', 'scan', '--timeout', '1'])
  t.equal(r.code, 1)
  t.match(r.stderr, /hcikit: fault \(rule 1\): answered with status 0x0c instead of sending tx CMD opcode 0x2042/)
  t.match(r.stderr, /hcikit: .*Command Disallowed/)
})

t.test('a plan that is not one: exit 2, the file and the place', async (t) => {
  const bad = join(dir, 'bad.json')
  writeFileSync(bad, JSON.stringify({ rules: [{ action: 'drop', every: -1 }] }))
  const r = await run(['--faults', bad, 'scan'])
  t.equal(r.code, 2)
  t.match(r.stderr, new RegExp(`hcikit: ${bad}: rules\\[0\\]\\.every: expected an integer`))
  const missing = await run(['--faults', join(dir, 'missing.json'), 'scan'])
  t.equal(missing.code, 2)
  t.match(missing.stderr, /cannot read .*missing\.json/)
})
