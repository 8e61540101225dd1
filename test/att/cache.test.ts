/**
 * The GATT client's cache and robust caching (att/cache.ts, att/cache-file.ts, att/client.ts;
 * Core v5.4 Vol 3 Part G 2.5.2, 7.1-7.3): policies, the 1-request cached reconnection (issue
 * 4, acceptance 5), rediscovery when the Database Hash differs, Service Changed, Database Out
 * Of Sync, and the stores. The server is att/server.ts on an AttributeDatabase built from
 * fixtures/gatt/large-db.json; reconnections are new bearers on the same database.
 */
import t from 'tap'
import { mkdtemp, readdir, readFile, writeFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AttBearer } from '../../att/bearer.ts'
import { GattClient, type GattClientOptions, type ServiceChangedEvent } from '../../att/client.ts'
import { AttributeDatabase } from '../../att/database.ts'
import { GattServer } from '../../att/server.ts'
import { MemoryCacheStore, clearCache, CACHE_FORMAT_VERSION, type GattCacheStore } from '../../att/cache.ts'
import { JsonFileCacheStore, cacheFileName } from '../../att/cache-file.ts'
import type { LinkSecurity } from '../../att/l2cap/link.ts'
import { FakeClock, settle } from '../helpers/hci-script.ts'
import { channelPair } from './channel-pair.ts'
import { countRequests, largeDbDeclaration, setup, shapeOf } from './gatt-setup.ts'

const PEER = 'C0:11:22:33:44:55/random'
const ENCRYPTED: Partial<LinkSecurity> = { encrypted: true, keySize: 16, bonded: true }

/** One connection to `db`: the client has exchanged the MTU; nothing else yet. */
async function connect(
  _db: AttributeDatabase,
  server: GattServer,
  store: GattCacheStore,
  o: { security?: Partial<LinkSecurity>; client?: GattClientOptions } = {},
) {
  const clock = new FakeClock()
  const [c, p] = channelPair(o.security)
  const bearer = new AttBearer(c, { clock })
  const serverBearer = new AttBearer(p, { clock })
  const conn = server.attach(serverBearer, { encrypted: false, authenticated: false, keySize: 0, ...o.security })
  const client = new GattClient(bearer, { peer: PEER, store, clock, ...o.client })
  await client.exchangeMtu()
  const base = c.sent.length
  return { c, bearer, conn, client, requests: () => countRequests(c.sent, base), sent: () => c.sent.slice(base) }
}

function world() {
  const db = new AttributeDatabase(largeDbDeclaration())
  const server = new GattServer(db)
  const store = new MemoryCacheStore()
  return { db, server, store }
}

t.test('validate: the reconnection reuses the cache with 1 request when the hash matches', async (t) => {
  const { db, server, store } = world()
  const first = await connect(db, server, store, { security: ENCRYPTED })
  const db1 = await first.client.discover()
  t.equal(first.client.source, 'discovered')
  t.ok(first.requests() <= 12, `first connection: ${first.requests()} requests`)
  t.equal(store.size, 1)
  t.ok(first.conn.robustCaching, 'the server saw Robust Caching enabled')

  const again = await connect(db, server, store, { security: ENCRYPTED })
  const db2 = await again.client.discover()
  t.equal(again.client.source, 'cache-validated')
  t.equal(again.requests(), 1, 'one request')
  t.same(again.sent(), ['080100ffff2a2b'], 'Read By Type, 0x0001-0xFFFF, Database Hash (0x2B2A)')
  t.same(shapeOf(db2), shapeOf(db1))
  t.same(db2.hash, db.hashValue())
  // The reused model works: read the Device Name through it.
  t.equal(Buffer.from(await again.client.read(db2.characteristic('2a00')!)).toString(), 'hcikit large-db')
})

t.test('validate on a link that is not encrypted: the hash, then Client Supported Features again', async (t) => {
  const { db, server, store } = world()
  await (await connect(db, server, store)).client.discover()
  const again = await connect(db, server, store)
  await again.client.discover()
  t.equal(again.client.source, 'cache-validated')
  t.same(
    again.sent(),
    ['080100ffff2a2b', '120d0001'],
    'hash, then Write Request 0x01 to Client Supported Features (0x000d)',
  )
  t.ok(again.conn.robustCaching)
  const bonded = await connect(db, server, store, { client: { bonded: true } })
  await bonded.client.discover()
  t.equal(bonded.requests(), 1, 'told the peer is bonded: the hash only')
})

