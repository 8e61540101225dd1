/**
 * LL procedures of the virtual controller (src/virtual/connection-procedures.ts): Data Length
 * Update, PHY Update, Feature Exchange (both roles), Version Exchange (both roles), with their
 * HCI commands and events and parameter / state validation (Core v5.4 Vol 4 Part E 7.8.21,
 * 7.8.33-7.8.35, 7.8.46-7.8.49, 7.1.23; events 7.7.65.4, 7.7.65.7, 7.7.65.12, 7.7.12).
 */
import t, { type Test } from 'tap'
import * as C from '../../hci/commands.ts'
import type { HciError } from '../../hci/errors.ts'
import { world } from '../helpers/virtual.ts'
import { connect, node, until } from '../helpers/virtual-conn.ts'

const rejects = async (t: Test, p: Promise<unknown>, status: number, what: string): Promise<void> => {
  try {
    await p
    t.fail(`${what}: expected status 0x${status.toString(16)}`)
  } catch (e) {
    t.equal((e as HciError).status, status, what)
  }
}

t.test('data length: Set Data Length -> Data Length Change on both sides with the effective values', async (t) => {
  const w = world()
  const a = await node(w, 'a')
  const b = await node(w, 'b')
  const { ch, ph } = await connect(w, a, b)
  t.same(await a.host.send(C.LeReadMaximumDataLength, {}), {
    status: 0,
    supportedMaxTxOctets: 251,
    supportedMaxTxTime: 2120,
    supportedMaxRxOctets: 251,
    supportedMaxRxTime: 2120,
  })
  t.same(await a.host.send(C.LeSetDataLength, { connectionHandle: ch, txOctets: 200, txTime: 1712 }), {
    status: 0,
    connectionHandle: ch,
  })
  t.ok(await until(w, () => a.ev('LeDataLengthChange').length === 1 && b.ev('LeDataLengthChange').length === 1))
  t.same(a.ev('LeDataLengthChange')[0]!.params, {
    connectionHandle: ch,
    maxTxOctets: 200,
    maxTxTime: 1712,
    maxRxOctets: 27,
    maxRxTime: 328,
  })
  t.same(b.ev('LeDataLengthChange')[0]!.params, {
    connectionHandle: ph,
    maxTxOctets: 27,
    maxTxTime: 328,
    maxRxOctets: 200,
    maxRxTime: 1712,
  })
  // The same values again: no change, no event.
  await a.host.send(C.LeSetDataLength, { connectionHandle: ch, txOctets: 200, txTime: 1712 })
  await w.run(300)
  t.equal(a.ev('LeDataLengthChange').length, 1)
  t.equal(b.ev('LeDataLengthChange').length, 1)
  await rejects(
    t,
    a.host.send(C.LeSetDataLength, { connectionHandle: ch, txOctets: 26, txTime: 328 }),
    0x12,
    'octets < 27',
  )
  await rejects(
    t,
    a.host.send(C.LeSetDataLength, { connectionHandle: ch, txOctets: 252, txTime: 328 }),
    0x12,
    'octets > 251',
  )
  await rejects(
    t,
    a.host.send(C.LeSetDataLength, { connectionHandle: ch, txOctets: 27, txTime: 0x147 }),
    0x12,
    'time < 328',
  )
  await rejects(
    t,
    a.host.send(C.LeSetDataLength, { connectionHandle: ch, txOctets: 27, txTime: 0x4291 }),
    0x12,
    'time > 17040',
  )
  await rejects(
    t,
    a.host.send(C.LeSetDataLength, { connectionHandle: 0x0999, txOctets: 27, txTime: 328 }),
    0x02,
    'unknown handle',
  )
})

