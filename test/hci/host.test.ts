import t from 'tap'
import fc from 'fast-check'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { HciHost, PACKET_CHANNEL, type Clock, type PacketMessage } from '../../hci/host.ts'
import { HciError, type HcikitError } from '../../hci/errors.ts'
import {
  Disconnect,
  LeSetAdvertisingEnable,
  ReadBdAddr,
  Reset,
  ReadLocalVersionInformation,
} from '../../hci/commands.ts'
import type { HciEvent } from '../../hci/events.ts'
import { fromHex, toHex } from '../../hci/wire.ts'
import { Script, bringUp, ev, settle } from '../helpers/hci-script.ts'

/** Settle a promise into a value or its error, without unhandled rejections. */
function outcome<T>(p: Promise<T>): { value?: T; error?: HcikitError & Error; done: boolean } {
  const o: { value?: T; error?: HcikitError & Error; done: boolean } = { done: false }
  p.then(
    (v) => Object.assign(o, { value: v, done: true }),
    (e) => Object.assign(o, { error: e, done: true }),
  )
  return o
}

/** A connected LE host with the given ACL buffers. */
async function ready(le: [number, number], options: ConstructorParameters<typeof Script>[0] = {}): Promise<Script> {
  const s = new Script(options)
  const init = s.host.init()
  await bringUp(s, { le })
  await init
  return s
}

t.test('send: encodes the command and resolves with typed return parameters', async (t) => {
  const s = new Script()
  const r = outcome(s.host.send(ReadBdAddr, {}))
  t.equal(toHex(await s.expectCommand(0x1009)), '', 'Read BD_ADDR has no parameters')
  t.equal(toHex(s.log[0]!.data), '091000')
  s.injectEvent(ev.commandComplete(0x1009, '00' + '665544332211'))
  await settle()
  t.same(r.value, { status: 0, bdAddr: '11:22:33:44:55:66' })
})

t.test('non-zero status rejects with HciError naming the command and the status', async (t) => {
  const s = new Script()
  const r = outcome(s.host.send(ReadBdAddr, {}))
  await s.expectCommand(ReadBdAddr)
  s.injectEvent(ev.commandComplete(0x1009, '0c')) // status-only answer, as real controllers send
  await settle()
  const e = r.error!
  t.ok(e instanceof HciError)
  t.equal(e.code, 'HCI_COMMAND_FAILED')
  t.equal(e.status, 0x0c)
  t.equal(e.statusName, 'Command Disallowed (0x0c)')
  t.equal(e.message, 'Read BD_ADDR failed: Command Disallowed (0x0c)')
})

t.test('Command Status: resolves { status } for commands answered that way; rejects on error', async (t) => {
  const s = new Script()
  const ok = outcome(s.host.send(Disconnect, { connectionHandle: 0x40, reason: 0x13 }))
  t.equal(toHex(await s.expectCommand(0x0406)), '400013')
  s.injectEvent(ev.commandStatus(0x0406, 0x00))
  await settle()
  t.same(ok.value, { status: 0 })

  const bad = outcome(s.host.send(Disconnect, { connectionHandle: 0x41, reason: 0x13 }))
  await s.expectCommand(0x0406)
  s.injectEvent(ev.commandStatus(0x0406, 0x02))
  await settle()
  t.equal(bad.error?.code, 'HCI_COMMAND_FAILED')
  t.match(bad.error?.message, /^Disconnect failed: Unknown Connection Identifier \(0x02\)$/)

  // A command with return parameters that the controller rejects with Command Status
  const unknown = outcome(s.host.send(LeSetAdvertisingEnable, { enable: 1 }))
  await s.expectCommand(0x200a)
  s.injectEvent(ev.commandStatus(0x200a, 0x01))
  await settle()
  t.equal(unknown.error?.statusName, 'Unknown HCI Command (0x01)')
})

