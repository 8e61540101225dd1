/**
 * gap/scan-control.ts with gap/scanner.ts and gap/connections.ts against a scripted controller:
 * a running scan is paused (LE Set (Extended) Scan Enable 0, Core v5.4 Vol 4 Part E 7.8.11 /
 * 7.8.65) before LE (Extended) Create Connection (7.8.12 / 7.8.66) and resumed (Enable 1) when
 * the attempt ends: success, timeout, abort, refusal; two queued attempts pause once; the
 * iterator keeps going (dedup state kept) and a scan that ends during an attempt is not resumed.
 * Command and event bytes are written by hand from the spec.
 */
import t, { type Test } from 'tap'
import { Script, bringUp, ev, settle } from '../helpers/hci-script.ts'
import { toHex } from '../../hci/wire.ts'
import { Scanner, type Advertisement } from '../../gap/scanner.ts'
import { Connections } from '../../gap/connections.ts'
import { ScanControl, scanControl } from '../../gap/scan-control.ts'
import { ready as readyWith, EXTENDED } from './scan-helpers.ts'

const hex = (s: string): string => s.replace(/\s/g, '')
const le16 = (v: number): string => toHex(Uint8Array.of(v & 0xff, v >> 8))
/** 7.7.65.2: one ADV_NONCONN_IND (event type 3) from a public address (LE), RSSI -40. */
const report = (addr: string, data: string): string =>
  ev.raw(0x3e, hex(`02 01 03 00 ${addr} ${(data.length / 2).toString(16).padStart(2, '0')} ${data} d8`))
/** 7.7.65.1 LE Connection Complete: status, handle, role 0, public peer, interval 0x18, latency 0, timeout 0x190, SCA 0. */
const complete = (handle: number, status = 0, peer = 'aabbccddeeff'): string =>
  ev.raw(
    0x3e,
    '01' + toHex(Uint8Array.of(status)) + le16(handle) + '00' + '00' + peer + '1800' + '0000' + '9001' + '00',
  )

/** The scans end at their timeout (a pending next() would queue a return() behind it). */
const SCAN_MS = 600_000
async function end(
  t: Test,
  s: Script,
  pending: Promise<IteratorResult<Advertisement>>,
  opcode = 0x200c,
  off = '0000',
): Promise<void> {
  await settle()
  s.clock.advance(SCAN_MS)
  t.equal(toHex(await s.answer(opcode)), off, 'the scan ends at its timeout: disabled')
  t.equal((await pending).done, true)
}

async function ready(): Promise<Script> {
  const s = new Script()
  const init = s.host.init()
  await bringUp(s)
  await init
  return s
}

/** A passive legacy scan, enabled (7.8.11 Enable 1, no controller duplicate filter). */
async function scanning(t: Test, s: Script) {
  const scanner = new Scanner(s.host, s.clock)
  const it = scanner.scan({ active: false, timeout: SCAN_MS })
  const first = it.next()
  t.equal(toHex(await s.answer(0x200c)), '0000')
  await s.answer(0x200b)
  t.equal(toHex(await s.answer(0x200c)), '0100', 'scan enabled')
  await settle()
  return { scanner, it, first }
}

t.test(
  'connect during a scan: Enable 0, Create Connection, Connection Complete, Enable 1; the scan goes on',
  async (t) => {
    const s = await ready()
    const { scanner, it, first } = await scanning(t, s)
    s.injectEvent(report('111111111111', '020106'))
    t.match((await first).value as Advertisement, { address: '11:11:11:11:11:11' })
    const cs = new Connections(s.host, { clock: s.clock })
    const p = cs.connect('FF:EE:DD:CC:BB:AA')
    t.equal(toHex(await s.answer(0x200c)), '0000', 'scanning disabled before initiating')
    t.equal(toHex(await s.expectCommand(0x200d)).slice(12, 24), 'aabbccddeeff', 'then LE Create Connection to the peer')
    s.injectEvent(ev.commandStatus(0x200d))
    await s.expectNothing()
    s.injectEvent(complete(0x40))
    const c = await p
    t.equal(c.handle, 0x40)
    t.equal(toHex(await s.answer(0x200c)), '0100', 'scanning enabled again after Connection Complete')
    await settle()
    // The iterator did not end; its dedup still knows the first device.
    const next = it.next()
    s.injectEvent(report('111111111111', '020106'))
    s.injectEvent(report('222222222222', '020106'))
    const r = await next
    t.equal(r.done, false)
    t.match(
      r.value as Advertisement,
      { address: '22:22:22:22:22:22' },
      'advertisements keep coming after the connection',
    )
    t.equal(scanner.stats.duplicates, 1, 'the repeat of the device seen before the pause is a duplicate')
    t.same(scanControl(s.host).counts, { pauses: 1, resumes: 1 })
    const done = it.return(undefined)
    t.equal(toHex(await s.answer(0x200c)), '0000')
    await done
    await s.expectNothing()
  },
)

t.test('timeout: Enable 0, Create Connection, Cancel, Connection Complete (0x02), Enable 1', async (t) => {
  const s = await ready()
  const { it, first } = await scanning(t, s)
  const cs = new Connections(s.host, { clock: s.clock })
  const p = cs.connect({ address: 'FF:EE:DD:CC:BB:AA', type: 'public' }, { timeout: 1000 })
  const rejected = t.rejects(p, { code: 'TIMEOUT' })
  t.equal(toHex(await s.answer(0x200c)), '0000')
  await s.expectCommand(0x200d)
  s.injectEvent(ev.commandStatus(0x200d))
  await settle()
  s.clock.advance(1000)
  await s.answer(0x200e)
  await s.expectNothing()
  s.injectEvent(complete(0, 0x02))
  await rejected
  t.equal(toHex(await s.answer(0x200c)), '0100', 'resumed after the cancelled attempt ended')
  await settle()
  s.injectEvent(report('333333333333', '020106'))
  const r = await first
  t.equal(r.done, false, 'the iterator neither ended nor threw')
  t.match(r.value as Advertisement, { address: '33:33:33:33:33:33' })
  const done = it.return(undefined)
  await s.answer(0x200c)
  await done
})

