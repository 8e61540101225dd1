/**
 * GATT discovery (att/discovery.ts through att/client.ts): the database it finds, the number of
 * ATT requests it needs on fixtures/gatt/large-db.json (issue 4, acceptance 5: at most 12 at
 * MTU 517), the single procedures, the remote database lookups, and bad peers (acceptance 6).
 */
import t, { type Test } from 'tap'
import fc from 'fast-check'
import { AttError, GattError } from '../../att/errors.ts'
import { AttBearer } from '../../att/bearer.ts'
import { GattClient } from '../../att/client.ts'
import { MemoryCacheStore } from '../../att/cache.ts'
import { AttributeDatabase } from '../../att/database.ts'
import { GattServer } from '../../att/server.ts'
import { parseUuid } from '../../att/uuid.ts'
import { settle } from '../helpers/hci-script.ts'
import { channelPair } from './channel-pair.ts'
import { countRequests, LARGE_DB, largeDbDeclaration, setup, shapeOf } from './gatt-setup.ts'
import { loadDeclaration, type ExpectedService } from './gatt-peer.ts'
import { FakeClock } from '../helpers/hci-script.ts'

const u = (s: string | number) => parseUuid(s)

t.test('large-db at MTU 517: the whole database in at most 12 requests', async (t) => {
  const s = setup({ client: { policy: 'off', robustCaching: false } })
  await s.client.exchangeMtu()
  t.equal(s.bearer.mtu, 517)
  s.mark()
  const db = await s.client.discover()
  const discovery = s.requests()
  t.same(shapeOf(db), s.expected, 'services, includes, characteristics and descriptors as laid out')
  t.comment(`discovery alone: ${discovery} requests`)
  t.ok(discovery <= 11, `discovery alone needs ${discovery} requests (<= 11)`)

  // The first connection as the client really makes it: cache policy validate (hash read) and
  // Robust Caching enabled (Client Supported Features written).
  const s2 = setup({ client: { peer: 'AA:BB:CC:DD:EE:FF/public', store: new MemoryCacheStore() } })
  await s2.client.exchangeMtu()
  s2.mark()
  const db2 = await s2.client.discover()
  const first = s2.requests()
  t.comment(`first connection (discovery + Database Hash + Client Supported Features): ${first} requests`)
  t.ok(first <= 12, `first connection needs ${first} requests (<= 12)`)
  t.equal(s2.client.source, 'discovered')
  t.same(db2.hash, s2.server.get(15)!.value, 'the Database Hash came along (batched in a Read Multiple)')
  t.same([...s2.server.get(13)!.value], [0x01], 'Robust Caching bit set in Client Supported Features')
  t.ok(s2.client.robustCachingEnabled)

  // The fixture has what acceptance 5 asks for.
  const prim = db.services.filter((x) => x.primary)
  const chars = db.characteristics
  t.ok(prim.length >= 6, `${prim.length} primary services`)
  t.equal(db.services.filter((x) => !x.primary).length, 1, 'one secondary service')
  t.ok(
    db.services.some((x) => x.includes.some((i) => !i.primary)),
    'included by a primary',
  )
  t.ok(chars.length >= 25, `${chars.length} characteristics`)
  t.ok(
    chars.some((c) => c.uuid.startsWith('0000')) && chars.some((c) => !c.uuid.endsWith('-0000-1000-8000-00805f9b34fb')),
    'mixing 16- and 128-bit UUIDs',
  )
  t.ok(chars.reduce((n, c) => n + c.descriptors.length, 0) >= 8, 'at least 8 descriptors')
})

t.test('large-db at MTU 23: same database, more requests', async (t) => {
  const s = setup({ mtu: 23, client: { policy: 'off', robustCaching: false } })
  const db = await s.client.discover()
  t.same(shapeOf(db), s.expected)
  t.comment(`MTU 23: ${s.requests()} requests`)
})

