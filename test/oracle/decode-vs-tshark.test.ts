/**
 * Acceptance 1 and 2 of the foundation issue: every trace (the project's own in fixtures/, and the
 * real-trace corpus when it is there) decodes start to finish, and our reading of every record
 * agrees with Wireshark's (tshark 4.0) at the same frame:
 * - packet type and direction;
 * - command opcode; event code and LE sub-event code;
 * - for every advertising report (legacy, directed, extended): address, address type, RSSI and
 *   the advertising data bytes;
 * - for every ATT PDU: opcode, attribute handle and attribute value; SMP code; LE signalling code.
 *
 * Reviewed exemptions (each is counted and printed, never silently dropped):
 * - ATT responses that carry no handle (Read, Read Blob, Read Multiple, Write, Execute Write
 *   Responses, Handle Value Confirmation, Exchange MTU Response): tshark adds to them, as a
 *   generated field shown in brackets, the handle of the request it matched. The PDU carries
 *   none, so ours is absent; these are counted, not compared.
 * - Where tshark interprets an attribute value by the type it believes the handle has (from the
 *   discovery it saw: a CCCD, a name, a characteristic declaration...), `btatt.value` is absent
 *   or only the tail it could not interpret (it then reports several handles for one write). The
 *   value is then compared with the ATT PDU's bytes as tshark delimits them (with its ATT
 *   dissector off) after the PDU's fixed header.
 * - ACL handle 0x0EDC: Android's vendor debug channel (see the traces' CATALOG). No connection ever
 *   introduces it; tshark dissects its bytes as L2CAP and invents ATT/SMP/signalling PDUs. We
 *   decode it as ACL on an unknown handle, so its L2CAP-level fields are not compared.
 */
import t from 'tap'
import { openCapture } from '../../src/capture-file.ts'
import { TraceDecoder, type DecodedRecord } from '../../src/decoder.ts'
import { tsharkFrames, tsharkAdvertisingData, tsharkAttBytes, num, type TsharkFrame } from '../helpers/tshark.ts'
import { realTraces, shortName } from '../helpers/real.ts'
import { fixtureTraces } from '../helpers/fixtures.ts'
import { missing } from '../helpers/tools.ts'

const VENDOR_HANDLE = 0x0edc

/**
 * ATT PDUs that carry an attribute value, with the size of their fixed header (Core v5.4 Vol 3
 * Part F 3.4). Where tshark knows the attribute's type it dissects the value into typed fields
 * and prints no `btatt.value`; then the value is compared with tshark's PDU bytes after this
 * header.
 */
const VALUE_HEADER: Record<number, number> = {
  0x0b: 1,
  0x0d: 1,
  0x12: 3,
  0x52: 3,
  0xd2: 3,
  0x16: 5,
  0x17: 5,
  0x1b: 3,
  0x1d: 3,
}
const SIGNATURE = 12
/** Opcodes of ATT PDUs that carry no attribute handle (tshark may add a generated one). */
const NO_HANDLE = new Set([0x03, 0x0b, 0x0d, 0x0f, 0x13, 0x19, 0x1e])
const TYPES: Record<number, DecodedRecord['type']> = { 1: 'cmd', 2: 'acl', 3: 'sco', 4: 'evt', 5: 'iso' }
// btsnoop 2001 (BlueZ monitor) opcodes -> packet type, as tshark's hci_mon reads them
const MON_TYPES: Record<number, DecodedRecord['type']> = {
  2: 'cmd',
  3: 'evt',
  4: 'acl',
  5: 'acl',
  6: 'sco',
  7: 'sco',
  18: 'iso',
  19: 'iso',
}

const noTshark = missing('tshark')
t.jobs = 2
interface TraceResult {
  records: number
  frames: number
  problems: string[]
  compared: Record<'adv' | 'att' | 'smp' | 'sig' | 'cmd' | 'evt', number>
  exempt: Exempt
}

