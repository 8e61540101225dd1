/**
 * Output that goes away (issue 13 item 1; src/cli/output.ts): a reader that quits early ends
 * the command quietly with exit 0, a stdout that cannot be written gives one line and exit 1,
 * never an uncaught 'error' event with a stack. The real program in a child process under bash
 * (`| head -1`, `> /dev/full`), and every command in-process against a stream that fails the
 * way a closed pipe or a full disk does.
 */
import t from 'tap'
import { Writable } from 'node:stream'
import { PassThrough } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { main } from '../../src/cli/main.ts'
import { all, hcikit } from './child.ts'
import { HRM, SENSOR } from './run.ts'

const FIXTURE = fileURLToPath(new URL('../../fixtures/bringup.btsnoop', import.meta.url))
const STACK = /\n\s+at |node:internal|Unhandled 'error'|Error: write/

t.test('the real program: a reader that quits, a full device', async (t) => {
  const [info, scan, pcap, full, decodeFull] = await all([
    () => hcikit(['info'], '| head -1'),
    () => hcikit(['scan', '--json', '--duplicates'], '| head -1'),
    // Wireshark closed: the capture on stdout loses its reader.
    () => hcikit(['--pcap', '-', 'scan', '--duplicates'], '| head -c 200 | od -An -tx1 -N4'),
    () => hcikit(['info'], '> /dev/full'),
    () => hcikit(['decode', FIXTURE], '> /dev/full'),
  ])
  t.equal(info.code, 0, `info | head -1 exits 0: ${info.stderr}`)
  t.equal(info.stdout, 'transport      virtual\n')
  t.equal(info.stderr, '', 'nothing on stderr')
  t.equal(scan.code, 0, `scan --json | head -1 exits 0: ${scan.stderr}`)
  t.equal(scan.stdout.split('\n').filter(Boolean).length, 1)
  t.match(JSON.parse(scan.stdout), { address: /^11:22:33:44:55:0[12]$/ })
  t.equal(scan.stderr, '')
  t.equal(pcap.code, 0, `--pcap - scan | (reader quits) exits 0: ${pcap.stderr}`)
  t.equal(pcap.stdout.trim(), 'd4 c3 b2 a1', 'the reader got a pcap')
  t.notMatch(pcap.stderr, STACK)
  t.notMatch(pcap.stderr, /no devices seen/, 'no advice when the reader left')
  for (const [name, r] of [
    ['info > /dev/full', full],
    ['decode > /dev/full', decodeFull],
  ] as const) {
    t.equal(r.code, 1, `${name} exits 1`)
    const lines = r.stderr.split('\n').filter(Boolean)
    t.match(lines[0], /^hcikit: cannot write the output: no space left on device/, `${name}: one line`)
    t.match(lines[1], /^ {2}hint: /)
    t.equal(lines.length, 2, `${name}: the line and its hint, nothing else`)
    t.notMatch(r.stderr, STACK)
  }
})

/** A reader that takes `budget` bytes, then fails every write with `code` (as a closed pipe or a full disk does). */
class FailingReader extends Writable {
  text = ''
  constructor(
    private budget: number,
    private readonly code: string,
  ) {
    super()
  }
  override _write(chunk: Buffer, _e: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (this.budget <= 0) return cb(Object.assign(new Error(`write ${this.code}`), { code: this.code }))
    this.budget -= chunk.length
    this.text += chunk.toString()
    cb()
  }
}

async function runWith(args: string[], stdout: Writable): Promise<{ code: number; stderr: string; ms: number }> {
  const err = new PassThrough()
  let stderr = ''
  err.on('data', (d: Buffer) => (stderr += d.toString()))
  const started = Date.now()
  const code = await main(args, { stdout, stderr: err, env: {} })
  return { code, stderr, ms: Date.now() - started }
}

const COMMANDS: [string, string[]][] = [
  ['info', ['info']],
  ['info --json', ['info', '--json']],
  ['scan --json', ['scan', '--json', '--duplicates']],
  ['scan (plain)', ['scan', '--duplicates']],
  ['gatt', ['gatt', HRM]],
  ['gatt --json', ['gatt', SENSOR, '--json']],
  ['read', ['read', SENSOR, '2a19']],
  ['notify', ['notify', HRM, '2a37']],
  ['notify --json', ['notify', HRM, '2a37', '--json']],
  ['demo', ['demo']],
  ['decode', ['decode', FIXTURE]],
  ['decode --json', ['decode', FIXTURE, '--json']],
  ['help', ['help']],
]

t.test('the real program: gatt, notify and demo piped to a reader that quits', async (t) => {
  const runs = await all([
    () => hcikit(['gatt', HRM], '| head -1'),
    () => hcikit(['notify', HRM, '2a37'], '| head -1'),
    () => hcikit(['demo'], '| head -1'),
  ])
  for (const [name, r] of [
    ['gatt', runs[0]!],
    ['notify', runs[1]!],
    ['demo', runs[2]!],
  ] as const) {
    t.equal(r.code, 0, `${name} | head -1 exits 0: ${r.stderr}`)
    t.equal(r.stdout.split('\n').filter(Boolean).length, 1, `${name}: the reader got its line`)
    t.notMatch(r.stderr, STACK, `${name}: no stack`)
    t.notMatch(r.stderr, /^hcikit: /m, `${name}: no error line`)
  }
})

t.test('every command: the reader quits after the first bytes -> exit 0, quietly', async (t) => {
  for (const [name, args] of COMMANDS) {
    const r = await runWith(args, new FailingReader(1, 'EPIPE'))
    t.equal(r.code, 0, `${name}: exit 0 (${r.stderr})`)
    t.notMatch(r.stderr, STACK, `${name}: no stack`)
    t.notMatch(r.stderr, /^hcikit: /m, `${name}: no error line`)
  }
})

t.test('every command: the disk fills after the first bytes -> one line, exit 1', async (t) => {
  for (const [name, args] of COMMANDS) {
    const r = await runWith(args, new FailingReader(1, 'ENOSPC'))
    t.equal(r.code, 1, `${name}: exit 1`)
    const lines = r.stderr.split('\n').filter(Boolean)
    t.match(lines.at(-2), /^hcikit: cannot write the output: .*ENOSPC/, `${name}: says why`)
    t.notMatch(r.stderr, STACK, `${name}: no stack`)
  }
})
