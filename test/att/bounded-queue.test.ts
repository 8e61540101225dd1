/**
 * att/bounded-queue.ts on its own: the three overflow policies, the item and byte bounds, the
 * drop count and signal, end / return / error semantics. A property test plays random pushes and
 * reads against a model written here from the policy's definition (not from the code): what is
 * read comes out in push order, and read + dropped + still queued = pushed, always.
 */
import t from 'tap'
import fc from 'fast-check'
import { BoundedQueue, resolvePolicy, type OverflowPolicy } from '../../att/bounded-queue.ts'

const overflowError = ({ queued }: { queued: number }) => new Error(`full with ${queued}`)

function queue(o: { maxItems?: number; maxBytes?: number; overflow?: OverflowPolicy } = {}) {
  const drops: [number, number][] = []
  const q = new BoundedQueue<Uint8Array>({
    ...o,
    sizeOf: (v) => v.length,
    overflowError,
    onDropped: (n, total) => drops.push([n, total]),
  })
  return { q, drops }
}

const v = (n: number, len = 1) => new Uint8Array(len).fill(n)

t.test('a waiting consumer takes a value at once: no bound applies', async (t) => {
  const { q } = queue({ maxItems: 1 })
  const a = q.next()
  const b = q.next()
  q.push(v(1))
  q.push(v(2))
  t.same([(await a).value, (await b).value], [v(1), v(2)])
  t.equal(q.dropped, 0)
})

t.test('drop-oldest: the oldest go until the new one fits, counted and signalled', async (t) => {
  const { q, drops } = queue({ maxItems: 2 })
  for (let i = 1; i <= 5; i++) q.push(v(i))
  t.equal(q.size, 2)
  t.equal(q.dropped, 3)
  t.same(drops, [
    [1, 1],
    [1, 2],
    [1, 3],
  ])
  t.same((await q.next()).value, v(4))
})

t.test('the byte bound: several old values go for one big new one', async (t) => {
  const { q, drops } = queue({ maxBytes: 10 })
  q.push(v(1, 4))
  q.push(v(2, 4))
  q.push(v(3, 8))
  t.same(drops, [[2, 2]], 'both dropped in one signal')
  t.equal(q.bytes, 8)
  t.same((await q.next()).value, v(3, 8))
  t.equal(q.bytes, 0)
})

t.test('drop-newest: the queue keeps what it has', async (t) => {
  const { q } = queue({ maxItems: 2, overflow: 'drop-newest' })
  for (let i = 1; i <= 5; i++) q.push(v(i))
  t.same([(await q.next()).value, (await q.next()).value], [v(1), v(2)])
  t.equal(q.dropped, 3)
})

t.test("'error': queued values first, then the error; later pushes counted as dropped", async (t) => {
  const { q } = queue({ maxItems: 2, overflow: 'error' })
  for (let i = 1; i <= 4; i++) q.push(v(i))
  t.ok(q.closed)
  t.equal(q.dropped, 2)
  t.same((await q.next()).value, v(1))
  t.same((await q.next()).value, v(2))
  await t.rejects(q.next(), { message: 'full with 2' })
  await t.rejects(q.next(), { message: 'full with 2' }, 'and again')
})

t.test('end(): queued values, then done; end(err): then the error; return() discards', async (t) => {
  const drained: unknown[] = []
  const q = new BoundedQueue<number>({ sizeOf: () => 1, overflowError, onDrained: (e) => drained.push(e) })
  q.push(1)
  q.end()
  q.push(2)
  t.same(await q.next(), { value: 1, done: false })
  t.same(await q.next(), { value: undefined, done: true })
  t.same(drained, [undefined], 'onDrained once the consumer reached the end')
  const failing = new BoundedQueue<number>({ sizeOf: () => 1, overflowError })
  const waiting = failing.next()
  failing.end(new Error('link lost'))
  await t.rejects(waiting, { message: 'link lost' })
  let returned = 0
  const r = new BoundedQueue<number>({ sizeOf: () => 1, overflowError, onReturn: () => returned++ })
  r.push(1)
  t.same(await r.return(), { value: undefined, done: true })
  t.equal(r.size, 0)
  t.equal(returned, 1)
  t.equal(r.dropped, 0, 'what the consumer left behind is not a drop')
})

t.test('bad bounds are refused; resolvePolicy fills in defaults', async (t) => {
  t.throws(() => new BoundedQueue({ maxItems: 0, sizeOf: () => 1, overflowError }), RangeError)
  t.throws(() => new BoundedQueue({ maxBytes: 0, sizeOf: () => 1, overflowError }), RangeError)
  t.same(resolvePolicy({ maxItems: 3 }, { maxBytes: 100, overflow: 'error' }), {
    maxItems: 3,
    maxBytes: 100,
    overflow: 'error',
    onDropped: undefined,
  })
})

t.test('property: read in push order, read + dropped + queued = pushed, per the policy', async (t) => {
  const op = fc.oneof(
    fc.record({ push: fc.integer({ min: 1, max: 6 }) }),
    fc.record({ read: fc.integer({ min: 1, max: 4 }) }),
  )
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom<OverflowPolicy>('drop-oldest', 'drop-newest', 'error'),
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 6, max: 20 }),
      fc.array(op, { maxLength: 60 }),
      async (overflow, maxItems, maxBytes, ops) => {
        const q = new BoundedQueue<{ id: number; size: number }>({
          maxItems,
          maxBytes,
          overflow,
          sizeOf: (x) => x.size,
          overflowError,
        })
        // The model: a list of waiting ids and the policy's rule, written from its definition.
        let model: { id: number; size: number }[] = []
        let modelDropped = 0
        let failed = false
        let pushed = 0
        const read: number[] = []
        const fits = (list: { size: number }[], size: number) =>
          list.length + 1 <= maxItems && list.reduce((n, x) => n + x.size, 0) + size <= maxBytes
        for (const o of ops) {
          if ('push' in o) {
            const item = { id: pushed++, size: o.push }
            q.push(item)
            if (failed) modelDropped++
            else if (fits(model, item.size)) model.push(item)
            else if (overflow === 'drop-newest') modelDropped++
            else if (overflow === 'error') {
              failed = true
              modelDropped++
            } else {
              while (model.length > 0 && !fits(model, item.size)) {
                model.shift()
                modelDropped++
              }
              model.push(item)
            }
          } else {
            for (let k = 0; k < o.read && model.length > 0; k++) {
              read.push((await q.next()).value!.id)
              model = model.slice(1)
            }
          }
        }
        const inOrder = read.every((x, i) => i === 0 || x > read[i - 1]!)
        return (
          inOrder &&
          q.dropped === modelDropped &&
          q.size === model.length &&
          read.length + q.dropped + q.size === pushed
        )
      },
    ),
    { numRuns: 300, seed: 0x9e3779b9 },
  )
  t.pass('300 runs')
})
