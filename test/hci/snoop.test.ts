// Capture readers on hand-written files: every byte below is written from the format
// descriptions (btsnoop, pcap, pcapng, BlueZ monitor), and tshark reads the same files.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CaptureError } from '../../hci/errors.ts'
import { fromHex, toHex } from '../../hci/wire.ts'
import { detectFormat, readCapture, type CaptureRecord } from '../../hci/snoop.ts'
import { realTest, realTrace } from '../helpers/real.ts'
import { missing } from '../helpers/tools.ts'

/** Options of the tests that ask tshark (tools.ts: skipped without it, failed under CI). */
const TSHARK = { skip: missing('tshark') }
const tmp = mkdtempSync(join(tmpdir(), 'hcikit-snoop-'))
t.teardown(() => rmSync(tmp, { recursive: true, force: true }))

const hex = (s: string): Uint8Array => fromHex(s.replace(/#[^\n]*/g, ''))

async function* chunksOf(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield p
}

async function readAll(bytes: Uint8Array, opts = {}): Promise<CaptureRecord[]> {
  const out: CaptureRecord[] = []
  for await (const r of readCapture(chunksOf(bytes), opts)) out.push(r)
  return out
}

function tshark(bytes: Uint8Array, name: string, fields: string[]): string[][] {
  const file = join(tmp, name)
  writeFileSync(file, bytes)
  const out = execFileSync(
    'tshark',
    ['-r', file, '-n', '-T', 'fields', '-E', 'occurrence=f', ...fields.flatMap((f) => ['-e', f])],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  ).toString()
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'))
}

const BTSNOOP = '6274736e6f6f7000 00000001' // "btsnoop\0", version 1
// 2023-11-14T22:13:20Z = 1700000000 s after 1970, plus btsnoop's 0x00dcddb30f2f8000 us to year 0
const TS_1700000000 = '00e2e7d7274dc000'

t.test('detectFormat reads the magic, for every spelling', async (t) => {
  t.equal(detectFormat(hex(BTSNOOP + '000003e9')), 'btsnoop-1001')
  t.equal(detectFormat(hex(BTSNOOP + '000003ea')), 'btsnoop-1002')
  t.equal(detectFormat(hex(BTSNOOP + '000007d1')), 'btsnoop-2001')
  t.equal(detectFormat(hex(BTSNOOP + '000003eb')), undefined, 'BCSP is not read')
  t.equal(detectFormat(hex('6274736e6f6f7000 0000')), undefined, 'too short to know the datalink')
  t.equal(detectFormat(hex('d4c3b2a1')), 'pcap')
  t.equal(detectFormat(hex('a1b2c3d4')), 'pcap')
  t.equal(detectFormat(hex('4d3cb2a1')), 'pcap-ns')
  t.equal(detectFormat(hex('a1b23c4d')), 'pcap-ns')
  t.equal(detectFormat(hex('0a0d0d0a 1c000000 4d3c2b1a')), 'pcapng')
  t.equal(detectFormat(hex('0a0d0d0a 0000001c 1a2b3c4d')), 'pcapng')
  t.equal(detectFormat(hex('0a0d0d0a 0000001c 00000000')), undefined)
  t.equal(detectFormat(new TextEncoder().encode('Hello, world! this is text')), undefined)
  t.equal(detectFormat(new Uint8Array(0)), undefined)
})

t.test('an unknown start throws CaptureError naming what we read', async (t) => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['text', new TextEncoder().encode('not a capture at all, really'), /first bytes 6e 6f 74 20/],
    ['empty', new Uint8Array(0), /empty/],
    ['btsnoop BCSP', hex(BTSNOOP + '000003eb'), /datalink 1003/],
    ['short btsnoop', hex('6274736e6f6f7000 00'), /truncated btsnoop header/],
    ['pcap ethernet', hex('d4c3b2a1 0200 0400 00000000 00000000 ffff0000 01000000'), /link type 1 /],
    ['short pcap header', hex('d4c3b2a1 0200 0400'), /truncated pcap header/],
  ]
  for (const [name, bytes, re] of cases) {
    const e = await readAll(bytes).then(
      () => undefined,
      (err: unknown) => err,
    )
    t.ok(e instanceof CaptureError, `${name}: CaptureError`)
    t.match((e as Error).message, re, name)
    if (name === 'text') t.match((e as Error).message, /btsnoop.*pcap.*pcapng/)
  }
})

