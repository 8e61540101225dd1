/**
 * H4 framing: the packet-type byte in front of every HCI packet on a byte stream (UART, TCP,
 * btsnoop datalink 1002), and a streaming splitter that turns arbitrarily cut bytes back into
 * whole packets (Core v5.4 Vol 4 Part A 2, "Protocol"; header layouts from Vol 4 Part E 5.4).
 *
 *   type  header                        length field
 *   0x01  command  opcode u16, len u8   len
 *   0x02  ACL      handle u16, len u16  len
 *   0x03  SCO      handle u16, len u8   len
 *   0x04  event    code u8, len u8      len
 *   0x05  ISO      handle u16, len u16  len & 0x3fff (the top two bits are RFU)
 *
 * The header widths bound every packet (at most 4 + 65535 bytes, an ACL packet), so the splitter
 * never holds more than one such packet. A packet that arrives whole inside one chunk is emitted
 * as a view of that chunk (no copy); a packet cut across chunks is copied once into a buffer of
 * exactly its size.
 *
 * Loss of synchronisation. A type byte outside the accepted set (by default the five above) is
 * reported once, as a `FramingError` carrying the byte and its stream offset, through `onError`.
 * Then, with the default `onUnknownType: 'hunt'`, the splitter drops bytes until the next byte
 * that is an accepted type and starts a packet there: what a UART transport wants, since the
 * stream has no other frame marker. (A host-side UART can narrow `types` to what a controller
 * sends, 0x02..0x05, to make the hunt stricter.) With `onUnknownType: 'halt'` it drops
 * everything until the owner calls `resync()`; a transport that treats a framing error as fatal
 * (TCP) uses that and closes. `resync()` can also be called at any time (a UART break, a
 * reopened port): it discards any partial packet and hunts for the next type byte, silently.
 */
import { FramingError } from './errors.ts'
import { H4Type } from './constants.ts'

export { H4Type }
export type { H4TypeValue } from './constants.ts'

/** One HCI packet: its H4 type and its bytes without the type byte (header + payload). */
export interface H4Packet {
  type: number
  data: Uint8Array
}

/** Header length for a type, or 0 for a type we do not know. */
export function h4HeaderLength(type: number): number {
  switch (type) {
    case H4Type.Command:
    case H4Type.Sco:
      return 3
    case H4Type.Event:
      return 2
    case H4Type.Acl:
    case H4Type.Iso:
      return 4
    default:
      return 0
  }
}

/** Payload length announced by a complete header starting at `buf[at]` (no bounds checks). */
function payloadLength(type: number, buf: Uint8Array, at: number): number {
  switch (type) {
    case H4Type.Command:
    case H4Type.Sco:
      return buf[at + 2]!
    case H4Type.Event:
      return buf[at + 1]!
    case H4Type.Acl:
      return buf[at + 2]! | (buf[at + 3]! << 8)
    default: // ISO: only the low 14 bits are the length
      return (buf[at + 2]! | (buf[at + 3]! << 8)) & 0x3fff
  }
}

/** The largest packet (without its type byte) any H4 header can announce: ACL, 4 + 65535. */
export const H4_MAX_PACKET = 4 + 0xffff

/** `type` followed by `data`, in a new array. */
export function encodeH4(type: number, data: Uint8Array): Uint8Array {
  if (!Number.isInteger(type) || type < 0 || type > 0xff) {
    throw new RangeError(`H4 type ${type} does not fit in a byte`)
  }
  const out = new Uint8Array(1 + data.length)
  out[0] = type
  out.set(data, 1)
  return out
}

export interface H4SplitterOptions {
  onPacket: (packet: H4Packet) => void
  onError?: (error: FramingError) => void
  /** Accepted type bytes (default: all five). */
  types?: readonly number[]
  /** What to do after an unknown type byte (default 'hunt': see the file overview). */
  onUnknownType?: 'hunt' | 'halt'
}

/** Splitter states (plain numbers: no enums, so the file stays erasable TypeScript). */
const State = { Type: 0, Header: 1, Body: 2, Hunt: 3, Halted: 4 } as const
type State = (typeof State)[keyof typeof State]

export class H4Splitter {
  private readonly onPacket: (packet: H4Packet) => void
  private readonly onError: ((error: FramingError) => void) | undefined
  private readonly accepted = new Uint8Array(256)
  private readonly policy: 'hunt' | 'halt'

  private state: State = State.Type
  private type = 0
  private headerLength = 0
  private readonly header = new Uint8Array(4)
  private headerFill = 0
  private body: Uint8Array | undefined
  private bodyFill = 0
  private streamOffset = 0

  /** Counters for observability; never reset by the splitter. */
  readonly stats = { packets: 0, framingErrors: 0, droppedBytes: 0 }

