/**
 * Properties of the L2CAP mux under arbitrary input from the peer: random B-frames (raw bytes,
 * frames on the fixed and dynamic CIDs, well- and ill-formed signalling commands, K-frames) never
 * make it throw, and everything it keeps (channels, outstanding requests, timers, buffered SDUs)
 * stays within fixed bounds; what it sends back is at most a couple of frames per frame received.
 *
 * The link here is a test implementation of AclLink whose frames are handed to the mux
 * synchronously, so an exception would surface inside the property.
 */
import t from 'tap'
import fc from 'fast-check'
import type { AclLink, LinkSecurity } from '../../../att/l2cap/link.ts'
import { L2capMux } from '../../../att/l2cap/mux.ts'
import type { CreditChannel } from '../../../att/l2cap/credit.ts'
import { FakeClock, settle } from './peer.ts'

class SyncLink implements AclLink {
  readonly handle = 0x0001
  readonly security: LinkSecurity = { encrypted: false, authenticated: false, keySize: 0 }
  closed = false
  sent = 0
  private frameCb: ((f: Uint8Array) => void) | undefined
  constructor(readonly role: 'central' | 'peripheral') {}
  send(): Promise<void> {
    this.sent++
    return Promise.resolve()
  }
  onFrame(cb: (f: Uint8Array) => void): void {
    this.frameCb = cb
  }
  onClose(): void {}
  deliver(f: Uint8Array): void {
    this.frameCb!(f)
  }
}

const le = (v: number): number[] => [v & 0xff, (v >> 8) & 0xff]
const bframe = (cid: number, payload: Uint8Array | number[]): Uint8Array =>
  Uint8Array.from([...le(payload.length), ...le(cid), ...payload])

const signalingCommand = fc
  .record({
    code: fc.oneof(
      fc.constantFrom(0x01, 0x06, 0x07, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a),
      fc.integer({ min: 0, max: 0xff }),
    ),
    id: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 0xff })),
    // Fields that often hit the interesting values: PSMs we listen on, dynamic CIDs, small numbers.
    words: fc.array(
      fc.oneof(fc.constantFrom(0x80, 0x81, 0x40, 0x41, 0x7f, 0, 1, 23, 0xffff), fc.integer({ min: 0, max: 0xffff })),
      { maxLength: 6 },
    ),
    lie: fc.option(fc.integer({ min: 0, max: 0xffff }), { freq: 5 }),
  })
  .map(({ code, id, words, lie }) => {
    const data = words.flatMap(le)
    return bframe(0x0005, [code, id, ...le(lie ?? data.length), ...data])
  })

/** Well-formed commands with values near the interesting ones: these open, credit and close channels. */
const word = fc.oneof(
  fc.constantFrom(0x80, 0x81, 0x40, 0x41, 0x42, 0x7f, 23, 50, 300, 0xffff, 1, 4),
  fc.integer({ min: 0, max: 0xffff }),
)
const wellFormed = fc
  .oneof(
    fc.tuple(
      fc.constant(0x14),
      fc.tuple(fc.constantFrom(0x80, 0x81), fc.integer({ min: 0x3f, max: 0x44 }), word, word, word),
    ),
    fc.tuple(fc.constant(0x16), fc.tuple(fc.integer({ min: 0x40, max: 0x44 }), word)),
    fc.tuple(fc.constant(0x06), fc.tuple(fc.integer({ min: 0x40, max: 0x44 }), fc.integer({ min: 0x40, max: 0x44 }))),
    fc.tuple(
      fc.constant(0x15),
      fc.tuple(fc.integer({ min: 0x40, max: 0x44 }), word, word, word, fc.constantFrom(0, 2, 4)),
    ),
    fc.tuple(fc.constant(0x12), fc.tuple(word, word, word, word)),
  )
  .chain(([code, words]) =>
    fc
      .integer({ min: 1, max: 3 })
      .map((id) => bframe(0x0005, [code, id, ...le(words.length * 2), ...words.flatMap(le)])),
  )

const kframe = fc
  .record({
    cid: fc.integer({ min: 0x40, max: 0x44 }),
    sduLength: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 0xffff })),
    body: fc.uint8Array({ maxLength: 260 }),
    first: fc.boolean(),
  })
  .map(({ cid, sduLength, body, first }) => bframe(cid, first ? [...le(sduLength), ...body] : [...body]))

