/**
 * The decoder follows every L2CAP channel (src/decoder.ts, src/decoder-channels.ts; Core v5.4
 * Vol 3 Part A 4.2-4.7 BR/EDR connection and configuration, 4.22-4.27 LE and enhanced credit-based
 * connections, 3.4 K-frames and SDU segmentation):
 * - a capture written here byte by byte (BR/EDR ATT on PSM 0x001F, EATT on PSM 0x0027, a user
 *   PSM, fragmented ACL, a channel closed) decoded frame by frame and compared with tshark 4.0:
 *   CID, PSM, ATT opcode and handle, SDU length. tshark 4.0 does not follow enhanced
 *   credit-based channels (it shows their frames as bare L2CAP), so the EATT frames are checked
 *   against what the capture was written to hold;
 * - the real traces (../shared/fixtures/real): on every frame of a dynamic channel (SDP, RFCOMM,
 *   AVCTP, AVDTP over BR/EDR), our PSM equals tshark's;
 * - what goes wrong is reported on the record: an SDU longer than its MTU, more octets than the
 *   SDU Length, ERTM channels not decoded as ATT; random signalling and frames never throw.
 */
import t from 'tap'
import fc from 'fast-check'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TraceDecoder, type DecodedRecord } from '../../src/decoder.ts'
import { openCapture } from '../../src/capture-file.ts'
import type { CaptureRecord } from '../../hci/snoop.ts'
import { num } from '../helpers/tshark.ts'
import { missing } from '../helpers/tools.ts'
import { realTraces, shortName, realTest } from '../helpers/real.ts'

// --- a capture, byte by byte (little-endian fields as the spec's figures lay them out) ----------
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')
const le16 = (v: number): Buffer => Buffer.from([v & 0xff, v >> 8])
const l2 = (cid: number, p: Buffer): Buffer => Buffer.concat([le16(p.length), le16(cid), p])
const acl = (h: number, pdu: Buffer, pb = 2): Buffer => Buffer.concat([le16(h | (pb << 12)), le16(pdu.length), pdu])
const sig = (code: number, id: number, ...fields: Buffer[]): Buffer => {
  const data = Buffer.concat(fields)
  return Buffer.concat([Buffer.from([code, id]), le16(data.length), data])
}
const kframe = (sdu: Buffer, first: number): Buffer[] => [
  Buffer.concat([le16(sdu.length), sdu.subarray(0, first)]),
  ...(first < sdu.length ? [sdu.subarray(first)] : []),
]

interface Pkt {
  dir: 'tx' | 'rx'
  type: number
  data: Buffer
  /** What the frame carries, written with the capture. */
  expect?: Partial<{ cid: number; psm: number; att: number; handle: number; sduLength: number; sdu: string }>
}

const BR = 0x000b
const LE = 0x0040
const READ_VALUE = Buffer.from(Array.from({ length: 30 }, (_, i) => i))
const USER_SDU = Buffer.from(Array.from({ length: 40 }, (_, i) => 0x80 + i))
const [eattReadRsp1, eattReadRsp2] = kframe(Buffer.concat([hex('0b'), READ_VALUE]), 21)
const [user1, user2] = kframe(USER_SDU, 21)
const fragmented = l2(0x51, Buffer.concat([le16(3), hex('0a0500')]))

