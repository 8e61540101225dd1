/**
 * Connection parameter updates on the virtual controller (src/virtual/connection-update.ts):
 * LE Connection Update from either role, the Connection Parameters Request procedure with the
 * Remote Connection Parameter Request event and its (negative) replies, the fallback when a
 * host masked that event, and parameter / state validation (Core v5.4 Vol 4 Part E 7.8.18,
 * 7.8.31, 7.8.32, 7.7.65.3, 7.7.65.6; Vol 6 Part B 5.1.1, 5.1.7).
 */
import t, { type Test } from 'tap'
import * as C from '../../hci/commands.ts'
import type { HciError } from '../../hci/errors.ts'
import { world } from '../helpers/virtual.ts'
import { connect, node, until, type Node } from '../helpers/virtual-conn.ts'
import { connectionsOf } from '../../src/virtual/connections.ts'

const rejects = async (t: Test, p: Promise<unknown>, status: number, what: string): Promise<void> => {
  try {
    await p
    t.fail(`${what}: expected status 0x${status.toString(16)}`)
  } catch (e) {
    t.equal((e as HciError).status, status, what)
  }
}

const update = {
  connectionIntervalMin: 8,
  connectionIntervalMax: 10,
  maxLatency: 1,
  supervisionTimeout: 150,
  minCeLength: 0,
  maxCeLength: 0,
}

/** Answer every Remote Connection Parameter Request with Reply (its own range) or Negative Reply. */
function answer(n: Node, how: 'reply' | number): void {
  n.host.onEvent((e) => {
    if (e.key !== 'LeRemoteConnectionParameterRequest') return
    const p = e.params
    const sent =
      how === 'reply'
        ? n.host.send(C.LeRemoteConnectionParameterRequestReply, {
            connectionHandle: p.connectionHandle,
            intervalMin: p.intervalMin,
            intervalMax: p.intervalMax,
            maxLatency: p.maxLatency,
            timeout: p.timeout,
            minCeLength: 0,
            maxCeLength: 0,
          })
        : n.host.send(C.LeRemoteConnectionParameterRequestNegativeReply, {
            connectionHandle: p.connectionHandle,
            reason: how,
          })
    sent.catch(() => {})
  })
}

const noRemoteRequest = (): Uint8Array => {
  const m = new Uint8Array(8)
  m.set([0xdf, 0xff, 0x0f]) // bits 0-19 except 5 (LE Remote Connection Parameter Request)
  return m
}

t.test('central update, both support the request procedure: the peripheral host is asked, both complete', async (t) => {
  const w = world()
  const a = await node(w, 'a')
  const b = await node(w, 'b')
  const { ch, ph } = await connect(w, a, b)
  answer(b, 'reply')
  await a.host.send(C.LeConnectionUpdate, { connectionHandle: ch, ...update })
  t.ok(
    await until(
      w,
      () => a.ev('LeConnectionUpdateComplete').length === 1 && b.ev('LeConnectionUpdateComplete').length === 1,
    ),
  )
  t.same(b.ev('LeRemoteConnectionParameterRequest')[0]!.params, {
    connectionHandle: ph,
    intervalMin: 8,
    intervalMax: 10,
    maxLatency: 1,
    timeout: 150,
  })
  const want = { status: 0, connectionInterval: 8, peripheralLatency: 1, supervisionTimeout: 150 }
  t.same(a.ev('LeConnectionUpdateComplete')[0]!.params, { ...want, connectionHandle: ch })
  t.same(b.ev('LeConnectionUpdateComplete')[0]!.params, { ...want, connectionHandle: ph })
  const conn = connectionsOf(a.controller).byHandle.get(ch)!
  t.same(conn.params, { interval: 8, latency: 1, timeout: 150 })
  // The new interval paces the connection events: 10 ms apart now.
  const e0 = conn.ll.stats.events
  await w.run(100)
  t.ok(Math.abs(conn.ll.stats.events - e0 - 10) <= 1, `about 10 events in 100 ms (${conn.ll.stats.events - e0})`)
})