t.test('without the CCCD sweep the plan uses Find Information only, same result', async (t) => {
  const s = setup({ client: { policy: 'off', robustCaching: false } })
  await s.client.exchangeMtu()
  s.mark()
  const { discoverDatabase } = await import('../../att/discovery.ts')
  const { database } = await discoverDatabase(s.bearer, { cccdSweep: false })
  t.same(shapeOf(database), s.expected)
  t.notOk(
    s.c.sent.slice(1).some((h) => h.startsWith('08') && h.endsWith('0229')),
    'no Read By Type for 0x2902',
  )
  t.comment(`without the sweep: ${s.requests()} requests`)
})

function shapeOfServer(db: AttributeDatabase): ExpectedService[] {
  return db.serviceRefs.map((s) => ({
    uuid: s.uuid,
    start: s.handle,
    end: s.endHandle,
    primary: s.primary,
    includes: db
      .range(s.handle, s.endHandle)
      .filter((a) => a.kind === 'include')
      .map((a) => a.handle),
    characteristics: s.characteristics.map((c) => ({
      uuid: c.uuid,
      handle: c.handle,
      valueHandle: c.valueHandle,
      properties: c.properties,
      descriptors: c.descriptors.map((d) => ({ uuid: d.uuid, handle: d.handle })),
    })),
  }))
}

t.test('large-db served by att/server.ts: same database, at most 12 requests', async (t) => {
  const clock = new FakeClock()
  const [c, p] = channelPair()
  const bearer = new AttBearer(c, { clock })
  const serverBearer = new AttBearer(p, { clock })
  const sdb = new AttributeDatabase(largeDbDeclaration())
  new GattServer(sdb).attach(serverBearer, { encrypted: false, authenticated: false, keySize: 0 })
  const client = new GattClient(bearer, { peer: 'x', store: new MemoryCacheStore() })
  await client.exchangeMtu()
  const base = c.sent.length
  const db = await client.discover()
  const n = countRequests(c.sent, base)
  t.same(shapeOf(db), shapeOfServer(sdb))
  t.same(db.hash, sdb.hashValue(), 'Database Hash as the server computes it')
  t.comment(`against att/server.ts: ${n} requests`)
  t.ok(n <= 12, `${n} requests (<= 12)`)
})

t.test('single procedures', async (t) => {
  const s = setup({ client: { policy: 'off' } })
  await s.client.exchangeMtu()
  const all = await s.client.discoverPrimaryServices()
  t.same(
    all.map((x) => [x.uuid, x.start, x.end]),
    s.expected.filter((x) => x.primary).map((x) => [x.uuid, x.start, x.end]),
  )
  const hr = await s.client.discoverPrimaryServices('180d')
  t.same(
    hr.map((x) => [x.start, x.end]),
    [[32, 39]],
    'by UUID (Find By Type Value)',
  )
  const sensor = (await s.client.discoverPrimaryServices('a0b40020-7c1f-4b8e-9a52-3f0c1d2e4b5a'))[0]!
  const chars = await s.client.discoverCharacteristics(sensor, { descriptors: true })
  const exp = s.expected.find((x) => x.start === sensor.start)!
  t.same(
    chars.map((c) => ({
      uuid: c.uuid,
      handle: c.handle,
      valueHandle: c.valueHandle,
      properties: c.properties,
      descriptors: c.descriptors.map((d) => ({ uuid: d.uuid, handle: d.handle })),
    })),
    exp.characteristics,
  )
  const stream = chars[0]!
  stream.descriptors.length = 0
  const ds = await s.client.discoverDescriptors(stream)
  t.same(
    ds.map((d) => [d.uuid, d.handle]),
    [
      [u(0x2902), 52],
      [u(0x2901), 53],
    ],
  )
  t.same(await s.client.discoverPrimaryServices('1234'), [], 'absent UUID: none')
})

