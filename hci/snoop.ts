/**
 * Capture files of HCI traffic: the public entry for reading and writing them.
 *
 * `readCapture` takes the bytes of a btsnoop, pcap or pcapng file as an async stream of chunks
 * (a Node Readable, a fetch body, a generator) and yields one record per packet as the chunks
 * arrive, in constant memory. The format is chosen by the magic bytes, never by a file name.
 * Packets are HCI packets with their H4 packet indicator (Core v5.4 Vol 4 Part A 2, Part E 5.4).
 * Damage inside the file (a truncated last record, a length that cannot be) becomes a record
 * with `error`, and reading stops there when the framing is lost; only an unreadable start
 * (unknown magic, truncated file header) throws, as a CaptureError, before the first record.
 * This layer does no I/O of its own: src/capture-file.ts opens files.
 */
import { CaptureError } from './errors.ts'
import { BTSNOOP_HEADER_BYTES, BTSNOOP_MAGIC, readBtsnoop, type BtsnoopDatalink } from './snoop/btsnoop.ts'
import { ChunkQueue, type FormatReader } from './snoop/chunks.ts'
import { pcapMagic, readPcap } from './snoop/pcap.ts'
import { PCAPNG_SHB_TYPE, readPcapng } from './snoop/pcapng.ts'
import {
  DEFAULT_MAX_RECORD_BYTES,
  u32,
  type CaptureFormat,
  type CaptureRecord,
  type ReadOptions,
  type RecordBody,
} from './snoop/record.ts'

export type { CaptureFormat, CaptureNote, CaptureRecord, CaptureSink, Direction, ReadOptions } from './snoop/record.ts'
export { DEFAULT_MAX_RECORD_BYTES, H4_ACL, H4_COMMAND, H4_EVENT, H4_ISO, H4_SCO } from './snoop/record.ts'
export { BtsnoopWriter, BTSNOOP_EPOCH_OFFSET_US, type SnoopWriteRecord } from './snoop/btsnoop.ts'
export {
  PcapWriter,
  LINKTYPE_BLUETOOTH_HCI_H4,
  LINKTYPE_BLUETOOTH_HCI_H4_WITH_PHDR,
  LINKTYPE_BLUETOOTH_LINUX_MONITOR,
} from './snoop/pcap.ts'

/** Bytes `detectFormat` wants to see to tell every format apart. */
export const FORMAT_HEAD_BYTES = 16

export const READABLE_FORMATS =
  'btsnoop (datalink 1001 HCI, 1002 H4, 2001 BlueZ monitor), pcap and pcapng ' +
  '(link type 201 Bluetooth HCI H4 with direction, also 187 and 254; micro- or nanosecond, either byte order)'

const BTSNOOP_DATALINKS: Record<number, CaptureFormat> = {
  1001: 'btsnoop-1001',
  1002: 'btsnoop-1002',
  2001: 'btsnoop-2001',
}

function isBtsnoop(head: Uint8Array): boolean {
  if (head.length < BTSNOOP_MAGIC.length) return false
  for (let i = 0; i < BTSNOOP_MAGIC.length; i++) if (head[i] !== BTSNOOP_MAGIC[i]) return false
  return true
}

/** The format announced by the first bytes of a file (16 are enough), or undefined. */
export function detectFormat(head: Uint8Array): CaptureFormat | undefined {
  if (isBtsnoop(head)) {
    return head.length >= BTSNOOP_HEADER_BYTES ? BTSNOOP_DATALINKS[u32(head, 12, false)] : undefined
  }
  const pcap = pcapMagic(head)
  if (pcap !== undefined) return pcap.ns ? 'pcap-ns' : 'pcap'
  if (head.length >= 12 && u32(head, 0, true) === PCAPNG_SHB_TYPE) {
    const bom = u32(head, 8, true)
    if (bom === 0x1a2b3c4d || bom === 0x4d3c2b1a) return 'pcapng'
  }
  return undefined
}

function unknownFormat(head: Uint8Array): CaptureError {
  const hint = 'the format is detected from the first bytes, never from the file name'
  if (head.length === 0) return new CaptureError('the capture is empty', { hint })
  if (isBtsnoop(head)) {
    const what =
      head.length < BTSNOOP_HEADER_BYTES
        ? `a truncated btsnoop header (${head.length} of ${BTSNOOP_HEADER_BYTES} bytes)`
        : `btsnoop datalink ${u32(head, 12, false)}`
    return new CaptureError(`${what} is not readable; hcikit reads ${READABLE_FORMATS}`, { hint })
  }
  const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ')
  if (head.length >= 4 && u32(head, 0, true) === PCAPNG_SHB_TYPE) {
    // pcapng's signature: the file is pcapng, damaged (or cut short) in its first header.
    const what =
      head.length < 12
        ? `a pcapng file cut short in its section header (${head.length} of 12 bytes)`
        : `a damaged pcapng file: its section header's byte-order magic is ${hex(head.subarray(8, 12))}, ` +
          'not 4d 3c 2b 1a (little-endian) or 1a 2b 3c 4d (big-endian)'
    return new CaptureError(what, {
      hint:
        'the first 4 bytes are the pcapng Section Header signature, so the file is pcapng but damaged ' +
        'from byte 8 on; re-copy or re-export it (binary mode)',
    })
  }
  const first = hex(head.subarray(0, 8))
  return new CaptureError(`not a capture hcikit reads (first bytes ${first}); hcikit reads ${READABLE_FORMATS}`, {
    hint,
  })
}

/**
 * The records of a capture, as its chunks arrive. Throws CaptureError (before the first record)
 * if the start of the stream is not a format we read; after that, problems are records with
 * `error`. Leaving the loop early closes the source.
 */
export async function* readCapture(
  chunks: AsyncIterable<Uint8Array>,
  opts: ReadOptions = {},
): AsyncGenerator<CaptureRecord> {
  const max = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES
  const q = new ChunkQueue(chunks)
  try {
    await q.fill(FORMAT_HEAD_BYTES)
    const head = q.peek(Math.min(FORMAT_HEAD_BYTES, q.available))
    const format = detectFormat(head)
    if (format === undefined) throw unknownFormat(head)
    let reader: FormatReader<RecordBody>
    switch (format) {
      case 'btsnoop-1001':
      case 'btsnoop-1002':
      case 'btsnoop-2001':
        reader = readBtsnoop(q, Number(format.slice(8)) as BtsnoopDatalink, max)
        break
      case 'pcap':
      case 'pcap-ns':
        reader = readPcap(q, max)
        break
      case 'pcapng':
        reader = readPcapng(q, max)
        break
    }
    // The format reader is synchronous; it says how many bytes it needs and we wait here.
    let index = 0
    let step = reader.next(true)
    while (step.done !== true) {
      const v = step.value
      if (typeof v === 'number') {
        step = reader.next(await q.fill(v))
      } else {
        index++
        yield { index, ...v }
        step = reader.next(true)
      }
    }
  } finally {
    await q.close()
  }
}
