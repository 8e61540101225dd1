/**
 * gap/connections.ts and gap/connection.ts against a scripted controller: the commands they send
 * (bytes written by hand from Core v5.4 Vol 4 Part E 7.8.12, 7.8.13, 7.8.66, 7.1.6, 7.8.31, 7.5.6
 * and Vol 3 Part A 4.20), the events they act on (7.7.65.1, 7.7.65.10, 7.7.5, 7.7.8, 7.7.65.3,
 * 7.7.65.6), timeouts and aborts, serialised attempts, routing of ACL data by handle, and a
 * GATT server attached before the first ATT PDU. Plus, on the virtual link, the choice of LE
 * Extended Create Connection from the controller's features.
 */
import t from 'tap'
import { Script, bringUp, ev, settle } from '../helpers/hci-script.ts'
import { toHex } from '../../hci/wire.ts'
import { Connections } from '../../gap/connections.ts'
import { AttributeDatabase } from '../../att/database.ts'
import { GattServer } from '../../att/server.ts'
import { rig } from '../e2e/virtual-rig.ts'

const hex = (s: string): string => s.replace(/\s/g, '')
const le16 = (v: number): string => toHex(Uint8Array.of(v & 0xff, v >> 8))

/** 7.7.65.1 LE Connection Complete: status, handle, role, peer type, peer address (LE), interval 0x18, latency 0, timeout 0x190, SCA 0. */
function leConnectionComplete(handle: number, role: number, status = 0, peer = 'aabbccddeeff'): string {
  return ev.raw(
    0x3e,
    '01' +
      toHex(Uint8Array.of(status)) +
      le16(handle) +
      toHex(Uint8Array.of(role)) +
      '00' +
      peer +
      '1800' +
      '0000' +
      '9001' +
      '00',
  )
}

async function ready(): Promise<Script> {
  const s = new Script()
  const init = s.host.init()
  await bringUp(s)
  await init
  return s
}

/** What the host sent since the last call (type:hex). */
async function _drain(s: Script): Promise<string[]> {
  await settle()
  await settle()
  return s.received.splice(0).map((p) => `${p.type}:${toHex(p.data)}`)
}

t.test('connect (legacy): LE Create Connection, then the Connection from LE Connection Complete', async (t) => {
  const s = await ready()
  const cs = new Connections(s.host, { clock: s.clock })
  const p = cs.connect({ address: 'FF:EE:DD:CC:BB:AA', type: 'public' })
  const params = await s.expectCommand(0x200d)
  t.equal(
    toHex(params),
    hex('6000 6000 00 00 aabbccddeeff 00 1800 2800 0000 9001 0000 0000'),
    'scan 60 ms/60 ms, no filter, public peer, own public, interval 30-50 ms, latency 0, timeout 4 s',
  )
  s.injectEvent(ev.commandStatus(0x200d))
  s.injectEvent(leConnectionComplete(0x0040, 0))
  const c = await p
  t.equal(c.handle, 0x40)
  t.equal(c.role, 'central')
  t.same(c.peer, { address: 'FF:EE:DD:CC:BB:AA', type: 'public' })
  t.same(c.parameters, { interval: 0x18, latency: 0, timeout: 0x190 })
  t.equal(cs.byHandle.get(0x40), c)

  // ACL for the handle reaches its mux: an Exchange MTU Request is answered by its ATT bearer.
  s.injectAcl(hex('4000 0700 0300 0400 02 1700'))
  const out = await s.expectAcl()
  t.same(
    [out.handle, out.pb, toHex(out.data)],
    [0x40, 0, hex('0300 0400 03 0502')],
    'Exchange MTU Response 517 on handle 0x040',
  )
  // ACL for another handle does not.
  s.injectAcl(hex('4100 0700 0300 0400 02 1700'))
  await s.expectNothing()

  // Encryption Change v1: encrypted, key size asked with Read Encryption Key Size.
  s.injectEvent(ev.raw(0x08, '00 4000 01'))
  t.equal(toHex(await s.expectCommand(0x1408)), '4000', 'Read Encryption Key Size for 0x0040')
  s.injectEvent(ev.commandComplete(0x1408, '00 4000 07'))
  await settle()
  t.same(c.security, { encrypted: true, authenticated: false, keySize: 7 })

  // Disconnect with a reason; the link closes with the reason our controller reports.
  const d = c.disconnect(0x13)
  t.equal(toHex(await s.expectCommand(0x0406)), '400013', 'Disconnect 0x0040, Remote User Terminated Connection')
  s.injectEvent(ev.commandStatus(0x0406))
  s.injectEvent(ev.disconnectionComplete(0x40, 0x16))
  t.same(await d, { reason: 0x16, reasonName: 'Connection Terminated By Local Host (0x16)', local: true })
  t.ok(c.closed)
  t.equal(cs.byHandle.size, 0)
  await t.rejects(c.send(new Uint8Array(4)), { code: 'LINK_CLOSED' })
})

