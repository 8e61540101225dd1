/**
 * Per-connection control in the public API (src/adapter.ts connect(), src/client.ts,
 * src/link-options.ts) on the virtual link: the ATT MTU per connection, connect without discovery
 * still exchanging the MTU, connection parameters in ms at connect and by updateParameters(), PHYs
 * at connect and by setPhy(), the LE Data Length, and the Client events for each; Service Changed
 * reaching 'servicesChanged'; every bad option refused before anything is sent. The other side of
 * each link is another adapter on the same link: what it sees (its own Connection, its GATT
 * server's view of the MTU) is the oracle, in the spec's units written out here.
 */
import t, { type Test } from 'tap'
import { open, createVirtualLink, type Adapter, type Central, type Client } from '../../src/index.ts'

const DECL = {
  gap: { deviceName: 'peer' },
  services: [
    {
      uuid: 'fff0',
      characteristics: [
        { id: 'v', uuid: 'fff1', properties: ['read', 'write'] as const, value: 'hello', maxLength: 512 },
      ],
    },
  ],
}

async function pair(t: Test, seed: number): Promise<{ central: Adapter; peer: Adapter; centralOf: () => Central }> {
  const link = createVirtualLink({ seed })
  const peer = await open({ transport: 'virtual', link, name: 'peer' })
  peer.serve(DECL)
  await peer.advertise({ name: 'peer', services: ['fff0'] })
  const central = await open({ transport: 'virtual', link, name: 'central' })
  t.teardown(async () => {
    await central.close()
    await peer.close()
  })
  return { central, peer, centralOf: () => peer.centrals.at(-1)! }
}

function next<K extends 'mtu' | 'parameters' | 'phy' | 'dataLength' | 'servicesChanged'>(
  c: Client,
  event: K,
): Promise<Parameters<Parameters<Client['on']>[1]>[0]> {
  return new Promise((resolve) => {
    const off = c.on(event, (e) => {
      off()
      resolve(e as never)
    })
  })
}

t.test('ATT MTU per connection; discover: false still exchanges it', async (t) => {
  const { central, peer, centralOf } = await pair(t, 21)
  {
    await using small = await central.connect(peer.address, { mtu: 100 })
    t.equal(small.mtu, 100, 'our side: min(100, 517)')
    t.equal(centralOf().gatt!.mtu, 100, "the peer's GATT server agrees")
  }
  let handle: number
  {
    await using big = await central.connect(peer.address)
    t.equal(big.mtu, 517, 'the next connection has the default again')
    handle = big.characteristic('fff0', 'fff1').valueHandle
  }
  const mtus: number[] = []
  await using raw = await central.connect(peer.address, { discover: false })
  raw.on('mtu', (m) => mtus.push(m))
  t.equal(raw.mtu, 517, 'exchanged without discovery')
  const value = new Uint8Array(244).fill(0x5a)
  await raw.write(handle, value)
  const db = peer.gattServer!.db
  t.same(
    db.get(db.characteristic('v').valueHandle)!.value,
    value,
    'a 244-byte write in one Write Request arrived whole',
  )
  t.throws(() => raw.database, { code: 'NOT_FOUND', message: /not discovered/ })
  await raw.discover()
  t.equal(raw.characteristic('fff1').valueHandle, handle, 'discover() later')
  t.same(mtus, [], 'no MTU change after connect')
})

t.test("the 'mtu' event of a Central: the central's exchange, as the peripheral sees it", async (t) => {
  const { central, peer } = await pair(t, 22)
  const seen = new Promise<[Central, number]>((resolve) =>
    peer.on('connection', (c) => {
      const off = c.on('mtu', (m) => {
        off()
        resolve([c, m])
      })
    }),
  )
  await using client = await central.connect(peer.address, { discover: false, mtu: 185 })
  const [c, mtu] = await seen
  t.equal(mtu, 185, 'min(185 asked by the central, 517 of the peripheral)')
  t.equal(c.mtu, 185)
  t.equal(client.mtu, 185)
})

t.test('connection parameters in ms: at connect, updateParameters(), the event', async (t) => {
  const { central, peer, centralOf } = await pair(t, 23)
  await using c = await central.connect(peer.address, {
    parameters: { intervalMin: 15, intervalMax: 15, latency: 2, supervisionTimeout: 2000 },
  })
  t.same(c.parameters, { interval: 15, latency: 2, supervisionTimeout: 2000 })
  // the peripheral's controller reports what is in force, in the spec's units: 15 ms / 1.25, 2000 ms / 10
  t.same(centralOf().connection.parameters, { interval: 12, latency: 2, timeout: 200 })
  const event = next(c, 'parameters')
  const peerEvent = new Promise((r) => centralOf().connection.on('parameters', r))
  const now = await c.updateParameters({ intervalMin: 45, intervalMax: 45, supervisionTimeout: 6000 })
  t.same(now, { interval: 45, latency: 0, supervisionTimeout: 6000 })
  t.same(await event, now, "the 'parameters' event carries the same")
  t.same(await peerEvent, { interval: 36, latency: 0, timeout: 600 }, 'the peripheral sees 36 * 1.25 ms, 600 * 10 ms')
})