t.test('central update, peripheral host masked the request event: plain Connection Update procedure', async (t) => {
  const w = world()
  const a = await node(w, 'a')
  const b = await node(w, 'b', { init: { leEventMask: noRemoteRequest() } })
  const { ch, ph } = await connect(w, a, b)
  await a.host.send(C.LeConnectionUpdate, { connectionHandle: ch, ...update })
  t.ok(
    await until(
      w,
      () => a.ev('LeConnectionUpdateComplete').length === 1 && b.ev('LeConnectionUpdateComplete').length === 1,
    ),
  )
  t.equal(b.ev('LeRemoteConnectionParameterRequest').length, 0)
  t.equal(a.ev('LeConnectionUpdateComplete')[0]!.params.connectionInterval, 8)
  t.equal(b.ev('LeConnectionUpdateComplete')[0]!.params.connectionHandle, ph)
})

t.test('central update refused by the peripheral host: the central gets the reason, nothing changes', async (t) => {
  const w = world()
  const a = await node(w, 'a')
  const b = await node(w, 'b')
  const { ch } = await connect(w, a, b)
  answer(b, 0x3b)
  await a.host.send(C.LeConnectionUpdate, { connectionHandle: ch, ...update })
  t.ok(await until(w, () => a.ev('LeConnectionUpdateComplete').length === 1))
  t.match(a.ev('LeConnectionUpdateComplete')[0]!.params, {
    status: 0x3b,
    connectionInterval: 24,
    supervisionTimeout: 100,
  })
  await w.run(300)
  t.equal(b.ev('LeConnectionUpdateComplete').length, 0, 'the peripheral host sees no update')
})

t.test(
  'peripheral update: the central host is asked; reply -> both complete, negative reply -> peripheral gets the reason',
  async (t) => {
    const w = world()
    const a = await node(w, 'a')
    const b = await node(w, 'b')
    const { ch, ph } = await connect(w, a, b)
    answer(a, 'reply')
    await b.host.send(C.LeConnectionUpdate, { connectionHandle: ph, ...update })
    t.ok(
      await until(
        w,
        () => a.ev('LeConnectionUpdateComplete').length === 1 && b.ev('LeConnectionUpdateComplete').length === 1,
      ),
    )
    t.same(a.ev('LeRemoteConnectionParameterRequest')[0]!.params, {
      connectionHandle: ch,
      intervalMin: 8,
      intervalMax: 10,
      maxLatency: 1,
      timeout: 150,
    })
    t.match(b.ev('LeConnectionUpdateComplete')[0]!.params, { status: 0, connectionHandle: ph, connectionInterval: 8 })
    t.match(a.ev('LeConnectionUpdateComplete')[0]!.params, { status: 0, connectionHandle: ch, connectionInterval: 8 })

    const w2 = world()
    const a2 = await node(w2, 'a')
    const b2 = await node(w2, 'b')
    const h2 = await connect(w2, a2, b2)
    answer(a2, 0x3b)
    await b2.host.send(C.LeConnectionUpdate, { connectionHandle: h2.ph, ...update })
    t.ok(await until(w2, () => b2.ev('LeConnectionUpdateComplete').length === 1))
    t.match(b2.ev('LeConnectionUpdateComplete')[0]!.params, { status: 0x3b, connectionInterval: 24 })
    t.equal(a2.ev('LeConnectionUpdateComplete').length, 0)
  },
)

t.test('peripheral update, central host masked the request event: Unsupported Remote Feature (0x1A)', async (t) => {
  const w = world()
  const a = await node(w, 'a', { init: { leEventMask: noRemoteRequest() } })
  const b = await node(w, 'b')
  const { ph } = await connect(w, a, b)
  await b.host.send(C.LeConnectionUpdate, { connectionHandle: ph, ...update })
  t.ok(await until(w, () => b.ev('LeConnectionUpdateComplete').length === 1))
  t.match(b.ev('LeConnectionUpdateComplete')[0]!.params, { status: 0x1a, connectionInterval: 24 })
})

