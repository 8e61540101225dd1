/**
 * Privacy through the public API (issue 11, acceptance 6; Core v5.4 Vol 3 Part C 10.7): an
 * adapter with privacy on advertises and connects from a resolvable private address made from
 * its IRK, changed on a timer; a peer that bonded with it (and so holds its IRK) reports it under
 * its identity address across rotations and reconnects with the bond; one that did not sees only
 * private addresses. Everything in virtual time.
 */
import t from 'tap'
import { open, createVirtualLink, randomAddressKind, resolvesWith, type Advertisement } from '../../src/index.ts'

async function nextAd(adapter: Awaited<ReturnType<typeof open>>, name: string): Promise<Advertisement> {
  return adapter.find({ name }, { timeout: 5000 })
}

t.test('a private peripheral: RPAs that rotate, resolved to its identity by the bonded central', async (t) => {
  const link = createVirtualLink({ seed: 31 })
  await using p = await open({ transport: 'virtual', link, name: 'private', privacy: { rotateMs: 60_000 } })
  p.serve({
    services: [
      {
        uuid: 'fff0',
        characteristics: [{ uuid: 'fff2', properties: ['read'], value: 'secret', permissions: { read: 'encrypted' } }],
      },
    ],
  })
  await p.advertise({ name: 'private', interval: 20 })
  await using c = await open({ transport: 'virtual', link, name: 'central' })

  const first = await nextAd(c, 'private')
  t.equal(first.addressType, 'random')
  t.equal(randomAddressKind(first.address), 'resolvable', 'advertises from a resolvable private address')
  t.equal(first.address, p.privateAddress)
  t.not(first.address, p.address, 'not its public address')
  t.equal(first.identity, undefined, 'a stranger: no identity')

  {
    await using client = await c.connect(first, { security: 'encrypted' })
    t.same(client.identity, { address: p.address, type: 'public' }, 'the pairing told us its identity')
  }
  const [bond] = await c.bonds()
  t.same(bond!.peer, { address: p.address, type: 'public' })
  t.ok(bond!.irk && resolvesWith(first.address, bond!.irk), 'its IRK resolves the address it paired from')

  // The peripheral changes its address; the bonded central still knows who it is.
  const rotated = await new Promise<string>((resolve) => {
    const off = p.on('address', (a) => {
      off()
      resolve(a.address)
    })
  })
  t.not(rotated, first.address, 'a new private address')
  const later = await c.find({ filter: (a) => a.address === rotated }, { timeout: 5000 })
  t.same(later.identity, { address: p.address, type: 'public' }, 'reported under its identity')
  await using again = await c.connect(p.address)
  t.equal(again.address, rotated, 'connect(identity) reached it at its current private address')
  t.same(await again.read(again.characteristic('fff0', 'fff2')), new TextEncoder().encode('secret'))
  t.equal(again.security.encrypted, true, 'encrypted from the bond')
  t.equal((await c.bonds())[0]!.createdAt, bond!.createdAt, 'no new pairing')
})

t.test('a private central: the peripheral that bonded with it resolves each new address', async (t) => {
  const link = createVirtualLink({ seed: 32 })
  await using p = await open({ transport: 'virtual', link, name: 'peripheral' })
  p.serve({ services: [{ uuid: 'fff0', characteristics: [{ uuid: 'fff1', properties: ['read'], value: 'x' }] }] })
  await p.advertise({ name: 'plain', interval: 20 })
  await using c = await open({ transport: 'virtual', link, name: 'central', privacy: { rotateMs: 60_000 } })
  const seen: string[] = []
  p.on('connection', (central) => seen.push(central.address))
  {
    await using client = await c.connect(p.address, { security: 'encrypted' })
    t.equal(client.security.bonded, true)
  }
  const firstAddress = seen[0]!
  t.equal(randomAddressKind(firstAddress), 'resolvable', 'the central connected from a private address')
  t.equal(firstAddress, c.privateAddress)
  await new Promise<void>((resolve) => {
    const off = c.on('address', () => {
      off()
      resolve()
    })
  })
  const arrived = new Promise<import('../../src/index.ts').Central>((resolve) => {
    const off = p.on('connection', (x) => {
      off()
      resolve(x)
    })
  })
  await using client2 = await c.connect(p.address, { security: 'encrypted' })
  const central = await arrived
  t.not(central.address, firstAddress, 'a different address this time')
  t.same(central.identity, { address: c.address, type: 'public' }, 'resolved to the central identity through its IRK')
  t.equal(client2.security.bonded, true)
  t.equal((await p.bonds()).length, 1, 'one bond, recognised across addresses')
})
