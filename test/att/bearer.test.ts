/**
 * att/bearer.ts against a scripted peer: the test plays the other end of a FixedChannel pair
 * with hand-written ATT PDUs (Core v5.4 Vol 3 Part F 3.4), on a virtual clock.
 */
import t from 'tap'
import { AttBearer, AttError } from '../../att/bearer.ts'
import { FakeClock, settle } from '../helpers/hci-script.ts'
import { channelPair } from './channel-pair.ts'
import { fromHex, toHex } from '../../hci/wire.ts'

function setup(opts: { mtu?: number; queueLimit?: number; commandLimit?: number } = {}) {
  const clock = new FakeClock()
  const [c, p] = channelPair()
  const bearer = new AttBearer(c, { clock, ...opts })
  const seen: string[] = []
  p.onData((d) => seen.push(toHex(d)))
  /** The peer sends hex. */
  const peer = (hex: string) => p.send(fromHex(hex))
  return { clock, c, p, bearer, seen, peer }
}

/** Settle a promise into a value or the error, without an unhandled rejection. */
function outcome<T>(p: Promise<T>): { done: boolean; value?: T; error?: unknown } {
  const o: { done: boolean; value?: T; error?: unknown } = { done: false }
  p.then(
    (v) => Object.assign(o, { done: true, value: v }),
    (e) => Object.assign(o, { done: true, error: e }),
  )
  return o
}

t.test('MTU exchange: we ask for 517, the effective MTU is the smaller of the two', async (t) => {
  const { bearer, seen, peer } = setup()
  t.equal(bearer.mtu, 23, 'LE default before the exchange')
  const mtuChanges: number[] = []
  bearer.onMtu((m) => mtuChanges.push(m))
  const r = outcome(bearer.exchangeMtu())
  await settle()
  t.same(seen, ['020502'], 'Exchange MTU Request, Client Rx MTU 517 (0x0205)')
  await peer('03f700') // Server Rx MTU 247
  await settle()
  t.equal(r.value, 247)
  t.equal(bearer.mtu, 247)
  t.same(mtuChanges, [247])
  t.equal(await bearer.exchangeMtu(), 247, 'only one exchange per connection')
  t.equal(seen.length, 1)
})

t.test('a peer MTU below 23 is treated as 23', async (t) => {
  const { bearer, peer } = setup()
  const r = outcome(bearer.exchangeMtu())
  await settle()
  await peer('031000') // 16
  await settle()
  t.equal(r.value, 23)
  t.equal(bearer.mtu, 23)
})

t.test('server side of the exchange: answered by the bearer with our receive MTU', async (t) => {
  const { bearer, seen, peer } = setup({ mtu: 185 })
  await peer('020502')
  await settle()
  t.same(seen, ['03b900'], 'Exchange MTU Response, Server Rx MTU 185')
  t.equal(bearer.mtu, 185)
})

t.test('two bearers agree on the MTU', async (t) => {
  const clock = new FakeClock()
  const [a, b] = channelPair()
  const client = new AttBearer(a, { clock })
  const server = new AttBearer(b, { clock, mtu: 300 })
  t.equal(await client.exchangeMtu(), 300)
  t.equal(server.mtu, 300)
})

t.test('one outstanding request; the others wait in order', async (t) => {
  const { bearer, seen, peer } = setup()
  const r1 = outcome(bearer.request(fromHex('0a0300')))
  const r2 = outcome(bearer.request(fromHex('0a0500')))
  const r3 = outcome(bearer.request(fromHex('0a0700')))
  await settle()
  t.same(seen, ['0a0300'], 'only the first request is on the air')
  t.equal(bearer.queued, 2)
  await peer('0b6869')
  await settle()
  t.same(seen, ['0a0300', '0a0500'])
  t.ok(r1.done)
  t.same(toHex((r1.value as { value: Uint8Array }).value), '6869')
  await peer('0b01')
  await settle()
  await peer('0b02')
  await settle()
  t.same(seen, ['0a0300', '0a0500', '0a0700'])
  t.same(toHex((r2.value as { value: Uint8Array }).value), '01')
  t.same(toHex((r3.value as { value: Uint8Array }).value), '02')
})

