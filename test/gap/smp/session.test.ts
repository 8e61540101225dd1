/**
 * Two pairing state machines paired with each other, table-driven: every method of legacy and
 * Secure Connections pairing, with and without bonding. What is checked comes from the spec, not
 * from the code: the PDU sequence of each method (Vol 3 Part H 2.3.5, 3.6.1, Appendix C), both
 * sides agreeing on method, key size and keys (the central's LTK for the peripheral is the one the
 * peripheral distributed, and so on), and the key cut to the negotiated size (2.3.4).
 */
import t from 'tap'
import { PairingHarness, type SideSetup } from './pairing-harness.ts'
import type { PairingConfig } from '../../../gap/smp/pairing-types.ts'
import { createScOobData } from '../../../gap/smp/oob.ts'
import { toHex } from '../../../hci/wire.ts'

const CENTRAL_IRK = new Uint8Array(16).fill(0xc1)
const PERIPHERAL_IRK = new Uint8Array(16).fill(0x91)
const CENTRAL_CSRK = new Uint8Array(16).fill(0xc5)
const PERIPHERAL_CSRK = new Uint8Array(16).fill(0x95)

function central(config: PairingConfig, user: SideSetup['user'] = {}): SideSetup {
  return {
    config: {
      identity: { irk: CENTRAL_IRK, address: { address: 'C0:11:22:33:44:55', type: 'random' } },
      csrk: CENTRAL_CSRK,
      ...config,
    },
    user,
  }
}

function peripheral(config: PairingConfig, user: SideSetup['user'] = {}): SideSetup {
  return {
    config: {
      identity: { irk: PERIPHERAL_IRK, address: { address: '00:1B:DC:0A:0B:0C', type: 'public' } },
      csrk: PERIPHERAL_CSRK,
      ...config,
    },
    user,
  }
}

interface Case {
  name: string
  c: PairingConfig
  p: PairingConfig
  method: string
  sc: boolean
  /** The phase 2 PDUs in order, as the spec's message sequence charts have them (Appendix C). */
  phase2: string[]
}

const LEGACY: PairingConfig = { secureConnections: 'never' }
const legacyPhase2 = ['c:Pairing Confirm', 'p:Pairing Confirm', 'c:Pairing Random', 'p:Pairing Random']
const keys = ['c:Pairing Public Key', 'p:Pairing Public Key']
const checks = ['c:Pairing DHKey Check', 'p:Pairing DHKey Check']
const passkeyRounds = Array.from({ length: 20 }, () => [
  'c:Pairing Confirm',
  'p:Pairing Confirm',
  'c:Pairing Random',
  'p:Pairing Random',
]).flat()

const TK = new Uint8Array(16).fill(0x5a)

function cases(): Case[] {
  const cOob = createScOobData()
  const pOob = createScOobData()
  return [
    { name: 'legacy Just Works', c: LEGACY, p: LEGACY, method: 'justWorks', sc: false, phase2: legacyPhase2 },
    {
      name: 'legacy Passkey Entry, peripheral displays',
      c: { ...LEGACY, io: 'keyboardOnly', mitm: true },
      p: { ...LEGACY, io: 'displayOnly' },
      method: 'passkey',
      sc: false,
      phase2: legacyPhase2,
    },
    {
      name: 'legacy Passkey Entry, both type',
      c: { ...LEGACY, io: 'keyboardOnly', mitm: true },
      p: { ...LEGACY, io: 'keyboardOnly', mitm: true },
      method: 'passkey',
      sc: false,
      phase2: legacyPhase2,
    },
    {
      name: 'legacy OOB',
      c: { ...LEGACY, oob: { tk: TK } },
      p: { ...LEGACY, oob: { tk: TK } },
      method: 'oob',
      sc: false,
      phase2: legacyPhase2,
    },
    {
      name: 'SC Just Works',
      c: {},
      p: {},
      method: 'justWorks',
      sc: true,
      phase2: [...keys, 'p:Pairing Confirm', 'c:Pairing Random', 'p:Pairing Random', ...checks],
    },
    {
      name: 'SC Numeric Comparison',
      c: { io: 'displayYesNo', mitm: true },
      p: { io: 'keyboardDisplay', mitm: true },
      method: 'numericComparison',
      sc: true,
      phase2: [...keys, 'p:Pairing Confirm', 'c:Pairing Random', 'p:Pairing Random', ...checks],
    },
    {
      name: 'SC Passkey Entry, central displays',
      c: { io: 'keyboardDisplay', mitm: true },
      p: { io: 'keyboardOnly' },
      method: 'passkey',
      sc: true,
      phase2: [...keys, ...passkeyRounds, ...checks],
    },
    {
      name: 'SC Passkey Entry, both type',
      c: { io: 'keyboardOnly', mitm: true },
      p: { io: 'keyboardOnly' },
      method: 'passkey',
      sc: true,
      phase2: [...keys, ...passkeyRounds, ...checks],
    },
    {
      name: 'SC OOB, both ways',
      c: { oob: { local: cOob, peer: { r: pOob.r, confirm: pOob.confirm } } },
      p: { oob: { local: pOob, peer: { r: cOob.r, confirm: cOob.confirm } } },
      method: 'oob',
      sc: true,
      phase2: [...keys, 'c:Pairing Random', 'p:Pairing Random', ...checks],
    },
    {
      name: 'SC OOB, only the central holds the peripheral data',
      c: { oob: { peer: { r: pOob.r, confirm: pOob.confirm } } },
      p: { oob: { local: pOob } },
      method: 'oob',
      sc: true,
      phase2: [...keys, 'c:Pairing Random', 'p:Pairing Random', ...checks],
    },
  ]
}

