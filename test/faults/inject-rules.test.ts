/**
 * Fault injection (src/faults/): each rule kind changes exactly the packets it names, and nothing
 * else. A fixed stream of HCI packets (commands, events, ACL with ATT PDUs, written here from
 * Core v5.4 Vol 4 Part E 5.4 / 7.7 and Vol 3 Part F 3.4) goes both ways through a FaultTransport
 * over an in-memory pair, on a manual clock; what comes out on each side is compared with the
 * stream as the rule should have changed it, written out by hand. Every fault is marked with a
 * note on the packet diagnostics channel. Plans that are not plans are refused with the place.
 */
import t from 'tap'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { createMemoryPair } from '../../hci/memory-transport.ts'
import type { Clock } from '../../hci/host.ts'
import type { HciPacket } from '../../hci/transport.ts'
import { withFaults, validateFaultPlan, type FaultPlan } from '../../src/faults/index.ts'
import { PACKET_CHANNEL } from '../../hci/host.ts'
import { NOTE_PACKET_TYPE, noteText } from '../../src/notes.ts'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'))
const show = (p: HciPacket): string => `${p.type}:${Buffer.from(p.data).toString('hex')}`

// The stream: [direction, H4 type, bytes]
const STREAM: Array<['tx' | 'rx', number, string]> = [
  ['tx', 1, '0c20 02 0100'], // LE Set Scan Enable
  ['rx', 4, '0e04 01 0c20 00'], // its Command Complete
  ['tx', 1, '0d20 19 6000 3000 00 00 000000000000 00 1800 2800 0000 4800 0000 0000'], // LE Create Connection
  ['rx', 4, '3e0f 02 01 00 00 aabbccddeeff 03 020106 c4'], // LE Advertising Report
  ['tx', 2, '4000 0700 0300 0400 0a0300'], // ACL: ATT Read Request handle 3
  ['rx', 2, '4020 0700 0300 0400 0b4142'], // ACL: ATT Read Response
  ['tx', 2, '4000 0800 0400 0400 12050001'], // ACL: ATT Write Request handle 5
  ['rx', 2, '4020 0500 0100 0400 13'], // ACL: ATT Write Response
  ['rx', 4, '1305 01 4000 0300'], // Number Of Completed Packets: 3 on 0x0040
  ['rx', 2, '4020 0800 0400 0400 1b070099'], // ACL: notification handle 7 (first fragment)
  ['rx', 2, '4010 0100 88'], // its continuation
  ['rx', 4, '0504 00 4000 13'], // Disconnection Complete
]

class ManualClock implements Clock {
  nowMs = 0
  private timers: Array<{ at: number; fn: () => void; id: number }> = []
  private next = 1
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++
    this.timers.push({ at: this.nowMs + ms, fn, id })
    return id
  }
  clearTimeout(h: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== h)
  }
  now(): number {
    return this.nowMs
  }
  advance(ms: number): void {
    this.nowMs += ms
    for (;;) {
      const due = this.timers.filter((x) => x.at <= this.nowMs).sort((a, b) => a.at - b.at)[0]
      if (!due) return
      this.timers = this.timers.filter((x) => x !== due)
      due.fn()
    }
  }
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r))

/** Run the stream through a plan; what each side got (after `thenMs` of clock), and the notes. */
async function through(plan: FaultPlan, thenMs = 0) {
  const [host, controller] = createMemoryPair()
  const clock = new ManualClock()
  const f = withFaults(host, plan, { clock })
  const notes: string[] = []
  const onNote = (m: unknown): void => {
    const p = m as { type: number; data: Uint8Array }
    if (p.type === NOTE_PACKET_TYPE) notes.push(noteText(p.data))
  }
  subscribe(PACKET_CHANNEL, onNote)
  const toController: string[] = []
  const toHost: string[] = []
  controller.onPacket((p) => toController.push(show(p)))
  f.onPacket((p) => toHost.push(show(p)))
  let closed: Error | undefined | null = null
  f.onClose((e) => (closed = e))
  for (const [dir, type, bytes] of STREAM) {
    try {
      if (dir === 'tx') f.send({ type, data: hex(bytes) })
      else controller.send({ type, data: hex(bytes) })
    } catch {
      // a cut transport refuses further sends
    }
    await settle()
  }
  clock.advance(thenMs)
  await settle()
  unsubscribe(PACKET_CHANNEL, onNote)
  return { toController, toHost, notes, faults: f, closed: closed as Error | undefined | null }
}