t.test('the request queue is bounded', async (t) => {
  const { bearer } = setup({ queueLimit: 2 })
  const rs = [0, 1, 2, 3].map((i) => outcome(bearer.request(fromHex(`0a0${i}00`))))
  await settle()
  t.ok(rs[3]!.done)
  t.ok(rs[3]!.error instanceof AttError)
  t.equal((rs[3]!.error as AttError).code, 'ATT_QUEUE_FULL')
  t.notOk(rs[0]!.done || rs[1]!.done || rs[2]!.done, 'one outstanding and two queued are kept')
})

t.test('Error Response -> AttError with opcode, handle, code and the spec name', async (t) => {
  const { bearer, peer } = setup()
  const r = outcome(bearer.request(fromHex('0a0300')))
  await settle()
  await peer('010a03000a') // Error Response: Read Request, handle 0x0003, Attribute Not Found
  await settle()
  const e = r.error as AttError
  t.ok(e instanceof AttError)
  t.equal(e.code, 'ATT_ERROR_RESPONSE')
  t.equal(e.protocol, 'att')
  t.equal(e.opcode, 0x0a)
  t.equal(e.handle, 0x0003)
  t.equal(e.status, 0x0a)
  t.equal(e.errorCode, 0x0a)
  t.equal(e.statusName, 'Attribute Not Found (0x0a)')
  t.match(e.message, /Read Request on handle 0x0003: Attribute Not Found/)
})

t.test('a response of the wrong type fails that request only; the bearer stays usable', async (t) => {
  const { bearer, peer, seen } = setup()
  const r1 = outcome(bearer.request(fromHex('0a0300')))
  const r2 = outcome(bearer.request(fromHex('0a0400')))
  await settle()
  await peer('13') // Write Response to a Read Request
  await settle()
  t.equal((r1.error as AttError).code, 'ATT_UNEXPECTED_RESPONSE')
  t.match((r1.error as AttError).message, /Write Response in answer to Read Request/)
  t.same(seen, ['0a0300', '0a0400'], 'the next request went out')
  await peer('0b00')
  await settle()
  t.same(toHex((r2.value as { value: Uint8Array }).value), '00')
  t.notOk(bearer.closed)
})

t.test('an Error Response for another opcode is an unexpected response', async (t) => {
  const { bearer, peer } = setup()
  const r = outcome(bearer.request(fromHex('0a0300')))
  await settle()
  await peer('0112030003') // Error Response for Write Request
  await settle()
  t.equal((r.error as AttError).code, 'ATT_UNEXPECTED_RESPONSE')
})

t.test('a response that does not decode fails the request; the bearer stays usable', async (t) => {
  const { bearer, peer } = setup()
  const r = outcome(bearer.request(fromHex('020502')))
  await settle()
  await peer('03f7') // Exchange MTU Response cut short
  await settle()
  t.equal((r.error as AttError).code, 'ATT_MALFORMED_RESPONSE')
  t.equal(bearer.stats.malformed, 1)
  const r2 = outcome(bearer.request(fromHex('0a0100')))
  await settle()
  await peer('0b')
  await settle()
  t.ok(r2.done && !r2.error)
})

t.test('a response with nothing outstanding is dropped and counted', async (t) => {
  const { bearer, peer } = setup()
  await peer('0b01')
  await settle()
  t.equal(bearer.stats.unexpected, 1)
})

t.test('30 s transaction timeout closes the bearer; everything pending rejects', async (t) => {
  const { bearer, clock, c } = setup()
  const r1 = outcome(bearer.request(fromHex('0a0300')))
  const r2 = outcome(bearer.request(fromHex('0a0400')))
  const closed: string[] = []
  bearer.onClose((e) => closed.push(e.code))
  await settle()
  clock.advance(29_999)
  await settle()
  t.notOk(r1.done, 'not yet at 29.999 s')
  clock.advance(1)
  await settle()
  t.equal((r1.error as AttError).code, 'ATT_TIMEOUT')
  t.equal((r1.error as AttError).opcode, 0x0a)
  t.equal((r2.error as AttError).code, 'ATT_CLOSED')
  t.ok(bearer.closed)
  t.same(closed, ['ATT_TIMEOUT'])
  const r3 = outcome(bearer.request(fromHex('0a0500')))
  const r4 = outcome(bearer.command(fromHex('52030001')))
  const r5 = outcome(bearer.notify(3, fromHex('01')))
  await settle()
  for (const r of [r3, r4, r5]) t.equal((r.error as AttError).code, 'ATT_CLOSED')
  t.same(c.sent, ['0a0300'], 'nothing more was sent after the timeout')
  t.equal(clock.pendingTimers, 0)
})

