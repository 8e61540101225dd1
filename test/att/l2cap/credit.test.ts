/**
 * LE credit based channels against a hand-played peer (Core v5.4 Vol 3 Part A 4.22-4.24, 4.6,
 * 3.4.3, 10.1). Frames are written from the spec's layouts with the helpers below.
 */
import t from 'tap'
import { rawPeer, le16, settle, type RawPeer } from './peer.ts'
import { L2capError } from '../../../att/l2cap/link.ts'
import type { CreditChannel } from '../../../att/l2cap/credit.ts'
import { toHex } from '../../../hci/wire.ts'

const h2 = (v: number): string => v.toString(16).padStart(2, '0')
/** B-frame on `cid` around `payloadHex`. */
const frame = (cid: number, payloadHex: string): string => {
  const p = payloadHex.replace(/\s/g, '')
  return le16(p.length / 2) + le16(cid) + p
}
/** A signalling command in a B-frame on CID 5. */
const sig = (code: number, id: number, dataHex: string): string => {
  const d = dataHex.replace(/\s/g, '')
  return frame(5, h2(code) + h2(id) + le16(d.length / 2) + d)
}
const connReq = (id: number, spsm: number, scid: number, mtu: number, mps: number, credits: number): string =>
  sig(0x14, id, le16(spsm) + le16(scid) + le16(mtu) + le16(mps) + le16(credits))
const connRsp = (id: number, dcid: number, mtu: number, mps: number, credits: number, result: number): string =>
  sig(0x15, id, le16(dcid) + le16(mtu) + le16(mps) + le16(credits) + le16(result))
const creditInd = (id: number, cid: number, credits: number): string => sig(0x16, id, le16(cid) + le16(credits))
const discReq = (id: number, dcid: number, scid: number): string => sig(0x06, id, le16(dcid) + le16(scid))
const discRsp = (id: number, dcid: number, scid: number): string => sig(0x07, id, le16(dcid) + le16(scid))
/** First K-frame of an SDU: SDU Length then data. */
const kStart = (cid: number, sduLength: number, dataHex: string): string => frame(cid, le16(sduLength) + dataHex)
const bytesHex = (n: number, from = 0): string => toHex(Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff))
/** Identifier of a captured signalling frame. */
const idOf = (hex: string): number => parseInt(hex.slice(10, 12), 16)

/** Our mux as peripheral listening on 0x0080; the test connects from CID 0x0040. */
async function accepted(
  opts: { mtu?: number; mps?: number; initialCredits?: number; maxQueuedSdus?: number } = {},
  req = { mtu: 512, mps: 64, credits: 5 },
  read = true,
): Promise<{ peer: RawPeer; ch: CreditChannel; got: Uint8Array[]; errors: Error[] }> {
  const peer = rawPeer('peripheral')
  let ch: CreditChannel | undefined
  peer.mux.listen(0x80, { mtu: 100, mps: 30, initialCredits: 3, ...opts }, (c) => (ch = c))
  await peer.inject(connReq(1, 0x80, 0x40, req.mtu, req.mps, req.credits))
  const [rsp] = await peer.take()
  if (!ch || !rsp) throw new Error('not accepted')
  const got: Uint8Array[] = []
  const errors: Error[] = []
  if (read) ch.on('data', (sdu: Uint8Array) => got.push(sdu))
  ch.on('error', (e: Error) => errors.push(e))
  return { peer, ch, got, errors }
}

