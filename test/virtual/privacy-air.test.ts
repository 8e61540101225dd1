/**
 * Privacy on the virtual air (Core v5.4 Vol 6 Part B 6, resolving list 4.7; HCI Vol 4 Part E
 * 7.8.38-7.8.45, 7.8.77): advertisers' RPAs made from the local IRK of a resolving list entry
 * (Own_Address_Type 0x02) and rotated when the RPA timeout expires, in virtual time; scanners and
 * initiators that hold the peer IRK report and connect under the identity (address type 0x02,
 * LE Enhanced Connection Complete with both RPAs, 7.7.65.10); directed advertising to an
 * identity with TargetA an RPA from the peer's IRK; network and device privacy modes; scanner
 * filter policy 0x02 and LE Directed Advertising Report (7.7.65.11). Every RPA is checked with
 * AES-128 straight from Vol 3 Part H 2.2.2 (not the code's ah).
 */
import t from 'tap'
import { createCipheriv } from 'node:crypto'
import { world, sniffer, rawOn } from '../helpers/virtual.ts'
import { node, until, createParams, type Node } from '../helpers/virtual-conn.ts'
import { missing } from '../helpers/tools.ts'
import { tsharkFieldsOf } from '../helpers/virtual-capture.ts'
import * as C from '../../hci/commands.ts'
import { encodeCommand } from '../../hci/commands.ts'
import { decodeEvent } from '../../hci/events.ts'
import { DecodeError } from '../../hci/errors.ts'
import { fromHex, toHex } from '../../hci/wire.ts'

const IRK_A = 'ec0234a357c8ad05341010a60a397d9b' // Vol 3 Part H D.7
const IRK_B = '000102030405060708090a0b0c0d0e0f'
const ZERO = '00'.repeat(16)
const A = 'AA:AA:AA:AA:AA:01'
const B = 'BB:BB:BB:BB:BB:02'

/** HCI byte order (least significant octet first) of a key printed most significant first. */
const le = (msbHex: string): Uint8Array => fromHex(msbHex).reverse()

/** Does `rpa` ("XX:..", most significant octet first) resolve with `irkMsb`? (Vol 3 Part H 2.2.2) */
function resolvesWith(irkMsb: string, rpa: string): boolean {
  const b = fromHex(rpa.replace(/:/g, ''))
  if (b[0]! >> 6 !== 0b01) return false
  const c = createCipheriv('aes-128-ecb', fromHex(irkMsb), null)
  c.setAutoPadding(false)
  const r = Buffer.alloc(16)
  r.set(b.subarray(0, 3), 13)
  const e = Buffer.concat([c.update(r), c.final()])
  return toHex(e.subarray(13)) === toHex(b.subarray(3))
}

async function entry(n: Node, type: number, address: string, peerIrk: string, localIrk: string): Promise<void> {
  await n.host.send(C.LeAddDeviceToResolvingList, {
    peerIdentityAddressType: type,
    peerIdentityAddress: address,
    peerIrk: le(peerIrk),
    localIrk: le(localIrk),
  })
}

const resolution = (n: Node, on: boolean) => n.host.send(C.LeSetAddressResolutionEnable, { enable: on ? 1 : 0 })

/** Legacy advertising every 20 ms: type 0 ADV_IND or 4 ADV_DIRECT_IND (low duty), toward `peer`. */
async function advertise(n: Node, ownAddressType: number, peer: string, advertisingType = 0): Promise<void> {
  await n.host.send(C.LeSetAdvertisingParameters, {
    advertisingIntervalMin: 0x20,
    advertisingIntervalMax: 0x20,
    advertisingType,
    ownAddressType,
    peerAddressType: 0,
    peerAddress: peer,
    advertisingChannelMap: 7,
    advertisingFilterPolicy: 0,
  })
  await n.host.send(C.LeSetAdvertisingEnable, { enable: 1 })
}

async function scan(n: Node, on: boolean, scanningFilterPolicy = 0): Promise<void> {
  if (on) {
    const p = { scanType: 0, scanInterval: 16, scanWindow: 16, ownAddressType: 0, scanningFilterPolicy }
    await n.host.send(C.LeSetScanParameters, p)
  }
  await n.host.send(C.LeSetScanEnable, { enable: on ? 1 : 0, filterDuplicates: 0 })
}

const reports = (n: Node) => n.ev('LeAdvertisingReport').flatMap((e) => e.params.reports)