t.test('btsnoop 1001: packet type from flags bit 1 and direction bit 0, as tshark says', TSHARK, async (t) => {
  const file = hex(`${BTSNOOP} 000003e9
    00000003 00000003 00000002 00000000 ${TS_1700000000}  030c00            # sent, cmd/evt: HCI_Reset
    00000006 00000006 00000003 00000000 00e2e7d7274dc001  0e0401030c00      # received, cmd/evt
    00000008 00000008 00000000 00000000 00e2e7d7274dc002  0100040000000400  # sent, data
    00000008 00000008 00000001 00000000 00e2e7d7274dc003  0120040000000400  # received, data
  `)
  const recs = await readAll(file)
  t.same(
    recs.map((r) => [r.index, r.packetType, r.direction, toHex(r.data), r.timestampUs]),
    [
      [1, 1, 'tx', '030c00', 1700000000000000n],
      [2, 4, 'rx', '0e0401030c00', 1700000000000001n],
      [3, 2, 'tx', '0100040000000400', 1700000000000002n],
      [4, 2, 'rx', '0120040000000400', 1700000000000003n],
    ],
  )
  const ts = tshark(file, 'h1.btsnoop', ['frame.number', 'hci_h1.direction', 'frame.protocols', 'frame.time_epoch'])
  t.equal(ts.length, recs.length)
  const proto = { 1: 'bthci_cmd', 2: 'bthci_acl', 4: 'bthci_evt' } as Record<number, string>
  for (const [i, r] of recs.entries()) {
    const [, dir, protocols, epoch] = ts[i]!
    t.equal(dir, r.direction === 'tx' ? '0' : '1', `frame ${r.index} direction`)
    t.match(protocols, proto[r.packetType!]!, `frame ${r.index} type`)
    t.equal(epoch, `1700000000.00000${i}000`)
  }
})

t.test('btsnoop 1002: odd records are reported and reading goes on', TSHARK, async (t) => {
  const file = hex(`${BTSNOOP} 000003ea
    00000000 00000000 00000000 00000000 ${TS_1700000000}             # no type byte at all
    00000004 00000004 00000001 00000000 0000000000000000 07010203    # type 7, timestamp 0 (year 0)
    00000020 00000004 00000003 00000000 00e2e7d7274dc005 040e0201    # snapped: 32 bytes originally
    00000004 00000004 00000000 00000000 ffffffffffffffff 01030c00    # timestamp -1 before year 0
  `)
  const recs = await readAll(file)
  t.equal(recs.length, 4)
  t.match(recs[0], {
    index: 1,
    packetType: undefined,
    direction: 'tx',
    timestampUs: 1700000000000000n,
    error: /type byte/,
  })
  t.match(recs[1], {
    packetType: 7,
    direction: 'rx',
    timestampUs: -0x00dcddb30f2f8000n,
    error: /unknown H4 packet type 0x07/,
  })
  t.equal(toHex(recs[1]!.data), '010203')
  t.match(recs[2], { packetType: 4, direction: 'rx', originalLength: 31, timestampUs: 1700000000000005n })
  t.equal(recs[2]!.data.length, 3)
  t.equal(recs[2]!.error, undefined)
  t.match(recs[3], { packetType: 1, direction: 'tx', timestampUs: -0x00dcddb30f2f8001n })
  const ts = tshark(file, 'odd.btsnoop', ['frame.number', 'frame.len', 'frame.cap_len'])
  t.same(ts, [
    ['1', '0', '0'],
    ['2', '4', '4'],
    ['3', '32', '4'],
    ['4', '4', '4'],
  ])
})

