/**
 * LE credit based channels between two of our muxes over an in-memory link (issue 4, acceptance
 * 1: "CoC transfer of a 1 MB SDU stream with credits running out and back"), stream back-pressure
 * on both sides, and disconnection from either side.
 */
import t from 'tap'
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { muxPair, settle } from './peer.ts'
import type { CreditChannel } from '../../../att/l2cap/credit.ts'
import type { L2capMux } from '../../../att/l2cap/mux.ts'

function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

/** SDUs of random sizes (0..65535) adding up to exactly `total` octets, random content. */
function sdus(total: number, seed: number): Uint8Array[] {
  const rnd = prng(seed)
  const out: Uint8Array[] = []
  let left = total
  while (left > 0) {
    const n = Math.min(left, Math.floor(rnd() * 65536))
    const b = new Uint8Array(n)
    for (let i = 0; i < n; i++) b[i] = (rnd() * 256) | 0
    out.push(b)
    left -= n
  }
  return out
}

const digest = (parts: Uint8Array[]): string => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest('hex')
}

async function open(
  from: L2capMux,
  to: L2capMux,
  psm: number,
  window: number,
  maxQueuedSdus = 32,
): Promise<[CreditChannel, CreditChannel]> {
  let accepted: CreditChannel | undefined
  to.listen(psm, { mtu: 65535, mps: 247, initialCredits: window }, (c) => (accepted = c))
  const ch = await from.connect(psm, { mtu: 65535, mps: 100, initialCredits: window, maxQueuedSdus })
  await settle()
  return [ch, accepted!]
}

for (const initiator of ['central', 'peripheral'] as const) {
  t.test(
    `1 MiB of SDUs through a channel opened by the ${initiator}, credits running out and coming back`,
    async (t) => {
      // Delivery on setImmediate: the sender uses up its credits before the receiver sees a frame.
      const pair = muxPair({ link: { schedule: setImmediate } })
      const [a, b] = initiator === 'central' ? [pair.central, pair.peripheral] : [pair.peripheral, pair.central]
      const [tx, rx] = await open(a, b, 0x0080, 8)
      const data = sdus(1 << 20, initiator === 'central' ? 1 : 2)
      t.ok(data.length > 16, `${data.length} SDUs`)
      const got: Uint8Array[] = []
      let maxPeerCredits = 0
      let maxCredits = 0
      const reading = (async () => {
        let n = 0
        for await (const sdu of rx.sdus()) {
          got.push(sdu)
          maxPeerCredits = Math.max(maxPeerCredits, rx.peerCredits)
          maxCredits = Math.max(maxCredits, tx.credits)
          if ((n += sdu.length) >= 1 << 20) break
        }
      })()
      await pipeline(Readable.from(data), tx)
      await reading
      t.equal(got.length, data.length, 'SDU boundaries kept')
      t.same(
        got.map((s) => s.length),
        data.map((s) => s.length),
      )
      t.equal(digest(got), digest(data), 'same octets in the same order')
      t.ok(tx.stats.creditWaits > 100, `the sender ran out of credits ${tx.stats.creditWaits} times`)
      t.ok(rx.stats.creditIndicationsSent > 100, `${rx.stats.creditIndicationsSent} Flow Control Credit Indications`)
      t.equal(rx.stats.framesReceived, tx.stats.framesSent)
      // Credits granted = frames received + credits the peer still has + credits owed (under half the window).
      const owed = rx.stats.framesReceived + 8 - rx.stats.creditsReturned - rx.peerCredits
      t.ok(owed >= 0 && owed <= 4, `every credit accounted for (${owed} still owed)`)
      t.ok(maxPeerCredits <= 8 && maxCredits <= 8, 'never more than the window outstanding')
      // K-frames of at most the receiver's MPS (247): the first of each SDU carries 245 data octets.
      const frames = data.reduce((n, s) => n + (s.length <= 245 ? 1 : 1 + Math.ceil((s.length - 245) / 247)), 0)
      t.equal(tx.stats.framesSent, frames)
      t.equal(rx.state, 'open')
      // Either side ends it.
      let ended = false
      rx.on('end', () => (ended = true))
      rx.resume()
      await tx.disconnect()
      await settle()
      t.ok(ended, 'the other side sees the end of the stream')
      t.equal(rx.state, 'closed')
      t.equal(a.channels.length + b.channels.length, 0)
      t.equal(pair.clock.pendingTimers, 0)
    },
  )
}

