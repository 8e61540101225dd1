/**
 * Issue 4, acceptance 1 (and 3, 5 for this session): our GATT client against our GATT server over
 * the virtual link, each on its own HciHost and virtual controller, through gap/ (Advertiser,
 * Scanner, Connections): discovery, reads (long values at MTU 23 and 517), writes with and
 * without response, prepared and reliable writes, 1,000 notifications and 100 indications in
 * order, a 1 MiB CoC SDU stream with credits running out and coming back, the discovery request
 * count on the large fixture database and the 1-request cached reconnection, disconnection with
 * its reason on both sides. tshark reads the central's capture: every L2CAP and ATT PDU, none
 * malformed.
 */
import t, { type Test } from 'tap'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { GattClient } from '../../att/client.ts'
import { MemoryCacheStore } from '../../att/cache.ts'
import type { DatabaseDeclaration } from '../../att/database.ts'
import type { CreditChannel } from '../../att/l2cap/credit.ts'
import { missing } from '../helpers/tools.ts'
import { largeDbDeclaration } from '../att/gatt-setup.ts'
import { rig, requestCounter, type Rig } from './virtual-rig.ts'
import { attPdusIn, tsharkSummary, writeBtsnoop } from './capture.ts'

const pattern = (n: number, seed = 0) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff)

const DECL: DatabaseDeclaration = {
  gap: { deviceName: 'hcikit-e2e' },
  services: [
    {
      uuid: 'fff0',
      characteristics: [
        { id: 'long', uuid: 'fff1', properties: ['read', 'write'], value: pattern(512) },
        { id: 'rw', uuid: 'fff2', properties: ['read', 'write', 'writeWithoutResponse'], value: 'abc' },
        { id: 'n', uuid: 'fff4', properties: ['notify'] },
        { id: 'i', uuid: 'fff5', properties: ['indicate'] },
        { id: 'r1', uuid: 'fff6', properties: ['read', 'write'], reliableWrite: true, value: '' },
        { id: 'r2', uuid: 'fff7', properties: ['read', 'write'], reliableWrite: true, value: '' },
      ],
    },
  ],
}

const u16 = (v: Uint8Array): number => v[0]! | (v[1]! << 8)

