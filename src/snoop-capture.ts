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
import {
  captureWriteError,
  captureWriter,
  openFileSink,
  type FileSink,
  type WritableCaptureFormat,
} from './capture-file.ts'

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

/** Where records go when there is no file for them. */
const NOWHERE: Target = { path: '-', writer: undefined, file: undefined }

/** The capture behind startSnoop(): one target per host, failures reported once. */
class SnoopCapture implements CaptureSubscription {
  private readonly targets = new Map<number, Target>()
  /** The target opened at start, for the first host that shows up. */
  private first: Target | undefined
  private failure: CaptureError | undefined
  private lost = 0
  private closed = false
  private readonly onPacket = (m: unknown): void => this.record(m as PacketMessage)
  private readonly onStdoutError = (e: Error): void => {
    for (const t of this.targets.values()) t.writer = undefined
    if (this.first) this.first.writer = undefined
    this.fail(captureWriteError('-', e))
  }

  constructor(
    private readonly path: string,
    private readonly format: WritableCaptureFormat,
    private readonly stdout: NodeJS.WritableStream | undefined,
    private readonly onError: (e: CaptureError) => void,
  ) {
    // The first file is opened now, so that a path that cannot be written fails here.
    this.first = this.open(path)
    stdout?.on('error', this.onStdoutError)
    diagnostics_channel.subscribe(PACKET_CHANNEL, this.onPacket)
  }

  get paths(): readonly string[] {
    const all = [...this.targets.values()].map((t) => t.path)
    if (this.first !== undefined) all.unshift(this.first.path)
    return [...new Set(all)]
  }

  get error(): CaptureError | undefined {
    return this.failure
  }

  get dropped(): number {
    return this.lost
  }

  private fail(e: CaptureError): void {
    if (this.failure !== undefined) return
    this.failure = e
    this.onError(e)
  }

  private open(p: string): Target {
    if (this.stdout === undefined) {
      const file = openFileSink(p)
      try {
        return { path: p, writer: captureWriter(file, this.format), file }
      } catch (e) {
        file.close()
        throw e
      }
    }
    const out = this.stdout
    const sink = { write: (chunk: Uint8Array) => void out.write(chunk) }
    return { path: '-', writer: captureWriter(sink, this.format), file: undefined }
  }

  /** Where a host's packets go: the first file, a file of its own, or nowhere (stdout is taken). */
  private targetOf(p: PacketMessage): Target {
    // A record of no host (an hcikit note: an API call's tag, an injected fault) goes with the
    // first host's packets, without taking the first file from the host that will show up.
    if (p.hostId === undefined) return this.first ?? this.targets.values().next().value ?? NOWHERE
    const id = p.hostId
    const known = this.targets.get(id)
    if (known !== undefined) return known
    let t: Target
    if (this.first !== undefined) {
      t = this.first
      this.first = undefined
    } else if (this.stdout !== undefined) {
      t = { path: '-', writer: undefined, file: undefined }
      this.fail(
        new CaptureError(`the capture on stdout records one adapter; #${id} ${p.hostName ?? ''} is not recorded`, {
          hint: 'give HCIKIT_SNOOP (or --snoop) a file path: one capture file per adapter',
        }),
      )
    } else {
      const path = hostCapturePath(this.path, id)
      try {
        t = this.open(path)
      } catch (e) {
        t = { path, writer: undefined, file: undefined }
        this.fail(e instanceof CaptureError ? e : captureWriteError(path, e))
      }
    }
    this.targets.set(id, t)
    return t
  }

  private record(p: PacketMessage): void {
    const t = this.targetOf(p)
    if (t.writer === undefined) {
      this.lost++
      return
    }
    if (this.stdout !== undefined && (this.stdout as { writableLength?: number }).writableLength! > MAX_PENDING_BYTES) {
      this.lost++
      this.fail(
        new CaptureError(`the capture on stdout falls behind: packets over ${MAX_PENDING_BYTES} bytes are dropped`, {
          hint: 'the reader of the capture (e.g. Wireshark) does not keep up; the count is in `dropped`',
        }),
      )
      return
    }
    try {
      const timestampUs = p.timestampUs ?? BigInt(Date.now()) * 1000n
      void t.writer.write({ timestampUs, direction: p.direction, packetType: p.type, data: p.data })
    } catch (e) {
      this.lost++
      t.writer = undefined
      t.file?.close()
      this.fail(e instanceof CaptureError ? e : captureWriteError(t.path, e))
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    diagnostics_channel.unsubscribe(PACKET_CHANNEL, this.onPacket)
    // An EPIPE from the last writes arrives a turn later: stay the listener until then.
    const out = this.stdout
    if (out !== undefined) setImmediate(() => out.off('error', this.onStdoutError))
    this.first?.file?.close()
    for (const t of this.targets.values()) t.file?.close()
  }
}

/**
 * Record every packet into a capture: btsnoop by default, pcap (link type 201) when asked, or
 * when the path ends in `.pcap` or is `-` (stdout). Throws CaptureError when `path` cannot be
 * created or written.
 */
export function startSnoop(path: string, format?: 'btsnoop' | 'pcap', o: SnoopOptions = {}): CaptureSubscription {
  const pcap = format === 'pcap' || (format === undefined && (path === '-' || path.endsWith('.pcap')))
  const stdout = path === '-' ? (o.stdout ?? process.stdout) : undefined
  return new SnoopCapture(path, pcap ? 'pcap' : 'btsnoop-1002', stdout, o.onError ?? warn)
}