t.test('accept: response bytes, SDUs in and out, segmentation and reassembly, credits both ways', async (t) => {
  const peer = rawPeer('peripheral')
  const chans: CreditChannel[] = []
  peer.mux.listen(0x80, { mtu: 100, mps: 30, initialCredits: 3 }, (c) => chans.push(c))
  // SPSM 0x0080, SCID 0x0040, MTU 512, MPS 64, 5 credits
  await peer.inject('0e00 0500 14 01 0a00 8000 4000 0002 4000 0500')
  // DCID 0x0040, MTU 100, MPS 30, 3 credits, success
  t.same(await peer.take(), ['0e000500150 10a00 4000 6400 1e00 0300 0000'.replace(/\s/g, '')])
  const ch = chans[0]!
  t.match(ch, {
    psm: 0x80,
    localCid: 0x40,
    remoteCid: 0x40,
    mtu: 100,
    mps: 30,
    peerMtu: 512,
    peerMps: 64,
    credits: 5,
    peerCredits: 3,
  })
  const got: string[] = []
  ch.on('data', (sdu: Uint8Array) => got.push(toHex(sdu)))

  await peer.inject('0700 4000 0500 68656c6c6f') // "hello" in one K-frame
  // 40 octets in two K-frames: SDU Length + 28, then 12
  await peer.inject(kStart(0x40, 40, bytesHex(28)))
  const [ind] = await peer.take()
  t.equal(
    ind,
    sig(0x16, idOf(ind!), '4000 0200'),
    'Flow Control Credit Ind: our CID 0x0040, 2 credits, once half the window is used',
  )
  t.notOk(idOf(ind!) === 0)
  t.equal(ch.peerCredits, 3)
  await peer.inject(frame(0x40, bytesHex(12, 28)))
  await settle()
  t.same(got, ['68656c6c6f', bytesHex(40)])

  // 100 octets to the peer with MPS 64: SDU Length + 62, then 38.
  await ch.sendSdu(Uint8Array.from({ length: 100 }, (_, i) => i))
  t.same(await peer.take(), [frame(0x40, '6400' + bytesHex(62)), frame(0x40, bytesHex(38, 62))])
  t.equal(ch.credits, 3)
  // An empty SDU is one K-frame with SDU Length 0.
  await ch.sendSdu(new Uint8Array(0))
  t.same(await peer.take(), ['0200 4000 0000'.replace(/\s/g, '')])
})

t.test('our sends wait when credits run out and go on when the peer returns some', async (t) => {
  const { peer, ch } = await accepted({}, { mtu: 512, mps: 64, credits: 2 })
  const done: number[] = []
  const sends = [0, 1, 2, 3].map((i) => ch.sendSdu(new Uint8Array([i])).then(() => done.push(i)))
  const first = await peer.take()
  t.same(
    first,
    [frame(0x40, '0100 00'), frame(0x40, '0100 01')].map((s) => s.replace(/\s/g, '')),
  )
  t.same(done, [0, 1])
  t.equal(ch.credits, 0)
  t.equal(ch.queuedSdus, 2)
  await peer.inject(creditInd(7, 0x40, 1)) // CID is the peer's own (our remote CID)
  t.same(await peer.take(), [frame(0x40, '0100 02').replace(/\s/g, '')])
  await peer.inject(creditInd(8, 0x41, 5)) // unknown CID: ignored
  t.same(await peer.take(), [])
  t.equal(peer.mux.stats.unknownCid, 0)
  await peer.inject(creditInd(9, 0x40, 5))
  await Promise.all(sends)
  t.same(done, [0, 1, 2, 3])
  t.equal(ch.credits, 4)
  t.ok(ch.stats.creditWaits >= 2)
})

t.test('sendSdu: over the peer MTU rejects locally, the queue is bounded', async (t) => {
  const { peer, ch } = await accepted({ maxQueuedSdus: 2 }, { mtu: 23, mps: 23, credits: 0 })
  const e = (await ch.sendSdu(new Uint8Array(24)).catch((x: unknown) => x)) as L2capError
  t.equal(e.code, 'SDU_TOO_LONG')
  const a = ch.sendSdu(new Uint8Array(1))
  const b = ch.sendSdu(new Uint8Array(1))
  const c = (await ch.sendSdu(new Uint8Array(1)).catch((x: unknown) => x)) as L2capError
  t.equal(c.code, 'QUEUE_FULL')
  t.equal(ch.state, 'open', 'local errors do not disconnect')
  await peer.inject(creditInd(2, 0x40, 2))
  await Promise.all([a, b])
  t.equal((await peer.take()).length, 2)
})

