import t from 'tap'
import { createLinkPair, L2capError } from '../../../att/l2cap/link.ts'
import { HcikitError } from '../../../hci/errors.ts'
import { settle } from '../../helpers/hci-script.ts'

t.test('frames cross in order, on a later microtask, as copies', async (t) => {
  const [c, p] = createLinkPair()
  t.equal(c.role, 'central')
  t.equal(p.role, 'peripheral')
  t.equal(c.handle, 0x0040)
  const got: number[][] = []
  p.onFrame((f) => got.push([...f]))
  const buf = new Uint8Array([1, 0, 4, 0, 0xaa])
  const s1 = c.send(buf)
  buf[4] = 0xbb // the sender reuses its buffer
  const s2 = c.send(buf)
  t.same(got, [], 'nothing delivered synchronously with send()')
  await Promise.all([s1, s2])
  await settle()
  t.same(got, [
    [1, 0, 4, 0, 0xaa],
    [1, 0, 4, 0, 0xbb],
  ])
})

t.test('close closes both ends; later sends reject with LINK_CLOSED; frames in flight are lost', async (t) => {
  const [c, p] = createLinkPair({ handle: 0x0001 })
  const reasons: (Error | undefined)[] = []
  c.onClose((r) => reasons.push(r))
  p.onClose((r) => reasons.push(r))
  const got: Uint8Array[] = []
  p.onFrame((f) => got.push(f))
  const inFlight = c.send(new Uint8Array([0, 0, 4, 0]))
  const why = new Error('supervision timeout')
  p.close(why)
  t.ok(c.closed && p.closed)
  t.same(reasons, [why, why])
  await inFlight
  await settle()
  t.equal(got.length, 0, 'frame in flight dropped')
  const err = await c.send(new Uint8Array([0, 0, 4, 0])).catch((e: unknown) => e)
  t.ok(err instanceof L2capError && err instanceof HcikitError)
  t.equal((err as L2capError).code, 'LINK_CLOSED')
  t.equal((err as L2capError).protocol, 'l2cap')
  let late: Error | undefined | 'none' = 'none'
  c.onClose((r) => (late = r))
  await settle()
  t.equal(late, why, 'onClose after the fact still reports')
  p.close() // idempotent
  t.equal(reasons.length, 2)
})

t.test('security: each end has its own copy of the initial values', async (t) => {
  const [c, p] = createLinkPair({ security: { encrypted: true, keySize: 16 } })
  t.same(c.security, { encrypted: true, authenticated: false, keySize: 16 })
  p.security.authenticated = true
  t.equal(c.security.authenticated, false)
})

t.test('onTransmit sees every frame with its sender', async (t) => {
  const seen: string[] = []
  const [c, p] = createLinkPair({ onTransmit: (from, f) => seen.push(`${from}:${f.length}`) })
  await c.send(new Uint8Array(5))
  await p.send(new Uint8Array(6))
  t.same(seen, ['central:5', 'peripheral:6'])
})