realTest('btsnoop 2001: the real monitor file is six control records, as tshark numbers them', TSHARK, async (t) => {
  const file = realTrace('felixwatts__batteread__capture.btsnoop')
  const { readFileSync } = await import('node:fs')
  const bytes = new Uint8Array(readFileSync(file))
  const recs = await readAll(bytes)
  t.same(
    recs.map((r) => [r.index, r.packetType, r.direction, r.adapter, r.note?.kind, r.note?.opcode, r.note?.text]),
    [
      [1, undefined, undefined, 0xffff, 'system-note', 12, 'Linux version 6.6.31+rpt-rpi-2712 (aarch64)'],
      [2, undefined, undefined, 0xffff, 'system-note', 12, 'Bluetooth subsystem version 2.22'],
      [3, undefined, undefined, 0, 'new-index', 0, 'hci0 2c:cf:67:30:e5:ef'],
      [4, undefined, undefined, 0, 'open-index', 8, undefined],
      [5, undefined, undefined, 0, 'index-info', 10, '2c:cf:67:30:e5:ef manufacturer 0x0131'],
      [6, undefined, undefined, 0xffff, 'ctrl-open', 14, 'bluetoothd'],
    ],
  )
  const ts = tshark(bytes, 'mon.btsnoop', [
    'frame.number',
    'hci_mon.opcode',
    'hci_mon.adapter_id',
    'frame.len',
    'frame.time_epoch',
  ])
  t.equal(ts.length, recs.length)
  for (const [i, r] of recs.entries()) {
    t.same(ts[i]!.slice(1, 4), [String(r.note!.opcode), String(r.adapter), String(r.data.length)], `frame ${r.index}`)
    t.equal(ts[i]![4], `${r.timestampUs / 1_000_000n}.${String(r.timestampUs % 1_000_000n).padStart(6, '0')}000`)
  }
})

t.test('btsnoop 2001: packet opcodes map to H4 types and directions', TSHARK, async (t) => {
  const rec = (opcode: string, data: string, n: number): string => {
    const len = (data.replace(/ /g, '').length / 2).toString(16).padStart(8, '0')
    return `${len} ${len} 0000${opcode} 00000000 00e2e7d7274dc00${n} ${data}`
  }
  const file = hex(`${BTSNOOP} 000007d1
    ${rec('0002', '030c00', 0)}
    ${rec('0003', '0e0401030c00', 1)}
    ${rec('0004', '4000050001000400aa', 2)}
    ${rec('0005', '4020050001000400bb', 3)}
    ${rec('0006', '4000010a', 4)}
    ${rec('0007', '4000010b', 5)}
    ${rec('0012', '01000400010000aa', 6)}
    ${rec('0013', '01000400010000bb', 7)}
    ${rec('000d', '06 05 68636964 00 68656c6c6f00', 8)}
    ${rec('0001', '', 9)}
  `)
  const recs = await readAll(file)
  t.same(
    recs.map((r) => [r.packetType, r.direction, r.note?.kind, r.note?.text]),
    [
      [1, 'tx', undefined, undefined],
      [4, 'rx', undefined, undefined],
      [2, 'tx', undefined, undefined],
      [2, 'rx', undefined, undefined],
      [3, 'tx', undefined, undefined],
      [3, 'rx', undefined, undefined],
      [5, 'tx', undefined, undefined],
      [5, 'rx', undefined, undefined],
      [undefined, undefined, 'user-logging', 'hcid: hello'],
      [undefined, undefined, 'delete-index', undefined],
    ],
  )
  t.equal(toHex(recs[2]!.data), '4000050001000400aa', 'no type byte is added or removed')
  const ts = tshark(file, 'mon2.btsnoop', ['frame.number', 'hci_mon.opcode', 'frame.protocols'])
  t.same(
    ts.map((f) => Number(f[1])),
    [2, 3, 4, 5, 6, 7, 18, 19, 13, 1],
    'tshark reads the same opcodes',
  )
  // tshark 4.0 dissects the packets inside, except ISO, which it leaves undissected.
  const proto = { 1: 'bthci_cmd', 2: 'bthci_acl', 3: 'bthci_sco', 4: 'bthci_evt' } as Record<number, string>
  for (const [i, r] of recs.entries()) {
    const p = proto[r.packetType ?? 0]
    if (p !== undefined) t.match(ts[i]![2], p, `frame ${r.index}: ${ts[i]![2]}`)
  }
})

