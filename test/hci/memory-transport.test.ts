import t from 'tap'
import { createMemoryPair } from '../../hci/memory-transport.ts'
import type { HciPacket } from '../../hci/transport.ts'
import { TransportError } from '../../hci/errors.ts'
import { fromHex, toHex } from '../../hci/wire.ts'

/** Let every queued microtask run (the pair delivers one packet per microtask turn). */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve()
}

t.test('delivers in order, on a later microtask, both directions', async (t) => {
  const [host, ctrl] = createMemoryPair()
  const atCtrl: string[] = []
  const atHost: string[] = []
  ctrl.onPacket((p) => atCtrl.push(`${p.type}:${toHex(p.data)}`))
  host.onPacket((p) => atHost.push(`${p.type}:${toHex(p.data)}`))
  host.send({ type: 1, data: fromHex('030c00') })
  host.send({ type: 2, data: fromHex('40000000') })
  ctrl.send({ type: 4, data: fromHex('0e0401030c00') })
  t.same(atCtrl, [], 'nothing delivered inside send')
  await settle()
  t.same(atCtrl, ['1:030c00', '2:40000000'])
  t.same(atHost, ['4:0e0401030c00'])
})

t.test('a reply sent from a receive callback lands after earlier packets', async (t) => {
  const [host, ctrl] = createMemoryPair()
  const seen: string[] = []
  ctrl.onPacket((p) => {
    seen.push(`ctrl got ${toHex(p.data)}`)
    ctrl.send({ type: 4, data: p.data })
  })
  host.onPacket((p) => seen.push(`host got ${toHex(p.data)}`))
  host.send({ type: 1, data: fromHex('01') })
  host.send({ type: 1, data: fromHex('02') })
  await settle()
  // one packet per microtask turn: the reply to 01 overtakes the delivery of 02, as on a wire
  t.same(seen, ['ctrl got 01', 'host got 01', 'ctrl got 02', 'host got 02'])
})

t.test('the receiver owns a copy of the data', async (t) => {
  const [host, ctrl] = createMemoryPair()
  const got: HciPacket[] = []
  ctrl.onPacket((p) => got.push(p))
  const buf = fromHex('aabb')
  host.send({ type: 2, data: buf })
  buf[0] = 0
  await settle()
  t.equal(toHex(got[0]!.data), 'aabb')
})

t.test('close on one end closes both; packets sent before are delivered first', async (t) => {
  const [host, ctrl] = createMemoryPair()
  const events: string[] = []
  ctrl.onPacket((p) => events.push(`ctrl packet ${toHex(p.data)}`))
  host.onClose((err) => events.push(`host closed ${err ?? ''}`))
  ctrl.onClose((err) => events.push(`ctrl closed ${err ?? ''}`))
  host.send({ type: 1, data: fromHex('01') })
  const closed = host.close()
  t.ok(host.closed)
  t.ok(ctrl.closed)
  t.throws(() => host.send({ type: 1, data: fromHex('02') }), TransportError)
  t.throws(() => ctrl.send({ type: 4, data: fromHex('02') }), TransportError)
  await closed
  await settle()
  t.same([...events].sort(), ['ctrl closed ', 'ctrl packet 01', 'host closed '])
  t.ok(events.indexOf('ctrl packet 01') < events.indexOf('ctrl closed '))
  await host.close()
  await ctrl.close()
  t.equal(events.length, 3, 'close is idempotent; callbacks run once')
})

t.test('fail(err) closes both ends with the error', async (t) => {
  const [host, ctrl] = createMemoryPair()
  const errs: Array<Error | undefined> = []
  host.onClose((e) => errs.push(e))
  ctrl.onClose((e) => errs.push(e))
  const boom = new Error('unplugged')
  ctrl.fail(boom)
  await settle()
  t.same(errs, [boom, boom])
})