t.test('refusals: each result of Table 4.16 with zeroed fields', async (t) => {
  const refused = (id: number, result: number): string => connRsp(id, 0, 0, 0, 0, result)
  const peer = rawPeer('peripheral')
  peer.mux.listen(0x80, {}, () => {})
  peer.mux.listen(0x81, { security: { authenticated: true } }, () => {})
  peer.mux.listen(0x82, { security: { encrypted: true } }, () => {})
  peer.mux.listen(0x83, { security: { authorized: true } }, () => {})
  peer.mux.listen(0x84, { security: { encrypted: true, minKeySize: 16 } }, () => {})
  peer.mux.listen(0x85, { maxChannels: 1 }, () => {})
  const cases: [string, string, number][] = [
    ['SPSM not supported', connReq(1, 0x90, 0x40, 100, 50, 1), 0x0002],
    ['insufficient authentication', connReq(2, 0x81, 0x40, 100, 50, 1), 0x0005],
    ['insufficient encryption', connReq(3, 0x82, 0x40, 100, 50, 1), 0x0008],
    ['insufficient authorization', connReq(4, 0x83, 0x40, 100, 50, 1), 0x0006],
    ['invalid Source CID (below 0x0040)', connReq(5, 0x80, 0x003f, 100, 50, 1), 0x0009],
    ['invalid Source CID (above 0x007F)', connReq(6, 0x80, 0x0080, 100, 50, 1), 0x0009],
    ['unacceptable parameters: MTU 22', connReq(7, 0x80, 0x40, 22, 50, 1), 0x000b],
    ['unacceptable parameters: MPS 22', connReq(8, 0x80, 0x40, 100, 22, 1), 0x000b],
    ['unacceptable parameters: MPS 65534', connReq(9, 0x80, 0x40, 100, 65534, 1), 0x000b],
  ]
  for (const [what, req, result] of cases) {
    await peer.inject(req)
    t.same(await peer.take(), [refused(idOf(req), result)], what)
  }
  // Source CID already allocated: the first request takes 0x0041, the second reuses it.
  await peer.inject(connReq(10, 0x80, 0x41, 100, 50, 1))
  t.equal((await peer.take())[0], connRsp(10, 0x40, 2048, 247, 16, 0), 'first one accepted with the defaults')
  await peer.inject(connReq(11, 0x80, 0x41, 100, 50, 1))
  t.same(await peer.take(), [refused(11, 0x000a)])
  // No resources: the listener's channel limit.
  await peer.inject(connReq(12, 0x85, 0x42, 100, 50, 1))
  t.equal((await peer.take())[0], connRsp(12, 0x41, 2048, 247, 16, 0))
  await peer.inject(connReq(13, 0x85, 0x43, 100, 50, 1))
  t.same(await peer.take(), [refused(13, 0x0004)])
  // Encryption key size too short; once encrypted with 16 octets, accepted.
  peer.ours.security.encrypted = true
  peer.ours.security.keySize = 7
  await peer.inject(connReq(14, 0x84, 0x44, 100, 50, 1))
  t.same(await peer.take(), [refused(14, 0x0007)])
  peer.ours.security.keySize = 16
  await peer.inject(connReq(15, 0x84, 0x44, 100, 50, 1))
  t.equal((await peer.take())[0], connRsp(15, 0x42, 2048, 247, 16, 0))
  t.equal(peer.mux.creditStats.refused, 12)
})

t.test('no resources: all 64 dynamic CIDs in use', async (t) => {
  const peer = rawPeer('central')
  peer.mux.listen(0x80, { backlog: 100 })
  for (let i = 0; i < 64; i++) await peer.inject(connReq(1 + i, 0x80, 0x40 + i, 100, 50, 1))
  const rsps = await peer.take()
  t.equal(rsps.length, 64)
  t.equal(rsps[63], connRsp(64, 0x7f, 2048, 247, 16, 0))
  await peer.inject(connReq(65, 0x80, 0x40, 100, 50, 1)) // its SCID is in use too, but CIDs are checked... in order
  await peer.inject(connReq(66, 0x7f, 0x40, 100, 50, 1))
  t.same(await peer.take(), [connRsp(65, 0, 0, 0, 0, 0x000a), connRsp(66, 0, 0, 0, 0, 0x0002)])
  const e = (await peer.mux.connect(0x80).catch((x: unknown) => x)) as L2capError
  t.equal(e.code, 'NO_RESOURCES')
})

