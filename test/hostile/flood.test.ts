/**
 * Hostile peripherals that flood or lie at the L2CAP level (issue 13, "Systematic"; Core v5.4
 * Vol 3 Part F 3.4.7 notifications and indications, Part A 3.1 B-frames, Vol 4 Part E 5.4.2 ACL):
 * 100,000 notifications, indications sent without waiting for confirmations, and ACL/L2CAP
 * lengths that lie. Nothing is lost without a count, memory stays bounded, the link (and the
 * adapter's other links) keep working afterwards.
 */
import t, { type Test } from 'tap'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { createVirtualLink, GattError, open, type Adapter, type Client } from '../../src/index.ts'
import { SENSOR_LABEL, startSensorDevice } from '../../src/devices/index.ts'
import { HostilePeer, bframe, le16 } from './peer.ts'

const GOOD = '11:22:33:44:55:02'

async function scene(t: Test, seed: number): Promise<{ adapter: Adapter; peer: HostilePeer; c: Client }> {
  const link = createVirtualLink({ seed })
  const adapter = await open({ link, address: 'C0:00:00:00:00:0A', env: {} })
  const good = await startSensorDevice({ link, address: GOOD })
  const peer = await HostilePeer.start(link, 'C0:00:00:00:00:0B')
  await peer.advertise()
  const c = await adapter.connect({ address: peer.address, addressType: 'public' }, { timeout: 10_000 })
  t.teardown(async () => {
    await adapter.close()
    await good.close()
    await peer.close()
  })
  return { adapter, peer, c }
}

async function othersWork(t: Test, adapter: Adapter, c: Client): Promise<void> {
  t.equal(Buffer.from(await c.read(0x0003, { timeout: 5000 })).toString(), 'hostile', 'the same link still reads')
  await using other = await adapter.connect({ address: GOOD, addressType: 'public' }, { timeout: 10_000 })
  t.ok((await other.read(other.characteristic(SENSOR_LABEL), { timeout: 5000 })).length > 0, 'another link reads')
}

/** The heap in use after a full garbage collection: what is really kept. */
function retained(): number {
  setFlagsFromString('--expose-gc')
  ;(runInNewContext('gc') as () => void)()
  return process.memoryUsage().heapUsed
}

function pause(adapter: Adapter, ms: number): Promise<void> {
  return new Promise((resolve) => adapter.clock.setTimeout(resolve, ms))
}

t.test(
  '100,000 notifications to an empty loop: all delivered in order, or a typed error saying some were dropped',
  async (t) => {
    const N = 100_000
    const { adapter, peer, c } = await scene(t, 11)
    const ch = c.database.characteristic('fff1')!
    let got = 0
    let outOfOrder = 0
    let subscribed!: () => void
    const ready = new Promise<void>((resolve) => (subscribed = resolve))
    peer.script = (pdu) => {
      if (pdu[0] === 0x12) subscribed()
      return 'default'
    }
    const ac = new AbortController()
    let ended: unknown
    let done = false
    const loop = (async () => {
      try {
        for await (const v of c.notifications(ch, { timeout: 10_000, signal: ac.signal })) {
          if (v.length !== 3 || v[0]! + (v[1]! << 8) + (v[2]! << 16) !== got) outOfOrder++
          got++
        }
      } catch (e) {
        ended = e
      }
      done = true
    })()
    await ready
    const heap0 = retained()
    let peak = 0
    // The flood: bursts of 1,000 handed to the peer's controller as fast as the link takes them
    // (each burst resolves when its last fragment is sent), never waiting for our loop to catch up.
    for (let i = 0; i < N; i += 1000) {
      const burst: Promise<void>[] = []
      for (let j = i; j < i + 1000; j++)
        burst.push(peer.sendAtt([0x1b, ...le16(ch.valueHandle), j & 0xff, (j >> 8) & 0xff, j >> 16]))
      await Promise.all(burst)
      if (i % 10_000 === 0) {
        peak = Math.max(peak, retained() - heap0)
        t.comment(`sent ${i + 1000}: ${((retained() - heap0) / 1e6).toFixed(1)} MB retained, ${got} delivered`)
      }
    }
    // Then the loop drains what is queued, in virtual time (bounded: a loop that stalls fails below).
    for (let k = 0; got < N && !done && k < 200; k++) await pause(adapter, 50)
    peak = Math.max(peak, retained() - heap0)
    const dropped = ended instanceof GattError && ended.code === 'GATT_DROPPED'
    ac.abort()
    await loop
    t.equal(outOfOrder, 0, 'every value delivered is the next one sent: no gap, no reordering')
    if (dropped) t.ok(got > 0 && got < N, `${got} of ${N} delivered, then GATT_DROPPED: ${(ended as Error).message}`)
    else t.equal(got, N, `all ${N} delivered, none dropped quietly`)
    t.ok(dropped || ended === undefined || ended === ac.signal.reason, 'the loop ends by our abort or by GATT_DROPPED')
    t.ok(peak < 32 * 1024 * 1024, `retained heap grew at most ${(peak / 1024 / 1024).toFixed(1)} MB`)
    await othersWork(t, adapter, c)
  },
)

t.test('indications without waiting for confirmations', async (t) => {
  const { adapter, peer, c } = await scene(t, 12)
  const ch = c.database.characteristic('fff1')!
  const confirmations = (): number => peer.att.filter((p) => p[0] === 0x1e).length
  for (let i = 0; i < 1000; i++) void peer.sendAtt([0x1d, ...le16(ch.valueHandle), i & 0xff, i >> 8])
  await pause(adapter, 3000)
  t.ok(confirmations() <= 1000, `confirmations: ${confirmations()}`)
  await othersWork(t, adapter, c)
})

t.test('ACL and L2CAP lengths that lie', async (t) => {
  const { adapter, peer, c } = await scene(t, 13)
  const ch = c.database.characteristic('fff1')!
  const note = (v: number): Uint8Array => bframe(4, [0x1b, ...le16(ch.valueHandle), v])
  const values: number[] = []
  const ac = new AbortController()
  const loop = (async () => {
    try {
      for await (const v of c.notifications(ch, { timeout: 10_000, signal: ac.signal })) values.push(v[0]!)
    } catch {
      // aborted at the end
    }
  })()
  await pause(adapter, 200)
  // An L2CAP header announcing 100 octets in a start fragment of 10, then a new start: the partial PDU is dropped.
  peer.sendRawAcl(2, bframe(4, [0x1b, ...le16(ch.valueHandle), 1, 2, 3, 4, 5, 6], 100))
  peer.sendRawAcl(2, note(1))
  // A continuation with no start; an L2CAP length of 65535 (over our bound) with continuations.
  peer.sendRawAcl(1, Uint8Array.of(9, 9, 9))
  peer.sendRawAcl(2, bframe(4, [0x1b, 1, 2, 3], 0xffff))
  peer.sendRawAcl(1, new Uint8Array(200))
  peer.sendRawAcl(2, note(2))
  // An ACL header whose length is not the data's; a start fragment longer than its L2CAP length.
  peer.sendRawAcl(2, note(99), 3)
  peer.sendRawAcl(2, Uint8Array.from([...bframe(4, [0x1b, ...le16(ch.valueHandle), 98], 2), 7, 7]))
  peer.sendRawAcl(2, note(3))
  await pause(adapter, 500)
  ac.abort()
  await loop
  t.same(values, [1, 2, 3], 'the honest notifications arrive, the lying frames are dropped')
  await othersWork(t, adapter, c)
})
