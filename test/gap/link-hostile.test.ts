/**
 * Our central pairing with hostile peripherals over the virtual link: the peripheral's SMP
 * channel is scripted by hand (no security layer of ours on it). Each attack ends with the
 * Pairing Failed reason of Core v5.4 Vol 3 Part H Table 3.7 (or the 30 s SMP timeout, 3.4),
 * nothing is stored, and a second link of the same central, to an honest peripheral, pairs as if
 * nothing had happened.
 */
import t, { type Test } from 'tap'
import { rig, type Rig } from '../e2e/virtual-rig.ts'
import { HciHost } from '../../hci/host.ts'
import { VirtualController } from '../../src/virtual/controller.ts'
import { Connections, type Connection } from '../../gap/connections.ts'
import { Advertiser } from '../../gap/advertiser.ts'
import { AdBuilder } from '../../gap/ad.ts'
import { SecurityManager } from '../../gap/security-manager.ts'
import { MemoryKeyStore } from '../../gap/smp/keys.ts'
import { generateKeyPair } from '../../gap/smp/p256.ts'
import {
  PairingConfirm,
  PairingPublicKey,
  PairingRandom,
  PairingResponse,
  decodeSmpPdu,
  encodeSmpPdu,
  type SmpPdu,
} from '../../gap/smp/pdu.ts'
import type { SmpError } from '../../gap/smp/errors.ts'
import { DecodeError } from '../../hci/errors.ts'

type Script = (p: SmpPdu, send: (pdu: Uint8Array) => void) => void

const SC_RESPONSE = encodeSmpPdu(PairingResponse, {
  ioCapability: 3,
  oobDataFlag: 0,
  authReq: 0x09,
  maxEncryptionKeySize: 16,
  initiatorKeyDistribution: 0,
  responderKeyDistribution: 0,
})

interface Hostile {
  r: Rig
  cSec: SecurityManager
  cStore: MemoryKeyStore
  /** What the hostile peripheral received. */
  received: string[]
  c: Connection
  p: Connection
}

async function hostile(script: Script): Promise<Hostile> {
  const r = await rig({ decl: {} })
  const cStore = new MemoryKeyStore()
  const cSec = new SecurityManager(r.central.host, r.central.connections, {
    clock: r.clock,
    store: cStore,
    local: await cStore.localKeys(),
    identity: { address: r.central.controller.address, type: 'public' },
  })
  const { c, p } = await r.connect({ direct: true })
  const received: string[] = []
  p.mux.smp.onData((bytes) => {
    const pdu = decodeSmpPdu(bytes)
    if (pdu instanceof DecodeError) return
    received.push(
      pdu.name === 'Pairing Failed' ? `Pairing Failed 0x${bytes[1]!.toString(16).padStart(2, '0')}` : pdu.name,
    )
    script(pdu, (out) => void p.mux.smp.send(out).catch(() => undefined))
  })
  return { r, cSec, cStore, received, c, p }
}

/** An honest peripheral on the same air, with our security on it. */
async function honest(h: Hostile): Promise<{ connection: Connection; store: MemoryKeyStore }> {
  const controller = new VirtualController(h.r.central.controller.link, { name: 'honest', timing: 'fast' })
  const host = new HciHost(controller.attach(), { clock: h.r.clock })
  await host.init()
  const connections = new Connections(host, { clock: h.r.clock })
  const store = new MemoryKeyStore()
  new SecurityManager(host, connections, {
    clock: h.r.clock,
    store,
    local: await store.localKeys(),
    identity: { address: controller.address, type: 'public' },
  })
  const adv = new Advertiser(host)
  await adv.start({ data: new AdBuilder().flags(0x06).name('honest'), intervalMs: 20 })
  const accepted = connections.accept({ timeout: 5000 })
  const connection = await h.r.central.connections.connect(
    { address: controller.address, type: 'public' },
    { timeout: 5000 },
  )
  await accepted
  return { connection, store }
}