t.test('pcap: both byte orders, micro- and nanoseconds, direction word, as tshark reads them', TSHARK, async (t) => {
  // 1600000000 s = 0x5f5e1000; 123456 us = 0x0001e240; 123456789 ns = 0x075bcd15
  const beHeader = 'a1b2c3d4 0002 0004 00000000 00000000 0000ffff 000000c9'
  const beCmd = '5f5e1000 0001e240 00000008 00000008  00000000 01030c00' // sent: command
  const beEvt = '5f5e1000 0001e241 0000000b 0000000b  00000001 040e0401030c00' // received: event
  const beShort = '5f5e1000 0001e242 00000003 00000003  000000' // too short for the direction word
  const beAcl = '5f5e1000 0001e243 00000005 00000005  80000001 02' // other bits ignored; ACL, no header
  const be = hex([beHeader, beCmd, beEvt, beShort, beAcl].join(' '))
  // The direction word stays big-endian in a little-endian file.
  const ns = hex(`4d3cb2a1 0200 0400 00000000 00000000 ffff0000 c9000000
    00105e5f 15cd5b07 08000000 08000000  00000000 01030c00
    00105e5f ffc99a3b 0b000000 0b000000  00000001 040e0401030c00      # 999999999 ns
  `)
  const a = await readAll(be)
  t.same(
    a.map((r) => [r.packetType, r.direction, r.timestampUs, toHex(r.data), r.originalLength, r.error === undefined]),
    [
      [1, 'tx', 1600000000123456n, '030c00', 3, true],
      [4, 'rx', 1600000000123457n, '0e0401030c00', 6, true],
      [undefined, undefined, 1600000000123458n, '000000', 3, false],
      [2, 'rx', 1600000000123459n, '', 0, true],
    ],
  )
  const b = await readAll(ns)
  t.same(
    b.map((r) => [r.packetType, r.direction, r.timestampUs]),
    [
      [1, 'tx', 1600000000123456n],
      [4, 'rx', 1600000000999999n],
    ],
  )
  // tshark gives up on the whole file at the short record, so it reads the file without it.
  t.same(
    tshark(hex([beHeader, beCmd, beEvt, beAcl].join(' ')), 'be.pcap', [
      'hci_h4.type',
      'hci_h4.direction',
      'frame.time_epoch',
    ]),
    [
      ['0x01', '0x00', '1600000000.123456000'],
      ['0x04', '0x01', '1600000000.123457000'],
      ['0x02', '0x01', '1600000000.123459000'],
    ],
  )
  t.same(tshark(ns, 'ns.pcap', ['hci_h4.type', 'hci_h4.direction', 'frame.time_epoch']), [
    ['0x01', '0x00', '1600000000.123456789'],
    ['0x04', '0x01', '1600000000.999999999'],
  ])
})

t.test('pcap link types 187 (no direction) and 254 (monitor)', async (t) => {
  const h4 = hex(`d4c3b2a1 0200 0400 00000000 00000000 ffff0000 bb000000
    00105e5f 00000000 04000000 04000000 01030c00`)
  t.match(await readAll(h4), [{ packetType: 1, direction: undefined, data: fromHex('030c00') }])
  const mon = hex(`d4c3b2a1 0200 0400 00000000 00000000 ffff0000 fe000000
    00105e5f 00000000 0a000000 0a000000 0000 0003 0e0401030c00`)
  t.match(await readAll(mon), [{ packetType: 4, direction: 'rx', adapter: 0, data: fromHex('0e0401030c00') }])
})

