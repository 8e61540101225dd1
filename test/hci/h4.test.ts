import t from 'tap'
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { H4Splitter, encodeH4, H4_MAX_PACKET, type H4Packet } from '../../hci/h4.ts'
import { FramingError } from '../../hci/errors.ts'
import { fromHex, toHex } from '../../hci/wire.ts'
import { realTest, realTrace } from '../helpers/real.ts'

/** Ad-hoc btsnoop (datalink 1002) reader: 16-byte file header, records of 24-byte header + data. */
function readBtsnoopH4(name: string): H4Packet[] {
  const buf = readFileSync(realTrace(name))
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  if (buf.subarray(0, 8).toString('latin1') !== 'btsnoop\0' || dv.getUint32(12) !== 1002) {
    throw new Error(`${name} is not btsnoop 1002`)
  }
  const out: H4Packet[] = []
  for (let at = 16; at + 24 <= buf.length; ) {
    const orig = dv.getUint32(at)
    const incl = dv.getUint32(at + 4)
    const rec = new Uint8Array(buf.buffer, buf.byteOffset + at + 24, Math.min(incl, buf.length - at - 24))
    at += 24 + incl
    if (incl !== orig || rec.length !== incl || rec.length === 0) continue
    out.push({ type: rec[0]!, data: rec.subarray(1) })
  }
  return out
}