t.test('connect (extended): LE Extended Create Connection with the 1M PHY parameters', async (t) => {
  const s = await ready()
  const cs = new Connections(s.host, { clock: s.clock, extended: true })
  const p = cs.connect(
    { address: 'C0:11:22:33:44:55', type: 'random' },
    { parameters: { intervalMin: 6, intervalMax: 12, latency: 1, timeout: 42 } },
  )
  t.equal(
    toHex(await s.expectCommand(0x2043)),
    hex('00 00 01 554433 2211c0 01  6000 6000 0600 0c00 0100 2a00 0000 0000'),
    'filter 0, own public, random peer, PHYs 1M, then scan and connection parameters',
  )
  s.injectEvent(ev.commandStatus(0x2043))
  s.injectEvent(ev.raw(0x3e, '0a 00 4100 00 01 554433 2211c0 000000000000 000000000000 0600 0100 2a00 00'))
  const c = await p
  t.same(
    [c.handle, c.role, c.peer],
    [0x41, 'central', { address: 'C0:11:22:33:44:55', type: 'random' }],
    'from LE Enhanced Connection Complete',
  )
})

t.test('attempts are serialised; a failed one rejects with the status named', async (t) => {
  const s = await ready()
  const cs = new Connections(s.host, { clock: s.clock })
  const a = cs.connect('11:11:11:11:11:11')
  const b = cs.connect('22:22:22:22:22:22')
  await s.expectCommand(0x200d)
  await s.expectNothing()
  s.injectEvent(ev.commandStatus(0x200d, 0x0c))
  await t.rejects(a, { code: 'HCI_COMMAND_FAILED', status: 0x0c })
  const second = await s.expectCommand(0x200d)
  t.equal(toHex(second.subarray(6, 12)), '222222222222', 'the second attempt only after the first ended')
  s.injectEvent(ev.commandStatus(0x200d))
  s.injectEvent(leConnectionComplete(0x42, 0, 0x3e))
  await t.rejects(b, { code: 'CONNECT_FAILED', status: 0x3e, message: /Connection Failed to be Established/ })
})

t.test('timeout and abort cancel the attempt; a connection made in the race is disconnected', async (t) => {
  const s = await ready()
  const cs = new Connections(s.host, { clock: s.clock })
  const a = cs.connect('11:11:11:11:11:11', { timeout: 1000 })
  await s.expectCommand(0x200d)
  s.injectEvent(ev.commandStatus(0x200d))
  await settle()
  s.clock.advance(999)
  await s.expectNothing()
  s.clock.advance(1)
  await s.answer(0x200e, '00')
  s.injectEvent(leConnectionComplete(0x0000, 0, 0x02))
  await t.rejects(a, { code: 'TIMEOUT', message: /no connection to 11:11:11:11:11:11\/public within 1000 ms/ })

  const ac = new AbortController()
  const b = cs.connect('22:22:22:22:22:22', { signal: ac.signal })
  await s.expectCommand(0x200d)
  s.injectEvent(ev.commandStatus(0x200d))
  await settle()
  ac.abort(new Error('user stop'))
  await s.expectCommand(0x200e)
  // Too late: the controller had connected already (7.8.13 Command Disallowed), then reports it.
  s.injectEvent(ev.commandComplete(0x200e, '0c'))
  s.injectEvent(leConnectionComplete(0x43, 0))
  t.equal(toHex(await s.expectCommand(0x0406)), '430013', 'the unwanted connection is disconnected')
  s.injectEvent(ev.commandStatus(0x0406))
  s.injectEvent(ev.disconnectionComplete(0x43, 0x16))
  await t.rejects(b, { message: 'user stop' })
  t.equal(cs.byHandle.size, 0)
})

