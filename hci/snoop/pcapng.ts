/**
 * pcapng capture files (IETF draft-ietf-opsawg-pcapng) with Bluetooth HCI interfaces: reader.
 *
 * A pcapng file is a sequence of blocks (type u32, total length u32, body, total length again).
 * A Section Header Block starts each section and fixes its byte order with the magic 0x1A2B3C4D;
 * Interface Description Blocks declare the link type (201 = H4 with a direction header, see
 * pcap.ts) and the timestamp resolution (option if_tsresol, default microseconds) and offset
 * (if_tsoffset). Packets come in Enhanced, Simple and the obsolete Packet blocks. Custom and
 * systemd-journal blocks become note records (Wireshark numbers them as frames); all other
 * blocks are skipped without being buffered.
 */
import type { ChunkQueue, FormatReader } from './chunks.ts'
import { linkBody } from './pcap.ts'
import { errorBody, u16, u32, type RecordBody } from './record.ts'

export const PCAPNG_SHB_TYPE = 0x0a0d0d0a
const BYTE_ORDER_MAGIC = 0x1a2b3c4d
const IDB = 1
const PB = 2
const SPB = 3
const EPB = 6
const JOURNAL = 9
const CUSTOM = 0x00000bad
const CUSTOM_NO_COPY = 0x40000bad
const OPT_END = 0
const IF_TSRESOL = 9
const IF_TSOFFSET = 14
/** Smallest block: type, length, trailing length. */
const MIN_BLOCK = 12

interface Interface {
  linkType: number
  snaplen: number
  /** Timestamp unit is base^-exponent seconds. */
  base: 10n | 2n
  exponent: bigint
  offsetUs: bigint
}

function i64(b: Uint8Array, o: number, le: boolean): bigint {
  const hi = BigInt(u32(b, le ? o + 4 : o, le))
  const lo = BigInt(u32(b, le ? o : o + 4, le))
  return BigInt.asIntN(64, (hi << 32n) | lo)
}

/** Walk the options of a block body from `o`; stops quietly at a malformed option. */
function* options(b: Uint8Array, o: number, end: number, le: boolean): Generator<[number, Uint8Array]> {
  while (o + 4 <= end) {
    const code = u16(b, o, le)
    const len = u16(b, o + 2, le)
    if (code === OPT_END || o + 4 + len > end) return
    yield [code, b.subarray(o + 4, o + 4 + len)]
    o += 4 + ((len + 3) & ~3)
  }
}

function parseInterface(block: Uint8Array, le: boolean): Interface {
  const itf: Interface = {
    linkType: u16(block, 8, le),
    snaplen: u32(block, 12, le),
    base: 10n,
    exponent: 6n,
    offsetUs: 0n,
  }
  for (const [code, v] of options(block, 16, block.length - 4, le)) {
    if (code === IF_TSRESOL && v.length >= 1) {
      itf.base = v[0]! & 0x80 ? 2n : 10n
      itf.exponent = BigInt(v[0]! & 0x7f)
    } else if (code === IF_TSOFFSET && v.length >= 8) {
      itf.offsetUs = i64(v, 0, le) * 1_000_000n
    }
  }
  return itf
}

function toMicroseconds(itf: Interface, hi: number, lo: number): bigint {
  const ticks = (BigInt(hi) << 32n) | BigInt(lo)
  let us: bigint
  if (itf.base === 10n) {
    us = itf.exponent >= 6n ? ticks / 10n ** (itf.exponent - 6n) : ticks * 10n ** (6n - itf.exponent)
  } else {
    us = (ticks * 1_000_000n) >> itf.exponent
  }
  return us + itf.offsetUs
}

/** The state of a read: the section's byte order and its interfaces. */
interface Section {
  le: boolean
  interfaces: Interface[]
}

const KNOWN = new Set([PCAPNG_SHB_TYPE, IDB, EPB, SPB, PB, CUSTOM, CUSTOM_NO_COPY, JOURNAL])

