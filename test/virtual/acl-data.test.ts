/**
 * ACL data through connected virtual controllers (src/virtual/acl-data.ts, ll-connection.ts):
 * PDUs of every size both ways, fragmented to each receiving host's buffer size with PB 0b10 /
 * 0b01 (Core v5.4 Vol 4 Part E 5.4.2), Number Of Completed Packets never more than was sent and
 * never letting a host exceed the buffer count (4.1.1, 7.7.19), Data Buffer Overflow (7.7.26),
 * the timing model (connection interval x packets per event, LL payload size), loss that only
 * delays (order and content kept), and buffers freed by a disconnection.
 */
import t, { type Test } from 'tap'
import * as C from '../../hci/commands.ts'
import { encodeCommand } from '../../hci/commands.ts'
import { encodeAcl } from '../../hci/acl.ts'
import { H4Type } from '../../hci/constants.ts'
import { toHex } from '../../hci/wire.ts'
import { world, rawOn, settle, type World } from '../helpers/virtual.ts'
import { aclHeader, advertise, connect, createParams, l2cap, node, until, type Node } from '../helpers/virtual-conn.ts'
import { connectionsOf } from '../../src/virtual/connections.ts'
import { aclStats } from '../../src/virtual/acl-data.ts'

/** Payload sizes around every boundary that matters (27, 100, 251) and up to past 2000. */
const SIZES = [
  0, 1, 2, 22, 23, 24, 26, 27, 28, 96, 97, 99, 100, 101, 247, 250, 251, 252, 500, 1000, 1999, 2000, 2001, 2100,
]

/** Check the raw fragments a host received for `pdus` (in order): sizes and PB flags. */
function checkFragments(t: Tap, rx: Node, pdus: Uint8Array[], bufferSize: number, handle: number): void {
  const frags = rx.aclIn.map((p) => ({ h: aclHeader(p), data: p.subarray(4) })).filter((f) => f.h.handle === handle)
  let i = 0
  for (const [k, pdu] of pdus.entries()) {
    const expect = Math.max(1, Math.ceil(pdu.length / bufferSize))
    const mine = frags.slice(i, i + expect)
    i += expect
    t.equal(mine[0]?.h.pb, 0b10, `PDU ${k} (${pdu.length} bytes): first fragment PB 0b10`)
    t.ok(
      mine.slice(1).every((f) => f.h.pb === 0b01),
      `PDU ${k}: continuations PB 0b01`,
    )
    t.ok(
      mine.every((f) => f.h.bc === 0),
      `PDU ${k}: BC 0`,
    )
    t.ok(
      mine.slice(0, -1).every((f) => f.data.length === bufferSize),
      `PDU ${k}: full fragments of ${bufferSize}`,
    )
    t.equal(
      mine.reduce((n, f) => n + f.data.length, 0),
      pdu.length,
      `PDU ${k}: all bytes`,
    )
  }
  t.equal(i, frags.length, 'no extra fragments')
}
type Tap = Test

/** Replay a node's send/complete log: outstanding per controller never above `count`, never below 0. */
function checkCredits(t: Tap, n: Node, count: number): void {
  let out = 0
  let max = 0
  let negative = false
  for (const c of n.credits) {
    out += c.delta
    max = Math.max(max, out)
    if (out < 0) negative = true
  }
  t.ok(max <= count, `${n.name}: at most ${count} packets outstanding (max ${max})`)
  t.notOk(negative, `${n.name}: never completed more than was sent`)
  t.equal(out, 0, `${n.name}: everything completed in the end`)
  t.equal(n.host.stats.aclExcessCompletions, 0)
  t.equal(aclStats(n.controller).overflows, 0, `${n.name}: the controller never overflowed`)
}

async function pair(
  w: World,
  timing: 'fast' | 'realistic',
  extra: { aLen?: number; bLen?: number; aCount?: number; bCount?: number; ppe?: number } = {},
): Promise<{ a: Node; b: Node; ch: number; ph: number }> {
  const a = await node(w, 'a', {
    timing,
    aclDataLength: extra.aLen ?? 27,
    aclCount: extra.aCount ?? 3,
    packetsPerEvent: extra.ppe ?? 4,
  })
  const b = await node(w, 'b', {
    timing,
    aclDataLength: extra.bLen ?? 100,
    aclCount: extra.bCount ?? 5,
    packetsPerEvent: extra.ppe ?? 4,
  })
  const { ch, ph } = await connect(w, a, b)
  return { a, b, ch, ph }
}