t.test('never more commands in flight than Num_HCI_Command_Packets allows', async (t) => {
  const s = new Script()
  const results = [0, 1, 2, 3, 4].map(() => outcome(s.host.send(Reset, {})))
  await s.expectCommand(Reset)
  await s.expectNothing() // starts with one credit
  s.injectEvent(ev.commandComplete(0x0c03, '00', 0)) // answered, but no credit back
  await s.expectNothing()
  t.ok(results[0]!.done)
  s.injectEvent(ev.commandComplete(0x0000, '', 2)) // opcode 0x0000: credits only
  await s.expectCommand(Reset)
  await s.expectCommand(Reset)
  await s.expectNothing()
  t.equal(s.host.commandsInFlight, 2)
  s.injectEvent(ev.commandComplete(0x0c03, '00', 0)) // one answered, still no room
  await s.expectNothing()
  t.equal(s.host.commandsInFlight, 1)
  s.injectEvent(ev.commandStatus(0x0000, 0, 1)) // Command Status also carries credits
  await s.expectCommand(Reset)
  await s.expectNothing()
  s.injectEvent(ev.commandComplete(0x0c03, '00', 1)) // the count is absolute: one more may go
  await s.expectCommand(Reset)
  await s.expectNothing()
  s.injectEvent(ev.commandComplete(0x0c03, '00', 1))
  s.injectEvent(ev.commandComplete(0x0c03, '00', 1))
  await settle()
  t.equal(s.host.commandCredits, 1)
  t.same(
    results.map((r) => r.value),
    [0, 1, 2, 3, 4].map(() => ({ status: 0 })),
  )
})

t.test('property: in-flight commands never exceed the last credit count', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 12 }),
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 30 }),
      async (n, credits) => {
        const s = new Script()
        const all = Array.from({ length: n }, () => outcome(s.host.send(Reset, {})))
        let allowed = 1
        let outstanding = 0
        for (let i = 0; all.some((r) => !r.done); i++) {
          await settle()
          outstanding += s.received.length
          s.received.length = 0
          if (outstanding > Math.max(allowed, 0)) return false
          if (i > 200) return false // wedged
          const c = credits[i % credits.length]!
          // answer one command if any is outstanding, else announce credits with opcode 0
          if (outstanding > 0) {
            outstanding--
            s.injectEvent(ev.commandComplete(0x0c03, '00', c))
            allowed = c + outstanding // the controller's count covers what it still holds
          } else {
            s.injectEvent(ev.commandComplete(0x0000, '', Math.max(c, 1)))
            allowed = Math.max(c, 1)
          }
        }
        return true
      },
    ),
    { seed: 42, numRuns: 60 },
  )
  t.pass('held')
})

t.test('timeout: rejects naming the command; the queue moves on', async (t) => {
  const s = new Script()
  const first = outcome(s.host.send(ReadLocalVersionInformation, {}))
  const second = outcome(s.host.send(Reset, {}, { timeout: 20_000 }))
  await s.expectCommand(0x1001)
  s.clock.advance(4999)
  await settle()
  t.notOk(first.done, 'not yet at 4999 ms')
  s.clock.advance(1)
  await settle()
  t.equal(first.error?.code, 'HCI_COMMAND_TIMEOUT')
  t.match(first.error?.message, /Read Local Version Information \(0x1001\) timed out/)
  t.match(first.error?.message, /5000 ms/)
  await s.expectCommand(Reset) // the lost command's credit was taken back
  s.injectEvent(ev.commandComplete(0x1001, '00' + '0c3412' + '0c0f007856')) // late answer: ignored
  await settle()
  t.notOk(second.done)
  t.equal(s.host.stats.unmatchedResponses, 1)
  s.injectEvent(ev.commandComplete(0x0c03, '00'))
  await settle()
  t.same(second.value, { status: 0 })
  t.equal(s.clock.pendingTimers, 0, 'no timers left behind')
})

