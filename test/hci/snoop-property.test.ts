// Properties of readCapture on hostile input: random bytes, random bytes behind a valid magic,
// and the heads of real traces with bytes flipped, words forged, ranges cut or inserted, all fed
// in random chunks. Whatever comes in: only a CaptureError, and only before the first record;
// records numbered 1, 2, 3...; no record holds more bytes than the input had.
import t from 'tap'
import fc from 'fast-check'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CaptureError } from '../../hci/errors.ts'
import { fromHex } from '../../hci/wire.ts'
import { readCapture, type CaptureRecord } from '../../hci/snoop.ts'
import { realTest, realTrace } from '../helpers/real.ts'
import { missing } from '../helpers/tools.ts'

const tmp = mkdtempSync(join(tmpdir(), 'hcikit-snoop-prop-'))
t.teardown(() => rmSync(tmp, { recursive: true, force: true }))

const HEAD = 3000
const head = (file: string): Uint8Array => new Uint8Array(readFileSync(file)).subarray(0, HEAD)
let heads: Uint8Array[] | undefined
/** The heads of real traces in each format (read when a test runs: the corpus may be absent). */
function realHeads(): Uint8Array[] {
  if (heads) return heads
  execFileSync('editcap', [
    '-F',
    'pcapng',
    realTrace('durnerj__PoGo-Plus-BLE__bt_log_plus_pair_2017_12_13.log'),
    join(tmp, 'a.pcapng'),
  ])
  heads = [
    head(realTrace('cnrd__yeelock__btsnoop_hci.log')),
    head(realTrace('felixwatts__batteread__capture.btsnoop')),
    head(realTrace('BeanCounterTop__ble-pcap-analyzer__hci.pcap')),
    head(realTrace('cheoljun99__bluetooth-pcap-test__bluetooth-infocar.pcap')),
    head(join(tmp, 'a.pcapng')),
  ]
  return heads
}
const EDITCAP = { skip: missing('editcap') }

// File headers that get past format detection, to send random bodies deep into each reader.
const MAGICS = [
  '6274736e6f6f7000 00000001 000003e9',
  '6274736e6f6f7000 00000001 000003ea',
  '6274736e6f6f7000 00000001 000007d1',
  'd4c3b2a1 0200 0400 00000000 00000000 ffff0000 c9000000',
  'a1b2c3d4 0002 0004 00000000 00000000 0000ffff 000000c9',
  '4d3cb2a1 0200 0400 00000000 00000000 ffff0000 fe000000',
  'a1b23c4d 0002 0004 00000000 00000000 0000ffff 000000bb',
  '0a0d0d0a 1c000000 4d3c2b1a 0100 0000 ffffffffffffffff 1c000000 01000000 14000000 c900 0000 00000000 14000000',
  '0a0d0d0a 0000001c 1a2b3c4d 0001 0000 ffffffffffffffff 0000001c',
].map((h) => fromHex(h))

type Mutation =
  | { op: 'byte'; at: number; v: number }
  | { op: 'word'; at: number; v: number }
  | { op: 'cut'; at: number }
  | { op: 'delete'; at: number; n: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('byte' as const), at: fc.nat(HEAD), v: fc.integer({ min: 0, max: 255 }) }),
  fc.record({
    op: fc.constant('word' as const),
    at: fc.nat(HEAD),
    v: fc.oneof(fc.constantFrom(0, 1, 3, 4, 12, 0xffffffff, 0x7fffffff, 0x01000000, 0x00ffffff, 0x1000001), fc.nat()),
  }),
  fc.record({ op: fc.constant('cut' as const), at: fc.nat(HEAD) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(HEAD), n: fc.integer({ min: 1, max: 64 }) }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(HEAD),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 32 }),
  }),
)

function mutate(input: Uint8Array, ms: Mutation[]): Uint8Array {
  let b = input.slice()
  for (const m of ms) {
    const at = Math.min(m.at, b.length)
    switch (m.op) {
      case 'byte':
        if (at < b.length) b[at] = m.v
        break
      case 'word':
        for (let i = 0; i < 4 && at + i < b.length; i++) b[at + i] = (m.v >>> (8 * (3 - i))) & 0xff
        break
      case 'cut':
        b = b.slice(0, at)
        break
      case 'delete':
        b = new Uint8Array([...b.subarray(0, at), ...b.subarray(at + m.n)])
        break
      case 'insert':
        b = new Uint8Array([...b.subarray(0, at), ...m.bytes, ...b.subarray(at)])
        break
    }
  }
  return b
}

async function* chunked(bytes: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  let o = 0
  let i = 0
  while (o < bytes.length) {
    const n = sizes.length === 0 ? bytes.length : sizes[i++ % sizes.length]!
    yield bytes.slice(o, o + n)
    o += n
  }
}

