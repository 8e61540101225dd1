/**
 * gap/advertiser.ts: extended advertising commands against a scripted controller (Core v5.4
 * Vol 4 Part E 7.8.53-7.8.56, bytes written by hand; LE Advertising Set Terminated 7.7.65.18
 * injected by hand), and our Advertiser seen by our Scanner over the virtual link (virtual time):
 * several sets at once, 1000 octets of extended data, duration and event limits, restarting a set
 * after a central connected through it.
 */
import t from 'tap'
import { toHex } from '../../hci/wire.ts'
import { ev, settle } from '../helpers/hci-script.ts'
import { Advertiser } from '../../gap/advertiser.ts'
import { Scanner, type Advertisement } from '../../gap/scanner.ts'
import { Connections } from '../../gap/connections.ts'
import { AdBuilder } from '../../gap/ad.ts'
import { HciHost } from '../../hci/host.ts'
import { VirtualScheduler, clockFrom } from '../../src/virtual/scheduler.ts'
import { VirtualLink } from '../../src/virtual/link.ts'
import { VirtualController } from '../../src/virtual/controller.ts'
import { ready, EXTENDED } from './scan-helpers.ts'

const hex = (s: string): string => s.replace(/\s/g, '')

t.test('extended set: parameters, data in fragments, enable with duration, terminated', async (t) => {
  const s = await ready(EXTENDED)
  const adv = new Advertiser(s.host)
  t.equal(adv.extended, true, 'chosen from LE feature bit 12')
  const data = new Uint8Array(600).map((_, i) => i & 0xff)
  const created = adv.createSet({ data, connectable: false, intervalMs: 100, durationMs: 1000 })
  t.equal(
    toHex(await s.answer(0x2036, '0000')),
    hex('01 0000 a00000 a00000 07 00 00 000000000000 00 7f 01 00 01 01 00'),
    'handle 1, extended non-connectable non-scannable, 100 ms, 1M/1M, SID 1',
  )
  const f1 = await s.answer(0x2037)
  const f2 = await s.answer(0x2037)
  const f3 = await s.answer(0x2037)
  t.equal(toHex(f1.subarray(0, 4)), '010101fb', 'first fragment, 251 octets')
  t.equal(toHex(f2.subarray(0, 4)), '010001fb', 'intermediate, 251')
  t.equal(toHex(f3.subarray(0, 4)), '01020162', 'last, 98')
  t.equal(toHex(f1.subarray(4, 8)), '00010203')
  const set = await created
  t.equal(set.legacyPdu, false)
  const started = set.start()
  t.equal(toHex(await s.answer(0x2039)), hex('01 01 01 6400 00'), 'enable set 1 for 1 s (100 x 10 ms)')
  await started
  t.equal(adv.advertising, true)
  const ended = set.terminated()
  s.injectEvent(ev.raw(0x3e, '12 3c 01 0000 0a'))
  t.match(await ended, { reason: 'timeout', status: 0x3c, completedEvents: 10 })
  t.equal(adv.advertising, false)
  // A connectable legacy-PDU default set and a second set at once; a connection ends only the first.
  const st = adv.start({ data: new AdBuilder().flags(6), restartOnConnect: true })
  t.equal(toHex(await s.answer(0x2036, '0000')).slice(0, 6), '001300', 'handle 0, legacy ADV_IND properties 0x0013')
  t.equal(toHex(await s.answer(0x2037)), '000301' + '03020106', 'complete data')
  t.equal(toHex(await s.answer(0x2039)), hex('01 01 00 0000 00'))
  await st
  const again = set.start()
  await s.answer(0x2039)
  await again
  s.injectEvent(ev.leEnhancedConnectionComplete(0x41))
  s.injectEvent(ev.raw(0x3e, '12 00 00 4100 03'))
  await settle()
  t.equal(
    toHex(await s.answer(0x2039)),
    hex('01 01 00 0000 00'),
    'restartOnConnect: set 0 enabled again after Advertising Set Terminated',
  )
  t.equal(set.enabled, true, 'the other set kept advertising')
  await t.rejects(
    adv.createSet({ data: new Uint8Array(10), scanResponse: new Uint8Array(10), legacyPdu: false }),
    { code: 'INVALID_PARAMETERS' },
    'extended scannable with data refused',
  )
})

t.test('legacy duration on the host clock; one set only', async (t) => {
  const s = await ready()
  const adv = new Advertiser(s.host, { clock: s.clock })
  t.equal(adv.extended, false)
  const st = adv.start({ connectable: false, durationMs: 500 })
  await s.answer(0x2006)
  await s.answer(0x2008)
  await s.answer(0x200a)
  await st
  const ended = adv.defaultSet!.terminated()
  s.clock.advance(500)
  t.equal(toHex(await s.answer(0x200a)), '00', 'disabled at the end of the duration')
  t.match(await ended, { reason: 'timeout' })
  await t.rejects(adv.createSet({}), { code: 'UNSUPPORTED' })
})

