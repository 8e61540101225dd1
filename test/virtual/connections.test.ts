/**
 * Connections of the virtual controller (src/virtual/connections.ts, ll-connection.ts): LE
 * Create Connection / Extended Create Connection / Cancel, the Filter Accept List, the
 * connection-complete events on both sides, Disconnect, supervision timeout, failed
 * establishment, Read RSSI, Reset. Expected event bytes are written by hand from Core v5.4
 * Vol 4 Part E 7.7.65.1, 7.7.65.10, 7.7.5, 7.7.14, 7.7.15.
 */
import t, { type Test } from 'tap'
import * as C from '../../hci/commands.ts'
import { encodeCommand } from '../../hci/commands.ts'
import { HciError } from '../../hci/errors.ts'
import { toHex } from '../../hci/wire.ts'
import { world, rawOn, settle } from '../helpers/virtual.ts'
import { advertise, completes, connect, createParams, node, until } from '../helpers/virtual-conn.ts'
import { connectionsOf } from '../../src/virtual/connections.ts'

const cmd = (spec: Parameters<typeof encodeCommand>[0], params: unknown): string =>
  toHex(encodeCommand(spec, params as never))
/** Little-endian hex of an address "AA:BB:...". */
const addrLe = (a: string): string => a.split(':').reverse().join('').toLowerCase()

const rejects = async (t: Test, p: Promise<unknown>, status: number, what: string): Promise<void> => {
  try {
    await p
    t.fail(`${what}: expected status 0x${status.toString(16)}`)
  } catch (e) {
    t.ok(e instanceof HciError, what)
    t.equal((e as HciError).status, status, what)
  }
}

t.test('connect: Enhanced Connection Complete on both sides with roles, peers and parameters; CSA #2', async (t) => {
  const w = world()
  const a = await node(w, 'central', { address: 'C0:00:00:00:00:0A' })
  const b = await node(w, 'peripheral', { address: 'C0:00:00:00:00:0B' })
  const { ch, ph } = await connect(w, a, b, {
    connectionIntervalMin: 24,
    connectionIntervalMax: 40,
    maxLatency: 2,
    supervisionTimeout: 300,
  })
  const [ca] = completes(a)
  const [cb] = completes(b)
  t.match(ca, {
    key: 'LeEnhancedConnectionComplete',
    status: 0,
    role: 0,
    peerAddressType: 0,
    peerAddress: 'C0:00:00:00:00:0B',
  })
  t.match(cb, {
    key: 'LeEnhancedConnectionComplete',
    status: 0,
    role: 1,
    peerAddressType: 0,
    peerAddress: 'C0:00:00:00:00:0A',
  })
  for (const x of [ca!, cb!]) {
    t.equal(x.connectionInterval, 24)
    t.equal(x.peripheralLatency, 2)
    t.equal(x.supervisionTimeout, 300)
  }
  t.equal(a.ev('LeChannelSelectionAlgorithm')[0]!.params.channelSelectionAlgorithm, 1, 'CSA #2 on the central')
  t.equal(b.ev('LeChannelSelectionAlgorithm')[0]!.params.channelSelectionAlgorithm, 1, 'CSA #2 on the peripheral')
  t.ok(a.host.connections.has(ch) && b.host.connections.has(ph))
  t.equal(a.controller.busy('connected'), true)
  t.equal(a.controller.busy('initiating'), false, 'no longer initiating')
  // The advertiser stopped: a second advertising enable works again, the set is off.
  t.equal(b.controller.busy('legacy-advertising'), false, 'advertising stopped on connection')
})

t.test('handles are allocated per controller; a third device connects to the same central', async (t) => {
  const w = world()
  const a = await node(w, 'a')
  const b = await node(w, 'b')
  const c = await node(w, 'c')
  const ab = await connect(w, a, b)
  const ac = await connect(w, a, c)
  t.not(ab.ch, ac.ch, 'two handles on the central')
  t.equal(ab.ph, ac.ph, 'each peripheral numbers its own (both first)')
  t.equal(connectionsOf(a.controller).byHandle.size, 2)
  // A device already connected is not connected twice: 0x0B.
  await advertise(b)
  await rejects(t, a.host.send(C.LeCreateConnection, createParams(b)), 0x0b, 'already connected')
})

