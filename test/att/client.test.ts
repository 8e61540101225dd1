/**
 * att/client.ts: reads, writes and notifications against att/server.ts (GattServer on an
 * AttributeDatabase) over two AttBearers, and against the independent mini server of
 * gatt-peer.ts where a test needs to bend the peer (issue 4, acceptance 1 for the client side).
 */
import t from 'tap'
import { AttBearer } from '../../att/bearer.ts'
import { GattClient, type GattClientOptions } from '../../att/client.ts'
import { AttributeDatabase, type DatabaseDeclaration } from '../../att/database.ts'
import { GattServer, type ServerConnection } from '../../att/server.ts'
import type { RemoteCharacteristic } from '../../att/remote-database.ts'
import { FakeClock, settle } from '../helpers/hci-script.ts'
import { channelPair, type TestChannel } from './channel-pair.ts'
import { countRequests, setup } from './gatt-setup.ts'

const pattern = (n: number, seed = 0) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff)

const DECL: DatabaseDeclaration = {
  services: [
    {
      uuid: 'fff0',
      characteristics: [
        { id: 'long', uuid: 'fff1', properties: ['read', 'write'], value: pattern(512) },
        { id: 'exact', uuid: 'fff2', properties: ['read'], value: pattern(22, 1) },
        { id: 'a', uuid: 'fff3', properties: ['read', 'write', 'writeWithoutResponse'], value: 'abc' },
        { id: 'b', uuid: 'fff3', properties: ['read', 'write'], value: 'defgh' },
        { id: 'n', uuid: 'fff4', properties: ['notify'] },
        { id: 'i', uuid: 'fff5', properties: ['indicate'] },
        { id: 'r1', uuid: 'fff6', properties: ['read', 'write'], reliableWrite: true, value: '' },
        { id: 'r2', uuid: 'fff7', properties: ['read', 'write'], reliableWrite: true, value: '' },
        { id: 'big', uuid: 'fff8', properties: ['read'], value: pattern(100, 3) },
      ],
    },
  ],
}

interface Pair {
  clock: FakeClock
  c: TestChannel
  bearer: AttBearer
  serverBearer: AttBearer
  db: AttributeDatabase
  server: GattServer
  conn: ServerConnection
  client: GattClient
  ch: (uuid: string, index?: number) => RemoteCharacteristic
  requests(from?: number): number
}

async function pair(o: { mtu?: number; client?: GattClientOptions; decl?: DatabaseDeclaration } = {}): Promise<Pair> {
  const clock = new FakeClock()
  const [c, p] = channelPair()
  const bearer = new AttBearer(c, { clock, mtu: o.mtu ?? 517 })
  const serverBearer = new AttBearer(p, { clock, mtu: o.mtu ?? 517 })
  const db = new AttributeDatabase(o.decl ?? DECL)
  const server = new GattServer(db)
  const conn = server.attach(serverBearer, { encrypted: false, authenticated: false, keySize: 0 })
  const client = new GattClient(bearer, { policy: 'off', robustCaching: false, ...o.client })
  await client.exchangeMtu()
  await client.discover()
  const ch = (uuid: string, index = 0) => client.database!.findCharacteristics(uuid)[index]!
  return {
    clock,
    c,
    bearer,
    serverBearer,
    db,
    server,
    conn,
    client,
    ch,
    requests: (from = 0) => countRequests(c.sent, from),
  }
}

t.test('long reads: 512 octets at MTU 23 (Read + Read Blob) and at MTU 517 (one Read)', async (t) => {
  for (const mtu of [23, 517]) {
    const p = await pair({ mtu })
    t.equal(p.bearer.mtu, mtu)
    const base = p.c.sent.length
    const v = await p.client.read(p.ch('fff1'))
    t.same(v, pattern(512), `MTU ${mtu}: the whole value`)
    const n = p.requests(base)
    t.equal(n, mtu === 23 ? 1 + Math.ceil((512 - 22) / 22) : 1, `MTU ${mtu}: ${n} requests`)
    t.equal(p.c.sent[base]!.slice(0, 2), '0a', 'starts with a Read Request')
    if (mtu === 23) t.equal(p.c.sent[base + 1], `0c${p.c.sent[base]!.slice(2, 6)}1600`, 'then Read Blob at offset 22')
  }
})

