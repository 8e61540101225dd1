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
  t.match(
    a,
    { address: 'BB:BB:BB:BB:BB:BB', connectable: false, scannable: false, name: 'abc', rssi: -40 },
    'non-scannable: at once',
  )
  const b = (await it.next()).value as Advertisement
  t.match(
    b,
    { address: '11:22:33:44:55:66', addressType: 'public', connectable: true, scannable: true, name: 'xyx' },
    'ADV_IND with its SCAN_RSP',
  )
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

t.test('a scan response that repeats the UUID list adds no UUID twice (issue 13, item 5)', async (t) => {
  const s = await ready()
  const scanner = new Scanner(s.host, s.clock)
  const it = scanner.scan()
  const first = it.next()
  await s.answer(0x200c)
  await s.answer(0x200b)
  await s.answer(0x200c)
  // ADV_IND: flags, Complete List of 16-bit Service UUIDs 180D 180F; SCAN_RSP: the same list
  // plus 180A, and the name "hr" (CSS v11 Part A 1.1, 1.2).
  s.injectEvent(report(0, '665544332211', '02010605030d180f18'))
  s.injectEvent(report(4, '665544332211', '07030d180f180a1803096872'))
  const a = (await first).value as Advertisement
  t.equal(a.name, 'hr')
  t.same(
    a.ad.serviceUuids.map((u) => u.slice(4, 8)),
    ['180d', '180f', '180a'],
    'each UUID once, in the order first seen',
  )
  const done = it.return(undefined)
  await s.answer(0x200c)
  await done
})

t.test('the memory transport failing mid-scan ends the loop with its error (issue 13, item 6)', async (t) => {
  const s = await ready()
  const scanner = new Scanner(s.host, s.clock)
  const got: Advertisement[] = []
  const loop = (async () => {
    for await (const a of scanner.scan({ active: false, timeout: 5000 })) got.push(a)
  })()
  await s.answer(0x200c)
  await s.answer(0x200b)
  await s.answer(0x200c)
  s.injectEvent(report(3, 'bbbbbbbbbbbb', '0408616263'))
  await settle()
  const lost = new Error('the pty closed')
  s.controller.fail(lost)
  const ended = await Promise.race([
    loop.then(
      () => 'ended quietly',
      (e: unknown) => e,
    ),
    settle().then(() => 'still running'),
  ])
  t.equal(ended, lost, 'thrown at once, not after the 5 s timeout, and not quietly')
  t.equal(got.length, 1)
})

