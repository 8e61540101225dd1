// Capture writers: the bytes of a record as the formats define them (written here by hand),
// and a few hundred packets of a real trace written to files and to a pipe that tshark reads.
import t from 'tap'
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { fromHex, toHex } from '../../hci/wire.ts'
import { BtsnoopWriter, PcapWriter, readCapture, type CaptureRecord, type SnoopWriteRecord } from '../../hci/snoop.ts'
import { createCaptureFile, openCapture, writableSink } from '../../src/capture-file.ts'
import { realTest, realTrace } from '../helpers/real.ts'
import { missing } from '../helpers/tools.ts'

const TSHARK = { skip: missing('tshark') }
const tmp = mkdtempSync(join(tmpdir(), 'hcikit-snoop-writers-'))
t.teardown(() => rmSync(tmp, { recursive: true, force: true }))

// Compile-time: process.stdout is a sink as it is.
export const toStdout = (): [BtsnoopWriter, PcapWriter] => [
  new BtsnoopWriter(process.stdout),
  new PcapWriter(process.stdout),
]

function collector(): { chunks: Uint8Array[]; write(c: Uint8Array): void } {
  const chunks: Uint8Array[] = []
  return { chunks, write: (c) => void chunks.push(c) }
}

const RESET: SnoopWriteRecord = { timestampUs: 0n, direction: 'tx', packetType: 1, data: fromHex('030c00') }
const COMPLETE: SnoopWriteRecord = {
  timestampUs: 1600000000123456n,
  direction: 'rx',
  packetType: 4,
  data: fromHex('0e0401030c00'),
}
const ACL_IN: SnoopWriteRecord = {
  timestampUs: 1600000000123457n,
  direction: 'rx',
  packetType: 2,
  data: fromHex('40200000'),
}

t.test('btsnoop writer: header at once, then one chunk per record', async (t) => {
  const sink = collector()
  const w = new BtsnoopWriter(sink)
  t.same(
    sink.chunks.map(toHex),
    ['6274736e6f6f7000' + '00000001' + '000003ea'],
    'header: magic, version 1, datalink 1002',
  )
  t.equal(w.write(RESET), undefined, 'a synchronous sink keeps write synchronous')
  w.write(COMPLETE)
  w.write(ACL_IN)
  t.same(
    sink.chunks.slice(1).map(toHex),
    [
      // original, included, flags (sent, command), drops, 1970-01-01 as microseconds since year 0
      '00000004 00000004 00000002 00000000 00dcddb30f2f8000 01 030c00',
      // received, event; 1600000000123456 + 0x00dcddb30f2f8000 = 0x00e28ce416d56240
      '00000007 00000007 00000003 00000000 00e28ce416d56240 04 0e0401030c00',
      '00000005 00000005 00000001 00000000 00e28ce416d56241 02 40200000',
    ].map((s) => s.replace(/ /g, '')),
  )
})

t.test('pcap writer: link type 201, microseconds, direction word big-endian', async (t) => {
  const sink = collector()
  const w = new PcapWriter(sink)
  w.write(COMPLETE)
  w.write({ ...RESET, timestampUs: 1600000000123456n })
  t.same(
    sink.chunks.map(toHex),
    [
      'd4c3b2a1 0200 0400 00000000 00000000 ffff0000 c9000000',
      // 1600000000 = 0x5f5e1000, 123456 = 0x0001e240, 11 bytes: direction word 1, type, event
      '00105e5f 40e20100 0b000000 0b000000 00000001 04 0e0401030c00',
      '00105e5f 40e20100 08000000 08000000 00000000 01 030c00',
    ].map((s) => s.replace(/ /g, '')),
  )
})

t.test('writers refuse what their format cannot say', async (t) => {
  const b = new BtsnoopWriter(collector())
  const p = new PcapWriter(collector())
  t.throws(() => b.write({ ...RESET, direction: 'up' as 'tx' }), RangeError)
  t.throws(() => b.write({ ...RESET, packetType: 256 }), RangeError)
  t.throws(() => b.write({ ...RESET, timestampUs: 1n << 63n }), RangeError)
  t.throws(() => p.write({ ...RESET, timestampUs: -1n }), /1970/)
  t.throws(() => new BtsnoopWriter(collector(), { datalink: 1001 as 1002 }), RangeError)
  // Before 1970 is fine in btsnoop (the file keeps microseconds since year 0).
  t.doesNotThrow(() => b.write({ ...RESET, timestampUs: -1051674456214n }))
})

t.test('an asynchronous sink: writes stay in order and the promise carries back-pressure', async (t) => {
  const pending: (() => void)[] = []
  const seen: number[] = []
  const sink = {
    write(c: Uint8Array): Promise<void> {
      return new Promise((resolve) =>
        pending.push(() => {
          seen.push(c.length)
          resolve()
        }),
      )
    },
  }
  const w = new PcapWriter(sink)
  const p1 = w.write(RESET)
  const p2 = w.write(COMPLETE)
  t.ok(p1 instanceof Promise && p2 instanceof Promise, "write returns the sink's promise")
  t.equal(pending.length, 1, 'only the header is with the sink; the records wait behind it')
  let flushed = false
  const f = w.flush().then(() => (flushed = true))
  while (pending.length > 0) {
    t.notOk(flushed, 'flush waits for the sink')
    pending.shift()!()
    await new Promise((resolve) => setImmediate(resolve))
  }
  await Promise.all([p1, p2, f])
  t.same(seen, [24, 16 + 8, 16 + 11], 'header, then the records in order')
})