t.test('a value of exactly ATT_MTU-1 octets: one Read Blob finds the end', async (t) => {
  const p = await pair({ mtu: 23 })
  t.same(await p.client.read(p.ch('fff2')), pattern(22, 1))
  t.same(await p.client.read(p.ch('fff2'), { long: false }), pattern(22, 1), 'long: false reads once')
  const base = p.c.sent.length
  t.same(
    await p.client.read(p.ch('fff1'), { offset: 500 }),
    pattern(512).subarray(500),
    'from an offset: Read Blob only',
  )
  t.equal(p.c.sent[base]!.slice(0, 2), '0c')
})

t.test('Read Multiple, Read Multiple Variable (a cut value completed), Read by UUID', async (t) => {
  const p = await pair({ mtu: 23 })
  const [a, b] = [p.ch('fff3', 0), p.ch('fff3', 1)]
  t.same(Buffer.from(await p.client.readMultiple([a, b])).toString(), 'abcdefgh')
  const vs = await p.client.readMultipleVariable([a, p.ch('fff8'), b])
  t.same(
    vs.map((v) => v.length),
    [3, 100, 5],
  )
  t.same(vs[1], pattern(100, 3), 'the value cut by ATT_MTU completed with Read Blob')
  t.same(Buffer.from(vs[2]!).toString(), 'defgh', 'a value after the cut one read on its own')
  const byUuid = await p.client.readByUuid('fff3')
  t.same(
    byUuid.map((x) => [x.handle, Buffer.from(x.value).toString()]),
    [
      [a.valueHandle, 'abc'],
      [b.valueHandle, 'defgh'],
    ],
  )
  t.same(await p.client.readByUuid('fff9'), [], 'none of that type')
})

t.test('writes: request, long (prepared) at MTU 23, without response', async (t) => {
  const p = await pair({ mtu: 23 })
  const a = p.ch('fff3')
  await p.client.write(a, Buffer.from('xyz'))
  t.same(Buffer.from(p.db.get(a.valueHandle)!.value!).toString(), 'xyz')
  const base = p.c.sent.length
  const long = pattern(512, 9)
  await p.client.write(p.ch('fff1'), long)
  t.same(p.db.get(p.ch('fff1').valueHandle)!.value, long, 'the long value arrived whole')
  const ops = p.c.sent.slice(base).map((h) => h.slice(0, 2))
  t.equal(ops.filter((o) => o === '16').length, Math.ceil(512 / 18), 'Prepare Write in ATT_MTU-5 chunks')
  t.equal(p.c.sent.at(-1), '1801', 'then Execute Write (write)')
  await p.client.writeWithoutResponse(a, Buffer.from('q'))
  await settle()
  await settle()
  t.same(Buffer.from(p.db.get(a.valueHandle)!.value!).toString(), 'q')
  await t.rejects(p.client.writeWithoutResponse(a, new Uint8Array(21)), { code: 'GATT_VALUE_TOO_LONG' })
  await t.rejects(p.client.write(a, new Uint8Array(513)), { code: 'GATT_VALUE_TOO_LONG' })
})

t.test('writeWithoutResponse never queues without bound', async (t) => {
  const p = await pair()
  const a = p.ch('fff3')
  const results = await Promise.allSettled(
    Array.from({ length: 100 }, (_, i) => p.client.writeWithoutResponse(a, Uint8Array.of(i))),
  )
  const refused = results.filter((r) => r.status === 'rejected')
  t.equal(results.length - refused.length, 64, 'the bearer takes 64 commands in flight')
  t.equal(refused.length, 36)
  t.match((refused[0] as PromiseRejectedResult).reason, { code: 'ATT_QUEUE_FULL' })
  // Awaited one at a time, any number go through.
  for (let i = 0; i < 200; i++) await p.client.writeWithoutResponse(a, Uint8Array.of(i & 0xff))
  await settle()
  await settle()
  t.same([...p.db.get(a.valueHandle)!.value!], [199])
})