t.test('remote database lookups by UUID and handle; ambiguity is an error', async (t) => {
  const decl = loadDeclaration(LARGE_DB)
  decl.services.push({ uuid: '180f', characteristics: [{ uuid: '2a19', properties: ['read'], value: { hex: '32' } }] })
  const s = setup({ decl, client: { policy: 'off' } })
  await s.client.exchangeMtu()
  const db = await s.client.discover()
  t.equal(db.service('180d')!.start, 32)
  t.equal(db.service(0x180d)!.start, 32, 'any UUID form')
  t.equal(db.characteristic('180d', '2a37')!.valueHandle, 34)
  t.equal(db.characteristic('2a37')!.valueHandle, 34)
  t.equal(db.characteristic('a0b40021-7c1f-4b8e-9a52-3f0c1d2e4b5a')!.cccd!.handle, 52)
  t.equal(db.service('1234'), undefined)
  t.equal(db.characteristic('180d', '2a19'), undefined)
  t.throws(() => db.service('180f'), { code: 'GATT_AMBIGUOUS', message: /service 180f is ambiguous: 2 matches/ })
  t.throws(() => db.characteristic('2a19'), { code: 'GATT_AMBIGUOUS' })
  t.equal(db.findServices('180f').length, 2)
  t.equal(db.findCharacteristics('2a19').length, 2)
  const at = db.at(34)
  t.equal(at?.kind, 'characteristic')
  t.equal(db.at(35)?.kind, 'descriptor')
  t.equal(db.at(32)?.kind, 'service')
  t.equal(db.characteristicAt(34)!.uuid, u('2a37'))
  t.equal(db.characteristicAt(33), undefined, 'the declaration is not the value')
  t.equal(db.serviceOf(45)!.primary, false)
  const sensor = db.service('a0b40020-7c1f-4b8e-9a52-3f0c1d2e4b5a')!
  t.same(
    sensor.includes.map((x) => x.uuid),
    ['a0b40010-7c1f-4b8e-9a52-3f0c1d2e4b5a'],
  )
})

// ---------------------------------------------------------------------------------------------
// Bad peers (acceptance 6): every one ends with a clear error (or a correct result), in a
// bounded number of requests, and never past the timeout.

const le = (v: number) => [v & 0xff, v >> 8]
const bytes = (...xs: (number | number[])[]) => Uint8Array.from(xs.flat())

async function badPeer(
  t: Test,
  tamper: (req: Uint8Array, rsp: Uint8Array) => Uint8Array | 'drop',
  expect: RegExp,
  code = 'GATT_BAD_PEER',
) {
  const s = setup({ client: { policy: 'off' }, server: { tamper } })
  await s.client.exchangeMtu()
  s.mark()
  const err = await s.client.discover().then(
    () => undefined,
    (e: unknown) => e,
  )
  t.ok(err instanceof GattError || err instanceof AttError, `a typed error: ${String(err)}`)
  t.equal((err as GattError).code, code)
  t.match((err as Error).message, expect)
  t.ok(s.requests() < 20, `gave up after ${s.requests()} requests`)
  // The bearer is still usable.
  t.notOk(s.bearer.closed)
  t.same([...(await s.client.read(5))], [0x41, 0x03], 'a read still works after it')
  return s
}

t.test('bad peer: service handles that do not increase', async (t) => {
  await badPeer(
    t,
    (req, rsp) =>
      req[0] === 0x10 ? bytes(0x11, 6, le(0x10), le(0x20), le(0x180d), le(0x05), le(0x08), le(0x180f)) : rsp,
    /service handles do not increase \(0x0005 after 0x0010\)/,
  )
})

t.test('bad peer: overlapping service ranges', async (t) => {
  await badPeer(
    t,
    (req, rsp) =>
      req[0] === 0x10 ? bytes(0x11, 6, le(0x01), le(0x10), le(0x1800), le(0x08), le(0x12), le(0x180f)) : rsp,
    /overlapping services: 0x0008 starts inside the previous one \(ending 0x0010\)/,
  )
})

t.test('bad peer: the same service again and again (would loop)', async (t) => {
  await badPeer(
    t,
    (req, rsp) => (req[0] === 0x10 ? bytes(0x11, 6, le(0x01), le(0x07), le(0x1800)) : rsp),
    /outside the requested range/,
  )
})

t.test('bad peer: a service that ends before it starts', async (t) => {
  await badPeer(
    t,
    (req, rsp) => (req[0] === 0x10 ? bytes(0x11, 6, le(0x09), le(0x02), le(0x1800)) : rsp),
    /ends before it starts/,
  )
})