t.test('no timeout once answered (timer cleared)', async (t) => {
  const { bearer, clock, peer } = setup()
  const r = outcome(bearer.request(fromHex('0a0300')))
  await settle()
  await peer('0b')
  await settle()
  clock.advance(60_000)
  t.ok(r.done && !r.error)
  t.notOk(bearer.closed)
  t.equal(clock.pendingTimers, 0)
})

t.test('AbortSignal: a queued request is withdrawn, an outstanding one keeps its slot', async (t) => {
  const { bearer, seen, peer } = setup()
  const ac1 = new AbortController()
  const ac2 = new AbortController()
  const r1 = outcome(bearer.request(fromHex('0a0100'), { signal: ac1.signal }))
  const r2 = outcome(bearer.request(fromHex('0a0200'), { signal: ac2.signal }))
  const r3 = outcome(bearer.request(fromHex('0a0300')))
  await settle()
  ac2.abort(new Error('no longer needed'))
  await settle()
  t.match((r2.error as Error).message, 'no longer needed')
  ac1.abort(new Error('gone'))
  await settle()
  t.match((r1.error as Error).message, 'gone', 'the outstanding request rejects at once')
  t.same(seen, ['0a0100'], 'but the next waits for its response')
  await peer('0b')
  await settle()
  t.same(seen, ['0a0100', '0a0300'], 'the aborted queued request was never sent')
  await peer('0b33')
  await settle()
  t.same(toHex((r3.value as { value: Uint8Array }).value), '33')
  const r4 = outcome(bearer.request(fromHex('0a0300'), { signal: AbortSignal.abort() }))
  await settle()
  t.ok(r4.error, 'an already aborted signal rejects at once')
})

t.test('PDUs longer than ATT_MTU and PDUs of the wrong kind are refused', async (t) => {
  const { bearer, seen } = setup()
  const long = new Uint8Array(24)
  long[0] = 0x12
  const r1 = outcome(bearer.request(long))
  const r2 = outcome(bearer.request(fromHex('0b00')))
  const r3 = outcome(bearer.command(fromHex('0a0100')))
  await settle()
  t.equal((r1.error as AttError).code, 'ATT_INVALID_PDU')
  t.equal((r2.error as AttError).code, 'ATT_INVALID_PDU')
  t.equal((r3.error as AttError).code, 'ATT_INVALID_PDU')
  t.same(seen, [])
})

t.test('commands go out at once, also while a request is outstanding; bounded in flight', async (t) => {
  const { bearer, seen } = setup({ commandLimit: 1 })
  const r = outcome(bearer.request(fromHex('0a0100')))
  await bearer.command(fromHex('52030001'))
  await settle()
  t.same(seen, ['0a0100', '52030001'])
  t.notOk(r.done)
  const c1 = outcome(bearer.command(fromHex('52030002')))
  const c2 = outcome(bearer.command(fromHex('52030003')))
  await settle()
  t.ok(c1.done && !c1.error)
  t.equal((c2.error as AttError).code, 'ATT_QUEUE_FULL', 'a second command while one is in the link is refused')
})

t.test('notifications and indications in order; indications confirmed after the callback', async (t) => {
  const { bearer, seen, peer } = setup()
  const got: string[] = []
  bearer.onNotification((h, v, ind) =>
    got.push(`${ind ? 'I' : 'N'} ${h} ${toHex(v)} confirmations-so-far=${seen.length}`),
  )
  await peer('1b0300aa')
  await peer('1d0500bb')
  await peer('1b0300cc')
  await peer('23 0300 0100 dd 0700 0200 eeff'.replace(/ /g, '')) // Multiple Handle Value Notification
  await settle()
  t.same(got, [
    'N 3 aa confirmations-so-far=0',
    'I 5 bb confirmations-so-far=0',
    'N 3 cc confirmations-so-far=1',
    'N 3 dd confirmations-so-far=1',
    'N 7 eeff confirmations-so-far=1',
  ])
  t.same(seen, ['1e'], 'one Handle Value Confirmation')
})

t.test(
  'a throwing notification callback is counted, the others still run and the indication is confirmed',
  async (t) => {
    const { bearer, seen, peer } = setup()
    const got: number[] = []
    bearer.onNotification(() => {
      throw new Error('user bug')
    })
    bearer.onNotification((h) => got.push(h))
    await peer('1d0500bb')
    await settle()
    t.same(got, [5])
    t.same(seen, ['1e'])
    t.equal(bearer.stats.callbackErrors, 1)
  },
)

