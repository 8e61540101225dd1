/**
 * Captures of what a raw host (test/helpers/virtual.ts RawHost) exchanged with a virtual
 * controller, written as btsnoop and read back with tshark (the independent decoder): the
 * fields asked for, per frame, as tshark prints them.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { HciPacket } from '../../hci/transport.ts'
import { BtsnoopWriter } from '../../hci/snoop.ts'

export interface Logged {
  direction: 'tx' | 'rx'
  packet: HciPacket
}

/** A btsnoop (1002) capture of the packets, 1 ms apart. */
export function btsnoopOf(log: readonly Logged[]): Uint8Array {
  const chunks: Uint8Array[] = []
  const w = new BtsnoopWriter({ write: (c: Uint8Array) => void chunks.push(c.slice()) })
  log.forEach((l, i) => {
    void w.write({
      timestampUs: BigInt(i) * 1000n,
      direction: l.direction,
      packetType: l.packet.type,
      data: l.packet.data,
    })
  })
  return Buffer.concat(chunks)
}

/** tshark's view of the capture: per frame (1-based, in log order), each field's values. */
export function tsharkFieldsOf(log: readonly Logged[], fields: readonly string[]): Array<Record<string, string[]>> {
  const dir = mkdtempSync(join(tmpdir(), 'hcikit-virtual-'))
  try {
    const file = join(dir, 'capture.btsnoop')
    writeFileSync(file, btsnoopOf(log))
    const args = ['-r', file, '-n', '-T', 'fields', '-E', 'separator=/t', '-E', 'aggregator=|', '-E', 'occurrence=a']
    for (const f of ['frame.number', ...fields]) args.push('-e', f)
    const text = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    const out: Array<Record<string, string[]>> = []
    for (const line of text.split('\n')) {
      if (!line) continue
      const cols = line.split('\t')
      const frame: Record<string, string[]> = {}
      fields.forEach((f, i) => {
        const v = cols[i + 1] ?? ''
        frame[f] = v === '' ? [] : v.split('|')
      })
      out[Number(cols[0]) - 1] = frame
    }
    return out
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