t.test('an advertiser with an RPA is reported under its identity by a scanner holding its IRK', async (t) => {
  const w = world(3)
  const air = sniffer(w)
  const a = await node(w, 'a', { address: A })
  const b = await node(w, 'b', { address: B })
  const c = await node(w, 'c', { address: 'CC:CC:CC:CC:CC:03' })
  await entry(b, 0, A, IRK_A, IRK_B)
  await entry(a, 0, B, IRK_B, ZERO)
  await resolution(a, true)
  await advertise(b, 2, A)
  await scan(a, true)
  await scan(c, true)
  await w.run(200)
  const onAir = [...new Set(air.heard.map((h) => `${h.pdu.advAType}/${h.pdu.advA}`))]
  t.equal(onAir.length, 1, 'one address on the air')
  const rpa = onAir[0]!.slice(2)
  t.equal(onAir[0]![0], '1', 'TxAdd random')
  t.ok(resolvesWith(IRK_B, rpa), `AdvA ${rpa} is an RPA from B's local IRK`)
  const fromA = reports(a)
  t.ok(fromA.length > 3, 'a hears b')
  t.ok(
    fromA.every((r) => r.addressType === 2 && r.address === B),
    'a reports the public identity (type 0x02) of b',
  )
  const fromC = reports(c)
  t.ok(fromC.length > 3, 'c hears b too')
  t.ok(
    fromC.every((r) => r.addressType === 1 && r.address === rpa),
    'c, without the IRK, reports the RPA (type 0x01)',
  )
  const local = await b.host.send(C.LeReadLocalResolvableAddress, {
    peerIdentityAddressType: 0,
    peerIdentityAddress: A,
  })
  t.equal(local.localResolvableAddress, rpa, 'LE Read Local Resolvable Address: the RPA on the air')
  const peer = await a.host.send(C.LeReadPeerResolvableAddress, { peerIdentityAddressType: 0, peerIdentityAddress: B })
  t.equal(peer.peerResolvableAddress, rpa, 'LE Read Peer Resolvable Address: the RPA a heard')
})

t.test('the RPA rotates when the RPA timeout expires (1 s, virtual time), and still resolves', async (t) => {
  const w = world(4)
  const air = sniffer(w)
  const a = await node(w, 'a', { address: A })
  const b = await node(w, 'b', { address: B })
  await entry(b, 0, A, ZERO, IRK_B)
  await entry(a, 0, B, IRK_B, ZERO)
  await resolution(a, true)
  await b.host.send(C.LeSetResolvablePrivateAddressTimeout, { rpaTimeout: 1 })
  const start = w.scheduler.now()
  await advertise(b, 2, A)
  await scan(a, true)
  await w.run(3500, 5)
  const runs: Array<{ rpa: string; from: number; to: number }> = []
  for (const h of air.heard) {
    const last = runs.at(-1)
    if (last?.rpa === h.pdu.advA) last.to = h.at
    else runs.push({ rpa: h.pdu.advA, from: h.at, to: h.at })
  }
  t.equal(runs.length, 4, 'four RPAs in 3.5 s')
  t.equal(new Set(runs.map((r) => r.rpa)).size, 4, 'all different')
  t.ok(
    runs.every((r) => resolvesWith(IRK_B, r.rpa)),
    'each resolves with the IRK',
  )
  runs.slice(1).forEach((r, i) => {
    const since = r.from - start
    t.ok(since >= 1000 * (i + 1) && since < 1000 * (i + 1) + 60, `RPA ${i + 2} from ${since} ms: after ${i + 1} s`)
  })
  const fromA = reports(a)
  t.ok(
    fromA.length > 100 && fromA.every((r) => r.addressType === 2 && r.address === B),
    'a recognises b across rotations',
  )
})

t.test('connecting by identity, both sides private: Enhanced Connection Complete with both RPAs', async (t) => {
  const w = world(5)
  const a = await node(w, 'a', { address: A })
  const b = await node(w, 'b', { address: B })
  await entry(a, 0, B, IRK_B, IRK_A)
  await entry(b, 0, A, IRK_A, IRK_B)
  await resolution(a, true)
  await resolution(b, true)
  await advertise(b, 2, A)
  await a.host.send(C.LeCreateConnection, createParams(B, { peerAddressType: 2, ownAddressType: 2 }))
  t.ok(
    await until(
      w,
      () => a.ev('LeEnhancedConnectionComplete').length > 0 && b.ev('LeEnhancedConnectionComplete').length > 0,
    ),
  )
  const ca = a.ev('LeEnhancedConnectionComplete')[0]!.params
  const cb = b.ev('LeEnhancedConnectionComplete')[0]!.params
  t.match(ca, { status: 0, role: 0, peerAddressType: 2, peerAddress: B })
  t.match(cb, { status: 0, role: 1, peerAddressType: 2, peerAddress: A })
  t.ok(resolvesWith(IRK_A, ca.localResolvablePrivateAddress), "a's InitA is an RPA from its IRK")
  t.ok(resolvesWith(IRK_B, ca.peerResolvablePrivateAddress), "b's AdvA is an RPA from its IRK")
  t.equal(cb.peerResolvablePrivateAddress, ca.localResolvablePrivateAddress, 'b saw the RPA a used')
  t.equal(cb.localResolvablePrivateAddress, ca.peerResolvablePrivateAddress, 'a saw the RPA b used')
})

