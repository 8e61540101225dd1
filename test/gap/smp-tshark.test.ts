/**
 * Issue 11, acceptance 7: tshark (Wireshark 4.0's btsmp dissector, an independent decoder) reads
 * every SMP PDU of our pairing captures over the virtual link, for each method of legacy and
 * Secure Connections pairing with bonding (so key distribution is in them too), with zero
 * malformed frames; and it reads the same opcodes, in the same order, as our decoder.
 */
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { missing } from '../helpers/tools.ts'
import { secureRig, scriptedUser, nextOutcome } from './security-rig.ts'
import { writeBtsnoop } from '../e2e/capture.ts'
import { createScOobData } from '../../gap/smp/oob.ts'
import type { PairingDelegate } from '../../gap/pairing-delegate.ts'
import { H4Type } from '../../hci/constants.ts'

const noTshark = missing('tshark')

const LEGACY = { secureConnections: 'never' } as const
const oobC = createScOobData()
const oobP = createScOobData()
const CASES: [string, PairingDelegate, PairingDelegate][] = [
  ['legacy Just Works', LEGACY, LEGACY],
  ['legacy Passkey Entry', { ...LEGACY, io: 'keyboardOnly', mitm: true }, { ...LEGACY, io: 'displayOnly' }],
  ['SC Numeric Comparison', { io: 'displayYesNo', mitm: true }, { io: 'displayYesNo' }],
  ['SC Passkey Entry', { io: 'keyboardOnly', mitm: true }, { io: 'displayOnly' }],
  [
    'SC OOB',
    { oobData: () => ({ local: oobC, peer: { r: oobP.r, confirm: oobP.confirm } }) },
    { oobData: () => ({ local: oobP, peer: { r: oobC.r, confirm: oobC.confirm } }) },
  ],
]

t.test('tshark decodes every SMP PDU of our pairings', { skip: noTshark }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hcikit-smp-tshark-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  for (const [name, c, p] of CASES) {
    const screen = { numbers: [] as number[] }
    const r = await secureRig({ central: scriptedUser(c, screen), peripheral: scriptedUser(p, screen) })
    const link = await r.link()
    const done = nextOutcome(r.pSec, link.p)
    await r.cSec.agent(link.c).pair()
    await done
    await link.c.disconnect()
    r.close()
    const file = join(dir, `${name.replace(/ /g, '-')}.btsnoop`)
    await writeBtsnoop(file, r.records)
    const ours = r.records
      .filter((x) => x.packetType === H4Type.Acl && x.data.length > 8 && (x.data[6]! | (x.data[7]! << 8)) === 0x0006)
      .map((x) => x.data[8]!)
    const run = spawnSync(
      'tshark',
      ['-r', file, '-Y', 'btsmp || _ws.malformed', '-T', 'fields', '-e', 'btsmp.opcode', '-e', '_ws.malformed'],
      {
        encoding: 'utf8',
      },
    )
    t.equal(run.status, 0, run.stderr)
    const rows = run.stdout.split('\n').filter((l) => l !== '')
    const theirs = rows
      .map((l) => l.split('\t')[0]!)
      .filter((o) => o !== '')
      .map(Number)
    t.same(theirs, ours, `${name}: tshark sees the same ${ours.length} SMP PDUs`)
    t.equal(rows.filter((l) => (l.split('\t')[1] ?? '') !== '').length, 0, `${name}: none malformed`)
    t.ok(ours.includes(0x08) && ours.includes(0x09) && ours.includes(0x0a), `${name}: key distribution captured`)
  }
})
