import t from 'tap'
import { VirtualScheduler } from '../../src/virtual/scheduler.ts'
import { VirtualLink, type AdvPdu } from '../../src/virtual/link.ts'
import { VirtualController } from '../../src/virtual/controller.ts'

function setup(n: number, seed = 1) {
  const scheduler = new VirtualScheduler({ seed })
  const link = new VirtualLink({ scheduler, seed })
  const cs = Array.from({ length: n }, () => new VirtualController(link))
  const heard = cs.map(() => [] as Array<{ from: number; at: number; rssi: number; pdu: AdvPdu }>)
  cs.forEach((c, i) =>
    c.onAir('adv', (from, pdu, rssi) => heard[i]!.push({ from: from.id, at: scheduler.now(), rssi, pdu })),
  )
  return { scheduler, link, cs, heard }
}

const adv = (data = new Uint8Array([1, 2, 3])): AdvPdu => ({
  kind: 'adv',
  pduType: 'ADV_NONCONN_IND',
  props: { connectable: false, scannable: false, directed: false, legacy: true },
  advA: '11:22:33:44:55:66',
  advAType: 0,
  data,
  handle: 0,
})

t.test('broadcast reaches every other controller in range, never the sender, never re-entrantly', async (t) => {
  const { scheduler, link, cs, heard } = setup(3)
  link.broadcast(cs[0]!, adv())
  t.same(
    heard.map((h) => h.length),
    [0, 0, 0],
    'delivered later, through the scheduler',
  )
  scheduler.advance(0)
  t.same(
    heard.map((h) => h.length),
    [0, 1, 1],
  )
  t.equal(heard[1]![0]!.from, cs[0]!.id)
  t.equal(heard[1]![0]!.rssi, -50, 'default RSSI')
  t.equal(link.controllers.size, 3)
})

t.test('RSSI per pair, symmetric, clamped to the HCI range', async (t) => {
  const { scheduler, link, cs, heard } = setup(3)
  link.setRssi(cs[1]!, cs[0]!, -71)
  t.equal(link.rssi(cs[0]!, cs[1]!), -71)
  t.equal(link.rssi(cs[0]!, cs[2]!), -50)
  link.broadcast(cs[0]!, adv())
  scheduler.advance(0)
  t.equal(heard[1]![0]!.rssi, -71)
  t.equal(heard[2]![0]!.rssi, -50)
  link.setRssi(cs[0]!, cs[2]!, -300)
  t.equal(link.rssi(cs[0]!, cs[2]!), -127)
})

t.test('out of range: nothing delivered, unicast says so; back in range works again', async (t) => {
  const { scheduler, link, cs, heard } = setup(3)
  link.setInRange(cs[0]!, cs[1]!, false)
  t.equal(link.inRange(cs[1]!, cs[0]!), false)
  link.broadcast(cs[0]!, adv())
  t.equal(link.unicast(cs[0]!, cs[1]!, adv()), false)
  t.equal(link.unicast(cs[0]!, cs[2]!, adv()), true)
  scheduler.advance(0)
  t.same(
    heard.map((h) => h.length),
    [0, 0, 2],
  )
  link.setInRange(cs[0]!, cs[1]!, true)
  link.broadcast(cs[0]!, adv())
  scheduler.advance(0)
  t.equal(heard[1]!.length, 1)
})

t.test('delay: every delivery takes that long', async (t) => {
  const { scheduler, link, cs, heard } = setup(2)
  link.setDelay(7)
  link.broadcast(cs[0]!, adv())
  scheduler.advance(6)
  t.equal(heard[1]!.length, 0)
  scheduler.advance(1)
  t.equal(heard[1]![0]!.at, 7)
})

t.test('loss: 0 and 1 are exact, 0.5 loses about half, the same ones for the same seed', async (t) => {
  const run = (loss: number, seed: number): number[] => {
    const { scheduler, link, cs, heard } = setup(2, seed)
    link.setLoss(loss)
    for (let i = 0; i < 400; i++) link.broadcast(cs[0]!, adv(new Uint8Array([i & 0xff, i >> 8])))
    scheduler.advance(0)
    return heard[1]!.map((h) => h.pdu.data[0]! | (h.pdu.data[1]! << 8))
  }
  t.equal(run(0, 1).length, 400)
  t.equal(run(1, 1).length, 0)
  const a = run(0.5, 9)
  t.ok(a.length > 150 && a.length < 250, `${a.length} of 400 delivered`)
  t.same(run(0.5, 9), a, 'deterministic for a seed')
  t.not(run(0.5, 10).join(), a.join(), 'another seed loses other PDUs')
})

t.test('a removed controller hears nothing, even what was already in flight', async (t) => {
  const { scheduler, link, cs, heard } = setup(2)
  link.broadcast(cs[0]!, adv())
  link.remove(cs[1]!)
  scheduler.advance(0)
  t.equal(heard[1]!.length, 0)
  t.equal(link.inRange(cs[0]!, cs[1]!), false)
})

t.test('default addresses differ per controller and follow the seed', async (t) => {
  const a = setup(3, 5).cs.map((c) => c.address)
  const b = setup(3, 5).cs.map((c) => c.address)
  t.same(a, b)
  t.equal(new Set(a).size, 3)
  for (const x of a) t.match(x, /^[0-9A-F]{2}(:[0-9A-F]{2}){5}$/)
})