t.test('reliable writes: both values or neither', async (t) => {
  const p = await pair({ mtu: 23 })
  const [r1, r2] = [p.ch('fff6'), p.ch('fff7')]
  await p.client.reliableWrite([
    { target: r1, value: Buffer.from('first value, longer than one PDU') },
    { target: r2, value: Buffer.from('second') },
  ])
  t.equal(Buffer.from(p.db.get(r1.valueHandle)!.value!).toString(), 'first value, longer than one PDU')
  t.equal(Buffer.from(p.db.get(r2.valueHandle)!.value!).toString(), 'second')
})

t.test('reliable writes: an echo that differs cancels the queue', async (t) => {
  // The mini server echoes Prepare Write values with one octet flipped on the second one.
  let prepares = 0
  const s = setup({
    client: { policy: 'off' },
    server: {
      tamper: (req, rsp) => {
        if (req[0] !== 0x16 || ++prepares !== 2) return rsp
        const bad = rsp.slice()
        bad[bad.length - 1] ^= 0xff
        return bad
      },
    },
  })
  await s.client.exchangeMtu()
  const before = [...s.server.get(45)!.value]
  const err = await s.client
    .reliableWrite([
      { target: 3, value: Buffer.from('name') },
      { target: 45, value: Uint8Array.of(1, 2, 3, 4) },
    ])
    .catch((e: unknown) => e)
  t.match(err, { code: 'GATT_RELIABLE_WRITE_MISMATCH', message: /echoed handle 0x002d offset 0/ })
  t.equal(s.c.sent.at(-1), '1800', 'Execute Write Request with flags 0x00 (cancel)')
  t.same([...s.server.get(45)!.value], before, 'nothing written')
  t.same(Buffer.from(s.server.get(3)!.value).toString(), 'hcikit large-db')
  t.equal(s.server.queue.length, 0)
})

t.test('subscribe: CCCD written, 1000 notifications in order through the iterator', async (t) => {
  const p = await pair()
  const n = p.ch('fff4')
  const sub = await p.client.subscribe(n)
  t.equal(p.conn.cccdValue(n.cccd!.handle), 1, 'notifications enabled in the CCCD')
  const got: number[] = []
  const reader = (async () => {
    for await (const v of sub) {
      got.push(v[0]! | (v[1]! << 8))
      if (got.length === 1000) break
    }
  })()
  for (let i = 0; i < 1000; i++) await p.server.notify('n', Uint8Array.of(i & 0xff, i >> 8))
  await reader
  t.same(
    got,
    Array.from({ length: 1000 }, (_, i) => i),
    'all 1000, in order',
  )
  t.equal(sub.dropped, 0)
  await settle()
  t.equal(p.conn.cccdValue(n.cccd!.handle), 0, 'leaving the loop unsubscribed: CCCD cleared')
})

t.test('100 indications in order, to a callback with the characteristic and the client', async (t) => {
  const p = await pair()
  const ind = p.ch('fff5')
  const got: number[] = []
  let context: unknown[] = []
  const sub = await p.client.subscribe(ind, {
    onValue: (v, c, client) => {
      got.push(v[0]!)
      context = [c, client]
    },
  })
  t.equal(p.conn.cccdValue(ind.cccd!.handle), 2, 'indications enabled')
  for (let i = 0; i < 100; i++) {
    const results = await p.server.indicate('i', Uint8Array.of(i))
    t.equal(results[0]!.ok, true)
  }
  t.same(
    got,
    Array.from({ length: 100 }, (_, i) => i),
  )
  t.equal(context[0], ind)
  t.equal(context[1], p.client)
  t.throws(() => sub[Symbol.asyncIterator](), { code: 'GATT_NOT_SUPPORTED' })
  await sub.unsubscribe()
  t.equal(p.conn.cccdValue(ind.cccd!.handle), 0)
})

t.test(
  'values before subscribe: kept per handle (bounded), given to the first subscriber, drops counted',
  async (t) => {
    const p = await pair({ client: { buffer: { perHandle: 16 } } })
    const n = p.ch('fff4')
    // The server notifies before the client subscribed (e.g. a CCCD remembered for a bonded peer).
    for (let i = 0; i < 20; i++) await p.serverBearer.notify(n.valueHandle, Uint8Array.of(i))
    await settle()
    t.equal(p.client.router.buffered(n.valueHandle), 16)
    t.equal(p.client.router.dropped(n.valueHandle), 4, 'the 4 oldest dropped, and counted')
    const sub = await p.client.subscribe(n)
    const first: number[] = []
    for await (const v of sub) {
      first.push(v[0]!)
      if (first.length === 16) break
    }
    t.same(
      first,
      Array.from({ length: 16 }, (_, i) => i + 4),
      'the buffered 16, oldest first',
    )
    t.equal(p.client.router.buffered(n.valueHandle), 0)
  },
)

