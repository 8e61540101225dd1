import t from 'tap'
import { VirtualScheduler, RealtimeScheduler, clockFrom, seededRandom } from '../../src/virtual/scheduler.ts'

t.test('tasks run in deadline order, ties in scheduling order, only inside advance()', async (t) => {
  const s = new VirtualScheduler()
  const log: string[] = []
  s.schedule(20, () => log.push(`b@${s.now()}`))
  s.schedule(10, () => log.push(`a@${s.now()}`))
  s.schedule(20, () => log.push(`c@${s.now()}`))
  s.schedule(0, () => log.push(`z@${s.now()}`))
  t.same(log, [], 'nothing runs before advance')
  s.advance(15)
  t.same(log, ['z@0', 'a@10'])
  t.equal(s.now(), 15, 'time ends at now + ms')
  s.advance(5)
  t.same(log, ['z@0', 'a@10', 'b@20', 'c@20'])
})

t.test('a task may schedule more work; due ones run in the same advance', async (t) => {
  const s = new VirtualScheduler()
  const times: number[] = []
  const tick = (): void => {
    times.push(s.now())
    if (times.length < 5) s.schedule(3, tick)
  }
  s.schedule(3, tick)
  s.advance(10)
  t.same(times, [3, 6, 9])
  s.advance(100)
  t.same(times, [3, 6, 9, 12, 15])
})

t.test('cancel', async (t) => {
  const s = new VirtualScheduler()
  let ran = 0
  const cancel = s.schedule(5, () => ran++)
  s.schedule(6, () => (ran += 10))
  cancel()
  s.advance(10)
  t.equal(ran, 10)
  t.equal(s.pending, 0)
})

t.test('a cancelled task leaves the queue at once, wherever it is', async (t) => {
  const s = new VirtualScheduler()
  const cancels = Array.from({ length: 1000 }, (_, i) => s.schedule(1000 + (i % 37), () => t.fail('cancelled')))
  s.schedule(5000, () => {})
  t.equal(s.pending, 1001)
  for (const c of cancels.filter((_, i) => i % 2 === 0)) c()
  t.equal(s.pending, 501, 'half of them gone before any deadline')
  for (const c of cancels) c()
  for (const c of cancels) c()
  t.equal(s.pending, 1, 'cancelling twice is harmless')
  s.advance(6000)
  t.equal(s.pending, 0)
})

t.test('order is kept through random schedules and cancels (a reference list as the oracle)', async (t) => {
  const s = new VirtualScheduler()
  const r = seededRandom(9)
  const live = new Map<number, { at: number; seq: number }>()
  const cancels = new Map<number, () => void>()
  const ran: number[] = []
  for (let id = 0; id < 3000; id++) {
    const at = Math.floor(r() * 200)
    live.set(id, { at, seq: id })
    cancels.set(
      id,
      s.schedule(at, () => ran.push(id)),
    )
    if (r() < 0.4) {
      const victim = Math.floor(r() * (id + 1))
      cancels.get(victim)!()
      live.delete(victim)
    }
  }
  t.equal(s.pending, live.size)
  s.advance(1000)
  const expected = [...live.entries()].sort((x, y) => x[1].at - y[1].at || x[1].seq - y[1].seq).map(([id]) => id)
  t.same(ran, expected)
})

t.test('runUntilIdle stops at the limit', async (t) => {
  const s = new VirtualScheduler()
  let n = 0
  const every = (): void => {
    n++
    s.schedule(100, every)
  }
  s.schedule(100, every)
  s.runUntilIdle(1000)
  t.equal(n, 10)
  t.equal(s.now(), 1000)
})

t.test('advance from inside a task is refused', async (t) => {
  const s = new VirtualScheduler()
  let err: unknown
  s.schedule(1, () => {
    try {
      s.advance(1)
    } catch (e) {
      err = e
    }
  })
  s.advance(2)
  t.match(String(err), /inside a task/)
})

t.test('seeded random: same seed same sequence, different seed different, all in [0, 1)', async (t) => {
  const a = seededRandom(42)
  const b = seededRandom(42)
  const c = seededRandom(43)
  const xa = Array.from({ length: 1000 }, a)
  const xb = Array.from({ length: 1000 }, b)
  const xc = Array.from({ length: 1000 }, c)
  t.same(xa, xb)
  t.not(xa.join(), xc.join())
  t.ok(xa.every((x) => x >= 0 && x < 1))
  const mean = xa.reduce((s, x) => s + x, 0) / xa.length
  t.ok(mean > 0.45 && mean < 0.55, `mean ${mean}`)
  t.equal(new VirtualScheduler({ seed: 7 }).random(), new VirtualScheduler({ seed: 7 }).random())
})

t.test('auto mode: time jumps to the next task when the loop is idle', async (t) => {
  const s = new VirtualScheduler({ auto: true })
  const at = await new Promise<number>((resolve) => s.schedule(10_000, () => resolve(s.now())))
  t.equal(at, 10_000)
  const order: number[] = []
  await new Promise<void>((resolve) => {
    s.schedule(5, () => order.push(1))
    s.schedule(5, () => order.push(2))
    s.schedule(1, () => order.push(0))
    s.schedule(6, () => resolve())
  })
  t.same(order, [0, 1, 2])
  t.equal(s.now(), 10_006)
})

t.test('clockFrom: an hci/host Clock on the scheduler', async (t) => {
  const s = new VirtualScheduler()
  const clock = clockFrom(s)
  let fired = 0
  clock.setTimeout(() => fired++, 50)
  const h = clock.setTimeout(() => (fired += 100), 60)
  clock.clearTimeout(h)
  s.advance(100)
  t.equal(fired, 1)
  t.equal(clock.now(), 100)
})

t.test('RealtimeScheduler runs on the global timers', async (t) => {
  const s = new RealtimeScheduler({ seed: 1 })
  const t0 = s.now()
  await new Promise<void>((resolve) => s.schedule(5, resolve))
  t.ok(s.now() - t0 >= 4)
  let ran = false
  const cancel = s.schedule(1, () => (ran = true))
  cancel()
  await new Promise((r) => setTimeout(r, 5))
  t.equal(ran, false)
  t.equal(s.random(), seededRandom(1)())
})

t.test('auto mode: close() stops periodic work', async (t) => {
  const s = new VirtualScheduler({ auto: true })
  let n = 0
  const every = (): void => {
    n++
    s.schedule(100, every)
  }
  s.schedule(100, every)
  await new Promise<void>((resolve) => s.schedule(1000, resolve))
  s.close()
  const seen = n
  await new Promise((r) => setImmediate(r))
  await new Promise((r) => setImmediate(r))
  t.equal(n, seen)
  t.equal(seen, 9, 'ties at 1000 ms: the earlier-scheduled resolve runs first')
  t.equal(s.pending, 0)
})
