/**
 * GATT and link security together over the virtual link (Core v5.4 Vol 3 Part C 10.3.2, Part F
 * 3.4.1.1): the server answers from the link's real security (Insufficient Authentication to a
 * peer without a bond, Insufficient Encryption to a bonded one on an unencrypted link), and the
 * client raises the link's security (encrypt from the bond, or pair) and retries once.
 */
import t from 'tap'
import { secureRig, nextOutcome, type SecureRig } from './security-rig.ts'
import { GattClient } from '../../att/client.ts'
import { AttError } from '../../att/errors.ts'
import type { PairingDelegate } from '../../gap/pairing-delegate.ts'
import type { SmpError } from '../../gap/smp/errors.ts'
import { H4Type } from '../../hci/constants.ts'

const SECRET = new TextEncoder().encode('secret')
const DECL = {
  services: [
    {
      uuid: 'fff0',
      characteristics: [
        { uuid: 'fff1', id: 'open', properties: ['read'] as const, value: 'open' },
        {
          uuid: 'fff2',
          id: 'encrypted',
          properties: ['read', 'write'] as const,
          value: SECRET,
          permissions: { read: 'encrypted' as const, write: 'encrypted' as const },
        },
        {
          uuid: 'fff3',
          id: 'authenticated',
          properties: ['read'] as const,
          value: SECRET,
          permissions: { read: 'authenticated' as const },
        },
      ],
    },
  ],
}

/** ATT Error Responses (opcode 0x01) the central received since `from`: their error codes. */
function attErrors(r: SecureRig, from: number): number[] {
  const out: number[] = []
  for (const rec of r.records.slice(from)) {
    if (rec.direction !== 'rx' || rec.packetType !== H4Type.Acl || rec.data.length < 13) continue
    if ((rec.data[6]! | (rec.data[7]! << 8)) !== 0x0004 || rec.data[8] !== 0x01) continue
    out.push(rec.data[12]!)
  }
  return out
}

async function setUp(central: PairingDelegate = {}): Promise<{
  r: SecureRig
  client: GattClient
  c: import('../../gap/connections.ts').Connection
  p: import('../../gap/connections.ts').Connection
}> {
  const r = await secureRig({ decl: DECL, central })
  const { c, p } = await r.link()
  const client = new GattClient(c.att, { security: r.cSec.agent(c) })
  await client.discover()
  return { r, client, c, p }
}

t.test('a read that needs encryption: Insufficient Authentication (no bond), pair, retry once', async (t) => {
  const { r, client, c, p } = await setUp()
  t.teardown(() => r.close())
  const ch = client.database!.characteristic('fff2')!
  const from = r.records.length
  r.mark()
  const pDone = nextOutcome(r.pSec, p)
  t.same(await client.read(ch), SECRET)
  await pDone
  t.same(attErrors(r, from), [0x05], 'the server said Insufficient Authentication once')
  t.equal(r.smp()[0], 'c:Pairing Request', 'then the client paired')
  t.equal(c.security.encrypted, true)
  t.equal(p.security.bonded, true)
  // Writes to it work too now, with no further pairing.
  r.mark()
  await client.write(ch, new TextEncoder().encode('new'))
  t.same(r.smp(), [])
})

t.test('a bonded peer on an unencrypted link: Insufficient Encryption, encrypt from the bond, retry', async (t) => {
  const { r, c, p } = await setUp()
  t.teardown(() => r.close())
  const pDone = nextOutcome(r.pSec, p)
  await r.cSec.agent(c).pair()
  await pDone
  await c.disconnect()
  const again = await r.link()
  const client = new GattClient(again.c.att, { security: r.cSec.agent(again.c) })
  await client.discover()
  const from = r.records.length
  r.mark()
  t.same(await client.read(client.database!.characteristic('fff2')!), SECRET)
  t.same(attErrors(r, from), [0x0f], 'Insufficient Encryption: the server knows the bond')
  t.same(r.smp(), [], 'encrypted from the bond, no pairing')
})