t.test('zero command credits: bring-up says the controller granted none, not that a command timed out', async (t) => {
  // A controller that answers Reset with Num_HCI_Command_Packets 0 and never gives a credit back
  // (issue 13 item 7): Read Local Version Information is never sent.
  const s = new Script()
  const init = outcome(s.host.init())
  await s.expectCommand(Reset)
  s.injectEvent(ev.commandComplete(0x0c03, '00', 0))
  await s.expectNothing()
  t.equal(s.host.commandCredits, 0)
  s.clock.advance(5000)
  await settle()
  t.equal(init.error?.code, 'HCI_NO_COMMAND_CREDITS')
  t.equal(
    init.error?.message,
    'Read Local Version Information (0x1001) was never sent: the controller granted no command credits (Num_HCI_Command_Packets 0) for 5000 ms',
  )
  t.match(init.error?.hint, /reset it or replug it/)
  t.equal(s.log.filter((p) => p.type === 1).length, 1, 'only Reset went out')

  // Credits held by a command in flight are not the controller refusing: that stays a timeout.
  const s2 = new Script()
  const inflight = outcome(s2.host.send(Reset, {}, { timeout: 10_000 }))
  const queued = outcome(s2.host.send(ReadBdAddr, {}, { timeout: 1000 }))
  await s2.expectCommand(Reset)
  s2.clock.advance(1000)
  await settle()
  t.equal(queued.error?.code, 'HCI_COMMAND_TIMEOUT')
  t.notOk(inflight.done)
})

t.test('abort: a queued command is removed, an in-flight one keeps its credit until answered', async (t) => {
  const s = new Script()
  const a1 = new AbortController()
  const a2 = new AbortController()
  const inflight = outcome(s.host.send(Reset, {}, { signal: a1.signal }))
  const queued = outcome(s.host.send(ReadBdAddr, {}, { signal: a2.signal }))
  const last = outcome(s.host.send(ReadLocalVersionInformation, {}))
  await s.expectCommand(Reset)
  a2.abort()
  a1.abort(new Error('user gave up'))
  await settle()
  t.equal(queued.error?.name, 'AbortError')
  t.equal(inflight.error?.message, 'user gave up')
  await s.expectNothing() // no credit until the controller answers the aborted Reset
  s.injectEvent(ev.commandComplete(0x0c03, '00'))
  t.equal(toHex(await s.expectCommand(0x1001)), '', 'Read BD_ADDR never went out')
  s.injectEvent(ev.commandComplete(0x1001, '00' + '0c3412' + '0c0f007856'))
  await settle()
  t.match(last.value, { hciVersion: 0x0c, companyIdentifier: 0x000f })
  t.equal(s.host.stats.unmatchedResponses, 0, 'the aborted command consumed its own answer')
  const pre = new AbortController()
  pre.abort()
  const never = outcome(s.host.send(Reset, {}, { signal: pre.signal }))
  await s.expectNothing()
  t.equal(never.error?.name, 'AbortError')
  t.equal(s.clock.pendingTimers, 0)
})

t.test('transport close rejects everything pending, and later sends', async (t) => {
  const s = new Script()
  const a = outcome(s.host.send(Reset, {}))
  const b = outcome(s.host.send(ReadBdAddr, {}))
  let closedWith: Error | undefined | null = null
  s.host.onClose((err) => (closedWith = err))
  await s.expectCommand(Reset)
  s.controller.fail(new Error('USB device unplugged'))
  await settle()
  for (const [r, name] of [
    [a, 'Reset'],
    [b, 'Read BD_ADDR'],
  ] as const) {
    t.equal(r.error?.code, 'TRANSPORT_CLOSED')
    t.equal(r.error?.protocol, 'transport')
    t.match(r.error?.message, new RegExp(`^${name} .*transport closed \\(USB device unplugged\\)`))
  }
  t.equal((closedWith as Error | null)?.message, 'USB device unplugged')
  const c = outcome(s.host.send(Reset, {}))
  await settle()
  t.equal(c.error?.code, 'TRANSPORT_CLOSED')
  t.equal(s.clock.pendingTimers, 0)
})

