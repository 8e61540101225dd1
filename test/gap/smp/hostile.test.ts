/**
 * Pairing against peers that misbehave: every failure ends with the Pairing Failed reason the
 * spec gives it (Core v5.4 Vol 3 Part H 3.5.5, Table 3.7, and the sections named per test), or
 * with the SMP timeout (3.4), and with nothing to keep (no 'complete', no bond).
 */
import t, { type Test } from 'tap'
import { PairingHarness, type Side, type SideSetup, type Wire } from './pairing-harness.ts'
import {
  CentralIdentification,
  IdentityAddressInformation,
  IdentityInformation,
  PairingConfirm,
  PairingPublicKey,
  PairingRandom,
  decodeSmpPdu,
  encodeSmpPdu,
  type SmpPduSpec,
} from '../../../gap/smp/pdu.ts'
import { DEBUG_KEY } from '../../../gap/smp/p256.ts'
import { RepeatedAttempts } from '../../../gap/smp/throttle.ts'
import { SmpError } from '../../../gap/smp/errors.ts'
import { DecodeError } from '../../../hci/errors.ts'

const LEGACY = { secureConnections: 'never' } as const
/** A peripheral that distributes its identity (IRK and identity address). */
const WITH_IDENTITY: SideSetup = {
  config: {
    identity: { irk: new Uint8Array(16).fill(0x91), address: { address: '00:1B:DC:0A:0B:0C', type: 'public' } },
  },
}

function is(w: Wire, from: Side, spec: SmpPduSpec<any>): boolean {
  const p = decodeSmpPdu(w.pdu)
  return w.from === from && !(p instanceof DecodeError) && p.spec === spec
}

/** The Pairing Failed reasons each side sent, in order. */
function failedSent(h: PairingHarness, from: Side): number[] {
  return h.wire.filter((w) => w.from === from && w.pdu[0] === 0x05).map((w) => w.pdu[1]!)
}

function expectFailure(t: Test, h: PairingHarness, failing: Side, reason: number): void {
  const other: Side = failing === 'central' ? 'peripheral' : 'central'
  const mine = h.outcome(failing).error
  t.ok(mine instanceof SmpError, `${failing} failed`)
  t.equal(mine?.code, 'SMP_PAIRING_FAILED')
  t.equal(mine?.status, reason, `${failing}'s reason`)
  t.same(failedSent(h, failing), [reason], `${failing} sent Pairing Failed once with that reason`)
  const theirs = h.outcome(other).error
  t.equal(theirs?.code, 'SMP_PEER_FAILED', `${other} learns of it`)
  t.equal(theirs?.status, reason)
  t.notOk(
    h.actions.central.some((a) => a.type === 'complete'),
    'nothing completes on the central',
  )
  t.notOk(
    h.actions.peripheral.some((a) => a.type === 'complete'),
    'nothing completes on the peripheral',
  )
  t.equal(h.clock.pendingTimers, 0, 'no timer left running')
}

t.test('CVE-2018-5383: a public key off the curve -> DHKey Check Failed', async (t) => {
  for (const victim of ['central', 'peripheral'] as const) {
    const attacker: Side = victim === 'central' ? 'peripheral' : 'central'
    const h = new PairingHarness()
    h.tamper = (w) => {
      if (!is(w, attacker, PairingPublicKey)) return undefined
      const bad = w.pdu.slice()
      bad.fill(0, 33) // Y = 0: the fixed-coordinate invalid curve attack
      return bad
    }
    h.pair()
    expectFailure(t, h, victim, 0x0b)
  }
})

t.test('our own public key sent back -> DHKey Check Failed', async (t) => {
  const h = new PairingHarness()
  let centralKey: Uint8Array | undefined
  h.tamper = (w) => {
    if (is(w, 'central', PairingPublicKey)) centralKey = w.pdu
    if (is(w, 'peripheral', PairingPublicKey)) return centralKey
    return undefined
  }
  h.pair()
  expectFailure(t, h, 'central', 0x0b)
})

t.test('the debug key pair is refused unless allowed', async (t) => {
  const h = new PairingHarness({}, { config: { keyPair: DEBUG_KEY } }).pair()
  expectFailure(t, h, 'central', 0x03)
  t.match(h.outcome('central').error?.message, /debug key/)
  const ok = new PairingHarness({ config: { allowDebugKeys: true } }, { config: { keyPair: DEBUG_KEY } }).pair()
  t.equal(ok.result('central').secureConnections, true)
})

t.test('a wrong confirm value -> Confirm Value Failed (legacy and SC, either side)', async (t) => {
  for (const config of [LEGACY, {}]) {
    for (const liar of ['central', 'peripheral'] as const) {
      const h = new PairingHarness({ config }, { config })
      h.tamper = (w) => {
        if (!is(w, liar, PairingConfirm)) return undefined
        const bad = w.pdu.slice()
        bad[1]! ^= 0x01
        return bad
      }
      h.pair()
      // SC Just Works: only the responder sends a confirm, and the initiator checks it.
      if (config === LEGACY || liar === 'peripheral') {
        expectFailure(t, h, liar === 'central' ? 'peripheral' : 'central', 0x04)
      } else t.equal(h.outcome('central').result?.secureConnections, true, 'SC JW: no confirm from the central')
    }
  }
})

