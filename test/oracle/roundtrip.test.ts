/**
 * Acceptance 3 of the foundation issue: every command and event we have a typed spec for,
 * decoded from the real traces, re-encodes to the identical bytes (and so do Command Complete
 * return parameters). The bytes come from other people's controllers, not from our encoder.
 */
import t from 'tap'
import { openCapture } from '../../src/capture-file.ts'
import { decodeCommand, reencodeCommand, decodeReturnParameters, commandSpec } from '../../hci/commands.ts'
import { decodeEvent, reencodeEvent } from '../../hci/events.ts'
import { DecodeError } from '../../hci/errors.ts'
import { encodeStruct } from '../../hci/spec.ts'
import { toHex } from '../../hci/wire.ts'
import { realTest, realTraces, shortName } from '../helpers/real.ts'

const totals = { commands: 0, events: 0, returns: 0, untypedCommands: 0, untypedEvents: 0, undecodable: 0 }

for (const file of realTraces()) {
  t.test(shortName(file), async (t) => {
    const mismatches: string[] = []
    for await (const rec of openCapture(file)) {
      if (rec.error) continue
      if (rec.packetType === 1) {
        const c = decodeCommand(rec.data)
        if (c instanceof DecodeError) {
          totals.undecodable++
          continue
        }
        if (!c.spec) {
          totals.untypedCommands++
          continue
        }
        totals.commands++
        const again = toHex(reencodeCommand(c))
        if (again !== toHex(rec.data)) mismatches.push(`frame ${rec.index} ${c.name}: ${toHex(rec.data)} -> ${again}`)
      } else if (rec.packetType === 4) {
        const e = decodeEvent(rec.data)
        if (e instanceof DecodeError) {
          totals.undecodable++
          continue
        }
        if (e.key === 'Unknown') {
          totals.untypedEvents++
          continue
        }
        totals.events++
        const again = toHex(reencodeEvent(e))
        if (again !== toHex(rec.data)) mismatches.push(`frame ${rec.index} ${e.name}: ${toHex(rec.data)} -> ${again}`)
        if (e.key === 'CommandComplete') {
          const spec = commandSpec(e.params.opcode)
          const r = decodeReturnParameters(e.params.opcode, e.params.returnParameters)
          if (!spec?.returns || !r || r instanceof DecodeError) continue
          totals.returns++
          const bytes = r.statusOnly
            ? new Uint8Array([r.value['status'] as number])
            : encodeStruct(spec.returns, r.value as never, r.trailing)
          if (toHex(bytes) !== toHex(e.params.returnParameters)) {
            mismatches.push(
              `frame ${rec.index} return of ${spec.name}: ${toHex(e.params.returnParameters)} -> ${toHex(bytes)}`,
            )
          }
        }
      }
      if (mismatches.length > 20) break
    }
    t.same(mismatches, [], 're-encoding reproduces every typed packet')
  })
}

// Subtests run one after another, so this one sees the totals of all the traces above.
realTest('the traces exercise the typed specs', async (t) => {
  t.comment(`round trip: ${JSON.stringify(totals)}`)
  t.ok(totals.commands > 1000, `typed commands re-encoded: ${totals.commands}`)
  t.ok(totals.events > 10000, `typed events re-encoded: ${totals.events}`)
  t.ok(totals.returns > 500, `return parameter blocks re-encoded: ${totals.returns}`)
})