t.test('validate: a different hash means a new discovery, stored again', async (t) => {
  const { db, server, store } = world()
  await (await connect(db, server, store, { security: ENCRYPTED })).client.discover()
  const added = db.addService({ uuid: 'abcd', characteristics: [{ uuid: 'abce', properties: ['read'], value: 'new' }] })
  const again = await connect(db, server, store, { security: ENCRYPTED })
  const db2 = await again.client.discover()
  t.equal(again.client.source, 'discovered')
  t.ok(again.requests() > 1)
  t.equal(db2.service('abcd')!.start, added.handle)
  t.same(db2.hash, db.hashValue())
  const third = await connect(db, server, store, { security: ENCRYPTED })
  await third.client.discover()
  t.equal(third.requests(), 1, 'the new database was stored')
  t.equal(third.client.database!.service('abcd')!.start, added.handle)
})

t.test("trust: no request at all; 'off': nothing stored, always discovered", async (t) => {
  const { db, server, store } = world()
  await (await connect(db, server, store, { security: ENCRYPTED })).client.discover()
  db.addService({ uuid: 'abcd', characteristics: [] })
  const trusting = await connect(db, server, store, { security: ENCRYPTED, client: { policy: 'trust' } })
  await trusting.client.discover()
  t.equal(trusting.client.source, 'cache-trusted')
  t.equal(trusting.requests(), 0)
  t.equal(trusting.client.database!.service('abcd'), undefined, 'trusted as stored (stale here)')

  const off = world()
  const c = await connect(off.db, off.server, off.store, { client: { policy: 'off' } })
  await c.client.discover()
  t.equal(off.store.size, 0)
  const c2 = await connect(off.db, off.server, off.store, { client: { policy: 'off' } })
  await c2.client.discover()
  t.equal(c2.client.source, 'discovered')
})

t.test('a stored entry that is not a database is dropped and rediscovered', async (t) => {
  const { db, server, store } = world()
  await store.save(PEER, {
    version: CACHE_FORMAT_VERSION,
    peer: PEER,
    savedAt: 0,
    database: { services: [{ uuid: '1800', start: 5, end: 2, primary: true, characteristics: [] }] },
  })
  const c = await connect(db, server, store)
  await c.client.discover()
  t.equal(c.client.source, 'discovered')
  const entry = await store.load(PEER)
  t.equal(entry!.database.services[0]!.start, 1, 'replaced by the discovered one')
  await clearCache(store, PEER)
  t.equal(store.size, 0)
})

t.test('JSON file store: atomic files per peer, reversible names, corrupt files ignored', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hcikit-cache-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const fileStore = new JsonFileCacheStore(join(dir, 'gatt'))
  t.equal(cacheFileName(PEER), 'C0_3a11_3a22_3a33_3a44_3a55_2frandom.json')
  t.not(cacheFileName('a:b'), cacheFileName('a_b'), 'no two peers share a file')
  const { db, server } = world()
  const first = await connect(db, server, fileStore, { security: ENCRYPTED })
  await first.client.discover()
  t.same(await readdir(join(dir, 'gatt')), [cacheFileName(PEER)], 'one file, no temporary left behind')
  const json = JSON.parse(await readFile(join(dir, 'gatt', cacheFileName(PEER)), 'utf8'))
  t.equal(json.version, 1)
  t.equal(json.peer, PEER)
  t.equal(json.database.hash, Buffer.from(db.hashValue()).toString('hex'))
  const again = await connect(db, server, new JsonFileCacheStore(join(dir, 'gatt')), { security: ENCRYPTED })
  await again.client.discover()
  t.equal(again.requests(), 1, 'a new store on the same directory validates with 1 request')
  await writeFile(join(dir, 'gatt', cacheFileName(PEER)), '{ not json')
  const third = await connect(db, server, fileStore, { security: ENCRYPTED })
  await third.client.discover()
  t.equal(third.client.source, 'discovered', 'a corrupt file is treated as absent')
  await fileStore.delete(PEER)
  t.same(await readdir(join(dir, 'gatt')), [])
  t.equal(await fileStore.load(PEER), undefined)
})

