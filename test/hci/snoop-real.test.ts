// Capture readers on the real traces, with tshark as the oracle: every file read to the end,
// every frame compared (count, packet type, direction, timestamp, lengths); the same traces
// converted by editcap to pcapng and nanosecond pcap read identically; random chunk boundaries
// change nothing.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { toHex } from '../../hci/wire.ts'
import { readCapture, type CaptureRecord } from '../../hci/snoop.ts'
import { openCapture } from '../../src/capture-file.ts'
import { realCatalog, realTest, realTrace, realTraces, shortName } from '../helpers/real.ts'
import { missing } from '../helpers/tools.ts'
import { tsharkText } from '../helpers/tshark.ts'

/** The corpus's file names (read when a test runs: the corpus may be absent, see real.ts). */
const traceNames = (): string[] => realTraces().map(shortName)
const TSHARK = { skip: missing('tshark') }
const EDITCAP = { skip: missing('editcap') }
const tmp = mkdtempSync(join(tmpdir(), 'hcikit-snoop-real-'))
t.teardown(() => rmSync(tmp, { recursive: true, force: true }))

const FIELDS = [
  'frame.number',
  'hci_h4.type',
  'hci_h4.direction',
  'frame.time_epoch',
  'frame.len',
  'frame.cap_len',
  'hci_mon.opcode',
  'hci_mon.adapter_id',
] as const

async function tshark(file: string): Promise<string[][]> {
  const out = await tsharkText(file, ['-n', '-T', 'fields', '-E', 'occurrence=f', ...FIELDS.flatMap((f) => ['-e', f])])
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'))
}

/**
 * How tshark 4.0 prints a time in microseconds: "1766484759.376322000". Before 1970 its btsnoop
 * reader keeps the seconds in 32 unsigned bits and the fraction negative, and prints that: the
 * file's -1051674.456214 s shows as "-4293915622.456214000". We keep the file's value; this
 * reproduces tshark's rendering of it, so the two can still be compared digit for digit.
 */
function tsharkEpoch(us: bigint): string {
  const frac = us % 1_000_000n
  const secs = us / 1_000_000n
  if (us >= 0n) return `${secs}.${String(frac).padStart(6, '0')}000`
  return `-${BigInt.asUintN(32, secs)}.${String(-frac).padStart(6, '0')}000`
}

// BlueZ monitor opcodes of the packet records (the rest carry theirs in `note`).
const MONITOR_OPCODE: Record<string, number> = {
  '1tx': 2,
  '4rx': 3,
  '2tx': 4,
  '2rx': 5,
  '3tx': 6,
  '3rx': 7,
  '5tx': 18,
  '5rx': 19,
}

async function collect(it: AsyncIterable<CaptureRecord>): Promise<CaptureRecord[]> {
  const out: CaptureRecord[] = []
  for await (const r of it) out.push(r)
  return out
}

function summary(r: CaptureRecord): unknown[] {
  return [
    r.index,
    r.timestampUs,
    r.direction,
    r.packetType,
    toHex(r.data),
    r.originalLength,
    r.note,
    r.error,
    r.adapter,
  ]
}

realTest('every real trace reads to the end and agrees with tshark frame by frame', TSHARK, async (t) => {
  const files = traceNames()
  const catalog = new Map(realCatalog().map((e) => [e.file, e.frames]))
  t.equal(files.length, catalog.size, 'every file in the catalog is there')
  for (const name of files) {
    const path = realTrace(name)
    const recs = await collect(openCapture(path))
    const frames = await tshark(path)
    t.equal(recs.length, catalog.get(name), `${name}: frame count from catalog.json`)
    t.equal(recs.length, frames.length, `${name}: frame count from tshark`)
    const bad: string[] = []
    for (const r of recs) {
      const [num, type, dir, epoch, len, capLen, monOpcode, monAdapter] = frames[r.index - 1] ?? []
      const say = (what: string, ours: unknown, theirs: unknown): void => {
        if (bad.length < 10) bad.push(`frame ${r.index} ${what}: ours ${String(ours)}, tshark ${String(theirs)}`)
      }
      if (Number(num) !== r.index) say('number', r.index, num)
      if (r.error !== undefined) say('error', r.error, '')
      if (epoch !== tsharkEpoch(r.timestampUs)) say('timestamp', r.timestampUs, epoch)
      if (monOpcode !== undefined && monOpcode !== '') {
        // BlueZ monitor: tshark shows the opcode and adapter; the monitor header is not in the frame.
        const ours = r.note?.opcode ?? MONITOR_OPCODE[`${r.packetType}${r.direction}`]
        if (ours !== Number(monOpcode)) say('monitor opcode', ours, monOpcode)
        if (r.adapter !== Number(monAdapter)) say('adapter', r.adapter, monAdapter)
        if (r.data.length !== Number(capLen)) say('captured length', r.data.length, capLen)
        if (r.originalLength !== Number(len)) say('original length', r.originalLength, len)
      } else {
        // H4: tshark's frame holds the type byte (and no pcap direction header).
        if (r.packetType !== Number(type)) say('packet type', r.packetType, type)
        const d = r.direction === 'tx' ? 0 : r.direction === 'rx' ? 1 : undefined
        if (d !== Number(dir)) say('direction', r.direction, dir)
        if (r.data.length !== Number(capLen) - 1) say('captured length', r.data.length + 1, capLen)
        if (r.originalLength !== Number(len) - 1) say('original length', r.originalLength + 1, len)
      }
    }
    t.same(bad, [], `${name}: ${recs.length} frames agree`)
    if (name.startsWith('mchwalisz__')) {
      // Its first timestamp, from the bytes 00dcdcbe3280cf6a minus 0x00dcddb30f2f8000: 12 days before 1970.
      t.equal(recs[0]!.timestampUs, -1051674456214n, `${name}: pre-1970 timestamp kept as the file says`)
    }
  }
})