const PACKETS: Pkt[] = [
  { dir: 'rx', type: 4, data: hex('03 0b 00 0b00 112233445566 01 00') }, // Connection Complete (BR/EDR ACL)
  { dir: 'tx', type: 2, data: acl(BR, l2(1, sig(0x02, 1, le16(0x001f), le16(0x0040)))) }, // Connection Request ATT
  { dir: 'rx', type: 2, data: acl(BR, l2(1, sig(0x03, 1, le16(0x0041), le16(0x0040), le16(0), le16(0)))) },
  { dir: 'tx', type: 2, data: acl(BR, l2(1, sig(0x04, 2, le16(0x0041), le16(0), hex('0102a002')))) }, // MTU 672
  { dir: 'rx', type: 2, data: acl(BR, l2(1, sig(0x05, 2, le16(0x0040), le16(0), le16(0)))) },
  { dir: 'rx', type: 2, data: acl(BR, l2(1, sig(0x04, 3, le16(0x0040), le16(0)))) },
  { dir: 'tx', type: 2, data: acl(BR, l2(1, sig(0x05, 3, le16(0x0041), le16(0), le16(0)))) },
  {
    dir: 'tx',
    type: 2,
    data: acl(BR, l2(0x41, hex('10 0100 ffff 0028'))),
    expect: { cid: 0x41, psm: 0x1f, att: 0x10 },
  },
  {
    dir: 'rx',
    type: 2,
    data: acl(BR, l2(0x40, hex('11 06 0100 0700 0018'))),
    expect: { cid: 0x40, psm: 0x1f, att: 0x11, handle: 1 },
  },
  { dir: 'tx', type: 2, data: acl(BR, l2(0x41, hex('0a 0300'))), expect: { psm: 0x1f, att: 0x0a, handle: 3 } },
  { dir: 'rx', type: 2, data: acl(BR, l2(0x40, hex('0b 48656c6c6f'))), expect: { psm: 0x1f, att: 0x0b } },
  { dir: 'rx', type: 2, data: acl(BR, l2(0x40, hex('1b 0500 aabb'))), expect: { psm: 0x1f, att: 0x1b, handle: 5 } },
  { dir: 'tx', type: 2, data: acl(BR, l2(1, sig(0x06, 4, le16(0x0041), le16(0x0040)))) }, // Disconnection Request
  { dir: 'rx', type: 2, data: acl(BR, l2(1, sig(0x07, 4, le16(0x0041), le16(0x0040)))) },
  { dir: 'rx', type: 2, data: acl(BR, l2(0x40, hex('1b 0500 ccdd'))), expect: { cid: 0x40 } }, // closed: bare L2CAP
  { dir: 'rx', type: 4, data: hex('3e 13 01 00 4000 00 00 010203040506 1800 0000 c800 00') }, // LE Connection Complete
  {
    dir: 'tx',
    type: 2, // Credit Based Connection Request: SPSM EATT, MTU 64, MPS 23, 10 credits, Source CIDs 0x40, 0x41
    data: acl(LE, l2(5, sig(0x17, 5, le16(0x27), le16(64), le16(23), le16(10), le16(0x40), le16(0x41)))),
  },
  {
    dir: 'rx',
    type: 2,
    data: acl(LE, l2(5, sig(0x18, 5, le16(64), le16(23), le16(10), le16(0), le16(0x50), le16(0x51)))),
  },
  {
    dir: 'tx',
    type: 2,
    data: acl(LE, l2(0x50, Buffer.concat([le16(3), hex('0a 0300')]))),
    expect: { cid: 0x50, psm: 0x27, att: 0x0a, handle: 3, sduLength: 3 },
  },
  { dir: 'rx', type: 2, data: acl(LE, l2(0x40, eattReadRsp1!)), expect: { psm: 0x27, sduLength: 31 } },
  { dir: 'rx', type: 2, data: acl(LE, l2(0x40, eattReadRsp2!)), expect: { psm: 0x27, att: 0x0b } },
  {
    dir: 'tx',
    type: 2, // LE Credit Based Connection Request: SPSM 0x0080, Source CID 0x42, MTU 100, MPS 23, 5 credits
    data: acl(LE, l2(5, sig(0x14, 6, le16(0x80), le16(0x42), le16(100), le16(23), le16(5)))),
  },
  { dir: 'rx', type: 2, data: acl(LE, l2(5, sig(0x15, 6, le16(0x52), le16(100), le16(23), le16(5), le16(0)))) },
  { dir: 'tx', type: 2, data: acl(LE, l2(0x52, user1!)), expect: { cid: 0x52, psm: 0x80, sduLength: 40 } },
  { dir: 'tx', type: 2, data: acl(LE, l2(0x52, user2!)), expect: { psm: 0x80, sdu: USER_SDU.toString('hex') } },
  {
    dir: 'rx',
    type: 2,
    data: acl(LE, l2(0x42, Buffer.concat([le16(3), hex('414243')]))),
    expect: { psm: 0x80, sduLength: 3, sdu: '414243' },
  },
  { dir: 'tx', type: 2, data: Buffer.concat([le16(LE), le16(4), fragmented.subarray(0, 4)]) },
  {
    dir: 'tx',
    type: 2,
    data: Buffer.concat([le16(LE | 0x1000), le16(fragmented.length - 4), fragmented.subarray(4)]),
    expect: { cid: 0x51, psm: 0x27, att: 0x0a, handle: 5 },
  },
]
/** Frames on the enhanced credit-based channels, which tshark 4.0 does not follow. */
const ECFC_FRAMES = new Set([19, 20, 21, 28])

/** btsnoop 1002 (the format's header and record layout written out here, not with our writer). */
function btsnoop(packets: Pkt[]): Buffer {
  const parts = [Buffer.from('btsnoop\0'), hex('00000001 000003ea')]
  packets.forEach((p, i) => {
    const data = Buffer.concat([Buffer.from([p.type]), p.data])
    const h = Buffer.alloc(24)
    h.writeUInt32BE(data.length, 0)
    h.writeUInt32BE(data.length, 4)
    h.writeUInt32BE((p.dir === 'rx' ? 1 : 0) | (p.type === 1 || p.type === 4 ? 2 : 0), 8)
    h.writeBigInt64BE(0x00e03ab44a676000n + BigInt(i) * 1000n, 16)
    parts.push(h, data)
  })
  return Buffer.concat(parts)
}