/** The first `n` packets of a real trace with commands, events and ACL, no malformed frames. */
async function realPackets(n: number): Promise<CaptureRecord[]> {
  const out: CaptureRecord[] = []
  for await (const r of openCapture(realTrace('tonton81__test__btsnoop_hci.log'))) {
    if (out.length === n) break
    out.push(r)
  }
  return out
}

const TS_FIELDS = [
  'frame.number',
  'hci_h4.type',
  'hci_h4.direction',
  '_ws.malformed',
  'bthci_cmd.opcode',
  'bthci_evt.code',
  'bthci_acl.chandle',
]

function tsharkArgs(input: string, count?: number): string[] {
  return [
    '-r',
    input,
    '-n',
    ...(count ? ['-c', String(count)] : []),
    '-T',
    'fields',
    '-E',
    'occurrence=f',
    ...TS_FIELDS.flatMap((f) => ['-e', f]),
  ]
}

function lines(out: string): string[][] {
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'))
}

realTest('a real trace written by each writer: tshark sees the same packets, nothing malformed', TSHARK, async (t) => {
  const packets = await realPackets(400)
  const types = new Set(packets.map((p) => p.packetType))
  t.same([...types].sort(), [1, 2, 4], 'the sample has commands, ACL and events')
  const original = lines(
    execFileSync('tshark', tsharkArgs(realTrace('tonton81__test__btsnoop_hci.log'), packets.length), {
      stdio: ['ignore', 'pipe', 'ignore'],
    }).toString(),
  )
  t.equal(original.length, 400)
  t.notOk(
    original.some((f) => f[3] !== ''),
    'the original frames are not malformed either',
  )

  for (const format of ['btsnoop-1002', 'pcap'] as const) {
    const path = join(tmp, `written.${format}`)
    const file = createCaptureFile(path, format)
    for (const p of packets)
      await file.write({ timestampUs: p.timestampUs, direction: p.direction!, packetType: p.packetType!, data: p.data })
    await file.close()
    const frames = lines(execFileSync('tshark', tsharkArgs(path), { stdio: ['ignore', 'pipe', 'ignore'] }).toString())
    t.equal(frames.length, packets.length, `${format}: frame count`)
    t.same(
      frames.filter((f) => f[3] !== '').map((f) => f[0]),
      [],
      `${format}: no malformed frames`,
    )
    t.same(frames, original, `${format}: same type, direction, opcode, event code, handle in every frame`)
    const back: CaptureRecord[] = []
    for await (const r of openCapture(path)) back.push(r)
    t.same(
      back.map((r) => [r.index, r.timestampUs, r.direction, r.packetType, toHex(r.data), r.originalLength, r.error]),
      packets.map((r) => [r.index, r.timestampUs, r.direction, r.packetType, toHex(r.data), r.data.length, undefined]),
      `${format}: reads back identically`,
    )
  }
})

realTest('streaming: records written to a pipe are read while it is being written', async (t) => {
  const packets = await realPackets(300)
  // A small pipe buffer, so back-pressure is really used; the reader runs concurrently.
  const pipe = new PassThrough({ highWaterMark: 256 })
  const reading = (async () => {
    const got: CaptureRecord[] = []
    for await (const r of readCapture(pipe)) got.push(r)
    return got
  })()
  const w = new BtsnoopWriter(writableSink(pipe))
  for (const p of packets)
    await w.write({ timestampUs: p.timestampUs, direction: p.direction!, packetType: p.packetType!, data: p.data })
  await w.flush()
  pipe.end()
  const got = await reading
  t.same(
    got.map((r) => toHex(r.data)),
    packets.map((r) => toHex(r.data)),
  )
})

realTest('streaming: tshark reads a pcap from its standard input as the writer produces it', TSHARK, async (t) => {
  const packets = await realPackets(300)
  // Node hands a child a socket, not a pipe, and tshark will only read a pipe: cat makes one.
  const child = spawn('sh', ['-c', `cat | tshark ${tsharkArgs('-').join(' ')}`], { stdio: ['pipe', 'pipe', 'ignore'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  const done = new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)))
  const w = new PcapWriter(writableSink(child.stdin))
  for (const p of packets)
    await w.write({ timestampUs: p.timestampUs, direction: p.direction!, packetType: p.packetType!, data: p.data })
  await w.flush()
  child.stdin.end()
  t.equal(await done, 0)
  const frames = lines(out)
  t.equal(frames.length, 300)
  t.same(
    frames.map((f) => [f[1], f[2]]),
    packets.map((p) => [`0x0${p.packetType}`, p.direction === 'tx' ? '0x00' : '0x01']),
  )
  t.notOk(
    frames.some((f) => f[3] !== ''),
    'no malformed frames',
  )
})

t.test('a capture file reports a failing disk as CaptureError', async (t) => {
  // At once, where the caller can still say so: a missing directory when the file is created,
  // a full device when its header is written.
  t.throws(() => createCaptureFile(join(tmp, 'no-such-dir', 'x.btsnoop'), 'btsnoop-1002'), {
    name: 'CaptureError',
    message: /cannot create capture .*no-such-dir.*: no such file or directory/,
    hint: /directory does not exist/,
  })
  t.throws(() => createCaptureFile('/dev/full', 'pcap'), {
    name: 'CaptureError',
    message: /cannot write capture \/dev\/full: no space left on device/,
  })
  const missing = openCapture(join(tmp, 'missing.pcap'))
  await t.rejects(missing.next(), { name: 'CaptureError', message: /cannot read/ })
})
