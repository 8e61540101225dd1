/**
 * Pairing, bonding and encrypted reconnects between two of our stacks over the virtual link
 * (gap/link-security.ts, gap/security-manager.ts on the virtual controller's real LE encryption):
 * every method of legacy and Secure Connections pairing, with and without bonding; after bonding
 * a reconnect encrypts from the stored LTK with no SMP PDU on the link (read from the central's
 * HCI record); a stored key the peer does not share ends in a clear error and the bond stays.
 */
import t from 'tap'
import { secureRig, scriptedUser, addressOf, nextOutcome, type SecureRig } from './security-rig.ts'
import type { PairingDelegate } from '../../gap/pairing-delegate.ts'
import { createScOobData } from '../../gap/smp/oob.ts'
import type { SmpError } from '../../gap/smp/errors.ts'

interface Case {
  name: string
  c: PairingDelegate
  p: PairingDelegate
  method: string
  sc: boolean
}

const LEGACY = { secureConnections: 'never' } as const
const TK = new Uint8Array(16).fill(0x42)

function cases(): Case[] {
  const cOob = createScOobData()
  const pOob = createScOobData()
  return [
    { name: 'legacy Just Works', c: LEGACY, p: LEGACY, method: 'justWorks', sc: false },
    {
      name: 'legacy Passkey Entry',
      c: { ...LEGACY, io: 'keyboardOnly', mitm: true },
      p: { ...LEGACY, io: 'displayOnly' },
      method: 'passkey',
      sc: false,
    },
    {
      name: 'legacy OOB',
      c: { ...LEGACY, oobData: () => ({ tk: TK }) },
      p: { ...LEGACY, oobData: () => ({ tk: TK }) },
      method: 'oob',
      sc: false,
    },
    { name: 'SC Just Works', c: {}, p: {}, method: 'justWorks', sc: true },
    {
      name: 'SC Numeric Comparison',
      c: { io: 'displayYesNo', mitm: true },
      p: { io: 'displayYesNo' },
      method: 'numericComparison',
      sc: true,
    },
    {
      name: 'SC Passkey Entry',
      c: { io: 'displayOnly', mitm: true },
      p: { io: 'keyboardOnly' },
      method: 'passkey',
      sc: true,
    },
    {
      name: 'SC OOB',
      c: { oobData: () => ({ local: cOob, peer: { r: pOob.r, confirm: pOob.confirm } }) },
      p: { oobData: () => ({ local: pOob, peer: { r: cOob.r, confirm: cOob.confirm } }) },
      method: 'oob',
      sc: true,
    },
  ]
}

async function pairedRig(k: Case, bonding: boolean): Promise<SecureRig> {
  const screen = { numbers: [] as number[] }
  return secureRig({
    central: scriptedUser({ ...k.c, bonding }, screen),
    peripheral: scriptedUser({ ...k.p, bonding }, screen),
  })
}

for (const bonding of [true, false]) {
  for (const k of cases()) {
    t.test(`${k.name}${bonding ? ', bonding, then an encrypted reconnect' : ', no bonding'}`, async (t) => {
      const r = await pairedRig(k, bonding)
      t.teardown(() => r.close())
      const { c, p } = await r.link()
      r.mark()
      const peripheralDone = nextOutcome(r.pSec, p)
      const summary = await r.cSec.agent(c).pair()
      t.ok((await peripheralDone).result, 'the peripheral completed too')
      t.same(
        { method: summary.method, sc: summary.secureConnections, keySize: summary.keySize, bonded: summary.bonded },
        { method: k.method, sc: k.sc, keySize: 16, bonded: bonding },
      )
      const smp = r.smp()
      t.same(smp.slice(0, 2), ['c:Pairing Request', 'p:Pairing Response'])
      t.notOk(smp.includes('c:Pairing Failed') || smp.includes('p:Pairing Failed'), 'no Pairing Failed')
      for (const end of [c, p]) {
        t.same(
          { ...end.security },
          {
            encrypted: true,
            authenticated: k.method !== 'justWorks',
            keySize: 16,
            secureConnections: k.sc,
            bonded: bonding,
          },
          `${end.role}'s link security`,
        )
      }
      t.equal((await r.cStore.bonds()).length, bonding ? 1 : 0, 'the central keeps a bond when bonding')
      t.equal((await r.pStore.bonds()).length, bonding ? 1 : 0, 'the peripheral too')
      if (!bonding) return
      t.same((await r.cStore.bonds())[0]!.peer, addressOf(r.peripheral), 'filed under the identity address')

      await c.disconnect()
      const again = await r.link()
      r.mark()
      await r.cSec.agent(again.c).secure(k.method === 'justWorks' ? 'encrypted' : 'authenticated')
      t.same(r.smp(), [], 'the reconnect encrypted from the bond: no SMP PDU on the link')
      for (const end of [again.c, again.p]) {
        t.equal(end.security.encrypted, true)
        t.equal(end.security.authenticated, k.method !== 'justWorks')
        t.equal(end.security.bonded, true)
        t.equal(end.security.secureConnections, k.sc)
      }
    })
  }
}

t.test('a stored key the peer does not share: a clear error, the bond is not replaced', async (t) => {
  const r = await secureRig({})
  t.teardown(() => r.close())
  const first = await r.link()
  const pDone = nextOutcome(r.pSec, first.p)
  await r.cSec.agent(first.c).pair()
  await pDone
  await first.c.disconnect()
  const [bond] = await r.cStore.bonds()
  // Our copy of the key goes bad (the peripheral paired again with someone else, say).
  const bad = structuredClone(bond!)
  bad.peerLtk!.key[0]! ^= 0xff
  await r.cStore.put(bad)
  const second = await r.link()
  r.mark()
  const err = (await r.cSec
    .agent(second.c)
    .secure('encrypted')
    .catch((e: unknown) => e)) as SmpError
  t.equal(err.code, 'SMP_ENCRYPTION_FAILED')
  t.equal(err.status, 0x3d, 'MIC failure')
  t.match(err.hint, /pair again/)
  t.same(r.smp(), [], 'no pairing was attempted')
  t.same((await r.cStore.bonds())[0]!.peerLtk!.key, bad.peerLtk!.key, 'the bond is as it was')

  // The peripheral forgets us: encryption fails with PIN or Key Missing, our bond stays.
  await r.pSec.unpair(addressOf(r.central))
  const third = await r.link()
  await r.cStore.put(bond!)
  const err2 = (await r.cSec
    .agent(third.c)
    .encrypt()
    .catch((e: unknown) => e)) as SmpError
  t.equal(err2.code, 'SMP_ENCRYPTION_FAILED')
  t.equal(err2.status, 0x06)
  t.match(err2.message, /no key for our bond/)
  t.equal((await r.cStore.bonds()).length, 1)
  t.equal(third.c.closed, false, 'the link stays up')
})
