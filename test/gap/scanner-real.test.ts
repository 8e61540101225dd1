/**
 * The scanner's report -> advertisement path (gap/scan-report.ts, the same functions the Scanner
 * runs on every LE Advertising Report, Core v5.4 Vol 4 Part E 7.7.65.2, and LE Extended
 * Advertising Report, 7.7.65.13) on every advertising report of our own traces (fixtures/) and
 * of the real-trace corpus (test/helpers/real.ts), checked against tshark's reading of the same events: address, address
 * type, RSSI, event type, PHYs, SID, TX power, the raw AD bytes (tshark with btcommon disabled),
 * and AD fields (names, 16-bit service UUIDs, company identifiers) in data order.
 */
import t, { type Test } from 'tap'
import { createReadStream } from 'node:fs'
import { readCapture } from '../../hci/snoop.ts'
import { decodeEvent } from '../../hci/events.ts'
import { DecodeError } from '../../hci/errors.ts'
import { toHex } from '../../hci/wire.ts'
import { fromExtendedReport, fromLegacyReport, toAdvertisement, type Advertisement } from '../../gap/scan-report.ts'
import { realTest, realTraces, shortName } from '../helpers/real.ts'
import { fixtureTraces } from '../helpers/fixtures.ts'
import { missing } from '../helpers/tools.ts'
import { num, tsharkAdvertisingData, tsharkFrames, type TsharkFrame } from '../helpers/tshark.ts'

type Row = TsharkFrame

/** tshark's rows of the LE Advertising Report and LE Extended Advertising Report events. */
async function tsharkReports(file: string): Promise<Map<number, Row>> {
  const out = new Map<number, Row>()
  for (const [n, row] of await tsharkFrames(file)) {
    const sub = num(row['bthci_evt.le_meta_subevent'][0])
    if (num(row['bthci_evt.code'][0]) === 0x3e && (sub === 0x02 || sub === 0x0d)) out.set(n, row)
  }
  return out
}

interface Ours {
  frame: number
  ads: Advertisement[]
}

async function ours(file: string): Promise<{ frames: Ours[]; decodeErrors: number }> {
  const frames: Ours[] = []
  let decodeErrors = 0
  for await (const r of readCapture(createReadStream(file))) {
    if (r.packetType !== 4 || r.data[0] !== 0x3e || (r.data[2] !== 0x02 && r.data[2] !== 0x0d)) continue
    const e = decodeEvent(r.data)
    if (e instanceof DecodeError) {
      decodeErrors++
      continue
    }
    if (e.key === 'LeAdvertisingReport')
      frames.push({
        frame: r.index,
        ads: e.params.reports.map((x) => toAdvertisement(fromLegacyReport(x), undefined, 0)),
      })
    else if (e.key === 'LeExtendedAdvertisingReport')
      frames.push({
        frame: r.index,
        ads: e.params.reports.map((x) => toAdvertisement(fromExtendedReport(x), undefined, 0)),
      })
  }
  return { frames, decodeErrors }
}

const hex4 = (n: number): string => n.toString(16).padStart(4, '0')
/** The raw bytes of one report: the data of an advertisement, the scan response of a SCAN_RSP. */
const raw = (a: Advertisement): Uint8Array => a.scanResponse ?? a.data

/** 16-bit UUIDs in data order: the lists (0x02, 0x03, 0x14) and the service data (0x16) UUID. */
function uuid16s(a: Advertisement): number[] {
  const out: number[] = []
  for (const s of a.ad.structures) {
    if (s.type === 0x02 || s.type === 0x03 || s.type === 0x14)
      for (let i = 0; i + 1 < s.data.length; i += 2) out.push(s.data[i]! | (s.data[i + 1]! << 8))
    else if (s.type === 0x16 && s.data.length >= 2) out.push(s.data[0]! | (s.data[1]! << 8))
  }
  return out
}