/** Our decoding of every record of `file` against tshark's reading of the same frame. */
async function check(file: string): Promise<TraceResult> {
  const [frames, advData, attBytes] = await Promise.all([
    tsharkFrames(file),
    tsharkAdvertisingData(file),
    tsharkAttBytes(file),
  ])
  const decoder = new TraceDecoder()
  const problems: string[] = []
  const exempt = { vendorHandle: 0, generatedHandle: 0, interpretedValue: 0 }
  let records = 0
  const compared = { adv: 0, att: 0, smp: 0, sig: 0, cmd: 0, evt: 0 }
  for await (const rec of openCapture(file)) {
    records++
    const ours = decoder.decode(rec)
    const theirs = frames.get(ours.frame)
    if (!theirs) {
      problems.push(`frame ${ours.frame}: tshark has no such frame`)
      continue
    }
    compareRecord(ours, theirs, advData.get(ours.frame), attBytes.get(ours.frame), problems, exempt, compared)
    if (problems.length > 50) break
  }
  return { records, frames: frames.size, problems, compared, exempt }
}

for (const file of noTshark ? [] : [...fixtureTraces(), ...realTraces()]) {
  t.test(shortName(file), async (t) => {
    const { records, frames, problems, compared, exempt } = await check(file)
    t.equal(records, frames, 'same number of records as tshark has frames')
    t.same(
      problems,
      [],
      `no disagreements with tshark (compared ${JSON.stringify(compared)}; exemptions ${JSON.stringify(exempt)})`,
    )
  })
}

t.test('our own traces alone exercise every comparison', { skip: noTshark }, async (t) => {
  const sum = { adv: 0, att: 0, smp: 0, sig: 0, cmd: 0, evt: 0 }
  for (const file of fixtureTraces()) {
    const { compared } = await check(file)
    for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += compared[k]
  }
  t.comment(JSON.stringify(sum))
  // SMP is not among them yet: pairing on the virtual link is still to come.
  for (const k of ['adv', 'att', 'sig', 'cmd', 'evt'] as const) t.ok(sum[k] > 0, `${k}: ${sum[k]} compared`)
})

interface Exempt {
  vendorHandle: number
  generatedHandle: number
  interpretedValue: number
}

function compareRecord(
  ours: DecodedRecord,
  th: TsharkFrame,
  advHex: string[] | undefined,
  attHex: string | undefined,
  problems: string[],
  exempt: Exempt,
  compared: Record<string, number>,
): void {
  const f = ours.frame
  const say = (what: string, a: unknown, b: unknown): void => {
    problems.push(`frame ${f}: ${what}: ours ${JSON.stringify(a)}, tshark ${JSON.stringify(b)}`)
  }
  // type and direction
  const h4 = num(th['hci_h4.type'][0])
  const mon = num(th['hci_mon.opcode'][0])
  const theirType =
    h4 !== undefined ? (TYPES[h4] ?? 'other') : mon !== undefined ? (MON_TYPES[mon] ?? 'other') : 'other'
  if (ours.type !== theirType) say('type', ours.type, theirType)
  const d = num(th['hci_h4.direction'][0])
  if (d !== undefined) {
    const theirDir = d === 0 ? 'tx' : 'rx'
    if (ours.dir !== theirDir) say('direction', ours.dir, theirDir)
  }
  if (ours.type === 'cmd') {
    compared['cmd']!++
    const op = num(th['bthci_cmd.opcode'][0])
    if (ours.opcode !== op) say('opcode', ours.opcode, op)
  }
  if (ours.type === 'evt') {
    compared['evt']!++
    const code = num(th['bthci_evt.code'][0])
    if (ours.event !== code) say('event code', ours.event, code)
    const sub = num(th['bthci_evt.le_meta_subevent'][0])
    if (ours.subevent !== sub) say('subevent', ours.subevent, sub)
    if (sub === 0x02 || sub === 0x0b || sub === 0x0d) compareReports(ours, th, advHex ?? [], say, compared)
  }
  if (ours.type === 'acl') {
    const handle = num(th['bthci_acl.chandle'][0])
    if (ours.handle !== handle) say('ACL handle', ours.handle, handle)
    const pb = num(th['bthci_acl.pb_flag'][0])
    if (pb !== undefined && ours.pb !== pb) say('ACL PB flag', ours.pb, pb)
    const len = num(th['bthci_acl.length'][0])
    if (len !== undefined && ours.length !== len) say('ACL length', ours.length, len)
    if (ours.handle === VENDOR_HANDLE) {
      exempt.vendorHandle++
      return
    }
    compareL2cap(ours, th, attHex, say, compared, exempt)
  }
}