t.test('transport close rejects queued ACL data', async (t) => {
  const s = await ready([27, 1])
  s.injectEvent(ev.leConnectionComplete(0x40))
  await settle()
  const a = outcome(s.host.sendAcl(0x40, fromHex('0100040001')))
  const b = outcome(s.host.sendAcl(0x40, fromHex('0100040002')))
  await s.expectAcl()
  await s.host.close()
  await settle()
  t.ok(a.done && !a.error, 'handed to the transport before the close')
  t.equal(b.error?.code, 'TRANSPORT_CLOSED')
  t.equal((await outcomeAfter(s.host.sendAcl(0x40, fromHex('00000400')))).error?.code, 'TRANSPORT_CLOSED')
})

async function outcomeAfter<T>(p: Promise<T>): Promise<ReturnType<typeof outcome<T>>> {
  const o = outcome(p)
  await settle()
  return o
}

t.test('Hardware Error rejects everything pending; the host can start over', async (t) => {
  const s = new Script()
  const events: string[] = []
  s.host.onEvent((e) => events.push(e.key))
  const a = outcome(s.host.send(Reset, {}))
  const b = outcome(s.host.send(ReadBdAddr, {}))
  await s.expectCommand(Reset)
  s.injectEvent(ev.hardwareError(0x42))
  await settle()
  for (const r of [a, b]) {
    t.equal(r.error?.code, 'HCI_HARDWARE_ERROR')
    t.match(r.error?.message, /Hardware Error 0x42/)
  }
  t.match(b.error?.message, /^Read BD_ADDR/)
  t.same(events, ['HardwareError'], 'subscribers see the event too')
  const c = outcome(s.host.send(Reset, {}))
  await s.expectCommand(Reset)
  s.injectEvent(ev.commandComplete(0x0c03, '00'))
  await settle()
  t.same(c.value, { status: 0 })
})

t.test('events are routed to subscribers until they unsubscribe', async (t) => {
  const s = new Script()
  const got: HciEvent[] = []
  const off = s.host.onEvent((e) => got.push(e))
  s.injectEvent(ev.disconnectionComplete(0x40, 0x13))
  s.injectEvent('ff03010203') // vendor event
  await settle()
  t.same(
    got.map((e) => e.key),
    ['DisconnectionComplete', 'Vendor'],
  )
  const d = got[0]!
  if (d.key === 'DisconnectionComplete') t.same(d.params, { status: 0, connectionHandle: 0x40, reason: 0x13 })
  off()
  s.injectEvent(ev.disconnectionComplete(0x41))
  s.injectEvent('0e01') // truncated Command Complete: counted, not delivered
  await settle()
  t.equal(got.length, 2)
  t.equal(s.host.stats.eventDecodeErrors, 1)
})

t.test('init(): the bring-up sequence; LE buffer size 0 falls back to Read Buffer Size', async (t) => {
  const s = new Script()
  const init = outcome(s.host.init())
  const sent = await bringUp(s, { le: [0, 0], bredr: [1021, 6] })
  await settle()
  t.same(
    sent.map((o) => o.toString(16)),
    ['c03', '1001', '1002', '1003', '1009', 'c01', '2001', '2002', '1005', '2003'],
  )
  t.notOk(init.error)
  const info = init.value!
  t.match(info, {
    hciVersion: 0x0c,
    hciSubversion: 0x1234,
    lmpVersion: 0x0c,
    lmpSubversion: 0x5678,
    manufacturer: 0x000f,
    address: '11:22:33:44:55:66',
    buffers: { bredr: { length: 1021, count: 6 } },
  })
  t.equal(info.buffers.le, undefined)
  t.equal(toHex(info.leFeatures), '1f00000000000000')
  t.equal(toHex(info.lmpFeatures), 'bffecffedbff7b87')
  t.equal(info.supportedCommands.length, 64)
  t.same(s.host.aclBuffers('le'), { length: 1021, count: 6, free: 6 }, 'LE links use the shared BR/EDR buffers')
  t.equal(s.host.info, info)
  // the masks sent: Set Event Mask with Encryption Key Refresh Complete (bit 47) and LE Meta (bit 61) on
  const setEventMask = s.log.find((p) => p.data[0] === 0x01 && p.data[1] === 0x0c)!
  t.equal(toHex(setEventMask.data), '010c08' + 'ffffffffff9f0020')
})