t.test('listener: async iterator with a bounded backlog; close stops accepting', async (t) => {
  const peer = rawPeer('central')
  const l = peer.mux.listen(0x80, { backlog: 1 })
  await peer.inject(connReq(1, 0x80, 0x40, 100, 50, 1))
  await peer.inject(connReq(2, 0x80, 0x41, 100, 50, 1))
  t.same(await peer.take(), [connRsp(1, 0x40, 2048, 247, 16, 0), connRsp(2, 0, 0, 0, 0, 0x0004)])
  const it = l[Symbol.asyncIterator]()
  const first = await it.next()
  t.equal(first.done, false)
  t.equal((first.value as CreditChannel).remoteCid, 0x40)
  const waiting = it.next()
  await peer.inject(connReq(3, 0x80, 0x42, 100, 50, 1))
  t.equal(((await waiting).value as CreditChannel).remoteCid, 0x42)
  t.throws(() => peer.mux.listen(0x80), { code: 'PSM_IN_USE' })
  t.throws(() => peer.mux.listen(0x100), { code: 'INVALID_ARGUMENT' })
  t.throws(() => peer.mux.listen(0x81, { mps: 22 }), { code: 'INVALID_ARGUMENT' })
  const end = it.next()
  l.close()
  t.same(await end, { value: undefined, done: true })
  await peer.take()
  await peer.inject(connReq(4, 0x80, 0x43, 100, 50, 1))
  t.same(await peer.take(), [connRsp(4, 0, 0, 0, 0, 0x0002)])
  peer.mux.listen(0x80, {}, () => {}) // the PSM is free again
})

t.test('connect: request bytes, success, and each refusal as a typed L2capError', async (t) => {
  const peer = rawPeer('central')
  const p = peer.mux.connect(0x80, { mtu: 0x0200, mps: 0x40, initialCredits: 4 })
  t.same(await peer.take(), [connReq(1, 0x80, 0x40, 512, 64, 4)])
  await peer.inject(connRsp(1, 0x55, 100, 30, 2, 0))
  const ch = await p
  t.match(ch, {
    localCid: 0x40,
    remoteCid: 0x55,
    peerMtu: 100,
    peerMps: 30,
    credits: 2,
    peerCredits: 4,
    mtu: 512,
    mps: 64,
  })
  const names: Record<number, string> = {
    0x0002: 'Connection refused - SPSM not supported',
    0x0004: 'Connection refused - no resources available',
    0x0005: 'Connection refused - insufficient authentication',
    0x0006: 'Connection refused - insufficient authorization',
    0x0007: 'Connection refused - encryption key size too short',
    0x0008: 'Connection refused - insufficient encryption',
    0x0009: 'Connection refused - invalid Source CID',
    0x000a: 'Connection refused - Source CID already allocated',
    0x000b: 'Connection refused - unacceptable parameters',
  }
  for (const [result, name] of Object.entries(names)) {
    const q = peer.mux.connect(0x81).catch((x: unknown) => x)
    const [req] = await peer.take()
    t.equal(req, connReq(idOf(req!), 0x81, 0x41, 2048, 247, 16), 'next free CID')
    await peer.inject(connRsp(idOf(req!), 0, 0, 0, 0, Number(result)))
    const e = (await q) as L2capError
    t.ok(e instanceof L2capError)
    t.match(e, { code: 'CONNECTION_REFUSED', protocol: 'l2cap', status: Number(result), statusName: name })
  }
  t.equal(peer.mux.channels.length, 1)
})