/** Fail with a clear message instead of hanging past `ms` of real time. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms (real time): ${what}`)), ms)
    }),
  ])
}

async function session(
  t: Test,
  o: { attMtu?: number; decl?: DatabaseDeclaration } = {},
): Promise<
  Rig & {
    client: GattClient
    c: import('../../gap/connections.ts').Connection
    p: import('../../gap/connections.ts').Connection
  }
> {
  const r = await rig({ decl: o.decl ?? DECL, ...(o.attMtu !== undefined ? { attMtu: o.attMtu } : {}) })
  t.teardown(() => r.close())
  const { c, p } = await within(r.connect(), 20_000, 'scan and connect')
  const client = new GattClient(c.att, { policy: 'off', robustCaching: false })
  await client.exchangeMtu()
  await client.discover()
  return Object.assign(r, { client, c, p })
}

t.test('connect by scanning, discover, long reads at MTU 517 and at MTU 23', async (t) => {
  for (const mtu of [517, 23]) {
    const s = await session(t, { attMtu: mtu })
    t.equal(s.c.role, 'central')
    t.equal(s.p.role, 'peripheral')
    t.equal(
      s.c.peer.address,
      s.peripheral.controller.address.toUpperCase(),
      'the central is connected to the peripheral',
    )
    t.equal(s.p.peer.address, s.central.controller.address.toUpperCase(), 'and the other way round')
    t.equal(s.c.att.mtu, mtu, `ATT_MTU ${mtu}`)
    const db = s.client.database!
    t.same(
      db.services.map((x) => x.uuid.slice(4, 8)),
      ['1800', '1801', 'fff0'],
      'GAP, GATT and our service',
    )
    const counter = requestCounter(s.p)
    const long = db.characteristic('fff1')!
    t.same(await s.client.read(long), pattern(512), `MTU ${mtu}: the 512-octet value whole`)
    t.equal(
      counter.count,
      mtu === 23 ? 1 + Math.ceil((512 - 22) / 22) : 1,
      `MTU ${mtu}: Read${mtu === 23 ? ' + Read Blobs' : ' only'}`,
    )
    t.equal(Buffer.from(await s.client.read(db.characteristic('2a00')!)).toString(), 'hcikit-e2e', 'Device Name')
  }
})

t.test('writes: request, command, prepared (long) and reliable', async (t) => {
  const s = await session(t, { attMtu: 23 })
  const db = s.client.database!
  const rw = db.characteristic('fff2')!
  await s.client.write(rw, Buffer.from('xyz'))
  t.equal(Buffer.from(s.db.get(rw.valueHandle)!.value!).toString(), 'xyz', 'write request')
  await s.client.writeWithoutResponse(rw, Buffer.from('q'))
  t.equal(Buffer.from(await s.client.read(rw)).toString(), 'q', 'write command arrived before the next request')
  const long = pattern(512, 9)
  const counter = requestCounter(s.p)
  await s.client.write(db.characteristic('fff1')!, long)
  t.same(s.db.get(db.characteristic('fff1')!.valueHandle)!.value, long, 'long write: the whole value')
  t.equal(counter.count, Math.ceil(512 / 18) + 1, 'Prepare Writes of ATT_MTU-5 octets, then Execute Write')
  await s.client.reliableWrite([
    { target: db.characteristic('fff6')!, value: Buffer.from('first value, longer than one PDU') },
    { target: db.characteristic('fff7')!, value: Buffer.from('second') },
  ])
  t.equal(Buffer.from(await s.client.read(db.characteristic('fff6')!)).toString(), 'first value, longer than one PDU')
  t.equal(Buffer.from(await s.client.read(db.characteristic('fff7')!)).toString(), 'second')
})

t.test('1,000 notifications and 100 indications, in order', async (t) => {
  const s = await session(t)
  const db = s.client.database!
  const nsub = await s.client.subscribe(db.characteristic('fff4')!)
  const isub = await s.client.subscribe(db.characteristic('fff5')!)
  const got: number[] = []
  const reading = (async () => {
    for await (const v of nsub) {
      got.push(u16(v))
      if (got.length === 1000) break
    }
  })()
  for (let i = 0; i < 1000; i++) {
    const [res] = await s.server.notify('n', Uint8Array.of(i & 0xff, i >> 8))
    if (!res?.ok) t.fail(`notification ${i} not sent: ${String((res as { error?: unknown })?.error)}`)
  }
  await within(reading, 20_000, '1000 notifications')
  t.same(
    got,
    Array.from({ length: 1000 }, (_, i) => i),
    '1000 notifications, every one, in order',
  )
  t.equal(nsub.dropped, 0)
  const ind: number[] = []
  const indReading = (async () => {
    for await (const v of isub) {
      ind.push(u16(v))
      if (ind.length === 100) break
    }
  })()
  for (let i = 0; i < 100; i++) {
    const [res] = await s.server.indicate('i', Uint8Array.of(i, 0))
    if (!res?.ok) t.fail(`indication ${i} not confirmed`)
  }
  await within(indReading, 20_000, '100 indications')
  t.same(
    ind,
    Array.from({ length: 100 }, (_, i) => i),
    '100 indications, each confirmed, in order',
  )
})

t.test('CoC: a 1 MiB stream of SDUs, credits running out and coming back', async (t) => {
  const s = await session(t)
  let accepted: CreditChannel | undefined
  s.p.mux.listen(0x0080, { mtu: 65535, mps: 247, initialCredits: 8 }, (ch) => (accepted = ch))
  const tx = await s.c.mux.connect(0x0080, { mtu: 65535, mps: 247, initialCredits: 8 })
  t.ok(accepted, 'the peripheral accepted the channel')
  const rx = accepted!
  const sdus: Uint8Array[] = []
  let left = 1 << 20
  for (let i = 0; left > 0; i++) {
    const n = Math.min(left, [65535, 1, 4000, 247, 245, 30000][i % 6]!)
    sdus.push(pattern(n, i))
    left -= n
  }
  const got: Uint8Array[] = []
  const reading = (async () => {
    let n = 0
    for await (const sdu of rx.sdus()) {
      got.push(sdu)
      if ((n += sdu.length) >= 1 << 20) break
    }
  })()
  await within(pipeline(Readable.from(sdus), tx), 60_000, 'sending 1 MiB')
  await within(reading, 60_000, 'receiving 1 MiB')
  const digest = (parts: Uint8Array[]) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest('hex')
  t.same(
    got.map((x) => x.length),
    sdus.map((x) => x.length),
    'SDU boundaries kept',
  )
  t.equal(digest(got), digest(sdus), 'the same 1 MiB, in order')
  t.ok(tx.stats.creditWaits > 100, `the sender ran out of credits ${tx.stats.creditWaits} times`)
  t.ok(
    rx.stats.creditIndicationsSent > 100,
    `credits came back in ${rx.stats.creditIndicationsSent} Flow Control Credit Indications`,
  )
  await tx.disconnect()
})

t.test('large database: discovery in at most 12 requests, then a 1-request cached reconnection', async (t) => {
  const store = new MemoryCacheStore()
  const r = await rig({ decl: largeDbDeclaration() })
  t.teardown(() => r.close())
  const first = await within(r.connect(), 20_000, 'connect')
  const peer = `${first.c.peer.address}/${first.c.peer.type}`
  const counter = requestCounter(first.p)
  const client = new GattClient(first.c.att, { peer, store, bonded: true })
  await client.exchangeMtu()
  counter.mark()
  const db1 = await client.discover()
  t.equal(client.source, 'discovered')
  t.ok(counter.since() <= 12, `full discovery of the fixture database: ${counter.since()} ATT requests (target 12)`)
  t.ok(db1.services.length >= 6)
  const d = await first.c.disconnect()
  t.equal(d.reason, 0x16, 'the central: Connection Terminated By Local Host')

  const again = await within(r.connect({ direct: true }), 20_000, 'reconnect')
  t.not(again.c, first.c)
  const counter2 = requestCounter(again.p)
  const client2 = new GattClient(again.c.att, { peer, store, bonded: true })
  await client2.exchangeMtu()
  counter2.mark()
  const db2 = await client2.discover()
  t.equal(client2.source, 'cache-validated', 'the cache was validated by the Database Hash')
  t.equal(counter2.since(), 1, 'one ATT request on the reconnection')
  t.same(
    db2.services.map((x) => [x.uuid, x.start, x.end]),
    db1.services.map((x) => [x.uuid, x.start, x.end]),
  )
  t.equal(
    Buffer.from(await client2.read(db2.characteristic('2a00')!)).toString(),
    'hcikit large-db',
    'the cached model works',
  )
})

t.test('disconnection with reasons on both sides', async (t) => {
  const s = await session(t)
  const closedReason = new Promise<Error | undefined>((resolve) => s.p.onClose(resolve))
  const local = await s.c.disconnect(0x13)
  t.same(local, { reason: 0x16, reasonName: 'Connection Terminated By Local Host (0x16)', local: true })
  t.same(await s.p.disconnected, { reason: 0x13, reasonName: 'Remote User Terminated Connection (0x13)', local: false })
  t.match(
    await closedReason,
    { code: 'DISCONNECTED', status: 0x13, message: /Remote User Terminated Connection/ },
    'the link closes with the reason named',
  )
  await t.rejects(
    s.client.read(1),
    { code: 'ATT_CLOSED', message: /Connection Terminated By Local Host/ },
    'the bearer is closed with the link, naming the reason',
  )
  t.equal(s.central.connections.byHandle.size, 0)
  t.equal(s.peripheral.connections.byHandle.size, 0)

  // The peripheral ends the next one, with another reason (0x15, power off).
  const again = await within(s.connect({ direct: true }), 20_000, 'reconnect')
  const p = await again.p.disconnect(0x15)
  t.equal(p.reason, 0x16)
  t.same(await again.c.disconnected, {
    reason: 0x15,
    reasonName: 'Remote Device Terminated Connection due to Power Off (0x15)',
    local: false,
  })
})

t.test('parameters, data length, PHY and RSSI on the connection; connect timeout cancels', async (t) => {
  const s = await session(t)
  const updated = await s.c.updateParameters({ intervalMin: 40, intervalMax: 40, latency: 0, timeout: 500 })
  t.same(updated, { interval: 40, latency: 0, timeout: 500 }, 'central: LE Connection Update')
  t.same(s.p.parameters, updated, 'the peripheral sees the same')
  const byPeripheral = await s.p.updateParameters({ intervalMin: 24, intervalMax: 24, latency: 2, timeout: 300 })
  t.same(byPeripheral, { interval: 24, latency: 2, timeout: 300 }, 'peripheral: L2CAP request, the central updated')
  t.same(s.c.parameters, byPeripheral)
  await s.c.setDataLength(251)
  t.equal(typeof (await s.c.readRssi()), 'number', 'RSSI')
  const phy = await s.c.setPhy({ tx: 2, rx: 2 })
  t.same(phy, { tx: 2, rx: 2 }, 'LE 2M both ways')
  t.same(await s.p.readPhy(), { tx: 2, rx: 2 })
  t.ok(s.c.dataLength === undefined || s.c.dataLength.maxTxOctets <= 251)

  // Nobody advertises at this address: the attempt times out and is cancelled.
  await t.rejects(s.central.connections.connect('C0:FF:EE:C0:FF:EE', { timeout: 300 }), { code: 'TIMEOUT' })
  const ac = new AbortController()
  const attempt = s.central.connections.connect('C0:FF:EE:C0:FF:EE', { signal: ac.signal, timeout: 5000 })
  ac.abort(new Error('stop'))
  await t.rejects(attempt, { message: 'stop' }, 'an abort cancels the attempt')
  // The controller is free again: a real connection still works.
  await s.c.disconnect()
  const again = await within(s.connect({ direct: true }), 20_000, 'connect after cancelled attempts')
  t.equal(again.c.role, 'central')
})

t.test(
  'tshark reads every L2CAP and ATT PDU of a session, none malformed',
  { skip: missing('tshark') }, // skipped without it, a failure under CI (test/helpers/tools.ts)
  async (t) => {
    const s = await session(t, { attMtu: 23 })
    const db = s.client.database!
    await s.client.read(db.characteristic('fff1')!)
    await s.client.write(db.characteristic('fff1')!, pattern(100, 1))
    const sub = await s.client.subscribe(db.characteristic('fff4')!)
    for (let i = 0; i < 5; i++) await s.server.notify('n', Uint8Array.of(i, 0))
    let n = 0
    for await (const _ of sub) if (++n === 5) break
    await s.c.updateParameters({ intervalMin: 40, intervalMax: 40, latency: 0, timeout: 500 })
    await s.p.updateParameters({ intervalMin: 24, intervalMax: 24, latency: 0, timeout: 300 })
    await s.c.disconnect()
    const dir = mkdtempSync(join(tmpdir(), 'hcikit-e2e-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const file = join(dir, 'central.btsnoop')
    await writeBtsnoop(file, s.records)
    const sum = await tsharkSummary(file)
    const ours = attPdusIn(s.records)
    t.same(sum.malformed, [], 'no malformed frame')
    t.equal(sum.att, ours.tx + ours.rx, `tshark decoded all ${ours.tx + ours.rx} ATT PDUs`)
    t.ok(
      sum.signaling.includes(0x12) && sum.signaling.includes(0x13),
      'the Connection Parameter Update Request and Response',
    )
    t.ok(
      sum.attOpcodes.includes(0x1b) && sum.attOpcodes.includes(0x16) && sum.attOpcodes.includes(0x0c),
      'notifications, prepared writes, read blobs',
    )
  },
)
