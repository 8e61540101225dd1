/**
 * A hostile central against our GATT server, over the virtual link (issue 13, "Systematic";
 * Core v5.4 Vol 3 Part F 3.4, Part G 4.9 and 3.3.3.3): a prepare-queue flood, writes past a
 * value's bounds, a read of every handle, junk Client Characteristic Configuration writes. Each
 * request gets its response or an Error Response for its own opcode and handle; the queue stays
 * bounded; another central on the same server, and the adapter's own client link, keep working.
 */
import t, { type Test } from 'tap'
import { createVirtualLink, open, type Adapter } from '../../src/index.ts'
import { SENSOR_LABEL, startSensorDevice } from '../../src/devices/index.ts'
import { HostilePeer, le16 } from './peer.ts'

const GOOD = '11:22:33:44:55:02'
// Our database: 0x0010 service fff0; fff1 value 0x0012 (read, write, notify; CCCD 0x0013), fff2 value 0x0015 (at most 100 octets).
const VALUE = 0x0012
const CCCD = 0x0013
const BOUNDED = 0x0015

async function scene(t: Test, seed: number): Promise<{ adapter: Adapter; hostile: HostilePeer; polite: HostilePeer }> {
  const link = createVirtualLink({ seed })
  const adapter = await open({ link, address: 'C0:00:00:00:00:0A', env: {} })
  adapter.serve({
    services: [
      {
        uuid: 0xfff0,
        handle: 0x0010,
        characteristics: [
          {
            uuid: 0xfff1,
            handle: 0x0011,
            properties: ['read', 'write', 'notify'],
            value: 'hello',
            cccd: { handle: CCCD },
          },
          { uuid: 0xfff2, handle: 0x0014, properties: ['read', 'write'], value: new Uint8Array(10), maxLength: 100 },
        ],
      },
    ],
  })
  await adapter.advertise({ name: 'us' })
  const good = await startSensorDevice({ link, address: GOOD })
  const hostile = await HostilePeer.start(link, 'C0:00:00:00:00:0B')
  const polite = await HostilePeer.start(link, 'C0:00:00:00:00:0C')
  hostile.script = () => []
  polite.script = () => []
  // Each central connects once the adapter has seen the previous connection (its advertising
  // set ends with it: advertising again before that would be ended by the first connection).
  const connected = (): Promise<unknown> =>
    new Promise((resolve) => {
      const off = adapter.on('connection', (c) => {
        off()
        resolve(c)
      })
    })
  let seen = connected()
  await hostile.connectTo(adapter.address)
  await seen
  seen = connected()
  await adapter.advertise({ name: 'us' })
  await polite.connectTo(adapter.address, 40)
  await seen
  t.teardown(async () => {
    await adapter.close()
    await good.close()
    await hostile.close()
    await polite.close()
  })
  return { adapter, hostile, polite }
}

async function othersWork(t: Test, adapter: Adapter, polite: HostilePeer): Promise<void> {
  t.same(polite.disconnections, [], 'the other central is still connected')
  t.equal((await polite.ask([0x0a, ...le16(VALUE)]))[0], 0x0b, 'another central still reads')
  await using c = await adapter.connect({ address: GOOD, addressType: 'public' }, { timeout: 10_000 })
  t.ok((await c.read(c.characteristic(SENSOR_LABEL), { timeout: 5000 })).length > 0, 'our own client link reads')
}

const isError = (r: Uint8Array, op: number, handle: number, code?: number): boolean =>
  r[0] === 0x01 && r[1] === op && (r[2]! | (r[3]! << 8)) === handle && (code === undefined || r[4] === code)