// Section 1, little-endian: nanosecond interface, a block nobody knows, an EPB, an SPB.
// Section 2, big-endian: default (microsecond) interface, an EPB.
const SHB_LE = '0a0d0d0a 1c000000 4d3c2b1a 0100 0000 ffffffffffffffff 1c000000'
const IDB_NS = '01000000 20000000 c900 0000 00000400  0900 0100 09000000  0000 0000 20000000' // if_tsresol 9
const UNKNOWN = '99000000 10000000 deadbeef 10000000'
const ISB = '05000000 18000000 00000000 00000000 00000000 18000000'
// 1600000000123456789 ns = 0x1634578515cdfbdf (high word, low word)
const EPB_CMD = '06000000 28000000 00000000 85573416 15cdfbdf 08000000 08000000  00000000 01030c00  28000000'
const SPB_EVT = '03000000 20000000 0b000000  00000001 040e0401 030c0000 00000000  20000000'
const SHB_BE = '0a0d0d0a 0000001c 1a2b3c4d 0001 0000 ffffffffffffffff 0000001c'
const IDB_US_BE = '00000001 00000014 00c9 0000 00000000 00000014'
// 1600000000123456 us = 0x0005af3107a5e240
const EPB_ACL_BE =
  '00000006 0000002c 00000000 0005af31 07a5e240 00000009 00000009  00000001 02010000 00000000  0000002c'

t.test('pcapng: sections in both byte orders, if_tsresol, SPB, unknown blocks skipped', TSHARK, async (t) => {
  const file = hex([SHB_LE, IDB_NS, UNKNOWN, ISB, EPB_CMD, SPB_EVT, SHB_BE, IDB_US_BE, EPB_ACL_BE].join(' '))
  const recs = await readAll(file)
  t.same(
    recs.map((r) => [r.index, r.packetType, r.direction, r.timestampUs, toHex(r.data), r.originalLength, r.error]),
    [
      [1, 1, 'tx', 1600000000123456n, '030c00', 3, undefined],
      [2, 4, 'rx', 0n, '0e0401030c00', 6, undefined],
      [3, 2, 'rx', 1600000000123456n, '01000000', 4, undefined],
    ],
  )
  const ts = tshark(file, 'hand.pcapng', ['frame.number', 'hci_h4.type', 'hci_h4.direction', 'frame.len'])
  t.same(
    ts,
    recs.map((r) => [
      String(r.index),
      `0x0${r.packetType}`,
      `0x0${r.direction === 'tx' ? 0 : 1}`,
      String(r.originalLength + 1),
    ]),
  )
})

t.test('pcapng: custom blocks keep their frame number; broken blocks end the read', TSHARK, async (t) => {
  const custom = 'ad0b0040 14000000 deadbeef 01020304 14000000'
  const recs = await readAll(hex([SHB_LE, IDB_NS, custom, EPB_CMD].join(' ')))
  t.match(recs, [
    { index: 1, packetType: undefined, note: { kind: 'pcapng-custom-block', opcode: 0x40000bad } },
    { index: 2, packetType: 1 },
  ])
  t.equal(
    tshark(hex([SHB_LE, IDB_NS, custom, EPB_CMD].join(' ')), 'custom.pcapng', ['frame.number', 'hci_h4.type']).length,
    2,
    'tshark numbers the custom block too',
  )

  const badLength = await readAll(hex([SHB_LE, IDB_NS, '06000000 1e000000 00000000', EPB_CMD].join(' ')))
  t.match(badLength, [{ index: 1, error: /impossible length 30/ }])
  const mismatch = await readAll(hex([SHB_LE, IDB_NS, EPB_CMD.replace(/28000000$/, '2c000000'), EPB_CMD].join(' ')))
  t.match(mismatch, [{ index: 1, error: /trailing length/ }])
  t.equal(mismatch.length, 1)
  const noInterface = await readAll(hex([SHB_LE, EPB_CMD, IDB_NS, EPB_CMD].join(' ')))
  t.match(noInterface, [
    { index: 1, error: /interface 0/ },
    { index: 2, packetType: 1, error: undefined },
  ])
  const tooLong = await readAll(
    hex(
      [
        SHB_LE,
        IDB_NS,
        '06000000 28000000 00000000 85573416 15cdfbdf 09000000 08000000 00000000 01030c00 28000000',
      ].join(' '),
    ),
  )
  t.match(tooLong, [{ index: 1, error: /claims 9 captured bytes/ }])
})