t.test('legacy LE Connection Complete byte for byte when the Enhanced event is masked (LE mask 0x1F)', async (t) => {
  const w = world()
  const { raw, controller } = rawOn(w, { address: '11:22:33:44:55:66' })
  const b = await node(w, 'peripheral', { address: 'C0:00:00:00:00:0B' })
  raw.command('030c00') // Reset: LE event mask back to 0x1F; default event mask has LE Meta off
  raw.command('010c08 ffffffffffffff3f') // Set Event Mask: everything incl. LE Meta (bit 61)
  await settle()
  raw.takeEvents()
  await advertise(b)
  raw.command(
    cmd(
      C.LeCreateConnection,
      createParams(b, { connectionIntervalMin: 0x18, connectionIntervalMax: 0x28, supervisionTimeout: 0x64 }),
    ),
  )
  await settle()
  t.same(raw.takeEvents(), ['0f0400010d20'], 'Command Status, success')
  await until(w, () => completes(b).length > 0)
  await w.run(1)
  // 3E 13 | 01 | status 00 | handle 0001 | role 00 | peer type 00 | peer addr | interval 0018 | latency 0000 | timeout 0064 | CA 00
  t.same(raw.takeEvents(), [
    '3e1301' + '00' + '0100' + '00' + '00' + addrLe('C0:00:00:00:00:0B') + '1800' + '0000' + '6400' + '00',
  ])
  t.equal(controller.busy('connected'), true)
  t.equal(completes(b)[0]!.key, 'LeEnhancedConnectionComplete', 'the other host chose the enhanced event')
})

t.test('LE Enhanced Connection Complete [v2] when the host unmasks it (bit 40)', async (t) => {
  const w = world()
  const mask = new Uint8Array(8)
  mask.set([0xff, 0xff, 0x0f, 0, 0, 0x01]) // bits 0-19 and 40
  const a = await node(w, 'a', { init: { leEventMask: mask } })
  const b = await node(w, 'b', { init: { leEventMask: mask } })
  await connect(w, a, b)
  const [ea] = a.ev('LeEnhancedConnectionCompleteV2')
  const [eb] = b.ev('LeEnhancedConnectionCompleteV2')
  t.equal(ea?.params.advertisingHandle, 0xff, 'central: no advertising set')
  t.equal(eb?.params.advertisingHandle, 0xff, 'peripheral via legacy advertising commands: 0xFF')
  t.equal(ea?.params.syncHandle, 0xffff)
  t.equal(a.ev('LeEnhancedConnectionComplete').length, 0, 'v1 not sent as well')
})

t.test('Create Connection Cancel: Command Complete, then Connection Complete with 0x02', async (t) => {
  const w = world()
  const { raw } = rawOn(w)
  raw.command('010c08 ffffffffffffff3f')
  raw.command('030c00')
  raw.command('010c08 ffffffffffffff3f')
  await settle()
  raw.takeEvents()
  raw.command('0e2000')
  await settle()
  t.same(raw.takeEvents(), ['0e04010e200c'], 'nothing to cancel: Command Disallowed')
  raw.command(cmd(C.LeCreateConnection, createParams('C0:FF:EE:00:00:01')))
  await settle()
  t.same(raw.takeEvents(), ['0f0400010d20'])
  raw.command(cmd(C.LeCreateConnection, createParams('C0:FF:EE:00:00:01')))
  await settle()
  t.same(raw.takeEvents(), ['0f040c010d20'], 'a second Create Connection while one is pending: 0x0C')
  await w.run(100)
  t.same(raw.takeEvents(), [], 'nobody advertises: no event')
  raw.command('0e2000')
  await settle()
  t.same(raw.takeEvents(), [
    '0e04010e2000',
    '3e1301' + '02' + '0000' + '00' + '00' + addrLe('C0:FF:EE:00:00:01') + '0000' + '0000' + '0000' + '00',
  ])
})

