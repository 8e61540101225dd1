/**
 * The command line's contract (src/cli/main.ts): exit codes 0 success, 1 failure, 2 usage; errors
 * in one line with a hint; a stack trace only with --log; --transport checked before anything
 * starts; HCIKIT_TRANSPORT as the default.
 */
import t from 'tap'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { errorLines, run } from './run.ts'

t.test('help and version exit 0 and list the device commands', async (t) => {
  const help = await run(['help'])
  t.equal(help.code, 0)
  for (const c of [
    'demo',
    'scan',
    'gatt ADDRESS',
    'read ADDRESS CHAR',
    'write ADDRESS CHAR HEX',
    'notify ADDRESS CHAR',
    'info',
    'decode FILE',
    'link SPEC',
  ]) {
    t.match(help.stdout, c, `help mentions ${c}`)
  }
  t.match(help.stdout, '--transport SPEC')
  const v = await run(['--version'])
  t.equal(v.code, 0)
  t.match(v.stdout, /^hcikit \d+\.\d+\.\d+/)
  for (const c of ['scan', 'gatt', 'read', 'write', 'notify', 'info', 'demo']) {
    const r = await run([c, '--help'])
    t.equal(r.code, 0, `${c} --help exits 0`)
    t.match(r.stdout, `usage: hcikit ${c}`)
  }
})

t.test('usage errors exit 2', async (t) => {
  const cases: [string[], RegExp][] = [
    [[], /no command given/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['scan', '--timeout', 'soon'], /--timeout soon/],
    [['scan', '--service', 'xyz'], /--service xyz/],
    [['scan', '--bogus'], /bogus/],
    [['gatt'], /no ADDRESS/],
    [['gatt', 'not-an-address'], /not a device address/],
    [['gatt', '11:22:33:44:55:01', '--address-type', 'static'], /--address-type static/],
    [['read', '11:22:33:44:55:01'], /needs ADDRESS and CHAR/],
    [['read', '11:22:33:44:55:01', 'zz'], /CHAR 'zz'/],
    [['write', '11:22:33:44:55:01', '2a39', '0g'], /not hex/],
    [['notify', '11:22:33:44:55:01', '2a37', '--count', '0'], /--count 0/],
    [['--transport', 'bluetooth', 'info'], /transport 'bluetooth'/],
  ]
  for (const [args, re] of cases) {
    const r = await run(args)
    t.equal(r.code, 2, `${args.join(' ') || '(nothing)'} exits 2`)
    t.match(errorLines(r.stderr).message, re)
    t.match(errorLines(r.stderr).message, /^hcikit: /)
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace')
  }
})

t.test('a bad transport spec is one line with a hint naming what to write', async (t) => {
  const r = await run(['--transport', '/dev/ttyUSB0', 'info'])
  t.equal(r.code, 2)
  const e = errorLines(r.stderr)
  t.match(e.message, "hcikit: transport '/dev/ttyUSB0'")
  t.match(e.hint, 'uart:/dev/ttyUSB0')
  t.same(e.rest, [])
})

t.test('HCIKIT_TRANSPORT is the default transport; --transport overrides it', async (t) => {
  const r = await run(['info'], { env: { HCIKIT_TRANSPORT: 'nonsense' } })
  t.equal(r.code, 2)
  t.match(r.stderr, "transport 'nonsense'")
  const ok = await run(['--transport', 'virtual', 'info', '--json'], { env: { HCIKIT_TRANSPORT: 'nonsense' } })
  t.equal(ok.code, 0, ok.stderr)
})

t.test('a failure exits 1 in one line with a hint; the stack only with --log', async (t) => {
  // A capture that is not there: the transport fails at open, with a hint.
  const missing = join(tmpdir(), `hcikit-no-such-${process.pid}.btsnoop`)
  const r = await run(['--transport', `replay:${missing}`, 'info'])
  t.equal(r.code, 1)
  const e = errorLines(r.stderr)
  t.match(e.message, `hcikit: replay:${missing}: cannot read`)
  t.ok(e.hint, 'has a hint')
  t.same(e.rest, [], 'nothing else')
  t.notMatch(r.stderr, /\n\s+at /)
  const logged = await run(['--log', '--transport', `replay:${missing}`, 'info'])
  t.equal(logged.code, 1)
  t.match(logged.stderr, /\n\s+at /, 'stack trace with --log')
})