t.test('without the peer IRK the same connection shows the RPA as the peer address', async (t) => {
  const w = world(6)
  const a = await node(w, 'a', { address: A })
  const b = await node(w, 'b', { address: B })
  await entry(b, 0, A, ZERO, IRK_B)
  await advertise(b, 2, A)
  const air = sniffer(w)
  await w.run(50)
  const rpa = air.heard[0]!.pdu.advA
  await a.host.send(C.LeCreateConnection, createParams(rpa, { peerAddressType: 1 }))
  t.ok(await until(w, () => a.ev('LeEnhancedConnectionComplete').length > 0))
  t.match(a.ev('LeEnhancedConnectionComplete')[0]!.params, {
    status: 0,
    peerAddressType: 1,
    peerAddress: rpa,
    localResolvablePrivateAddress: '00:00:00:00:00:00',
    peerResolvablePrivateAddress: '00:00:00:00:00:00',
  })
})

t.test(
  'directed advertising to an identity: TargetA an RPA from the peer IRK, resolved by the initiator',
  async (t) => {
    const w = world(7)
    const air = sniffer(w)
    const a = await node(w, 'a', { address: A })
    const b = await node(w, 'b', { address: B })
    await entry(b, 0, A, IRK_A, ZERO) // b knows a's IRK; b advertises with its public address
    await entry(a, 0, B, ZERO, IRK_A) // a uses RPAs toward b
    await resolution(b, true)
    await advertise(b, 0, A, 4)
    await a.host.send(C.LeCreateConnection, createParams(B, { ownAddressType: 2 }))
    await w.run(30)
    const pdu = air.heard[0]!.pdu
    t.equal(pdu.pduType, 'ADV_DIRECT_IND')
    t.equal(pdu.targetAType, 1)
    t.ok(resolvesWith(IRK_A, pdu.targetA!), "TargetA is an RPA from a's IRK")
    t.equal(a.ev('LeEnhancedConnectionComplete').length, 0, 'a, not resolving addresses, ignores it')
    await a.host.send(C.LeCreateConnectionCancel, {})
    await w.run(5)
    await resolution(a, true)
    await a.host.send(C.LeCreateConnection, createParams(B, { ownAddressType: 2 }))
    t.ok(await until(w, () => a.ev('LeEnhancedConnectionComplete').some((e) => e.params.status === 0)))
    t.ok(await until(w, () => b.ev('LeEnhancedConnectionComplete').length > 0))
    const ca = a.ev('LeEnhancedConnectionComplete').find((e) => e.params.status === 0)!.params
    t.match(ca, { peerAddressType: 0, peerAddress: B, peerResolvablePrivateAddress: '00:00:00:00:00:00' })
    t.ok(resolvesWith(IRK_A, ca.localResolvablePrivateAddress), "a's InitA: an RPA from its IRK")
    t.match(b.ev('LeEnhancedConnectionComplete')[0]!.params, {
      status: 0,
      peerAddressType: 2,
      peerAddress: A,
      peerResolvablePrivateAddress: ca.localResolvablePrivateAddress,
    })
  },
)

t.test('network privacy ignores a peer with an IRK that shows its identity; device privacy accepts it', async (t) => {
  const w = world(8)
  const a = await node(w, 'a', { address: A })
  const b = await node(w, 'b', { address: B })
  await entry(a, 0, B, IRK_B, ZERO)
  await resolution(a, true)
  await advertise(b, 0, A)
  await scan(a, true)
  await w.run(200)
  t.equal(reports(a).length, 0, 'network privacy (default): nothing reported')
  await scan(a, false)
  await a.host.send(C.LeSetPrivacyMode, { peerIdentityAddressType: 0, peerIdentityAddress: B, privacyMode: 1 })
  await scan(a, true)
  await w.run(200)
  t.ok(reports(a).length > 3, 'device privacy: reported')
  t.ok(
    reports(a).every((r) => r.addressType === 0 && r.address === B),
    'as the public address it is',
  )
})