t.test('Create Connection parameter validation (0x12) and own random address', async (t) => {
  const w = world()
  const a = await node(w, 'a')
  const bad: Array<[string, Partial<Parameters<typeof createParams>[1]>]> = [
    ['interval min > max', { connectionIntervalMin: 40, connectionIntervalMax: 24 }],
    ['interval below 7.5 ms', { connectionIntervalMin: 5 }],
    ['interval above 4 s', { connectionIntervalMax: 0x0c81 }],
    ['latency above 0x01F3', { maxLatency: 0x01f4 }],
    ['timeout below 100 ms', { supervisionTimeout: 0x0009 }],
    [
      'timeout not above (1 + latency) * interval * 2',
      { connectionIntervalMax: 40, maxLatency: 1, supervisionTimeout: 20 },
    ],
    ['scan window > interval', { scanInterval: 0x10, scanWindow: 0x20 }],
    ['scan interval below 2.5 ms', { scanInterval: 0x03, scanWindow: 0x03 }],
    ['filter policy 2', { initiatorFilterPolicy: 2 }],
    ['peer address type 4', { peerAddressType: 4 }],
    ['own address type 4', { ownAddressType: 4 }],
    ['own random address not set', { ownAddressType: 1 }],
    ['CE length min > max', { minCeLength: 2, maxCeLength: 1 }],
  ]
  for (const [what, over] of bad)
    await rejects(t, a.host.send(C.LeCreateConnection, createParams('C0:FF:EE:00:00:01', over)), 0x12, what)
  t.equal(a.controller.busy('initiating'), false)
})

t.test('Extended Create Connection: connects to a legacy advertiser; PHY validation', async (t) => {
  const w = world()
  const a = await node(w, 'a')
  const b = await node(w, 'b')
  const block = {
    scanInterval: 0x10,
    scanWindow: 0x10,
    connectionIntervalMin: 24,
    connectionIntervalMax: 24,
    maxLatency: 0,
    supervisionTimeout: 100,
    minCeLength: 0,
    maxCeLength: 0,
  }
  const ext = (
    initiatingPhys: number,
    n: number,
  ): Parameters<typeof a.host.send<typeof C.LeExtendedCreateConnection>>[1] => ({
    initiatorFilterPolicy: 0,
    ownAddressType: 0,
    peerAddressType: 0,
    peerAddress: b.controller.address,
    initiatingPhys,
    perPhy: Array.from({ length: n }, () => block),
  })
  await rejects(t, a.host.send(C.LeExtendedCreateConnection, ext(0, 0)), 0x12, 'no PHY')
  await rejects(t, a.host.send(C.LeExtendedCreateConnection, ext(0x02, 1)), 0x12, '2M only: no primary-channel PHY')
  await rejects(t, a.host.send(C.LeExtendedCreateConnection, ext(0x08, 1)), 0x12, 'reserved PHY bit')
  await rejects(t, a.host.send(C.LeExtendedCreateConnection, ext(0x05, 2)), 0x11, 'Coded PHY not supported')
  await rejects(
    t,
    a.host.send(C.LeExtendedCreateConnection, { ...ext(0x01, 1), perPhy: [{ ...block, supervisionTimeout: 5 }] }),
    0x12,
    'bad block',
  )
  await advertise(b)
  // Mixing legacy and extended commands is refused after Reset (3.1.1): b used legacy advertising, a is fresh.
  await a.host.send(C.LeExtendedCreateConnection, ext(0x03, 2))
  t.ok(await until(w, () => completes(a).length === 1 && completes(b).length === 1))
  t.match(completes(a)[0], { status: 0, role: 0, connectionInterval: 24, key: 'LeEnhancedConnectionComplete' })
  const phy = await a.host.send(C.LeReadPhy, { connectionHandle: completes(a)[0]!.connectionHandle })
  t.same([phy.txPhy, phy.rxPhy], [1, 1], 'a legacy advertiser: the connection starts on LE 1M')
})