for (const timing of ['fast', 'realistic'] as const) {
  t.test(
    `${timing}: PDUs of 0-2100 payload bytes both ways, fragmented to each host's buffer, credits respected`,
    async (t) => {
      const w = world()
      const { a, b, ch, ph } = await pair(w, timing)
      const toB = SIZES.map((n, i) => l2cap(n, i))
      const toA = SIZES.map((n, i) => l2cap(n, 100 + i, 0x0005))
      for (const p of toB) void a.host.sendAcl(ch, p)
      for (const p of toA) void b.host.sendAcl(ph, p)
      t.ok(await until(w, () => b.pdus.length === toB.length && a.pdus.length === toA.length, 30_000), 'all delivered')
      t.same(
        b.pdus.map((p) => toHex(p.pdu)),
        toB.map(toHex),
        'a -> b: every PDU, in order',
      )
      t.same(
        a.pdus.map((p) => toHex(p.pdu)),
        toA.map(toHex),
        'b -> a: every PDU, in order',
      )
      t.ok(b.pdus.every((p) => p.handle === ph) && a.pdus.every((p) => p.handle === ch))
      checkFragments(t, b, toB, 100, ph)
      checkFragments(t, a, toA, 27, ch)
      await w.run(100)
      checkCredits(t, a, 3)
      checkCredits(t, b, 5)
    },
  )
}

t.test('realistic timing: connection interval x packets per event x LL payload size', async (t) => {
  const deliveryTime = async (ppe: number, dataLength?: number): Promise<number> => {
    const w = world()
    const { a, b, ch } = await pair(w, 'realistic', { aLen: 251, aCount: 8, ppe })
    if (dataLength) {
      await a.host.send(C.LeSetDataLength, { connectionHandle: ch, txOctets: dataLength, txTime: 2120 })
      await until(w, () => a.ev('LeDataLengthChange').length === 1)
    }
    await w.run(100)
    const t0 = w.scheduler.now()
    void a.host.sendAcl(ch, l2cap(2000, 1))
    await until(w, () => b.pdus.length === 1, 5000)
    return b.pdus[0]!.at - t0
  }
  // 2004 bytes = 8 host packets of <= 251 = 80 LL PDUs of <= 27 octets; 4 a connection event of 30 ms.
  const slow = await deliveryTime(4)
  t.ok(slow >= 18 * 30 && slow <= 21 * 30, `20 events of 4 PDUs: ${slow} ms`)
  const faster = await deliveryTime(8)
  t.ok(faster >= 9 * 30 && faster <= 11 * 30, `10 events of 8 PDUs: ${faster} ms`)
  const dle = await deliveryTime(4, 251)
  t.ok(dle <= 2 * 30 + 1, `8 LL PDUs of 251 octets: 2 events (${dle} ms)`)
  const w = world()
  const { a, b, ch } = await pair(w, 'fast', { aLen: 251, aCount: 8 })
  const t0 = w.scheduler.now()
  void a.host.sendAcl(ch, l2cap(2000, 1))
  await until(w, () => b.pdus.length === 1)
  t.ok(b.pdus[0]!.at - t0 <= 1, `fast: no connection-event pacing (${b.pdus[0]!.at - t0} ms)`)
})

