/**
 * The record model shared by every capture reader and writer.
 *
 * A capture record is one HCI packet as it crossed the host/controller boundary (Core v5.4 Vol 4
 * Part A 2: the H4 packet indicator 1 command, 2 ACL, 3 synchronous, 4 event, 5 ISO), with its
 * timestamp and direction, or one non-packet record of a BlueZ monitor trace. Numbering and
 * lengths follow what Wireshark shows, so a record can be matched to tshark's frame.number.
 */
import type { ChunkQueue } from './chunks.ts'

/** tx = host to controller, rx = controller to host. */
export type Direction = 'tx' | 'rx'

export interface CaptureNote {
  /** What the monitor record says: 'new-index', 'system-note', 'user-logging', ... */
  kind: string
  /** Human-readable content, where the record has some (note text, adapter name, log line). */
  text?: string
  /** The monitor opcode (btsnoop 2001 flags, low 16 bits). */
  opcode: number
}

export interface CaptureRecord {
  /** 1-based, the same numbering as Wireshark's frame.number. */
  index: number
  /** Microseconds since 1970-01-01 UTC, as the file says (may be negative or boot-relative). */
  timestampUs: bigint
  direction: Direction | undefined
  /** H4 packet type: 1 cmd, 2 acl, 3 sco, 4 evt, 5 iso; undefined for non-packet records. */
  packetType: number | undefined
  /** Packet bytes without the H4 type byte or any pseudo-header (a view where possible). */
  data: Uint8Array
  /**
   * Length of the packet when it was captured, counted like `data` (no type byte, no
   * pseudo-header). `data.length < originalLength` when the capture was cut short by a snaplen.
   */
  originalLength: number
  /** Controller index of a BlueZ monitor record (0xffff = not tied to a controller). */
  adapter?: number
  /** For monitor records that are not HCI packets. */
  note?: CaptureNote
  /** Set when the record could not be understood (truncated, bad length, unknown type). */
  error?: string
}

export type CaptureFormat = 'btsnoop-1001' | 'btsnoop-1002' | 'btsnoop-2001' | 'pcap' | 'pcap-ns' | 'pcapng'

export interface ReadOptions {
  /**
   * The largest record (or pcapng block) accepted, in bytes. A length field above it ends the
   * read with an `error` record instead of buffering. Default 16 MiB; HCI packets are < 64 KiB.
   */
  maxRecordBytes?: number
}

export const DEFAULT_MAX_RECORD_BYTES = 16 * 1024 * 1024

/** H4 packet indicators (Core v5.4 Vol 4 Part A 2). */
export const H4_COMMAND = 1
export const H4_ACL = 2
export const H4_SCO = 3
export const H4_EVENT = 4
export const H4_ISO = 5

/** What a reader needs to build a record; the caller numbers it. */
export type RecordBody = Omit<CaptureRecord, 'index'>

const EMPTY = new Uint8Array(0)

/** A record that says what went wrong and nothing else it cannot vouch for. */
export function errorBody(error: string, timestampUs = 0n, data: Uint8Array = EMPTY): RecordBody {
  return { timestampUs, direction: undefined, packetType: undefined, data, originalLength: data.length, error }
}

/**
 * An H4 frame (type byte then packet) to a record body. `originalLength` counts the type byte
 * (callers remove any pseudo-header from it first); the record's lengths do not.
 */
/**
 * The `included` bytes of the record whose header ended at byte `at`, for the readers of record
 * formats (btsnoop, pcap): a record over the bound, or cut short by the end of the file, yields
 * an error record instead and returns undefined, which ends the read. Use with `yield*`.
 */
export function* recordData(
  q: ChunkQueue,
  at: number,
  included: number,
  maxRecordBytes: number,
  timestampUs: bigint,
): Generator<RecordBody | number, Uint8Array | undefined, boolean> {
  if (included > maxRecordBytes) {
    yield errorBody(
      `record at byte ${at} claims ${included} bytes, over the ${maxRecordBytes}-byte bound; reading stops`,
      timestampUs,
    )
    return undefined
  }
  if (included > q.available && !(yield included)) {
    const tail = q.takeAll()
    yield errorBody(
      `truncated record at byte ${at}: header says ${included} bytes, the file ends after ${tail.length}`,
      timestampUs,
      tail,
    )
    return undefined
  }
  return q.take(included)
}

export function h4Body(
  frame: Uint8Array,
  originalLength: number,
  timestampUs: bigint,
  direction: Direction | undefined,
): RecordBody {
  if (frame.length === 0) {
    return { ...errorBody('record holds no H4 packet type byte', timestampUs), direction }
  }
  const packetType = frame[0]!
  const body: RecordBody = {
    timestampUs,
    direction,
    packetType,
    data: frame.subarray(1),
    originalLength: Math.max(0, originalLength - 1),
  }
  if (packetType < H4_COMMAND || packetType > H4_ISO) {
    body.error = `unknown H4 packet type 0x${packetType.toString(16).padStart(2, '0')}`
  }
  return body
}

// Big- and little-endian reads at fixed offsets of a header already known to be long enough.

export function u16(b: Uint8Array, o: number, le: boolean): number {
  return le ? b[o]! | (b[o + 1]! << 8) : (b[o]! << 8) | b[o + 1]!
}

export function u32(b: Uint8Array, o: number, le: boolean): number {
  return le
    ? (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000
    : b[o]! * 0x1000000 + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!)
}

export function putU32(b: Uint8Array, o: number, v: number, le: boolean): void {
  if (le) {
    b[o] = v & 0xff
    b[o + 1] = (v >>> 8) & 0xff
    b[o + 2] = (v >>> 16) & 0xff
    b[o + 3] = v >>> 24
  } else {
    b[o] = v >>> 24
    b[o + 1] = (v >>> 16) & 0xff
    b[o + 2] = (v >>> 8) & 0xff
    b[o + 3] = v & 0xff
  }
}

export function putU16(b: Uint8Array, o: number, v: number, le: boolean): void {
  if (le) {
    b[o] = v & 0xff
    b[o + 1] = v >>> 8
  } else {
    b[o] = v >>> 8
    b[o + 1] = v & 0xff
  }
}

export function hex(v: number, digits = 2): string {
  return '0x' + v.toString(16).padStart(digits, '0')
}

/** Anything with a write method: a Node Writable, process.stdout, an array collector. */
export interface CaptureSink {
  write(chunk: Uint8Array): unknown
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function'
}

/**
 * Writes chunks to a sink in order. Synchronous sinks stay synchronous (no promise is made);
 * once a sink returns a promise, later writes wait for it, so order is kept and back-pressure
 * reaches the caller through the promise `write` returns.
 */
export class OrderedSink {
  private pending: Promise<void> | undefined

  constructor(private readonly sink: CaptureSink) {}

  write(chunk: Uint8Array): void | Promise<void> {
    let p: Promise<void>
    if (this.pending !== undefined) {
      p = this.pending.then(() => this.sink.write(chunk)).then(() => undefined)
    } else {
      const r = this.sink.write(chunk)
      if (!isThenable(r)) return
      p = Promise.resolve(r).then(() => undefined)
    }
    this.pending = p
    p.then(
      () => {
        if (this.pending === p) this.pending = undefined
      },
      () => undefined,
    )
    return p
  }

  /** Resolves when every chunk written so far has been taken by the sink. */
  flush(): Promise<void> {
    return this.pending ?? Promise.resolve()
  }
}
