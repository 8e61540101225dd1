/**
 * Capture paths that cannot be written (issue 13 item 2; src/snoop-capture.ts, src/cli/captures.ts):
 * a missing directory or a full device fails before the command starts, in one line; a capture
 * that fails later (a file-size limit, a reader that quits) stops once, is reported once, counts
 * what it did not record, and the run goes on. In the library, open() rejects with CaptureError
 * and the stack stays usable. Several adapters in one process get one capture file each and
 * prefixed log lines (issue 12).
 */
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, openSync, closeSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { Reset } from '../../hci/commands.ts'
import { CaptureError } from '../../hci/errors.ts'
import { createVirtualLink, open, startLogging, startSnoop } from '../../src/index.ts'
import { hostCapturePath } from '../../src/snoop-capture.ts'
import { openCapture } from '../../src/capture-file.ts'
import { Script, bringUp } from '../helpers/hci-script.ts'
import { all, hcikit } from './child.ts'
import { errorLines, run } from './run.ts'

const FIXTURE = fileURLToPath(new URL('../../fixtures/bringup.btsnoop', import.meta.url))
const STACK = /\n\s+at |node:internal|Unhandled 'error'/
const dir = mkdtempSync(join(tmpdir(), 'hcikit-captures-'))

t.test('the real program: a capture path that cannot be written is one line, exit 1', async (t) => {
  const limited = join(dir, 'limited.btsnoop')
  const [missing, full, env, later] = await all([
    () => hcikit(['--snoop', '/nonexistent/x.btsnoop', 'info']),
    () => hcikit(['--snoop', '/dev/full', 'info']),
    () => hcikit(['decode', FIXTURE], '', { env: { HCIKIT_SNOOP: '/nonexistent/x' } }),
    // The file system refuses more than 2 KiB in the middle of a scan, as a full disk would: with
    // SIGXFSZ ignored, a write past `ulimit -f` fails with EFBIG instead of killing the process.
    () =>
      hcikit(['--snoop', limited, 'scan', '--json', '--duplicates', '--timeout', '2'], '', {
        pre: "ulimit -f 2; trap '' XFSZ;",
      }),
  ])
  for (const [name, r, re] of [
    [
      '--snoop /nonexistent/x.btsnoop',
      missing,
      /^hcikit: cannot create capture \/nonexistent\/x.btsnoop: no such file/,
    ],
    ['--snoop /dev/full', full, /^hcikit: cannot write capture \/dev\/full: no space left on device/],
    ['HCIKIT_SNOOP=/nonexistent/x decode', env, /^hcikit: cannot create capture \/nonexistent\/x: no such file/],
  ] as const) {
    t.equal(r.code, 1, `${name}: exit 1`)
    const e = errorLines(r.stderr)
    t.match(e.message, re, `${name}: says what and where`)
    t.ok(e.hint, `${name}: with a hint`)
    t.same(e.rest, [], `${name}: nothing else`)
    t.equal(r.stdout, '', `${name}: the command did not start`)
  }
  t.equal(later.code, 1, `a capture that failed later makes the exit code 1: ${later.stderr}`)
  t.equal(later.stderr.match(/cannot write capture/g)?.length, 1, 'reported once')
  t.match(later.stderr, /hcikit: cannot write capture .*limited.btsnoop: file too large/)
  t.notMatch(later.stderr, STACK)
  t.ok(later.stdout.split('\n').filter(Boolean).length > 10, 'the scan went on printing after the capture stopped')
  const size = readFileSync(limited).length
  t.ok(size > 0 && size <= 2048, `the capture holds what fit (${size} bytes)`)
  let records = 0
  for await (const rec of openCapture(limited)) if (rec.error === undefined) records++
  t.ok(records > 5, `its records read back (${records})`)
})

t.test('--pcap to a missing directory or a full device: one line, exit 1', async (t) => {
  for (const path of ['/nonexistent/x.pcap', '/dev/full']) {
    const r = await run(['--pcap', path, 'info'])
    t.equal(r.code, 1)
    t.match(errorLines(r.stderr).message, `capture ${path}`)
    t.same(errorLines(r.stderr).rest, [])
    t.equal(r.stdout, '')
  }
})

