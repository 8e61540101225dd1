/**
 * HCIKIT_LOG and HCIKIT_SNOOP (ARCHITECTURE.md, house style 7): both are subscribers of the one
 * diagnostics channel on which HciHost publishes every packet it sends and receives. The host
 * knows nothing about logging or capture files.
 *
 * - `HCIKIT_LOG=1` prints each packet, decoded, to stderr (and the stack's decisions, published
 *   on 'hcikit:log').
 * - `HCIKIT_SNOOP=path` writes a btsnoop (datalink 1002) capture Wireshark opens; a path ending
 *   in `.pcap` writes pcap (link type 201) instead; `-` streams pcap to stdout.
 */
import diagnostics_channel from 'node:diagnostics_channel'
import { createWriteStream } from 'node:fs'
import type { Writable } from 'node:stream'
import { PACKET_CHANNEL, type PacketMessage } from '../hci/host.ts'
import { BtsnoopWriter, PcapWriter } from '../hci/snoop.ts'
import { TraceDecoder, formatRecord } from './decoder.ts'

export { PACKET_CHANNEL, type PacketMessage }
export const LOG_CHANNEL = 'hcikit:log'

export interface LogMessage {
  /** The part of the stack that decided (e.g. 'host', 'gatt'). */
  source: string
  message: string
}

function nowUs(): bigint {
  return BigInt(Date.now()) * 1000n
}

/** Publish one of the stack's decisions (printed when logging is on). */
export function logDecision(source: string, message: string): void {
  const ch = diagnostics_channel.channel(LOG_CHANNEL)
  if (ch.hasSubscribers) ch.publish({ source, message } satisfies LogMessage)
}

export interface Subscription {
  close(): Promise<void>
}

/** Print every packet and decision to a stream (stderr by default). */
export function startLogging(out: Writable = process.stderr): Subscription {
  const decoder = new TraceDecoder()
  let frame = 0
  const onPacket = (m: unknown): void => {
    const p = m as PacketMessage
    const rec = decoder.decode({
      index: ++frame,
      timestampUs: p.timestampUs ?? nowUs(),
      direction: p.direction,
      packetType: p.type,
      data: p.data,
      originalLength: p.data.length,
    })
    out.write(formatRecord(rec) + '\n')
  }
  const onLog = (m: unknown): void => {
    const l = m as LogMessage
    out.write(`   [${l.source}] ${l.message}\n`)
  }
  diagnostics_channel.subscribe(PACKET_CHANNEL, onPacket)
  diagnostics_channel.subscribe(LOG_CHANNEL, onLog)
  return {
    async close() {
      diagnostics_channel.unsubscribe(PACKET_CHANNEL, onPacket)
      diagnostics_channel.unsubscribe(LOG_CHANNEL, onLog)
    },
  }
}

/**
 * Record every packet into a capture file: btsnoop by default, pcap (link type 201) when asked,
 * or when the path ends in `.pcap` or is `-` (stdout).
 */
export function startSnoop(path: string, format?: 'btsnoop' | 'pcap'): Subscription {
  const pcap = format === 'pcap' || (format === undefined && (path === '-' || path.endsWith('.pcap')))
  const stream: Writable = path === '-' ? process.stdout : createWriteStream(path)
  const sink = { write: (chunk: Uint8Array) => void stream.write(chunk) }
  const writer = pcap ? new PcapWriter(sink) : new BtsnoopWriter(sink)
  const onPacket = (m: unknown): void => {
    const p = m as PacketMessage
    void writer.write({
      timestampUs: p.timestampUs ?? nowUs(),
      direction: p.direction,
      packetType: p.type,
      data: p.data,
    })
  }
  diagnostics_channel.subscribe(PACKET_CHANNEL, onPacket)
  return {
    async close() {
      diagnostics_channel.unsubscribe(PACKET_CHANNEL, onPacket)
      if (stream !== process.stdout) await new Promise<void>((resolve) => stream.end(resolve))
    },
  }
}

/** Start what the environment asks for (HCIKIT_LOG, HCIKIT_SNOOP). */
export function startFromEnv(env: NodeJS.ProcessEnv = process.env): Subscription[] {
  const subs: Subscription[] = []
  const log = env['HCIKIT_LOG']
  if (log && log !== '0' && log !== 'false') subs.push(startLogging())
  const snoop = env['HCIKIT_SNOOP']
  if (snoop) subs.push(startSnoop(snoop))
  return subs
}
