/**
 * The trace decoder (src/decoder.ts) on hand-written records: JSON shape per packet type, ACL
 * reassembly across fragments with the ATT PDU on the completing record, connection tracking
 * (unknown handles flagged), reassembly errors reported on the record, and fast-check: random
 * records never throw and never hit an internal error.
 */
import t from 'tap'
import fc from 'fast-check'
import { TraceDecoder, formatRecord, type DecodedRecord } from '../../src/decoder.ts'
import type { CaptureRecord } from '../../hci/snoop.ts'
import { fromHex } from '../../hci/wire.ts'

let index = 0
function rec(packetType: number | undefined, hex: string, direction: 'tx' | 'rx' = 'rx'): CaptureRecord {
  const data = fromHex(hex)
  return {
    index: ++index,
    timestampUs: 1_700_000_000_000_000n,
    direction,
    packetType,
    data,
    originalLength: data.length,
  }
}

t.test('command, event, advertising report', async (t) => {
  const d = new TraceDecoder()
  // LE Set Scan Enable (0x200c): enable=1, filter duplicates=0
  const c = d.decode(rec(1, '0c20020100', 'tx'))
  t.match(c, { type: 'cmd', dir: 'tx', opcode: 0x200c, name: 'LE Set Scan Enable', params: { enable: 1 } })
  // Command Complete for it, status 0
  const cc = d.decode(rec(4, '0e04010c2000'))
  t.match(cc, { type: 'evt', event: 0x0e, opcode: 0x200c, status: 0, statusName: 'Success (0x00)' })
  // LE Advertising Report: 1 report, ADV_IND, random, address EE:2E:5A:9D:45:E6, 3 bytes of data (flags), rssi -74
  const adv = d.decode(rec(4, '3e0f020100' + '01' + 'e6459d5a2eee' + '03' + '020106' + 'b6'))
  t.equal(adv.subevent, 2)
  t.same(
    adv.reports?.map((r) => [r.address, r.addressType, r.rssi, r.eventType, r.data]),
    [['EE:2E:5A:9D:45:E6', 1, -74, 0, '020106']],
  )
  t.equal((adv.reports?.[0]?.ad as { flags?: number } | undefined)?.flags, 6)
  t.equal(adv.params, undefined, 'reports replace params')
})

t.test('ACL: connection tracking, reassembly, ATT on the completing record', async (t) => {
  const d = new TraceDecoder()
  // ATT before any connection on handle 0x0040: still decoded, flagged
  const early = d.decode(rec(2, '4000' + '0700' + '0300' + '0400' + '0a0300', 'tx'))
  t.equal(early.unknownHandle, true)
  t.match(early.att, { opcode: 0x0a, name: 'Read Request', handle: 3 })
  // LE Connection Complete, status 0, handle 0x0040
  d.decode(rec(4, '3e13' + '01' + '00' + '4000' + '00' + '00' + '665544332211' + '2800' + '0000' + '4800' + '00'))
  // a notification of handle 0x0025 with 4 value bytes, in two fragments: start (PB=2) + continuation (PB=1)
  const a = d.decode(rec(2, '4020' + '0600' + '0700' + '0400' + '1b25'))
  t.equal(a.unknownHandle, undefined)
  t.equal(a.att, undefined, 'nothing complete yet')
  t.equal(a.pb, 2)
  const b = d.decode(rec(2, '4010' + '0500' + '00aabbccdd'))
  t.same(b.l2cap, { cid: 4, length: 7 })
  t.match(b.att, { opcode: 0x1b, name: 'Handle Value Notification', handle: 0x25, value: 'aabbccdd' })
  // a continuation with nothing started is reported on the record, not thrown
  const orphan = d.decode(rec(2, '4010' + '0200' + '0102'))
  t.match(orphan.l2capError, /continuing fragment/)
  // SMP Pairing Request on CID 6, signalling Connection Parameter Update Request on CID 5
  const smp = d.decode(rec(2, '4000' + '0b00' + '0700' + '0600' + '01030009100707', 'tx'))
  t.match(smp.smp, { code: 1, name: 'Pairing Request' })
  const sig = d.decode(rec(2, '4020' + '1000' + '0c00' + '0500' + '12010800' + '0600' + '0c00' + '0000' + 'c800'))
  t.match(sig.signaling, { code: 0x12, identifier: 1 })
  // Disconnection Complete forgets the handle
  d.decode(rec(4, '0504' + '00' + '4000' + '13'))
  t.equal(d.decode(rec(2, '4020' + '0500' + '0100' + '0400' + '1e')).unknownHandle, true)
})

t.test('records that cannot be decoded carry error, and decoding goes on', async (t) => {
  const d = new TraceDecoder()
  t.match(d.decode(rec(4, '0e05010c20')), { type: 'evt', error: /parameterTotalLength/ })
  t.match(d.decode(rec(1, '0c2005', 'tx')), { type: 'cmd', opcode: 0x200c, error: /./ })
  t.match(d.decode(rec(2, '40')), { type: 'acl', error: /handle/ })
  t.match(d.decode(rec(7, '0102')), { type: 'other', error: /unknown packet type 0x7/ })
  t.match(d.decode({ ...rec(4, ''), error: 'truncated record' }), { error: 'truncated record' })
  t.match(d.decode(rec(1, '030c00', 'tx')), { name: 'Reset' }, 'still decoding')
})

t.test('the human line', async (t) => {
  const d = new TraceDecoder()
  const line = formatRecord(d.decode(rec(1, '030c00', 'tx')))
  t.match(line, /^#\d+ < CMD Reset \(0x0c03\)/)
})

t.test('property: random records never throw and never hit an internal error', async (t) => {
  const d = new TraceDecoder({ maxPdu: 1024 })
  let n = 0
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 7 }), fc.uint8Array({ maxLength: 300 }), fc.boolean(), (type, data, tx) => {
      const r: DecodedRecord = d.decode({
        index: ++n,
        timestampUs: 0n,
        direction: tx ? 'tx' : 'rx',
        packetType: type,
        data,
        originalLength: data.length,
      })
      JSON.stringify(r)
      formatRecord(r)
      return !(r.error ?? '').startsWith('internal')
    }),
    { numRuns: 20000, seed: 42 },
  )
  // ACL starts that announce big PDUs on many handles: held bytes stay within the bound per handle
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 0xeff }), fc.uint8Array({ minLength: 4, maxLength: 60 })), {
        maxLength: 200,
      }),
      (pkts) => {
        for (const [h, body] of pkts) {
          const hdr = new Uint8Array([h & 0xff, ((h >> 8) & 0x0f) | 0x20, body.length & 0xff, body.length >> 8])
          const data = new Uint8Array(4 + body.length)
          data.set(hdr)
          data.set(body, 4)
          const r = d.decode({
            index: ++n,
            timestampUs: 0n,
            direction: 'rx',
            packetType: 2,
            data,
            originalLength: data.length,
          })
          if ((r.error ?? '').startsWith('internal')) return false
        }
        return true
      },
    ),
    { numRuns: 200, seed: 7 },
  )
  t.pass('no throw, no internal error')
})