const short = (names: string[], from: ('c' | 'p')[]): string[] => names.map((n, i) => `${from[i]}:${n}`)

for (const bonding of [true, false]) {
  for (const k of cases()) {
    t.test(`${k.name}${bonding ? ', bonding' : ', no bonding'}`, async (t) => {
      const h = new PairingHarness(central({ ...k.c, bonding }), peripheral({ ...k.p, bonding })).pair()
      const rc = h.result('central')
      const rp = h.result('peripheral')
      for (const r of [rc, rp]) {
        t.equal(r.method, k.method)
        t.equal(r.secureConnections, k.sc)
        t.equal(r.keySize, 16)
        t.equal(r.authenticated, k.method !== 'justWorks')
        t.equal(r.bonded, bonding)
      }
      const froms = h.wire.map((w) => (w.from === 'central' ? 'c' : 'p') as 'c' | 'p')
      const seq = short(h.names(), froms)
      t.same(seq.slice(0, 2), ['c:Pairing Request', 'p:Pairing Response'])
      t.same(seq.slice(2, 2 + k.phase2.length), k.phase2, 'phase 2 as in the spec')
      const dist = seq.slice(2 + k.phase2.length)
      if (!bonding) {
        t.same(dist, [], 'no keys without bonding')
        t.equal(rc.bond, undefined)
        t.same(rc.keys.irk, undefined)
        return
      }
      // Phase 3: the responder's keys first, each side in the order of 3.6.1.
      const enc = k.sc ? [] : ['Encryption Information', 'Central Identification']
      const own = [...enc, 'Identity Information', 'Identity Address Information', 'Signing Information']
      t.same(dist, [...own.map((n) => `p:${n}`), ...own.map((n) => `c:${n}`)], 'key distribution order')
      const bc = rc.bond!
      const bp = rp.bond!
      t.same(
        bc.peer,
        { address: '00:1B:DC:0A:0B:0C', type: 'public' },
        'the central files the bond under the identity address',
      )
      t.same(bp.peer, { address: 'C0:11:22:33:44:55', type: 'random' })
      t.equal(toHex(bc.irk!), toHex(PERIPHERAL_IRK))
      t.equal(toHex(bp.irk!), toHex(CENTRAL_IRK))
      t.equal(toHex(bc.csrk!), toHex(PERIPHERAL_CSRK))
      t.equal(toHex(bp.csrk!), toHex(CENTRAL_CSRK))
      // The key the central encrypts with is the one the peripheral answers with, and back.
      t.same(bc.peerLtk, bp.localLtk)
      t.same(bp.peerLtk, bc.localLtk)
      t.equal(bc.peerLtk!.secureConnections, k.sc)
      t.equal(bc.peerLtk!.authenticated, k.method !== 'justWorks')
      if (k.sc) {
        t.same(bc.peerLtk, bc.localLtk, 'SC: one LTK both ways')
        t.equal(bc.peerLtk!.ediv, 0)
        t.equal(toHex(bc.peerLtk!.rand), '0000000000000000')
      } else {
        t.not(toHex(bc.peerLtk!.key), toHex(bc.localLtk!.key), 'legacy: each side made its own LTK')
      }
    })
  }
}