t.test('bad peer: characteristic declarations that do not increase', async (t) => {
  await badPeer(
    t,
    (req, rsp) =>
      req[0] === 0x08 && req[5] === 0x03 && req[6] === 0x28
        ? bytes(0x09, 7, le(0x04), 0x02, le(0x05), le(0x2a01), le(0x02), 0x02, le(0x03), le(0x2a00))
        : rsp,
    /characteristic handles do not increase/,
  )
})

t.test('bad peer: a characteristic value handle before its declaration', async (t) => {
  await badPeer(
    t,
    (req, rsp) =>
      req[0] === 0x08 && req[5] === 0x03 && req[6] === 0x28
        ? bytes(0x09, 7, le(0x04), 0x02, le(0x03), le(0x2a01))
        : rsp,
    /does not follow the declaration/,
  )
})

t.test('bad peer: Find Information handles that do not increase', async (t) => {
  await badPeer(
    t,
    (req, rsp) =>
      req[0] === 0x04
        ? bytes(0x05, 1, le(req[1]! | (req[2]! << 8)), le(0x2904), le(req[1]! | (req[2]! << 8)), le(0x2902))
        : rsp,
    /Find Information handles do not increase \(0x001f after 0x001f\)/,
  )
})

t.test('bad peer: an empty list', async (t) => {
  await badPeer(t, (req, rsp) => (req[0] === 0x10 ? bytes(0x11, 6) : rsp), /empty Read By Group Type Response/)
})

t.test('bad peer: a response of the wrong type', async (t) => {
  await badPeer(
    t,
    (req, rsp) => (req[0] === 0x10 ? bytes(0x0b, 1, 2, 3) : rsp),
    /Read Response in answer to Read By Group Type Request/,
    'ATT_UNEXPECTED_RESPONSE',
  )
})

t.test('bad peer: an include whose range overlaps another service', async (t) => {
  const isInclude = (req: Uint8Array) => req[0] === 0x08 && req[5] === 0x02 && req[6] === 0x28
  await badPeer(
    t,
    (req, rsp) => (isInclude(req) ? bytes(0x09, 6, le(0x31), le(0x29), le(0x2c)) : rsp),
    /included range 0x0029-0x002c overlaps the service at 0x0028-0x002a/,
  )
  await badPeer(
    t,
    (req, rsp) => (isInclude(req) ? bytes(0x09, 6, le(0x31), le(0x28), le(0x2c)) : rsp),
    /include at 0x0031 gives 0x0028-0x002c, the service there ends at 0x002a/,
  )
  await badPeer(
    t,
    (req, rsp) => (isInclude(req) ? bytes(0x09, 6, le(0x31), le(0x30), le(0x3d)) : rsp),
    /includes itself/,
  )
})

t.test('bad peer: an MTU below 23 is taken as 23 and discovery works', async (t) => {
  // A peer answering the Exchange MTU with 10.
  const [c, p] = channelPair()
  const bearer = new AttBearer(c, { clock: new FakeClock() })
  p.onData((d) => {
    if (d[0] === 0x02) void p.send(bytes(0x03, le(10)))
  })
  const r = bearer.exchangeMtu()
  await settle()
  t.equal(await r, 23)
  // And a full discovery at the resulting MTU 23 against a server that says the same.
  const s23 = setup({ serverMtu: 23, client: { policy: 'off' } })
  t.equal(await s23.client.exchangeMtu(), 23)
  const db = await s23.client.discover()
  t.same(shapeOf(db), s23.expected)
})

t.test('bad peer: never answers -> ATT_TIMEOUT at 30 s, not before, bearer closed', async (t) => {
  const s = setup({ client: { policy: 'off' }, server: { tamper: (req, rsp) => (req[0] === 0x08 ? 'drop' : rsp) } })
  await s.client.exchangeMtu()
  let err: unknown
  const done = s.client.discover().catch((e: unknown) => (err = e))
  for (let i = 0; i < 10; i++) await settle()
  s.clock.advance(29_999)
  await settle()
  t.equal(err, undefined, 'still waiting at 29.999 s')
  s.clock.advance(1)
  await done
  t.equal((err as AttError).code, 'ATT_TIMEOUT')
  t.equal((err as AttError).opcode, 0x08)
  t.ok(s.bearer.closed)
  await t.rejects(s.client.read(3), { code: 'ATT_CLOSED' })
})

