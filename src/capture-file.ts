/**
 * Capture files on disk: the thin fs edge of hci/snoop.ts (btsnoop, pcap, pcapng of HCI
 * traffic, Core v5.4 Vol 4 Part A 2 / Part E 5.4 packets).
 *
 * hci/ does no I/O of its own; here a path becomes the chunk stream `readCapture` takes, and a
 * Node Writable (a file, process.stdout) becomes the sink the writers write to, with
 * back-pressure: a write waits for 'drain' when the stream asks it to.
 */
import { createReadStream, createWriteStream } from 'node:fs'
import { once } from 'node:events'
import { finished } from 'node:stream/promises'
import { CaptureError } from '../hci/errors.ts'
import {
  BtsnoopWriter,
  PcapWriter,
  readCapture,
  type CaptureRecord,
  type CaptureSink,
  type ReadOptions,
  type SnoopWriteRecord,
} from '../hci/snoop.ts'

async function* fileChunks(path: string): AsyncGenerator<Uint8Array> {
  const stream = createReadStream(path)
  try {
    for await (const chunk of stream) yield chunk as Uint8Array
  } catch (e) {
    throw new CaptureError(`cannot read ${path}: ${(e as Error).message}`, { cause: e })
  } finally {
    stream.destroy()
  }
}

/** The records of the capture file at `path` (format from its magic bytes), streamed. */
export function openCapture(path: string, opts: ReadOptions = {}): AsyncGenerator<CaptureRecord> {
  return readCapture(fileChunks(path), opts)
}

/**
 * A sink over a Node Writable (process.stdout, a socket, a file stream): each write resolves
 * once the stream can take more, and rejects once the stream has failed.
 */
export function writableSink(stream: NodeJS.WritableStream): CaptureSink & { readonly error: Error | undefined } {
  let error: Error | undefined
  stream.on('error', (e: Error) => {
    error ??= e
  })
  return {
    get error() {
      return error
    },
    async write(chunk: Uint8Array): Promise<void> {
      if (error !== undefined) throw error
      if (!stream.write(chunk)) await once(stream, 'drain')
    },
  }
}

export type WritableCaptureFormat = 'btsnoop-1002' | 'pcap'

export interface CaptureFile {
  readonly path: string
  readonly format: WritableCaptureFormat
  write(rec: SnoopWriteRecord): Promise<void>
  /** Flush and close the file; rejects if any write failed. */
  close(): Promise<void>
}

/** Create (or truncate) a capture file and write its header. */
export function createCaptureFile(path: string, format: WritableCaptureFormat): CaptureFile {
  const stream = createWriteStream(path)
  const sink = writableSink(stream)
  const writer = format === 'pcap' ? new PcapWriter(sink) : new BtsnoopWriter(sink)
  let closed = false
  return {
    path,
    format,
    async write(rec) {
      if (closed) throw new CaptureError(`${path} is closed`)
      await writer.write(rec)
    },
    async close() {
      if (closed) return
      closed = true
      // Wait for writes queued behind back-pressure, then end the stream.
      try {
        await writer.flush()
        stream.end()
        await finished(stream)
      } catch (e) {
        throw new CaptureError(`cannot write ${path}: ${(e as Error).message}`, { cause: e })
      }
      if (sink.error !== undefined) {
        throw new CaptureError(`cannot write ${path}: ${sink.error.message}`, { cause: sink.error })
      }
    },
  }
}