t.test('connect: RTX timeout frees the CID; invalid accepted values are disconnected', async (t) => {
  const peer = rawPeer('central')
  const q = peer.mux.connect(0x80).catch((x: unknown) => x)
  await peer.take()
  peer.clock.advance(30_000)
  t.equal(((await q) as L2capError).code, 'TIMEOUT')
  const r = peer.mux.connect(0x80).catch((x: unknown) => x)
  const [req] = await peer.take()
  t.equal(req, connReq(idOf(req!), 0x80, 0x40, 2048, 247, 16), 'CID 0x0040 free again')
  await peer.inject(connRsp(idOf(req!), 0x50, 100, 22, 1, 0)) // MPS 22 is not allowed
  t.equal(((await r) as L2capError).code, 'INVALID_PARAMETERS')
  const [disc] = await peer.take()
  t.equal(disc, discReq(idOf(disc!), 0x50, 0x40), 'Disconnection Request for the channel the peer opened')
  await peer.inject(discRsp(idOf(disc!), 0x50, 0x40))
  t.equal(peer.mux.channels.length, 0)
})

t.test(
  'violations disconnect the channel: SDU over MTU, K-frame over MPS, no credits, SDU overrun, credit overflow',
  async (t) => {
    // [what, error code, our window, the peer's credits, does anyone read, what the peer does]
    const cases: [string, string, number, number, boolean, (peer: RawPeer) => Promise<void>][] = [
      ['SDU over our MTU', 'SDU_TOO_LONG', 3, 0, true, (p) => p.inject(kStart(0x40, 101, bytesHex(10)))],
      ['K-frame over our MPS', 'MPS_EXCEEDED', 3, 0, true, (p) => p.inject(kStart(0x40, 50, bytesHex(29)))],
      [
        'K-frames beyond the SDU Length',
        'SDU_LENGTH_MISMATCH',
        3,
        0,
        true,
        (p) => p.inject(kStart(0x40, 2, bytesHex(3))),
      ],
      ['first K-frame without SDU Length', 'SDU_LENGTH_MISSING', 3, 0, true, (p) => p.inject(frame(0x40, '01'))],
      [
        'a K-frame beyond the credits (nobody reads, so none came back)',
        'NO_CREDITS',
        2,
        0,
        false,
        async (p) => {
          // 17 one-frame SDUs fill the readable buffer (16) and use the window of 2 several times over.
          for (let i = 0; i < 18; i++) await p.inject(kStart(0x40, 1, h2(i)))
        },
      ],
      ['credits beyond 65535', 'CREDIT_OVERFLOW', 3, 65535, true, (p) => p.inject(creditInd(3, 0x40, 1))],
    ]
    for (const [what, code, window, peerCredits, read, act] of cases) {
      const { peer, ch, errors } = await accepted(
        { initialCredits: window },
        { mtu: 512, mps: 64, credits: peerCredits },
        read,
      )
      const pending = peerCredits === 0 ? ch.sendSdu(new Uint8Array(10)).catch((e: unknown) => e) : undefined
      await act(peer)
      const sent = await peer.take()
      const disc = sent.find((f) => f.startsWith('0800050006'))
      t.ok(disc, `${what}: Disconnection Request sent`)
      t.equal(disc, discReq(idOf(disc ?? '00000000000000'), 0x40, 0x40), `${what}: DCID theirs, SCID ours`)
      t.equal(errors.length, 1, `${what}: the stream errors`)
      t.equal((errors[0] as L2capError).code, code, what)
      t.equal(ch.state, 'disconnecting')
      if (pending) t.equal(((await pending) as L2capError).code, code, `${what}: the SDU waiting for credits fails too`)
      await peer.inject(frame(0x40, bytesHex(3))) // data after the Disconnection Request is discarded
      await peer.inject(discRsp(idOf(disc ?? '00000000000000'), 0x40, 0x40))
      t.equal(ch.state, 'closed', what)
      t.equal(peer.mux.channels.length, 0)
      t.equal(peer.mux.stats.unknownCid, 0)
    }
  },
)

