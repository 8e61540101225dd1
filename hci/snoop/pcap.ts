/**
 * pcap capture files with Bluetooth HCI link types: reader and writer (link type 201).
 *
 * A pcap file is a 24-byte header (magic 0xa1b2c3d4 for microsecond or 0xa1b23c4d for
 * nanosecond timestamps, in the writer's byte order, which the magic reveals; version, zone,
 * sigfigs, snaplen, link type) and records of seconds, fraction, included and original length.
 * Link type 201 (BLUETOOTH_HCI_H4_WITH_PHDR) prefixes each H4 frame (Core v5.4 Vol 4 Part A 2)
 * with a 4-byte big-endian direction word: bit 0 clear = sent by the host, set = received.
 * Also read: 187 (H4 without direction) and 254 (BlueZ monitor, adapter and opcode u16 BE).
 */
import { CaptureError } from '../errors.ts'
import type { ChunkQueue, FormatReader } from './chunks.ts'
import { checkWriteRecord, type SnoopWriteRecord } from './btsnoop.ts'
import { monitorBody } from './monitor.ts'
import {
  OrderedSink,
  errorBody,
  h4Body,
  putU16,
  putU32,
  recordData,
  u16,
  u32,
  type CaptureSink,
  type RecordBody,
} from './record.ts'

export const LINKTYPE_BLUETOOTH_HCI_H4 = 187
export const LINKTYPE_BLUETOOTH_HCI_H4_WITH_PHDR = 201
export const LINKTYPE_BLUETOOTH_LINUX_MONITOR = 254

export const PCAP_HEADER_BYTES = 24
const RECORD_HEADER_BYTES = 16
const PHDR_BYTES = 4
const WRITE_SNAPLEN = 65535

/** The byte order and timestamp resolution a pcap magic announces; undefined if it is none. */
export function pcapMagic(head: Uint8Array): { le: boolean; ns: boolean } | undefined {
  if (head.length < 4) return undefined
  const be = u32(head, 0, false)
  const le = u32(head, 0, true)
  if (be === 0xa1b2c3d4) return { le: false, ns: false }
  if (le === 0xa1b2c3d4) return { le: true, ns: false }
  if (be === 0xa1b23c4d) return { le: false, ns: true }
  if (le === 0xa1b23c4d) return { le: true, ns: true }
  return undefined
}

export function isBluetoothLinkType(linkType: number): boolean {
  return (
    linkType === LINKTYPE_BLUETOOTH_HCI_H4_WITH_PHDR ||
    linkType === LINKTYPE_BLUETOOTH_HCI_H4 ||
    linkType === LINKTYPE_BLUETOOTH_LINUX_MONITOR
  )
}

/** One captured frame of a Bluetooth link type to a record body (shared with pcapng). */
export function linkBody(linkType: number, frame: Uint8Array, originalLength: number, timestampUs: bigint): RecordBody {
  switch (linkType) {
    case LINKTYPE_BLUETOOTH_HCI_H4_WITH_PHDR: {
      if (frame.length < PHDR_BYTES) {
        return errorBody(
          `record of ${frame.length} bytes has no room for the 4-byte direction header`,
          timestampUs,
          frame,
        )
      }
      const direction = u32(frame, 0, false) & 1 ? 'rx' : 'tx'
      return h4Body(frame.subarray(PHDR_BYTES), originalLength - PHDR_BYTES, timestampUs, direction)
    }
    case LINKTYPE_BLUETOOTH_HCI_H4:
      return h4Body(frame, originalLength, timestampUs, undefined)
    case LINKTYPE_BLUETOOTH_LINUX_MONITOR:
      if (frame.length < 4) {
        return errorBody(
          `record of ${frame.length} bytes has no room for the 4-byte monitor header`,
          timestampUs,
          frame,
        )
      }
      return monitorBody(
        u16(frame, 2, false),
        u16(frame, 0, false),
        frame.subarray(4),
        Math.max(0, originalLength - 4),
        timestampUs,
      )
    default:
      return errorBody(`link type ${linkType} is not a Bluetooth HCI link type`, timestampUs, frame)
  }
}

