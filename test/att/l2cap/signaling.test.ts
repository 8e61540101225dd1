/**
 * LE signalling (Core v5.4 Vol 3 Part A 4): expected frames are written by hand from the command
 * layouts (Code | Identifier | Length | Data, in a B-frame on CID 0x0005).
 */
import t from 'tap'
import { rawPeer, settle } from './peer.ts'
import { L2capError } from '../../../att/l2cap/link.ts'
import { LeSignaling, validConnectionParameters, type ConnectionParameters } from '../../../att/l2cap/signaling.ts'
import { FakeClock } from '../../helpers/hci-script.ts'

const P = { intervalMin: 6, intervalMax: 12, latency: 0, timeout: 100 }
// Connection Parameter Update Request, identifier 0x01: min 6, max 12, latency 0, timeout 100.
const CPU_REQ_01 = '0c00 0500 12 01 0800 0600 0c00 0000 6400'

t.test('central: accepts valid parameters by default, answers, then tells the upper layer', async (t) => {
  const accepted: ConnectionParameters[] = []
  const peer = rawPeer('central', { mux: { signaling: { onConnectionParametersAccepted: (p) => accepted.push(p) } } })
  await peer.inject(CPU_REQ_01)
  t.same(await peer.take(), ['060005001301020000 00'.replace(' ', '')], 'Response, result 0x0000 accepted')
  t.same(accepted, [P])
})

t.test('central: the policy hook decides (sync and async); a throwing policy rejects', async (t) => {
  const seen: ConnectionParameters[] = []
  const accepted: ConnectionParameters[] = []
  const peer = rawPeer('central')
  peer.mux.signaling.onConnectionParametersAccepted((p) => accepted.push(p))
  peer.mux.signaling.onConnectionParameterUpdate((p) => {
    seen.push(p)
    return false
  })
  await peer.inject(CPU_REQ_01)
  t.same(await peer.take(), ['0600050013010200' + '0100'], 'result 0x0001 rejected')
  t.same(seen, [P])
  peer.mux.signaling.onConnectionParameterUpdate(async (p) => p.latency === 4)
  // identifier 0x02: min 24, max 40, latency 4, timeout 600 (6 s > 5 * 50 ms * 2)
  await peer.inject('0c00 0500 12 02 0800 1800 2800 0400 5802')
  t.same(await peer.take(), ['060005001302020000 00'.replace(' ', '')])
  t.same(accepted, [{ intervalMin: 24, intervalMax: 40, latency: 4, timeout: 600 }])
  peer.mux.signaling.onConnectionParameterUpdate(() => {
    throw new Error('policy bug')
  })
  await peer.inject(CPU_REQ_01.replace('12 01', '12 03'))
  t.same(await peer.take(), ['0600050013030200' + '0100'])
  t.equal(accepted.length, 1)
})

t.test('central: values outside the spec limits are rejected without asking the policy', async (t) => {
  let asked = 0
  const peer = rawPeer('central', {
    mux: {
      signaling: {
        onConnectionParameterUpdate: () => {
          asked++
          return true
        },
      },
    },
  })
  const bad = [
    '0500 0c00 0000 6400', // interval min 5 < 6
    '0600 810c 0000 6400', // interval max 3201
    '0c00 0600 0000 6400', // min > max
    '0600 0c00 f401 6400', // latency 500
    '0600 0c00 0000 0900', // timeout 9 < 10
    '0600 0c00 0000 810c', // timeout 3201
    '0600 800c 0300 800c', // 32 s is not > (1+3) * 4 s * 2
    '0600 5000 0900 6400', // 1 s is not > 10 * 100 ms * 2
  ]
  let id = 1
  for (const data of bad) {
    await peer.inject(`0c00 0500 12 ${id.toString(16).padStart(2, '0')} 0800 ${data}`)
    t.same(await peer.take(), [`06000500130${id.toString(16)}0200` + '0100'], data)
    id++
  }
  t.equal(asked, 0)
  t.ok(validConnectionParameters({ intervalMin: 6, intervalMax: 3200, latency: 0, timeout: 3200 }), '32 s > 8 s')
  t.ok(
    validConnectionParameters({ intervalMin: 3200, intervalMax: 3200, latency: 2, timeout: 3200 }),
    '32 s > 3 * 4 s * 2',
  )
  t.ok(
    validConnectionParameters({ intervalMin: 3200, intervalMax: 3200, latency: 3, timeout: 3200 }) === false,
    '32 s is not > 4 * 4 s * 2',
  )
  t.ok(
    validConnectionParameters({ intervalMin: 6, intervalMax: 6, latency: 499, timeout: 3200 }),
    '32 s > 500 * 7.5 ms * 2 = 7.5 s',
  )
})