const options = fc.constantFrom<{ maxRecordBytes?: number }>(
  {},
  { maxRecordBytes: 1 },
  { maxRecordBytes: 64 },
  { maxRecordBytes: 4096 },
)
const sizes = fc.array(fc.integer({ min: 1, max: 700 }), { maxLength: 20 })

/** Read everything; check the promises this file makes. Returns a failure text or undefined. */
async function check(
  input: Uint8Array,
  chunkSizes: number[],
  opts: { maxRecordBytes?: number },
  read: typeof readCapture = readCapture,
): Promise<string | undefined> {
  const recs: CaptureRecord[] = []
  try {
    for await (const r of read(chunked(input, chunkSizes), opts)) recs.push(r)
  } catch (e) {
    if (!(e instanceof CaptureError)) return `threw ${String(e)}`
    if (recs.length > 0) return `threw after ${recs.length} records: ${e.message}`
    return undefined
  }
  let total = 0
  for (const [i, r] of recs.entries()) {
    if (r.index !== i + 1) return `record ${i + 1} numbered ${r.index}`
    if (r.data.length > input.length)
      return `record ${r.index} holds ${r.data.length} bytes of a ${input.length}-byte input`
    if (!Number.isInteger(r.originalLength) || r.originalLength < 0)
      return `record ${r.index} original length ${r.originalLength}`
    if (typeof r.timestampUs !== 'bigint') return `record ${r.index} timestamp ${String(r.timestampUs)}`
    if (r.note !== undefined && r.packetType !== undefined) return `record ${r.index} is both a note and a packet`
    total += r.data.length
  }
  if (total > input.length) return `records hold ${total} bytes of a ${input.length}-byte input`
  return undefined
}

const RUN = { seed: 0x5eed, numRuns: 300 }

t.test('random bytes', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), sizes, options, async (bytes, s, o) => {
      const failure = await check(bytes, s, o)
      if (failure !== undefined) throw new Error(failure)
    }),
    RUN,
  )
  t.pass('no property failed')
})

t.test('random bodies behind every magic we read', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...MAGICS),
      fc.uint8Array({ maxLength: 800 }),
      sizes,
      options,
      async (magic, body, s, o) => {
        const input = new Uint8Array([...magic, ...body])
        const failure = await check(input, s, o)
        if (failure !== undefined) throw new Error(failure)
      },
    ),
    RUN,
  )
  t.pass('no property failed')
})

realTest('mutated heads of real traces', EDITCAP, async (t) => {
  const REAL_HEADS = realHeads()
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...REAL_HEADS.keys()),
      fc.array(mutation, { minLength: 1, maxLength: 6 }),
      sizes,
      options,
      async (which, ms, s, o) => {
        const input = mutate(REAL_HEADS[which]!, ms)
        const failure = await check(input, s, o)
        if (failure !== undefined) throw new Error(failure)
      },
    ),
    { ...RUN, numRuns: 600 },
  )
  t.pass('no property failed')
})

realTest('the checks can fail', EDITCAP, async (t) => {
  const REAL_HEADS = realHeads()
  // Readers that break the promises are caught by the same checks.
  const one: CaptureRecord = {
    index: 1,
    timestampUs: 0n,
    direction: 'tx',
    packetType: 1,
    data: new Uint8Array(3),
    originalLength: 3,
  }
  async function* throwsLate(): AsyncGenerator<CaptureRecord> {
    yield one
    throw new CaptureError('late')
  }
  async function* throwsOther(): AsyncGenerator<CaptureRecord> {
    yield* []
    throw new RangeError('offset out of bounds')
  }
  async function* oversized(): AsyncGenerator<CaptureRecord> {
    yield { ...one, data: new Uint8Array(10_000) }
  }
  async function* misnumbered(): AsyncGenerator<CaptureRecord> {
    yield { ...one, index: 2 }
  }
  const input = REAL_HEADS[0]!
  t.match(await check(input, [], {}, throwsLate), /threw after 1 records/)
  t.match(await check(input, [], {}, throwsOther), /threw RangeError/)
  t.match(await check(input, [], {}, oversized), /holds 10000 bytes of a 3000-byte input/)
  t.match(await check(input, [], {}, misnumbered), /numbered 2/)
  // And the real reader passes them on the unmutated heads; a head cut inside a record ends in an error record.
  for (const h of REAL_HEADS) t.equal(await check(h, [], {}), undefined)
  const recs: CaptureRecord[] = []
  for await (const r of readCapture(chunked(REAL_HEADS[0]!, []))) recs.push(r)
  t.match(recs.at(-1), { error: /truncated/ }, 'a 3000-byte head ends inside a record')
})