function compare(
  file: string,
  mine: Ours[],
  theirs: Map<number, Row>,
  bytes: Map<number, string[]>,
): { reports: number; diffs: string[] } {
  const diffs: string[] = []
  let reports = 0
  const d = (frame: number, what: string, tv: unknown, ov: unknown): void => {
    if (JSON.stringify(tv) !== JSON.stringify(ov))
      diffs.push(`${shortName(file)} frame ${frame} ${what}: tshark ${JSON.stringify(tv)}, ours ${JSON.stringify(ov)}`)
  }
  if (mine.length !== theirs.size)
    diffs.push(`${shortName(file)}: ${theirs.size} report events for tshark, ${mine.length} for us`)
  for (const { frame, ads } of mine) {
    const row = theirs.get(frame)
    if (!row) {
      diffs.push(`${shortName(file)} frame ${frame}: not a report for tshark`)
      continue
    }
    reports += ads.length
    const ext = ads.some((a) => a.extended)
    d(
      frame,
      'address',
      row['bthci_evt.bd_addr'].map((s) => s.toUpperCase()),
      ads.map((a) => a.address),
    )
    d(
      frame,
      'address type',
      row['bthci_evt.le_peer_address_type'].map(num),
      ads.map((a) => a.rawAddressType),
    )
    d(
      frame,
      'rssi',
      row['bthci_evt.rssi'].map(num),
      ads.map((a) => a.rssi),
    )
    if (ext) {
      // tshark prints the whole Event_Type, Data_Status included; ours has it removed.
      d(
        frame,
        'event type',
        row['bthci_evt.le_ext_advts_event_type'].map((s) => num(s)! & 0x1f),
        ads.map((a) => a.eventType),
      )
      d(
        frame,
        'primary phy',
        row['bthci_evt.primary_phy'].map(num),
        ads.map((a) => ({ '1M': 1, '2M': 2, coded: 3 })[a.primaryPhy]),
      )
      d(
        frame,
        'secondary phy',
        row['bthci_evt.secondary_phy'].map(num),
        ads.map((a) => (a.secondaryPhy ? { '1M': 1, '2M': 2, coded: 3 }[a.secondaryPhy] : 0)),
      )
      d(
        frame,
        'sid',
        row['bthci_evt.advertising_sid'].map(num),
        ads.map((a) => a.sid ?? 0xff),
      )
      // Report TX power (127 = not available); ours falls back to the AD's Tx Power Level.
      d(
        frame,
        'tx power',
        row['bthci_evt.tx_power'].map(num).filter((v) => v !== 127),
        ads
          .filter(
            (a) =>
              (a.txPower !== undefined && a.ad.txPower !== a.txPower) ||
              (a.txPower !== undefined && a.ad.txPower === undefined),
          )
          .map((a) => a.txPower),
      )
    } else {
      d(
        frame,
        'event type',
        row['bthci_evt.le_advts_event_type'].map(num),
        ads.map((a) => a.eventType),
      )
    }
    d(
      frame,
      'raw data',
      bytes.get(frame) ?? [],
      ads.map((a) => toHex(raw(a))).filter((h) => h !== ''),
    )
    // AD fields in data order over the frame's reports.
    d(
      frame,
      'uuid_16',
      row['btcommon.eir_ad.entry.uuid_16'].map((s) => num(s)),
      ads.flatMap(uuid16s),
    )
    d(
      frame,
      'company_id',
      row['btcommon.eir_ad.entry.company_id'].map((s) => hex4(num(s)!)),
      ads.flatMap((a) => a.ad.manufacturerData.map((m) => hex4(m.companyId))),
    )
  }
  return { reports, diffs }
}

/** Every trace's reports compared; the number of reports and of extended report events. */
async function check(t: Test, files: string[]): Promise<{ total: number; extended: number }> {
  let total = 0
  let extended = 0
  for (const file of files) {
    const [mine, theirs, bytes] = await Promise.all([ours(file), tsharkReports(file), tsharkAdvertisingData(file)])
    if (mine.frames.length === 0 && theirs.size === 0) continue
    const { reports, diffs } = compare(file, mine.frames, theirs, bytes)
    total += reports
    extended += mine.frames.filter((f) => f.ads.some((a) => a.extended)).length
    t.equal(mine.decodeErrors, 0, `${shortName(file)}: every report event decodes`)
    t.same(diffs.slice(0, 10), [], `${shortName(file)}: ${reports} reports, ${diffs.length} disagreements`)
  }
  return { total, extended }
}

t.test(
  'every advertising report of our own traces, through the scanner path, as tshark reads it',
  { skip: missing('tshark') },
  async (t) => {
    const { total, extended } = await check(t, fixtureTraces())
    t.ok(total > 10, `${total} reports compared`)
    t.ok(extended > 0, `${extended} extended report events among them`)
  },
)

realTest(
  'every advertising report of the real traces, through the scanner path, as tshark reads it',
  { skip: missing('tshark') },
  async (t) => {
    const { total, extended } = await check(t, realTraces())
    t.ok(total > 100_000, `${total} reports compared`)
    t.ok(extended > 70_000, `${extended} extended report events among them`)
  },
)
