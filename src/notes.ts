/**
 * hcikit's note records: a line of text put between the packets of a session, so the log and
 * the capture show what hcikit did around them (an injected fault, the start and end of a public
 * API call). A note travels on the packet diagnostics channel (hci/host.ts PACKET_CHANNEL) as a
 * packet of H4 type 0xFF, which the Bluetooth H4 transport (Core v5.4 Vol 4 Part A 2) does not
 * assign, with the UTF-8 text as its bytes: every subscriber records it in order with the
 * packets (btsnoop and pcap captures keep it as a record; Wireshark shows "HCI Packet Type:
 * Unknown (0xff)" with the text in its bytes), and the decoder (decoder.ts) prints it as a note.
 * Readers of hcikit captures skip it: it is no HCI packet (replay.ts does not play it).
 */
import { channel } from 'node:diagnostics_channel'
import { PACKET_CHANNEL, type PacketMessage } from '../hci/host.ts'

/** The H4 packet type of a note record. */
export const NOTE_PACKET_TYPE = 0xff
/** A note longer than this (octets of UTF-8) is cut. */
export const MAX_NOTE_BYTES = 1024

const packets = channel(PACKET_CHANNEL)
const utf8 = new TextEncoder()
const text = new TextDecoder('utf-8', { fatal: false })

/** The bytes of a note record for `s` (cut to MAX_NOTE_BYTES). */
export function noteBytes(s: string): Uint8Array {
  const b = utf8.encode(s)
  return b.length > MAX_NOTE_BYTES ? b.subarray(0, MAX_NOTE_BYTES) : b
}

/** The text of a note record. */
export function noteText(data: Uint8Array): string {
  return text.decode(data)
}

/** Is anyone recording (a log, a capture, the flight recorder)? Build notes only then. */
export function notesWanted(): boolean {
  return packets.hasSubscribers
}

/** Which adapter a note belongs to (its host's PacketMessage.hostId and hostName), when one does. */
export interface NoteHost {
  id: number
  name?: string | undefined
}

/** Put a note in the session's log and captures, among the packets of `host` when given. */
export function publishNote(s: string, timestampUs?: bigint, host?: NoteHost): void {
  if (!packets.hasSubscribers) return
  const m: PacketMessage = {
    direction: 'tx',
    type: NOTE_PACKET_TYPE,
    data: noteBytes(s),
    timestampUs: timestampUs ?? BigInt(Date.now()) * 1000n,
    hostId: host?.id,
    hostName: host?.name,
  }
  packets.publish(m)
}
