/**
 * Hostile peripherals against our GATT client, over the virtual link (issue 13, "Systematic";
 * Core v5.4 Vol 3 Part F 3.3 and 3.4, Part G 4): discovery that loops or inverts ranges, MTUs of
 * 0, 22 and 65535, wrong and unsolicited responses, silence, and a disconnection in the middle of
 * every procedure. Each gets the spec's answer or a typed error within its timeout; a second,
 * well-behaved device on the same adapter keeps working; everything closes promptly.
 */
import t, { type Test } from 'tap'
import { HcikitError } from '../../hci/errors.ts'
import { createVirtualLink, open, type Adapter, type Client } from '../../src/index.ts'
import { SENSOR_LABEL, startSensorDevice, type VirtualDevice } from '../../src/devices/index.ts'
import { HostilePeer, le16 } from './peer.ts'

const GOOD = '11:22:33:44:55:02'

interface Scene {
  adapter: Adapter
  peer: HostilePeer
  good: VirtualDevice
}

async function scene(t: Test, seed: number, mtu?: number): Promise<Scene> {
  const link = createVirtualLink({ seed })
  const adapter = await open({ link, address: 'C0:00:00:00:00:0A', env: {} })
  const good = await startSensorDevice({ link, address: GOOD })
  const peer = await HostilePeer.start(link, 'C0:00:00:00:00:0B', { mtu })
  await peer.advertise()
  t.teardown(async () => {
    await adapter.close()
    await good.close()
    await peer.close()
  })
  return { adapter, peer, good }
}

/** The well-behaved device still answers: the adapter and its other links are fine. */
async function othersWork(t: Test, adapter: Adapter): Promise<void> {
  await using other = await adapter.connect({ address: GOOD, addressType: 'public' }, { timeout: 10_000 })
  const v = await other.read(other.characteristic(SENSOR_LABEL), { timeout: 5000 })
  t.ok(v.length > 0, 'another link still reads')
}

function connectPeer(s: Scene, discover = true): Promise<Client> {
  return s.adapter.connect({ address: s.peer.address, addressType: 'public' }, { timeout: 10_000, discover })
}

/** Settles with the value or the error, and says which; never lets the promise hang unseen. */
async function outcome<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await p }
  } catch (error) {
    return { ok: false, error }
  }
}

function typed(t: Test, r: { ok: boolean; error?: unknown }, what: string): void {
  if (r.ok) return
  t.type(r.error, HcikitError, `${what}: a typed error (${(r.error as Error).message})`)
  t.ok((r.error as HcikitError).code, `${what}: with a code`)
}

t.test('discovery that loops: the same service for every range', async (t) => {
  const s = await scene(t, 1)
  s.peer.script = (pdu) =>
    pdu[0] === 0x10 ? [Uint8Array.from([0x11, 6, ...le16(0x0001), ...le16(0x0005), ...le16(0x1800)])] : 'default'
  const r = await outcome(connectPeer(s))
  typed(t, r, 'looping discovery')
  t.ok(s.peer.att.filter((p) => p[0] === 0x10).length < 100, `it stopped asking (${s.peer.att.length} requests)`)
  await othersWork(t, s.adapter)
})

t.test('discovery with an inverted range (end before start)', async (t) => {
  const s = await scene(t, 2)
  s.peer.script = (pdu) =>
    pdu[0] === 0x10 && pdu[1] === 1 && pdu[2] === 0
      ? [Uint8Array.from([0x11, 6, ...le16(0x0010), ...le16(0x0005), ...le16(0x1800)])]
      : 'default'
  const r = await outcome(connectPeer(s))
  typed(t, r, 'inverted range')
  await othersWork(t, s.adapter)
})

for (const mtu of [0, 22, 23, 65535]) {
  t.test(`Exchange MTU Response with Server Rx MTU ${mtu}`, async (t) => {
    const s = await scene(t, 3)
    s.peer.script = (pdu) => (pdu[0] === 0x02 ? [Uint8Array.from([0x03, ...le16(mtu)])] : 'default')
    const r = await outcome(connectPeer(s))
    typed(t, r, `MTU ${mtu}`)
    if (r.ok) {
      const c = r.value
      t.ok(c.mtu >= 23 && c.mtu <= 517, `ATT_MTU ${c.mtu}: never under 23 (Part F 3.2.8), never over ours`)
      t.equal(Buffer.from(await c.read(0x0003, { timeout: 5000 })).toString(), 'hostile', 'and it reads')
      await c.disconnect({ timeout: 5000 })
    }
    await othersWork(t, s.adapter)
  })
}