t.test('validation: 0x02 unknown handle, 0x12 parameters, 0x0C update pending or no request to answer', async (t) => {
  const w = world()
  const a = await node(w, 'a')
  const b = await node(w, 'b')
  const { ch, ph } = await connect(w, a, b)
  await rejects(t, a.host.send(C.LeConnectionUpdate, { connectionHandle: 0x0321, ...update }), 0x02, 'unknown handle')
  await rejects(
    t,
    a.host.send(C.LeConnectionUpdate, { connectionHandle: ch, ...update, connectionIntervalMin: 12 }),
    0x12,
    'min > max',
  )
  await rejects(
    t,
    a.host.send(C.LeConnectionUpdate, { connectionHandle: ch, ...update, supervisionTimeout: 4 }),
    0x12,
    'timeout',
  )
  await rejects(
    t,
    a.host.send(C.LeConnectionUpdate, { connectionHandle: ch, ...update, maxLatency: 500 }),
    0x12,
    'latency',
  )
  const reply = {
    connectionHandle: ch,
    intervalMin: 8,
    intervalMax: 8,
    maxLatency: 0,
    timeout: 100,
    minCeLength: 0,
    maxCeLength: 0,
  }
  await rejects(t, a.host.send(C.LeRemoteConnectionParameterRequestReply, reply), 0x0c, 'reply without a request')
  await rejects(
    t,
    a.host.send(C.LeRemoteConnectionParameterRequestNegativeReply, { connectionHandle: ch, reason: 0x3b }),
    0x0c,
    'negative reply without a request',
  )
  await rejects(
    t,
    a.host.send(C.LeRemoteConnectionParameterRequestReply, { ...reply, connectionHandle: 0x0321 }),
    0x02,
    'reply: unknown handle',
  )
  // b asks a; a's host has not answered yet.
  await b.host.send(C.LeConnectionUpdate, { connectionHandle: ph, ...update })
  t.ok(await until(w, () => a.ev('LeRemoteConnectionParameterRequest').length === 1))
  await rejects(
    t,
    b.host.send(C.LeConnectionUpdate, { connectionHandle: ph, ...update }),
    0x0c,
    'second update while one is pending',
  )
  await rejects(
    t,
    a.host.send(C.LeRemoteConnectionParameterRequestReply, { ...reply, intervalMin: 9, intervalMax: 8 }),
    0x12,
    'reply: min > max',
  )
  await rejects(
    t,
    a.host.send(C.LeRemoteConnectionParameterRequestNegativeReply, { connectionHandle: ch, reason: 0 }),
    0x12,
    'reason 0x00',
  )
  const r = await a.host.send(C.LeRemoteConnectionParameterRequestReply, reply)
  t.same(r, { status: 0, connectionHandle: ch })
  t.ok(await until(w, () => b.ev('LeConnectionUpdateComplete').length === 1))
  t.match(b.ev('LeConnectionUpdateComplete')[0]!.params, { status: 0, connectionInterval: 8, supervisionTimeout: 100 })
})

t.test('an instant missed by the peripheral ends the link with 0x28 Instant Passed', async (t) => {
  const w = world()
  const a = await node(w, 'a')
  const b = await node(w, 'b', { init: { leEventMask: noRemoteRequest() } })
  const { ch } = await connect(w, a, b)
  await w.run(100)
  w.link.setDelay(250) // the LL_CONNECTION_UPDATE_IND arrives long after its instant (6 events of 30 ms)
  await a.host.send(C.LeConnectionUpdate, { connectionHandle: ch, ...update })
  t.ok(await until(w, () => b.ev('DisconnectionComplete').length === 1, 3000))
  t.equal(b.ev('DisconnectionComplete')[0]!.params.reason, 0x28)
})
