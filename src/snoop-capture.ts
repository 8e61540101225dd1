/**
 * HCIKIT_SNOOP / `--snoop` / `--pcap`: a subscriber of the packet diagnostics channel that
 * records every HCI packet (Core v5.4 Vol 4 Part E 5.4, with its H4 indicator, Vol 4 Part A 2)
 * as btsnoop 1002 or pcap 201 (hci/snoop.ts), to a file or to stdout (`-`).
 *
 * Failures never reach the application as an exception it cannot catch (docs/RELIABILITY.md):
 * - a path that cannot be created or a header that cannot be written throws CaptureError from
 *   startSnoop(), before anything is subscribed;
 * - a write that fails later (disk full, the reader of stdout gone) ends that capture, is
 *   reported once through `onError`, and counts the packets not recorded in `dropped`;
 * - stdout that does not keep up holds at most MAX_PENDING_BYTES; beyond that, packets are
 *   dropped and counted, so memory stays bounded.
 * Several adapters (hosts) in one process never share a file: the first host seen writes to
 * `path`, each other one to `path` with `-<hostId>` before the extension (`x.btsnoop` ->
 * `x-3.btsnoop`). On stdout, which is one stream, only the first host is recorded.
 */
import diagnostics_channel from 'node:diagnostics_channel'
import { extname } from 'node:path'
import { CaptureError } from '../hci/errors.ts'
import { PACKET_CHANNEL, type PacketMessage } from '../hci/host.ts'
import type { BtsnoopWriter, PcapWriter } from '../hci/snoop.ts'
import { captureWriteError, captureWriter, openFileSink, type FileSink } from './capture-file.ts'

/** Bytes a capture on stdout may have waiting before packets are dropped (and counted). */
export const MAX_PENDING_BYTES = 16 * 1024 * 1024

export interface SnoopOptions {
  /** Where `-` writes (default process.stdout). */
  stdout?: NodeJS.WritableStream
  /** Told once, when the capture stops recording something (default: a process warning). */
  onError?: (e: CaptureError) => void
}

export interface CaptureSubscription {
  /** The files written so far: one per host seen (`-` for stdout). */
  readonly paths: readonly string[]
  /** The first failure; whatever it concerned stopped recording there. */
  readonly error: CaptureError | undefined
  /** Packets not recorded (after a failure, beyond the stdout bound, other hosts on stdout). */
  readonly dropped: number
  close(): Promise<void>
}

interface Target {
  path: string
  writer: BtsnoopWriter | PcapWriter | undefined
  file: FileSink | undefined
}

function warn(e: CaptureError): void {
  process.emitWarning(e.message, { code: 'HCIKIT_CAPTURE', detail: e.hint })
}

/** `x.btsnoop` -> `x-3.btsnoop` for host 3. */
export function hostCapturePath(path: string, hostId: number): string {
  const ext = extname(path)
  return `${path.slice(0, path.length - ext.length)}-${hostId}${ext}`
}

/**
 * Record every packet into a capture: btsnoop by default, pcap (link type 201) when asked, or
 * when the path ends in `.pcap` or is `-` (stdout). Throws CaptureError when `path` cannot be
 * created or written.
 */
export function startSnoop(path: string, format?: 'btsnoop' | 'pcap', o: SnoopOptions = {}): CaptureSubscription {
  const pcap = format === 'pcap' || (format === undefined && (path === '-' || path.endsWith('.pcap')))
  const fmt = pcap ? 'pcap' : 'btsnoop-1002'
  const onError = o.onError ?? warn
  const stdout = path === '-' ? (o.stdout ?? process.stdout) : undefined
  const targets = new Map<number, Target>()
  let error: CaptureError | undefined
  let dropped = 0
  let closed = false
  const fail = (e: CaptureError): void => {
    if (error !== undefined) return
    error = e
    onError(e)
  }

  const open = (p: string): Target => {
    if (stdout === undefined) {
      const file = openFileSink(p)
      try {
        return { path: p, writer: captureWriter(file, fmt), file }
      } catch (e) {
        file.close()
        throw e
      }
    }
    const sink = { write: (chunk: Uint8Array) => void stdout.write(chunk) }
    return { path: '-', writer: captureWriter(sink, fmt), file: undefined }
  }
  // The first file is opened now, so that a path that cannot be written fails here.
  let first: Target | undefined = open(path)
  const onStdoutError = (e: Error): void => {
    for (const t of targets.values()) t.writer = undefined
    if (first) first.writer = undefined
    fail(captureWriteError('-', e))
  }
  stdout?.on('error', onStdoutError)

  const targetOf = (p: PacketMessage): Target | undefined => {
    const id = p.hostId ?? 0
    const known = targets.get(id)
    if (known !== undefined) return known
    let t: Target
    if (first !== undefined) {
      t = first
      first = undefined
    } else if (stdout !== undefined) {
      t = { path: '-', writer: undefined, file: undefined }
      fail(
        new CaptureError(`the capture on stdout records one adapter; #${id} ${p.hostName ?? ''} is not recorded`, {
          hint: 'give HCIKIT_SNOOP (or --snoop) a file path: one capture file per adapter',
        }),
      )
    } else {
      try {
        t = open(hostCapturePath(path, id))
      } catch (e) {
        t = { path: hostCapturePath(path, id), writer: undefined, file: undefined }
        fail(e instanceof CaptureError ? e : captureWriteError(t.path, e))
      }
    }
    targets.set(id, t)
    return t
  }

  const onPacket = (m: unknown): void => {
    const p = m as PacketMessage
    const t = targetOf(p)
    if (t === undefined || t.writer === undefined) {
      dropped++
      return
    }
    if (stdout !== undefined && (stdout as { writableLength?: number }).writableLength! > MAX_PENDING_BYTES) {
      dropped++
      fail(
        new CaptureError(`the capture on stdout falls behind: packets over ${MAX_PENDING_BYTES} bytes are dropped`, {
          hint: 'the reader of the capture (e.g. Wireshark) does not keep up; the count is in `dropped`',
        }),
      )
      return
    }
    try {
      void t.writer.write({
        timestampUs: p.timestampUs ?? BigInt(Date.now()) * 1000n,
        direction: p.direction,
        packetType: p.type,
        data: p.data,
      })
    } catch (e) {
      dropped++
      t.writer = undefined
      t.file?.close()
      fail(e instanceof CaptureError ? e : captureWriteError(t.path, e))
    }
  }
  diagnostics_channel.subscribe(PACKET_CHANNEL, onPacket)
  return {
    get paths() {
      const all = [...targets.values()].map((t) => t.path)
      if (first !== undefined) all.unshift(first.path)
      return [...new Set(all)]
    },
    get error() {
      return error
    },
    get dropped() {
      return dropped
    },
    async close() {
      if (closed) return
      closed = true
      diagnostics_channel.unsubscribe(PACKET_CHANNEL, onPacket)
      // An EPIPE from the last writes arrives a turn later: stay the listener until then.
      if (stdout !== undefined) setImmediate(() => stdout.off('error', onStdoutError))
      first?.file?.close()
      for (const t of targets.values()) t.file?.close()
    },
  }
}
