/**
 * Virtual time in auto mode (src/virtual/scheduler.ts, docs/VIRTUAL-TIME.md) against real work:
 * with the default policy ('when-idle') virtual time never runs ahead of the wall clock while a
 * ref'd real timer or an I/O request is pending, and the scheduler sleeps on a real timer instead
 * of spinning; 'always' is the old, fastest policy. The checks count wake-ups and compare virtual
 * time with what real time allows, with wide margins (a loaded machine only makes real time longer).
 */
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { VirtualScheduler, type JumpPolicy } from '../../src/virtual/scheduler.ts'
import { realWorkPending } from '../../src/virtual/real-work.ts'
import { GattClient } from '../../att/client.ts'
import type { DatabaseDeclaration } from '../../att/database.ts'
import { rig } from '../e2e/virtual-rig.ts'
import { world } from '../helpers/virtual.ts'
import { advertise, connect, node, until } from '../helpers/virtual-conn.ts'
import * as C from '../../hci/commands.ts'

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

t.test('real work: ref timers and I/O requests count; unref timers and AbortSignal.timeout do not', async (t) => {
  t.equal(realWorkPending(), false, 'nothing pending')
  const h = setTimeout(() => {}, 1000)
  t.equal(realWorkPending(), true, 'a ref timer')
  h.unref()
  t.equal(realWorkPending(), false, 'unref')
  clearTimeout(h)
  const signal = AbortSignal.timeout(1000)
  t.equal(realWorkPending(), false, 'AbortSignal.timeout')
  t.notOk(signal.aborted)
  const read = readFile(new URL(import.meta.url))
  t.equal(realWorkPending(), true, 'a file read in flight')
  await read
})

/** A "15 s timeout" task and a real 30 ms await: when does the timeout run, in virtual and real time? */
async function timeoutBesideRealWork(jump: JumpPolicy): Promise<{ firedEarly: boolean; virtualAtWake: number }> {
  const s = new VirtualScheduler({ auto: true, jump })
  let fired = false
  s.schedule(15_000, () => (fired = true))
  await realSleep(30)
  const result = { firedEarly: fired, virtualAtWake: s.now() }
  s.close()
  return result
}

t.test("'when-idle' (default): a virtual 15 s timeout does not fire during a real 30 ms await", async (t) => {
  const r = await timeoutBesideRealWork('when-idle')
  t.equal(r.firedEarly, false)
  t.ok(r.virtualAtWake < 5_000, `virtual time followed the wall clock: ${r.virtualAtWake} ms`)
  const s = new VirtualScheduler({ auto: true })
  const at = await new Promise<number>((resolve) => s.schedule(15_000, () => resolve(s.now())))
  t.equal(at, 15_000, 'with nothing real pending, time jumps')
})

t.test("'always': the old policy lets it fire at once", async (t) => {
  const r = await timeoutBesideRealWork('always')
  t.equal(r.firedEarly, true)
})

t.test("'never': virtual time follows the wall clock even when idle", async (t) => {
  const s = new VirtualScheduler({ auto: true, jump: 'never' })
  let fired = false
  s.schedule(1_000, () => (fired = true))
  await new Promise((r) => setImmediate(r))
  await new Promise((r) => setImmediate(r))
  t.equal(fired, false)
  t.ok(s.now() < 1_000)
  s.close()
})

t.test('beside periodic work, a real wait sleeps instead of spinning (wake-ups counted)', async (t) => {
  for (const jump of ['when-idle', 'always'] as const) {
    const s = new VirtualScheduler({ auto: true, jump })
    let events = 0
    const every = (): void => {
      events++
      s.schedule(100, every) // an advertiser every 100 ms
    }
    s.schedule(0, every)
    const start = performance.now()
    await realSleep(300)
    const real = performance.now() - start
    const { wakeups } = s.stats
    const virtual = s.now()
    s.close()
    if (jump === 'when-idle') {
      t.ok(wakeups < real / 5, `when-idle: ${wakeups} wake-ups in ${real.toFixed(0)} ms`)
      t.ok(virtual <= real + 100, `when-idle: ${virtual} virtual ms in ${real.toFixed(0)} real ms`)
      t.ok(events >= 1, 'the periodic work went on')
    } else {
      t.ok(wakeups > 100, `always: ${wakeups} wake-ups (spinning)`)
      t.ok(virtual > 10 * real, `always: ${virtual} virtual ms in ${real.toFixed(0)} real ms`)
    }
  }
})

