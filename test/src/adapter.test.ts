/**
 * src/adapter.ts: open() on the virtual link (bring-up, address, state), scan with filters
 * (name, service, address, manufacturer, duplicates), find() and its NOT_FOUND, connect by
 * advertisement / by address (type learned from a scan, or found by one), timeouts and aborts, close() with
 * links open, and the 'state' event. Peers are other adapters on the same link: no sockets.
 */
import t from 'tap'
import { open, createVirtualLink, HcikitError, type Adapter } from '../../src/index.ts'

const DECL = {
  gap: { deviceName: 'peer' },
  services: [
    {
      uuid: 'fff0',
      characteristics: [{ id: 'v', uuid: 'fff1', properties: ['read', 'write'] as const, value: 'hello' }],
    },
  ],
}

async function peer(
  link: ReturnType<typeof createVirtualLink>,
  name: string,
  extra: Parameters<Adapter['advertise']>[0] = {},
): Promise<Adapter> {
  const a = await open({ transport: 'virtual', link, name })
  a.serve(DECL)
  await a.advertise({ name, services: ['fff0'], ...extra })
  return a
}

t.test('open: virtual bring-up, own link, close', async (t) => {
  const a = await open({ transport: 'virtual' })
  t.equal(a.state, 'open')
  t.match(a.address, /^[0-9A-F]{2}(:[0-9A-F]{2}){5}$/)
  t.ok(a.info.supportedCommands.length === 64, 'bring-up read the supported commands')
  const states: string[] = []
  a.on('state', (s) => states.push(s.state))
  await a.close()
  t.equal(a.state, 'closed')
  t.same(states, ['closed'])
  await t.rejects(a.connect('11:22:33:44:55:66'), { code: 'CLOSED' })
  await a.close() // idempotent
})

t.test('open: a transport spec that does not parse', async (t) => {
  await t.rejects(open({ transport: 'bogus:1' }), { code: 'TRANSPORT_SPEC' })
})

t.test('scan with filters; find; connect; read', async (t) => {
  const link = createVirtualLink({ seed: 3 })
  const a = await peer(link, 'alpha', { manufacturerData: { companyId: 0x0059, data: new Uint8Array([1]) } })
  const b = await peer(link, 'beta')
  const central = await open({ transport: 'virtual', link, name: 'central' })
  t.teardown(async () => {
    await central.close()
    await a.close()
    await b.close()
  })
  const names = new Set<string>()
  for await (const ad of central.scan({ services: ['fff0'], timeout: 2000 })) names.add(ad.name!)
  t.same([...names].sort(), ['alpha', 'beta'], 'both, once each')

  let count = 0
  for await (const ad of central.scan({ name: 'beta', duplicates: true, timeout: 2000 })) {
    t.equal(ad.name, 'beta')
    count++
  }
  t.ok(count > 1, `duplicates: beta seen ${count} times`)

  const byMfr = await central.find({ manufacturer: 0x0059 }, { timeout: 2000 })
  t.equal(byMfr.name, 'alpha')
  const byRe = await central.find({ name: /^be/ })
  t.equal(byRe.address, b.address)
  await t.rejects(central.find({ name: 'gamma' }, { timeout: 1000 }), { code: 'NOT_FOUND', name: 'NotFoundError' })

  const client = await central.connect(byMfr, { timeout: 5000 })
  t.equal(client.address, a.address)
  t.equal(new TextDecoder().decode(await client.read(client.characteristic('fff0', 'fff1'))), 'hello')
  t.throws(() => client.characteristic('fff0', 'fff9'), { code: 'NOT_FOUND' })
  t.equal(central.clients.length, 1)
  const d = await client.disconnect()
  t.equal(d.reason, 0x16, 'our controller reports Connection Terminated By Local Host')
  t.equal(d.local, true)
})

t.test('connect by address; timeout; abort', async (t) => {
  const link = createVirtualLink({ seed: 4 })
  const p = await peer(link, 'p')
  const central = await open({ transport: 'virtual', link })
  t.teardown(async () => {
    await central.close()
    await p.close()
  })
  {
    await using client = await central.connect(p.address)
    t.equal(client.connected, true)
    t.equal(p.centrals.length, 1)
  }
  // an address nobody advertises: hcikit scans for its type within the timeout, then says so
  const err = await central.connect('C0:00:00:00:00:01', { timeout: 500 }).catch((e: unknown) => e)
  t.ok(err instanceof HcikitError, 'a typed error')
  t.equal((err as HcikitError).code, 'NOT_FOUND')
  t.match((err as HcikitError).message, /C0:00:00:00:00:01 was not seen advertising within 500 ms/)
  t.match((err as HcikitError).hint, /addressType/, 'the hint names the way around the scan')
  // with its type given there is no scan: the connection attempt itself times out
  const typed = await central
    .connect({ address: 'C0:00:00:00:00:01', addressType: 'public' }, { timeout: 500 })
    .catch((e: unknown) => e)
  t.equal((typed as HcikitError).code, 'TIMEOUT')
  const ac = new AbortController()
  const attempt = central.connect({ address: 'C0:00:00:00:00:02', addressType: 'random' }, { signal: ac.signal })
  ac.abort(new Error('changed my mind'))
  await t.rejects(attempt, { message: 'changed my mind' })
  // the adapter still works after the cancelled attempts
  await using again = await central.connect(p.address, { timeout: 5000 })
  t.ok(again.connected)
})