t.test('server role: requests to the handler one at a time; no handler -> Request Not Supported', async (t) => {
  const { bearer, seen, peer } = setup()
  await peer('0a0300')
  await settle()
  t.same(seen, ['010a000006'], 'Error Response, Request Not Supported, handle 0')
  let release: () => void = () => {}
  const order: string[] = []
  bearer.serve(async (pdu) => {
    order.push(`start ${toHex(pdu)}`)
    if (pdu[0] === 0x0a && pdu[1] === 0x01) await new Promise<void>((r) => (release = r))
    order.push(`end ${toHex(pdu)}`)
    return pdu[0] === 0x52 ? undefined : fromHex('0b42')
  })
  await peer('0a0100')
  await peer('52020001')
  await settle()
  t.same(order, ['start 0a0100'], 'the command waits behind the request in progress')
  release()
  await settle()
  await settle()
  t.same(order, ['start 0a0100', 'end 0a0100', 'start 52020001', 'end 52020001'])
  t.same(seen.slice(1), ['0b42'], 'a response to the request, none to the command')
})

t.test('server role: malformed and unknown requests', async (t) => {
  const { seen, peer, bearer } = setup()
  bearer.serve(() => fromHex('0b'))
  await peer('0a03') // Read Request cut short
  await peer('3f01') // unknown opcode, no command flag
  await peer('7f01') // unknown command: ignored
  await settle()
  await settle()
  t.equal(seen[0], '010a000004', 'Invalid PDU')
  t.equal(seen[1], '0b', 'an unknown request goes to the handler (which answers what it likes)')
  t.equal(seen.length, 2, 'nothing for the unknown command')
})

t.test('server role: indications one at a time, each awaiting its confirmation', async (t) => {
  const { bearer, seen, peer, clock } = setup()
  const i1 = outcome(bearer.indicate(0x0003, fromHex('01')))
  const i2 = outcome(bearer.indicate(0x0003, fromHex('02')))
  await settle()
  t.same(seen, ['1d030001'])
  await peer('1e')
  await settle()
  t.ok(i1.done && !i1.error)
  t.same(seen, ['1d030001', '1d030002'])
  clock.advance(30_000)
  await settle()
  t.equal((i2.error as AttError).code, 'ATT_TIMEOUT', 'no confirmation in 30 s')
  t.ok(bearer.closed)
})

t.test('server role: a notification value is cut to ATT_MTU-3', async (t) => {
  const { bearer, seen } = setup()
  await bearer.notify(0x0010, new Uint8Array(30).fill(0xab))
  await settle()
  t.equal(seen[0], '1b1000' + 'ab'.repeat(20))
})

t.test('the link going away rejects everything with ATT_CLOSED', async (t) => {
  const { bearer, c } = setup()
  const r1 = outcome(bearer.request(fromHex('0a0100')))
  const r2 = outcome(bearer.request(fromHex('0a0200')))
  const i = outcome(bearer.indicate(1, fromHex('00')))
  await settle()
  c.close(new Error('disconnected'))
  await settle()
  for (const r of [r1, r2, i]) {
    t.equal((r.error as AttError).code, 'ATT_CLOSED')
    t.match((r.error as AttError).message, /disconnected/)
  }
})

t.test('Handle Value Notifications (read in place) are delivered as the PDU decoder reads them', async (t) => {
  const { decodeAttPdu } = await import('../../att/pdu.ts')
  const fc = (await import('fast-check')).default
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 40 }), async (rest) => {
      const { bearer, peer } = setup()
      const got: Array<{ handle: number; value: string }> = []
      bearer.onNotification((handle, value) => got.push({ handle, value: toHex(value) }))
      const pdu = Uint8Array.of(0x1b, ...rest)
      await peer(toHex(pdu))
      await settle()
      const d = decodeAttPdu(pdu)
      const want =
        d instanceof Error || d.name !== 'Handle Value Notification'
          ? []
          : [{ handle: d.params!.handle as number, value: toHex(d.params!.value as Uint8Array) }]
      return JSON.stringify(got) === JSON.stringify(want)
    }),
    { seed: 14, numRuns: 200 },
  )
  t.pass('agree on 200 random notifications, short and malformed ones included')
})