t.test('authentication the IO capabilities cannot give: one Just Works pairing, then the ATT error', async (t) => {
  const { r, client, c } = await setUp()
  t.teardown(() => r.close())
  const ch = client.database!.characteristic('fff3')!
  r.mark()
  const err = (await client.read(ch).catch((e: unknown) => e)) as AttError
  t.ok(err instanceof AttError)
  t.equal(err.errorCode, 0x05, 'still Insufficient Authentication after the one retry')
  t.match(err.hint, /authenticated pairing/)
  t.equal(r.smp().filter((n) => n === 'c:Pairing Request').length, 1, 'one pairing, asking for MITM')
  t.equal(c.security.encrypted, true)
  t.equal(c.security.authenticated, false, 'Just Works was all both IO capabilities allow')
  // Asking for the level outright says why it cannot be had.
  const e2 = (await r.cSec
    .agent(c)
    .secure('authenticated')
    .catch((e: unknown) => e)) as SmpError
  t.equal(e2.status, 0x03, 'Authentication Requirements')
})

t.test('authenticated pairing when the IO allows it: the authenticated read succeeds', async (t) => {
  const screen: { shown?: number } = {}
  const r = await secureRig({
    decl: DECL,
    central: {
      io: 'keyboardOnly',
      enterPasskey: async () => {
        for (let i = 0; i < 50 && screen.shown === undefined; i++) await new Promise((res) => setImmediate(res))
        return screen.shown
      },
    },
    peripheral: { io: 'displayOnly', displayPasskey: ({ passkey }) => void (screen.shown = passkey) },
  })
  t.teardown(() => r.close())
  const { c } = await r.link()
  const client = new GattClient(c.att, { security: r.cSec.agent(c) })
  await client.discover()
  t.same(await client.read(client.database!.characteristic('fff3')!), SECRET)
  t.equal(c.security.authenticated, true)
})

t.test('pairing not allowed (autoPair false): the ATT error stands, with the pairing refusal', async (t) => {
  const { r, client } = await setUp({ autoPair: false })
  t.teardown(() => r.close())
  const err = (await client.read(client.database!.characteristic('fff2')!).catch((e: unknown) => e)) as SmpError
  t.equal(err.code, 'SMP_CANCELLED')
  t.match(err.hint, /pair/)
})

t.test('without a SecurityUpgrade the client reports the ATT error as before', async (t) => {
  const r = await secureRig({ decl: DECL })
  t.teardown(() => r.close())
  const { c } = await r.link()
  const client = new GattClient(c.att)
  await client.discover()
  const err = (await client.read(client.database!.characteristic('fff2')!).catch((e: unknown) => e)) as AttError
  t.ok(err instanceof AttError)
  t.equal(err.errorCode, 0x05)
  t.equal(c.security.encrypted, false)
})

t.test('two protected requests at once: one pairing, both succeed', async (t) => {
  const { r, client, p } = await setUp()
  t.teardown(() => r.close())
  const ch = client.database!.characteristic('fff2')!
  r.mark()
  const pDone = nextOutcome(r.pSec, p)
  const [a, b] = await Promise.all([client.read(ch), client.read(ch)])
  await pDone
  t.same(a, SECRET)
  t.same(b, SECRET)
  t.equal(r.smp().filter((n) => n === 'c:Pairing Request').length, 1, 'paired once')
})

t.test('after bonding, concurrent requests on a fresh link encrypt once from the bond', async (t) => {
  const { r, c, p } = await setUp()
  t.teardown(() => r.close())
  const pDone = nextOutcome(r.pSec, p)
  await r.cSec.agent(c).pair()
  await pDone
  await c.disconnect()
  const again = await r.link()
  const client = new GattClient(again.c.att, { security: r.cSec.agent(again.c) })
  await client.discover()
  r.mark()
  const ch = client.database!.characteristic('fff2')!
  const [a, b] = await Promise.all([client.read(ch), client.read(ch)])
  t.same([a, b], [SECRET, SECRET])
  t.same(r.smp(), [], 'no pairing')
  t.equal(again.c.security.encrypted, true)
})