t.test('disconnection initiated by us: request, response, CID freed; by RTX when the peer is silent', async (t) => {
  const { peer, ch, errors } = await accepted()
  const done = ch.disconnect()
  const [disc] = await peer.take()
  t.equal(disc, discReq(idOf(disc!), 0x40, 0x40))
  t.equal(ch.state, 'disconnecting')
  await peer.inject(discRsp(idOf(disc!), 0x40, 0x40))
  await done
  t.equal(ch.state, 'closed')
  t.same(errors, [])
  t.equal(peer.mux.channels.length, 0)
  t.equal(((await ch.sendSdu(new Uint8Array(1)).catch((e: unknown) => e)) as L2capError).code, 'CHANNEL_CLOSED')

  const b = await accepted()
  const d2 = b.ch.disconnect()
  await b.peer.take()
  b.peer.clock.advance(30_000)
  await d2
  t.equal(b.ch.state, 'closed')
  t.equal(b.peer.mux.channels.length, 0)
})

t.test('disconnection initiated by the peer: response, stream ends cleanly, sends reject', async (t) => {
  const { peer, ch, got, errors } = await accepted()
  await peer.inject('0700 4000 0500 68656c6c6f')
  let ended = false
  ch.on('end', () => (ended = true))
  await peer.inject(discReq(9, 0x40, 0x41)) // wrong SCID: silently discarded
  t.same(await peer.take(), [])
  t.equal(ch.state, 'open')
  await peer.inject(discReq(10, 0x40, 0x40))
  t.same(await peer.take(), [discRsp(10, 0x40, 0x40)])
  await settle()
  t.ok(ended)
  t.equal(got.length, 1, 'data received before the disconnection is kept')
  t.same(errors, [])
  t.equal(ch.state, 'closed')
  t.equal(((await ch.sendSdu(new Uint8Array(1)).catch((e: unknown) => e)) as L2capError).code, 'CHANNEL_CLOSED')
  await peer.inject(discReq(11, 0x40, 0x40)) // again: the CID is gone now
  t.same(await peer.take(), [sig(0x01, 11, '0200 4000 4000')])
})

t.test('link closed: readable ends, queued sends reject LINK_CLOSED', async (t) => {
  const { peer, ch, errors } = await accepted({}, { mtu: 512, mps: 64, credits: 0 })
  const s = ch.sendSdu(new Uint8Array(5)).catch((e: unknown) => e)
  let ended = false
  ch.on('end', () => (ended = true))
  ch.resume()
  peer.link.close()
  t.equal(((await s) as L2capError).code, 'LINK_CLOSED')
  await settle()
  t.ok(ended)
  t.same(errors, [])
  t.equal(ch.state, 'closed')
})

t.test('maxChannels counts open channels only: a disconnected one frees its place', async (t) => {
  const peer = rawPeer('peripheral')
  peer.mux.listen(0x80, { maxChannels: 1 }, (c) => c.resume())
  await peer.inject(connReq(1, 0x80, 0x40, 100, 50, 1))
  await peer.inject(connReq(2, 0x80, 0x41, 100, 50, 1))
  t.same(await peer.take(), [connRsp(1, 0x40, 2048, 247, 16, 0), connRsp(2, 0, 0, 0, 0, 0x0004)])
  await peer.inject(discReq(3, 0x40, 0x40))
  t.same(await peer.take(), [discRsp(3, 0x40, 0x40)])
  await peer.inject(connReq(4, 0x80, 0x41, 100, 50, 1))
  t.same(await peer.take(), [connRsp(4, 0x40, 2048, 247, 16, 0)], 'accepted again, CID 0x0040 reused')
})

t.test('a channel still in the listener backlog does not crash the process on a violation', async (t) => {
  const peer = rawPeer('peripheral')
  const l = peer.mux.listen(0x80, { mtu: 100, mps: 50 })
  await peer.inject(connReq(1, 0x80, 0x40, 100, 50, 1))
  await peer.take()
  await peer.inject(kStart(0x40, 101, '00')) // SDU over our MTU, before anyone took the channel
  const [disc] = await peer.take()
  t.equal(disc, discReq(idOf(disc!), 0x40, 0x40))
  const { value: ch } = await l[Symbol.asyncIterator]().next()
  t.equal((ch as CreditChannel).listenerCount('error'), 0, 'the placeholder error listener is gone once taken')
  t.equal(((ch as CreditChannel).closeReason as L2capError).code, 'SDU_TOO_LONG')
})
