/**
 * The controller's resolving list (gap/resolving-list.ts) against a scripted controller, bytes
 * written by hand from Core v5.4 Vol 4 Part E 7.8.38 (LE Add Device To Resolving List, 0x2027:
 * identity type, identity address, peer IRK, local IRK), 7.8.40 (Clear, 0x2029), 7.8.41 (Read
 * Size, 0x202A), 7.8.44 (Set Address Resolution Enable, 0x202D), 7.8.77 (Set Privacy Mode,
 * 0x204E); and the RPAs of LE Enhanced Connection Complete (7.7.65.10) kept on the Connection,
 * which the pairing functions take as the addresses on the air.
 */
import t from 'tap'
import { Script, bringUp, ev, settle } from '../helpers/hci-script.ts'
import { ResolvingList } from '../../gap/resolving-list.ts'
import { Connections } from '../../gap/connections.ts'
import { toHex } from '../../hci/wire.ts'
import type { Bond } from '../../gap/smp/keys.ts'

/** Supported_Commands with octets 34 bits 3/5/6, 35 bit 1 and (optionally) 39 bit 2 set. */
function commands(privacyMode: boolean): string {
  const o = new Uint8Array(64)
  o[34] = (1 << 3) | (1 << 5) | (1 << 6)
  o[35] = 1 << 1
  if (privacyMode) o[39] = 1 << 2
  return toHex(o)
}

const LOCAL_IRK = new Uint8Array(16).fill(0x11)
const bond = (address: string, type: 'public' | 'random', irk?: number): Bond => ({
  peer: { address, type },
  ...(irk !== undefined ? { irk: new Uint8Array(16).fill(irk) } : {}),
  createdAt: 0,
})

t.test('sync: resolution off, clear, the bonds with an IRK up to the size, resolution on', async (t) => {
  const s = new Script()
  const init = s.host.init()
  await bringUp(s, { supportedCommands: commands(true) })
  await init
  const list = new ResolvingList(s.host, LOCAL_IRK)
  t.equal(list.supported, true)
  const done = list.sync([
    bond('C0:00:00:00:00:01', 'random', 0xaa),
    bond('00:11:22:33:44:55', 'public'),
    bond('00:1B:DC:00:00:02', 'public', 0xbb),
  ])
  await s.answer(0x202a, '00' + '01') // size 1
  t.equal(toHex(await s.answer(0x202d)), '00', 'resolution off')
  await s.answer(0x2029)
  const add = await s.answer(0x2027)
  t.equal(toHex(add), '01' + '0100000000c0' + 'aa'.repeat(16) + '11'.repeat(16), 'random identity, its IRK, our IRK')
  t.equal(toHex(await s.answer(0x204e)), '01' + '0100000000c0' + '01', 'Device Privacy mode')
  t.equal(toHex(await s.answer(0x202d)), '01', 'resolution on')
  await done
  t.equal(list.loaded, 1, 'the list holds one: its size')
  t.equal(list.lastError, undefined)
  // The bonds go away: the list is emptied and resolution stays off.
  const again = list.sync([])
  await s.answer(0x202d)
  await s.answer(0x2029)
  await again
  await s.expectNothing()
  t.equal(list.loaded, 0)
  // Nothing to load and nothing loaded: no commands at all.
  await list.sync([bond('00:11:22:33:44:55', 'public')])
  await s.expectNothing()
})

t.test('a refused command is reported, not thrown; no resolving list: nothing sent', async (t) => {
  const s = new Script()
  const init = s.host.init()
  await bringUp(s, { supportedCommands: commands(false) })
  await init
  const list = new ResolvingList(s.host, LOCAL_IRK)
  const done = list.sync([bond('C0:00:00:00:00:01', 'random', 0xaa)])
  await s.answer(0x202a, '00' + '08')
  await s.answer(0x202d, '0c') // Command Disallowed (scanning, say)
  await done
  t.match(list.lastError?.message, /Command Disallowed/)
  const bare = new Script()
  const init2 = bare.host.init()
  await bringUp(bare)
  await init2
  const none = new ResolvingList(bare.host, LOCAL_IRK)
  t.equal(none.supported, false)
  await none.sync([bond('C0:00:00:00:00:01', 'random', 0xaa)])
  await bare.expectNothing()
})

t.test('LE Enhanced Connection Complete: the identity as peer, the RPAs on the air kept', async (t) => {
  const s = new Script()
  const init = s.host.init()
  await bringUp(s)
  await init
  const cs = new Connections(s.host, { clock: s.clock })
  const seen: import('../../gap/connections.ts').Connection[] = []
  cs.onConnection((c) => seen.push(c))
  // subevent 0x0A: status 0, handle 0x0041, role 1 (peripheral), peer type 0x02 (public identity),
  // peer 00:1B:DC:00:00:02, local RPA 4A:00:00:00:00:01, peer RPA 5B:00:00:00:00:02, interval 0x18,
  // latency 0, timeout 0x190, clock accuracy 0.
  s.injectEvent(
    ev.raw(
      0x3e,
      '0a' +
        '00' +
        '4100' +
        '01' +
        '02' +
        '020000dc1b00' +
        '01000000004a' +
        '02000000005b' +
        '1800' +
        '0000' +
        '9001' +
        '00',
    ),
  )
  await settle()
  const c = seen[0]!
  t.same(c.peer, { address: '00:1B:DC:00:00:02', type: 'public' }, 'the identity the controller resolved')
  t.equal(c.peerRpa, '5B:00:00:00:00:02')
  t.equal(c.localRpa, '4A:00:00:00:00:01')
})