  constructor(options: H4SplitterOptions) {
    this.onPacket = options.onPacket
    this.onError = options.onError
    this.policy = options.onUnknownType ?? 'hunt'
    const types = options.types ?? [H4Type.Command, H4Type.Acl, H4Type.Sco, H4Type.Event, H4Type.Iso]
    for (const t of types) {
      if (h4HeaderLength(t) === 0) throw new RangeError(`H4 type 0x${t.toString(16)} has no known header`)
      this.accepted[t] = 1
    }
  }

  /** Total bytes pushed so far (the stream offset of the next byte). */
  get offset(): number {
    return this.streamOffset
  }

  /** Bytes held for a packet cut across chunks (at most H4_MAX_PACKET). */
  get buffered(): number {
    if (this.state === State.Header) return this.headerFill
    if (this.state === State.Body) return this.bodyFill
    return 0
  }

  /** True between a framing error and the next accepted type byte (or `resync()` when halted). */
  get synchronised(): boolean {
    return this.state !== State.Hunt && this.state !== State.Halted
  }

  /** Drop any partial packet and look for the next accepted type byte, without reporting. */
  resync(): void {
    this.body = undefined
    this.bodyFill = 0
    this.headerFill = 0
    this.state = State.Hunt
  }

  /**
   * Feed bytes. Whole packets are delivered synchronously, in order, through `onPacket`; a packet
   * may be a view of `chunk`, so a caller that reuses its buffer must copy what it keeps.
   * Callbacks must not throw: the splitter's state is updated before each call, but the rest of
   * the chunk is not processed if one does.
   */
  push(bytes: Uint8Array): void {
    // Node's Buffer is a Uint8Array whose subarray() is several times slower; every packet and
    // field view below is a subarray, so take a plain view of the chunk once.
    const chunk =
      bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length)
    const base = this.streamOffset
    this.streamOffset += chunk.length
    const n = chunk.length
    let i = 0
    while (i < n) {
      switch (this.state) {
        case State.Halted:
          this.stats.droppedBytes += n - i
          return
        case State.Hunt:
        case State.Type:
          i = this.typeByte(chunk, i, base)
          break
        case State.Header:
          i = this.headerBytes(chunk, i)
          break
        case State.Body:
          i = this.bodyBytes(chunk, i)
          break
      }
    }
  }

  /** A type byte at `chunk[i]` (or a byte to drop while hunting); returns where to go on. */
  private typeByte(chunk: Uint8Array, i: number, base: number): number {
    const b = chunk[i]!
    if (this.accepted[b] === 0) {
      this.stats.droppedBytes++
      if (this.state === State.Type) {
        this.stats.framingErrors++
        this.state = this.policy === 'halt' ? State.Halted : State.Hunt
        this.onError?.(
          new FramingError(
            `unknown H4 packet type 0x${b.toString(16).padStart(2, '0')} at stream offset ${base + i}`,
            base + i,
            b,
          ),
        )
      }
      return i + 1
    }
    const n = chunk.length
    i++
    this.type = b
    this.headerLength = h4HeaderLength(b)
    if (n - i < this.headerLength) {
      this.headerFill = 0
      this.state = State.Header
      return i
    }
    // Fast path: the whole packet is in this chunk: emit a view.
    const total = this.headerLength + payloadLength(b, chunk, i)
    if (n - i >= total) {
      this.state = State.Type
      this.emit(b, chunk.subarray(i, i + total))
      return i + total
    }
    this.body = new Uint8Array(total)
    this.body.set(chunk.subarray(i))
    this.bodyFill = n - i
    this.state = State.Body
    return n
  }

  /** Header bytes of a packet whose header was cut across chunks. */
  private headerBytes(chunk: Uint8Array, i: number): number {
    const take = Math.min(this.headerLength - this.headerFill, chunk.length - i)
    this.header.set(chunk.subarray(i, i + take), this.headerFill)
    this.headerFill += take
    i += take
    if (this.headerFill < this.headerLength) return i
    const total = this.headerLength + payloadLength(this.type, this.header, 0)
    const body = new Uint8Array(total)
    body.set(this.header.subarray(0, this.headerLength))
    this.headerFill = 0
    if (total === this.headerLength) {
      this.state = State.Type
      this.emit(this.type, body)
      return i
    }
    this.body = body
    this.bodyFill = this.headerLength
    this.state = State.Body
    return i
  }

  /** Payload bytes of a packet cut across chunks (copied once into a buffer of its size). */
  private bodyBytes(chunk: Uint8Array, i: number): number {
    const body = this.body!
    const take = Math.min(body.length - this.bodyFill, chunk.length - i)
    body.set(chunk.subarray(i, i + take), this.bodyFill)
    this.bodyFill += take
    i += take
    if (this.bodyFill < body.length) return i
    this.body = undefined
    this.bodyFill = 0
    this.state = State.Type
    this.emit(this.type, body)
    return i
  }

  private emit(type: number, data: Uint8Array): void {
    this.stats.packets++
    this.onPacket({ type, data })
  }
}