t.test('a prepare-queue flood is refused at the queue bound, and Execute Write clears it', async (t) => {
  const { adapter, hostile, polite } = await scene(t, 21)
  const heap0 = process.memoryUsage().heapUsed
  let accepted = 0
  let full = 0
  for (let i = 0; i < 1000; i++) {
    const r = await hostile.ask([0x16, ...le16(VALUE), ...le16(i * 18), ...new Uint8Array(18).fill(i & 0xff)])
    if (r[0] === 0x17) accepted++
    else if (isError(r, 0x16, VALUE, 0x09)) full++
  }
  t.equal(accepted + full, 1000, 'each Prepare Write got a Prepare Write Response or Prepare Queue Full (0x09)')
  t.ok(accepted > 0 && accepted <= 128, `${accepted} queued (the bound)`)
  t.ok(process.memoryUsage().heapUsed - heap0 < 64 * 1024 * 1024, 'memory bounded')
  t.same([...(await hostile.ask([0x18, 0x00]))], [0x19], 'Execute Write (cancel) clears the queue')
  t.same(
    [...(await hostile.ask([0x16, ...le16(VALUE), 0, 0, 0x41]))],
    [0x17, ...le16(VALUE), 0, 0, 0x41],
    'the queue takes writes again',
  )
  t.same([...(await hostile.ask([0x18, 0x01]))], [0x19], 'and executes')
  await othersWork(t, adapter, polite)
})

t.test('writes past the bounds of a value', async (t) => {
  const { adapter, hostile, polite } = await scene(t, 22)
  t.ok(
    isError(await hostile.ask([0x12, ...le16(BOUNDED), ...new Uint8Array(101)]), 0x12, BOUNDED, 0x0d),
    'Write Request of 101 octets: Invalid Attribute Value Length',
  )
  t.same([...(await hostile.ask([0x12, ...le16(BOUNDED), ...new Uint8Array(100)]))], [0x13], '100 octets: written')
  await hostile.ask([0x16, ...le16(BOUNDED), ...le16(90), ...new Uint8Array(20)])
  const exec = await hostile.ask([0x18, 0x01])
  t.ok(
    isError(exec, 0x18, BOUNDED) && (exec[4] === 0x0d || exec[4] === 0x07),
    'a prepared write past the end: Invalid Offset or Length at execution',
  )
  await hostile.sendAtt([0x52, ...le16(BOUNDED), ...new Uint8Array(200)])
  t.same(
    [...(await hostile.ask([0x0a, ...le16(BOUNDED)])).subarray(0, 1)],
    [0x0b],
    'a Write Command too long is dropped; the server answers the next request',
  )
  await othersWork(t, adapter, polite)
})

t.test('every handle read: a value or an Error Response naming the handle', async (t) => {
  const { adapter, hostile, polite } = await scene(t, 23)
  const handles = [...Array.from({ length: 0x0100 }, (_, i) => i), 0x7fff, 0xfffe, 0xffff]
  let values = 0
  for (const h of handles) {
    const r = await hostile.ask([0x0a, ...le16(h)])
    if (r[0] === 0x0b) values++
    else t.ok(isError(r, 0x0a, h), `0x${h.toString(16)}: Error Response for it`)
  }
  t.ok(values >= 10, `${values} handles read`)
  t.ok(isError(await hostile.ask([0x0a, 0, 0]), 0x0a, 0, 0x01), 'handle 0: Invalid Handle')
  await othersWork(t, adapter, polite)
})

t.test('junk Client Characteristic Configuration writes', async (t) => {
  const { adapter, hostile, polite } = await scene(t, 24)
  for (const v of [[], [1], [1, 0, 0], [0xff, 0xff], [2, 0], [0, 0x80]]) {
    const r = await hostile.ask([0x12, ...le16(CCCD), ...v])
    t.ok(
      r[0] === 0x13 || isError(r, 0x12, CCCD),
      `CCCD <- [${v}]: ${r[0] === 0x13 ? 'written' : `error 0x${r[4]!.toString(16)}`}`,
    )
    if (v.length !== 2) t.ok(isError(r, 0x12, CCCD), `a CCCD of ${v.length} octets is refused`)
  }
  t.same([...(await hostile.ask([0x12, ...le16(CCCD), 1, 0]))], [0x13], 'a proper value is still taken')
  await othersWork(t, adapter, polite)
})
