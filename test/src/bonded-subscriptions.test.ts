/**
 * Our peripheral keeps a bonded central's CCCD values across its connections (Core v5.4 Vol 3
 * Part G 3.3.3.3; src/bonded-subscriptions.ts): after a reconnect that encrypts from the bond,
 * notifications reach it without a new CCCD write. An unbonded central starts from nothing each
 * time, and unpair() forgets what was kept. Two stacks of ours on the virtual link.
 */
import t, { type Test } from 'tap'
import { open, createVirtualLink, type Adapter, type Central, type VirtualLink } from '../../src/index.ts'

const VALUE = Uint8Array.of(1, 2, 3)

async function peripheral(t: Test, link: VirtualLink): Promise<Adapter> {
  const p = await open({ transport: 'virtual', link, name: 'peripheral' })
  t.teardown(() => p.close())
  p.serve({
    services: [{ uuid: 'fff0', characteristics: [{ uuid: 'fff1', properties: ['read', 'notify'], value: 'x' }] }],
  })
  await p.advertise({ name: 'p', interval: 20 })
  return p
}

/** The central as the peripheral sees it, once its link is encrypted (or at once when `encrypted` is false). */
async function centralOf(p: Adapter, encrypted: boolean): Promise<Central> {
  for (let i = 0; i < 200; i++) {
    const c = p.centrals[0]
    if (c && (!encrypted || c.security.encrypted)) return c
    await new Promise<void>((resolve) => p.clock.setTimeout(() => resolve(), 5))
  }
  throw new Error('no central')
}

/** How many centrals a notification of fff1 goes to (those whose CCCD enables notifications). */
async function subscribers(p: Adapter): Promise<number> {
  return (await p.gattServer!.notify('fff1', VALUE)).length
}

t.test('a bonded central: its subscription comes back when it reconnects and encrypts', async (t) => {
  const link = createVirtualLink({ seed: 61 })
  const p = await peripheral(t, link)
  await using c = await open({ transport: 'virtual', link, name: 'central' })
  {
    await using client = await c.connect(p.address, { security: 'encrypted' })
    t.equal(client.security.bonded, true, 'paired and bonded')
    await client.gatt.subscribe(client.characteristic('fff0', 'fff1'), { mode: 'notify', onValue: () => {} })
    t.equal(await subscribers(p), 1, 'subscribed on the first link')
  }
  {
    await using client = await c.connect(p.address, { security: 'encrypted' })
    const them = await centralOf(p, true)
    t.equal(them.security.bonded, true, 'the second link is encrypted from the bond')
    t.equal(await subscribers(p), 1, 'subscribed again without writing the CCCD')
    await client.disconnect()
  }
  // Both sides forget the bond; a new pairing makes a new bond, which starts from nothing.
  await p.unpair(c.address)
  await c.unpair(p.address)
  {
    await using client = await c.connect(p.address, { security: 'encrypted' })
    await centralOf(p, true)
    t.equal(client.security.bonded, true, 'bonded again')
    t.equal(await subscribers(p), 0, 'after unpair(): nothing kept for the new bond')
  }
})

t.test('an unbonded central starts from nothing on each connection', async (t) => {
  const link = createVirtualLink({ seed: 62 })
  const p = await peripheral(t, link)
  await using c = await open({ transport: 'virtual', link, name: 'central' })
  {
    await using client = await c.connect(p.address)
    await client.gatt.subscribe(client.characteristic('fff0', 'fff1'), { mode: 'notify', onValue: () => {} })
    t.equal(await subscribers(p), 1)
  }
  {
    await using client = await c.connect(p.address)
    await centralOf(p, false)
    t.equal(client.security.bonded, false)
    t.equal(
      await subscribers(p),
      0,
      'not bonded: the CCCD is not kept (Part G 3.3.3.3 keeps it for bonded devices only)',
    )
  }
})