t.test(
  'Filter Accept List: initiator policy 1 connects to a listed advertiser only; list guarded while in use',
  async (t) => {
    const w = world()
    const a = await node(w, 'a')
    const b = await node(w, 'b')
    const c = await node(w, 'c')
    t.equal((await a.host.send(C.LeReadFilterAcceptListSize, {})).filterAcceptListSize, 16)
    await rejects(
      t,
      a.host.send(C.LeAddDeviceToFilterAcceptList, { addressType: 2, address: b.controller.address }),
      0x12,
      'address type 2',
    )
    await a.host.send(C.LeAddDeviceToFilterAcceptList, { addressType: 0, address: 'C0:FF:EE:00:00:99' })
    await a.host.send(C.LeRemoveDeviceFromFilterAcceptList, { addressType: 0, address: 'C0:FF:EE:00:00:99' })
    await a.host.send(C.LeAddDeviceToFilterAcceptList, { addressType: 0, address: c.controller.address })
    await advertise(b)
    await advertise(c)
    await a.host.send(C.LeCreateConnection, createParams('00:00:00:00:00:00', { initiatorFilterPolicy: 1 }))
    await rejects(
      t,
      a.host.send(C.LeAddDeviceToFilterAcceptList, { addressType: 0, address: b.controller.address }),
      0x0c,
      'add while initiating with the list',
    )
    await rejects(t, a.host.send(C.LeClearFilterAcceptList, {}), 0x0c, 'clear while in use')
    t.ok(await until(w, () => completes(a).length === 1))
    t.equal(completes(a)[0]!.peerAddress, c.controller.address, 'connected to the listed device')
    t.equal(completes(b).length, 0, 'the unlisted advertiser got nothing')
    await a.host.send(C.LeClearFilterAcceptList, {})
    for (let i = 0; i < 16; i++)
      await a.host.send(C.LeAddDeviceToFilterAcceptList, {
        addressType: 1,
        address: `C0:00:00:00:00:${i.toString(16).padStart(2, '0')}`,
      })
    await rejects(
      t,
      a.host.send(C.LeAddDeviceToFilterAcceptList, { addressType: 1, address: 'C0:00:00:00:01:00' }),
      0x07,
      'list full: Memory Capacity Exceeded',
    )
  },
)

t.test('Disconnect: reason to the peer, 0x16 locally; validation', async (t) => {
  const w = world()
  const a = await node(w, 'a')
  const b = await node(w, 'b')
  const { ch, ph } = await connect(w, a, b)
  await rejects(t, a.host.send(C.Disconnect, { connectionHandle: 0x0123, reason: 0x13 }), 0x02, 'unknown handle')
  for (const reason of [0x00, 0x08, 0x16, 0x3d, 0x12]) {
    await rejects(
      t,
      a.host.send(C.Disconnect, { connectionHandle: ch, reason }),
      0x12,
      `reason 0x${reason.toString(16)}`,
    )
  }
  await a.host.send(C.Disconnect, { connectionHandle: ch, reason: 0x13 })
  await rejects(t, a.host.send(C.Disconnect, { connectionHandle: ch, reason: 0x13 }), 0x0c, 'already disconnecting')
  t.ok(await until(w, () => a.ev('DisconnectionComplete').length === 1 && b.ev('DisconnectionComplete').length === 1))
  t.same(a.ev('DisconnectionComplete')[0]!.params, { status: 0, connectionHandle: ch, reason: 0x16 })
  t.same(b.ev('DisconnectionComplete')[0]!.params, { status: 0, connectionHandle: ph, reason: 0x13 })
  t.equal(a.controller.busy('connected'), false)
  await rejects(t, a.host.send(C.ReadRssi, { connectionHandle: ch }), 0x02, 'the handle is gone')
  // Each allowed reason reaches the peer, from either side.
  for (const reason of [0x05, 0x14, 0x15, 0x1a, 0x29, 0x3b]) {
    const { ch: c2, ph: p2 } = await connect(w, a, b)
    const from = reason & 1 ? b : a
    const to = from === a ? b : a
    const before = to.ev('DisconnectionComplete').length
    await from.host.send(C.Disconnect, { connectionHandle: from === a ? c2 : p2, reason })
    t.ok(await until(w, () => to.ev('DisconnectionComplete').length > before))
    t.equal(to.ev('DisconnectionComplete').at(-1)!.params.reason, reason, `reason 0x${reason.toString(16)} delivered`)
    t.equal(from.ev('DisconnectionComplete').at(-1)!.params.reason, 0x16)
  }
})