t.test('PHYs: at connect, setPhy(), the event; LE Coded refused by this controller', async (t) => {
  const { central, peer, centralOf } = await pair(t, 24)
  await using c = await central.connect(peer.address, { phys: ['2M'] })
  t.same(c.phy, { tx: '2M', rx: '2M' })
  t.same(centralOf().connection.phy, { tx: 2, rx: 2 }, 'the peripheral: LE 2M (7.7.65.12 value 2) both ways')
  const event = next(c, 'phy')
  t.same(await c.setPhy({ tx: ['1M'], rx: ['1M'] }), { tx: '1M', rx: '1M' })
  t.same(await event, { tx: '1M', rx: '1M' })
  const err = await c.setPhy(['coded']).catch((e: unknown) => e)
  t.match(err, { status: 0x11 }, 'Unsupported Feature Or Parameter Value from the controller')
  t.ok(c.connected, 'the link stays up')
})

t.test('LE Data Length at connect and by setDataLength()', async (t) => {
  const { central, peer } = await pair(t, 25)
  await using c = await central.connect(peer.address, { dataLength: 200 })
  const first = c.dataLength ?? (await next(c, 'dataLength'))
  t.equal((first as { maxTxOctets: number }).maxTxOctets, 200)
  const event = next(c, 'dataLength')
  await c.setDataLength(251)
  t.equal(((await event) as { maxTxOctets: number }).maxTxOctets, 251)
})

t.test("Service Changed indications reach 'servicesChanged'", async (t) => {
  const { central, peer } = await pair(t, 26)
  await using c = await central.connect(peer.address)
  const changed = next(c, 'servicesChanged')
  peer.gattServer!.db.addService({
    uuid: 'abcd',
    characteristics: [{ uuid: 'abce', properties: ['read'], value: 'x' }],
  })
  const e = (await changed) as { database: Client['database'] }
  t.ok(e.database.service('abcd'), 'the new service is in the database the event carries')
  t.equal(c.database, e.database, 'and in client.database')
  t.equal(new TextDecoder().decode(await c.read(c.characteristic('abcd', 'abce'))), 'x')
})

t.test('bad options are refused before anything is sent', async (t) => {
  const { central, peer } = await pair(t, 27)
  const cases: [string, Parameters<Adapter['connect']>[1], RegExp][] = [
    ['interval too short', { parameters: { intervalMin: 5 } }, /intervalMin: 5 ms is outside 7.5..4000 ms/],
    [
      'min above max',
      { parameters: { intervalMin: 60, intervalMax: 40 } },
      /intervalMin 60 ms is above intervalMax 40/,
    ],
    ['latency', { parameters: { latency: 500 } }, /latency: 500/],
    [
      'timeout too short for the interval',
      { parameters: { intervalMax: 1000, supervisionTimeout: 1000 } },
      /must exceed .* 2000 ms/,
    ],
    ['mtu', { mtu: 22 }, /mtu: 22/],
    ['data length', { dataLength: 300 }, /dataLength: 300/],
    ['phy', { phys: ['3M' as '2M'] }, /'3M' is not a PHY/],
    ['no phy', { phys: [] }, /at least one PHY/],
  ]
  for (const [what, o, message] of cases) {
    const err = await central.connect(peer.address, o).catch((e: unknown) => e)
    t.match(err, { code: 'INVALID_PARAMETERS', name: 'ParameterError', message }, what)
  }
  t.equal(peer.centrals.length, 0, 'no connection was made')
  await using c = await central.connect(peer.address)
  await t.rejects(c.updateParameters({ supervisionTimeout: 50 }), { code: 'INVALID_PARAMETERS' })
  await t.rejects(c.setDataLength(26), { code: 'INVALID_PARAMETERS' })
  await t.rejects(c.setPhy({ tx: ['2M'], rx: [] }), { code: 'INVALID_PARAMETERS', message: /phys.rx/ })
  await t.rejects(open({ transport: 'virtual', mtu: 70000 }), { code: 'INVALID_PARAMETERS' })
  t.ok(c.connected, 'and the link is still fine')
})