t.test(
  'scanner filter policy 0x02: directed advertising to an RPA not ours -> LE Directed Advertising Report',
  async (t) => {
    const w = world(9)
    const a = await node(w, 'a', { address: A })
    const b = await node(w, 'b', { address: B })
    const x = 'CC:CC:CC:CC:CC:09'
    await entry(b, 0, x, IRK_A, ZERO) // b directs at x, whose IRK it knows
    await advertise(b, 0, x, 4)
    await scan(a, true, 0)
    await w.run(100)
    t.equal(a.ev('LeDirectedAdvertisingReport').length + reports(a).length, 0, 'policy 0x00: not for us, ignored')
    await scan(a, false)
    await scan(a, true, 2)
    await w.run(100)
    const d = a.ev('LeDirectedAdvertisingReport').flatMap((e) => e.params.reports)
    t.ok(d.length > 2, 'policy 0x02: reported')
    t.equal(reports(a).length, 0, 'as directed reports only')
    t.match(d[0], { eventType: 1, addressType: 0, address: B, directAddressType: 1 })
    t.ok(resolvesWith(IRK_A, d[0]!.directAddress), 'Direct_Address: the RPA b made for x')
  },
)

t.test('an initiator using RPAs toward a peer ignores directed advertising to its identity (6.4)', async (t) => {
  const w = world(10)
  const a = await node(w, 'a', { address: A })
  const b = await node(w, 'b', { address: B })
  await advertise(b, 0, A, 4) // TargetA: a's public address (b has no IRK for a)
  await entry(a, 0, B, ZERO, IRK_A)
  await resolution(a, true)
  await a.host.send(C.LeCreateConnection, createParams(B, { ownAddressType: 2 }))
  await w.run(100)
  t.equal(a.ev('LeEnhancedConnectionComplete').length, 0, 'own address type 0x02 with a local IRK for b: ignored')
  await a.host.send(C.LeCreateConnectionCancel, {})
  await a.host.send(C.LeCreateConnection, createParams(B, { ownAddressType: 0 }))
  t.ok(await until(w, () => a.ev('LeEnhancedConnectionComplete').some((e) => e.params.status === 0)), 'own 0x00: taken')
})

t.test(
  'extended scanner: identity address type 0x02 and Direct_Address_Type 0x02 (an RPA resolved as ours)',
  async (t) => {
    const w = world(11)
    const a = await node(w, 'a', { address: A })
    const b = await node(w, 'b', { address: B })
    await entry(b, 0, A, IRK_A, IRK_B)
    await entry(a, 0, B, IRK_B, IRK_A)
    await resolution(a, true)
    await advertise(b, 2, A, 4)
    await a.host.send(C.LeSetExtendedScanParameters, {
      ownAddressType: 2,
      scanningFilterPolicy: 0,
      scanningPhys: 1,
      perPhy: [{ scanType: 0, scanInterval: 16, scanWindow: 16 }],
    })
    await a.host.send(C.LeSetExtendedScanEnable, { enable: 1, filterDuplicates: 0, duration: 0, period: 0 })
    await w.run(100)
    const r = a.ev('LeExtendedAdvertisingReport').flatMap((e) => e.params.reports)
    t.ok(r.length > 2, 'reported')
    t.match(r[0], { eventType: 0x15, addressType: 2, address: B, directAddressType: 2 })
    t.ok(resolvesWith(IRK_A, r[0]!.directAddress), "Direct_Address: the RPA b made from a's IRK")
  },
)