/** Let the link carry what was sent: 100 ms of virtual time (it runs ahead whenever the loop is idle). */
function pause(adapter: Adapter, ms = 100): Promise<void> {
  return new Promise((resolve) => adapter.clock.setTimeout(resolve, ms))
}

t.test('a response of the wrong kind, and responses nobody asked for', async (t) => {
  const s = await scene(t, 4)
  const c = await connectPeer(s)
  // Unsolicited, with nothing outstanding: a Read Response and an Error Response out of the blue.
  await s.peer.sendAtt([0x0b, 1, 2, 3])
  await s.peer.sendAtt([0x01, 0x0a, ...le16(3), 0x0a])
  await pause(s.adapter)
  t.equal(Buffer.from(await c.read(0x0003, { timeout: 5000 })).toString(), 'hostile', 'ignored; the next read works')
  s.peer.script = (pdu) => (pdu[0] === 0x0a ? [Uint8Array.from([0x13])] : 'default')
  const wrong = await outcome(c.read(0x0003, { timeout: 5000 }))
  t.notOk(wrong.ok, 'a Write Response to a Read Request is no answer')
  typed(t, wrong, 'wrong response')
  await othersWork(t, s.adapter)
})

t.test('silence: a request never answered ends with a typed timeout', async (t) => {
  const s = await scene(t, 5)
  const c = await connectPeer(s)
  s.peer.script = () => []
  const r = await outcome(c.read(0x0003, { timeout: 5000 }))
  t.notOk(r.ok)
  t.match(r, { error: { code: 'TIMEOUT' } })
  const again = await outcome(c.read(0x0003, { timeout: 40_000 }))
  typed(t, again, 'after the silence')
  await othersWork(t, s.adapter)
})

/** Each procedure, and the request of it that the peer answers by disconnecting (at ATT_MTU 100). */
const PROCEDURES: [string, number, (c: Client) => Promise<unknown>][] = [
  ['read', 0x0a, (c) => c.read(0x0003, { timeout: 10_000 })],
  ['long read', 0x0c, (c) => c.read(c.database.characteristic('fff2')!, { timeout: 10_000 })],
  ['write', 0x12, (c) => c.write(0x0003, Uint8Array.of(1), { timeout: 10_000 })],
  [
    'long write (prepare)',
    0x16,
    (c) => c.write(c.database.characteristic('fff2')!, new Uint8Array(200), { timeout: 10_000 }),
  ],
  [
    'long write (execute)',
    0x18,
    (c) => c.write(c.database.characteristic('fff2')!, new Uint8Array(200), { timeout: 10_000 }),
  ],
  [
    'subscription',
    0x12,
    async (c) => {
      for await (const _ of c.notifications(c.database.characteristic('fff1')!, { timeout: 10_000 })) break
    },
  ],
]

for (const [name, opcode, run] of PROCEDURES) {
  t.test(`disconnection in the middle of a ${name}`, async (t) => {
    const s = await scene(t, 6, 100)
    const c = await connectPeer(s)
    t.equal(c.mtu, 100)
    s.peer.script = async (pdu, peer) => {
      if (pdu[0] !== opcode) return 'default'
      await peer.disconnect()
      return []
    }
    const r = await outcome(run(c))
    t.notOk(r.ok, `${name} did not succeed`)
    typed(t, r, name)
    t.ok(
      s.peer.att.some((p) => p[0] === opcode),
      `the peer saw the request it cut (0x${opcode.toString(16)})`,
    )
    await othersWork(t, s.adapter)
  })
}

t.test('disconnection in the middle of discovery', async (t) => {
  const s = await scene(t, 7)
  let n = 0
  s.peer.script = async (_pdu, peer) => {
    if (++n < 3) return 'default'
    await peer.disconnect()
    return []
  }
  const r = await outcome(connectPeer(s))
  t.notOk(r.ok)
  typed(t, r, 'discovery')
  await othersWork(t, s.adapter)
})
