/**
 * HCIKIT_LOG and HCIKIT_SNOOP (docs/ARCHITECTURE.md, house style 7): both are subscribers of the
 * one diagnostics channel on which HciHost publishes every packet it sends and receives (Core
 * v5.4 Vol 4 Part E 5.4 packets with their H4 indicator, Vol 4 Part A 2). The host knows nothing
 * about logging or capture files.
 *
 * - `HCIKIT_LOG=1` prints each packet, decoded, to stderr (and the stack's decisions, published
 *   on 'hcikit:log').
 * - `HCIKIT_SNOOP=path` writes a btsnoop (datalink 1002) capture Wireshark opens; a path ending
 *   in `.pcap` writes pcap (link type 201) instead; `-` streams pcap to stdout (src/snoop-capture.ts).
 *
 * Several adapters in one process: every packet names its host (PacketMessage.hostId/hostName).
 * The log decodes each host's packets apart (their connection handles are their own) and, once a
 * second host shows up, prefixes each line with `[#id name]`; a capture gets one file per host.
 */
import diagnostics_channel from 'node:diagnostics_channel'
import type { Writable } from 'node:stream'
import { PACKET_CHANNEL, type PacketMessage } from '../hci/host.ts'
import { TraceDecoder, formatRecord } from './decoder.ts'
import { startSnoop, type CaptureSubscription, type SnoopOptions } from './snoop-capture.ts'

export { PACKET_CHANNEL, type PacketMessage }
export { startSnoop, type CaptureSubscription, type SnoopOptions }
export const LOG_CHANNEL = 'hcikit:log'

export interface LogMessage {
  /** The part of the stack that decided (e.g. 'host', 'gatt'). */
  source: string
  message: string
}

/** Publish one of the stack's decisions (printed when logging is on). */
export function logDecision(source: string, message: string): void {
  const ch = diagnostics_channel.channel(LOG_CHANNEL)
  if (ch.hasSubscribers) ch.publish({ source, message } satisfies LogMessage)
}

export interface Subscription {
  close(): Promise<void>
}

/** `#2 usb:0a12:0001`: how a host is named in logs and capture notices. */
export function hostLabel(p: PacketMessage): string {
  return `#${p.hostId ?? 0}${p.hostName ? ` ${p.hostName}` : ''}`
}

/**
 * Print every packet and decision to a stream (stderr by default). A stream that fails (a closed
 * pipe) ends the logging quietly; the application goes on.
 */
export function startLogging(out: Writable = process.stderr): Subscription {
  const hosts = new Map<number, { decoder: TraceDecoder; frame: number }>()
  let failed = false
  const write = (s: string): void => {
    if (!failed) out.write(s)
  }
  const onError = (): void => {
    failed = true
  }
  out.on('error', onError)
  const onPacket = (m: unknown): void => {
    const p = m as PacketMessage
    const id = p.hostId ?? 0
    let h = hosts.get(id)
    if (h === undefined) {
      h = { decoder: new TraceDecoder(), frame: 0 }
      hosts.set(id, h)
      if (hosts.size === 2) write(`   [log] a second adapter (${hostLabel(p)}): lines are now prefixed [#id name]\n`)
    }
    const rec = h.decoder.decode({
      index: ++h.frame,
      timestampUs: p.timestampUs ?? BigInt(Date.now()) * 1000n,
      direction: p.direction,
      packetType: p.type,
      data: p.data,
      originalLength: p.data.length,
    })
    write(`${hosts.size > 1 ? `[${hostLabel(p)}] ` : ''}${formatRecord(rec)}\n`)
  }
  const onLog = (m: unknown): void => {
    const l = m as LogMessage
    write(`   [${l.source}] ${l.message}\n`)
  }
  diagnostics_channel.subscribe(PACKET_CHANNEL, onPacket)
  diagnostics_channel.subscribe(LOG_CHANNEL, onLog)
  return {
    async close() {
      diagnostics_channel.unsubscribe(PACKET_CHANNEL, onPacket)
      diagnostics_channel.unsubscribe(LOG_CHANNEL, onLog)
      out.off('error', onError)
    },
  }
}

/**
 * Start what the environment asks for (HCIKIT_LOG, HCIKIT_SNOOP). Throws CaptureError (and
 * starts nothing) when the HCIKIT_SNOOP path cannot be written.
 */
export function startFromEnv(env: NodeJS.ProcessEnv = process.env, o: SnoopOptions = {}): Subscription[] {
  const subs: Subscription[] = []
  const snoop = env['HCIKIT_SNOOP']
  if (snoop) subs.push(startSnoop(snoop, undefined, o))
  const log = env['HCIKIT_LOG']
  if (log && log !== '0' && log !== 'false') subs.push(startLogging())
  return subs
}