/** A reader step: a record body, or the number of bytes it needs held (see chunks.ts). */
type Step = Generator<RecordBody | number, boolean, boolean>

/**
 * The 8-byte head of the block at the queue's position, after a Section Header's byte order
 * has been taken from it; false (after an error record) when reading must stop.
 */
function* blockHead(q: ChunkQueue, sec: Section): Generator<RecordBody | number, Uint8Array | undefined, boolean> {
  const at = q.position
  // The type is a palindrome for the Section Header, so it reads the same in either order;
  // the byte order that follows is the section's.
  const head = q.peek(8)
  if (u32(head, 0, true) !== PCAPNG_SHB_TYPE) return head
  if (q.available < 12 && !(yield 12)) {
    const tail = q.takeAll()
    yield errorBody(`truncated section header: ${tail.length} bytes`, 0n, tail)
    return undefined
  }
  const bom = q.peek(12).subarray(8, 12)
  if (u32(bom, 0, true) !== BYTE_ORDER_MAGIC && u32(bom, 0, false) !== BYTE_ORDER_MAGIC) {
    yield errorBody(`section header at byte ${at} has no byte-order magic (${hexBytes(bom)}); reading stops`)
    return undefined
  }
  sec.le = u32(bom, 0, true) === BYTE_ORDER_MAGIC
  sec.interfaces = []
  return q.peek(8)
}

/** Skip a block we do not read without holding it; false when the file ends inside it. */
function* skipBlock(q: ChunkQueue, at: number, length: number): Step {
  let skipped = q.skipHeld(length)
  while (skipped < length && (yield 1)) skipped += q.skipHeld(length - skipped)
  if (skipped < length) {
    yield errorBody(`truncated block at byte ${at}: ${length} bytes claimed, ${skipped} there`)
    return false
  }
  return true
}

/** Hold and take a whole block whose length is bounded; undefined (after an error record) to stop. */
function* takeBlock(
  q: ChunkQueue,
  at: number,
  length: number,
  max: number,
  le: boolean,
): Generator<RecordBody | number, Uint8Array | undefined, boolean> {
  if (length > max) {
    yield errorBody(`block at byte ${at} claims ${length} bytes, over the ${max}-byte bound; reading stops`)
    return undefined
  }
  if (length > q.available && !(yield length)) {
    const tail = q.takeAll()
    yield errorBody(
      `truncated block at byte ${at}: ${length} bytes claimed, the file ends after ${tail.length}`,
      0n,
      tail,
    )
    return undefined
  }
  const block = q.take(length)
  const trailing = u32(block, length - 4, le)
  if (trailing !== length) {
    yield errorBody(`block at byte ${at}: trailing length ${trailing} differs from ${length}; reading stops`)
    return undefined
  }
  return block
}

/** A Section Header or Interface Description taken in; false (after an error record) to stop. */
function* sectionBlock(block: Uint8Array, type: number, at: number, sec: Section): Step {
  const length = block.length
  if (type === PCAPNG_SHB_TYPE) {
    if (length < 28) {
      yield errorBody(`section header at byte ${at} is too short (${length} bytes); reading stops`)
      return false
    }
    const major = u16(block, 12, sec.le)
    if (major !== 1) {
      yield errorBody(`pcapng version ${major}.${u16(block, 14, sec.le)} at byte ${at} is not 1.x; reading stops`)
      return false
    }
    return true
  }
  if (length < 20) {
    yield errorBody(`interface description at byte ${at} is too short (${length} bytes); reading stops`)
    return false
  }
  sec.interfaces.push(parseInterface(block, sec.le))
  return true
}

