/**
 * BlueZ monitor records (btsnoop datalink 2001, pcap link type 254) to capture records.
 *
 * The monitor channel carries an opcode per record: HCI packets in each direction (Core v5.4
 * Vol 4 Part E 5.4: command, ACL, synchronous, event and ISO packets, without the H4 type byte)
 * and control records (controller added/removed/opened, system notes, log lines). Packets map
 * to an H4 type and direction; everything else becomes a `note` with a short text where the
 * record has one. Layouts of the control records follow BlueZ's btsnoop/monitor documentation.
 */
import { H4_ACL, H4_COMMAND, H4_EVENT, H4_ISO, H4_SCO, hex, u16, type Direction, type RecordBody } from './record.ts'

const PACKETS: ReadonlyMap<number, readonly [number, Direction]> = new Map([
  [2, [H4_COMMAND, 'tx']],
  [3, [H4_EVENT, 'rx']],
  [4, [H4_ACL, 'tx']],
  [5, [H4_ACL, 'rx']],
  [6, [H4_SCO, 'tx']],
  [7, [H4_SCO, 'rx']],
  [18, [H4_ISO, 'tx']],
  [19, [H4_ISO, 'rx']],
])

const NOTES: readonly string[] = [
  'new-index', // 0
  'delete-index',
  '', // 2..7 are packets
  '',
  '',
  '',
  '',
  '',
  'open-index', // 8
  'close-index',
  'index-info',
  'vendor-diag',
  'system-note',
  'user-logging',
  'ctrl-open',
  'ctrl-close',
  'ctrl-command',
  'ctrl-event', // 17
]

const utf8 = new TextDecoder('utf-8')

/** A NUL-terminated (or not) string from a byte range. */
function cString(b: Uint8Array, from: number, to = b.length): string {
  const end = Math.min(to, b.length)
  let nul = from
  while (nul < end && b[nul] !== 0) nul++
  return from >= end ? '' : utf8.decode(b.subarray(from, nul))
}

function address(b: Uint8Array, o: number): string {
  const parts: string[] = []
  for (let i = 5; i >= 0; i--) parts.push(b[o + i]!.toString(16).padStart(2, '0'))
  return parts.join(':')
}

/** The readable part of a control record, when its layout has one and the bytes are there. */
function noteText(opcode: number, p: Uint8Array): string | undefined {
  switch (opcode) {
    case 0: // New Index: type(1) bus(1) bd_addr(6) name(8)
      return p.length >= 16 ? `${cString(p, 8, 16)} ${address(p, 2)}` : undefined
    case 10: // Index Info: bd_addr(6) manufacturer(2)
      return p.length >= 8 ? `${address(p, 0)} manufacturer ${hex(u16(p, 6, true), 4)}` : undefined
    case 12: // System Note: a string
      return cString(p, 0)
    case 13: {
      // User Logging: priority(1) ident_len(1) ident(ident_len) message
      if (p.length < 2) return undefined
      const identEnd = 2 + p[1]!
      if (identEnd > p.length) return undefined
      const ident = cString(p, 2, identEnd)
      const message = cString(p, identEnd)
      return ident === '' ? message : `${ident}: ${message}`
    }
    case 14: {
      // Control Open: cookie(4) format(2) version(3) flags(4) ident_len(1) ident
      if (p.length < 14) return undefined
      const end = 14 + p[13]!
      return end > p.length ? undefined : cString(p, 14, end)
    }
    default:
      return undefined
  }
}

/** One monitor record to a record body. `payload` is what follows the opcode. */
export function monitorBody(
  opcode: number,
  adapter: number,
  payload: Uint8Array,
  originalLength: number,
  timestampUs: bigint,
): RecordBody {
  const packet = PACKETS.get(opcode)
  if (packet !== undefined) {
    return { timestampUs, direction: packet[1], packetType: packet[0], data: payload, originalLength, adapter }
  }
  const kind = NOTES[opcode] || 'unknown'
  const body: RecordBody = {
    timestampUs,
    direction: undefined,
    packetType: undefined,
    data: payload,
    originalLength,
    adapter,
    note: { kind, opcode },
  }
  const text = noteText(opcode, payload)
  if (text !== undefined) body.note!.text = text
  return body
}
