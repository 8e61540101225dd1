/**
 * `replay:FILE` in mode 'controller' (src/transports/replay.ts, replay-controller.ts,
 * replay-facts.ts) with small captures written here: our bring-up answered from the capture's
 * facts (address, version, buffers as recorded; what the capture lacks made up and counted),
 * playback only once the host scans, advertising reports only while it scans, the capture's
 * answers to its own host withheld, the controller's follow-up events (Disconnection Complete,
 * completed packets, a cancelled connection), the captured pace, and the clean end.
 */
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BtsnoopWriter, type CaptureRecord } from '../../hci/snoop.ts'
import { encodeCommand, LeSetScanEnable, ReadBdAddr, Disconnect, LeCreateConnectionCancel } from '../../hci/commands.ts'
import type { HciPacket } from '../../hci/transport.ts'
import { open } from '../../src/adapter.ts'
import { ReplayTransport, openReplay } from '../../src/transports/replay.ts'
import { within } from './helpers.ts'

// Packets written by hand from Core v5.4 Vol 4 Part E 7.7.14 (Command Complete), 7.7.65.2 (LE
// Advertising Report), 7.7.65.1 (LE Connection Complete), 7.7.5, 7.7.19; independent of the encoders.
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'))
const CC_READ_BD_ADDR = hex('0e 0a 01 0910 00 66 55 44 33 22 11') // 11:22:33:44:55:66
const CC_LE_READ_BUFFER = hex('0e 07 01 0220 00 1b00 03') // 27 octets x 3
const CC_READ_VERSION = hex('0e 0c 01 0110 00 0c 3412 0c 0f00 7856') // v5.3, company 0x000f
const CC_SCAN_ENABLE_FAILED = hex('0e 04 01 0c20 0c') // Command Disallowed, for the recorded host
const NOCP = hex('13 05 01 4000 0100')
const report = (last: number): Uint8Array =>
  hex(`3e 0f 02 01 00 00 ${last.toString(16).padStart(2, '0')}0000000000 03 020106 c4`)
const CONNECTED = hex('3e 13 01 00 4000 00 00 0102030405c0 1800 0000 c800 00')

interface Rec {
  dir: 'tx' | 'rx'
  type: number
  data: Uint8Array
  ms?: number
}

function records(list: Rec[]): AsyncIterable<CaptureRecord> {
  return (async function* () {
    let index = 0
    for (const r of list) {
      index++
      const timestampUs = BigInt(Math.round((r.ms ?? index) * 1000))
      yield { index, timestampUs, direction: r.dir, packetType: r.type, data: r.data, originalLength: r.data.length }
    }
  })()
}

function writeCapture(dir: string, list: Rec[]): string {
  const chunks: Uint8Array[] = []
  const w = new BtsnoopWriter({ write: (c: Uint8Array) => void chunks.push(c.slice()) })
  list.forEach((r, i) =>
    w.write({
      timestampUs: BigInt(Math.round((r.ms ?? i) * 1000)),
      direction: r.dir,
      packetType: r.type,
      data: r.data,
    }),
  )
  const path = join(dir, 'capture.btsnoop')
  writeFileSync(path, Buffer.concat(chunks))
  return path
}

/** A host by hand: what the replay sends it, and a way to send. */
function drive(replay: ReplayTransport): { got: HciPacket[]; next(n: number): Promise<HciPacket[]> } {
  const got: HciPacket[] = []
  let waiters: Array<() => void> = []
  replay.onPacket((p) => {
    got.push(p)
    for (const w of waiters) w()
    waiters = []
  })
  return {
    got,
    async next(n) {
      while (got.length < n) await within(new Promise<void>((r) => waiters.push(r)), `${n} packets from the replay`)
      return got.splice(0, n)
    },
  }
}

const evt = (b: Uint8Array): Rec => ({ dir: 'rx', type: 4, data: b })

t.test("open(): bring-up reads the recorded controller's facts; a scan sees what it advertised", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hcikit-replay-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = writeCapture(dir, [
    { dir: 'tx', type: 1, data: encodeCommand(ReadBdAddr, {}) },
    evt(CC_READ_BD_ADDR),
    evt(CC_LE_READ_BUFFER),
    evt(CC_READ_VERSION),
    evt(CC_SCAN_ENABLE_FAILED),
    evt(report(0xa1)),
    evt(NOCP),
    evt(report(0xa2)),
  ])
  const adapter = await open({ transport: `replay:${path}`, env: {}, timeout: 5000 })
  t.equal(adapter.address, '11:22:33:44:55:66', 'the address of the recorded controller')
  t.same(adapter.info.buffers.le, { length: 27, count: 3 }, 'its LE buffers')
  t.equal(adapter.info.hciVersion, 0x0c)
  t.equal(adapter.info.manufacturer, 0x000f)
  const seen: string[] = []
  for await (const ad of adapter.scan({ active: false })) seen.push(ad.address)
  t.same(
    seen.sort(),
    ['00:00:00:00:00:A1', '00:00:00:00:00:A2'],
    'the scan ends with the capture, every advertiser seen',
  )
  t.equal(adapter.state, 'closed', 'the end of the capture closes the adapter')
  t.equal(adapter.hci.stats.unmatchedResponses, 0, "no answers to another host's commands reached ours")
  await adapter.close()
})

