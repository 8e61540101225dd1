/**
 * `hcikit demo` (the README's main job): exit 0, discovery, reads, a write, live notifications
 * from both virtual devices, disconnection; with --snoop, a btsnoop capture of the session.
 */
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HRM, SENSOR, run } from './run.ts'

t.test('the narrative: scan, connect, discover, read, write, notify, disconnect', async (t) => {
  const r = await run(['demo', '--count', '2'])
  t.equal(r.code, 0, r.stderr)
  const out = r.stdout
  t.match(out, `found "hcikit HRM" at ${HRM}`)
  t.match(out, `found "hcikit Sensor" at ${SENSOR}`)
  t.match(out, /connected, ATT MTU 517, 4 services/)
  t.match(out, 'Body Sensor Location = 1 (Chest)')
  t.match(out, 'Battery Level = 100 %')
  t.match(out, 'read back: "written by the demo"')
  t.equal(r.lines.filter((l) => /hcikit HRM: heart rate \d+ bpm/.test(l)).length, 2, 'two live heart rates')
  t.equal(r.lines.filter((l) => /hcikit Sensor: counter \d+/.test(l)).length, 2, 'two live counter values')
  t.equal(r.lines.filter((l) => /disconnected: /.test(l)).length, 2)
})

t.test('--snoop FILE records the session as btsnoop', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hcikit-demo-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'demo.btsnoop')
  const r = await run(['--snoop', file, 'demo', '--count', '1'])
  t.equal(r.code, 0, r.stderr)
  const b = readFileSync(file)
  t.equal(b.subarray(0, 8).toString('latin1'), 'btsnoop\0', 'btsnoop magic')
  t.equal(b.readUInt32BE(12), 1002, 'datalink 1002 (H4)')
  t.ok(b.length > 16 + 24 * 50, `many records (${b.length} bytes)`)
})