t.test('bad peer: a value that never ends stops at 512 octets', async (t) => {
  const s = setup({
    client: { policy: 'off' },
    server: {
      tamper: (req, rsp) =>
        req[0] === 0x0a || req[0] === 0x0c ? Uint8Array.from([req[0] + 1, ...new Array(22).fill(7)]) : rsp,
    },
  })
  const err = await s.client.read(3).catch((e: unknown) => e)
  t.equal((err as GattError).code, 'GATT_BAD_PEER')
  t.match((err as Error).message, /past 512 octets/)
  t.ok(s.requests() <= 25, `${s.requests()} requests`)
})

t.test('a peer without the GATT caching characteristics: discovery still works, no hash', async (t) => {
  const s = setup({ client: { peer: 'p', store: new MemoryCacheStore() } })
  s.server.attributes = s.server.attributes.filter((a) => a.handle < 12 || a.handle > 15)
  // Keep the GATT service's group end consistent with what is left.
  s.server.get(8)!.groupEnd = 11
  const db = await s.client.discover()
  t.equal(db.hash, undefined)
  t.equal(db.service('1801')!.characteristics.length, 1)
  t.notOk(s.client.robustCachingEnabled)
})

t.test('over the real L2CAP path: createLinkPair + L2capMux, client and att/server.ts', async (t) => {
  const { createLinkPair } = await import('../../att/l2cap/link.ts')
  const { L2capMux } = await import('../../att/l2cap/mux.ts')
  const clock = new FakeClock()
  const frames: string[] = []
  const [central, peripheral] = createLinkPair({
    onTransmit: (from, f) => from === 'central' && frames.push(Buffer.from(f).toString('hex')),
  })
  const cm = new L2capMux(central, { clock })
  const pm = new L2capMux(peripheral, { clock })
  const bearer = new AttBearer(cm.att, { clock })
  const serverBearer = new AttBearer(pm.att, { clock })
  const sdb = new AttributeDatabase(largeDbDeclaration())
  new GattServer(sdb).attach(serverBearer, peripheral.security)
  const client = new GattClient(bearer, { policy: 'off' })
  t.equal(await client.exchangeMtu(), 517)
  t.equal(frames[0], '0300040002' + '0502', 'B-frame: length 3, CID 0x0004, Exchange MTU Request 517')
  const db = await client.discover()
  t.same(shapeOf(db), shapeOfServer(sdb))
  t.equal(Buffer.from(await client.read(db.characteristic('2a00')!)).toString(), 'hcikit large-db')
  central.close()
  await settle()
  t.ok(bearer.closed, 'the link going away closes the bearer')
  await t.rejects(client.read(3), { code: 'ATT_CLOSED' })
})

// ---------------------------------------------------------------------------------------------
// Properties: any database, any MTU, with or without the CCCD sweep, is discovered exactly;
// any mutation of the peer's responses ends discovery (a result or a typed error), never a loop.

