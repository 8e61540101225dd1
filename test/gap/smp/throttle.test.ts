/**
 * Repeated attempts (Core v5.4 Vol 3 Part H 2.3.6): the interval after a failed attempt, its
 * doubling, its cap, and the count forgiven over quiet time; only authentication failures count.
 */
import t from 'tap'
import { RepeatedAttempts, countsAsAttempt } from '../../../gap/smp/throttle.ts'

t.test('intervals double to the cap and decay over quiet time', async (t) => {
  let now = 0
  const ra = new RepeatedAttempts({ now: () => now }, { firstMs: 1000, maxMs: 4000 })
  const g = ra.gate('a')
  t.equal(g.waitMs(), 0)
  g.ended(false, 0x04)
  t.equal(g.waitMs(), 1000)
  now = 400
  t.equal(g.waitMs(), 600, 'counts down')
  g.ended(false, 0x0b)
  t.equal(g.waitMs(), 2000, 'doubled from the last failure')
  g.ended(false, 0x01)
  g.ended(false, 0x0c)
  t.equal(g.waitMs(), 4000, 'capped')
  t.equal(ra.gate('b').waitMs(), 0, 'per peer')
  now += 4000
  t.equal(g.waitMs(), 0, 'the wait is over')
  // 4 failures, one forgiven per quiet 4 s: after 8 s more, 2 remain, so the next failure waits 4 s (3 failures).
  now += 4000
  g.ended(false, 0x04)
  t.equal(g.waitMs(), 4000)
  now += 100_000
  g.ended(false, 0x04)
  t.equal(g.waitMs(), 1000, 'long quiet forgives everything')
  g.ended(true)
  t.equal(g.waitMs(), 0, 'success clears')
})

t.test('only authentication failures count', async (t) => {
  t.same(
    Array.from({ length: 16 }, (_, r) => r).filter((r) => countsAsAttempt(r)),
    [0x01, 0x04, 0x0b, 0x0c],
  )
  t.notOk(countsAsAttempt(undefined), 'a timeout or lost link')
  const ra = new RepeatedAttempts({ now: () => 0 })
  ra.gate('p').ended(false, 0x05)
  t.equal(ra.waitMs('p'), 0)
})
