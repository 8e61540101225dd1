/**
 * gap/scanner.ts and gap/advertiser.ts against a scripted controller: the legacy commands (Core
 * v5.4 Vol 4 Part E 7.8.5-7.8.11, bytes written by hand) and LE Advertising Reports (7.7.65.2)
 * built by hand: passive reports at once, active scan-response merging and its timeout, the loop
 * ending disables scanning.
 */
import t from 'tap'
import { Script, bringUp, ev, settle } from '../helpers/hci-script.ts'
import { toHex } from '../../hci/wire.ts'
import { Scanner, type Advertisement } from '../../gap/scanner.ts'
import { Advertiser } from '../../gap/advertiser.ts'
import { AdBuilder } from '../../gap/ad.ts'

const hex = (s: string): string => s.replace(/\s/g, '')
/** One report: event type, public address (LE), data hex, RSSI -40 (0xd8). */
const report = (type: number, addr: string, data: string): string =>
  ev.raw(0x3e, hex(`02 01 0${type} 00 ${addr} ${(data.length / 2).toString(16).padStart(2, '0')} ${data} d8`))

async function ready(): Promise<Script> {
  const s = new Script()
  const init = s.host.init()
  await bringUp(s)
  await init
  return s
}

t.test('active scan: commands, scan response merged, a device without one not held back', async (t) => {
  const s = await ready()
  const scanner = new Scanner(s.host, s.clock)
  const it = scanner.scan({ scanResponseTimeoutMs: 200 })
  const first = it.next()
  t.equal(toHex(await s.answer(0x200c)), '0000', 'scan disabled first')
  t.equal(toHex(await s.answer(0x200b)), hex('01 1000 1000 00 00'), 'active, 10 ms / 10 ms, public, accept all')
  t.equal(toHex(await s.answer(0x200c)), '0100', 'enabled, no duplicate filter')
  s.injectEvent(report(0, '665544332211', '020106'))
  s.injectEvent(report(3, 'bbbbbbbbbbbb', '0408616263'))
  s.injectEvent(report(4, '665544332211', '0409787978'))
  const a = (await first).value as Advertisement
  t.match(a, { address: 'BB:BB:BB:BB:BB:BB', connectable: false, scannable: false, name: 'abc', rssi: -40 }, 'non-scannable: at once')
  const b = (await it.next()).value as Advertisement
  t.match(b, { address: '11:22:33:44:55:66', addressType: 'public', connectable: true, scannable: true, name: 'xyx' }, 'ADV_IND with its SCAN_RSP')
  t.equal(b.ad.flags, 0x06)
  t.equal(toHex(b.scanResponse!), '0409787978')
  // A scannable advertiser that never answers: yielded after the timeout, without a response.
  s.injectEvent(report(2, 'cccccccccccc', '020106'))
  const next = it.next()
  await settle()
  s.clock.advance(200)
  const c = (await next).value as Advertisement
  t.match(c, { address: 'CC:CC:CC:CC:CC:CC', scannable: true, connectable: false })
  t.equal(c.scanResponse, undefined)
  const done = it.return(undefined)
  t.equal(toHex(await s.answer(0x200c)), '0000', 'leaving the loop disables scanning')
  await done
})

t.test('passive scan ends at its timeout', async (t) => {
  const s = await ready()
  const scanner = new Scanner(s.host, s.clock)
  const got: Advertisement[] = []
  const run = (async () => {
    for await (const a of scanner.scan({ active: false, timeoutMs: 1000 })) got.push(a)
  })()
  await s.answer(0x200c)
  t.equal(toHex(await s.answer(0x200b)), hex('00 1000 1000 00 00'), 'passive')
  await s.answer(0x200c)
  s.injectEvent(report(0, '665544332211', '020106'))
  await settle()
  s.clock.advance(1000)
  t.equal(toHex(await s.answer(0x200c)), '0000')
  await run
  t.equal(got.length, 1, 'passive: the ADV_IND at once, no waiting for a scan response')
})

t.test('advertiser: parameters, data, scan response, enable; too much data refused', async (t) => {
  const s = await ready()
  const adv = new Advertiser(s.host)
  const started = adv.start({ data: new AdBuilder().flags(6), scanResponse: Uint8Array.of(2, 0x09, 0x41), intervalMs: 100 })
  t.equal(toHex(await s.answer(0x2006)), hex('a000 a000 00 00 00 000000000000 07 00'), '100 ms, ADV_IND, public, all channels')
  t.equal(toHex(await s.answer(0x2008)), '03' + '020106' + '00'.repeat(28))
  t.equal(toHex(await s.answer(0x2009)), '03' + '020941' + '00'.repeat(28))
  t.equal(toHex(await s.answer(0x200a)), '01')
  await started
  t.ok(adv.advertising)
  s.injectEvent(ev.leEnhancedConnectionComplete(0x40))
  await settle()
  t.notOk(adv.advertising, 'a connection as peripheral ends advertising')
  await t.rejects(adv.start({ data: new Uint8Array(32) }), { code: 'AD_TOO_LONG' })
})