t.test('a wrong passkey -> Confirm Value Failed; refusing to type -> Passkey Entry Failed', async (t) => {
  for (const config of [LEGACY, {}]) {
    // The displaying peripheral checks the central's confirm first (legacy: Mconfirm on Mrand;
    // SC: Cai on Nai of the first round whose bit differs).
    const wrong = new PairingHarness(
      { config: { ...config, io: 'keyboardOnly', mitm: true }, user: { passkey: 'wrong' } },
      { config: { ...config, io: 'displayOnly' } },
    ).pair()
    expectFailure(t, wrong, 'peripheral', 0x04)
    const refused = new PairingHarness(
      { config: { ...config, io: 'keyboardOnly', mitm: true }, user: { passkey: 'refuse' } },
      { config: { ...config, io: 'displayOnly' } },
    ).pair()
    expectFailure(t, refused, 'central', 0x01)
  }
})

t.test('numbers said to differ -> Numeric Comparison Failed', async (t) => {
  const h = new PairingHarness(
    { config: { io: 'displayYesNo', mitm: true }, user: { confirm: false } },
    { config: { io: 'displayYesNo' } },
  ).pair()
  expectFailure(t, h, 'central', 0x0c)
})

t.test('a wrong DHKey check -> DHKey Check Failed', async (t) => {
  const h = new PairingHarness()
  h.tamper = (w) => (w.from === 'central' && w.pdu[0] === 0x0d ? Uint8Array.of(0x0d, ...new Uint8Array(16)) : undefined)
  h.pair()
  expectFailure(t, h, 'peripheral', 0x0b)
})

t.test('out-of-order PDUs -> Unspecified Reason', async (t) => {
  // A Pairing Random where the legacy initiator's confirm is due.
  const h = new PairingHarness({ config: LEGACY }, { config: LEGACY })
  h.tamper = (w) =>
    is(w, 'central', PairingConfirm) ? encodeSmpPdu(PairingRandom, { randomValue: new Uint8Array(16) }) : undefined
  h.pair()
  expectFailure(t, h, 'peripheral', 0x08)
  // Keys out of the order of 3.6.1: the identity address before the IRK.
  const k = new PairingHarness({}, WITH_IDENTITY)
  let held: Uint8Array | undefined
  k.tamper = (w) => {
    if (is(w, 'peripheral', IdentityInformation)) {
      held = w.pdu
      return null
    }
    if (is(w, 'peripheral', IdentityAddressInformation)) {
      k.sessions.central.receive(w.pdu)
      return held
    }
    return undefined
  }
  k.pair()
  t.equal(k.outcome('central').error?.status, 0x08)
  t.notOk(k.outcome('central').result, 'no bond from a misordered distribution')
  // A key in the middle of phase 2 (where the SC public key is due).
  const s = new PairingHarness()
  s.tamper = (w) =>
    is(w, 'central', PairingPublicKey)
      ? encodeSmpPdu(CentralIdentification, { ediv: 1, rand: new Uint8Array(8) })
      : undefined
  s.pair()
  expectFailure(t, s, 'peripheral', 0x08)
  // Outside a pairing, such a PDU is dropped without an answer.
  const idle = new PairingHarness()
  idle.inject('central', encodeSmpPdu(CentralIdentification, { ediv: 1, rand: new Uint8Array(8) }))
  t.same(idle.wire, [])
})

t.test('a key size below our minimum -> Encryption Key Size', async (t) => {
  const h = new PairingHarness({ config: { minKeySize: 16 } }, { config: { maxKeySize: 12, minKeySize: 7 } }).pair()
  expectFailure(t, h, 'central', 0x06)
  const p = new PairingHarness({ config: { maxKeySize: 10, minKeySize: 7 } }, { config: { minKeySize: 11 } }).pair()
  expectFailure(t, p, 'peripheral', 0x06)
  t.same(p.names('peripheral'), ['Pairing Failed'], 'no Pairing Response was sent')
})

t.test('requirements that cannot be met -> Authentication Requirements', async (t) => {
  const scOnly = new PairingHarness({ config: { secureConnections: 'only' } }, { config: LEGACY }).pair()
  expectFailure(t, scOnly, 'central', 0x03)
  const mitm = new PairingHarness(
    { config: { io: 'noInputNoOutput' } },
    { config: { mitm: true, io: 'displayYesNo' } },
  ).pair()
  expectFailure(t, mitm, 'peripheral', 0x03)
})

