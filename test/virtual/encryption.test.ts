/**
 * Encryption on the virtual controller (src/virtual/encryption.ts): the session key derivation
 * against the spec's sample data (Core v5.4 Vol 6 Part C 1: LTK, SKDm, SKDs, SK, IVm, IVs), the
 * encryption start with matching keys (Encryption Change on both sides, v1 or v2), a wrong LTK
 * (MIC failure: Disconnection Complete 0x3D on both sides, first encryption and re-encryption,
 * acceptance 5 of issue 3), key refresh (Encryption Key Refresh Complete on both sides), the
 * Negative Reply (0x06 on the central), data held during the procedure, and validation
 * (Vol 4 Part E 7.8.24-7.8.26, 7.5.7; events 7.7.8, 7.7.39, 7.7.65.5).
 */
import t, { type Test } from 'tap'
import * as C from '../../hci/commands.ts'
import type { HciError } from '../../hci/errors.ts'
import { fromHex, toHex } from '../../hci/wire.ts'
import { world, type World } from '../helpers/virtual.ts'
import { connect, l2cap, node, until, type Node } from '../helpers/virtual-conn.ts'
import { connectionsOf } from '../../src/virtual/connections.ts'
import { initVector, isEncrypted, sessionKey, sessionOf } from '../../src/virtual/encryption.ts'

const rejects = async (t: Test, p: Promise<unknown>, status: number, what: string): Promise<void> => {
  try {
    await p
    t.fail(`${what}: expected status 0x${status.toString(16)}`)
  } catch (e) {
    t.equal((e as HciError).status, status, what)
  }
}

/** The spec prints values most significant octet first; HCI carries them least significant first. */
const le = (msoFirst: string): Uint8Array => fromHex(msoFirst).reverse()

const LTK = le('4C68384139F574D836BCF34E9DFB01BF')
const OTHER_LTK = le('00112233445566778899AABBCCDDEEFF')
const RAND = le('ABCDEF1234567890')
const EDIV = 0x2474

/** Event mask with Encryption Key Refresh Complete (bit 47) on top of the host's defaults. */
const EVENT_MASK = (() => {
  const m = fromHex('ffffffffff1f0020') // bits 0-44 + 61
  m[5]! |= 0x80 // bit 47
  return m
})()

/** The peripheral host answers LTK requests with `ltk` (undefined: Negative Reply). */
function keyStore(n: Node, ltk: () => Uint8Array | undefined): void {
  n.host.onEvent((e) => {
    if (e.key !== 'LeLongTermKeyRequest') return
    const key = ltk()
    const h = e.params.connectionHandle
    const sent = key
      ? n.host.send(C.LeLongTermKeyRequestReply, { connectionHandle: h, longTermKey: key })
      : n.host.send(C.LeLongTermKeyRequestNegativeReply, { connectionHandle: h })
    sent.catch(() => {})
  })
}

async function linked(
  w: World,
  opts: { page2?: Uint8Array } = {},
): Promise<{ a: Node; b: Node; ch: number; ph: number }> {
  const init = { eventMask: EVENT_MASK, ...(opts.page2 ? { eventMaskPage2: opts.page2 } : {}) }
  const a = await node(w, 'a', { init })
  const b = await node(w, 'b', { init })
  const { ch, ph } = await connect(w, a, b)
  return { a, b, ch, ph }
}

const enable = (n: Node, ch: number, ltk = LTK): Promise<unknown> =>
  n.host.send(C.LeEnableEncryption, {
    connectionHandle: ch,
    randomNumber: RAND,
    encryptedDiversifier: EDIV,
    longTermKey: ltk,
  })

t.test('session key and IV from the spec sample data (Vol 6 Part C 1)', async (t) => {
  const sk = sessionKey(LTK, le('ACBDCEDFE0F10213'), le('0213243546576879'))
  t.equal(toHex(sk), toHex(le('99AD1B5226A37E3E058E3B8E27C2C666')))
  t.equal(toHex(initVector(le('BADCAB24'), le('DEAFBABE'))), toHex(le('DEAFBABEBADCAB24')))
})

