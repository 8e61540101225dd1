/**
 * Test helpers for the end-to-end GATT tests: record every HCI packet one host exchanges with its
 * controller (a Transport decorator, so only that host's packets are in it), write them as a
 * btsnoop capture, and ask tshark (the independent oracle) how it reads the L2CAP and ATT PDUs
 * of the session: how many, and which frames it finds malformed.
 */
import { createCaptureFile } from '../../src/capture-file.ts'
import { tsharkText, type TsharkOptions } from '../helpers/tshark.ts'

// The recording transport is the fixture recorder's (scripts/fixture-world.ts): one implementation.
export { recording, type Recorded } from '../../scripts/fixture-world.ts'
import type { Recorded } from '../../scripts/fixture-world.ts'

export async function writeBtsnoop(path: string, records: readonly Recorded[]): Promise<void> {
  const f = createCaptureFile(path, 'btsnoop-1002')
  for (const r of records) await f.write(r)
  await f.close()
}

export interface TsharkSummary {
  frames: number
  /** Frames tshark shows an L2CAP header in. */
  l2cap: number
  /** ATT PDUs tshark decoded (one per frame that carries one). */
  att: number
  /** ATT opcodes by frame, in order. */
  attOpcodes: number[]
  /** L2CAP signalling command codes, in order. */
  signaling: number[]
  malformed: number[]
}

/** tshark's reading of a capture; `cache` for a kept one (fixtures/), not for a session's own. */
export async function tsharkSummary(file: string, opts: TsharkOptions = { cache: false }): Promise<TsharkSummary> {
  const stdout = await tsharkText(
    file,
    [
      '-n',
      '-T',
      'fields',
      '-E',
      'separator=/t',
      '-E',
      'aggregator=|',
      '-E',
      'occurrence=a',
      '-e',
      'frame.number',
      '-e',
      'btl2cap.cid',
      '-e',
      'btatt.opcode',
      '-e',
      'btl2cap.cmd_code',
      '-e',
      '_ws.malformed',
    ],
    opts,
  )
  const s: TsharkSummary = { frames: 0, l2cap: 0, att: 0, attOpcodes: [], signaling: [], malformed: [] }
  for (const line of stdout.split('\n')) {
    if (line === '') continue
    const [n, cid, op, cmd, bad] = line.split('\t')
    s.frames++
    if (cid) s.l2cap++
    if (op) {
      s.att++
      s.attOpcodes.push(parseInt(op.split('|')[0]!, 16))
    }
    if (cmd) for (const c of cmd.split('|')) s.signaling.push(parseInt(c, 16))
    if (bad) s.malformed.push(Number(n))
  }
  return s
}

/** L2CAP PDUs (reassembled, as our host saw them) on `cid` in a recording: count by direction. */
export function attPdusIn(records: readonly Recorded[]): { tx: number; rx: number } {
  // ACL packets whose PB flag marks a first fragment carry the L2CAP header: count those on CID 4.
  let tx = 0
  let rx = 0
  for (const r of records) {
    if (r.packetType !== 0x02 || r.data.length < 8) continue
    const pb = (r.data[1]! >> 4) & 0x3
    if (pb === 0x1) continue
    const cid = r.data[6]! | (r.data[7]! << 8)
    if (cid !== 0x0004) continue
    if (r.direction === 'tx') tx++
    else rx++
  }
  return { tx, rx }
}