t.test('Service Changed: the affected range is rediscovered, an event says so, the cache follows', async (t) => {
  const { db, server, store } = world()
  const c = await connect(db, server, store, { security: ENCRYPTED })
  const before = await c.client.discover()
  await c.client.subscribe(before.characteristic('1801', '2a05')!, { mode: 'indicate' })
  const events: ServiceChangedEvent[] = []
  const seen = new Promise<void>((resolve) =>
    c.client.on('serviceChanged', (e) => {
      events.push(e)
      resolve()
    }),
  )
  let changed = 0
  c.client.on('databaseChanged', () => changed++)
  const added = db.addService({
    uuid: 'abcd',
    characteristics: [{ uuid: 'abce', properties: ['read', 'notify'], value: 'x' }],
  })
  await seen
  t.equal(events.length, 1)
  t.same([events[0]!.start, events[0]!.end], [added.handle, added.endHandle])
  t.equal(events[0]!.error, undefined)
  const now = c.client.database!
  t.equal(now.service('abcd')!.characteristics[0]!.cccd!.handle, added.characteristics[0]!.cccdHandle)
  t.equal(now.services.length, before.services.length + 1)
  t.same(now.hash, db.hashValue())
  t.equal(changed, 1)
  const again = await connect(db, server, store, { security: ENCRYPTED })
  await again.client.discover()
  t.equal(again.requests(), 1, 'the cache holds the updated database')
})

t.test('Database Out Of Sync: re-validate, rediscover, retry once with the target looked up again', async (t) => {
  const { db, server, store } = world()
  const c = await connect(db, server, store)
  const before = await c.client.discover()
  t.ok(c.conn.robustCaching)
  const name = before.characteristic('2a00')!
  // The database changes; this client did not ask for Service Changed indications.
  db.addService({ uuid: 'abcd', characteristics: [{ uuid: 'abce', properties: ['read'], value: 'x' }] })
  t.notOk(c.conn.changeAware)
  const mark = c.sent().length
  const v = await c.client.read(name)
  t.equal(Buffer.from(v).toString(), 'hcikit large-db')
  const ops = c.sent().slice(mark)
  t.equal(ops[0], '0a0300', 'the read')
  t.equal(ops[1], '080100ffff2a2b', 'answered Out Of Sync: the hash, by type')
  t.equal(ops.at(-1), '0a0300', 'the read again, last')
  t.ok(c.client.database!.service('abcd'), 'rediscovered')
  t.not(c.client.database, before)
  t.ok(c.conn.changeAware)
})

t.test('Database Out Of Sync with an unchanged hash: retried once on the same handle', async (t) => {
  const s = setup({ client: { peer: PEER, store: new MemoryCacheStore() } })
  await s.client.exchangeMtu()
  const db = await s.client.discover()
  s.server.outOfSync = 1
  s.mark()
  t.same([...(await s.client.read(db.characteristic('2a01')!))], [0x41, 0x03])
  t.equal(s.requests(), 3, 'read, hash, read')
  s.server.outOfSync = 5
  const err = await s.client.read(5).catch((e: unknown) => e)
  t.match(err, { code: 'ATT_ERROR_RESPONSE', status: 0x12 }, 'only one retry: the second Out Of Sync is the answer')
})

t.test('Database Out Of Sync after a change: a raw handle cannot be followed', async (t) => {
  const { db, server, store } = world()
  const c = await connect(db, server, store)
  await c.client.discover()
  db.addService({ uuid: 'abcd', characteristics: [] })
  const err = await c.client.read(3).catch((e: unknown) => e)
  t.match(err, { code: 'GATT_NOT_FOUND', message: /raw handle/ })
  t.match((err as Error).cause, { status: 0x12 })
})

t.test('Service Changed indication values that make no sense are ignored', async (t) => {
  const s = setup({ client: { policy: 'off' } })
  await s.client.exchangeMtu()
  await s.client.discover()
  const events: unknown[] = []
  s.client.on('serviceChanged', (e) => events.push(e))
  await s.serverBearer.indicate(10, Uint8Array.of(5, 0, 1, 0)) // end before start
  await s.serverBearer.indicate(10, Uint8Array.of(5, 0)) // too short
  await settle()
  t.same(events, [])
})