t.test(
  'suggested default data length: read/write, validation, and used on new connections (both sides start)',
  async (t) => {
    const w = world()
    const a = await node(w, 'a')
    const b = await node(w, 'b')
    t.same(await a.host.send(C.LeReadSuggestedDefaultDataLength, {}), {
      status: 0,
      suggestedMaxTxOctets: 27,
      suggestedMaxTxTime: 328,
    })
    await a.host.send(C.LeWriteSuggestedDefaultDataLength, { suggestedMaxTxOctets: 251, suggestedMaxTxTime: 2120 })
    await b.host.send(C.LeWriteSuggestedDefaultDataLength, { suggestedMaxTxOctets: 251, suggestedMaxTxTime: 2120 })
    t.same(await a.host.send(C.LeReadSuggestedDefaultDataLength, {}), {
      status: 0,
      suggestedMaxTxOctets: 251,
      suggestedMaxTxTime: 2120,
    })
    await rejects(
      t,
      a.host.send(C.LeWriteSuggestedDefaultDataLength, { suggestedMaxTxOctets: 0xfc, suggestedMaxTxTime: 2120 }),
      0x12,
      'octets',
    )
    await rejects(
      t,
      a.host.send(C.LeWriteSuggestedDefaultDataLength, { suggestedMaxTxOctets: 27, suggestedMaxTxTime: 0x4291 }),
      0x12,
      'time',
    )
    const { ch, ph } = await connect(w, a, b)
    t.ok(await until(w, () => a.ev('LeDataLengthChange').length >= 1 && b.ev('LeDataLengthChange').length >= 1))
    await w.run(300)
    const full = { maxTxOctets: 251, maxTxTime: 2120, maxRxOctets: 251, maxRxTime: 2120 }
    t.same(a.ev('LeDataLengthChange').at(-1)!.params, { connectionHandle: ch, ...full })
    t.same(b.ev('LeDataLengthChange').at(-1)!.params, { connectionHandle: ph, ...full })
    await a.host.send(C.Reset, {})
    t.same(
      await a.host.send(C.LeReadSuggestedDefaultDataLength, {}),
      { status: 0, suggestedMaxTxOctets: 27, suggestedMaxTxTime: 328 },
      'Reset restores the default',
    )
  },
)

t.test('PHY: Set PHY 2M -> PHY Update Complete on both; Read PHY; no change -> only the initiator hears', async (t) => {
  const w = world()
  const a = await node(w, 'a')
  const b = await node(w, 'b')
  const { ch, ph } = await connect(w, a, b)
  t.same(await a.host.send(C.LeReadPhy, { connectionHandle: ch }), {
    status: 0,
    connectionHandle: ch,
    txPhy: 1,
    rxPhy: 1,
  })
  await a.host.send(C.LeSetPhy, { connectionHandle: ch, allPhys: 0, txPhys: 0b010, rxPhys: 0b010, phyOptions: 0 })
  t.ok(await until(w, () => a.ev('LePhyUpdateComplete').length === 1 && b.ev('LePhyUpdateComplete').length === 1))
  t.same(a.ev('LePhyUpdateComplete')[0]!.params, { status: 0, connectionHandle: ch, txPhy: 2, rxPhy: 2 })
  t.same(b.ev('LePhyUpdateComplete')[0]!.params, { status: 0, connectionHandle: ph, txPhy: 2, rxPhy: 2 })
  t.same(await b.host.send(C.LeReadPhy, { connectionHandle: ph }), {
    status: 0,
    connectionHandle: ph,
    txPhy: 2,
    rxPhy: 2,
  })
  // The peripheral asks for 2M again: nothing changes; only it gets the event.
  await b.host.send(C.LeSetPhy, { connectionHandle: ph, allPhys: 0, txPhys: 0b010, rxPhys: 0b011, phyOptions: 0 })
  t.ok(await until(w, () => b.ev('LePhyUpdateComplete').length === 2))
  await w.run(300)
  t.equal(a.ev('LePhyUpdateComplete').length, 1)
  // Asymmetric (a fresh link, no preferences on the central): the peripheral transmits on 1M, receives on 2M.
  const w2 = world()
  const a2 = await node(w2, 'a')
  const b2 = await node(w2, 'b')
  const h2 = await connect(w2, a2, b2)
  await b2.host.send(C.LeSetPhy, { connectionHandle: h2.ph, allPhys: 0, txPhys: 0b001, rxPhys: 0b010, phyOptions: 0 })
  t.ok(await until(w2, () => b2.ev('LePhyUpdateComplete').length === 1 && a2.ev('LePhyUpdateComplete').length === 1))
  t.same(b2.ev('LePhyUpdateComplete')[0]!.params, { status: 0, connectionHandle: h2.ph, txPhy: 1, rxPhy: 2 })
  t.same(a2.ev('LePhyUpdateComplete')[0]!.params, { status: 0, connectionHandle: h2.ch, txPhy: 2, rxPhy: 1 })
})

