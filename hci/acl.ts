/**
 * HCI ACL data packets: the header codec, the fragmenter and a bounded reassembler of L2CAP PDUs
 * (Core v5.4 Vol 4 Part E 5.4.2 "HCI ACL Data packets"; L2CAP basic header from Vol 3 Part A 3.1).
 *
 *   Handle (12 bits) | PB flag (2 bits) | BC flag (2 bits) | Data Total Length (u16) | Data
 *
 * PB flag, host to controller: 0b00 first non-automatically-flushable fragment, 0b01 continuing
 * fragment. Controller to host: 0b10 first automatically-flushable fragment (what controllers
 * send), 0b01 continuing; 0b00 is seen from some controllers and in traces of the host side, and
 * 0b11 (a complete, automatically flushable PDU; BR/EDR only) is read as a start too.
 *
 * The reassembler keeps, per connection handle, at most one partial PDU, never larger than its
 * bound (`maxPduSize`, counting the 4-byte L2CAP basic header). A PDU that arrives whole in one
 * start fragment is returned as a view (no copy); a fragmented one is copied once into a buffer
 * of exactly its announced size. Problems are reported as `AclError`s (malformed ACL headers as
 * `DecodeError`s) through `onError`; nothing here throws on bytes from the wire.
 */
import { AclError, DecodeError } from './errors.ts'

export const PB = {
  /** First fragment, not automatically flushable (host to controller). */
  FirstNonFlushable: 0b00,
  /** Continuing fragment. */
  Continuing: 0b01,
  /** First fragment, automatically flushable (controller to host). */
  FirstFlushable: 0b10,
  /** A complete L2CAP PDU, automatically flushable (BR/EDR). */
  Complete: 0b11,
} as const

export const ACL_HEADER_LENGTH = 4
/** The L2CAP basic header: length u16 + channel id u16 (Core v5.4 Vol 3 Part A 3.1). */
export const L2CAP_HEADER_LENGTH = 4
/** Default bound on one reassembled PDU: the largest L2CAP length plus its header. */
export const DEFAULT_MAX_PDU_SIZE = 0xffff + L2CAP_HEADER_LENGTH

export interface AclHeader {
  /** Connection handle, 12 bits. */
  handle: number
  /** Packet boundary flag, 2 bits (`PB`). */
  pb: number
  /** Broadcast flag, 2 bits. */
  bc: number
  /** Data Total Length. */
  length: number
}

/** A decoded ACL packet: its header and a view of its data. */
export interface AclPacket extends AclHeader {
  data: Uint8Array
}

/**
 * Decode an ACL packet (no H4 byte). The Data Total Length must match the bytes present:
 * fewer is a truncated packet ('data'), more is a lying length ('dataTotalLength').
 */
export function decodeAclHeader(packet: Uint8Array): AclPacket | DecodeError {
  if (packet.length < 2) return new DecodeError('handle', 0, `needs 2 bytes, only ${packet.length} left`)
  if (packet.length < 4) {
    return new DecodeError('dataTotalLength', 2, `needs 2 bytes, only ${packet.length - 2} left`)
  }
  const hf = packet[0]! | (packet[1]! << 8)
  const length = packet[2]! | (packet[3]! << 8)
  const have = packet.length - ACL_HEADER_LENGTH
  if (have < length) return new DecodeError('data', 4, `needs ${length} bytes, only ${have} left`)
  if (have > length) {
    return new DecodeError('dataTotalLength', 2, `announces ${length} bytes but the packet carries ${have}`)
  }
  return {
    handle: hf & 0x0fff,
    pb: (hf >> 12) & 0b11,
    bc: (hf >> 14) & 0b11,
    length,
    data: packet.subarray(ACL_HEADER_LENGTH),
  }
}

/** The 4-byte ACL header. Throws RangeError on values that do not fit (a programming error). */
export function encodeAclHeader(h: AclHeader): Uint8Array {
  const out = new Uint8Array(ACL_HEADER_LENGTH)
  writeHeader(out, h.handle, h.pb, h.bc, h.length)
  return out
}

/** A whole ACL packet: header + data, in a new array. */
export function encodeAcl(handle: number, pb: number, bc: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(ACL_HEADER_LENGTH + data.length)
  writeHeader(out, handle, pb, bc, data.length)
  out.set(data, ACL_HEADER_LENGTH)
  return out
}

function writeHeader(out: Uint8Array, handle: number, pb: number, bc: number, length: number): void {
  check(handle, 0x0fff, 'handle')
  check(pb, 0b11, 'pb')
  check(bc, 0b11, 'bc')
  check(length, 0xffff, 'length')
  const hf = handle | (pb << 12) | (bc << 14)
  out[0] = hf & 0xff
  out[1] = hf >>> 8
  out[2] = length & 0xff
  out[3] = length >>> 8
}

