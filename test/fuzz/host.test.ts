/**
 * Fuzz target of the HCI host's state machine (hci/host.ts; Core v5.4 Vol 4 Part E 4.4 command
 * flow control, 4.1.1 ACL flow control, 7.7 events): after bring-up, with a command in flight and
 * a link up, the scripted controller sends any sequence of events (every declaration, valid and
 * mutated; Command Complete/Status for any opcode with any credit count; Number Of Completed
 * Packets for unknown handles or too many packets; Hardware Error; links that come and go) and
 * ACL data. The host must never throw, every command in flight must settle by its timeout (with
 * a typed error if it fails), and afterwards, given a credit, it must still run a command.
 */
import t from 'tap'
import fc from 'fast-check'
import { ReadBdAddr } from '../../hci/commands.ts'
import { HcikitError } from '../../hci/errors.ts'
import { EVENTS } from '../../hci/events.ts'
import { LE_META_EVENT } from '../../hci/spec.ts'
import { fromHex } from '../../hci/wire.ts'
import { Script, bringUp, ev, settle } from '../helpers/hci-script.ts'
import { concat, le16, mutated, validParams } from './arbitraries.ts'
import { fuzzAsync } from './harness.ts'

const HANDLE = 0x0040

type Input = { type: 4 | 2; bytes: Uint8Array }

const declared: fc.Arbitrary<Input> = fc.constantFrom(...EVENTS).chain((spec) => {
  const head = spec.code === LE_META_EVENT ? [spec.subevent!] : []
  return mutated(validParams(spec.params, 250)).map((m) => {
    const body = concat(head, m.bytes)
    return { type: 4 as const, bytes: concat([spec.code, body.length & 0xff], body) }
  })
})

const hex = (s: string): Uint8Array => fromHex(s)
const handle = fc.oneof(fc.constant(HANDLE), fc.integer({ min: 0, max: 0x0fff }))
const flow: fc.Arbitrary<Input> = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(0x1009, 0x0c03, 0x0000, 0x2005),
      fc.uint8Array({ maxLength: 12 }),
      fc.integer({ min: 0, max: 255 }),
    )
    .map(([op, ret, n]) => ({
      type: 4 as const,
      bytes: hex(ev.commandComplete(op, Buffer.from(ret).toString('hex'), n)),
    })),
  fc
    .tuple(fc.constantFrom(0x1009, 0x2005, 0x0406), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }))
    .map(([op, st, n]) => ({ type: 4 as const, bytes: hex(ev.commandStatus(op, st, n)) })),
  fc
    .array(fc.tuple(handle, fc.integer({ min: 0, max: 0xffff })), { maxLength: 4 })
    .map((e) => ({ type: 4 as const, bytes: hex(ev.numberOfCompletedPackets(e)) })),
  fc.integer({ min: 0, max: 255 }).map((c) => ({ type: 4 as const, bytes: hex(ev.hardwareError(c)) })),
  handle.map((h) => ({ type: 4 as const, bytes: hex(ev.disconnectionComplete(h)) })),
  handle.map((h) => ({ type: 4 as const, bytes: hex(ev.leConnectionComplete(h)) })),
  fc.constant({ type: 4 as const, bytes: hex('1a0101') }), // Data Buffer Overflow (7.7.26), ACL
)
const acl: fc.Arbitrary<Input> = fc
  .tuple(handle, fc.integer({ min: 0, max: 3 }), fc.uint8Array({ maxLength: 40 }), fc.boolean())
  .map(([h, pb, data, lie]) => ({
    type: 2 as const,
    bytes: concat(le16(h | (pb << 12)), le16(lie ? data.length + 7 : data.length), data),
  }))

type Outcome = { state: 'pending' } | { state: 'resolved' } | { state: 'rejected'; error: unknown }

function track(p: Promise<unknown>): Outcome {
  const o: Outcome = { state: 'pending' }
  p.then(
    () => Object.assign(o, { state: 'resolved' }),
    (error: unknown) => Object.assign(o, { state: 'rejected', error }),
  )
  return o
}

async function session(inputs: Input[]): Promise<boolean> {
  const s = new Script({ commandTimeoutMs: 1000 })
  const init = s.host.init()
  await bringUp(s)
  await init
  s.injectEvent(ev.leConnectionComplete(HANDLE))
  await settle()
  const command = track(s.host.send(ReadBdAddr, {}))
  const data = track(s.host.sendAcl(HANDLE, concat(le16(1), le16(4), [0x0a])))
  for (const [i, p] of inputs.entries()) {
    s.controller.send({ type: p.type, data: p.bytes })
    if (i % 4 === 3) await settle()
  }
  await settle()
  s.clock.advance(1001)
  await settle()
  if (command.state === 'pending') return false
  if (command.state === 'rejected' && !(command.error instanceof HcikitError)) return false
  if (data.state === 'rejected' && !(data.error instanceof HcikitError)) return false
  // Still usable: a NOP Command Complete grants a credit, and the next command runs.
  s.received.length = 0
  s.injectEvent(ev.commandComplete(0x0000, '', 1))
  await settle()
  const again = s.host.send(ReadBdAddr, {})
  await settle()
  const sent = s.received.find((p) => p.type === 1 && p.data[0] === 0x09 && p.data[1] === 0x10)
  if (sent === undefined) return false
  s.injectEvent(ev.commandComplete(0x1009, '00665544332211'))
  const r = await again
  await s.host.close()
  return r.bdAddr === '11:22:33:44:55:66'
}

t.test('the host under any sequence of events and ACL data', async (t) => {
  await fuzzAsync(t, 'hci-host', fc.array(fc.oneof(declared, flow, flow, acl), { maxLength: 24 }), session, {
    runs: 300,
  })
})