t.test('PHY: default PHY preferences and validation (0x11 Coded, 0x12 reserved / empty, 0x02, 0x0C)', async (t) => {
  const w = world()
  const a = await node(w, 'a')
  const b = await node(w, 'b')
  await b.host.send(C.LeSetDefaultPhy, { allPhys: 0, txPhys: 0b001, rxPhys: 0b001 }) // b: 1M only
  const { ch } = await connect(w, a, b)
  await a.host.send(C.LeSetPhy, { connectionHandle: ch, allPhys: 0b11, txPhys: 0, rxPhys: 0, phyOptions: 0 })
  t.ok(await until(w, () => a.ev('LePhyUpdateComplete').length === 1))
  t.same(
    a.ev('LePhyUpdateComplete')[0]!.params,
    { status: 0, connectionHandle: ch, txPhy: 1, rxPhy: 1 },
    'the peer prefers 1M: stays 1M',
  )
  await rejects(t, a.host.send(C.LeSetDefaultPhy, { allPhys: 0, txPhys: 0b100, rxPhys: 0b001 }), 0x11, 'default: Coded')
  await rejects(t, a.host.send(C.LeSetDefaultPhy, { allPhys: 0, txPhys: 0, rxPhys: 0b001 }), 0x12, 'default: no TX PHY')
  await rejects(
    t,
    a.host.send(C.LeSetDefaultPhy, { allPhys: 0b100, txPhys: 1, rxPhys: 1 }),
    0x12,
    'default: reserved All_PHYs bit',
  )
  await rejects(
    t,
    a.host.send(C.LeSetDefaultPhy, { allPhys: 0, txPhys: 0b1001, rxPhys: 1 }),
    0x12,
    'default: reserved TX bit',
  )
  await a.host.send(C.LeSetDefaultPhy, { allPhys: 0b11, txPhys: 0, rxPhys: 0 })
  await rejects(
    t,
    a.host.send(C.LeSetPhy, { connectionHandle: ch, allPhys: 0, txPhys: 0b100, rxPhys: 1, phyOptions: 0 }),
    0x11,
    'Coded',
  )
  await rejects(
    t,
    a.host.send(C.LeSetPhy, { connectionHandle: ch, allPhys: 0, txPhys: 1, rxPhys: 0, phyOptions: 0 }),
    0x12,
    'no RX PHY',
  )
  await rejects(
    t,
    a.host.send(C.LeSetPhy, { connectionHandle: ch, allPhys: 0, txPhys: 1, rxPhys: 1, phyOptions: 3 }),
    0x12,
    'PHY options',
  )
  await rejects(
    t,
    a.host.send(C.LeSetPhy, { connectionHandle: 0x0999, allPhys: 3, txPhys: 0, rxPhys: 0, phyOptions: 0 }),
    0x02,
    'unknown handle',
  )
  await rejects(t, a.host.send(C.LeReadPhy, { connectionHandle: 0x0999 }), 0x02, 'Read PHY: unknown handle')
  await a.host.send(C.LeSetPhy, { connectionHandle: ch, allPhys: 3, txPhys: 0, rxPhys: 0, phyOptions: 0 })
  await rejects(
    t,
    a.host.send(C.LeSetPhy, { connectionHandle: ch, allPhys: 3, txPhys: 0, rxPhys: 0, phyOptions: 0 }),
    0x0c,
    'one in progress',
  )
})