function check(v: number, max: number, field: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new RangeError(`${field}: ${v} does not fit (expected an integer 0..${max})`)
  }
}

/**
 * Cut an L2CAP PDU into ACL packets of at most `maxDataLength` data bytes each (the controller's
 * ACL buffer size): the first with PB=0b00, the rest PB=0b01, broadcast flag 0.
 */
export function fragment(handle: number, l2capPdu: Uint8Array, maxDataLength: number): Uint8Array[] {
  check(maxDataLength, 0xffff, 'maxDataLength')
  if (maxDataLength === 0) throw new RangeError('maxDataLength: must be at least 1')
  const out: Uint8Array[] = []
  let at = 0
  do {
    const n = Math.min(maxDataLength, l2capPdu.length - at)
    out.push(encodeAcl(handle, at === 0 ? PB.FirstNonFlushable : PB.Continuing, 0, l2capPdu.subarray(at, at + n)))
    at += n
  } while (at < l2capPdu.length)
  return out
}

export interface AclReassemblerOptions {
  /** Largest PDU accepted, L2CAP basic header included (default 65535 + 4). */
  maxPduSize?: number
  /** Called for every problem; the reassembler has already recovered when it is called. */
  onError?: (error: AclError | DecodeError) => void
}

/** A PDU under construction on one handle. */
interface Partial {
  /** The first bytes, until the 4-byte L2CAP header is complete. */
  head: Uint8Array
  headFill: number
  /** Allocated once the L2CAP length is known: exactly 4 + length bytes. */
  pdu: Uint8Array | undefined
  fill: number
  /** Dropping the rest of a PDU already reported (too large): bytes still to swallow. */
  discard: number
}

/**
 * Reassembles L2CAP PDUs from ACL packets, per connection handle (one instance serves all the
 * handles of a host; `drop(handle)` forgets a handle that disconnected).
 */
export class AclReassembler {
  readonly maxPduSize: number
  private readonly onError: ((error: AclError | DecodeError) => void) | undefined
  private readonly partials = new Map<number, Partial>()

  readonly stats = { pdus: 0, errors: 0, droppedBytes: 0 }

  constructor(options: AclReassemblerOptions = {}) {
    const max = options.maxPduSize ?? DEFAULT_MAX_PDU_SIZE
    if (!Number.isInteger(max) || max < L2CAP_HEADER_LENGTH) {
      throw new RangeError(`maxPduSize: ${max} (expected an integer >= ${L2CAP_HEADER_LENGTH})`)
    }
    this.maxPduSize = max
    this.onError = options.onError
  }

  /** Bytes held for partial PDUs (on one handle, or on all). Never more than maxPduSize per handle. */
  buffered(handle?: number): number {
    if (handle !== undefined) return heldBy(this.partials.get(handle))
    let n = 0
    for (const p of this.partials.values()) n += heldBy(p)
    return n
  }

  /** Forget any partial PDU on `handle` (it disconnected). */
  drop(handle: number): void {
    const p = this.partials.get(handle)
    if (p) this.stats.droppedBytes += heldBy(p)
    this.partials.delete(handle)
  }

  /**
   * Feed one ACL packet (raw bytes without the H4 byte, or already decoded). Returns the L2CAP
   * PDU it completes (basic header included), if any; problems go to `onError`.
   */
  push(packet: Uint8Array | AclPacket): Uint8Array | undefined {
    let p: AclPacket
    if (packet instanceof Uint8Array) {
      const d = decodeAclHeader(packet)
      if (d instanceof DecodeError) {
        this.stats.droppedBytes += packet.length
        this.report(d)
        return undefined
      }
      p = d
    } else {
      p = packet
    }
    return p.pb === PB.Continuing ? this.continuation(p.handle, p.data) : this.start(p.handle, p.data)
  }

