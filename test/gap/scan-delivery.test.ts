/**
 * What the scanner delivers under load and when the controller goes away (issue 13, items 4 and
 * 6; gap/scanner.ts, gap/scan-session.ts, att/bounded-queue.ts).
 *
 * The controller here is a transport the test drives by hand: every command is answered with
 * Command Complete (Core v5.4 Vol 4 Part E 7.7.14, status 0), and LE Advertising Report events
 * (7.7.65.2) are written byte by byte from the spec's layout and handed to the host
 * synchronously, a burst at a time, as a UART or pty read delivers a chunk of many events in one
 * callback. Between bursts the test yields one I/O turn (setImmediate), as the event loop does
 * between two reads; the consumer runs in the microtasks in between.
 */
import t from 'tap'
import { HciHost } from '../../hci/host.ts'
import { HciError } from '../../hci/errors.ts'
import type { HciPacket, Transport } from '../../hci/transport.ts'
import { Scanner, type Advertisement } from '../../gap/scanner.ts'
import { FakeClock } from '../helpers/hci-script.ts'

/** A controller whose event bursts reach the host synchronously. */
class BurstController implements Transport {
  private packetCbs: ((p: HciPacket) => void)[] = []
  private closeCbs: ((err?: Error) => void)[] = []
  /** Opcodes of the commands the host sent. */
  readonly commands: number[] = []

  send(p: HciPacket): void {
    if (p.type !== 1) return
    const opcode = p.data[0]! | (p.data[1]! << 8)
    this.commands.push(opcode)
    // Command Complete: Num_HCI_Command_Packets 1, the opcode, Status 0.
    const cc = Uint8Array.of(0x0e, 4, 1, opcode & 0xff, opcode >> 8, 0)
    queueMicrotask(() => this.deliver([cc]))
  }
  onPacket(cb: (p: HciPacket) => void): void {
    this.packetCbs.push(cb)
  }
  onClose(cb: (err?: Error) => void): void {
    this.closeCbs.push(cb)
  }
  async close(): Promise<void> {
    this.lose(undefined)
  }
  /** The transport fails (or closes cleanly without `err`). */
  lose(err: Error | undefined): void {
    const cbs = this.closeCbs.splice(0)
    this.packetCbs = []
    for (const cb of cbs) cb(err)
  }
  /** Events (without the H4 type byte), all in this one call. */
  deliver(events: Uint8Array[]): void {
    for (const data of events) for (const cb of this.packetCbs) cb({ type: 4, data })
  }
}

/** Random static address n as 6 octets little-endian (the top two bits set, Vol 6 Part B 1.3.2.1). */
function addressLe(n: number): number[] {
  return [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >> 24) & 0xff, 0x00, 0xc0]
}

/**
 * LE Advertising Report events (LE Meta 0x3E, subevent 0x02) carrying `count` ADV_NONCONN_IND
 * reports from advertisers first..first+count-1, 19 reports per event (13 octets each: Event_Type,
 * Address_Type 1 random, Address, Data_Length 3, Flags AD 02 01 06, RSSI -60).
 */
function reportEvents(first: number, count: number): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let at = 0; at < count; at += 19) {
    const n = Math.min(19, count - at)
    const params: number[] = [0x02, n]
    for (let i = 0; i < n; i++) {
      params.push(0x03, 0x01, ...addressLe(first + at + i), 3, 0x02, 0x01, 0x06, 0xc4)
    }
    out.push(Uint8Array.of(0x3e, params.length, ...params))
  }
  return out
}

/** The address of advertiser i as the scanner reports it. */
const n = (i: number): string =>
  ['c0', '00', ...[3, 2, 1, 0].map((k) => ((i >> (8 * k)) & 0xff).toString(16).padStart(2, '0'))]
    .join(':')
    .toUpperCase()

const ioTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** How `p` settled within a few I/O turns: its value, its error, or 'still pending'. */
async function outcome(p: Promise<unknown>): Promise<unknown> {
  const pending = Symbol('pending')
  let turns = 0
  const later = (async () => {
    while (turns++ < 20) await ioTurn()
    return pending
  })()
  const r = await Promise.race([
    p.then(
      (v) => v,
      (e: unknown) => e,
    ),
    later,
  ])
  return r === pending ? 'still pending' : r
}

function setup() {
  const controller = new BurstController()
  const clock = new FakeClock()
  const host = new HciHost(controller, { clock })
  return { controller, clock, host, scanner: new Scanner(host, clock) }
}

/** Wait until the host has sent `n` commands (the scan set-up), one I/O turn at a time. */
async function commandsSent(c: BurstController, n: number): Promise<void> {
  for (let i = 0; i < 100 && c.commands.length < n; i++) await ioTurn()
}

const ADVERTISERS = 100_000
const BURST = 1000

t.test('100,000 distinct advertisers in synchronous bursts of 1,000 all reach an empty for-await loop', async (t) => {
  const { controller, scanner } = setup()
  const seen = new Set<string>()
  const stop = new AbortController()
  const loop = (async () => {
    for await (const a of scanner.scan({ active: false, duplicates: true, signal: stop.signal })) {
      seen.add(a.address)
      if (seen.size === ADVERTISERS) break
    }
  })()
  await commandsSent(controller, 3)
  t.same(controller.commands, [0x200c, 0x200b, 0x200c], 'scan disabled, parameters, enabled')
  for (let first = 0; first < ADVERTISERS; first += BURST) {
    controller.deliver(reportEvents(first, BURST))
    await ioTurn()
  }
  await ioTurn()
  t.equal(seen.size, ADVERTISERS, 'every advertiser delivered')
  t.equal(scanner.dropped, 0, 'nothing dropped')
  t.equal(scanner.stats.reports, ADVERTISERS)
  stop.abort(new Error('the flood is over')) // ends the loop if it is still waiting for more
  await loop.catch(() => undefined)
})