t.test('receive back-pressure: a reader that stops holds the credits, memory stays bounded', async (t) => {
  const pair = muxPair()
  const [tx, rx] = await open(pair.central, pair.peripheral, 0x0081, 4, 64)
  const sent: Promise<void>[] = []
  for (let i = 0; i < 40; i++) sent.push(tx.sendSdu(new Uint8Array(600).fill(i)))
  await settle()
  // Nobody reads: 16 SDUs fill the readable buffer, then no credits go back.
  t.equal(tx.credits, 0)
  t.equal(rx.peerCredits, 0)
  t.ok(rx.readableLength <= 16 + 4, `buffered ${rx.readableLength} SDUs`)
  const queued = tx.queuedSdus
  t.ok(queued > 20, `${queued} SDUs wait at the sender`)
  await settle()
  t.equal(tx.queuedSdus, queued, 'nothing moves while nobody reads')
  const got: number[] = []
  for await (const sdu of rx.sdus()) {
    got.push(sdu[0]!)
    if (got.length === 40) break
  }
  await Promise.all(sent)
  t.same(
    got,
    Array.from({ length: 40 }, (_, i) => i),
  )
  t.equal(tx.queuedSdus, 0)
})

t.test('write back-pressure: write() returns false without credits and drains when they come back', async (t) => {
  const pair = muxPair()
  let accepted: CreditChannel | undefined
  pair.peripheral.listen(0x82, { initialCredits: 1 }, (c) => (accepted = c))
  const tx = await pair.central.connect(0x82)
  await settle()
  const rx = accepted!
  rx.pause()
  // Write until write() says stop; the receiver's buffer (16 SDUs) takes the first batch, after
  // which it holds its credits and the second batch stays at the sender.
  let writes = 0
  let rounds = 0
  while (rounds++ < 5) {
    while (tx.write(new Uint8Array([writes++])));
    await settle()
    if (tx.writableNeedDrain) break
  }
  t.ok(tx.writableNeedDrain, `write() said stop after ${writes} SDUs and the sender cannot drain`)
  t.equal(tx.credits, 0)
  t.equal(rx.readableLength, 16)
  let drained = false
  tx.once('drain', () => (drained = true))
  await settle()
  t.notOk(drained, 'no drain while the reader is paused')
  const got: number[] = []
  rx.on('data', (s: Uint8Array) => got.push(s[0]!))
  rx.resume()
  await settle()
  t.ok(drained)
  t.same(
    got,
    Array.from({ length: writes }, (_, i) => i),
    'every SDU, in order',
  )
})

t.test('listener as an async iterator; disconnection from the acceptor side', async (t) => {
  const pair = muxPair()
  const accepted: CreditChannel[] = []
  const loop = (async () => {
    for await (const ch of pair.central.listen(0x83)) {
      accepted.push(ch)
      if (accepted.length === 2) break
    }
  })()
  const c1 = await pair.peripheral.connect(0x83)
  const c2 = await pair.peripheral.connect(0x83)
  await loop
  t.equal(accepted.length, 2)
  t.same(
    accepted.map((c) => c.remoteCid),
    [c1.localCid, c2.localCid],
  )
  const ends: string[] = []
  c1.on('end', () => ends.push('c1'))
  c1.resume()
  await accepted[0]!.disconnect()
  await settle()
  t.same(ends, ['c1'])
  t.equal(c1.state, 'closed')
  t.equal(c2.state, 'open')
  t.equal(pair.central.channels.length, 1)
  // The PSM is free again after break, and refused meanwhile.
  const e = await pair.peripheral.connect(0x83).catch((x: unknown) => x)
  t.match(e, { code: 'CONNECTION_REFUSED', status: 2 })
})