realTest('truncation: the last record reports it, nothing throws', async (t) => {
  const { readFileSync } = await import('node:fs')
  const whole = new Uint8Array(readFileSync(realTrace('cnrd__yeelock__btsnoop_hci.log')))
  const all = await readAll(whole)
  // Record 10 ends where record 11's header starts; cut 5 bytes into record 11's data.
  let end = 16
  for (let i = 0; i < 10; i++) end += 24 + all[i]!.data.length + 1
  const atBoundary = await readAll(whole.subarray(0, end))
  t.equal(atBoundary.length, 10)
  t.notOk(atBoundary.some((r) => r.error !== undefined))
  const midData = await readAll(whole.subarray(0, end + 24 + 5))
  t.equal(midData.length, 11)
  t.match(midData[10], {
    index: 11,
    packetType: undefined,
    error: /truncated record at byte \d+: header says \d+ bytes, the file ends after 5/,
  })
  const midHeader = await readAll(whole.subarray(0, end + 7))
  t.match(midHeader[10], { index: 11, error: /truncated record header: 7 of 24/ })
})

t.test('a length over the bound ends the read without buffering', async (t) => {
  const file = hex(`${BTSNOOP} 000003ea
    00000004 00000004 00000000 00000000 ${TS_1700000000} 01030c00
    7fffffff 7fffffff 00000000 00000000 ${TS_1700000000} 01030c00
    00000004 00000004 00000000 00000000 ${TS_1700000000} 01030c00`)
  const recs = await readAll(file)
  t.equal(recs.length, 2)
  t.match(recs[1], { index: 2, error: /claims 2147483647 bytes, over the 16777216-byte bound/ })
  t.equal(recs[1]!.data.length, 0)
  const small = await readAll(
    hex(`${BTSNOOP} 000003ea 00000004 00000004 00000000 00000000 ${TS_1700000000} 01030c00`),
    {
      maxRecordBytes: 3,
    },
  )
  t.match(small, [{ error: /over the 3-byte bound/ }])
})

t.test('records are plain Uint8Array views of the chunks, and leaving early closes the source', async (t) => {
  const file = Buffer.from(
    hex(`${BTSNOOP} 000003ea
    00000004 00000004 00000000 00000000 ${TS_1700000000} 01030c00
    00000004 00000004 00000000 00000000 ${TS_1700000000} 01030c00`),
  )
  let closed = false
  async function* source(): AsyncGenerator<Uint8Array> {
    try {
      yield file
      yield file.subarray(16) // never reached
    } finally {
      closed = true
    }
  }
  for await (const r of readCapture(source())) {
    t.equal(r.data.constructor, Uint8Array)
    t.equal(r.data.buffer, file.buffer, 'a view, not a copy')
    break
  }
  t.ok(closed)
})

t.test('chunks that are not bytes are refused with a hint', async (t) => {
  async function* strings(): AsyncGenerator<unknown> {
    yield 'btsnoop'
  }
  const it = readCapture(strings() as AsyncIterable<Uint8Array>)
  await t.rejects(it.next(), { name: 'CaptureError', hint: /encoding/ })
})