t.test('peripheral: a Connection Parameter Update Request is rejected as not understood', async (t) => {
  const peer = rawPeer('peripheral')
  await peer.inject(CPU_REQ_01)
  t.same(await peer.take(), ['060005000101020000 00'.replace(' ', '')])
})

t.test('peripheral: asks, the central accepts or rejects', async (t) => {
  const peer = rawPeer('peripheral')
  const a = peer.mux.signaling.requestConnectionParameterUpdate(P)
  t.same(await peer.take(), [CPU_REQ_01.replace(/\s/g, '')], 'request with identifier 0x01')
  await peer.inject('0600 0500 13 01 0200 0000')
  t.equal(await a, true)
  const b = peer.mux.signaling.requestConnectionParameterUpdate(P)
  t.same(await peer.take(), [CPU_REQ_01.replace('12 01', '12 02').replace(/\s/g, '')], 'next identifier 0x02')
  await peer.inject('0600 0500 13 02 0200 0100')
  t.equal(await b, false)
  t.equal(peer.clock.pendingTimers, 0, 'RTX cleared')
})

t.test(
  'peripheral: RTX expires after 30 s by default (virtual clock), and the configured time otherwise',
  async (t) => {
    const peer = rawPeer('peripheral')
    let outcome: unknown = 'pending'
    peer.mux.signaling.requestConnectionParameterUpdate(P).then(
      (v) => (outcome = v),
      (e: unknown) => (outcome = e),
    )
    await settle()
    peer.clock.advance(29_999)
    await settle()
    t.equal(outcome, 'pending')
    peer.clock.advance(1)
    await settle()
    t.ok(outcome instanceof L2capError)
    t.equal((outcome as L2capError).code, 'TIMEOUT')
    t.equal(peer.mux.signaling.stats.timeouts, 1)
    // A late response is dropped.
    await peer.inject('0600 0500 13 01 0200 0000')
    t.equal(peer.mux.signaling.stats.unexpectedResponses, 1)
    t.same(await peer.take(), [CPU_REQ_01.replace(/\s/g, '')], 'nothing sent after the request')

    const quick = rawPeer('peripheral', { mux: { signaling: { rtxMs: 1000 } } })
    const q = quick.mux.signaling.requestConnectionParameterUpdate(P).catch((e: unknown) => e)
    await settle()
    quick.clock.advance(1000)
    t.equal(((await q) as L2capError).code, 'TIMEOUT')
    const ch = quick.mux.signaling.channel
    t.throws(() => new LeSignaling(ch, { clock: new FakeClock(), rtxMs: 999 }), RangeError)
    t.throws(() => new LeSignaling(ch, { clock: new FakeClock(), rtxMs: 60_001 }), RangeError)
  },
)

t.test('peripheral: Command Reject in answer fails the request with the reason', async (t) => {
  const peer = rawPeer('peripheral')
  const a = peer.mux.signaling.requestConnectionParameterUpdate(P).catch((e: unknown) => e)
  await settle()
  await peer.inject('0600 0500 01 01 0200 0000')
  const e = (await a) as L2capError
  t.equal(e.code, 'COMMAND_REJECTED')
  t.equal(e.status, 0)
  t.equal(e.statusName, 'Command not understood')
  t.same(await peer.take(), [CPU_REQ_01.replace(/\s/g, '')], 'the reject is not answered')
})

t.test('wrong role or invalid values are refused locally', async (t) => {
  const c = rawPeer('central')
  const e1 = (await c.mux.signaling.requestConnectionParameterUpdate(P).catch((e: unknown) => e)) as L2capError
  t.equal(e1.code, 'WRONG_ROLE')
  const p = rawPeer('peripheral')
  const e2 = (await p.mux.signaling
    .requestConnectionParameterUpdate({ ...P, latency: 500 })
    .catch((e: unknown) => e)) as L2capError
  t.equal(e2.code, 'INVALID_PARAMETERS')
  t.same(await c.take(), [])
  t.same(await p.take(), [])
})