function concatH4(packets: H4Packet[]): Uint8Array {
  const parts = packets.map((p) => encodeH4(p.type, p.data))
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** Deterministic PRNG (mulberry32) for chunk sizes. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

interface Run {
  packets: Array<{ type: number; hex: string }>
  errors: FramingError[]
  maxBuffered: number
}

function split(stream: Uint8Array, chunkSizes: () => number, opts: { halt?: boolean } = {}): Run {
  const run: Run = { packets: [], errors: [], maxBuffered: 0 }
  const s = new H4Splitter({
    onPacket: (p) => run.packets.push({ type: p.type, hex: toHex(p.data) }),
    onError: (e) => run.errors.push(e),
    ...(opts.halt ? { onUnknownType: 'halt' as const } : {}),
  })
  for (let at = 0; at < stream.length; ) {
    const n = Math.max(1, chunkSizes())
    s.push(stream.subarray(at, at + n))
    at += n
    run.maxBuffered = Math.max(run.maxBuffered, s.buffered)
  }
  return run
}

for (const file of [
  'AshMartian__HappyLeaf__Leafspy_Read_DCT_btsnoop_hci.log',
  'durnerj__PoGo-Plus-BLE__bt_log_plus_pair_2017_12_13.log',
  'mchwalisz__lightsapp-cli__btsnoop_hci.log',
]) {
  realTest(`real trace ${file}: random chunks give the same packets as the whole stream`, async (t) => {
    const records = readBtsnoopH4(file)
    t.ok(records.length > 300, `${records.length} records`)
    const stream = concatH4(records)
    const expected = records.map((r) => ({ type: r.type, hex: toHex(r.data) }))

    const whole = split(stream, () => stream.length)
    t.same(whole.packets, expected, 'whole stream: one packet per record')
    t.same(whole.errors, [])

    for (const seed of [1, 7, 42]) {
      const r = rng(seed)
      const chunked = split(stream, () => Math.floor(r() * 300))
      t.equal(chunked.packets.length, expected.length, `seed ${seed}: packet count`)
      t.same(chunked.packets, expected, `seed ${seed}: same packets`)
      t.same(chunked.errors, [])
    }
    const bytewise = split(stream, () => 1)
    t.same(bytewise.packets, expected, 'one byte at a time')
  })
}

t.test('each packet type is framed by its own header (hand-written bytes)', async (t) => {
  const stream = fromHex(
    [
      '01 030c 00', // command: Reset, no parameters
      '04 0e 04 01030c00', // event: Command Complete
      '02 4000 0700 0300 0400 0a0100', // ACL: handle 0x040, 7 bytes
      '03 0100 02 aabb', // SCO: handle 1, 2 bytes
      '05 2000 03c0 112233', // ISO: length field 0xc003, only the low 14 bits (3) count
      '04 05 04 00400013', // event: Disconnection Complete
    ].join(''),
  )
  const run = split(stream, () => stream.length)
  t.same(run.packets, [
    { type: 1, hex: '030c00' },
    { type: 4, hex: '0e0401030c00' },
    { type: 2, hex: '40000700030004000a0100' },
    { type: 3, hex: '010002aabb' },
    { type: 5, hex: '200003c0112233' },
    { type: 4, hex: '050400400013' },
  ])
  for (const seed of [3, 5]) {
    const r = rng(seed)
    t.same(split(stream, () => Math.floor(r() * 5)).packets, run.packets, `seed ${seed}`)
  }
})

t.test('a packet whole inside a chunk is a view; a cut one is copied once', async (t) => {
  const got: H4Packet[] = []
  const s = new H4Splitter({ onPacket: (p) => got.push(p) })
  const chunk = fromHex('040e0401030c00' + '0405')
  s.push(chunk)
  t.equal(got.length, 1)
  t.equal(got[0]!.data.buffer, chunk.buffer, 'view of the input chunk')
  t.equal(got[0]!.data.byteOffset, 1)
  t.equal(s.buffered, 1, 'the event code of the next packet is held')
  s.push(fromHex('04004000'))
  t.equal(s.buffered, 5)
  s.push(fromHex('1300'))
  t.equal(got.length, 2)
  t.equal(toHex(got[1]!.data), '050400400013')
  t.equal(s.buffered, 0)
  t.equal(s.offset, 15)
})

t.test('unknown type byte: FramingError with byte and offset, then hunt to the next type byte', async (t) => {
  // event, garbage ff 00 42 (none of them a type byte), ACL
  const stream = fromHex('040e0401030c00' + 'ff0042' + '02400004000000040a')
  for (const seed of [0, 1, 2]) {
    const r = rng(seed)
    const run = split(stream, seed === 0 ? () => stream.length : () => Math.floor(r() * 4))
    t.equal(run.errors.length, 1, 'reported once per loss of sync')
    const e = run.errors[0]!
    t.ok(e instanceof FramingError)
    t.equal(e.code, 'FRAMING')
    t.equal(e.byte, 0xff)
    t.equal(e.offset, 7)
    t.match(e.message, /0xff.*offset 7/)
    t.same(run.packets, [
      { type: 4, hex: '0e0401030c00' },
      { type: 2, hex: '400004000000040a' },
    ])
  }
})

t.test('the splitter counts and reports a second loss of sync separately', async (t) => {
  const errors: FramingError[] = []
  const packets: H4Packet[] = []
  const s = new H4Splitter({ onPacket: (p) => packets.push(p), onError: (e) => errors.push(e) })
  s.push(fromHex('00' + '040100' + '80' + '040100'))
  t.same(
    errors.map((e) => [e.byte, e.offset]),
    [
      [0x00, 0],
      [0x80, 4],
    ],
  )
  t.equal(packets.length, 2)
  t.same(s.stats, { packets: 2, framingErrors: 2, droppedBytes: 2 })
})

t.test("onUnknownType 'halt' drops everything until resync()", async (t) => {
  const errors: FramingError[] = []
  const packets: H4Packet[] = []
  const s = new H4Splitter({ onPacket: (p) => packets.push(p), onError: (e) => errors.push(e), onUnknownType: 'halt' })
  s.push(fromHex('99' + '040100'))
  t.equal(errors.length, 1)
  t.equal(packets.length, 0, 'a valid-looking packet after the error is not trusted')
  t.notOk(s.synchronised)
  s.resync()
  s.push(fromHex('77' + '040100'))
  t.equal(errors.length, 1, 'hunting after resync() is silent')
  t.same(
    packets.map((p) => toHex(p.data)),
    ['0100'],
  )
  t.ok(s.synchronised)
})

t.test('resync() discards a partial packet', async (t) => {
  const packets: H4Packet[] = []
  const s = new H4Splitter({ onPacket: (p) => packets.push(p) })
  s.push(fromHex('02400010'))
  t.equal(s.buffered, 3)
  s.resync()
  t.equal(s.buffered, 0)
  s.push(fromHex('040100'))
  t.same(
    packets.map((p) => [p.type, toHex(p.data)]),
    [[4, '0100']],
  )
})

t.test('types narrows what counts as a type byte', async (t) => {
  const errors: FramingError[] = []
  const packets: H4Packet[] = []
  const s = new H4Splitter({ onPacket: (p) => packets.push(p), onError: (e) => errors.push(e), types: [2, 4] })
  s.push(fromHex('01030c00' + '040100'))
  t.equal(errors[0]?.byte, 1, 'a command from the controller side is a framing error')
  t.same(
    packets.map((p) => toHex(p.data)),
    ['0100'],
    'hunting skipped 03 0c 00',
  )
  t.throws(() => new H4Splitter({ onPacket: () => {}, types: [9] }), RangeError)
})

t.test('encodeH4', async (t) => {
  t.equal(toHex(encodeH4(1, fromHex('030c00'))), '01030c00')
  t.throws(() => encodeH4(256, new Uint8Array()), RangeError)
})

t.test('property: any bytes in any chunks: only FramingErrors, bounded, chunking does not matter', async (t) => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 2000 }),
      fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 20 }),
      (bytes, sizes) => {
        let i = 0
        const whole = split(bytes, () => bytes.length || 1)
        const chunked = split(bytes, () => sizes[i++ % sizes.length]!)
        if (!chunked.errors.every((e) => e instanceof FramingError)) return false
        if (chunked.maxBuffered > H4_MAX_PACKET) return false
        const offs = (r: Run): number[] => r.errors.map((e) => e.offset)
        return (
          JSON.stringify(whole.packets) === JSON.stringify(chunked.packets) &&
          JSON.stringify(offs(whole)) === JSON.stringify(offs(chunked))
        )
      },
    ),
    { seed: 0x4834, numRuns: 300 },
  )
  t.pass('held')
})

realTest('property: a real stream with mutated bytes never throws and stays bounded', async (t) => {
  const stream = concatH4(readBtsnoopH4('durnerj__PoGo-Plus-BLE__bt_log_plus_pair_2017_12_13.log')).subarray(0, 6000)
  fc.assert(
    fc.property(
      fc.array(fc.record({ at: fc.nat({ max: stream.length - 1 }), byte: fc.integer({ min: 0, max: 255 }) }), {
        maxLength: 30,
      }),
      fc.integer({ min: 1, max: 400 }),
      fc.boolean(),
      (mutations, chunk, halt) => {
        const bytes = stream.slice()
        for (const m of mutations) bytes[m.at] = m.byte
        const run = split(bytes, () => chunk, { halt })
        return run.errors.every((e) => e instanceof FramingError) && run.maxBuffered <= H4_MAX_PACKET
      },
    ),
    { seed: 0x5a5a, numRuns: 200 },
  )
  t.pass('held')
})