t.test('supervision timeout: a device leaving range ends the link with 0x08 on both sides', async (t) => {
  const w = world()
  const a = await node(w, 'a')
  const b = await node(w, 'b')
  const { ch, ph } = await connect(w, a, b, { supervisionTimeout: 50 }) // 500 ms
  await w.run(200)
  t.equal(a.ev('DisconnectionComplete').length, 0, 'in range: stays up')
  const left = w.scheduler.now()
  w.link.setInRange(a.controller, b.controller, false)
  t.ok(
    await until(
      w,
      () => a.ev('DisconnectionComplete').length === 1 && b.ev('DisconnectionComplete').length === 1,
      2000,
    ),
  )
  t.same(a.ev('DisconnectionComplete')[0]!.params, { status: 0, connectionHandle: ch, reason: 0x08 })
  t.same(b.ev('DisconnectionComplete')[0]!.params, { status: 0, connectionHandle: ph, reason: 0x08 })
  const after = a.ev('DisconnectionComplete')[0]!.at - left
  t.ok(after >= 500 - 30 && after <= 500 + 31, `detected after the 500 ms timeout (${after} ms)`)
})

t.test('a connection never established ends with 0x3E on the central (6 events without an answer)', async (t) => {
  const w = world()
  const a = await node(w, 'a')
  const b = await node(w, 'b')
  w.link.setDelay(100) // every PDU takes 100 ms: longer than 6 intervals of 7.5 ms
  await advertise(b)
  await a.host.send(
    C.LeCreateConnection,
    createParams(b, { connectionIntervalMin: 6, connectionIntervalMax: 6, supervisionTimeout: 100 }),
  )
  t.ok(await until(w, () => a.ev('DisconnectionComplete').length === 1, 2000))
  t.equal(a.ev('DisconnectionComplete')[0]!.params.reason, 0x3e)
  t.ok(await until(w, () => b.ev('DisconnectionComplete').length === 1, 3000))
  t.equal(b.ev('DisconnectionComplete')[0]!.params.reason, 0x08, 'the peripheral loses the central afterwards')
})

t.test('Read RSSI reports the link RSSI on both sides', async (t) => {
  const w = world()
  const a = await node(w, 'a')
  const b = await node(w, 'b')
  const { ch, ph } = await connect(w, a, b)
  t.equal((await a.host.send(C.ReadRssi, { connectionHandle: ch })).rssi, -50, 'default')
  w.link.setRssi(a.controller, b.controller, -73)
  t.same(await a.host.send(C.ReadRssi, { connectionHandle: ch }), { status: 0, connectionHandle: ch, rssi: -73 })
  t.same(await b.host.send(C.ReadRssi, { connectionHandle: ph }), { status: 0, connectionHandle: ph, rssi: -73 })
  await rejects(t, a.host.send(C.ReadRssi, { connectionHandle: 0x0eee }), 0x02, 'unknown handle')
})

t.test('Reset drops connections silently; the peer times out (0x08)', async (t) => {
  const w = world()
  const a = await node(w, 'a')
  const b = await node(w, 'b')
  await connect(w, a, b, { supervisionTimeout: 30 })
  await w.run(100) // established: PDUs went both ways
  await b.host.send(C.Reset, {})
  t.equal(b.controller.busy('connected'), false)
  t.ok(await until(w, () => a.ev('DisconnectionComplete').length === 1, 1000))
  t.equal(a.ev('DisconnectionComplete')[0]!.params.reason, 0x08)
  t.equal(b.ev('DisconnectionComplete').length, 0, 'no Disconnection Complete after Reset')
})

t.test('directed advertising: only the targeted initiator connects', async (t) => {
  const w = world()
  const a = await node(w, 'a')
  const b = await node(w, 'b')
  const c = await node(w, 'c')
  await advertise(b, { advertisingType: 0x04, peerAddressType: 0, peerAddress: c.controller.address }) // low duty directed
  await a.host.send(C.LeCreateConnection, createParams(b))
  await c.host.send(C.LeCreateConnection, createParams(b))
  t.ok(await until(w, () => completes(c).length === 1, 1000))
  t.equal(completes(a).length, 0, 'not the target: still initiating')
  t.equal(a.controller.busy('initiating'), true)
  t.equal(completes(b)[0]!.peerAddress, c.controller.address)
})