t.test('init(): Set Event Mask Page 2 and LE Read Buffer Size v2 when the commands bitmask says so', async (t) => {
  const cmds = new Uint8Array(64)
  cmds[22] = 0x04 // Set Event Mask Page 2
  cmds[41] = 0x20 // LE Read Buffer Size [v2]
  const s = new Script()
  const init = outcome(s.host.init())
  const sent = await bringUp(s, { supportedCommands: toHex(cmds), le: [251, 12], iso: [300, 4] })
  await settle()
  t.same(
    sent.map((o) => o.toString(16)),
    ['c03', '1001', '1002', '1003', '1009', 'c01', 'c63', '2001', '2060', '2003'],
  )
  t.same(init.value?.buffers, { le: { length: 251, count: 12 }, iso: { length: 300, count: 4 } })
})

t.test('init() stops at the first failing command with its error', async (t) => {
  const s = new Script()
  const init = outcome(s.host.init())
  await s.answer(Reset, '00')
  await s.answer(0x1001, '03') // Hardware Failure
  await s.expectNothing()
  t.equal(init.error?.message, 'Read Local Version Information failed: Hardware Failure (0x03)')
})

t.test(
  'ACL: fragments to the buffer size; credits never exceeded; returned by Number Of Completed Packets',
  async (t) => {
    const s = await ready([27, 2])
    s.injectEvent(ev.leConnectionComplete(0x040))
    await settle()
    const payload = Array.from({ length: 60 }, (_, i) => i.toString(16).padStart(2, '0')).join('')
    const pdu = '3c00' + '0400' + payload // L2CAP length 60, CID 4: 64 bytes, 3 fragments
    const sent = outcome(s.host.sendAcl(0x040, fromHex(pdu)))
    const f1 = await s.expectAcl()
    const f2 = await s.expectAcl()
    await s.expectNothing()
    t.same([f1.handle, f1.pb, f1.data.length], [0x40, 0b00, 27])
    t.same([f2.handle, f2.pb, f2.data.length], [0x40, 0b01, 27])
    t.notOk(sent.done, 'not resolved until the last fragment is handed over')
    t.same(s.host.aclBuffers(), { length: 27, count: 2, free: 0 })
    s.injectEvent(ev.numberOfCompletedPackets([[0x040, 1]]))
    const f3 = await s.expectAcl()
    t.same([f3.pb, f3.data.length], [0b01, 10])
    t.equal(toHex(f1.data) + toHex(f2.data) + toHex(f3.data), pdu)
    await settle()
    t.ok(sent.done && !sent.error)
    s.injectEvent(ev.numberOfCompletedPackets([[0x040, 5]])) // more than in flight: clamped
    await settle()
    t.same(s.host.aclBuffers(), { length: 27, count: 2, free: 2 })
    t.equal(s.host.stats.aclExcessCompletions, 3)
  },
)

