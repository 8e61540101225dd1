/**
 * btsnoop capture files: reader (datalinks 1001, 1002, 2001) and writer (1002).
 *
 * btsnoop is the Symbian/Frontline format that Android and BlueZ write: a 16-byte header
 * ("btsnoop\0", version 1, datalink) and records of original length, included length, flags,
 * cumulative drops (u32 each) and a timestamp (i64, microseconds since 0000-01-01), all
 * big-endian. Flags bit 0 is the direction (0 sent by the host, 1 received from the
 * controller); bit 1 marks commands and events. Datalink 1001 holds bare HCI packets (Core v5.4
 * Vol 4 Part E 5.4), so the packet type comes from the flags; 1002 holds H4 frames with the
 * packet indicator (Vol 4 Part A 2); 2001 is the BlueZ monitor format, whose flags carry the
 * controller index (high 16 bits) and a monitor opcode (low 16 bits).
 */
import type { ChunkQueue, FormatReader } from './chunks.ts'
import { monitorBody } from './monitor.ts'
import {
  H4_ACL,
  H4_COMMAND,
  H4_EVENT,
  OrderedSink,
  errorBody,
  h4Body,
  recordData,
  putU32,
  u32,
  type CaptureSink,
  type Direction,
  type RecordBody,
} from './record.ts'

export const BTSNOOP_MAGIC = new Uint8Array([0x62, 0x74, 0x73, 0x6e, 0x6f, 0x6f, 0x70, 0x00])
export const BTSNOOP_HEADER_BYTES = 16
const RECORD_HEADER_BYTES = 24
/** Microseconds from 0000-01-01 (btsnoop's epoch) to 1970-01-01. */
export const BTSNOOP_EPOCH_OFFSET_US = 0x00dcddb30f2f8000n

const FLAG_RECEIVED = 1
const FLAG_COMMAND_OR_EVENT = 2

export type BtsnoopDatalink = 1001 | 1002 | 2001

function timestampOf(h: Uint8Array): bigint {
  const hi = BigInt(u32(h, 16, false))
  const lo = BigInt(u32(h, 20, false))
  return BigInt.asIntN(64, (hi << 32n) | lo) - BTSNOOP_EPOCH_OFFSET_US
}

/** Records of a btsnoop file whose 16-byte header the caller has checked and holds. */
export function* readBtsnoop(
  q: ChunkQueue,
  datalink: BtsnoopDatalink,
  maxRecordBytes: number,
): FormatReader<RecordBody> {
  q.take(BTSNOOP_HEADER_BYTES)
  for (;;) {
    if (q.available < RECORD_HEADER_BYTES && !(yield RECORD_HEADER_BYTES)) {
      if (q.available === 0) return
      const tail = q.takeAll()
      yield errorBody(`truncated record header: ${tail.length} of ${RECORD_HEADER_BYTES} bytes`, 0n, tail)
      return
    }
    const at = q.position
    const h = q.take(RECORD_HEADER_BYTES)
    const originalLength = u32(h, 0, false)
    const included = u32(h, 4, false)
    const flags = u32(h, 8, false)
    const timestampUs = timestampOf(h)
    const data = yield* recordData(q, at, included, maxRecordBytes, timestampUs)
    if (!data) return
    const direction: Direction = flags & FLAG_RECEIVED ? 'rx' : 'tx'
    if (datalink === 1002) {
      yield h4Body(data, originalLength, timestampUs, direction)
    } else if (datalink === 1001) {
      const packetType = flags & FLAG_COMMAND_OR_EVENT ? (direction === 'rx' ? H4_EVENT : H4_COMMAND) : H4_ACL
      yield { timestampUs, direction, packetType, data, originalLength }
    } else {
      yield monitorBody(flags & 0xffff, flags >>> 16, data, originalLength, timestampUs)
    }
  }
}

export interface SnoopWriteRecord {
  timestampUs: bigint
  direction: Direction
  packetType: number
  data: Uint8Array
}

export function checkWriteRecord(rec: SnoopWriteRecord): void {
  if (rec.direction !== 'tx' && rec.direction !== 'rx') {
    throw new RangeError(`direction: ${String(rec.direction)} (expected 'tx' or 'rx')`)
  }
  if (!Number.isInteger(rec.packetType) || rec.packetType < 0 || rec.packetType > 0xff) {
    throw new RangeError(`packetType: ${rec.packetType} is not a one-byte H4 packet indicator`)
  }
}

/**
 * Writes a btsnoop 1002 (H4) capture. The file header goes to the sink at construction, each
 * record as one chunk, so the output can be a pipe (process.stdout) and read while it grows.
 * `write` returns a promise only when the sink does (back-pressure); otherwise it is synchronous.
 */
export class BtsnoopWriter {
  private readonly out: OrderedSink

  constructor(sink: CaptureSink, opts: { datalink?: 1002 } = {}) {
    const datalink = opts.datalink ?? 1002
    if (datalink !== 1002) throw new RangeError(`btsnoop datalink ${String(datalink)}: only 1002 is written`)
    this.out = new OrderedSink(sink)
    const h = new Uint8Array(BTSNOOP_HEADER_BYTES)
    h.set(BTSNOOP_MAGIC, 0)
    putU32(h, 8, 1, false)
    putU32(h, 12, datalink, false)
    // The constructor cannot wait; a later write() queues behind this one if the sink is async.
    void this.out.write(h)
  }

  write(rec: SnoopWriteRecord): void | Promise<void> {
    checkWriteRecord(rec)
    const ts = rec.timestampUs + BTSNOOP_EPOCH_OFFSET_US
    if (ts !== BigInt.asIntN(64, ts)) throw new RangeError(`timestampUs ${rec.timestampUs} does not fit btsnoop`)
    const length = rec.data.length + 1
    const b = new Uint8Array(RECORD_HEADER_BYTES + length)
    putU32(b, 0, length, false)
    putU32(b, 4, length, false)
    const cmdEvt = rec.packetType === H4_COMMAND || rec.packetType === H4_EVENT ? FLAG_COMMAND_OR_EVENT : 0
    putU32(b, 8, (rec.direction === 'rx' ? FLAG_RECEIVED : 0) | cmdEvt, false)
    // drops (12..15) stay 0
    const u = BigInt.asUintN(64, ts)
    putU32(b, 16, Number(u >> 32n), false)
    putU32(b, 20, Number(u & 0xffffffffn), false)
    b[RECORD_HEADER_BYTES] = rec.packetType
    b.set(rec.data, RECORD_HEADER_BYTES + 1)
    return this.out.write(b)
  }

  /** Resolves when everything written so far (header included) has been taken by the sink. */
  flush(): Promise<void> {
    return this.out.flush()
  }
}