t.test('Command Reject "not understood" for unknown, non-LE and malformed commands', async (t) => {
  const peer = rawPeer('central')
  await peer.inject('0400 0500 1b 07 0000') // code 0x1b: not defined
  await peer.inject('0500 0500 08 08 0100 aa') // Echo Request: BR/EDR only
  await peer.inject('0a00 0500 12 09 0600 0600 0c00 0000') // parameter update with 6 octets of data
  await peer.inject('0a00 0500 12 0a 0800 0600 0c00 0000') // Length says 8, 6 follow
  await peer.inject('0700 0500 16 0b 0300 4000 01') // credit indication one octet short
  await peer.inject('0800 0500 17 0c 0400 8000 1700') // Credit Based Connection Request (ECFC, not supported), truncated
  const reject = (id: string): string => `0600050001${id}02000000`
  t.same(await peer.take(), [reject('07'), reject('08'), reject('09'), reject('0a'), reject('0b'), reject('0c')])
  t.equal(peer.mux.signaling.stats.unknownCode, 2)
  t.equal(peer.mux.signaling.stats.malformed, 4)
  t.equal(peer.mux.signaling.stats.rejectsSent, 6)
})

t.test('never a reject of a reject; Identifier 0 and short frames dropped; stray responses dropped', async (t) => {
  const peer = rawPeer('central')
  await peer.inject('0600 0500 01 05 0200 0000') // a Command Reject
  await peer.inject('0500 0500 01 06 0100 00') // a malformed Command Reject
  await peer.inject('0600 0500 01 06 0400 0000') // a Command Reject whose Length lies
  await peer.inject('0c00 0500 12 00 0800 0600 0c00 0000 6400') // identifier 0
  await peer.inject('0300 0500 12 01 08') // shorter than a command header
  await peer.inject('0600 0500 13 09 0200 0000') // response nobody asked for
  t.same(await peer.take(), [])
  t.equal(peer.mux.signaling.stats.rejectsReceived, 1)
  t.equal(peer.mux.signaling.stats.unexpectedResponses, 1)
  t.equal(peer.mux.signaling.stats.malformed, 4)
})

t.test('Disconnection Request for a CID we do not have: Command Reject "Invalid CID in request"', async (t) => {
  const peer = rawPeer('central')
  // DCID 0x0040 (ours, unknown), SCID 0x0041 (theirs)
  await peer.inject('0800 0500 06 05 0400 4000 4100')
  // reason 0x0002, local CID 0x0040, remote CID 0x0041
  t.same(await peer.take(), ['0a000500010506000200' + '40004100'])
})

t.test('identifiers run 1..255 and wrap to 1, never 0, skipping ones still outstanding', async (t) => {
  const peer = rawPeer('peripheral')
  const ids: number[] = []
  const first = peer.mux.signaling.requestConnectionParameterUpdate(P) // identifier 1, left outstanding
  t.same(await peer.take(), [CPU_REQ_01.replace(/\s/g, '')])
  for (let i = 0; i < 300; i++) {
    const req = peer.mux.signaling.requestConnectionParameterUpdate(P)
    const [frame] = await peer.take()
    const id = parseInt(frame!.slice(10, 12), 16)
    ids.push(id)
    await peer.inject(`0600 0500 13 ${frame!.slice(10, 12)} 0200 0000`)
    t.equal(await req, true)
  }
  t.same(ids.slice(0, 3), [2, 3, 4])
  t.equal(ids[253], 255)
  t.equal(ids[254], 2, 'after 255 comes 1, which is outstanding, so 2')
  t.notOk(ids.includes(0))
  t.notOk(ids.includes(1))
  await peer.inject('0600 0500 13 01 0200 0100')
  t.equal(await first, false)
})

t.test('AbortSignal cancels a request', async (t) => {
  const peer = rawPeer('peripheral')
  const ac = new AbortController()
  const a = peer.mux.signaling.requestConnectionParameterUpdate(P, { signal: ac.signal }).catch((e: unknown) => e)
  await settle()
  ac.abort(new Error('user'))
  t.equal(((await a) as Error).message, 'user')
  t.equal(peer.clock.pendingTimers, 0)
})