t.test(
  'matching LTKs: LTK Request with Rand/EDIV, Encryption Change on both sides, key size 16, same session key',
  async (t) => {
    const w = world()
    const { a, b, ch, ph } = await linked(w)
    keyStore(b, () => LTK)
    await enable(a, ch)
    t.ok(await until(w, () => a.ev('EncryptionChange').length === 1 && b.ev('EncryptionChange').length === 1))
    t.same(b.ev('LeLongTermKeyRequest')[0]!.params, {
      connectionHandle: ph,
      randomNumber: RAND,
      encryptedDiversifier: EDIV,
    })
    t.same(a.ev('EncryptionChange')[0]!.params, { status: 0, connectionHandle: ch, encryptionEnabled: 1 })
    t.same(b.ev('EncryptionChange')[0]!.params, { status: 0, connectionHandle: ph, encryptionEnabled: 1 })
    t.same(await a.host.send(C.ReadEncryptionKeySize, { connectionHandle: ch }), {
      status: 0,
      connectionHandle: ch,
      keySize: 16,
    })
    t.same(await b.host.send(C.ReadEncryptionKeySize, { connectionHandle: ph }), {
      status: 0,
      connectionHandle: ph,
      keySize: 16,
    })
    const ca = connectionsOf(a.controller).byHandle.get(ch)!
    const cb = connectionsOf(b.controller).byHandle.get(ph)!
    t.ok(isEncrypted(ca) && isEncrypted(cb))
    t.equal(toHex(sessionOf(ca)!.sk), toHex(sessionOf(cb)!.sk), 'both derived the same SK')
    t.equal(toHex(sessionOf(ca)!.iv), toHex(sessionOf(cb)!.iv), 'and the same IV')
    t.equal(ca.txKey && toHex(ca.txKey), toHex(sessionOf(ca)!.sk), 'PDUs now go out encrypted')
    // Data flows on the encrypted link.
    void a.host.sendAcl(ch, l2cap(600, 1))
    void b.host.sendAcl(ph, l2cap(60, 2))
    t.ok(await until(w, () => b.pdus.length === 1 && a.pdus.length === 1))
    t.same(b.pdus[0]!.pdu, l2cap(600, 1))
  },
)

t.test('Encryption Change [v2] when the host unmasks it (page 2 bit 25)', async (t) => {
  const w = world()
  const page2 = new Uint8Array(8)
  page2[3] = 0x02 // bit 25
  const { a, b, ch, ph } = await linked(w, { page2 })
  keyStore(b, () => LTK)
  await enable(a, ch)
  t.ok(await until(w, () => a.ev('EncryptionChangeV2').length === 1 && b.ev('EncryptionChangeV2').length === 1))
  t.same(a.ev('EncryptionChangeV2')[0]!.params, {
    status: 0,
    connectionHandle: ch,
    encryptionEnabled: 1,
    encryptionKeySize: 16,
  })
  t.same(b.ev('EncryptionChangeV2')[0]!.params, {
    status: 0,
    connectionHandle: ph,
    encryptionEnabled: 1,
    encryptionKeySize: 16,
  })
  t.equal(a.ev('EncryptionChange').length, 0, 'v1 not sent as well')
})

t.test('a wrong LTK fails the way a real link does: MIC failure, 0x3D on both sides', async (t) => {
  const w = world()
  const { a, b, ch, ph } = await linked(w)
  keyStore(b, () => OTHER_LTK)
  await enable(a, ch)
  t.ok(await until(w, () => a.ev('DisconnectionComplete').length === 1 && b.ev('DisconnectionComplete').length === 1))
  t.same(a.ev('DisconnectionComplete')[0]!.params, { status: 0, connectionHandle: ch, reason: 0x3d })
  t.same(b.ev('DisconnectionComplete')[0]!.params, { status: 0, connectionHandle: ph, reason: 0x3d })
  t.equal(a.ev('EncryptionChange').length + b.ev('EncryptionChange').length, 0, 'no Encryption Change')
})