t.test('property: ACL fragments outstanding at the controller never exceed its buffer count', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 4 }),
      fc.array(
        fc.oneof(
          fc.record({ send: fc.constantFrom(1, 2), size: fc.integer({ min: 4, max: 90 }) }),
          fc.record({ complete: fc.constantFrom(1, 2), n: fc.integer({ min: 1, max: 3 }) }),
        ),
        { maxLength: 40 },
      ),
      async (count, actions) => {
        const s = await ready([27, count], { aclQueueLimit: 64 })
        s.injectEvent(ev.leConnectionComplete(1))
        s.injectEvent(ev.leConnectionComplete(2))
        await settle()
        const outstanding = new Map<number, number>([
          [1, 0],
          [2, 0],
        ])
        const total = (): number => outstanding.get(1)! + outstanding.get(2)!
        const drain = async (): Promise<boolean> => {
          await settle()
          for (const p of s.received.splice(0)) {
            const h = (p.data[0]! | (p.data[1]! << 8)) & 0xfff
            outstanding.set(h, outstanding.get(h)! + 1)
          }
          return total() <= count
        }
        for (const a of actions) {
          if ('send' in a) {
            const pdu = new Uint8Array(a.size)
            pdu[0] = a.size - 4
            void s.host.sendAcl(a.send, pdu)
          } else {
            const n = Math.min(a.n, outstanding.get(a.complete)!)
            if (n === 0) continue
            outstanding.set(a.complete, outstanding.get(a.complete)! - n)
            s.injectEvent(ev.numberOfCompletedPackets([[a.complete, n]]))
          }
          if (!(await drain())) return false
        }
        // complete everything: all queued data must come out, still within the limit
        for (let i = 0; i < 500 && total() > 0; i++) {
          const h = outstanding.get(1)! > 0 ? 1 : 2
          outstanding.set(h, outstanding.get(h)! - 1)
          s.injectEvent(ev.numberOfCompletedPackets([[h, 1]]))
          if (!(await drain())) return false
        }
        return total() === 0 && s.host.aclBuffers()?.free === count
      },
    ),
    { seed: 7, numRuns: 40 },
  )
  t.pass('held')
})

t.test('ACL: round robin between handles with queued fragments', async (t) => {
  const s = await ready([27, 1])
  s.injectEvent(ev.leConnectionComplete(0x001))
  s.injectEvent(ev.leEnhancedConnectionComplete(0x002))
  await settle()
  const pdu = (tag: string): Uint8Array => fromHex('1e00' + '0400' + tag.repeat(30)) // 34 bytes: 2 fragments
  const first = outcome(s.host.sendAcl(1, fromHex('0100040000'))) // takes the only credit
  t.equal((await s.expectAcl()).handle, 1)
  const all = [
    first,
    outcome(s.host.sendAcl(1, pdu('a1'))),
    outcome(s.host.sendAcl(1, pdu('a2'))),
    outcome(s.host.sendAcl(2, pdu('b1'))),
  ]
  await s.expectNothing()
  s.injectEvent(ev.numberOfCompletedPackets([[1, 1]]))
  const order: string[] = []
  for (let i = 0; i < 6; i++) {
    const f = await s.expectAcl()
    order.push(`${f.handle}${f.pb === 0 ? 'S' : 'C'}`)
    await s.expectNothing() // one credit: one fragment at a time
    s.injectEvent(ev.numberOfCompletedPackets([[f.handle, 1]]))
  }
  t.same(order, ['1S', '2S', '1C', '2C', '1S', '1C'])
  await settle()
  t.ok(all.every((r) => r.done && !r.error))
})

t.test('ACL: a disconnection returns the handle its credits and fails its queued PDUs', async (t) => {
  const s = await ready([27, 2])
  s.injectEvent(ev.leConnectionComplete(0x001))
  s.injectEvent(ev.leConnectionComplete(0x002))
  await settle()
  const big = fromHex('4000' + '0400' + '00'.repeat(64)) // 68 bytes: 3 fragments
  const a = outcome(s.host.sendAcl(1, big))
  await s.expectAcl()
  await s.expectAcl()
  const b = outcome(s.host.sendAcl(2, fromHex('0100040007')))
  await s.expectNothing()
  s.injectEvent(ev.disconnectionComplete(0x001, 0x08))
  const f = await s.expectAcl()
  t.same([f.handle, toHex(f.data)], [2, '0100040007'], 'handle 2 got the credits back')
  await settle()
  t.equal(a.error?.code, 'ACL_DISCONNECTED')
  t.match(a.error?.message, /0x001 disconnected \(Connection Timeout \(0x08\)\)/)
  t.ok(b.done && !b.error)
  t.equal(s.host.aclBuffers()?.free, 1)
  t.equal((await outcomeAfter(s.host.sendAcl(1, big))).error?.code, 'ACL_UNKNOWN_HANDLE')
})