async function decodeFile(path: string, only?: (r: CaptureRecord) => boolean): Promise<Map<number, DecodedRecord>> {
  const d = new TraceDecoder()
  const out = new Map<number, DecodedRecord>()
  for await (const r of openCapture(path)) {
    const x = d.decode(r)
    if (!only || only(r)) out.set(r.index, x)
  }
  return out
}

async function tsharkRows(path: string, filter: string, fields: string[]): Promise<Map<number, string[][]>> {
  const args = ['-r', path, '-n', '-Y', filter, '-T', 'fields', '-E', 'aggregator=|', '-E', 'occurrence=a']
  for (const f of ['frame.number', ...fields]) args.push('-e', f)
  const child = spawn('tshark', args, { stdio: ['ignore', 'pipe', 'ignore'] })
  const out = new Map<number, string[][]>()
  for await (const line of createInterface({ input: child.stdout, crlfDelay: Infinity })) {
    const cols = line.split('\t').map((c) => (c === '' ? [] : c.split('|')))
    out.set(Number(cols[0]![0]), cols.slice(1))
  }
  return out
}

const skip = missing('tshark')

t.test('a capture with every kind of channel: frame by frame with tshark, EATT as written', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hcikit-channels-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'channels.btsnoop')
  writeFileSync(path, btsnoop(PACKETS))
  const ours = await decodeFile(path)
  const fields = [
    'btl2cap.cid',
    'btl2cap.psm',
    'btatt.opcode',
    'btatt.handle',
    'btl2cap.le_sdu_length',
    '_ws.malformed',
  ]
  const theirs = await tsharkRows(path, 'frame', fields)
  t.equal(theirs.size, PACKETS.length, 'tshark read every frame')
  for (const [frame, cols] of theirs) {
    const [cid, psm, op, handle, sduLength, malformed] = cols as string[][]
    const o = ours.get(frame)!
    t.same(malformed, [], `frame ${frame}: well-formed for tshark`)
    t.equal(o.l2cap?.cid, num(cid![0]), `frame ${frame}: CID`)
    if (ECFC_FRAMES.has(frame)) continue
    const dynamic = (o.l2cap?.cid ?? 0) >= 0x40
    t.equal(o.l2cap?.psm, dynamic ? num(psm![0]) : undefined, `frame ${frame}: PSM`)
    t.equal(o.att?.opcode, num(op![0]), `frame ${frame}: ATT opcode`)
    // tshark adds the request's handle to responses that carry none (see test/oracle/decode-vs-tshark.test.ts)
    if (o.att?.opcode !== 0x0b) t.equal(o.att?.handle, num(handle![0]), `frame ${frame}: ATT handle`)
    t.equal(o.l2cap?.sduLength, num(sduLength![0]), `frame ${frame}: SDU length`)
  }
  PACKETS.forEach((p, i) => {
    const o = ours.get(i + 1)!
    const e = p.expect ?? {}
    const got = {
      cid: o.l2cap?.cid,
      psm: o.l2cap?.psm,
      att: o.att?.opcode,
      handle: o.att?.handle,
      sduLength: o.l2cap?.sduLength,
      sdu: o.sdu?.data,
    }
    for (const k of Object.keys(got) as (keyof typeof got)[]) if (!(k in e) && k !== 'cid') delete got[k]
    if (!('cid' in e)) delete got.cid
    t.same(got, e, `frame ${i + 1}: what it was written to hold`)
  })
  t.equal(ours.get(21)!.att?.value, READ_VALUE.toString('hex'), 'the EATT Read Response, reassembled from two K-frames')
})

realTest('real traces: every frame on a dynamic channel names the PSM tshark names', { skip }, async (t) => {
  let compared = 0
  for (const file of realTraces()) {
    const theirs = await tsharkRows(file, 'btl2cap.cid >= 0x40 && !(bthci_acl.chandle == 0x0edc)', [
      'btl2cap.cid',
      'btl2cap.psm',
    ])
    if (theirs.size === 0) continue
    const ours = await decodeFile(file)
    const diffs: string[] = []
    for (const [frame, [, psm]] of theirs) {
      compared++
      const o = ours.get(frame)
      if (o?.l2cap?.psm !== num(psm![0])) diffs.push(`frame ${frame}: ours ${o?.l2cap?.psm}, tshark ${psm![0]}`)
    }
    t.same(diffs.slice(0, 10), [], `${shortName(file)}: ${theirs.size} frames on dynamic channels`)
  }
  t.ok(compared > 1000, `${compared} frames compared`)
})