t.test('acceptance 5: a wrong LTK on re-encryption ends the link with MIC failure (0x3D) on both sides', async (t) => {
  const w = world()
  const { a, b, ch, ph } = await linked(w)
  let stored: Uint8Array = LTK
  keyStore(b, () => stored)
  await enable(a, ch)
  t.ok(await until(w, () => a.ev('EncryptionChange').length === 1 && b.ev('EncryptionChange').length === 1))
  stored = OTHER_LTK // the peripheral has lost the bond and holds another key now
  await enable(a, ch)
  t.ok(await until(w, () => a.ev('DisconnectionComplete').length === 1 && b.ev('DisconnectionComplete').length === 1))
  t.same(a.ev('DisconnectionComplete')[0]!.params, { status: 0, connectionHandle: ch, reason: 0x3d })
  t.same(b.ev('DisconnectionComplete')[0]!.params, { status: 0, connectionHandle: ph, reason: 0x3d })
  t.equal(b.ev('LeLongTermKeyRequest').length, 2, 'the peripheral host was asked again')
  t.equal(a.ev('EncryptionKeyRefreshComplete').length + b.ev('EncryptionKeyRefreshComplete').length, 0)
})

t.test(
  're-encryption with the right key: Encryption Key Refresh Complete on both sides, a new session key',
  async (t) => {
    const w = world()
    const { a, b, ch, ph } = await linked(w)
    keyStore(b, () => LTK)
    await enable(a, ch)
    t.ok(await until(w, () => a.ev('EncryptionChange').length === 1 && b.ev('EncryptionChange').length === 1))
    const ca = connectionsOf(a.controller).byHandle.get(ch)!
    const sk1 = toHex(sessionOf(ca)!.sk)
    // Data sent while the keys change is held, then delivered in order.
    for (let i = 0; i < 5; i++) void a.host.sendAcl(ch, l2cap(100, i))
    await enable(a, ch)
    t.ok(
      await until(
        w,
        () => a.ev('EncryptionKeyRefreshComplete').length === 1 && b.ev('EncryptionKeyRefreshComplete').length === 1,
      ),
    )
    t.same(a.ev('EncryptionKeyRefreshComplete')[0]!.params, { status: 0, connectionHandle: ch })
    t.same(b.ev('EncryptionKeyRefreshComplete')[0]!.params, { status: 0, connectionHandle: ph })
    t.equal(a.ev('EncryptionChange').length, 1, 'no second Encryption Change')
    t.not(toHex(sessionOf(ca)!.sk), sk1, 'new SKD, new session key')
    t.ok(await until(w, () => b.pdus.length === 5))
    t.same(
      b.pdus.map((p) => toHex(p.pdu)),
      [0, 1, 2, 3, 4].map((i) => toHex(l2cap(100, i))),
    )
    t.equal(a.ev('DisconnectionComplete').length, 0)
  },
)

t.test('Negative Reply: Encryption Change with PIN or Key Missing (0x06) on the central; the link stays', async (t) => {
  const w = world()
  const { a, b, ch, ph } = await linked(w)
  keyStore(b, () => undefined)
  await enable(a, ch)
  t.ok(await until(w, () => a.ev('EncryptionChange').length === 1))
  t.same(a.ev('EncryptionChange')[0]!.params, { status: 0x06, connectionHandle: ch, encryptionEnabled: 0 })
  await w.run(200)
  t.equal(b.ev('EncryptionChange').length, 0, 'nothing on the peripheral')
  t.equal(a.ev('DisconnectionComplete').length, 0, 'still connected')
  void a.host.sendAcl(ch, l2cap(10, 1))
  t.ok(await until(w, () => b.pdus.length === 1), 'data flows, in the clear')
  await rejects(
    t,
    a.host.send(C.ReadEncryptionKeySize, { connectionHandle: ch }),
    0x0c,
    'not encrypted: key size refused',
  )
  void ph
})