t.test('pre-subscribe buffering is bounded in handles too', async (t) => {
  const p = await pair({ client: { buffer: { perHandle: 2, handles: 1 } } })
  await p.serverBearer.notify(0x0100, Uint8Array.of(1))
  await p.serverBearer.notify(0x0101, Uint8Array.of(2))
  await settle()
  t.equal(p.client.router.buffered(0x0100), 1)
  t.equal(p.client.router.buffered(0x0101), 0)
  t.equal(p.client.router.dropped(0x0101), 1)
  t.equal(p.client.router.droppedTotal, 1)
})

t.test("a slow iterator with 'drop-oldest' drops its oldest values beyond its limit and counts them", async (t) => {
  const p = await pair({ client: { subscriptionLimit: 10, queue: { overflow: 'drop-oldest' } } })
  const n = p.ch('fff4')
  const sub = await p.client.subscribe(n)
  for (let i = 0; i < 25; i++) await p.server.notify('n', Uint8Array.of(i))
  await settle()
  t.equal(sub.dropped, 15)
  t.equal(sub.pending, 10)
  const it = sub[Symbol.asyncIterator]()
  t.same((await it.next()).value, Uint8Array.of(15))
  await sub.unsubscribe()
  let rest = 0
  for (let r = await it.next(); !r.done; r = await it.next()) rest++
  t.equal(rest, 9, 'what was queued is still read after unsubscribe, then the iterator ends')
})

t.test('onValue without subscribe; two subscriptions share the CCCD', async (t) => {
  const p = await pair()
  const n = p.ch('fff4')
  const got: number[] = []
  const off = p.client.onValue(n, (v) => got.push(v[0]!))
  const s1 = await p.client.subscribe(n)
  const before = p.c.sent.length
  const s2 = await p.client.subscribe(n)
  t.equal(p.c.sent.length, before, 'the second subscription writes nothing')
  await p.server.notify('n', Uint8Array.of(7))
  await settle()
  t.same(got, [7])
  await s1.unsubscribe()
  t.equal(p.conn.cccdValue(n.cccd!.handle), 1, 'still one subscription')
  await s2.unsubscribe()
  t.equal(p.conn.cccdValue(n.cccd!.handle), 0)
  off()
  await t.rejects(p.client.subscribe(p.ch('fff3')), { code: 'GATT_NOT_SUPPORTED' })
})

t.test('the link going away ends subscriptions with the reason', async (t) => {
  const p = await pair()
  const sub = await p.client.subscribe(p.ch('fff4'))
  const it = sub[Symbol.asyncIterator]()
  const next = it.next()
  p.c.close(new Error('disconnected'))
  await t.rejects(next, { code: 'ATT_CLOSED' })
  await t.rejects(p.client.read(p.ch('fff3')), { code: 'ATT_CLOSED' })
})

t.test('an error response is a typed AttError', async (t) => {
  const p = await pair()
  const err = await p.client.read(0x0fff).catch((e: unknown) => e)
  t.match(err, {
    name: 'AttError',
    code: 'ATT_ERROR_RESPONSE',
    opcode: 0x0a,
    handle: 0x0fff,
    status: 0x01,
    statusName: 'Invalid Handle (0x01)',
  })
  t.match(await p.client.write(p.ch('fff2'), Uint8Array.of(1)).catch((e: unknown) => e), {
    status: 0x03,
    statusName: 'Write Not Permitted (0x03)',
  })
  await t.rejects(p.client.read(0), RangeError)
})

t.test('AbortSignal reaches the bearer', async (t) => {
  const p = await pair()
  const ac = new AbortController()
  ac.abort(new Error('stop'))
  await t.rejects(p.client.read(p.ch('fff3'), { signal: ac.signal }), { message: 'stop' })
})
