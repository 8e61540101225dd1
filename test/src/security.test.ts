/**
 * Pairing and bonding through the public API (issue 11): two adapters on one virtual link, one
 * serving a database with protected characteristics, the other connecting. `connect({ security })`,
 * `client.pair()`, `client.security` and its 'security' event, the pairing delegate (passkey
 * entry, refusal), a protected read that pairs on its own and is retried, `adapter.bonds()` /
 * `unpair()`, a reconnect that encrypts from the bond, keys replaced on re-pairing, bonds in a
 * JSON file, and the peripheral's `central.secure()` (Security Request).
 */
import t from 'tap'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  open,
  createVirtualLink,
  SmpError,
  AttError,
  type Adapter,
  type Central,
  type PairingDelegate,
  type SecurityState,
  type VirtualLink,
} from '../../src/index.ts'

const SECRET = new TextEncoder().encode('secret')

async function peripheral(link: VirtualLink, pairing?: PairingDelegate, bonds?: string): Promise<Adapter> {
  const a = await open({
    transport: 'virtual',
    link,
    name: 'peripheral',
    ...(pairing ? { pairing } : {}),
    ...(bonds ? { bonds } : {}),
  })
  a.serve({
    services: [
      {
        uuid: 'fff0',
        characteristics: [
          { uuid: 'fff1', properties: ['read'], value: 'open' },
          { uuid: 'fff2', properties: ['read'], value: SECRET, permissions: { read: 'encrypted' } },
          { uuid: 'fff3', properties: ['read'], value: SECRET, permissions: { read: 'authenticated' } },
        ],
      },
    ],
  })
  await a.advertise({ name: 'locked', services: ['fff0'], interval: 20 })
  return a
}

t.test('connect with security: pairs before discovery, then reconnects encrypt from the bond', async (t) => {
  const link = createVirtualLink({ seed: 3 })
  await using p = await peripheral(link)
  await using c = await open({ transport: 'virtual', link, name: 'central' })
  const changes: SecurityState[] = []
  {
    await using client = await c.connect(p.address, { security: 'encrypted', timeout: 10_000 })
    client.on('security', (s) => changes.push(s))
    t.same(client.security, {
      encrypted: true,
      authenticated: false,
      secureConnections: true,
      keySize: 16,
      bonded: true,
    })
    t.same(await client.read(client.characteristic('fff0', 'fff2')), SECRET)
    t.same(client.identity, { address: p.address, type: 'public' })
  }
  const bonds = await c.bonds()
  t.equal(bonds.length, 1)
  t.same(bonds[0]!.peer, { address: p.address, type: 'public' })
  t.equal((await p.bonds()).length, 1, 'the peripheral bonded too')

  // A reconnect encrypts with the stored LTK before discovery; the protected read needs no pairing.
  await using again = await c.connect(p.address, { timeout: 10_000 })
  t.equal(again.security.encrypted, true, 'encrypted from the bond on connect')
  t.equal(again.security.bonded, true)
  t.same(await again.read(again.characteristic('fff0', 'fff2')), SECRET)
  t.equal((await c.bonds())[0]!.createdAt, bonds[0]!.createdAt, 'the same bond: no new pairing')
  // 'none' leaves a bonded link unencrypted; the protected read then encrypts from the bond.
  await again.disconnect()
  await using plain = await c.connect(p.address, { security: 'none' })
  const events: SecurityState[] = []
  plain.on('security', (s) => events.push(s))
  t.equal(plain.security.encrypted, false)
  t.same(await plain.read(plain.characteristic('fff0', 'fff2')), SECRET)
  t.equal(events.at(-1)?.encrypted, true, "a 'security' event said so")
})

t.test('client.pair(): the summary, keys replaced on re-pairing', async (t) => {
  const link = createVirtualLink({ seed: 4 })
  await using p = await peripheral(link)
  await using c = await open({ transport: 'virtual', link })
  await using client = await c.connect(p.address)
  const first = await client.pair()
  t.same(first, {
    method: 'justWorks',
    secureConnections: true,
    keySize: 16,
    authenticated: false,
    bonded: true,
    identityAddress: { address: p.address, type: 'public' },
  })
  const key1 = (await c.bonds())[0]!.peerLtk!.key.slice()
  await client.pair()
  const after = await c.bonds()
  t.equal(after.length, 1, 'still one bond')
  t.not(Buffer.from(after[0]!.peerLtk!.key).toString('hex'), Buffer.from(key1).toString('hex'), 'with new keys')
})

t.test('passkey entry through the delegates; an authenticated characteristic', async (t) => {
  const link = createVirtualLink({ seed: 5 })
  let shown: number | undefined
  await using p = await peripheral(link, { io: 'displayOnly', displayPasskey: ({ passkey }) => void (shown = passkey) })
  await using c = await open({
    transport: 'virtual',
    link,
    pairing: { io: 'keyboardOnly', enterPasskey: () => shown },
  })
  await using client = await c.connect(p.address, { security: 'authenticated' })
  t.ok(shown !== undefined && shown >= 0 && shown <= 999_999, 'the peripheral showed a passkey')
  t.equal(client.security.authenticated, true)
  t.same(await client.read(client.characteristic('fff0', 'fff3')), SECRET)
})