t.test('loss on the air delays data, never loses or reorders it', async (t) => {
  for (const timing of ['realistic', 'fast'] as const) {
    const w = world(7)
    const { a, b, ch, ph } = await pair(w, timing)
    await w.run(50)
    w.link.setLoss(0.3)
    const sizes = Array.from({ length: 40 }, (_, i) => (i * 97) % 700)
    const toB = sizes.map((n, i) => l2cap(n, i))
    const toA = sizes.map((n, i) => l2cap(n, 50 + i))
    for (const p of toB) void a.host.sendAcl(ch, p)
    for (const p of toA) void b.host.sendAcl(ph, p)
    t.ok(
      await until(w, () => b.pdus.length === toB.length && a.pdus.length === toA.length, 60_000),
      `${timing}: all delivered`,
    )
    t.same(
      b.pdus.map((p) => toHex(p.pdu)),
      toB.map(toHex),
      `${timing}: a -> b intact, in order`,
    )
    t.same(
      a.pdus.map((p) => toHex(p.pdu)),
      toA.map(toHex),
      `${timing}: b -> a intact, in order`,
    )
    const ll = connectionsOf(a.controller).byHandle.get(ch)!.ll
    t.ok(
      w.link.stats.lost > 0 && ll.stats.retransmissions > 0,
      `${timing}: PDUs were lost and sent again (${ll.stats.retransmissions})`,
    )
    t.equal(a.ev('DisconnectionComplete').length, 0, `${timing}: the link survived`)
    w.link.setLoss(0)
    await w.run(100)
    checkCredits(t, a, 3)
    checkCredits(t, b, 5)
  }
})

t.test(
  'raw host: one packet over the buffer count -> Data Buffer Overflow; unknown handle and bad flags dropped',
  async (t) => {
    const w = world()
    const { raw, controller } = rawOn(w, { aclCount: 2, timing: 'realistic' })
    const b = await node(w, 'b')
    raw.command('010c08 ffffffffffffff3f')
    await advertise(b)
    raw.command(toHex(encodeCommand(C.LeCreateConnection, createParams(b))))
    await until(w, () => b.ev('LeEnhancedConnectionComplete').length === 1)
    await w.run(1)
    raw.takeEvents()
    const h = [...connectionsOf(controller).byHandle.keys()][0]!
    const send = (handle: number, pb: number, data: Uint8Array, bc = 0): void =>
      void raw.transport.send({ type: H4Type.Acl, data: encodeAcl(handle, pb, bc, data) })
    send(0x0eee, 0b00, l2cap(3, 1)) // unknown handle
    send(h, 0b11, l2cap(3, 1)) // PB 0b11 is not for LE
    send(h, 0b00, l2cap(3, 1), 1) // broadcast flag
    send(h, 0b00, l2cap(3, 1))
    send(h, 0b00, l2cap(3, 2))
    send(h, 0b00, l2cap(3, 3)) // the third: no buffer
    await settle()
    t.same(raw.takeEvents(), ['1a0101'], 'Data Buffer Overflow, link type ACL')
    t.match(aclStats(controller), { unknownHandle: 1, malformed: 2, overflows: 1, fromHost: 2 })
    await w.run(100)
    const nocp = raw.takeEvents()
    const hLe = (h & 0xff).toString(16).padStart(2, '0') + (h >> 8).toString(16).padStart(2, '0')
    t.same(nocp, ['130501' + hLe + '0200'], 'one Number Of Completed Packets for the two held packets')
    t.same(
      b.pdus.map((p) => toHex(p.pdu)),
      [toHex(l2cap(3, 1)), toHex(l2cap(3, 2))],
    )
  },
)

t.test('a disconnection frees the buffers of the packets still held, without completions', async (t) => {
  const w = world()
  const { a, b, ch } = await pair(w, 'realistic', { aLen: 27, aCount: 3 })
  for (let i = 0; i < 6; i++) void a.host.sendAcl(ch, l2cap(300, i)).catch(() => {})
  await w.run(40)
  await a.host.send(C.Disconnect, { connectionHandle: ch, reason: 0x13 })
  await until(w, () => a.ev('DisconnectionComplete').length === 1)
  await w.run(100)
  const completedAfter = a.credits.filter((c) => c.handle === ch && c.delta < 0)
  const sent = a.credits.filter((c) => c.handle === ch && c.delta > 0).length
  t.ok(completedAfter.reduce((n, c) => n - c.delta, 0) < sent, 'some packets were never completed')
  const { ch: ch2 } = await connect(w, a, b)
  for (let i = 0; i < 3; i++) void a.host.sendAcl(ch2, l2cap(20, i))
  t.ok(
    await until(w, () => b.pdus.filter((p) => p.pdu.length === 24).length === 3),
    'the full buffer count is available again',
  )
  t.equal(aclStats(a.controller).overflows, 0)
})