t.test('tshark reads the privacy events as we wrote them', { skip: missing('tshark') }, async (t) => {
  const w = world(12)
  const b = await node(w, 'b', { address: B })
  await entry(b, 0, A, ZERO, IRK_B)
  await advertise(b, 2, A)
  const { raw } = rawOn(w, { address: A })
  const send = (spec: Parameters<typeof encodeCommand>[0], params: unknown): void =>
    raw.command(toHex(encodeCommand(spec, params as never)))
  send(C.SetEventMask, { eventMask: fromHex('ffffffffffffff3f') }) // bit 61: LE Meta
  send(C.LeSetEventMask, { eventMask: fromHex('ffff0f0000000000') }) // bit 9: LE Enhanced Connection Complete
  send(C.LeAddDeviceToResolvingList, {
    peerIdentityAddressType: 0,
    peerIdentityAddress: B,
    peerIrk: le(IRK_B),
    localIrk: le(IRK_A),
  })
  send(C.LeSetAddressResolutionEnable, { enable: 1 })
  send(C.LeSetScanParameters, {
    scanType: 0,
    scanInterval: 16,
    scanWindow: 16,
    ownAddressType: 0,
    scanningFilterPolicy: 0,
  })
  send(C.LeSetScanEnable, { enable: 1, filterDuplicates: 1 })
  await w.run(100)
  send(C.LeSetScanEnable, { enable: 0, filterDuplicates: 0 })
  send(C.LeCreateConnection, createParams(B, { peerAddressType: 2, ownAddressType: 2 }))
  await w.run(100)
  const events = raw.log.filter((l) => l.direction === 'rx').map((l) => decodeEvent(l.packet.data))
  const complete = events.find((e) => !(e instanceof DecodeError) && e.key === 'LeEnhancedConnectionComplete')
  if (!complete || complete instanceof DecodeError || complete.key !== 'LeEnhancedConnectionComplete') {
    return t.fail('no LE Enhanced Connection Complete')
  }
  const f = tsharkFieldsOf(raw.log, [
    'bthci_evt.le_meta_subevent',
    'bthci_evt.le_peer_address_type',
    'bthci_evt.bd_addr',
    'bthci_evt.le_local_rpa',
    'bthci_evt.le_peer_rpa',
    '_ws.malformed',
  ])
  t.equal(f.length, raw.log.length, 'tshark sees every packet')
  t.same(
    f.flatMap((x) => x['_ws.malformed']),
    [],
    'no malformed frame',
  )
  const reportFrames = f.filter((x) => x['bthci_evt.le_meta_subevent']![0] === '0x02')
  t.equal(reportFrames.length, 1, 'one advertising report (duplicates filtered)')
  t.same(reportFrames[0]!['bthci_evt.le_peer_address_type'], ['0x02'], 'report: Public Identity Address')
  t.same(reportFrames[0]!['bthci_evt.bd_addr'], [B.toLowerCase()])
  const cc = f.find((x) => x['bthci_evt.le_meta_subevent']![0] === '0x0a')!
  t.same(cc['bthci_evt.le_peer_address_type'], ['0x02'], 'connection complete: Public Identity Address')
  t.same(cc['bthci_evt.bd_addr'], [B.toLowerCase()])
  t.same(cc['bthci_evt.le_local_rpa'], [complete.params.localResolvablePrivateAddress.toLowerCase()])
  t.same(cc['bthci_evt.le_peer_rpa'], [complete.params.peerResolvablePrivateAddress.toLowerCase()])
  t.ok(resolvesWith(IRK_A, complete.params.localResolvablePrivateAddress))
  t.ok(resolvesWith(IRK_B, complete.params.peerResolvablePrivateAddress))
})

t.test(
  'active scanning with own address type 0x02: ScanA is an RPA from the local IRK toward that advertiser',
  async (t) => {
    const w = world(13)
    const a = await node(w, 'a', { address: A })
    const b = await node(w, 'b', { address: B })
    const other = await node(w, 'other', { address: 'CC:CC:CC:CC:CC:04' })
    await entry(a, 0, B, ZERO, IRK_A) // a uses RPAs toward b only
    const scanAs: Array<{ to: string; scanA: string; scanAType: number }> = []
    for (const n of [b, other]) n.controller.onAir('scan_req', (_f, p) => scanAs.push({ to: n.name, ...p }))
    for (const n of [b, other]) {
      await n.host.send(C.LeSetAdvertisingParameters, {
        advertisingIntervalMin: 0x20,
        advertisingIntervalMax: 0x20,
        advertisingType: 2, // ADV_SCAN_IND
        ownAddressType: 0,
        peerAddressType: 0,
        peerAddress: '00:00:00:00:00:00',
        advertisingChannelMap: 7,
        advertisingFilterPolicy: 0,
      })
      await n.host.send(C.LeSetAdvertisingEnable, { enable: 1 })
    }
    await a.host.send(C.LeSetScanParameters, {
      scanType: 1,
      scanInterval: 16,
      scanWindow: 16,
      ownAddressType: 2,
      scanningFilterPolicy: 0,
    })
    await a.host.send(C.LeSetScanEnable, { enable: 1, filterDuplicates: 0 })
    await w.run(100)
    const toB = scanAs.filter((s) => s.to === 'b')
    const toOther = scanAs.filter((s) => s.to === 'other')
    t.ok(toB.length > 2 && toOther.length > 2, 'scan requests to both')
    t.ok(
      toB.every((s) => s.scanAType === 1 && resolvesWith(IRK_A, s.scanA)),
      "toward b: an RPA from a's local IRK",
    )
    t.ok(
      toOther.every((s) => s.scanAType === 0 && s.scanA === A),
      'toward a device not on the list: the public address (7.8.10, no matching entry)',
    )
    t.ok(
      reports(a).some((r) => r.eventType === 4 && r.address === B),
      "b's scan response reached a",
    )
  },
)