t.test('a slow consumer: what is dropped is counted exactly and signalled, per policy', async (t) => {
  for (const overflow of ['drop-oldest', 'drop-newest'] as const) {
    const { controller, scanner } = setup()
    const drops: [number, number][] = []
    const got: string[] = []
    const it = scanner.scan({
      active: false,
      duplicates: true,
      queue: { maxItems: 100, overflow, onDropped: (n, total) => drops.push([n, total]) },
    })
    const first = it.next()
    await commandsSent(controller, 3)
    controller.deliver(reportEvents(0, 1000)) // 1,000 reports before the consumer's next turn
    got.push((await first).value!.address)
    for (let i = 0; i < 100; i++) got.push((await it.next()).value!.address)
    t.equal(got.length, 101, `${overflow}: the first, then the 100 the queue held`)
    t.equal(scanner.dropped, 899, `${overflow}: 1,000 - 101 dropped, counted`)
    t.equal(drops.at(-1)![1], 899, `${overflow}: the signal's total`)
    t.equal(
      drops.reduce((n, d) => n + d[0], 0),
      899,
      `${overflow}: the signal's counts add up`,
    )
    t.equal(got[1], overflow === 'drop-oldest' ? n(900) : n(1), `${overflow}: which ones were kept`)
    t.equal(got.at(-1), overflow === 'drop-oldest' ? n(999) : n(100))
    await it.return(undefined)
  }
})

t.test("overflow 'error': the queued advertisements, then a GapError naming the bound", async (t) => {
  const { controller, scanner } = setup()
  const it = scanner.scan({ active: false, duplicates: true, queue: { maxItems: 50, overflow: 'error' } })
  const first = it.next()
  await commandsSent(controller, 3)
  controller.deliver(reportEvents(0, 200))
  await first
  let read = 1
  const err = await (async () => {
    try {
      for (;;) {
        const r = await it.next()
        if (r.done) return undefined
        read++
      }
    } catch (e) {
      return e
    }
  })()
  t.equal(read, 51, 'the first and the 50 queued')
  t.match(err, { name: 'GapError', code: 'SCAN_OVERFLOW' })
  t.match((err as Error).message, /50 advertisements/)
  t.equal(scanner.dropped, 149, 'the one that did not fit and every one after it, until the scan stopped')
  t.equal(controller.commands.at(-1), 0x200c, 'scanning disabled')
})

t.test(
  'the default queue absorbs a burst far beyond the old 256 entries, then drops the oldest, counted',
  async (t) => {
    const { controller, scanner } = setup()
    const it = scanner.scan({ active: false, duplicates: true })
    const first = it.next()
    await commandsSent(controller, 3)
    controller.deliver(reportEvents(0, 5000))
    await first
    for (let k = 1; k < 5000; k++) await it.next()
    t.equal(scanner.dropped, 0, '5,000 in one burst: all kept')
    // An unread flood far beyond the byte bound: the oldest go, each counted.
    for (let k = 0; k < 40; k++) controller.deliver(reportEvents(10_000 + k * 1000, 1000))
    t.ok(scanner.dropped > 0, `${scanner.dropped} dropped beyond the default byte bound`)
    const dropped = scanner.dropped
    const read: string[] = []
    while (read.length + dropped < 40_000) read.push((await it.next()).value!.address)
    t.equal(read[0], n(10_000 + dropped), 'the oldest went: the first one left is the first after them')
    t.equal(read.at(-1), n(10_000 + 39_999), 'the newest kept')
    t.equal(scanner.dropped, dropped, 'read + dropped = sent')
    await it.return(undefined)
  },
)

t.test('the controller lost mid-scan: the loop ends by throwing the transport error', async (t) => {
  const { controller, scanner } = setup()
  const got: Advertisement[] = []
  const loop = (async () => {
    for await (const a of scanner.scan({ active: false })) got.push(a)
  })()
  await commandsSent(controller, 3)
  controller.deliver(reportEvents(0, 3))
  await ioTurn()
  const lost = new Error('USB device unplugged')
  controller.lose(lost)
  t.equal(await outcome(loop), lost, 'the transport error, as is')
  t.equal(got.length, 3, 'what arrived before was delivered')
})

t.test('a clean close mid-scan, and find(): a typed TRANSPORT_CLOSED error', async (t) => {
  const { controller, scanner } = setup()
  const found = scanner.find((a) => a.address === 'nowhere', { timeout: 60_000 })
  await commandsSent(controller, 3)
  controller.lose(undefined)
  const err = await outcome(found)
  t.ok(err instanceof HciError, 'an HciError')
  t.match(err, { code: 'TRANSPORT_CLOSED', protocol: 'transport' })
  // The scanner is usable again (not stuck "busy").
  const again = scanner.scan({ active: false })
  t.match(
    await outcome(again.next()),
    { code: 'TRANSPORT_CLOSED' },
    'a new scan on the closed host fails at once, typed',
  )
})