t.test(
  'library: open() rejects with CaptureError for an HCIKIT_SNOOP it cannot write; the stack stays usable',
  async (t) => {
    const err = await open({ env: { HCIKIT_SNOOP: '/nonexistent/d/x' } }).then(
      () => undefined,
      (e: unknown) => e,
    )
    t.type(err, CaptureError)
    t.match(err, {
      code: 'CAPTURE',
      protocol: 'capture',
      message: /\/nonexistent\/d\/x/,
      hint: /directory does not exist/,
    })
    // Nothing half-started: the next open() with a good path records, and one without records nothing.
    const good = join(dir, 'after.btsnoop')
    const a = await open({ env: { HCIKIT_SNOOP: good } })
    await a.close()
    t.ok(readFileSync(good).length > 16, 'the next capture has packets')
    const b = await open({ env: {} })
    await b.close()
    t.pass('open() without HCIKIT_SNOOP still works')
  },
)

t.test('library: a capture whose reader quits stops once, counts the rest, and the host goes on', async (t) => {
  if (spawnSync('mkfifo', [join(dir, 'fifo')]).status !== 0) return t.plan(0, 'mkfifo not available')
  const fifo = join(dir, 'fifo')
  // The reader takes the header and a few records, then quits; later writes fail with EPIPE.
  const reader = spawn('head', ['-c', '60', fifo], { stdio: ['ignore', 'ignore', 'ignore'] })
  const readerDone = new Promise((resolve) => reader.on('close', resolve))
  const errors: CaptureError[] = []
  // Opening a FIFO for writing waits for its reader: hold a descriptor open until head has it.
  closeSync(openSync(fifo, 'r+'))
  const snoop = startSnoop(fifo, 'btsnoop', { onError: (e) => errors.push(e) })
  try {
    const s = new Script()
    const init = s.host.init()
    await bringUp(s)
    await init
    await readerDone
    // The same host goes on: 50 more commands answered while its capture has no reader.
    for (let i = 0; i < 50; i++) {
      const sent = s.host.send(Reset, {})
      await s.answer(Reset)
      await sent
    }
    t.pass('the host went on while the capture failed')
  } finally {
    await snoop.close()
  }
  t.equal(errors.length, 1, 'reported once')
  t.match(errors[0], { name: 'CaptureError', message: /cannot write capture .*fifo: broken pipe/ })
  t.ok(snoop.dropped > 0, `the packets not recorded are counted (${snoop.dropped})`)
  t.equal(snoop.error, errors[0])
})

t.test('several adapters in one process: one capture file each, log lines prefixed by adapter', async (t) => {
  const path = join(dir, 'two.btsnoop')
  const snoop = startSnoop(path)
  const out = new PassThrough()
  let log = ''
  out.on('data', (d: Buffer) => (log += d.toString()))
  const logging = startLogging(out)
  const link = createVirtualLink({ seed: 7 })
  const a = await open({ link, address: 'AA:00:00:00:00:01', name: 'left', env: {} })
  const b = await open({ link, address: 'AA:00:00:00:00:02', name: 'right', env: {} })
  await a.hci.send(Reset, {})
  await a.close()
  await b.close()
  await snoop.close()
  await logging.close()
  t.same(snoop.paths, [path, hostCapturePath(path, b.hci.id)])
  t.equal(snoop.error, undefined)
  const addresses = async (p: string): Promise<string[]> => {
    const found: string[] = []
    for await (const r of openCapture(p)) {
      // Command Complete (0x0e) for Read BD_ADDR (0x1009): status, then the address little-endian
      if (r.packetType === 4 && r.data[0] === 0x0e && r.data[3] === 0x09 && r.data[4] === 0x10) {
        found.push(Buffer.from(r.data.subarray(6, 12)).reverse().toString('hex'))
      }
    }
    return found
  }
  t.same(await addresses(path), ['aa0000000001'], 'the first file: the first adapter only')
  t.same(await addresses(snoop.paths[1]!), ['aa0000000002'], 'the second file: the second adapter only')
  t.match(log, /a second adapter \(#\d+ right\)/)
  t.match(
    log,
    new RegExp(
      `^\\[#${b.hci.id} right\\] #1 < OTHER hcikit: call #\\d+ open: controller bring-up: started\n` +
        `\\[#${b.hci.id} right\\] #2 < CMD Reset`,
      'm',
    ),
    'its lines are prefixed and numbered on their own (its call tag first, as in its capture)',
  )
  t.match(log, new RegExp(`^\\[#${a.hci.id} left\\] `, 'm'))
})