const all = (dir: 'tx' | 'rx'): string[] =>
  STREAM.filter(([d]) => d === dir).map(([, type, b]) => `${type}:${b.replace(/\s+/g, '')}`)
const at = (i: number): string => `${STREAM[i]![1]}:${STREAM[i]![2].replace(/\s+/g, '')}`
const without = (list: string[], ...drop: number[]): string[] => {
  const gone = drop.map(at)
  return list.filter((x) => !gone.includes(x))
}

t.test('no rules: everything passes unchanged', async (t) => {
  const r = await through({ rules: [] })
  t.same(r.toController, all('tx'))
  t.same(r.toHost, all('rx'))
  t.same(r.notes, [])
})

t.test('drop every 2nd rx ACL packet', async (t) => {
  const r = await through({ rules: [{ direction: 'rx', packet: 'acl', every: 2, action: 'drop' }] })
  t.same(r.toController, all('tx'))
  t.same(r.toHost, without(all('rx'), 7, 10), 'the Write Response and the continuation are gone')
  t.equal(r.notes.length, 2)
  t.match(r.notes[0], /^fault \(rule 1\): dropped rx ACL handle 0x0040 ATT 0x13 \(9 octets\)$/)
  t.same(r.faults.counts, [2])
})

t.test('delay the ATT Write Request by 100 ms', async (t) => {
  const plan: FaultPlan = { rules: [{ packet: 'acl', att: 0x12, action: 'delay', ms: 100 }] }
  const early = await through(plan, 99)
  t.same(early.toController, without(all('tx'), 6), 'not there before 100 ms')
  const late = await through(plan, 100)
  t.same(late.toController, [...without(all('tx'), 6), at(6)], 'there after 100 ms, behind what followed')
  t.same(late.toHost, all('rx'))
  t.match(late.notes, [/delayed by 100 ms tx ACL handle 0x0040 ATT 0x12 handle 0x0005/])
})

t.test('duplicate the advertising report', async (t) => {
  const r = await through({ rules: [{ packet: 'evt', event: 0x3e, subevent: 0x02, action: 'duplicate' }] })
  const rx = all('rx')
  t.same(r.toHost, [...rx.slice(0, 2), at(3), ...rx.slice(2)])
  t.same(r.toController, all('tx'))
})

t.test('reorder: the first command goes after the next tx packet', async (t) => {
  const r = await through({ rules: [{ packet: 'cmd', opcode: 0x200c, action: 'reorder' }] })
  const tx = all('tx')
  t.same(r.toController, [tx[1], tx[0], ...tx.slice(2)])
  t.same(r.toHost, all('rx'))
})

t.test('mutate: set the reason of Disconnection Complete, xor one octet of the Read Response', async (t) => {
  const r = await through({
    rules: [
      { packet: 'evt', event: 0x05, action: 'mutate', offset: 5, set: '08' },
      { packet: 'acl', att: 0x0b, action: 'mutate', offset: 9, xor: 'ff' },
    ],
  })
  const rx = all('rx').map((x) => (x === at(11) ? '4:050400400008' : x === at(5) ? '2:40200700030004000bbe42' : x))
  t.same(r.toHost, rx)
  t.same(r.toController, all('tx'))
})

t.test('status: a command is answered with an error instead of being sent', async (t) => {
  const r = await through({
    rules: [
      { packet: 'cmd', opcode: 0x200c, action: 'status', status: 0x0c },
      { packet: 'cmd', opcode: 0x200d, action: 'status', status: 0x12 },
    ],
  })
  t.same(r.toController, without(all('tx'), 0, 2), 'neither command reached the controller')
  t.ok(r.toHost.includes('4:0e04010c200c'), 'LE Set Scan Enable: Command Complete, Command Disallowed')
  t.ok(r.toHost.includes('4:0f0412010d20'), 'LE Create Connection: Command Status, Invalid HCI Command Parameters')
})

