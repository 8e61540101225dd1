/**
 * H4BatchWriter (hci/h4-writer.ts): what is pushed in one tick leaves in one write, in order, as
 * H4 bytes (a type byte before each packet, Core v5.4 Vol 4 Part A 2; expected bytes written by
 * hand); the caller's buffers are copied; a full stream is reported.
 */
import t from 'tap'
import { H4BatchWriter } from '../../hci/h4-writer.ts'
import { toHex } from '../../hci/wire.ts'

function rig(full = false) {
  const writes: string[] = []
  const ticks: Array<() => void> = []
  let fulls = 0
  const w = new H4BatchWriter({
    write: (b) => {
      writes.push(toHex(b))
      return !full
    },
    schedule: (fn) => ticks.push(fn),
    onFull: () => fulls++,
  })
  const endTick = (): void => {
    for (const fn of ticks.splice(0)) fn()
  }
  return { w, writes, ticks, endTick, fulls: () => fulls }
}

t.test('one write per tick, packets in order, each behind its type byte', async (t) => {
  const { w, writes, ticks, endTick } = rig()
  const reset = Uint8Array.of(0x03, 0x0c, 0x00)
  const acl = Uint8Array.of(0x40, 0x00, 0x02, 0x00, 0xaa, 0xbb)
  w.packet(0x01, reset)
  w.packet(0x02, acl)
  w.bytes(Uint8Array.of(0x01, 0x01, 0x10, 0x00))
  t.equal(ticks.length, 1, 'the flush is scheduled once')
  t.same(writes, [], 'nothing written before the tick ends')
  reset[0] = 0xff // the caller reuses its buffer
  endTick()
  t.same(writes, ['01030c00' + '02400002' + '00aabb' + '01011000'])
  t.same(w.stats, { writes: 1, packets: 2 })
  w.packet(0x04, Uint8Array.of(0x0e, 0x00))
  t.equal(ticks.length, 1, 'the next tick schedules again')
  endTick()
  t.same(writes.at(-1), '040e00')
})

t.test('grows past its first buffer; reports a full stream', async (t) => {
  const { w, writes, endTick, fulls } = rig(true)
  const big = new Uint8Array(3000).fill(7)
  for (let i = 0; i < 5; i++) w.packet(0x02, big)
  t.equal(w.pending, 5 * 3001)
  endTick()
  t.equal(writes.length, 1)
  t.equal(writes[0]!.length, 2 * 5 * 3001)
  t.equal(fulls(), 1, 'onFull when write() says the stream is full')
  t.throws(() => w.packet(0x100, big), RangeError)
  w.packet(0x02, big)
  w.discard()
  endTick()
  t.equal(writes.length, 1, 'discarded bytes are not written')
})
