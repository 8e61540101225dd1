/**
 * Whatever a peer sends, a pairing session never throws, never sends a PDU that does not decode,
 * and ends every pairing it starts (complete, failed or timed out within 30 s of virtual time).
 */
import t from 'tap'
import fc from 'fast-check'
import { PairingSession } from '../../../gap/smp/session.ts'
import type { SmpAction } from '../../../gap/smp/pairing-types.ts'
import { SMP_PDUS, decodeSmpPdu } from '../../../gap/smp/pdu.ts'
import { DecodeError } from '../../../hci/errors.ts'
import { FakeClock } from '../../helpers/hci-script.ts'

/** A PDU with a known code and random parameters of the right length, or random bytes. */
const pdu = fc.oneof(
  fc.constantFrom(...SMP_PDUS).chain((s) => {
    const size = sizeOf(s.code)
    return fc.uint8Array({ minLength: size, maxLength: size }).map((b) => Uint8Array.of(s.code, ...b))
  }),
  fc.uint8Array({ minLength: 0, maxLength: 70 }),
)

function sizeOf(code: number): number {
  return { 1: 6, 2: 6, 3: 16, 4: 16, 5: 1, 6: 16, 7: 10, 8: 16, 9: 7, 10: 16, 11: 1, 12: 64, 13: 16, 14: 1 }[code] ?? 0
}

for (const role of ['initiator', 'responder'] as const) {
  t.test(`${role}: random PDUs`, async (t) => {
    t.doesNotThrow(() =>
      fc.assert(
        fc.property(fc.array(pdu, { maxLength: 12 }), fc.boolean(), (pdus, start) => {
          const clock = new FakeClock()
          const actions: SmpAction[] = []
          const s = new PairingSession(
            { io: 'keyboardDisplay', secureConnections: start ? 'prefer' : 'never', minKeySize: 7 },
            {
              role,
              initiatorAddress: { address: 'C0:00:00:00:00:01', type: 'random' },
              responderAddress: { address: '00:00:00:00:00:02', type: 'public' },
              clock,
            },
            (a) => actions.push(a),
          )
          if (start) s.start()
          for (const p of pdus) s.receive(p)
          clock.advance(30_000)
          for (const a of actions) {
            if (a.type === 'send' && decodeSmpPdu(a.pdu) instanceof DecodeError) return false
          }
          return !s.busy && clock.pendingTimers === 0
        }),
        { numRuns: 300 },
      ),
    )
  })
}