t.test('hold credits: Number Of Completed Packets gives back 2 fewer, then releases them', async (t) => {
  const plan: FaultPlan = { rules: [{ packet: 'evt', event: 0x13, action: 'hold-credits', count: 2, ms: 50 }] }
  const held = await through(plan, 0)
  t.same(
    held.toHost,
    all('rx').map((x) => (x === at(8) ? '4:1305014000' + '0100' : x)),
    '1 of 3 given back',
  )
  const released = await through(plan, 50)
  t.same(released.toHost.at(-1), '4:1305014000' + '0200', 'the 2 held come back after 50 ms')
})

t.test('cut after 4 packets: the transport closes with a TransportError', async (t) => {
  const r = await through({ rules: [{ action: 'cut', after: 4 }] })
  t.match(r.closed, { name: 'TransportError', message: /fault injection cut the transport/ })
  t.equal(r.toController.length + r.toHost.length, 4, 'four packets went through, then nothing')
  t.match(r.notes, [/cut the transport at/])
})

t.test('which packets: attHandle, after, limit, random with a seed', async (t) => {
  const write = await through({ rules: [{ attHandle: 5, action: 'drop' }] })
  t.same(write.toController, without(all('tx'), 6), 'only the write to handle 5')
  const afterLimit = await through({ rules: [{ direction: 'rx', after: 1, limit: 2, action: 'drop' }] })
  t.same(afterLimit.toHost, without(all('rx'), 3, 5), 'skips the first, then drops two')
  const a = await through({ seed: 7, rules: [{ random: 0.5, action: 'drop' }] })
  const b = await through({ seed: 7, rules: [{ random: 0.5, action: 'drop' }] })
  const c = await through({ seed: 8, rules: [{ random: 0.5, action: 'drop' }] })
  t.same([a.toController, a.toHost], [b.toController, b.toHost], 'the same seed, the same faults')
  t.not(JSON.stringify([a.toHost, a.toController]), JSON.stringify([c.toHost, c.toController]), 'another seed, others')
  t.ok(a.faults.counts[0]! > 0 && a.faults.counts[0]! < STREAM.length)
})

t.test('plans that are not plans: FaultPlanError with the place', async (t) => {
  const bad: Array<[unknown, RegExp]> = [
    [[], /^expected an object/],
    [{ rules: {} }, /^rules: expected an array/],
    [{ rules: [{ action: 'explode' }] }, /^rules\[0\]\.action: expected one of drop, delay/],
    [{ rules: [{ action: 'drop', every: 0 }] }, /^rules\[0\]\.every: expected an integer 1\.\./],
    [{ rules: [{ action: 'delay' }] }, /^rules\[0\]\.ms: expected an integer/],
    [{ rules: [{ action: 'drop', ms: 5 }] }, /^rules\[0\]\.ms: not a field of a "drop" rule/],
    [{ rules: [{ action: 'status', status: 12 }] }, /^rules\[0\]\.packet: "status" answers a command/],
    [{ rules: [{ action: 'mutate', offset: 1 }] }, /^rules\[0\]: mutate needs "xor" or "set"/],
    [{ rules: [{ action: 'drop', random: 2 }] }, /^rules\[0\]\.random: expected a probability/],
    [{ rules: [{ action: 'drop', packet: 'evt', att: 1 }] }, /"att" and "attHandle" match ACL packets/],
    [{ rules: [], extra: 1 }, /^extra: not a field of a fault plan/],
  ]
  for (const [plan, message] of bad)
    t.throws(
      () => validateFaultPlan(plan),
      { name: 'FaultPlanError', code: 'FAULT_PLAN_INVALID', message },
      String(message),
    )
  t.same(
    validateFaultPlan({ rules: [{ packet: 'cmd', opcode: '0x200c', action: 'status', status: '0x0c' }] }).rules[0],
    {
      packet: 'cmd',
      opcode: 0x200c,
      action: 'status',
      status: 0x0c,
    },
    'hex strings are numbers',
  )
})
