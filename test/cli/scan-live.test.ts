/**
 * What `hcikit scan` prints about devices that are hostile or many (issue 13 items 8 and 12):
 * names with terminal escapes and CR/LF are escaped in the plain lines and the live table (JSON
 * keeps them, escaped by JSON), and the live table draws at a bounded rate in a bounded frame,
 * sorted, scrolling, with devices ageing out.
 *
 * The advertisers come from a capture: our own library scanning a hostile advertiser on the
 * virtual link records it (HCIKIT_SNOOP), copies of its report with other addresses are added,
 * and the CLI plays it back with `--transport replay:FILE` (src/transports/replay.ts).
 */
import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BtsnoopWriter, type CaptureRecord } from '../../hci/snoop.ts'
import { openCapture } from '../../src/capture-file.ts'
import { createVirtualLink, open, type Advertisement } from '../../src/index.ts'
import { formatRow } from '../../src/cli/scan-table.ts'
import { LiveView, type ViewTimers } from '../../src/cli/scan-view.ts'
import { run } from './run.ts'

const HOSTILE = 'ti\x1b]0;pwned\x07\x1b[2J\r\nX'
const dir = mkdtempSync(join(tmpdir(), 'hcikit-scan-live-'))

/** Our central scanning a hostile advertiser, recorded; then `copies` more advertisers spliced in. */
async function hostileCapture(copies: number): Promise<string> {
  const recorded = join(dir, `recorded-${copies}.btsnoop`)
  const link = createVirtualLink({ seed: 3 })
  const central = await open({ link, address: 'C0:00:00:00:00:02', env: { HCIKIT_SNOOP: recorded } })
  const peripheral = await open({ link, address: 'C0:00:00:00:00:01', env: {}, diagnostics: false })
  await peripheral.advertise({ name: HOSTILE, connectable: false })
  for await (const _ of central.scan({ timeout: 5000 })) break
  await central.close()
  await peripheral.close()
  const records: CaptureRecord[] = []
  for await (const r of openCapture(recorded)) records.push(r)
  // LE Extended Advertising Report (Core v5.4 Vol 4 Part E 7.7.65.13): 3e len 0d num, event type(2), address type, address(6)
  const at = records.findIndex((r) => r.packetType === 4 && r.data[0] === 0x3e && r.data[2] === 0x0d)
  const report = records[at]!
  const extra = Array.from({ length: copies }, (_, i) => {
    const data = Uint8Array.from(report.data)
    data[7] = i & 0xff
    data[8] = (i >> 8) & 0xff
    data[12] = 0xd0 // D0:00:00:00:hi:lo, apart from the recorded C0:... advertiser
    data[17] = 0x100 - 40 - (i % 50) // RSSI (after PHYs, SID, TX power): -40 .. -89 dBm
    return { ...report, data }
  })
  const chunks: Uint8Array[] = []
  const w = new BtsnoopWriter({ write: (c: Uint8Array) => void chunks.push(c) })
  for (const r of [...records.slice(0, at + 1), ...extra, ...records.slice(at + 1)])
    w.write({ timestampUs: r.timestampUs, direction: r.direction!, packetType: r.packetType!, data: r.data })
  const path = join(dir, `hostile-${copies}.btsnoop`)
  writeFileSync(path, Buffer.concat(chunks))
  return path
}