t.test('when the real work ends, time jumps again (without waiting for the next task in real time)', async (t) => {
  const s = new VirtualScheduler({ auto: true })
  const guard = setTimeout(() => {}, 30)
  const start = performance.now()
  const at = await new Promise<number>((resolve) => s.schedule(60_000, () => resolve(s.now())))
  const real = performance.now() - start
  t.equal(at, 60_000)
  t.ok(real < 10_000, `a virtual minute took ${real.toFixed(0)} real ms, not a real minute`)
  clearTimeout(guard)
  s.close()
})

t.test('a task scheduled during a real wait runs without waiting for it', async (t) => {
  const s = new VirtualScheduler({ auto: true })
  s.schedule(60_000, () => {})
  const guard = setTimeout(() => {}, 5_000) // real work pending: the scheduler waits on a real timer
  await new Promise((r) => setImmediate(r))
  await new Promise((r) => setImmediate(r))
  const before = s.stats.realWaits
  t.ok(before >= 1, 'waiting on a real timer')
  const ran = await new Promise<number>((resolve) => s.schedule(0, () => resolve(s.now())))
  t.ok(ran < 5_000, 'ran at once')
  clearTimeout(guard)
  s.close()
})

t.test('issue 13: a server read handler awaiting a real 50 ms timer, beside a 15 s ATT timeout', async (t) => {
  const decl: DatabaseDeclaration = {
    services: [
      {
        uuid: 'fff0',
        characteristics: [
          {
            id: 'slow',
            uuid: 'fff1',
            properties: ['read'],
            onRead: async () => {
              await realSleep(50)
              return Uint8Array.of(1, 2, 3)
            },
          },
        ],
      },
    ],
  }
  const r = await rig({ decl })
  t.teardown(() => r.close())
  const { c } = await r.connect({ direct: true })
  const client = new GattClient(c.att, { policy: 'off', robustCaching: false })
  await client.discover()
  const slow = client.database!.characteristic('fff1')!
  for (let i = 1; i <= 3; i++) {
    const start = r.scheduler.now()
    t.same(await client.read(slow), Uint8Array.of(1, 2, 3), `read ${i}: the value, no ATT timeout`)
    const spent = r.scheduler.now() - start
    t.ok(spent < 15_000, `read ${i} took ${spent.toFixed(0)} virtual ms: about the real time it waited`)
  }
})

t.test('issue 13: cancelled timers leave the queue: it stays flat over 300 connect/disconnect cycles', async (t) => {
  const w = world(2)
  const a = await node(w, 'a')
  const b = await node(w, 'b')
  const beacon = await node(w, 'beacon')
  await advertise(beacon, { advertisingType: 3 }) // live periodic work stays at the head of the queue
  const queued: number[] = []
  for (let i = 0; i < 300; i++) {
    const { ch } = await connect(w, a, b)
    const before = a.ev('DisconnectionComplete').length
    await a.host.send(C.Disconnect, { connectionHandle: ch, reason: 0x13 })
    if (!(await until(w, () => a.ev('DisconnectionComplete').length > before)))
      return t.fail(`cycle ${i}: no disconnection`)
    queued.push(w.scheduler.pending)
  }
  t.equal(a.ev('DisconnectionComplete').length, 300, '300 cycles')
  const early = Math.max(...queued.slice(10, 20))
  const late = Math.max(...queued.slice(-20))
  t.ok(late <= early, `queued tasks: ${early} around cycle 15, ${late} at the end (${w.scheduler.now()} virtual ms)`)
  t.ok(late < 10, 'a handful: command timeouts, LL timers and advertising events that were cancelled are gone')
})