t.test('peripheral: accept, the GATT server attached before the first ATT PDU, parameter requests', async (t) => {
  const s = await ready()
  const db = new AttributeDatabase({ gap: { deviceName: 'abc' } })
  const cs = new Connections(s.host, { clock: s.clock, server: new GattServer(db) })
  const seen: number[] = []
  cs.onConnection((c) => seen.push(c.handle))
  const accepted = cs.accept()
  // The connection and a Read Request for the Device Name (handle 0x0003) in the same delivery.
  s.injectEvent(leConnectionComplete(0x0050, 1))
  s.injectAcl(hex('5000 0700 0300 0400 0a 0300'))
  const c = await accepted
  t.same([c.role, seen], ['peripheral', [0x50]])
  const rsp = await s.expectAcl()
  t.equal(toHex(rsp.data), hex('0400 0400 0b 616263'), 'Read Response "abc", not Request Not Supported')

  // Peripheral parameter update: L2CAP Connection Parameter Update Request on CID 5 (4.20).
  const u = c.updateParameters({ intervalMin: 24, intervalMax: 40, latency: 0, timeout: 300 })
  const req = await s.expectAcl()
  t.equal(toHex(req.data), hex('0c00 0500 12 01 0800 1800 2800 0000 2c01'))
  s.injectAcl(hex('5000 0a00 0600 0500 13 01 0200 0000'))
  s.injectEvent(ev.raw(0x3e, '03 00 5000 2800 0000 2c01'))
  t.same(await u, { interval: 40, latency: 0, timeout: 300 })

  // A refused request.
  const refused = c.updateParameters({ intervalMin: 24, intervalMax: 40, latency: 0, timeout: 300 })
  await s.expectAcl()
  s.injectAcl(hex('5000 0a00 0600 0500 13 02 0200 0100'))
  await t.rejects(refused, { code: 'PARAMETERS_REJECTED' })

  // LE Remote Connection Parameter Request (7.7.65.6) is answered with the Reply (7.8.31).
  s.injectEvent(ev.raw(0x3e, '06 5000 1800 2800 0000 2c01'))
  t.equal(toHex(await s.answer(0x2020, hex('00 5000'))), hex('5000 1800 2800 0000 2c01 0000 0000'))
  // ... and invalid values with the Negative Reply, Unacceptable Connection Parameters.
  s.injectEvent(ev.raw(0x3e, '06 5000 2800 1800 0000 2c01'))
  t.equal(toHex(await s.answer(0x2021, hex('00 5000'))), hex('5000 3b'))

  // The peer goes away: the link closes with the reason named.
  const closed = new Promise<Error | undefined>((r) => c.onClose(r))
  s.injectEvent(ev.disconnectionComplete(0x50, 0x08))
  t.match(await closed, { code: 'DISCONNECTED', status: 0x08, message: /Connection Timeout/ })
  t.same(c.disconnection, { reason: 8, reasonName: 'Connection Timeout (0x08)', local: false })
})

t.test('accept times out with a clear error', async (t) => {
  const s = await ready()
  const cs = new Connections(s.host, { clock: s.clock })
  const a = cs.accept({ timeout: 500 })
  s.clock.advance(500)
  await t.rejects(a, { code: 'TIMEOUT', message: /no central connected within 500 ms/ })
})

t.test('virtual link: without legacy commands used, connect picks LE Extended Create Connection', async (t) => {
  const r = await rig({ decl: {} })
  t.teardown(() => r.close())
  const { c } = await r.connect({ direct: true })
  t.equal(c.role, 'central')
  const opcodes = r.records
    .filter((x) => x.direction === 'tx' && x.packetType === 1)
    .map((x) => x.data[0]! | (x.data[1]! << 8))
  t.ok(
    opcodes.includes(0x2043) && !opcodes.includes(0x200d),
    'LE Extended Create Connection (the controller has LE feature bit 12)',
  )
})