t.test('controller mode by hand: answers, gates and follow-up events', async (t) => {
  const replay = new ReplayTransport(
    'test',
    records([evt(report(1)), evt(CC_SCAN_ENABLE_FAILED), evt(NOCP), evt(CONNECTED), evt(report(2)), evt(report(3))]),
    { atEnd: 'stay', facts: { returns: new Map([[0x1009, CC_READ_BD_ADDR.subarray(5)]]), statusAnswered: new Set() } },
  )
  const host = drive(replay)
  replay.send({ type: 1, data: encodeCommand(ReadBdAddr, {}) })
  const [bd] = await host.next(1)
  t.same(bd!.data, CC_READ_BD_ADDR, 'Read BD_ADDR answered with the recorded return parameters')
  replay.send({ type: 1, data: hex('0c20 02 00 00') }) // LE Set Scan Enable, disabled
  t.same((await host.next(1))[0]!.data, hex('0e 04 01 0c20 00'), 'a status-only command is answered Success')
  t.equal(host.got.length, 0, 'nothing is played before the host scans')

  replay.send({ type: 1, data: encodeCommand(LeSetScanEnable, { enable: 1, filterDuplicates: 0 }) })
  const played = await host.next(4)
  t.same(played[0]!.data, hex('0e 04 01 0c20 00'), 'the scan enable answered first')
  t.same(
    played.slice(1).map((p) => p.data),
    [report(1), CONNECTED, report(2)],
    "then the capture, without its answers to the recorded host's command and data",
  )
  replay.send({ type: 1, data: encodeCommand(LeSetScanEnable, { enable: 0, filterDuplicates: 0 }) })
  t.same((await host.next(1))[0]!.data, hex('0e 04 01 0c20 00'))
  await within(replay.finished, 'the playback to end')
  t.equal(host.got.length, 0, 'the report after the scan stopped is not delivered')
  t.match(replay.stats.controller, { withheld: 2, notScanning: 1, answered: 4, fromCapture: 1, synthesized: 3 })

  replay.send({ type: 2, data: hex('4000 0700 0300 0400 0a0300') })
  t.same((await host.next(1))[0]!.data, NOCP, "the host's ACL packet completed")
  replay.send({ type: 1, data: encodeCommand(Disconnect, { connectionHandle: 0x40, reason: 0x13 }) })
  const [status, gone] = await host.next(2)
  t.same(status!.data, hex('0f 04 00 01 0604'), 'Disconnect: Command Status')
  t.same(gone!.data, hex('05 04 00 4000 16'), 'then Disconnection Complete, by the local host')
  replay.send({ type: 1, data: hex('0d20 19 6000 3000 00 00 000000000000 00 1800 2800 0000 4800 0000 0000') })
  await host.next(1)
  replay.send({ type: 1, data: encodeCommand(LeCreateConnectionCancel, {}) })
  const [cancelled, failed] = await host.next(2)
  t.same(cancelled!.data, hex('0e 04 01 0e20 00'))
  t.same(failed!.data.subarray(0, 4), hex('3e 13 01 02'), 'the attempt ends with Unknown Connection Identifier')
  await replay.close()
})

t.test("'captured' pace waits the recorded time between packets; 'close' ends the transport", async (t) => {
  const waits: number[] = []
  const replay = new ReplayTransport(
    'paced',
    records([
      { ...evt(report(1)), ms: 1000 },
      { ...evt(CC_SCAN_ENABLE_FAILED), ms: 1400 },
      { ...evt(report(2)), ms: 1250 },
      { ...evt(report(3)), ms: 3250 },
    ]),
    { pace: 'captured', endGraceMs: 0, wait: async (ms) => void waits.push(ms) },
  )
  const closed = new Promise<Error | undefined>((resolve) => replay.onClose(resolve))
  const host = drive(replay)
  replay.send({ type: 1, data: encodeCommand(LeSetScanEnable, { enable: 1, filterDuplicates: 0 }) })
  await host.next(4)
  t.same(waits, [250, 2000], 'the gaps between delivered packets (a withheld one does not count)')
  t.equal(await within(closed, 'the transport to close'), undefined, 'closed cleanly after the last record')
})

t.test('openReplay reads the facts from the file before playing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hcikit-replay-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = writeCapture(dir, [evt(report(1)), evt(CC_READ_BD_ADDR)])
  const replay = await openReplay(path, { atEnd: 'stay' })
  const host = drive(replay)
  replay.send({ type: 1, data: encodeCommand(ReadBdAddr, {}) })
  t.same((await host.next(1))[0]!.data, CC_READ_BD_ADDR, 'an answer recorded after the first report is known')
  replay.startPlayback()
  const stats = await within(replay.finished, 'the playback started by hand to end')
  t.equal(
    stats.controller?.notScanning,
    1,
    'startPlayback() plays without a scan; the report is not for a host that does not scan',
  )
  await replay.close()
})

t.test('replay:FILE,paced asks for the captured pace', async (t) => {
  const { parseTransportSpec, formatTransportSpec } = await import('../../src/transports/index.ts')
  t.same(parseTransportSpec('replay:a b.btsnoop,paced'), { kind: 'replay', path: 'a b.btsnoop', pace: 'captured' })
  t.same(parseTransportSpec('replay:a.log'), { kind: 'replay', path: 'a.log' })
  t.equal(formatTransportSpec(parseTransportSpec('replay:x.pcap,paced')), 'replay:x.pcap,paced')
  t.throws(() => parseTransportSpec('replay:,paced'), { name: 'TransportSpecError', message: /no capture file/ })
})