async function expectFailure(t: Test, h: Hostile, reason: number, sentByUs: boolean): Promise<void> {
  const other = await honest(h)
  const bad = h.cSec.agent(h.c).pair()
  const good = h.cSec.agent(other.connection).pair()
  const err = (await bad.catch((e: unknown) => e)) as SmpError
  t.equal(err.name, 'SmpError')
  t.equal(err.status, reason, `reason 0x${reason.toString(16)}`)
  t.equal(err.code, sentByUs ? 'SMP_PAIRING_FAILED' : 'SMP_PEER_FAILED')
  t.equal(h.c.security.encrypted, false, 'the hostile link is not encrypted')
  const summary = await good
  t.equal(summary.bonded, true, 'the other link paired meanwhile')
  t.equal(other.connection.security.encrypted, true)
  if (sentByUs)
    t.ok(h.received.includes(`Pairing Failed 0x${reason.toString(16).padStart(2, '0')}`), 'the peer was told why')
  const bonds = await h.cStore.bonds()
  t.same(
    bonds.map((b) => b.peer.address),
    [other.connection.peer.address],
    'only the honest peer is bonded',
  )
}

t.test('an off-curve public key (CVE-2018-5383) -> DHKey Check Failed', async (t) => {
  const h = await hostile((p, send) => {
    if (p.name === 'Pairing Request') send(SC_RESPONSE)
    if (p.name === 'Pairing Public Key') {
      const k = generateKeyPair().publicKey
      send(encodeSmpPdu(PairingPublicKey, { publicKeyX: k.x, publicKeyY: new Uint8Array(32) }))
    }
  })
  t.teardown(() => h.r.close())
  await expectFailure(t, h, 0x0b, true)
})

t.test('a confirm value that does not match -> Confirm Value Failed', async (t) => {
  const h = await hostile((p, send) => {
    if (p.name === 'Pairing Request') send(SC_RESPONSE)
    if (p.name === 'Pairing Public Key') {
      const k = generateKeyPair().publicKey
      send(encodeSmpPdu(PairingPublicKey, { publicKeyX: k.x, publicKeyY: k.y }))
      send(encodeSmpPdu(PairingConfirm, { confirmValue: new Uint8Array(16).fill(1) }))
    }
    if (p.name === 'Pairing Random') send(encodeSmpPdu(PairingRandom, { randomValue: new Uint8Array(16).fill(2) }))
  })
  t.teardown(() => h.r.close())
  await expectFailure(t, h, 0x04, true)
})

t.test('a PDU out of order -> Unspecified Reason', async (t) => {
  const h = await hostile((p, send) => {
    if (p.name === 'Pairing Request') send(encodeSmpPdu(PairingRandom, { randomValue: new Uint8Array(16) }))
  })
  t.teardown(() => h.r.close())
  await expectFailure(t, h, 0x08, true)
})

t.test('a key size below our minimum -> Encryption Key Size', async (t) => {
  const h = await hostile((p, send) => {
    if (p.name === 'Pairing Request')
      send(encodeSmpPdu(PairingResponse, { ...decodeResponse(SC_RESPONSE), maxEncryptionKeySize: 7 }))
  })
  t.teardown(() => h.r.close())
  await expectFailure(t, h, 0x06, true)
})

t.test("a peer that fails the pairing itself -> its reason, reported as the peer's", async (t) => {
  const h = await hostile((p, send) => {
    if (p.name === 'Pairing Request') send(Uint8Array.of(0x05, 0x05))
  })
  t.teardown(() => h.r.close())
  await expectFailure(t, h, 0x05, false)
})

t.test('silence -> the SMP timeout after 30 s, nothing stored, the link stays', async (t) => {
  const h = await hostile(() => {})
  t.teardown(() => h.r.close())
  const started = h.r.clock.now()
  const other = await honest(h)
  const bad = h.cSec.agent(h.c).pair()
  const good = await h.cSec.agent(other.connection).pair()
  t.equal(good.bonded, true, 'the other link paired while this one waited')
  const err = (await bad.catch((e: unknown) => e)) as SmpError
  t.equal(err.code, 'SMP_TIMEOUT')
  t.ok(h.r.clock.now() - started >= 30_000, 'after 30 s of (virtual) time')
  t.same(h.received, ['Pairing Request'], 'no Pairing Failed after a timeout (3.4)')
  t.equal(h.c.closed, false)
  t.equal((await h.cStore.bonds()).length, 1)
  await t.rejects(h.cSec.agent(h.c).pair(), { code: 'SMP_TIMEOUT' }, 'no new pairing on this link')
})

function decodeResponse(b: Uint8Array) {
  const p = decodeSmpPdu(b)
  if (p instanceof DecodeError || !p.params) throw new Error('bad')
  return p.params as {
    ioCapability: number
    oobDataFlag: number
    authReq: number
    maxEncryptionKeySize: number
    initiatorKeyDistribution: number
    responderKeyDistribution: number
  }
}
