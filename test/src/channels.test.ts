/**
 * LE credit-based channels in the public API (src/channels.ts; Core v5.4 Vol 3 Part A 4.22-4.24,
 * 10.1) between two adapters on the virtual link: client.openChannel() to adapter.listen() with
 * SDU boundaries kept, back-pressure from a reader that stops (credits stop, memory bounded, then
 * every SDU in order), listen() on links made before and after, both roles, refusals with the
 * spec's result codes, a handler that throws, and the link going away under an open channel.
 */
import t, { type Test } from 'tap'
import { once } from 'node:events'
import { open, createVirtualLink, type Adapter, type Connection, type CreditChannel } from '../../src/index.ts'

const PSM = 0x0080

async function pair(t: Test, seed: number): Promise<{ central: Adapter; peer: Adapter }> {
  const link = createVirtualLink({ seed })
  const peer = await open({ transport: 'virtual', link, name: 'peer' })
  peer.serve({})
  await peer.advertise({ name: 'peer' })
  const central = await open({ transport: 'virtual', link, name: 'central' })
  t.teardown(async () => {
    await central.close()
    await peer.close()
  })
  return { central, peer }
}

const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill)

async function take(ch: CreditChannel, n: number): Promise<Uint8Array[]> {
  const got: Uint8Array[] = []
  if (n === 0) return got
  for await (const sdu of ch.sdus()) if (got.push(sdu as Uint8Array) === n) break
  return got
}

t.test('openChannel to listen: an echo, SDU by SDU', async (t) => {
  const { central, peer } = await pair(t, 41)
  const from: string[] = []
  const listener = peer.listen(PSM, async (ch, conn: Connection) => {
    from.push(conn.peer.address)
    for await (const sdu of ch) ch.write(sdu)
  })
  await using client = await central.connect(peer.address, { discover: false })
  const ch = await client.openChannel(PSM, { mtu: 600, credits: 4 })
  t.equal(ch.psm, PSM)
  t.equal(ch.mtu, 600, 'our MTU as asked')
  t.equal(ch.peerMtu, 2048, "the listener's default MTU")
  const sizes = [1, 23, 246, 247, 500, 600]
  for (const [i, n] of sizes.entries()) ch.write(bytes(n, i))
  const echoed = await take(ch, sizes.length)
  t.same(
    echoed.map((b) => b.length),
    sizes,
    'one SDU back for each SDU sent, boundaries kept (K-frames of 247 reassembled)',
  )
  t.ok(
    echoed.every((b, i) => b.every((x) => x === i)),
    'contents intact',
  )
  t.same(from, [central.address], 'the handler learned who connected')
  await ch.disconnect()
  t.equal(listener.refused, 0)
})

t.test('back-pressure: a reader that stops stops the credits; nothing is lost', async (t) => {
  const { central, peer } = await pair(t, 42)
  let sender!: CreditChannel
  const ready = new Promise<void>((resolve) =>
    peer.listen(PSM, (ch) => {
      sender = ch
      resolve()
    }),
  )
  await using client = await central.connect(peer.address, { discover: false })
  const rx = await client.openChannel(PSM, { credits: 8, mps: 100 })
  await ready
  const N = 200
  const sent = (async () => {
    for (let i = 0; i < N; i++) if (!sender.write(bytes(150, i & 0xff))) await once(sender, 'drain')
  })()
  // Nobody reads rx: once its buffer is full it keeps the credits, so the sender runs out and waits
  // (the virtual link delivers while this loop yields; no timer involved).
  while (sender.credits > 0 || sender.stats.creditWaits === 0) await new Promise((r) => setImmediate(r))
  t.equal(sender.credits, 0, 'the sender has no credits left')
  t.ok(rx.readableLength <= 16 + 8, `the receiver holds ${rx.readableLength} SDUs: its buffer plus one window`)
  t.ok(sender.stats.sdusSent < N, `${sender.stats.sdusSent} of ${N} sent so far`)
  const got = await take(rx, N)
  await sent
  t.equal(got.length, N, 'every SDU arrived')
  t.ok(
    got.every((b, i) => b.length === 150 && b[0] === (i & 0xff)),
    'in order, each 150 octets (two K-frames of MPS 100)',
  )
})

t.test('listen(): links made before and after, both roles; refusals; close()', async (t) => {
  const { central, peer } = await pair(t, 43)
  await using client = await central.connect(peer.address, { discover: false })
  // the central listens after its link exists; the peripheral opens toward it
  const got: string[] = []
  const l = central.listen(0x0081, async (ch) => {
    for await (const sdu of ch) got.push(new TextDecoder().decode(sdu as Uint8Array))
  })
  const toCentral = await peer.centrals[0]!.openChannel(0x0081)
  toCentral.write(new TextEncoder().encode('from the peripheral'))
  await t.rejects(peer.centrals[0]!.openChannel(0x0082), {
    name: 'L2capError',
    code: 'CONNECTION_REFUSED',
    status: 0x0002,
    statusName: /SPSM not supported/i,
  })
  t.throws(() => central.listen(0x0081, () => {}), { name: 'StateError', code: 'PSM_IN_USE' })
  t.throws(() => central.listen(0x0100, () => {}), { name: 'ParameterError', code: 'INVALID_PARAMETERS' })
  await t.rejects(client.openChannel(0, {}), { code: 'INVALID_PARAMETERS' })
  await t.rejects(client.openChannel(PSM, { credits: 0 }), { code: 'INVALID_PARAMETERS', message: /credits: 0/ })
  while (got.length === 0) await new Promise((r) => setImmediate(r))
  t.same(got, ['from the peripheral'])
  l.close()
  await t.rejects(peer.centrals[0]!.openChannel(0x0081), { code: 'CONNECTION_REFUSED', status: 0x0002 }, 'closed')
  await toCentral.disconnect()

  // a listener on the peripheral for links that come later, with a security requirement
  const secure = peer.listen(0x0083, () => {}, { security: { encrypted: true } })
  await client.disconnect()
  await using second = await central.connect(peer.address, { discover: false })
  await t.rejects(second.openChannel(0x0083), { code: 'CONNECTION_REFUSED', status: 0x0008 }, 'Insufficient Encryption')
  t.equal(secure.refused, 1)
})

t.test('a handler that throws closes its channel, the rest goes on; a lost link ends the channel', async (t) => {
  const { central, peer } = await pair(t, 44)
  peer.listen(PSM, () => {
    throw new Error('handler bug')
  })
  await using client = await central.connect(peer.address, { discover: false })
  const ch = await client.openChannel(PSM)
  const ended = await take(ch, 1)
  t.same(ended, [], 'the channel ended (the listener disconnected it)')
  await client.read(1).catch(() => undefined)
  t.ok(client.connected, 'the link is fine')

  peer.listen(0x0090, () => {})
  const ch2 = await client.openChannel(0x0090)
  const reading = take(ch2, 1)
  await peer.centrals[0]!.disconnect()
  t.same(await reading, [], 'the readable side ended')
  t.match(ch2.closeReason, { code: 'LINK_CLOSED' })
  await t.rejects(ch2.sendSdu(bytes(4, 1)), { name: 'L2capError', code: 'LINK_CLOSED' })
})