t.test('a refused pairing: a typed error, nothing stored', async (t) => {
  const link = createVirtualLink({ seed: 6 })
  await using p = await peripheral(link, { acceptPairing: () => false })
  await using c = await open({ transport: 'virtual', link })
  const err = (await c.connect(p.address, { security: 'encrypted' }).catch((e: unknown) => e)) as SmpError
  t.ok(err instanceof SmpError)
  t.equal(err.code, 'SMP_PEER_FAILED')
  t.equal(err.status, 0x05)
  t.equal(err.statusName, 'Pairing Not Supported')
  t.same(await c.bonds(), [])
  t.equal(c.clients.length, 0, 'the failed connect left no client')
})

t.test('autoPair false: a protected read fails with the ATT error and the refusal', async (t) => {
  const link = createVirtualLink({ seed: 7 })
  await using p = await peripheral(link)
  await using c = await open({ transport: 'virtual', link, pairing: { autoPair: false } })
  await using client = await c.connect(p.address)
  const err = (await client.read(client.characteristic('fff0', 'fff2')).catch((e: unknown) => e)) as SmpError
  t.equal(err.code, 'SMP_CANCELLED')
  t.same(await client.read(client.characteristic('fff0', 'fff1')), new TextEncoder().encode('open'))
  await client.pair()
  t.same(await client.read(client.characteristic('fff0', 'fff2')), SECRET, 'an explicit pair() is allowed')
  void AttError
})

t.test('unpair: the bond goes, the next protected read pairs again', async (t) => {
  const link = createVirtualLink({ seed: 8 })
  await using p = await peripheral(link)
  await using c = await open({ transport: 'virtual', link })
  {
    await using client = await c.connect(p.address, { security: 'encrypted' })
    t.equal(client.security.bonded, true)
  }
  t.equal(await c.unpair(p.address), true)
  t.equal(await c.unpair(p.address), false, 'nothing left to remove')
  t.same(await c.bonds(), [])
  // The peripheral still has its bond; our fresh pairing replaces it there.
  await using client = await c.connect(p.address)
  t.same(await client.read(client.characteristic('fff0', 'fff2')), SECRET)
  t.equal((await c.bonds()).length, 1)
  t.equal((await p.bonds()).length, 1, 'replaced, not added')
})

t.test('bonds in a JSON file survive the adapter (mode 0600)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hcikit-bonds-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const link = createVirtualLink({ seed: 9 })
  await using p = await peripheral(link)
  const file = join(dir, 'bonds.json')
  {
    await using c = await open({ transport: 'virtual', link, bonds: file })
    // Real file I/O (fsync) while virtual time runs freely: give the call a deadline far away in virtual time.
    await using client = await c.connect(p.address, { security: 'encrypted', timeout: 3_600_000 })
    t.equal(client.security.bonded, true)
  }
  t.equal((await stat(file)).mode & 0o777, 0o600)
  await using c2 = await open({ transport: 'virtual', link, bonds: file })
  t.equal((await c2.bonds()).length, 1, 'a new adapter reads the bond')
})

t.test(
  'peripheral side: central.secure() sends a Security Request; the central pairs, then encrypts from the bond',
  async (t) => {
    const link = createVirtualLink({ seed: 10 })
    await using p = await peripheral(link)
    await using c = await open({ transport: 'virtual', link })
    const next = (): Promise<Central> =>
      new Promise((resolve) => {
        const off = p.on('connection', (x) => {
          off()
          resolve(x)
        })
      })
    let arrived = next()
    {
      await using client = await c.connect(p.address)
      const central = await arrived
      const s = await central.secure('encrypted', { timeout: 10_000 })
      t.equal(s.encrypted, true)
      t.equal(s.bonded, true)
      t.equal(client.security.encrypted, true, 'the central paired on request')
    }
    arrived = next()
    await using client2 = await c.connect(p.address)
    const central2 = await arrived
    const s2 = await central2.secure('encrypted', { timeout: 10_000 })
    t.equal(s2.encrypted, true)
    t.equal((await c.bonds())[0]!.createdAt, (await c.bonds())[0]!.createdAt)
    t.equal(client2.security.bonded, true)
  },
)

t.test('the 1-request cached reconnect rests on a real bond: encrypted from it before discovery', async (t) => {
  const link = createVirtualLink({ seed: 12 })
  await using p = await peripheral(link)
  await using c = await open({ transport: 'virtual', link })
  let requests = 0
  const count = (central: Central): void => {
    // ATT requests the peripheral's server receives (opcodes of Part F 3.4 that expect a response).
    central.connection.onFrame((f) => {
      if (
        f.length >= 5 &&
        (f[2]! | (f[3]! << 8)) === 0x0004 &&
        [0x02, 0x04, 0x06, 0x08, 0x0a, 0x0c, 0x0e, 0x10, 0x12, 0x16, 0x18, 0x20].includes(f[4]!)
      )
        requests++
    })
  }
  p.on('connection', count)
  {
    await using first = await c.connect(p.address, { security: 'encrypted' })
    t.equal(first.source, 'discovered')
  }
  requests = 0
  {
    await using bonded = await c.connect(p.address, { security: 'encrypted' })
    t.equal(bonded.source, 'cache-validated')
    t.equal(bonded.security.bonded, true)
    t.equal(requests - 1, 1, 'Exchange MTU, then the Database Hash only')
  }
  // Without the bond (forgotten on our side), the same reconnect re-enables robust caching.
  await c.unpair(p.address)
  requests = 0
  {
    await using stranger = await c.connect(p.address)
    t.equal(stranger.source, 'cache-validated')
    t.equal(stranger.security.bonded, false)
    t.equal(requests - 1, 2, 'the hash, then Client Supported Features written again')
  }
})
