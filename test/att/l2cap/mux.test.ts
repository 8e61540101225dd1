import t from 'tap'
import { rawPeer, settle } from './peer.ts'
import { fromHex, toHex } from '../../../hci/wire.ts'
import { L2capError } from '../../../att/l2cap/link.ts'

t.test('fixed channels: ATT (4) and SMP (6) payloads routed and sent as B-frames', async (t) => {
  const peer = rawPeer('peripheral')
  const att: string[] = []
  const att2: string[] = []
  const smp: string[] = []
  peer.mux.att.onData((p) => att.push(toHex(p)))
  peer.mux.att.onData((p) => att2.push(toHex(p)))
  peer.mux.smp.onData((p) => smp.push(toHex(p)))
  t.equal(peer.mux.att.cid, 4)
  t.equal(peer.mux.smp.cid, 6)
  // Exchange MTU Request (0x02, 517) on CID 4; Pairing Request on CID 6.
  await peer.inject('0300 0400 02 0502')
  await peer.inject('0700 0600 01 03 00 01 10 07 07')
  t.same(att, ['020502'])
  t.same(att2, ['020502'], 'every subscriber gets every payload')
  t.same(smp, ['01030001100707'])
  await peer.mux.att.send(fromHex('030502'))
  await peer.mux.smp.send(fromHex('0201'))
  t.same(await peer.take(), ['030004000305 02'.replace(' ', ''), '0200060002 01'.replace(' ', '')])
  t.same(peer.mux.stats, { unknownCid: 0, malformed: 0, undelivered: 0 })
})

t.test('unknown CIDs dropped and counted; malformed lengths counted; unsubscribed fixed channel counted', async (t) => {
  const peer = rawPeer('central')
  await peer.inject('0100 0300 00') // AMP manager: not on LE-U
  await peer.inject('0100 4000 00') // dynamic CID nobody opened
  await peer.inject('0100 0001 00') // reserved
  await peer.inject('0000 0000') // null CID
  t.equal(peer.mux.stats.unknownCid, 4)
  await peer.inject('0500 0400 0a01') // says 5, carries 2
  await peer.inject('0100 0400 0a0100') // says 1, carries 3
  await peer.inject('04') // not even a header
  t.equal(peer.mux.stats.malformed, 3)
  await peer.inject('0300 0400 0a0100') // valid ATT, nobody listening
  t.equal(peer.mux.stats.undelivered, 1)
  t.same(await peer.take(), [], 'nothing answered')
})

t.test('link close: pending work rejects LINK_CLOSED, fixed channels told, later sends reject', async (t) => {
  const peer = rawPeer('peripheral')
  const closed: Error[] = []
  peer.mux.att.onClose((e) => closed.push(e))
  const pending = peer.mux.signaling.requestConnectionParameterUpdate({
    intervalMin: 6,
    intervalMax: 12,
    latency: 0,
    timeout: 100,
  })
  const connecting = peer.mux.connect(0x80)
  await settle()
  peer.link.close(new Error('gone'))
  const e1 = await pending.catch((e: unknown) => e)
  const e2 = await connecting.catch((e: unknown) => e)
  for (const e of [e1, e2]) {
    t.ok(e instanceof L2capError, 'typed')
    t.equal((e as L2capError).code, 'LINK_CLOSED')
  }
  t.equal(closed.length, 1)
  t.equal((closed[0] as L2capError).code, 'LINK_CLOSED')
  t.ok(peer.mux.closed)
  const e3 = await peer.mux.att.send(new Uint8Array([1])).catch((e: unknown) => e)
  t.equal((e3 as L2capError).code, 'LINK_CLOSED')
  const e4 = await peer.mux.connect(0x80).catch((e: unknown) => e)
  t.equal((e4 as L2capError).code, 'LINK_CLOSED')
  t.equal(peer.clock.pendingTimers, 0, 'no timer left behind')
})

t.test('a payload too big for a B-frame rejects instead of throwing', async (t) => {
  const peer = rawPeer('central')
  const e = await peer.mux.att.send(new Uint8Array(65536)).catch((x: unknown) => x)
  t.ok(e instanceof RangeError)
})
