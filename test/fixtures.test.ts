/**
 * The captures hcikit recorded itself (fixtures/, written by `npm run fixtures`, scripts/fixtures.ts)
 * as tshark reads them: every frame dissected, none malformed, and each file holding the feature
 * its name promises (HCI commands and events, Core v5.4 Vol 4 Part E 7; ATT opcodes, Vol 3 Part F
 * 3.4; LE signalling codes, Vol 3 Part A 4). The expected numbers below are the specification's,
 * written out here, and they are looked for in tshark's dissection, not in ours.
 */
import t from 'tap'
import { basename } from 'node:path'
import { fixtureTraces, virtualTraces } from './helpers/fixtures.ts'
import { missing } from './helpers/tools.ts'
import { num, tsharkFrames, type FieldName, type TsharkFrame } from './helpers/tshark.ts'

/** What each virtual-link fixture must show, as sets of values of one tshark field. */
const PROMISES: Record<string, Array<[FieldName, number[], string]>> = {
  'bringup.btsnoop': [['bthci_cmd.opcode', [0x0c03, 0x1001, 0x1009, 0x2001], 'Reset ... LE Set Event Mask']],
  'scan-legacy.btsnoop': [
    ['bthci_cmd.opcode', [0x200b, 0x200c], 'LE Set Scan Parameters and Enable'],
    ['bthci_evt.le_meta_subevent', [0x02], 'LE Advertising Report'],
    ['bthci_evt.le_advts_event_type', [0x00, 0x04], 'ADV_IND and SCAN_RSP'],
  ],
  'scan-extended.btsnoop': [
    ['bthci_cmd.opcode', [0x2041, 0x2042], 'LE Set Extended Scan Parameters and Enable'],
    ['bthci_evt.le_meta_subevent', [0x0d], 'LE Extended Advertising Report'],
    // Event_Type bits 5-6, Data_Status: 0b01 incomplete, more to come (7.7.65.13)
    ['bthci_evt.le_ext_advts_event_type', [0x20, 0x00], 'a report chain: incomplete, then complete'],
  ],
  'connect-disconnect.btsnoop': [
    ['bthci_evt.code', [0x05], 'Disconnection Complete'],
    ['btatt.opcode', [0x02, 0x03], 'Exchange MTU Request and Response'],
  ],
  'discovery.btsnoop': [
    [
      'btatt.opcode',
      [0x10, 0x11, 0x08, 0x09, 0x04, 0x05, 0x0a, 0x0b],
      'Read By Group Type, By Type, Find Information, Read',
    ],
  ],
  'long-read-write.btsnoop': [
    ['btatt.opcode', [0x0c, 0x0d, 0x16, 0x17, 0x18, 0x19], 'Read Blob, Prepare Write, Execute Write'],
  ],
  'notify-indicate.btsnoop': [
    ['btatt.opcode', [0x12, 0x13, 0x1b, 0x1d, 0x1e], 'CCCD writes, notifications, indications, confirmations'],
  ],
  'credit-channel.btsnoop': [
    ['btl2cap.cmd_code', [0x14, 0x15, 0x16, 0x06, 0x07], 'LE credit based connection, credits, disconnection'],
    ['bthci_acl.pb_flag', [0x01], 'ACL continuing fragments'],
  ],
}

t.test('fixtures/virtual/ holds one capture per feature', async (t) => {
  t.same(
    virtualTraces()
      .map((f) => basename(f))
      .sort(),
    Object.keys(PROMISES).sort(),
  )
})

const values = (frames: Map<number, TsharkFrame>, field: FieldName): Set<number> =>
  new Set([...frames.values()].flatMap((f) => f[field].map((v) => num(v)!)))

for (const file of fixtureTraces()) {
  const name = file.slice(file.indexOf('fixtures/'))
  t.test(`${name}: tshark reads every frame, none malformed`, { skip: missing('tshark') }, async (t) => {
    const frames = await tsharkFrames(file)
    t.ok(frames.size > 10, `${frames.size} frames`)
    t.same(
      [...frames.values()].filter((f) => f['_ws.malformed'].length > 0).map((f) => f['frame.number'][0]),
      [],
      'no malformed frame',
    )
    const promised = file.includes('/virtual/') ? (PROMISES[basename(file)] ?? []) : []
    for (const [field, want, what] of promised) {
      const got = values(frames, field)
      t.same(
        want.filter((v) => !got.has(v)),
        [],
        `${what} (${field} ${want.map((v) => `0x${v.toString(16)}`).join(' ')})`,
      )
    }
  })
}
