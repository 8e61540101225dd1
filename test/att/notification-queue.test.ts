/**
 * The queue of a GATT client subscription under a flood (issue 13, item 3; att/client.ts,
 * att/notifications.ts, att/bounded-queue.ts): a server (att/server.ts) sends 100,000
 * notifications (10,000 for the other policies) as fast as its bearer takes them, while the consumer spends one I/O turn
 * (setImmediate) on every value, far slower. The consumer sees every value, or exactly what the
 * policy says and a count of the rest: never a silent gap.
 */
import t from 'tap'
import { AttBearer } from '../../att/bearer.ts'
import { GattClient, type GattClientOptions, type QueuePolicy } from '../../att/client.ts'
import { AttributeDatabase } from '../../att/database.ts'
import { GattError } from '../../att/errors.ts'
import { GattServer } from '../../att/server.ts'
import { FakeClock } from '../helpers/hci-script.ts'
import { channelPair } from './channel-pair.ts'

const COUNT = 100_000
const ioTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
/** Value i: its sequence number, 4 octets little-endian, then 16 octets of payload. */
const value = (i: number): Uint8Array => {
  const v = new Uint8Array(20)
  new DataView(v.buffer).setUint32(0, i, true)
  return v
}
const seq = (v: Uint8Array): number => new DataView(v.buffer, v.byteOffset, v.byteLength).getUint32(0, true)

async function pair(client: GattClientOptions = {}) {
  const clock = new FakeClock()
  const [c, p] = channelPair()
  const bearer = new AttBearer(c, { clock })
  const db = new AttributeDatabase({
    services: [{ uuid: 'fff0', characteristics: [{ id: 'n', uuid: 'fff4', properties: ['notify'] }] }],
  })
  const server = new GattServer(db)
  const conn = server.attach(new AttBearer(p, { clock }), { encrypted: false, authenticated: false, keySize: 0 })
  const gatt = new GattClient(bearer, { policy: 'off', robustCaching: false, ...client })
  await gatt.exchangeMtu()
  await gatt.discover()
  const n = gatt.database!.findCharacteristics('fff4')[0]!
  return { server, conn, gatt, n, sent: c.sent }
}

/** Send `count` notifications, each once the server's bearer took the one before. */
async function flood(server: GattServer, count = COUNT): Promise<void> {
  for (let i = 0; i < count; i++) await server.notify('n', value(i))
}

/** The policy tests that need no 100,000 (the two above have them). */
const SMALL = 10_000

/** Read the subscription slowly (one I/O turn per value) until it ends or `until` values came. */
async function slowRead(sub: AsyncIterable<Uint8Array>, until: number): Promise<{ got: number[]; error: unknown }> {
  const got: number[] = []
  try {
    for await (const v of sub) {
      got.push(seq(v))
      if (got.length === until) break
      await ioTurn()
    }
  } catch (error) {
    return { got, error }
  }
  return { got, error: undefined }
}

const inOrder = (got: number[]): boolean => got.every((x, i) => i === 0 || x > got[i - 1]!)

t.test('default queue: a slow consumer sees all 100,000 notifications, in order, none dropped', async (t) => {
  const p = await pair()
  const sub = await p.gatt.subscribe(p.n)
  const reading = slowRead(sub, COUNT)
  await flood(p.server)
  t.ok(sub.pending > 1000, `the consumer is behind: ${sub.pending} values waiting`)
  const { got, error } = await reading
  t.equal(error, undefined)
  t.equal(got.length, COUNT, 'every value')
  t.ok(
    got.every((x, i) => x === i),
    'in order, no gap',
  )
  t.equal(sub.dropped, 0)
})

t.test(
  "'drop-oldest' with a bound of 1,000: what is read plus what was dropped is exactly what was sent",
  async (t) => {
    const drops: number[] = []
    const queue: QueuePolicy = { maxItems: 1000, overflow: 'drop-oldest', onDropped: (_n, total) => drops.push(total) }
    const p = await pair({ queue })
    const sub = await p.gatt.subscribe(p.n)
    await flood(p.server)
    t.equal(sub.dropped, COUNT - 1000, 'all but the last 1,000 dropped while nobody read')
    t.equal(drops.at(-1), sub.dropped, "the 'dropped' signal's total")
    const { got } = await slowRead(sub, 1000)
    t.equal(got.length + sub.dropped, COUNT, 'read + dropped = sent')
    t.same(got.slice(0, 3), [COUNT - 1000, COUNT - 999, COUNT - 998], 'the newest kept')
    t.ok(inOrder(got))
  },
)

t.test("'drop-newest' per subscription: the first ones kept, the count exact", async (t) => {
  const p = await pair()
  const sub = await p.gatt.subscribe(p.n, { queue: { maxItems: 500, overflow: 'drop-newest' } })
  await flood(p.server, SMALL)
  const { got } = await slowRead(sub, 500)
  t.same(got.slice(0, 2), [0, 1])
  t.equal(got.at(-1), 499)
  t.equal(got.length + sub.dropped, SMALL, 'read + dropped = sent')
})

t.test("'error': every value up to the overflow, then GattError 'GATT_DROPPED', then unsubscribed", async (t) => {
  const p = await pair()
  const sub = await p.gatt.subscribe(p.n, { queue: { maxItems: 1000, overflow: 'error' } })
  const reading = slowRead(sub, SMALL)
  await flood(p.server, SMALL)
  const { got, error } = await reading
  t.ok(error instanceof GattError)
  t.match(error, { code: 'GATT_DROPPED', protocol: 'att' })
  t.match((error as Error).message, /1000 were waiting/)
  t.ok(got.length >= 1000, `${got.length} values read`)
  t.ok(
    got.every((x, i) => x === i),
    'no gap before the error',
  )
  t.equal(got.length + sub.dropped, SMALL, 'read + counted as dropped = sent')
  await ioTurn()
  t.equal(p.conn.cccdValue(p.n.cccd!.handle), 0, 'the CCCD cleared after the consumer saw the error')
})

t.test('the byte bound: a flood beyond maxBytes with the default policy ends with the error', async (t) => {
  const p = await pair({ queue: { maxBytes: 64 * 1024 } })
  const sub = await p.gatt.subscribe(p.n)
  const reading = slowRead(sub, SMALL)
  await flood(p.server, SMALL)
  const { got, error } = await reading
  t.match(error, { code: 'GATT_DROPPED' })
  t.ok(got.length < SMALL && got.every((x, i) => x === i), `${got.length} in order, then the error`)
  t.ok(sub.pendingBytes === 0)
})