t.test(
  'extended advertising: Extended Create Connection on the 2M secondary PHY; Advertising Set Terminated; legacy initiators ignore it',
  async (t) => {
    const w = world()
    const mask = new Uint8Array(8)
    mask.set([0xff, 0xff, 0x0f, 0, 0, 0x01]) // bits 0-19 (incl. 17: Advertising Set Terminated) and 40 (Enhanced v2)
    const a = await node(w, 'a')
    const b = await node(w, 'b', { init: { leEventMask: mask } })
    const legacyInitiator = await node(w, 'c')
    await b.host.send(C.LeSetExtendedAdvertisingParameters, {
      advertisingHandle: 3,
      advertisingEventProperties: 0x0001, // connectable, not scannable, undirected, extended PDUs
      primaryAdvertisingIntervalMin: 0x20,
      primaryAdvertisingIntervalMax: 0x20,
      primaryAdvertisingChannelMap: 7,
      ownAddressType: 0,
      peerAddressType: 0,
      peerAddress: '00:00:00:00:00:00',
      advertisingFilterPolicy: 0,
      advertisingTxPower: 0x7f,
      primaryAdvertisingPhy: 1,
      secondaryAdvertisingMaxSkip: 0,
      secondaryAdvertisingPhy: 2,
      advertisingSid: 1,
      scanRequestNotificationEnable: 0,
    })
    await b.host.send(C.LeSetExtendedAdvertisingEnable, {
      enable: 1,
      sets: [{ advertisingHandle: 3, duration: 0, maxExtendedAdvertisingEvents: 0 }],
    })
    await legacyInitiator.host.send(C.LeCreateConnection, createParams(b))
    await w.run(200)
    t.equal(completes(legacyInitiator).length, 0, 'LE Create Connection does not answer extended advertising')
    const block = (interval: number) => ({
      scanInterval: 0x10,
      scanWindow: 0x10,
      connectionIntervalMin: interval,
      connectionIntervalMax: interval,
      maxLatency: 0,
      supervisionTimeout: 100,
      minCeLength: 0,
      maxCeLength: 0,
    })
    await a.host.send(C.LeExtendedCreateConnection, {
      initiatorFilterPolicy: 0,
      ownAddressType: 0,
      peerAddressType: 0,
      peerAddress: b.controller.address,
      initiatingPhys: 0x03,
      perPhy: [block(24), block(12)],
    })
    await rejects(
      t,
      a.host.send(C.LeExtendedCreateConnection, {
        initiatorFilterPolicy: 0,
        ownAddressType: 0,
        peerAddressType: 0,
        peerAddress: b.controller.address,
        initiatingPhys: 0x01,
        perPhy: [block(24)],
      }),
      0x0c,
      'a second Extended Create Connection while one is pending',
    )
    t.ok(await until(w, () => completes(a).length === 1 && completes(b).length === 1))
    const pc = b.ev('LeEnhancedConnectionCompleteV2')[0]!.params
    t.match(pc, { status: 0, role: 1, advertisingHandle: 3, connectionInterval: 12, peerAddress: a.controller.address })
    t.equal(completes(a)[0]!.connectionInterval, 12, 'the 2M parameters were used')
    t.ok(await until(w, () => b.ev('LeAdvertisingSetTerminated').length === 1))
    t.match(b.ev('LeAdvertisingSetTerminated')[0]!.params, {
      status: 0,
      advertisingHandle: 3,
      connectionHandle: pc.connectionHandle,
    })
    const keys = b.events.map((e) => e.key)
    t.ok(
      keys.indexOf('LeEnhancedConnectionCompleteV2') < keys.indexOf('LeAdvertisingSetTerminated'),
      'Connection Complete first',
    )
    const phy = await a.host.send(C.LeReadPhy, { connectionHandle: completes(a)[0]!.connectionHandle })
    t.same([phy.txPhy, phy.rxPhy], [2, 2], 'the connection starts on LE 2M')
  },
)