async function pair() {
  const scheduler = new VirtualScheduler({ seed: 5, auto: true })
  const link = new VirtualLink({ scheduler, seed: 5 })
  const clock = clockFrom(scheduler)
  const pc = new VirtualController(link, { name: 'peripheral', timing: 'fast' })
  const cc = new VirtualController(link, { name: 'central', timing: 'fast' })
  const pHost = new HciHost(pc.attach(), { clock })
  const cHost = new HciHost(cc.attach(), { clock })
  await pHost.init()
  await cHost.init()
  return { scheduler, clock, pHost, cHost, pc }
}

t.test('virtual link: two sets at once (legacy PDUs and 1000 octets extended) found by an extended scan', async (t) => {
  const { scheduler, clock, pHost, cHost } = await pair()
  t.teardown(() => scheduler.close())
  const adv = new Advertiser(pHost)
  await adv.start({ data: new AdBuilder().flags(6).name('set-zero'), intervalMs: 50 })
  const big = new Uint8Array(1000)
  big.set([0xfe, 0xff, 0x34, 0x12], 0)
  for (let i = 4; i < 255; i++) big[i] = i & 0xff
  big.set([0xfe, 0xff, 0x34, 0x12], 255)
  big.set([0xfe, 0xff, 0x34, 0x12], 510)
  big.set([0xea, 0xff, 0x34, 0x12], 765)
  const set = await adv.createSet({ data: big, connectable: false, intervalMs: 60 })
  await set.start()
  t.equal(adv.sets.size, 2)
  const scanner = new Scanner(cHost, clock)
  const seen = new Map<string, Advertisement>()
  for await (const a of scanner.scan({ timeout: 2000 })) {
    seen.set(a.extended && !a.legacy ? 'ext' : 'legacy', a)
    if (seen.size === 2) break
  }
  t.match(seen.get('legacy'), { name: 'set-zero', legacy: true, extended: true, connectable: true })
  const e = seen.get('ext')!
  t.equal(e.data.length, 1000, 'chained reports reassembled')
  t.same(e.data, big)
  // Four Manufacturer Specific Data structures, two of them identical (company 0x1234, 251 zero
  // octets): repeated fields are sets (issue 13, item 5), so three entries, the raw four in structures.
  t.equal(e.ad.manufacturerData.length, 3)
  t.equal(e.ad.structures.filter((s) => s.type === 0xff).length, 4)
  t.equal(e.sid, 1)
})

t.test('virtual link: duration and event limit end with LE Advertising Set Terminated', async (t) => {
  const { scheduler, pHost } = await pair()
  t.teardown(() => scheduler.close())
  const adv = new Advertiser(pHost)
  const a = await adv.createSet({ connectable: false, intervalMs: 20, durationMs: 300 })
  const b = await adv.createSet({ connectable: false, intervalMs: 20, maxEvents: 5 })
  const ta = a.terminated()
  const tb = b.terminated()
  await a.start()
  await b.start()
  t.match(await ta, { reason: 'timeout', statusName: /Advertising Timeout/i })
  t.match(await tb, { reason: 'limit', completedEvents: 5 })
  t.equal(adv.advertising, false)
})

t.test('virtual link: a central connects; the set restarts; accept() gets the connection', async (t) => {
  const { scheduler, clock, pHost, cHost, pc } = await pair()
  t.teardown(() => scheduler.close())
  const pConns = new Connections(pHost, { clock })
  const cConns = new Connections(cHost, { clock })
  t.teardown(() => {
    pConns.close()
    cConns.close()
  })
  const adv = new Advertiser(pHost)
  await adv.start({ data: new AdBuilder().flags(6).name('restart'), intervalMs: 20, restartOnConnect: true })
  const set = adv.defaultSet!
  const ended = set.terminated()
  const accepted = pConns.accept({ timeout: 5000 })
  const c = await cConns.connect({ address: pc.address, type: 'public' }, { timeout: 5000 })
  const p = await accepted
  const term = await ended
  t.equal(term.reason, 'connection')
  t.equal(term.connectionHandle, p.handle, 'the terminated event names the connection accept() returned')
  // The restart is sent after the terminated event; let it complete.
  for (let i = 0; i < 20 && !set.enabled; i++) await new Promise((r) => setImmediate(r))
  t.equal(set.enabled, true, 'advertising again while connected')
  await c.disconnect().catch(() => undefined)
})