// --- problems, reported on the record --------------------------------------------------------
let index = 0
const rec = (direction: 'tx' | 'rx', type: number, data: Buffer): CaptureRecord => ({
  index: ++index,
  timestampUs: 0n,
  direction,
  packetType: type,
  data,
  originalLength: data.length,
})

t.test('an SDU longer than the MTU, or than its SDU Length, is reported and dropped', async (t) => {
  const d = new TraceDecoder()
  d.decode(rec('rx', 4, hex('3e 13 01 00 4000 00 00 010203040506 1800 0000 c800 00')))
  d.decode(rec('tx', 2, acl(LE, l2(5, sig(0x14, 1, le16(0x80), le16(0x42), le16(50), le16(23), le16(5))))))
  d.decode(rec('rx', 2, acl(LE, l2(5, sig(0x15, 1, le16(0x52), le16(30), le16(23), le16(5), le16(0))))))
  const long = d.decode(rec('tx', 2, acl(LE, l2(0x52, Buffer.concat([le16(31), Buffer.alloc(10)])))))
  t.match(long, { l2cap: { psm: 0x80, sduLength: 31 }, l2capError: 'SDU length 31 exceeds the MTU 30' })
  t.notOk(d.decode(rec('rx', 2, acl(LE, l2(0x42, Buffer.concat([le16(50), Buffer.alloc(21)]))))).l2capError)
  const over = d.decode(rec('rx', 2, acl(LE, l2(0x42, Buffer.alloc(30)))))
  t.match(over.l2capError, /51 octets for an SDU of 50/)
  const next = d.decode(rec('rx', 2, acl(LE, l2(0x42, Buffer.concat([le16(2), hex('0102')])))))
  t.match(next, { sdu: { length: 2, data: '0102' } }, 'the next SDU starts afresh')
})

t.test('a channel configured for ERTM is named but not decoded as ATT; a refused one stays unknown', async (t) => {
  const d = new TraceDecoder()
  d.decode(rec('rx', 4, hex('03 0b 00 0b00 112233445566 01 00')))
  d.decode(rec('tx', 2, acl(BR, l2(1, sig(0x02, 1, le16(0x1f), le16(0x40))))))
  d.decode(rec('rx', 2, acl(BR, l2(1, sig(0x03, 1, le16(0x41), le16(0x40), le16(0), le16(0))))))
  // Configuration Request with the Retransmission and Flow Control option, mode 3 (ERTM)
  d.decode(rec('tx', 2, acl(BR, l2(1, sig(0x04, 2, le16(0x41), le16(0), hex('0409 03 01 00 0000 0000 0000'))))))
  const f = d.decode(rec('rx', 2, acl(BR, l2(0x40, hex('0000 0b 48656c6c6f 0000')))))
  t.match(f, { l2cap: { psm: 0x1f, protocol: 'ATT' } })
  t.equal(f.att, undefined)
  d.decode(rec('tx', 2, acl(BR, l2(1, sig(0x02, 2, le16(0x01), le16(0x44))))))
  d.decode(rec('rx', 2, acl(BR, l2(1, sig(0x03, 2, le16(0), le16(0x44), le16(0x0002), le16(0)))))) // PSM not supported
  t.equal(d.decode(rec('rx', 2, acl(BR, l2(0x44, hex('00'))))).l2cap?.psm, undefined)
})

t.test('fast-check: random signalling and frames on random CIDs never throw', async (t) => {
  const cmd = fc.record({
    code: fc.constantFrom(0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x14, 0x15, 0x17, 0x18, 0x19),
    id: fc.integer({ min: 0, max: 3 }),
    data: fc.uint8Array({ maxLength: 16 }),
  })
  const step = fc.oneof(
    cmd.map((c) => ({ sig: true, ...c })),
    fc.record({ cid: fc.integer({ min: 0x40, max: 0x48 }), data: fc.uint8Array({ maxLength: 40 }) }),
  )
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), step), { maxLength: 60 }), (steps) => {
      const d = new TraceDecoder()
      d.decode(rec('rx', 4, hex('3e 13 01 00 4000 00 00 010203040506 1800 0000 c800 00')))
      for (const [tx, s] of steps) {
        const payload = 'sig' in s ? l2(5, sig(s.code, s.id, Buffer.from(s.data))) : l2(s.cid, Buffer.from(s.data))
        const r = d.decode(rec(tx ? 'tx' : 'rx', 2, acl(LE, payload)))
        if (r.error?.startsWith('internal')) return false
      }
      return true
    }),
    { seed: 15, numRuns: 300 },
  )
  t.pass('no internal errors')
})
