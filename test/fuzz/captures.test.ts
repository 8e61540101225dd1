/**
 * Fuzz targets of the capture readers and the trace decoder (hci/snoop.ts, src/decoder.ts):
 * btsnoop (1002, 1001, 2001 BlueZ monitor), pcap (201, either byte order) and pcapng (Section
 * Header, Interface Description, Enhanced Packet blocks) files made from HCI packets the
 * declarations accept, then truncated, extended, with flipped bytes and record lengths that lie,
 * read in random chunks. Only an unreadable start throws (a CaptureError, before any record);
 * after that, damage is an `error` record and reading stops; every record decodes to one line
 * without a control character, and the number of records is bounded by the bytes.
 */
import t from 'tap'
import fc from 'fast-check'
import { CaptureError } from '../../hci/errors.ts'
import { EVENTS } from '../../hci/events.ts'
import { BtsnoopWriter, PcapWriter, readCapture, type SnoopWriteRecord } from '../../hci/snoop.ts'
import { TraceDecoder, formatRecord } from '../../src/decoder.ts'
import { concat, le16, mutated, validParams } from './arbitraries.ts'
import { fuzzAsync } from './harness.ts'

/** HCI packets: events from the declarations, ACL with an L2CAP header, commands as bytes. */
const packet: fc.Arbitrary<SnoopWriteRecord> = fc.oneof(
  fc.constantFrom(...EVENTS.filter((e) => e.code !== 0x3e)).chain((spec) =>
    validParams(spec.params, 250).map((p) => ({
      timestampUs: 1_700_000_000_000_000n,
      direction: 'rx' as const,
      packetType: 4,
      data: concat([spec.code, p.length], p),
    })),
  ),
  fc
    .tuple(
      fc.integer({ min: 0, max: 0x0eff }),
      fc.constantFrom(4, 5, 6, 0x40),
      fc.uint8Array({ maxLength: 40 }),
      fc.boolean(),
    )
    .map(([handle, cid, payload, rx]) => ({
      timestampUs: 1_700_000_000_000_001n,
      direction: rx ? ('rx' as const) : ('tx' as const),
      packetType: 2,
      data: concat(le16(handle), le16(payload.length + 4), le16(payload.length), le16(cid), payload),
    })),
  fc.uint8Array({ minLength: 3, maxLength: 20 }).map((data) => ({
    timestampUs: 1_600_000_000_000_000n,
    direction: 'tx' as const,
    packetType: 1,
    data,
  })),
)

function write(
  writer: (sink: { write(c: Uint8Array): void }) => BtsnoopWriter | PcapWriter,
  recs: SnoopWriteRecord[],
): Uint8Array {
  const chunks: Uint8Array[] = []
  const w = writer({ write: (c) => void chunks.push(c) })
  for (const r of recs) w.write(r)
  return concat(...chunks)
}

/** A little-endian pcapng: Section Header, one Interface Description (link type 201), an Enhanced Packet block per record. */
function pcapng(recs: SnoopWriteRecord[]): Uint8Array {
  const block = (type: number, body: number[]): number[] => {
    const padded = [...body, ...new Array((4 - (body.length % 4)) % 4).fill(0)]
    const len = 12 + padded.length
    const u32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24]
    return [...u32(type), ...u32(len), ...padded, ...u32(len)]
  }
  const u32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24]
  const out = [
    ...block(0x0a0d0d0a, [...u32(0x1a2b3c4d), 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
    ...block(1, [201, 0, 0, 0, ...u32(0)]),
  ]
  for (const r of recs) {
    const frame = [0, 0, 0, r.direction === 'rx' ? 1 : 0, r.packetType, ...r.data]
    const ts = r.timestampUs
    out.push(
      ...block(6, [
        ...u32(0),
        ...u32(Number(ts >> 32n)),
        ...u32(Number(ts & 0xffffffffn)),
        ...u32(frame.length),
        ...u32(frame.length),
        ...frame,
      ]),
    )
  }
  return Uint8Array.from(out)
}

const capture = fc
  .tuple(fc.array(packet, { maxLength: 12 }), fc.constantFrom('btsnoop', 'pcap', 'pcapng'))
  .map(([recs, format]) =>
    format === 'btsnoop'
      ? write((s) => new BtsnoopWriter(s), recs)
      : format === 'pcap'
        ? write((s) => new PcapWriter(s), recs)
        : pcapng(recs),
  )

async function* chunked(bytes: Uint8Array, cuts: number[]): AsyncGenerator<Uint8Array> {
  let at = 0
  for (const n of cuts) {
    if (at >= bytes.length) return
    yield bytes.subarray(at, at + n)
    at += n
  }
  if (at < bytes.length) yield bytes.subarray(at)
}

const CONTROL = /[\x00-\x1f\x7f-\x9f]/

t.test('capture readers and the trace decoder: damaged files in random chunks', async (t) => {
  await fuzzAsync(
    t,
    'capture-read',
    fc.tuple(mutated(capture, 600), fc.array(fc.integer({ min: 1, max: 97 }), { maxLength: 30 })),
    async ([m, cuts]) => {
      const decoder = new TraceDecoder()
      let records = 0
      try {
        for await (const rec of readCapture(chunked(m.bytes, cuts), { maxRecordBytes: 4096 })) {
          records++
          const line = formatRecord(decoder.decode(rec))
          if (CONTROL.test(line)) return false
          if (records > m.bytes.length) return false
        }
      } catch (e) {
        return e instanceof CaptureError && records === 0 && m.how !== 'valid'
      }
      return true
    },
    { runs: 1500 },
  )
})