const uuid16Arb = fc.integer({ min: 0x3000, max: 0xffff }).map((n) => n.toString(16).padStart(4, '0'))
const uuid128Arb = fc.uuid().map((s) => s.replace(/^(.)/, 'f'))
const uuidArb = fc.oneof(uuid16Arb, uuid128Arb)
const propsArb = fc.subarray(['read', 'write', 'writeWithoutResponse', 'notify', 'indicate'], { minLength: 1 })
const descArb = fc.record({
  uuid: fc.oneof(
    fc.integer({ min: 0x2905, max: 0x2910 }).map((n) => n.toString(16)),
    uuid128Arb,
  ),
  value: fc.constant('d'),
})
const charArb = fc.record(
  {
    uuid: uuidArb,
    properties: propsArb,
    value: fc.constant('v'),
    description: fc.option(fc.constant('about'), { nil: undefined }),
    descriptors: fc.array(descArb, { maxLength: 2 }),
  },
  { requiredKeys: ['uuid', 'properties'] },
)
const dbArb = fc
  .array(fc.record({ uuid: uuidArb, primary: fc.boolean(), characteristics: fc.array(charArb, { maxLength: 6 }) }), {
    minLength: 1,
    maxLength: 8,
  })
  .chain((services) => {
    const primaries = services.map((s, i) => (s.primary ? i : -1)).filter((i) => i >= 0)
    if (primaries.length === 0) services[0]!.primary = true
    const prim = services.map((s, i) => (s.primary ? i : -1)).filter((i) => i >= 0)
    return fc.tuple(
      fc.constant(services),
      fc.array(fc.constantFrom(...prim), { minLength: services.length, maxLength: services.length }),
    )
  })
  .map(([services, includers]) => {
    const out = services.map((s, i) => ({ ...s, id: `s${i}`, includes: [] as string[] }))
    out.forEach((s, i) => {
      if (!s.primary) out[includers[i]!]!.includes.push(s.id)
    })
    return { services: out }
  })

t.test('property: any database at any MTU is discovered exactly', async (t) => {
  await fc.assert(
    fc.asyncProperty(dbArb, fc.integer({ min: 23, max: 517 }), fc.boolean(), async (decl, mtu, sweep) => {
      const s = setup({ decl, mtu, client: { policy: 'off' } })
      await s.client.exchangeMtu()
      const { discoverDatabase } = await import('../../att/discovery.ts')
      const { database } = await discoverDatabase(s.bearer, { cccdSweep: sweep })
      t.same(shapeOf(database), s.expected)
      return JSON.stringify(shapeOf(database)) === JSON.stringify(s.expected)
    }),
    { numRuns: 150, seed: 0x4a77 },
  )
})

t.test('property: mutated responses end discovery with a result or a typed error, never a loop', async (t) => {
  let runs = 0
  const outcomes: Record<string, number> = {}
  await fc.assert(
    fc.asyncProperty(
      dbArb,
      fc.integer({ min: 1, max: 0xffffffff }),
      fc.integer({ min: 23, max: 200 }),
      async (decl, seed, mtu) => {
        let x = seed
        const rnd = () => {
          x ^= x << 13
          x ^= x >>> 17
          x ^= x << 5
          return (x >>> 0) / 0x100000000
        }
        let requests = 0
        const s = setup({
          decl,
          mtu,
          client: { policy: 'off' },
          server: {
            tamper: (req, rsp) => {
              if (++requests > 3000) return Uint8Array.of(0x01, req[0]!, 0, 0, 0x0e)
              if (rnd() > 0.3) return rsp
              const m = rsp.slice()
              const k = Math.floor(rnd() * 4)
              if (k === 0 && m.length > 1) m[1 + Math.floor(rnd() * (m.length - 1))] = Math.floor(rnd() * 256)
              if (k === 1) return m.subarray(0, Math.floor(rnd() * m.length) + 1)
              if (k === 2 && m.length > 3) m.copyWithin(2, 2 + 2 * Math.floor(rnd() * ((m.length - 2) / 2)))
              if (k === 3)
                return Uint8Array.from([
                  ...m,
                  ...Array.from({ length: Math.floor(rnd() * 8) }, () => Math.floor(rnd() * 256)),
                ])
              return m
            },
          },
        })
        await s.client.exchangeMtu().catch(() => undefined)
        const outcome = await s.client.discover().then(
          () => 'ok',
          (e: unknown) => (e instanceof GattError || e instanceof AttError ? 'typed' : `untyped: ${String(e)}`),
        )
        runs++
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1
        return requests <= 3000 && outcome !== undefined && !outcome.startsWith('untyped')
      },
    ),
    { numRuns: 150, seed: 0x5eed },
  )
  t.equal(runs, 150)
  t.comment(`outcomes: ${JSON.stringify(outcomes)}`)
  t.ok((outcomes.typed ?? 0) > 0, 'some runs met a bad peer')
})