/** Records of a pcap file; the caller has checked the magic. */
export function* readPcap(q: ChunkQueue, maxRecordBytes: number): FormatReader<RecordBody> {
  if (q.available < PCAP_HEADER_BYTES && !(yield PCAP_HEADER_BYTES)) {
    throw new CaptureError(`truncated pcap header: ${q.available} of ${PCAP_HEADER_BYTES} bytes`)
  }
  const h = q.take(PCAP_HEADER_BYTES)
  const { le, ns } = pcapMagic(h)!
  // The upper bits of the link-type word carry FCS information, not the link type.
  const linkType = u32(h, 20, le) & 0x03ffffff
  if (!isBluetoothLinkType(linkType)) {
    throw new CaptureError(`pcap link type ${linkType} is not Bluetooth HCI`, {
      hint: 'hcikit reads pcap link types 201 (BLUETOOTH_HCI_H4_WITH_PHDR), 187 (BLUETOOTH_HCI_H4) and 254 (BLUETOOTH_LINUX_MONITOR)',
    })
  }
  for (;;) {
    if (q.available < RECORD_HEADER_BYTES && !(yield RECORD_HEADER_BYTES)) {
      if (q.available === 0) return
      const tail = q.takeAll()
      yield errorBody(`truncated record header: ${tail.length} of ${RECORD_HEADER_BYTES} bytes`, 0n, tail)
      return
    }
    const at = q.position
    const r = q.take(RECORD_HEADER_BYTES)
    const seconds = BigInt(u32(r, 0, le))
    const fraction = u32(r, 4, le)
    const timestampUs = seconds * 1_000_000n + BigInt(ns ? Math.floor(fraction / 1000) : fraction)
    const included = u32(r, 8, le)
    const originalLength = u32(r, 12, le)
    const data = yield* recordData(q, at, included, maxRecordBytes, timestampUs)
    if (!data) return
    yield linkBody(linkType, data, originalLength, timestampUs)
  }
}

/**
 * Writes a pcap capture with link type 201, microsecond timestamps, little-endian, snaplen
 * 65535 (longer frames are cut there, with the original length kept, as pcap does). The header
 * goes to the sink at construction and each record as one chunk, so the sink can be a pipe.
 */
export class PcapWriter {
  private readonly out: OrderedSink

  constructor(sink: CaptureSink, _opts: Record<string, never> = {}) {
    this.out = new OrderedSink(sink)
    const h = new Uint8Array(PCAP_HEADER_BYTES)
    putU32(h, 0, 0xa1b2c3d4, true)
    putU16(h, 4, 2, true)
    putU16(h, 6, 4, true)
    // thiszone and sigfigs (8..15) stay 0
    putU32(h, 16, WRITE_SNAPLEN, true)
    putU32(h, 20, LINKTYPE_BLUETOOTH_HCI_H4_WITH_PHDR, true)
    void this.out.write(h)
  }

  write(rec: SnoopWriteRecord): void | Promise<void> {
    checkWriteRecord(rec)
    if (rec.timestampUs < 0n || rec.timestampUs >= 0x100000000n * 1_000_000n) {
      throw new RangeError(`timestampUs ${rec.timestampUs} does not fit pcap (1970 to 2106)`)
    }
    const original = PHDR_BYTES + 1 + rec.data.length
    const included = Math.min(original, WRITE_SNAPLEN)
    const b = new Uint8Array(RECORD_HEADER_BYTES + included)
    putU32(b, 0, Number(rec.timestampUs / 1_000_000n), true)
    putU32(b, 4, Number(rec.timestampUs % 1_000_000n), true)
    putU32(b, 8, included, true)
    putU32(b, 12, original, true)
    putU32(b, RECORD_HEADER_BYTES, rec.direction === 'rx' ? 1 : 0, false)
    b[RECORD_HEADER_BYTES + PHDR_BYTES] = rec.packetType
    b.set(rec.data.subarray(0, included - PHDR_BYTES - 1), RECORD_HEADER_BYTES + PHDR_BYTES + 1)
    return this.out.write(b)
  }

  /** Resolves when everything written so far (header included) has been taken by the sink. */
  flush(): Promise<void> {
    return this.out.flush()
  }
}