t.test('remote features: both roles read the peer controller features', async (t) => {
  const w = world()
  const a = await node(w, 'a')
  const b = await node(w, 'b')
  const { ch, ph } = await connect(w, a, b)
  await a.host.send(C.LeReadRemoteFeatures, { connectionHandle: ch })
  await rejects(t, a.host.send(C.LeReadRemoteFeatures, { connectionHandle: ch }), 0x0c, 'one in progress')
  await b.host.send(C.LeReadRemoteFeatures, { connectionHandle: ph })
  t.ok(
    await until(
      w,
      () => a.ev('LeReadRemoteFeaturesComplete').length === 1 && b.ev('LeReadRemoteFeaturesComplete').length === 1,
    ),
  )
  t.same(a.ev('LeReadRemoteFeaturesComplete')[0]!.params, {
    status: 0,
    connectionHandle: ch,
    leFeatures: b.controller.features,
  })
  t.same(b.ev('LeReadRemoteFeaturesComplete')[0]!.params, {
    status: 0,
    connectionHandle: ph,
    leFeatures: a.controller.features,
  })
  // The bits the connection modules implement: 0 encryption, 1 conn param req, 2 ext reject,
  // 3 peripheral-initiated features, 5 DLE, 6 LL privacy, 7 extended scanner filter policies,
  // 8 2M, 14 CSA #2.
  const f = a.controller.features
  for (const bit of [0, 1, 2, 3, 5, 6, 7, 8, 14]) t.equal((f[bit >> 3]! >> (bit & 7)) & 1, 1, `feature bit ${bit}`)
  for (const bit of [4, 9, 11]) t.equal((f[bit >> 3]! >> (bit & 7)) & 1, 0, `feature bit ${bit} (not implemented)`)
  await rejects(t, a.host.send(C.LeReadRemoteFeatures, { connectionHandle: 0x0999 }), 0x02, 'unknown handle')
})

t.test('remote version: both roles, answered once per connection then remembered', async (t) => {
  const w = world()
  const a = await node(w, 'a')
  const b = await node(w, 'b')
  const { ch, ph } = await connect(w, a, b)
  await a.host.send(C.ReadRemoteVersionInformation, { connectionHandle: ch })
  await rejects(t, a.host.send(C.ReadRemoteVersionInformation, { connectionHandle: ch }), 0x0c, 'one in progress')
  t.ok(await until(w, () => a.ev('ReadRemoteVersionInformationComplete').length === 1))
  const v = { status: 0, version: 0x0d, companyIdentifier: 0xffff, subversion: 0 }
  t.same(a.ev('ReadRemoteVersionInformationComplete')[0]!.params, { ...v, connectionHandle: ch })
  // b already has a's LL_VERSION_IND: answered without asking the air again.
  await b.host.send(C.ReadRemoteVersionInformation, { connectionHandle: ph })
  await w.run(0)
  t.equal(b.ev('ReadRemoteVersionInformationComplete').length, 1, 'at once, after the Command Status')
  t.same(b.ev('ReadRemoteVersionInformationComplete')[0]!.params, { ...v, connectionHandle: ph })
  await a.host.send(C.ReadRemoteVersionInformation, { connectionHandle: ch })
  await w.run(0)
  t.equal(a.ev('ReadRemoteVersionInformationComplete').length, 2, 'remembered')
  await rejects(t, a.host.send(C.ReadRemoteVersionInformation, { connectionHandle: 0x0999 }), 0x02, 'unknown handle')
})

t.test('procedures run one at a time per connection, in order', async (t) => {
  const w = world()
  const a = await node(w, 'a')
  const b = await node(w, 'b')
  const { ch } = await connect(w, a, b)
  await a.host.send(C.LeSetPhy, { connectionHandle: ch, allPhys: 0, txPhys: 2, rxPhys: 2, phyOptions: 0 })
  await a.host.send(C.LeReadRemoteFeatures, { connectionHandle: ch })
  await a.host.send(C.ReadRemoteVersionInformation, { connectionHandle: ch })
  t.ok(await until(w, () => a.ev('ReadRemoteVersionInformationComplete').length === 1))
  const order = a.events
    .map((e) => e.key)
    .filter((k) =>
      ['LePhyUpdateComplete', 'LeReadRemoteFeaturesComplete', 'ReadRemoteVersionInformationComplete'].includes(k),
    )
  t.same(order, ['LePhyUpdateComplete', 'LeReadRemoteFeaturesComplete', 'ReadRemoteVersionInformationComplete'])
})