  private start(handle: number, data: Uint8Array): Uint8Array | undefined {
    const old = this.partials.get(handle)
    if (old) {
      this.partials.delete(handle)
      if (old.discard === 0) {
        const held = heldBy(old)
        this.stats.droppedBytes += held
        this.fail(
          handle,
          'ACL_START_WHILE_INCOMPLETE',
          `a new PDU started while ${held} byte${held === 1 ? '' : 's'} of the previous one were still ` +
            `waiting for continuations; the partial PDU was dropped`,
        )
      }
    }
    if (data.length >= L2CAP_HEADER_LENGTH) {
      const total = L2CAP_HEADER_LENGTH + (data[0]! | (data[1]! << 8))
      if (total > this.maxPduSize) return this.tooLarge(handle, total, data.length)
      if (data.length > total) {
        this.stats.droppedBytes += data.length
        this.fail(
          handle,
          'ACL_LENGTH_MISMATCH',
          `the L2CAP header announces ${total - L2CAP_HEADER_LENGTH} bytes but the start fragment carries ` +
            `${data.length - L2CAP_HEADER_LENGTH}`,
        )
        return undefined
      }
      if (data.length === total) return this.complete(data)
      const pdu = new Uint8Array(total)
      pdu.set(data)
      this.partials.set(handle, { head: pdu, headFill: L2CAP_HEADER_LENGTH, pdu, fill: data.length, discard: 0 })
      return undefined
    }
    // A start shorter than the L2CAP header: keep its bytes until the length is known.
    const head = new Uint8Array(L2CAP_HEADER_LENGTH)
    head.set(data)
    this.partials.set(handle, { head, headFill: data.length, pdu: undefined, fill: 0, discard: 0 })
    return undefined
  }

  private continuation(handle: number, data: Uint8Array): Uint8Array | undefined {
    const p = this.partials.get(handle)
    if (!p) {
      this.stats.droppedBytes += data.length
      this.fail(
        handle,
        'ACL_CONTINUATION_WITHOUT_START',
        `a continuing fragment of ${data.length} byte${data.length === 1 ? '' : 's'} arrived with no PDU in progress; dropped`,
      )
      return undefined
    }
    if (p.discard > 0) {
      // The rest of a PDU already reported as too large: swallow it quietly.
      const n = Math.min(p.discard, data.length)
      p.discard -= n
      this.stats.droppedBytes += data.length
      if (p.discard === 0) this.partials.delete(handle)
      if (data.length > n) {
        this.fail(
          handle,
          'ACL_LENGTH_MISMATCH',
          `continuations carry ${data.length - n} bytes more than the L2CAP header announced`,
        )
      }
      return undefined
    }
    let at = 0
    if (!p.pdu) {
      const take = Math.min(L2CAP_HEADER_LENGTH - p.headFill, data.length)
      p.head.set(data.subarray(0, take), p.headFill)
      p.headFill += take
      at = take
      if (p.headFill < L2CAP_HEADER_LENGTH) return undefined
      const total = L2CAP_HEADER_LENGTH + (p.head[0]! | (p.head[1]! << 8))
      if (total > this.maxPduSize) {
        this.partials.delete(handle)
        return this.tooLarge(handle, total, L2CAP_HEADER_LENGTH + data.length - at)
      }
      p.pdu = new Uint8Array(total)
      p.pdu.set(p.head)
      p.fill = L2CAP_HEADER_LENGTH
    }
    const pdu = p.pdu
    const rest = data.length - at
    if (p.fill + rest > pdu.length) {
      this.partials.delete(handle)
      this.stats.droppedBytes += p.fill + rest
      this.fail(
        handle,
        'ACL_LENGTH_MISMATCH',
        `the L2CAP header announces ${pdu.length - L2CAP_HEADER_LENGTH} bytes but the fragments carry ` +
          `${p.fill + rest - L2CAP_HEADER_LENGTH}; the PDU was dropped`,
      )
      return undefined
    }
    pdu.set(data.subarray(at), p.fill)
    p.fill += rest
    if (p.fill < pdu.length) return undefined
    this.partials.delete(handle)
    return this.complete(pdu)
  }

  /** Report a PDU over the bound; swallow its continuations (`seen` bytes of it arrived so far). */
  private tooLarge(handle: number, total: number, seen: number): undefined {
    this.stats.droppedBytes += seen
    if (seen < total) {
      this.partials.set(handle, {
        head: EMPTY,
        headFill: 0,
        pdu: undefined,
        fill: 0,
        discard: total - seen,
      })
    }
    this.fail(
      handle,
      'ACL_PDU_TOO_LARGE',
      `an L2CAP PDU of ${total} bytes exceeds the bound of ${this.maxPduSize}; dropped`,
    )
    return undefined
  }

  private complete(pdu: Uint8Array): Uint8Array {
    this.stats.pdus++
    return pdu
  }

  private fail(handle: number, code: string, message: string): void {
    this.report(new AclError(code, `ACL handle 0x${handle.toString(16).padStart(3, '0')}: ${message}`, handle))
  }

  private report(error: AclError | DecodeError): void {
    this.stats.errors++
    this.onError?.(error)
  }
}

const EMPTY = new Uint8Array(0)

function heldBy(p: Partial | undefined): number {
  if (!p) return 0
  return p.pdu ? p.fill : p.headFill
}