t.test('ACL: bounded per-handle queue', async (t) => {
  const s = await ready([27, 1], { aclQueueLimit: 2 })
  s.injectEvent(ev.leConnectionComplete(0x001))
  await settle()
  const p = fromHex('0100040001')
  const r = [1, 2, 3, 4].map(() => outcome(s.host.sendAcl(1, p)))
  await settle()
  t.ok(r[0]!.done && !r[0]!.error, 'first one went out at once')
  t.notOk(r[1]!.done)
  t.notOk(r[2]!.done)
  t.equal(r[3]!.error?.code, 'ACL_QUEUE_FULL')
})

t.test('ACL before init() is refused', async (t) => {
  const s = new Script()
  s.injectEvent(ev.leConnectionComplete(0x001))
  await settle()
  t.equal((await outcomeAfter(s.host.sendAcl(1, fromHex('00000400')))).error?.code, 'HCI_NOT_INITIALISED')
})

t.test('incoming ACL: reassembled on connected handles; unknown handles dropped and counted', async (t) => {
  const s = new Script()
  const pdus: string[] = []
  s.host.onAcl((h, pdu) => pdus.push(`${h.toString(16)}:${toHex(pdu)}`))
  s.injectAcl('dc2e0500' + '0100fdff00') // vendor debug handle 0x0EDC, never connected
  s.injectEvent(ev.leConnectionComplete(0x040))
  s.injectEvent(ev.connectionComplete(0x041))
  s.injectEvent(ev.connectionComplete(0x042, 0x00)) // SCO link: no ACL
  s.injectAcl('40200600' + '05000400' + '0a01') // start: 2 of 5 bytes
  s.injectAcl('41200500' + '0100040013') // whole PDU on the BR/EDR link
  s.injectAcl('40100300' + '000203') // continuation completes the PDU
  s.injectAcl('42200500' + '0100040013')
  await settle()
  t.same(pdus, ['41:0100040013', '40:050004000a01000203'])
  t.equal(s.host.stats.aclUnknownHandle, 2)
  s.injectEvent(ev.disconnectionComplete(0x040))
  s.injectAcl('40200500' + '0100040013')
  s.injectAcl('4020') // malformed: counted
  await settle()
  t.equal(pdus.length, 2, 'nothing after the disconnection')
  t.equal(s.host.stats.aclUnknownHandle, 3)
  t.equal(s.host.stats.aclMalformed, 1)
})

t.test('incoming ACL errors are reported through onError and counted', async (t) => {
  const errors: string[] = []
  const s = new Script({ onError: (e) => errors.push(e.code) })
  s.injectEvent(ev.leConnectionComplete(0x001))
  s.injectAcl('01100200' + 'aabb')
  s.injectEvent('0e01')
  await settle()
  t.same(errors, ['ACL_CONTINUATION_WITHOUT_START', 'DECODE'])
  t.equal(s.host.stats.aclReassemblyErrors, 1)
})

t.test("every packet is published on 'hcikit:packet'", async (t) => {
  const seen: PacketMessage[] = []
  const onMessage = (m: unknown): void => void seen.push(m as PacketMessage)
  subscribe(PACKET_CHANNEL, onMessage)
  t.teardown(() => unsubscribe(PACKET_CHANNEL, onMessage))
  const s = new Script()
  s.clock.advance(1.5)
  const r = outcome(s.host.send(Reset, {}))
  await s.expectCommand(Reset)
  s.injectEvent(ev.commandComplete(0x0c03, '00'))
  await settle()
  t.ok(r.done)
  t.same(
    seen.map((m) => [m.direction, m.type, toHex(m.data), m.timestampUs]),
    [
      ['tx', 1, '030c00', 1500n],
      ['rx', 4, '0e0401030c00', 1500n],
    ],
  )
})

t.test('the clock is required; the global timers fit the Clock interface', async (t) => {
  const s = new Script()
  t.throws(() => new HciHost(s.hostSide, undefined as never), TypeError)
  const real: Clock = { setTimeout, clearTimeout, now: Date.now }
  t.type(real.now(), 'number')
})