realTest('editcap conversions to pcapng and nanosecond pcap read identically', EDITCAP, async (t) => {
  for (const name of traceNames()) {
    const path = realTrace(name)
    const original = (await collect(openCapture(path))).map(summary)
    // pcap and pcapng times are unsigned: a trace from before 1970 is not kept by editcap, so
    // only its other fields are compared, and only as pcapng.
    const negative = original.some((s) => (s[1] as bigint) < 0n)
    const targets: [string, string][] = [['pcapng', 'pcapng']]
    if (negative) for (const s of original) s[1] = 'time not comparable'
    else targets.push(['nsecpcap', 'pcap'])
    for (const [format, ext] of targets) {
      const out = join(tmp, `${name}.${format}.${ext}`)
      execFileSync('editcap', ['-F', format, path, out], { stdio: 'ignore' })
      const converted = (await collect(openCapture(out))).map(summary)
      if (negative) for (const s of converted) s[1] = 'time not comparable'
      t.equal(converted.length, original.length, `${name} as ${format}: count`)
      const firstDiff = converted.findIndex((c, i) => JSON.stringify(c, big) !== JSON.stringify(original[i], big))
      t.equal(
        firstDiff,
        -1,
        `${name} as ${format}: identical records` + (firstDiff >= 0 ? ` (first difference at ${firstDiff + 1})` : ''),
      )
      if (firstDiff >= 0) t.same(converted[firstDiff], original[firstDiff])
      rmSync(out)
    }
  }
})

function big(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? `${v}n` : v
}

/** A small seeded generator (mulberry32), so the chunk boundaries are the same on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

async function* randomChunks(bytes: Uint8Array, seed: number): AsyncGenerator<Uint8Array> {
  const next = random(seed)
  let o = 0
  while (o < bytes.length) {
    // Mostly small pieces (headers split everywhere), sometimes large ones (several records).
    const r = next()
    const n = r < 0.7 ? 1 + Math.floor(next() * 40) : r < 0.9 ? 1 : 1 + Math.floor(next() * 5000)
    yield bytes.slice(o, o + n)
    o += n
  }
}

async function* whole(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes
}

realTest('random chunk boundaries give the same records as one chunk', EDITCAP, async (t) => {
  const pcapng = join(tmp, 'chunks.pcapng')
  execFileSync('editcap', [
    '-F',
    'pcapng',
    realTrace('durnerj__PoGo-Plus-BLE__bt_log_plus_pair_2017_12_13.log'),
    pcapng,
  ])
  const samples = [
    realTrace('cnrd__yeelock__btsnoop_hci.log'), // btsnoop 1002
    realTrace('felixwatts__batteread__capture.btsnoop'), // btsnoop 2001
    realTrace('BeanCounterTop__ble-pcap-analyzer__hci.pcap'), // pcap
    realTrace('cheoljun99__bluetooth-pcap-test__bluetooth-infocar.pcap'), // pcap, nanoseconds
    pcapng,
  ]
  for (const path of samples) {
    const bytes = new Uint8Array(readFileSync(path))
    const expected = (await collect(readCapture(whole(bytes)))).map(summary)
    t.ok(expected.length > 5, `${path}: has records`)
    for (const seed of [1, 2, 3]) {
      const got = (await collect(readCapture(randomChunks(bytes, seed)))).map(summary)
      t.same(got, expected, `${path.split('/').pop()}, seed ${seed}`)
    }
    // A file cut short at a random place ends in one record with an error, whatever the chunks.
    const cut = bytes.subarray(0, Math.floor(bytes.length * 0.61))
    const a = (await collect(readCapture(whole(cut)))).map(summary)
    const b = (await collect(readCapture(randomChunks(cut, 9)))).map(summary)
    t.same(b, a, `${path.split('/').pop()} cut short, seed 9`)
  }
})
