/**
 * `hcikit decode` on captures with hostile content (issue 13 items 8 and 11): timestamps before
 * 1970 with fractions and years outside 0000-9999 (expected values are calendar facts written
 * out here, and V8's own ISO parser as a second opinion on random times), a pcapng whose
 * byte-order magic is damaged (named as such), and BlueZ monitor notes carrying terminal
 * escapes and CR/LF (one record stays one escaped line).
 */
import t from 'tap'
import fc from 'fast-check'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BtsnoopWriter } from '../../hci/snoop.ts'
import { timestamp } from '../../src/decoder.ts'
import { errorLines, run } from './run.ts'

const dir = mkdtempSync(join(tmpdir(), 'hcikit-decode-'))
const RESET = new Uint8Array([0x03, 0x0c, 0x00])

function btsnoop(name: string, times: bigint[]): string {
  const chunks: Uint8Array[] = []
  const w = new BtsnoopWriter({ write: (c: Uint8Array) => void chunks.push(c) })
  for (const timestampUs of times) w.write({ timestampUs, direction: 'tx', packetType: 1, data: RESET })
  const path = join(dir, name)
  writeFileSync(path, Buffer.concat(chunks))
  return path
}

t.test('timestamps: before 1970 with fractions, years outside 0000-9999', async (t) => {
  // [microseconds since 1970, the instant written out]
  const cases: [bigint, string][] = [
    [0n, '1970-01-01T00:00:00.000000Z'],
    [-1n, '1969-12-31T23:59:59.999999Z'],
    [-999_999n, '1969-12-31T23:59:59.000001Z'],
    [-1_000_000n, '1969-12-31T23:59:59.000000Z'],
    [-1_500_000n, '1969-12-31T23:59:58.500000Z'],
    [1_999_999n, '1970-01-01T00:00:01.999999Z'],
    // 253402300800 s after 1970 is 10000-01-01 (the first instant ISO needs six year digits for)
    [253_402_300_799_999_999n, '9999-12-31T23:59:59.999999Z'],
    [253_402_300_800_000_000n, '+010000-01-01T00:00:00.000000Z'],
    [253_402_300_801_250_000n, '+010000-01-01T00:00:01.250000Z'],
    // 62167219200 s before 1970 is 0000-01-01 (proleptic Gregorian); one microsecond earlier is year -1
    [-62_167_219_200_000_000n, '0000-01-01T00:00:00.000000Z'],
    [-62_167_219_200_000_001n, '-000001-12-31T23:59:59.999999Z'],
  ]
  const path = btsnoop(
    'times.btsnoop',
    cases.map(([us]) => us),
  )
  const r = await run(['decode', path, '--json'])
  t.equal(r.code, 0, r.stderr)
  t.same(
    r.lines.map((l) => (JSON.parse(l) as { ts?: string }).ts),
    cases.map(([, iso]) => iso),
  )
  t.equal(timestamp(8_640_000_000_000_000_000n), '+275760-09-13T00:00:00.000000Z', 'the last instant a Date holds')
  t.equal(timestamp(8_640_000_000_000_000_001n), '+275760-09-13T00:00:00.000001Z')
  t.equal(timestamp(8_640_000_001_000_000_000n), undefined, 'beyond: no timestamp rather than a wrong one')
})

t.test(
  'timestamps: any instant reads back as itself (V8 parses the seconds, the digits are the fraction)',
  async (t) => {
    fc.assert(
      fc.property(fc.bigInt(-8_640_000_000_000_000_000n, 8_639_999_999_999_999_999n), (us) => {
        const s = timestamp(us)!
        const m = /^(.*)\.(\d{6})Z$/.exec(s)
        if (m === null) return false
        const seconds = BigInt(Date.parse(`${m[1]}Z`)) / 1000n
        return seconds * 1_000_000n + BigInt(m[2]!) === us
      }),
      { seed: 13, numRuns: 2000 },
    )
    t.pass('2000 random instants from -271821 to +275760 read back')
  },
)

t.test('a pcapng with a damaged byte-order magic is called a damaged pcapng', async (t) => {
  // Section Header Block: type 0a0d0d0a, length 28, byte-order magic (damaged), version 1.0, section length -1
  const shb = Buffer.from('0a0d0d0a1c000000' + '4d3c2bff' + '01000000' + 'ffffffffffffffff' + '1c000000', 'hex')
  const damaged = join(dir, 'damaged.pcapng')
  writeFileSync(damaged, shb)
  const r = await run(['decode', damaged])
  t.equal(r.code, 1)
  const e = errorLines(r.stderr)
  t.match(e.message, /damaged pcapng file: its section header's byte-order magic is 4d 3c 2b ff/)
  t.notMatch(e.message, /not a capture/)
  t.match(e.hint, /pcapng but damaged/)
  const short = join(dir, 'short.pcapng')
  writeFileSync(short, shb.subarray(0, 6))
  t.match(errorLines((await run(['decode', short])).stderr).message, /pcapng file cut short in its section header/)
})

/** A btsnoop 2001 (BlueZ monitor) file with one System Note (opcode 12) per text. */
function monitorNotes(texts: string[]): string {
  const parts: Buffer[] = [Buffer.from('btsnoop\0', 'latin1'), Buffer.from('00000001000007d1', 'hex')]
  for (const text of texts) {
    const body = Buffer.from(text + '\0', 'utf8')
    const h = Buffer.alloc(24)
    h.writeUInt32BE(body.length, 0)
    h.writeUInt32BE(body.length, 4)
    h.writeUInt32BE(((0xffff << 16) | 12) >>> 0, 8) // adapter 0xffff, opcode 12 System Note
    h.writeBigInt64BE(0x00dcddb30f2f8000n + 1_700_000_000_000_000n, 16)
    parts.push(h, body)
  }
  const path = join(dir, 'notes.btsnoop')
  writeFileSync(path, Buffer.concat(parts))
  return path
}

t.test('text from a capture is escaped: no terminal escapes, no forged lines', async (t) => {
  const path = monitorNotes([
    'title\x1b]0;pwned\x07 and \x1b[2J clear',
    'one\r\n#2 > EVT Command Complete (0x0e) forged',
    'bidi \u202eevil\u202c and DEL \x7f and C1 \u009b',
  ])
  const r = await run(['decode', path])
  t.equal(r.code, 0, r.stderr)
  t.equal(r.lines.length, 3, 'one line per record')
  t.notMatch(r.stdout.replace(/\n/g, ''), /[\x00-\x1f\x7f-\x9f\u202a-\u202e]/, 'no control character left')
  t.match(r.lines[0], /system-note: title\\e\]0;pwned\\x07 and \\e\[2J clear/)
  t.match(r.lines[1], /system-note: one\\r\\n#2 > EVT Command Complete \(0x0e\) forged/)
  t.match(r.lines[2], /bidi \\u202eevil\\u202c and DEL \\x7f and C1 \\x9b/)
  const json = await run(['decode', path, '--json'])
  t.match((JSON.parse(json.lines[1]!) as { note: string }).note, 'one\r\n#2', 'JSON keeps the text (JSON escapes it)')
})