t.test('malformed PDUs: wrong length -> Invalid Parameters, unknown code -> Command Not Supported', async (t) => {
  const h = new PairingHarness()
  h.tamper = (w) => (w.from === 'central' && w.pdu[0] === 0x01 ? w.pdu.subarray(0, 6) : undefined)
  h.pair()
  t.same(failedSent(h, 'peripheral'), [0x0a])
  const u = new PairingHarness()
  u.inject('peripheral', Uint8Array.of(0x3f, 1, 2))
  t.same(failedSent(u, 'peripheral'), [0x07])
  const io = new PairingHarness()
  io.tamper = (w) =>
    w.from === 'central' && w.pdu[0] === 0x01 ? Uint8Array.of(0x01, 0x07, 0, 0x01, 16, 0, 0) : undefined
  io.pair()
  t.same(failedSent(io, 'peripheral'), [0x0a], 'reserved IO capability')
  const id = new PairingHarness({}, WITH_IDENTITY)
  id.tamper = (w) => {
    if (!is(w, 'peripheral', IdentityAddressInformation)) return undefined
    const bad = w.pdu.slice()
    bad[1] = 0x02
    return bad
  }
  id.pair()
  t.equal(id.outcome('central').error?.status, 0x0a, 'reserved identity address type')
  // A Pairing Failed of the wrong length is never answered.
  const pf = new PairingHarness()
  pf.inject('peripheral', Uint8Array.of(0x05))
  t.same(pf.wire, [])
})

t.test('silence: the 30 s SMP timeout, then no SMP at all on this link', async (t) => {
  const h = new PairingHarness()
  h.tamper = (w) => (w.from === 'peripheral' ? null : undefined)
  h.pair()
  t.same(h.outcome('central'), {}, 'waiting')
  h.clock.advance(29_999)
  t.same(h.outcome('central'), {}, 'still waiting at 29.999 s')
  h.clock.advance(1)
  t.equal(h.outcome('central').error?.code, 'SMP_TIMEOUT')
  const sent = h.wire.length
  h.inject('central', Uint8Array.of(0x02, 3, 0, 1, 16, 0, 0))
  t.equal(h.wire.length, sent, 'nothing is sent after the timeout')
  t.throws(() => h.sessions.central.start(), /timed out/)
  // The responder that never heard back times out too.
  t.equal(h.outcome('peripheral').error?.code, 'SMP_TIMEOUT')
})

t.test('the timer restarts with every PDU sent: a slow but steady pairing completes', async (t) => {
  const h = new PairingHarness(
    { config: { io: 'keyboardOnly', mitm: true }, user: { passkey: 'echo' } },
    { config: { io: 'displayOnly' } },
  )
  h.pair()
  t.ok(h.outcome('central').result)
  h.clock.advance(60_000)
  t.ok(h.outcome('central').result, 'no late timeout after completion')
})

t.test('the encryption fails -> the pairing fails, nothing kept', async (t) => {
  const h = new PairingHarness()
  h.failEncryption = true
  h.pair()
  t.equal(h.outcome('central').error?.code, 'SMP_ENCRYPTION_FAILED')
  t.equal(h.outcome('peripheral').error?.code, 'SMP_ENCRYPTION_FAILED')
  t.same(failedSent(h, 'central'), [])
})

t.test('a Pairing Failed from the peer mid-way ends the pairing without an answer', async (t) => {
  const h = new PairingHarness()
  h.tamper = (w) => (is(w, 'peripheral', PairingConfirm) ? Uint8Array.of(0x05, 0x08) : undefined)
  h.pair()
  t.equal(h.outcome('central').error?.code, 'SMP_PEER_FAILED')
  t.equal(h.outcome('central').error?.statusName, 'Unspecified Reason')
  t.same(failedSent(h, 'central'), [])
})

t.test('repeated attempts (2.3.6): refused while waiting, the wait doubles, then allowed', async (t) => {
  const h0 = new PairingHarness()
  const attempts = new RepeatedAttempts(h0.clock, { firstMs: 1000, maxMs: 8000 })
  const gate = attempts.gate('peer')
  // A new link each time; the throttle (on its own clock) remembers across links.
  const fresh = (passkey: 'wrong' | 'echo') =>
    new PairingHarness(
      { config: { io: 'keyboardOnly', mitm: true }, user: { passkey } },
      { config: { io: 'displayOnly' }, attempts: gate },
    )
  const first = fresh('wrong').pair()
  t.equal(first.outcome('peripheral').error?.status, 0x04)
  t.equal(attempts.waitMs('peer'), 1000)
  const early = fresh('echo').pair()
  t.same(failedSent(early, 'peripheral'), [0x09], 'Repeated Attempts while the interval runs')
  t.equal(early.outcome('central').error?.status, 0x09)
  h0.clock.advance(1000)
  const second = fresh('wrong').pair()
  t.equal(second.outcome('peripheral').error?.status, 0x04)
  t.equal(attempts.waitMs('peer'), 2000, 'doubled')
  h0.clock.advance(2000)
  const good = fresh('echo').pair()
  t.ok(good.outcome('peripheral').result, 'allowed after the wait')
  t.equal(attempts.waitMs('peer'), 0, 'a success clears the count')
})