const anyFrame = fc.oneof(
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  {
    weight: 1,
    arbitrary: fc
      .record({ cid: fc.integer({ min: 0, max: 0xffff }), p: fc.uint8Array({ maxLength: 30 }) })
      .map(({ cid, p }) => bframe(cid, p)),
  },
  { weight: 3, arbitrary: signalingCommand },
  { weight: 3, arbitrary: wellFormed },
  { weight: 4, arbitrary: kframe },
)

function setup(role: 'central' | 'peripheral'): {
  link: SyncLink
  mux: L2capMux
  clock: FakeClock
  channels: CreditChannel[]
} {
  const link = new SyncLink(role)
  const clock = new FakeClock()
  const mux = new L2capMux(link, { clock })
  const channels: CreditChannel[] = []
  // One listener that keeps its channels without reading them, one whose channels wait in a backlog.
  mux.listen(0x80, { mtu: 300, mps: 50, initialCredits: 4 }, (ch) => {
    ch.on('error', () => {})
    channels.push(ch)
  })
  mux.listen(0x81, { backlog: 2 })
  return { link, mux, clock, channels }
}

t.test('random frames never throw; state stays bounded; no amplification', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('central' as const, 'peripheral' as const),
      fc.array(anyFrame, { maxLength: 60 }),
      async (role, frames) => {
        const { link, mux, clock, channels } = setup(role)
        // Some requests of our own outstanding too.
        if (role === 'peripheral')
          void mux.signaling
            .requestConnectionParameterUpdate({ intervalMin: 6, intervalMax: 6, latency: 0, timeout: 10 })
            .catch(() => {})
        void mux.connect(0x80).catch(() => {})
        for (const f of frames) {
          link.deliver(f)
          if (f.length & 1) await settle()
        }
        await settle()
        const stats = mux.stats
        if (stats.unknownCid + stats.malformed + stats.undelivered > frames.length)
          throw new Error('counted more frames than received')
        if (mux.channels.length > 64) throw new Error('too many channels')
        if (mux.signaling.outstanding > 255) throw new Error('too many outstanding requests')
        if (clock.pendingTimers > mux.signaling.outstanding) throw new Error('a timer without a request')
        for (const ch of channels) {
          if (ch.readableLength > 16 + 4) throw new Error(`channel buffered ${ch.readableLength} SDUs`)
        }
        if (link.sent > 2 * frames.length + 2) throw new Error(`sent ${link.sent} frames for ${frames.length} received`)
        // Time passing lets every request of ours expire; nothing is left behind.
        clock.advance(60_000)
        await settle()
        if (mux.signaling.outstanding !== 0 || clock.pendingTimers !== 0) throw new Error('requests outlived RTX')
      },
    ),
    { numRuns: 400, seed: 4242 },
  )
  t.pass('400 random sessions')
})

t.test('a long random session: memory of the mux does not grow with the number of frames', async (t) => {
  const { link, mux, channels } = setup('central')
  const samples = fc.sample(anyFrame, { numRuns: 20_000, seed: 7 })
  let maxChannels = 0
  for (let i = 0; i < samples.length; i++) {
    link.deliver(samples[i]!)
    if (i % 64 === 0) await settle()
    maxChannels = Math.max(maxChannels, mux.channels.length)
  }
  await settle()
  t.ok(maxChannels <= 64)
  t.ok(mux.signaling.outstanding <= 255)
  let buffered = 0
  for (const ch of channels) if (!ch.destroyed) buffered += ch.readableLength
  t.ok(buffered <= 64 * 20, `${buffered} SDUs buffered in ${channels.length} channels`)
  t.ok(link.sent <= 2 * samples.length + 2)
  t.ok(mux.signaling.stats.received > 5000, `${mux.signaling.stats.received} signalling frames seen`)
  t.ok(mux.creditStats.refused > 0 && channels.length > 0, 'the session opened and refused channels')
  const sdus = channels.reduce((n, ch) => n + ch.stats.sdusReceived, 0)
  const violations = channels.filter(
    (ch) => ch.closeReason && (ch.closeReason as { code?: string }).code !== 'CHANNEL_CLOSED',
  ).length
  t.ok(sdus > 0 && violations > 0, `${sdus} SDUs received, ${violations} channels disconnected for a violation`)
})