// Our own escapes in the live table: cursor up, clear line, clear below.
const OURS = /\x1b\[\d+A|\x1b\[2K|\x1b\[J/g
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/

t.test('a name with terminal escapes and CR/LF is shown escaped, never raw', async (t) => {
  const path = await hostileCapture(0)
  const plain = await run(['--transport', `replay:${path}`, 'scan', '--timeout', '1'])
  t.equal(plain.code, 0, plain.stderr)
  t.equal(plain.lines.length, 2, 'the header and one row: CR/LF forged no line')
  t.match(plain.lines[1], /^ti\\e\]0;pwned\\x07\\e\[…/, 'escaped (and cut to the column)')
  t.notMatch(plain.stdout, CONTROL)
  const live = await run(['--transport', `replay:${path}`, 'scan', '--timeout', '1'], { tty: true })
  t.equal(live.code, 0, live.stderr)
  t.notMatch(live.stdout.replace(OURS, ''), CONTROL, 'only our own cursor movements in the live table')
  const json = await run(['--transport', `replay:${path}`, 'scan', '--timeout', '1', '--json'])
  t.equal((JSON.parse(json.lines[0]!) as { name: string }).name, HOSTILE, 'JSON keeps the name, escaped by JSON')
  t.notMatch(json.stdout, CONTROL)
})

t.test('500 advertisers at once: a few bounded frames, not a redraw per advertisement', async (t) => {
  const path = await hostileCapture(500)
  const started = Date.now()
  const live = await run(['--transport', `replay:${path}`, 'scan', '--timeout', '1'], { tty: true })
  const most = Math.ceil((Date.now() - started) / 250) + 1
  t.equal(live.code, 0, live.stderr)
  const frames = live.stdout.split('\x1b[J').length - 1
  t.ok(frames >= 1 && frames <= most, `frames at most 4 a second (+1): ${frames} of at most ${most}`)
  t.ok(live.stdout.length < frames * 24 * 300, `bounded output: ${live.stdout.length} bytes`)
  const last = live.stdout.slice(live.stdout.lastIndexOf('\x1b[J', live.stdout.length - 4))
  t.match(last, /501 devices, showing 1-21 \(↑\/↓ to scroll\)/)
  const rows = last.split('\n').filter((l) => /[CD]0:00:00:00:[0-9A-F]{2}:[0-9A-F]{2} pub/.test(l))
  t.equal(rows.length, 21, 'a screenful of rows (24 lines: header, 21 rows, footer, the cursor line)')
  const rssi = rows.map((l) => Number(/ (-\d+) /.exec(l)?.[1]))
  t.same(
    rssi,
    [...rssi].sort((a, b) => b - a),
    'strongest first',
  )
  t.ok(
    last.split('\n').every((l) => l.replace(OURS, '').length <= 80),
    'every line fits 80 columns',
  )
})

/** Timers driven by hand: `tick(ms)` runs what is due. */
function handTimers(): ViewTimers & { tick(ms: number): void; now: number } {
  let fns: { fn: () => void; every: number; next: number }[] = []
  const timers = {
    now: 0,
    setInterval(fn: () => void, every: number) {
      const h = { fn, every, next: timers.now + every }
      fns.push(h)
      return h
    },
    clearInterval(h: unknown) {
      fns = fns.filter((x) => x !== h)
    },
    tick(ms: number) {
      const end = timers.now + ms
      for (;;) {
        const due = fns.filter((x) => x.next <= end).sort((a, b) => a.next - b.next)[0]
        if (due === undefined) break
        timers.now = due.next
        due.next += due.every
        due.fn()
      }
      timers.now = end
    },
  }
  return timers
}

function ad(i: number, now: number, rssi = -40 - (i % 50)): Advertisement {
  const address =
    `AA:BB:CC:${((i >> 16) & 0xff).toString(16).padStart(2, '0')}:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`.toUpperCase()
  return {
    address,
    addressType: 'random',
    rssi,
    name: `dev ${i}`,
    ad: { serviceUuids: [] },
    timestamp: now,
  } as unknown as Advertisement
}

t.test('10,000 devices at 1,000 advertisements/s for 12 s: at most 4 frames a second, each a screenful', async (t) => {
  const timers = handTimers()
  let bytes = 0
  const screen = { rows: 24, columns: 80, write: (s: string) => (bytes += Buffer.byteLength(s)) }
  const view = new LiveView(screen, { timers, now: () => timers.now })
  view.start()
  for (let ms = 0; ms < 12_000; ms++) {
    view.update(ad(ms % 10_000, timers.now))
    timers.tick(1)
  }
  view.stop()
  t.ok(view.stats.frames <= 12 * 4 + 1, `frames: ${view.stats.frames}`)
  t.ok(bytes <= view.stats.frames * 24 * (80 * 3 + 16), `bytes: ${bytes} (the issue saw 679 MB)`)
  t.equal(view.table.size, 10_000)
})

t.test('devices not heard for the age limit leave the table; the table has a size bound', async (t) => {
  const timers = handTimers()
  const view = new LiveView(
    { rows: 24, columns: 80, write: () => undefined },
    { timers, now: () => timers.now, maxAgeMs: 10_000, maxDevices: 100 },
  )
  view.start()
  for (let i = 0; i < 50; i++) view.update(ad(i, 0))
  timers.tick(5_000)
  for (let i = 0; i < 10; i++) view.update(ad(i, timers.now))
  timers.tick(5_250) // ageing is checked at each frame: the first one after 10 s
  t.equal(view.table.size, 10, 'the 40 silent for more than 10 s are gone')
  t.equal(view.table.forgotten, 40)
  for (let i = 0; i < 500; i++) view.update(ad(1000 + i, timers.now))
  t.equal(view.table.size, 100, 'never more than maxDevices')
  view.stop()
})

t.test('keys scroll the window; the footer says where', async (t) => {
  const timers = handTimers()
  const frames: string[] = []
  const view = new LiveView(
    { rows: 12, columns: 120, write: (s: string) => frames.push(s) },
    { timers, now: () => timers.now },
  )
  view.start()
  for (let i = 0; i < 40; i++) view.update(ad(i, 0, -30 - i))
  timers.tick(250)
  t.match(frames.at(-1), /40 devices, showing 1-9/)
  t.ok(view.key('\x1b[B'), 'down')
  timers.tick(250)
  t.match(frames.at(-1), /showing 2-10/)
  view.key('\x1b[6~')
  timers.tick(250)
  t.match(frames.at(-1), /showing 11-19/, 'page down: a page is the 9 rows shown')
  view.key('\x1b[F')
  timers.tick(250)
  t.match(frames.at(-1), /showing 32-40/, 'end')
  view.key('\x1b[H')
  timers.tick(250)
  t.match(frames.at(-1), /showing 1-9/, 'home')
  t.notOk(view.key('x'), 'other keys are not ours')
  view.stop()
})

t.test('formatRow escapes what a name carries', async (t) => {
  const row = formatRow({ ...ad(1, 0), name: 'a\x1b[31mred\u202e' } as Advertisement, 0)
  t.match(row, /^a\\e\[31mred\\u202e/)
})