t.test('LTK Request masked by the peripheral host: refused as a missing key (0x06)', async (t) => {
  const w = world()
  const a = await node(w, 'a')
  const mask = new Uint8Array(8)
  mask.set([0xef, 0xff, 0x0f]) // bits 0-19 except 4 (LE Long Term Key Request)
  const b = await node(w, 'b', { init: { leEventMask: mask } })
  const { ch } = await connect(w, a, b)
  await enable(a, ch)
  t.ok(await until(w, () => a.ev('EncryptionChange').length === 1))
  t.equal(a.ev('EncryptionChange')[0]!.params.status, 0x06)
  t.equal(b.ev('LeLongTermKeyRequest').length, 0)
})

t.test('validation: role, unknown handles, procedure in progress, replies without a request', async (t) => {
  const w = world()
  const { a, b, ch, ph } = await linked(w)
  await rejects(t, enable(b, ph), 0x0c, 'the peripheral cannot start encryption')
  await rejects(t, enable(a, 0x0999), 0x02, 'unknown handle')
  await rejects(
    t,
    b.host.send(C.LeLongTermKeyRequestReply, { connectionHandle: ph, longTermKey: LTK }),
    0x0c,
    'reply without a request',
  )
  await rejects(
    t,
    b.host.send(C.LeLongTermKeyRequestNegativeReply, { connectionHandle: ph }),
    0x0c,
    'negative reply without a request',
  )
  await rejects(
    t,
    b.host.send(C.LeLongTermKeyRequestReply, { connectionHandle: 0x0999, longTermKey: LTK }),
    0x02,
    'reply: unknown handle',
  )
  await rejects(t, b.host.send(C.ReadEncryptionKeySize, { connectionHandle: 0x0999 }), 0x02, 'key size: unknown handle')
  await enable(a, ch)
  await rejects(t, enable(a, ch), 0x0c, 'encryption already in progress')
  t.ok(await until(w, () => b.ev('LeLongTermKeyRequest').length === 1))
  await rejects(
    t,
    a.host.send(C.LeLongTermKeyRequestReply, { connectionHandle: ch, longTermKey: LTK }),
    0x0c,
    'the central cannot answer',
  )
  t.same(await b.host.send(C.LeLongTermKeyRequestReply, { connectionHandle: ph, longTermKey: LTK }), {
    status: 0,
    connectionHandle: ph,
  })
  t.ok(await until(w, () => a.ev('EncryptionChange').length === 1 && b.ev('EncryptionChange').length === 1))
})

t.test(
  'a peripheral host that never answers the LTK Request: LL response timeout (40 s, 0x22) on the central',
  async (t) => {
    const w = world()
    const { a, b, ch } = await linked(w)
    await enable(a, ch)
    t.ok(await until(w, () => b.ev('LeLongTermKeyRequest').length === 1))
    const asked = w.scheduler.now()
    await w.run(39_000, 50)
    t.equal(a.ev('DisconnectionComplete').length, 0, 'still waiting after 39 s')
    t.ok(await until(w, () => a.ev('DisconnectionComplete').length === 1, 2000))
    t.equal(a.ev('DisconnectionComplete')[0]!.params.reason, 0x22)
    t.ok(a.ev('DisconnectionComplete')[0]!.at - asked <= 40_000 + 30)
    t.ok(await until(w, () => b.ev('DisconnectionComplete').length === 1, 2000))
    t.equal(b.ev('DisconnectionComplete')[0]!.params.reason, 0x08, 'the peripheral loses the central')
  },
)