function compareReports(
  ours: DecodedRecord,
  th: TsharkFrame,
  advHex: string[],
  say: (what: string, a: unknown, b: unknown) => void,
  compared: Record<string, number>,
): void {
  const reports = ours.reports ?? []
  const addrs = th['bthci_evt.bd_addr']
  const types = th['bthci_evt.le_peer_address_type']
  const rssis = th['bthci_evt.rssi']
  const lens = th['bthci_evt.data_length']
  if (reports.length !== addrs.length) {
    say('number of reports', reports.length, addrs.length)
    return
  }
  reports.forEach((r, i) => {
    compared['adv']!++
    if (r.address.toLowerCase() !== addrs[i]) say(`report ${i} address`, r.address, addrs[i])
    if (r.addressType !== num(types[i])) say(`report ${i} address type`, r.addressType, num(types[i]))
    if (r.rssi !== num(rssis[i])) say(`report ${i} rssi`, r.rssi, num(rssis[i]))
    if (r.data.length / 2 !== num(lens[i])) say(`report ${i} data length`, r.data.length / 2, num(lens[i]))
    // tshark shows no advertising-data item for an empty data field
    const theirData = advHex[i] ?? ''
    if (r.data !== theirData) say(`report ${i} data`, r.data, theirData)
  })
}

function compareL2cap(
  ours: DecodedRecord,
  th: TsharkFrame,
  attHex: string | undefined,
  say: (what: string, a: unknown, b: unknown) => void,
  compared: Record<string, number>,
  exempt: Exempt,
): void {
  const attOp = num(th['btatt.opcode'][0])
  if (attOp !== undefined || ours.att) {
    compared['att']!++
    if (ours.att?.opcode !== attOp) {
      say('ATT opcode', ours.att?.opcode, attOp)
      return
    }
    const handles = th['btatt.handle']
    const handle = num(handles[0])
    if (NO_HANDLE.has(attOp!) && ours.att?.handle === undefined && handle !== undefined) exempt.generatedHandle++
    else if (ours.att?.handle !== handle) say('ATT handle', ours.att?.handle, handle)
    const header = VALUE_HEADER[attOp!]
    const v = th['btatt.value'][0]
    let value = v === undefined ? undefined : v.replace(/:/g, '')
    if (header !== undefined && (value === undefined || handles.length > 1) && attHex !== undefined) {
      exempt.interpretedValue++
      value = attHex.slice(header * 2, attOp === 0xd2 ? attHex.length - SIGNATURE * 2 : undefined)
    }
    if (ours.att?.value !== value) say('ATT value', ours.att?.value, value)
  }
  const smp = num(th['btsmp.opcode'][0])
  if (smp !== undefined || ours.smp) {
    compared['smp']!++
    if (ours.smp?.code !== smp) say('SMP code', ours.smp?.code, smp)
  }
  const sig = num(th['btl2cap.cmd_code'][0])
  if (ours.signaling || (sig !== undefined && num(th['btl2cap.cid'][0]) === 5)) {
    compared['sig']!++
    if (ours.signaling?.code !== sig) say('signalling code', ours.signaling?.code, sig)
  }
}