t.test('passive scan ends at its timeout', async (t) => {
  const s = await ready()
  const scanner = new Scanner(s.host, s.clock)
  const got: Advertisement[] = []
  const run = (async () => {
    for await (const a of scanner.scan({ active: false, timeout: 1000 })) got.push(a)
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
  const started = adv.start({
    data: new AdBuilder().flags(6),
    scanResponse: Uint8Array.of(2, 0x09, 0x41),
    intervalMs: 100,
  })
  t.equal(
    toHex(await s.answer(0x2006)),
    hex('a000 a000 00 00 00 000000000000 07 00'),
    '100 ms, ADV_IND, public, all channels',
  )
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

// ---------------------------------------------------------------------------------------------
// Extended scanning, chains, dedup, filters (scripted controller; events written by hand)
// ---------------------------------------------------------------------------------------------

import { ready as readyWith, EXTENDED, EXTENDED_CODED, extReport, legacyReport } from './scan-helpers.ts'

/** Start an extended scan and answer its three commands; returns their parameter hex. */
async function extStart(
  s: Script,
  it: AsyncGenerator<Advertisement>,
): Promise<{ first: Promise<IteratorResult<Advertisement>>; params: string[] }> {
  const first = it.next()
  const params = [toHex(await s.answer(0x2042)), toHex(await s.answer(0x2041)), toHex(await s.answer(0x2042))]
  return { first, params }
}

const ramp = (n: number, from = 0): string =>
  Array.from({ length: n }, (_, i) => ((i + from) & 0xff).toString(16).padStart(2, '0')).join('')

t.test('extended scanning chosen from LE feature bit 12; coded added when bit 11 is set', async (t) => {
  const s = await readyWith(EXTENDED_CODED)
  const scanner = new Scanner(s.host, s.clock)
  const it = scanner.scan({ active: false, interval: 0x20, window: 0x10, timeout: 100 })
  const { first, params } = await extStart(s, it)
  t.equal(params[0], hex('00 00 0000 0000'), 'extended scan disabled first')
  t.equal(
    params[1],
    hex('00 00 05 00 2000 1000 00 2000 1000'),
    'public, accept all, 1M + coded, passive 20 ms / 10 ms each',
  )
  t.equal(params[2], hex('01 00 0000 0000'), 'enabled, no controller duplicate filter, no duration')
  s.clock.advance(100)
  t.equal(toHex(await s.answer(0x2042)), hex('00 00 0000 0000'), 'the end of the scan disables the extended scan')
  t.equal((await first).done, true)

  const legacy = await readyWith('1f00000000000000')
  const ls = new Scanner(legacy.host, legacy.clock)
  await t.rejects(ls.scan({ phys: ['coded'] }).next(), { code: 'UNSUPPORTED' })
  const noCoded = await readyWith(EXTENDED)
  await t.rejects(
    new Scanner(noCoded.host, noCoded.clock).scan({ phys: ['coded'] }).next(),
    { code: 'UNSUPPORTED' },
    'coded without feature bit 11',
  )
})

t.test('extended reports: fields, a 1000-octet chain reassembled, a truncated chain flagged', async (t) => {
  const s = await readyWith(EXTENDED)
  const scanner = new Scanner(s.host, s.clock)
  const it = scanner.scan({ active: false })
  const { first, params } = await extStart(s, it)
  t.equal(params[1], hex('00 00 01 00 1000 1000'), '1M only: no coded support')
  // 1000 octets of AD: three manufacturer-data structures of 255 octets and one of 235.
  const ad =
    'feff' +
    '3412' +
    ramp(251) +
    'feff' +
    '3412' +
    ramp(251, 1) +
    'feff' +
    '3412' +
    ramp(251, 2) +
    'eaff' +
    '3412' +
    ramp(231, 3)
  t.equal(ad.length / 2, 1000)
  const chunks = [0, 229, 458, 687, 916].map((o) => ad.slice(o * 2, Math.min(1000, o + 229) * 2))
  chunks.forEach((c, i) => {
    const more = i < chunks.length - 1
    // Event type: non-connectable, non-scannable extended (0x0000), data status 01 while more come.
    s.injectEvent(
      extReport({
        eventType: more ? 0x20 : 0x00,
        addr: 'c0:11:22:33:44:55',
        addrType: 1,
        secondaryPhy: 2,
        sid: 3,
        txPower: -4,
        rssi: -60 - i,
        data: c,
      }),
    )
  })
  const a = (await first).value as Advertisement
  t.equal(a.data.length, 1000, 'five reports joined')
  t.equal(toHex(a.data), ad)
  t.match(a, {
    address: 'C0:11:22:33:44:55',
    addressType: 'random',
    rawAddressType: 1,
    extended: true,
    legacy: false,
    connectable: false,
    scannable: false,
    eventType: 0,
    phy: '2M',
    primaryPhy: '1M',
    secondaryPhy: '2M',
    sid: 3,
    txPower: -4,
    truncated: false,
  })
  t.equal(a.ad.manufacturerData.length, 4)
  t.same(a.ad.errors, [])
  // Truncated: first part 01, then 10 (truncated).
  s.injectEvent(extReport({ eventType: 0x21, addr: 'c0:00:00:00:00:01', sid: 1, data: '0201060aff' }))
  s.injectEvent(extReport({ eventType: 0x41, addr: 'c0:00:00:00:00:01', sid: 1, data: '3412' }))
  const b = (await it.next()).value as Advertisement
  t.equal(b.truncated, true, 'truncated chain delivered with the flag')
  t.equal(toHex(b.data), '0201060aff3412')
  t.equal(b.connectable, true)
  t.equal(scanner.stats.truncated, 1)
  // Legacy PDUs through extended reports (0x13 ADV_IND with the legacy bit).
  s.injectEvent(extReport({ eventType: 0x13, addr: '11:22:33:44:55:66', primaryPhy: 1, data: '020106' }))
  const c = (await it.next()).value as Advertisement
  t.match(c, { legacy: true, extended: true, connectable: true, scannable: true, phy: '1M', eventType: 0x13 })
  t.equal(c.secondaryPhy, undefined)
  const done = it.return(undefined)
  await s.answer(0x2042)
  await done
})

t.test('extended active scan: scan response merged by address and SID; timeout releases', async (t) => {
  const s = await readyWith(EXTENDED)
  const scanner = new Scanner(s.host, s.clock)
  const it = scanner.scan({ scanResponseTimeoutMs: 300 })
  const { first, params } = await extStart(s, it)
  t.equal(params[1], hex('00 00 01 01 1000 1000'), 'active')
  // Scannable extended advertisement (no data), its scan response (bit 3) in two parts.
  s.injectEvent(extReport({ eventType: 0x02, addr: '00:00:00:00:00:0a', sid: 2, secondaryPhy: 1 }))
  s.injectEvent(extReport({ eventType: 0x2a, addr: '00:00:00:00:00:0a', sid: 2, secondaryPhy: 1, data: '0509' }))
  s.injectEvent(extReport({ eventType: 0x0a, addr: '00:00:00:00:00:0a', sid: 2, secondaryPhy: 1, data: '4142 4344' }))
  const a = (await first).value as Advertisement
  t.equal(a.name, 'ABCD', 'name from the reassembled scan response')
  t.equal(toHex(a.scanResponse!), '050941424344')
  t.equal(a.data.length, 0)
  t.equal(a.scannable, true)
  // Legacy ADV_SCAN_IND (0x12) whose scan response never comes: released after 300 ms.
  s.injectEvent(extReport({ eventType: 0x12, addr: '00:00:00:00:00:0b', data: '020106' }))
  const next = it.next()
  await settle()
  s.clock.advance(299)
  await settle()
  let got = false
  void next.then(() => (got = true))
  await settle()
  t.equal(got, false, 'still waiting at 299 ms')
  s.clock.advance(1)
  const b = (await next).value as Advertisement
  t.match(b, { address: '00:00:00:00:00:0B', scannable: true })
  t.equal(b.scanResponse, undefined)
  // A scan response to ADV_IND (0x1b) arriving alone is an orphan.
  s.injectEvent(extReport({ eventType: 0x1b, addr: '00:00:00:00:00:0c', data: '020a00' }))
  await settle()
  t.equal(scanner.stats.orphanResponses, 1)
  const done = it.return(undefined)
  await s.answer(0x2042)
  await done
})

t.test('dedup: repeats dropped, changed data yielded, the table bounded (entries counted)', async (t) => {
  const s = await readyWith()
  const scanner = new Scanner(s.host, s.clock)
  const got: Advertisement[] = []
  const it = scanner.scan({ active: false, dedupCapacity: 100, queueLimit: 100_000 })
  const first = it.next()
  await s.answer(0x200c)
  await s.answer(0x200b)
  await s.answer(0x200c)
  for (let i = 0; i < 5; i++) s.injectEvent(legacyReport(3, '11:11:11:11:11:11', '020106'))
  s.injectEvent(legacyReport(3, '11:11:11:11:11:11', '020104'))
  got.push((await first).value as Advertisement)
  got.push((await it.next()).value as Advertisement)
  t.same(
    got.map((a) => a.ad.flags),
    [6, 4],
    'five identical -> one; new data -> again',
  )
  t.equal(scanner.stats.duplicates, 4)
  // 10,000 distinct devices go by; the table never holds more than 100.
  let max = 0
  for (let i = 0; i < 10_000; i++) {
    const a = `22:00:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`
    s.injectEvent(legacyReport(3, a, '020106'))
    if (i % 500 === 0) {
      await settle()
      max = Math.max(max, scanner.dedupEntries)
    }
  }
  await settle()
  max = Math.max(max, scanner.dedupEntries)
  t.equal(scanner.dedupEntries, 100, 'full, not more')
  t.ok(max <= 100, `never more than the capacity (max ${max})`)
  let n = 0
  for (;;) {
    const r = await Promise.race([it.next(), settle().then(() => undefined)])
    if (!r) break
    n++
    if (n === 10_000) break
  }
  t.equal(n, 10_000, 'every distinct device yielded once')
  // The first device was forgotten (LRU): it comes back.
  s.injectEvent(legacyReport(3, '11:11:11:11:11:11', '020104'))
  t.equal(((await it.next()).value as Advertisement).address, '11:11:11:11:11:11', 'evicted device yielded again')
  const done = it.return(undefined)
  await s.answer(0x200c)
  await done

  // duplicates: true -> everything.
  const s2 = await readyWith()
  const sc2 = new Scanner(s2.host, s2.clock)
  const it2 = sc2.scan({ active: false, duplicates: true })
  const f2 = it2.next()
  await s2.answer(0x200c)
  await s2.answer(0x200b)
  await s2.answer(0x200c)
  for (let i = 0; i < 3; i++) s2.injectEvent(legacyReport(3, '11:11:11:11:11:11', '020106'))
  await f2
  await it2.next()
  await it2.next()
  t.equal(sc2.dedupEntries, 0, 'no table with duplicates on')
  const d2 = it2.return(undefined)
  await s2.answer(0x200c)
  await d2
})

t.test('filters: name, service, address, manufacturer, RSSI, predicate', async (t) => {
  const cases: Array<[string, Parameters<Scanner['scan']>[0], string]> = [
    ['name string', { name: 'Polar H10' }, 'AA:00:00:00:00:01'],
    ['name RegExp', { name: /^Pol/ }, 'AA:00:00:00:00:01'],
    ['service 16-bit', { services: ['180d'] }, 'AA:00:00:00:00:01'],
    ['service as 128-bit string', { services: ['0000180f-0000-1000-8000-00805f9b34fb'] }, 'AA:00:00:00:00:02'],
    ['service data uuid', { services: [0xfeaa] }, 'AA:00:00:00:00:03'],
    ['address', { addresses: ['aa:00:00:00:00:02'] }, 'AA:00:00:00:00:02'],
    ['manufacturer', { manufacturer: 0x004c }, 'AA:00:00:00:00:03'],
    ['rssi', { minRssi: -45 }, 'AA:00:00:00:00:02'],
    ['predicate', { filter: (a) => a.ad.appearance === 0x0340 }, 'AA:00:00:00:00:01'],
    ['combined', { services: ['180d', '180f'], minRssi: -45 }, 'AA:00:00:00:00:02'],
  ]
  for (const [label, filter, want] of cases) {
    const s = await readyWith()
    const scanner = new Scanner(s.host, s.clock)
    const it = scanner.scan({ active: false, ...filter })
    const first = it.next()
    await s.answer(0x200c)
    await s.answer(0x200b)
    await s.answer(0x200c)
    // 1: name "Polar H10", 180d, appearance 0x0340, RSSI -60
    s.injectEvent(legacyReport(3, 'aa:00:00:00:00:01', '0a09506f6c617220483130 03030d18 03194003', -60))
    // 2: 180f, RSSI -40
    s.injectEvent(legacyReport(3, 'aa:00:00:00:00:02', '03030f18', -40))
    // 3: Apple manufacturer data, service data feaa, RSSI -70
    s.injectEvent(legacyReport(3, 'aa:00:00:00:00:03', '05ff4c000215 0516aafe1020', -70))
    const a = (await first).value as Advertisement
    await settle()
    t.equal(a.address, want, label)
    t.equal(scanner.stats.filtered, 2, `${label}: the other two filtered`)
    const done = it.return(undefined)
    await s.answer(0x200c)
    await done
  }
})

t.test('bounded merge: too many scannable devices waiting releases the oldest at once', async (t) => {
  const s = await readyWith()
  const scanner = new Scanner(s.host, s.clock)
  const it = scanner.scan({ maxPending: 2, scanResponseTimeoutMs: 10_000 })
  const first = it.next()
  await s.answer(0x200c)
  await s.answer(0x200b)
  await s.answer(0x200c)
  s.injectEvent(legacyReport(0, '01:00:00:00:00:01', '020106'))
  s.injectEvent(legacyReport(0, '01:00:00:00:00:02', '020106'))
  s.injectEvent(legacyReport(0, '01:00:00:00:00:03', '020106'))
  const a = (await first).value as Advertisement
  t.equal(a.address, '01:00:00:00:00:01', 'the oldest released without its response')
  t.equal(scanner.stats.pendingEvicted, 1)
  t.equal(s.clock.pendingTimers, 2, 'two still waiting, each with one timer')
  const done = it.return(undefined)
  await s.answer(0x200c)
  await done
  t.equal(s.clock.pendingTimers, 0, 'timers cleared when the scan ends')
})