t.test('abort and refusal: the scan is resumed either way', async (t) => {
  const s = await ready()
  const { first } = await scanning(t, s)
  const cs = new Connections(s.host, { clock: s.clock })
  const ac = new AbortController()
  const p = cs.connect('FF:EE:DD:CC:BB:AA', { signal: ac.signal })
  const aborted = t.rejects(p, { message: 'stop' })
  t.equal(toHex(await s.answer(0x200c)), '0000')
  await s.expectCommand(0x200d)
  s.injectEvent(ev.commandStatus(0x200d))
  await settle()
  ac.abort(new Error('stop'))
  await s.answer(0x200e)
  s.injectEvent(complete(0, 0x02))
  await aborted
  t.equal(toHex(await s.answer(0x200c)), '0100', 'resumed after the abort')

  // The controller refuses the command (Command Disallowed 0x0C in Command Status).
  const q = cs.connect('FF:EE:DD:CC:BB:AA')
  const refused = t.rejects(q)
  t.equal(toHex(await s.answer(0x200c)), '0000')
  await s.expectCommand(0x200d)
  s.injectEvent(ev.commandStatus(0x200d, 0x0c))
  await refused
  t.equal(toHex(await s.answer(0x200c)), '0100', 'resumed after the refusal')
  t.same(scanControl(s.host).counts, { pauses: 2, resumes: 2 })
  await end(t, s, first)
})

t.test('two concurrent connects during a scan pause once and resume once', async (t) => {
  const s = await ready()
  const { first } = await scanning(t, s)
  const cs = new Connections(s.host, { clock: s.clock })
  const p1 = cs.connect('FF:EE:DD:CC:BB:AA')
  const p2 = cs.connect('11:22:33:44:55:66')
  t.equal(toHex(await s.answer(0x200c)), '0000', 'one pause')
  t.equal(toHex(await s.expectCommand(0x200d)).slice(12, 24), 'aabbccddeeff')
  s.injectEvent(ev.commandStatus(0x200d))
  s.injectEvent(complete(0x40))
  t.equal((await p1).handle, 0x40)
  t.equal(
    toHex(await s.expectCommand(0x200d)).slice(12, 24),
    '665544332211',
    'the second attempt follows, scan still paused',
  )
  s.injectEvent(ev.commandStatus(0x200d))
  s.injectEvent(complete(0x41, 0, '665544332211'))
  t.equal((await p2).handle, 0x41)
  t.equal(toHex(await s.answer(0x200c)), '0100', 'one resume')
  await s.expectNothing()
  t.same(scanControl(s.host).counts, { pauses: 1, resumes: 1 })
  await end(t, s, first)
})

t.test('extended: LE Set Extended Scan Enable 0 / 1 around LE Extended Create Connection', async (t) => {
  const s = await readyWith(EXTENDED)
  const scanner = new Scanner(s.host, s.clock)
  const it = scanner.scan({ active: false, timeout: SCAN_MS })
  const first = it.next()
  await s.answer(0x2042)
  await s.answer(0x2041)
  t.equal(toHex(await s.answer(0x2042)), hex('01 00 0000 0000'))
  await settle()
  const cs = new Connections(s.host, { clock: s.clock })
  const p = cs.connect('FF:EE:DD:CC:BB:AA')
  t.equal(toHex(await s.answer(0x2042)), hex('00 00 0000 0000'), 'extended scanning disabled')
  await s.expectCommand(0x2043)
  s.injectEvent(ev.commandStatus(0x2043))
  s.injectEvent(complete(0x40))
  await p
  t.equal(toHex(await s.answer(0x2042)), hex('01 00 0000 0000'), 'extended scanning enabled again')
  await end(t, s, first, 0x2042, hex('00 00 0000 0000'))
})

t.test('no scan: no Scan Enable; a scan that ends during an attempt is not resumed', async (t) => {
  const s = await ready()
  const cs = new Connections(s.host, { clock: s.clock })
  const p = cs.connect('FF:EE:DD:CC:BB:AA')
  await s.expectCommand(0x200d)
  s.injectEvent(ev.commandStatus(0x200d))
  s.injectEvent(complete(0x40))
  await p
  await s.expectNothing()

  const { first } = await scanning(t, s)
  const q = cs.connect('FF:EE:DD:CC:BB:AA', { timeout: 2 * SCAN_MS })
  t.equal(toHex(await s.answer(0x200c)), '0000')
  await s.expectCommand(0x200d)
  s.injectEvent(ev.commandStatus(0x200d))
  await end(t, s, first)
  s.injectEvent(complete(0x41))
  await q
  await s.expectNothing()
})

t.test('ScanControl: a scan registered while held is paused at once; release is idempotent', async (t) => {
  const c = new ScanControl()
  const log: string[] = []
  const h = c.hold()
  await h.ready
  t.equal(c.held, true)
  const off = c.register({ pause: async () => void log.push('pause'), resume: async () => void log.push('resume') })
  await settle()
  t.same(log, ['pause'])
  await h.release()
  await h.release()
  t.same(log, ['pause', 'resume'])
  t.equal(c.held, false)
  off()
  await c.hold().release()
  t.same(log, ['pause', 'resume'], 'nothing registered: nothing done')
})