/** One block: its records yielded; false when reading stops (end of file or damage). */
function* readBlock(q: ChunkQueue, max: number, sec: Section): Step {
  if (q.available < 8 && !(yield 8)) {
    if (q.available === 0) return false
    const tail = q.takeAll()
    yield errorBody(`truncated block header: ${tail.length} of 8 bytes`, 0n, tail)
    return false
  }
  const at = q.position
  const head = yield* blockHead(q, sec)
  if (head === undefined) return false
  const type = u32(head, 0, sec.le)
  const length = u32(head, 4, sec.le)
  if (length < MIN_BLOCK || length % 4 !== 0) {
    yield errorBody(`block at byte ${at} has an impossible length ${length}; reading stops`)
    return false
  }
  if (!KNOWN.has(type)) return yield* skipBlock(q, at, length)
  const block = yield* takeBlock(q, at, length, max, sec.le)
  if (block === undefined) return false
  if (type === PCAPNG_SHB_TYPE || type === IDB) return yield* sectionBlock(block, type, at, sec)
  // Custom and journal blocks: Wireshark shows these as frames, so they keep their place in the numbering.
  if (type === CUSTOM || type === CUSTOM_NO_COPY || type === JOURNAL) yield otherBody(block, type, sec.le)
  else yield packetBody(block, type, at, sec.interfaces, sec.le)
  return true
}

/** Records of a pcapng file; the caller has checked that it starts with a Section Header. */
export function* readPcapng(q: ChunkQueue, maxRecordBytes: number): FormatReader<RecordBody> {
  const sec: Section = { le: true, interfaces: [] }
  let more = true
  while (more) more = yield* readBlock(q, maxRecordBytes, sec)
}

function hexBytes(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ')
}

const utf8 = new TextDecoder('utf-8')

/** A custom or systemd-journal block as a note record (it is a frame, not an HCI packet). */
function otherBody(block: Uint8Array, type: number, le: boolean): RecordBody {
  const data = block.subarray(8, block.length - 4)
  const journal = type === JOURNAL
  const text = journal
    ? utf8.decode(data).replace(/\0+$/, '')
    : data.length >= 4
      ? `private enterprise number ${u32(data, 0, le)}`
      : undefined
  const body: RecordBody = {
    timestampUs: 0n,
    direction: undefined,
    packetType: undefined,
    data,
    originalLength: data.length,
    note: { kind: journal ? 'pcapng-journal-export' : 'pcapng-custom-block', opcode: type },
  }
  if (text !== undefined) body.note!.text = text
  return body
}

/** An Enhanced, Simple or obsolete Packet block whose framing has been checked. */
function packetBody(block: Uint8Array, type: number, at: number, interfaces: Interface[], le: boolean): RecordBody {
  const bodyEnd = block.length - 4
  if (type === SPB) {
    if (block.length < 16) return errorBody(`simple packet block at byte ${at} is too short`)
    const itf = interfaces[0]
    if (itf === undefined) return errorBody(`simple packet block at byte ${at} before any interface`)
    const originalLength = u32(block, 8, le)
    let included = Math.min(originalLength, bodyEnd - 12)
    if (itf.snaplen !== 0) included = Math.min(included, itf.snaplen)
    return linkBody(itf.linkType, block.subarray(12, 12 + included), originalLength, 0n)
  }
  // EPB: interface u32, timestamp hi/lo, captured, original. PB: interface u16, drops u16, same.
  const fixed = 28
  if (block.length < fixed + 4) return errorBody(`packet block at byte ${at} is too short`)
  const id = type === EPB ? u32(block, 8, le) : u16(block, 8, le)
  const itf = interfaces[id]
  const included = u32(block, 20, le)
  const originalLength = u32(block, 24, le)
  if (itf === undefined) return errorBody(`packet block at byte ${at} names interface ${id}, which was never described`)
  const timestampUs = toMicroseconds(itf, u32(block, 12, le), u32(block, 16, le))
  if (included > bodyEnd - fixed) {
    return errorBody(
      `packet block at byte ${at} claims ${included} captured bytes, the block holds ${bodyEnd - fixed}`,
      timestampUs,
    )
  }
  return linkBody(itf.linkType, block.subarray(fixed, fixed + included), originalLength, timestampUs)
}
