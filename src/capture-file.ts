/**
 * Capture files on disk: the thin fs edge of hci/snoop.ts (btsnoop, pcap, pcapng of HCI
 * traffic, Core v5.4 Vol 4 Part A 2 / Part E 5.4 packets).
 *
 * hci/ does no I/O of its own; here a path becomes the chunk stream `readCapture` takes, and a
 * file or a Node Writable (process.stdout) becomes the sink the writers write to.
 *
 * Files are written synchronously, one record per write(2), for two reasons (docs/RELIABILITY.md):
 * a path that cannot be written fails at once, where the caller can still say so (a missing
 * directory when the file is opened, a full disk when its header is written), and a capture
 * holds every packet up to the moment the process died, which is when one needs it most. A
 * Writable (a pipe to Wireshark) gets back-pressure instead: a write waits for 'drain'.
 */
import { closeSync, createReadStream, openSync, writeSync } from 'node:fs'
import { once } from 'node:events'
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

const HINTS: Record<string, string> = {
  ENOENT: 'the directory does not exist: create it, or give a path in an existing directory',
  EACCES: 'no permission to write there: choose a directory you can write to',
  EPERM: 'no permission to write there: choose a directory you can write to',
  EISDIR: 'that is a directory: give a file name inside it',
  ENOSPC: 'the disk (or device) is full: free some space or write the capture elsewhere',
  EROFS: 'the file system is read-only: write the capture elsewhere',
  EDQUOT: 'the disk quota is used up: free some space or write the capture elsewhere',
  EFBIG: 'the file reached the size limit of this process (ulimit -f) or of the file system',
  EPIPE: 'the reader of the capture went away',
}

/** A failed write or open of a capture file as a CaptureError saying which path and why. */
export function captureWriteError(path: string, e: unknown, doing = 'cannot write'): CaptureError {
  const code = (e as NodeJS.ErrnoException).code
  const why = e instanceof Error ? e.message.replace(/^\w+: /, '').replace(/, \w+( '.*')?$/, '') : String(e)
  const hint = code === undefined ? undefined : HINTS[code]
  return new CaptureError(`${doing} capture ${path}: ${why}`, { cause: e, hint })
}

/** A file written synchronously: write() throws CaptureError when the bytes could not all be written. */
export interface FileSink extends CaptureSink {
  readonly path: string
  write(chunk: Uint8Array): void
  close(): void
}

/** Create (or truncate) `path` for writing; throws CaptureError (with a hint) when that is not possible. */
export function openFileSink(path: string): FileSink {
  let fd: number | undefined
  try {
    fd = openSync(path, 'w')
  } catch (e) {
    throw captureWriteError(path, e, 'cannot create')
  }
  return {
    path,
    write(chunk) {
      if (fd === undefined) throw new CaptureError(`capture ${path} is closed`)
      try {
        for (let at = 0; at < chunk.length; ) at += writeSync(fd, chunk, at)
      } catch (e) {
        throw captureWriteError(path, e)
      }
    },
    close() {
      if (fd === undefined) return
      const f = fd
      fd = undefined
      closeSync(f)
    },
  }
}

export type WritableCaptureFormat = 'btsnoop-1002' | 'pcap'

/** The writer of a format over a sink (its header is written at once). */
export function captureWriter(sink: CaptureSink, format: WritableCaptureFormat): BtsnoopWriter | PcapWriter {
  return format === 'pcap' ? new PcapWriter(sink) : new BtsnoopWriter(sink)
}

export interface CaptureFile {
  readonly path: string
  readonly format: WritableCaptureFormat
  write(rec: SnoopWriteRecord): Promise<void>
  /** Close the file; rejects if any write failed. */
  close(): Promise<void>
}

/**
 * Create (or truncate) a capture file and write its header. Throws CaptureError at once when the
 * file cannot be created or its header not written (missing directory, full disk).
 */
export function createCaptureFile(path: string, format: WritableCaptureFormat): CaptureFile {
  const sink = openFileSink(path)
  let writer: BtsnoopWriter | PcapWriter
  try {
    writer = captureWriter(sink, format)
  } catch (e) {
    sink.close()
    throw e
  }
  let failed: unknown
  let closed = false
  return {
    path,
    format,
    async write(rec) {
      if (closed) throw new CaptureError(`${path} is closed`)
      if (failed !== undefined) throw failed
      try {
        writer.write(rec)
      } catch (e) {
        if (e instanceof CaptureError) failed = e
        throw e
      }
    },
    async close() {
      if (closed) return
      closed = true
      sink.close()
      if (failed !== undefined) throw failed
    },
  }
}
