/**
 * Our rotating private address (gap/own-address.ts) against a scripted controller: LE Set Random
 * Address (Core v5.4 Vol 4 Part E 7.8.4, opcode 0x2005) with a resolvable private address made
 * from our IRK at start and every `rotateMs`; Command Disallowed (0x0C: advertising, scanning or
 * initiating enabled) keeps the old address and tries again after `retryMs`; `around` wraps each
 * timed change.
 */
import t from 'tap'
import { Script, bringUp, ev, settle } from '../helpers/hci-script.ts'
import { OwnAddress } from '../../gap/own-address.ts'
import { addressString, resolvesWith } from '../../gap/privacy.ts'

const IRK = new Uint8Array(16).fill(0x3c)

t.test('start, rotate on the timer, retry when the controller is busy', async (t) => {
  const s = new Script()
  const init = s.host.init()
  await bringUp(s)
  await init
  const wrapped: number[] = []
  const own = new OwnAddress(s.host, s.clock, IRK, {
    rotateMs: 60_000,
    retryMs: 1000,
    around: async (apply) => {
      wrapped.push(s.clock.now())
      await apply()
    },
  })
  const changes: string[] = []
  own.onChange((a) => changes.push(a.address))
  const started = own.start()
  const p1 = await s.expectCommand(0x2005)
  s.injectEvent(ev.commandComplete(0x2005, '00'))
  const first = await started
  t.equal(first.address, addressString(p1), 'the address sent is the one in use')
  t.ok(resolvesWith(first.address, IRK), 'resolvable with our IRK')
  t.equal(first.type, 'random')

  s.clock.advance(59_999)
  await s.expectNothing()
  s.clock.advance(1)
  const p2 = await s.expectCommand(0x2005)
  s.injectEvent(ev.commandComplete(0x2005, '0c')) // Command Disallowed
  await settle()
  t.equal(own.current!.address, first.address, 'refused: the old address stays')
  s.clock.advance(999)
  await s.expectNothing()
  s.clock.advance(1)
  const p3 = await s.expectCommand(0x2005)
  s.injectEvent(ev.commandComplete(0x2005, '00'))
  await settle()
  await settle()
  t.equal(own.current!.address, addressString(p3), 'the retry took')
  t.not(addressString(p3), addressString(p2), 'a fresh address for the retry')
  t.ok(resolvesWith(own.current!.address, IRK))
  t.same(changes, [first.address, own.current!.address])
  t.same(wrapped, [60_000, 61_000], 'each timed change ran inside around()')
  own.stop()
  s.clock.advance(600_000)
  await s.expectNothing()
})