t.test('key size: the smaller maximum is used and the keys are cut to it', async (t) => {
  for (const sc of [false, true]) {
    const base: PairingConfig = { secureConnections: sc ? 'prefer' : 'never', minKeySize: 7 }
    const h = new PairingHarness(central({ ...base, maxKeySize: 16 }), peripheral({ ...base, maxKeySize: 10 })).pair()
    const r = h.result('central')
    t.equal(r.keySize, 10)
    t.equal(h.result('peripheral').keySize, 10)
    const start = h.actions.central.find((a) => a.type === 'startEncryption')
    t.ok(start && start.type === 'startEncryption')
    if (start?.type === 'startEncryption')
      t.equal(toHex(start.key.subarray(10)), '000000000000', 'encryption key cut to 10 octets')
    t.equal(toHex(r.bond!.peerLtk!.key.subarray(10)), '000000000000', 'LTK cut to 10 octets')
    t.equal(r.bond!.peerLtk!.keySize, 10)
  }
})

t.test('the user on the typing side gets the passkey the other side showed', async (t) => {
  const h = new PairingHarness(central({ io: 'keyboardOnly', mitm: true }), peripheral({ io: 'displayOnly' })).pair()
  const shown = h.actions.peripheral.find((a) => a.type === 'displayPasskey')
  t.ok(shown?.type === 'displayPasskey' && shown.passkey >= 0 && shown.passkey <= 999999)
  t.ok(h.actions.central.some((a) => a.type === 'enterPasskey'))
  h.result('central')
})

t.test('numeric comparison: both sides are shown the same six digits', async (t) => {
  const h = new PairingHarness(central({ io: 'displayYesNo', mitm: true }), peripheral({ io: 'displayYesNo' })).pair()
  const nc = h.actions.central.find((a) => a.type === 'confirmNumber')
  const np = h.actions.peripheral.find((a) => a.type === 'confirmNumber')
  t.ok(nc?.type === 'confirmNumber' && np?.type === 'confirmNumber' && nc.value === np.value && nc.value < 1_000_000)
  h.result('peripheral')
})

t.test('askAccept: the responder asks, and a refusal is Pairing Not Supported', async (t) => {
  const ok = new PairingHarness(central({}), { ...peripheral({ askAccept: true }), user: { accept: true } }).pair()
  t.ok(ok.actions.peripheral.some((a) => a.type === 'pairingRequest'))
  ok.result('central')
  const no = new PairingHarness(central({}), { ...peripheral({ askAccept: true }), user: { accept: false } }).pair()
  t.equal(no.outcome('peripheral').error?.status, 0x05)
  t.equal(no.outcome('central').error?.code, 'SMP_PEER_FAILED')
  t.equal(no.outcome('central').error?.status, 0x05)
})

t.test('a Security Request reaches the central as an action; pairing then runs', async (t) => {
  const h = new PairingHarness(central({}), peripheral({ mitm: false }))
  h.sessions.peripheral.start()
  h.pump()
  const sr = h.actions.central.find((a) => a.type === 'securityRequest')
  t.ok(sr?.type === 'securityRequest' && (sr.authReq & 0x01) === 1, 'bonding flag in the Security Request')
  h.pair()
  t.equal(h.result('peripheral').method, 'justWorks')
  t.equal(h.clock.pendingTimers, 0, 'no timer left running')
})

t.test('a second pairing on the same link replaces the keys', async (t) => {
  const h = new PairingHarness(central({}), peripheral({})).pair()
  const first = h.result('central').bond!
  h.actions.central.length = 0
  h.actions.peripheral.length = 0
  h.pair()
  const second = h.result('central').bond!
  t.not(toHex(second.peerLtk!.key), toHex(first.peerLtk!.key))
  t.same(second.peer, first.peer)
})
