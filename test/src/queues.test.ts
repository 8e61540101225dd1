/**
 * What a loop that falls behind loses, in the public API (issue 13 items 3-4 surfaced by
 * src/client.ts notifications() and src/adapter.ts scan()): the queue policy is an option, the
 * count is the stream's `dropped`, the signal is `queue.onDropped`, and the default for
 * notifications never drops quietly (the loop ends with 'GATT_DROPPED' after the values queued
 * before). A peer adapter on the virtual link sends; the values it sent are numbered, so what
 * arrived and what was dropped add up to what was sent.
 */
import t, { type Test } from 'tap'
import { open, createVirtualLink, type Adapter, type Client, type GattServer } from '../../src/index.ts'

async function pair(t: Test, seed: number): Promise<{ peer: Adapter; server: GattServer; client: Client }> {
  const link = createVirtualLink({ seed })
  const peer = await open({ transport: 'virtual', link, name: 'peer' })
  const server = peer.serve({
    services: [{ uuid: 'fff0', characteristics: [{ id: 'n', uuid: 'fff1', properties: ['notify'] }] }],
  })
  await peer.advertise({ name: 'peer' })
  const central = await open({ transport: 'virtual', link, name: 'central' })
  const client = await central.connect(peer.address)
  t.teardown(async () => {
    await central.close()
    await peer.close()
  })
  return { peer, server, client }
}

/** Resolves once the drop signal has counted `total`. */
function dropsReach(total: number): { onDropped: (n: number, all: number) => void; reached: Promise<void> } {
  let done!: () => void
  const reached = new Promise<void>((r) => (done = r))
  return { onDropped: (_n, all) => all >= total && done(), reached }
}

const N = 100

/**
 * Start the stream and take its first value. One ATT request at a time, in order: once a read
 * queued after the stream started is answered, the CCCD write before it was too.
 */
async function started(client: Client, server: GattServer, stream: AsyncIterator<Uint8Array>): Promise<number> {
  const first = stream.next()
  await client.read(client.characteristic('1800', '2a00'))
  await server.notify('n', new Uint8Array([0]))
  return ((await first).value as Uint8Array)[0]!
}

t.test("notifications, 'drop-oldest': the newest wait, the stream counts the rest", { timeout: 30_000 }, async (t) => {
  const { server, client } = await pair(t, 81)
  const drops = dropsReach(N - 10)
  const stream = client.notifications(client.characteristic('fff1'), {
    queue: { maxItems: 10, overflow: 'drop-oldest', onDropped: drops.onDropped },
  })
  t.equal(await started(client, server, stream), 0, 'the first value')
  // nobody reads while the server sends 1..100
  for (let i = 1; i <= N; i++) await server.notify('n', new Uint8Array([i]))
  await drops.reached
  const rest: number[] = []
  for await (const v of stream) if (rest.push(v[0]!) === 10) break
  t.same(
    rest,
    Array.from({ length: 10 }, (_, i) => N - 9 + i),
    'the ten newest',
  )
  t.equal(stream.dropped, N - 10, 'dropped: the other ninety')
  t.equal(rest.length + stream.dropped, N, 'received + dropped = sent')
})

t.test("notifications by default: what was queued, then 'GATT_DROPPED'", { timeout: 30_000 }, async (t) => {
  const { server, client } = await pair(t, 82)
  const drops = dropsReach(N - 10)
  const stream = client.notifications(client.characteristic('fff1'), {
    queue: { maxItems: 10, onDropped: drops.onDropped },
  })
  t.equal(await started(client, server, stream), 0, 'the first value')
  for (let i = 1; i <= N; i++) await server.notify('n', new Uint8Array([i]))
  await drops.reached
  const got: number[] = []
  const err = await (async () => {
    for await (const v of stream) got.push(v[0]!)
  })().catch((e: unknown) => e)
  t.same(
    got,
    Array.from({ length: 10 }, (_, i) => i + 1),
    'the values queued before the overflow, in order',
  )
  t.match(err, { name: 'GattError', code: 'GATT_DROPPED', hint: /drop-oldest/ })
  t.equal(stream.dropped, N - 10, 'and the count of what did not fit')
})

t.test(
  'scan: a loop that falls behind loses the oldest, counted; one that keeps up loses nothing',
  { timeout: 30_000 },
  async (t) => {
    const link = createVirtualLink({ seed: 83 })
    await using peer = await open({ transport: 'virtual', link, name: 'beacon' })
    await peer.advertise({ name: 'beacon', connectable: false, interval: 20 })
    await using central = await open({ transport: 'virtual', link })
    const drops = dropsReach(20)
    const stream = central.scan({
      name: 'beacon',
      duplicates: true,
      queue: { maxItems: 5, overflow: 'drop-oldest', onDropped: drops.onDropped },
      timeout: 60_000,
    })
    await stream.next()
    await drops.reached
    t.ok(stream.dropped >= 20, `${stream.dropped} dropped while nobody read`)
    let taken = 0
    for await (const _ of stream) if (++taken === 5) break
    t.equal(taken, 5, 'the five that waited')
    const after = stream.dropped
    t.ok(after >= 20)

    // a loop that keeps up: nothing dropped
    const keeping = central.scan({ name: 'beacon', duplicates: true, queue: { maxItems: 5 }, timeout: 2000 })
    let n = 0
    for await (const _ of keeping) n++
    t.ok(n > 50, `${n} advertisements in 2 s of virtual time`)
    t.equal(keeping.dropped, 0)
    t.equal(stream.dropped, after, "the first stream's count stays its own")
  },
)
