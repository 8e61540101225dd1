/**
 * The L2CAP basic frame (B-frame) header and the channel identifiers (Core v5.4 Vol 3 Part A
 * 3.1 and 2.1, Tables 2.1 and 2.3).
 *
 * A B-frame is `PDU Length (u16) | Channel ID (u16) | Information payload`, little-endian. The
 * decoder takes one complete L2CAP PDU (an ACL SDU after reassembly, hci/acl.ts) and checks
 * that the length field accounts for every octet that follows: fewer is a truncated frame,
 * more is a frame with trailing garbage. The payload is a view, not a copy.
 */
import { DecodeError } from '../../hci/errors.ts'

export const L2CAP_HEADER_LENGTH = 4

/** Fixed channel identifiers (Table 2.1 for ACL-U, Table 2.3 for LE-U). */
export const CID = {
  NULL: 0x0000,
  /** L2CAP signalling channel on ACL-U (BR/EDR). */
  SIGNALING: 0x0001,
  CONNECTIONLESS: 0x0002,
  /** AMP Manager protocol (withdrawn in v5.3). */
  AMP_MANAGER: 0x0003,
  ATT: 0x0004,
  /** LE signalling channel on LE-U. */
  LE_SIGNALING: 0x0005,
  SMP: 0x0006,
  /** BR/EDR Security Manager. */
  BREDR_SMP: 0x0007,
  /** AMP test manager (withdrawn in v5.3). */
  AMP_TEST: 0x003f,
  /** First dynamically allocated CID (both transports; on LE-U they end at 0x007F). */
  DYNAMIC_FIRST: 0x0040,
  LE_DYNAMIC_LAST: 0x007f,
} as const

const CID_NAMES: Readonly<Record<number, string>> = {
  0x0000: 'Null Identifier',
  0x0001: 'L2CAP Signaling Channel',
  0x0002: 'Connectionless Channel',
  0x0003: 'AMP Manager Protocol',
  0x0004: 'Attribute Protocol',
  0x0005: 'LE L2CAP Signaling Channel',
  0x0006: 'Security Manager Protocol',
  0x0007: 'BR/EDR Security Manager',
  0x003f: 'AMP Test Manager',
}

/** "Attribute Protocol (0x0004)"; 0x0040 and up "Dynamically Allocated (0x0041)". */
export function cidName(cid: number): string {
  const hex = `0x${cid.toString(16).padStart(4, '0')}`
  const name = CID_NAMES[cid] ?? (cid >= CID.DYNAMIC_FIRST ? 'Dynamically Allocated' : 'Reserved')
  return `${name} (${hex})`
}

export interface L2capFrame {
  /** The PDU Length field: octets in the payload. */
  length: number
  cid: number
  /** A view of the information payload. */
  payload: Uint8Array
}

/** Decode one complete B-frame. Never throws. */
export function decodeL2capHeader(bytes: Uint8Array): L2capFrame | DecodeError {
  const n = bytes.length
  if (n < 2) return new DecodeError('length', 0, `needs 2 bytes, only ${n} left`)
  if (n < 4) return new DecodeError('cid', 2, `needs 2 bytes, only ${n - 2} left`)
  const length = bytes[0]! | (bytes[1]! << 8)
  const cid = bytes[2]! | (bytes[3]! << 8)
  const rest = n - L2CAP_HEADER_LENGTH
  if (rest < length)
    return new DecodeError('payload', 4, `needs ${length} byte${length === 1 ? '' : 's'}, only ${rest} left`)
  if (rest > length) return new DecodeError('length', 0, `says ${length} octets but ${rest} follow the header`)
  return { length, cid, payload: bytes.subarray(L2CAP_HEADER_LENGTH) }
}

/** Build a B-frame around `payload` (throws RangeError if the payload exceeds 65535 octets). */
export function encodeL2capFrame(cid: number, payload: Uint8Array): Uint8Array {
  const n = payload.length
  if (n > 0xffff) throw new RangeError(`length: ${n} does not fit (expected an integer 0..65535)`)
  if (!Number.isInteger(cid) || cid < 0 || cid > 0xffff) {
    throw new RangeError(`cid: ${cid} does not fit (expected an integer 0..65535)`)
  }
  const out = new Uint8Array(L2CAP_HEADER_LENGTH + n)
  out[0] = n & 0xff
  out[1] = n >>> 8
  out[2] = cid & 0xff
  out[3] = cid >>> 8
  out.set(payload, L2CAP_HEADER_LENGTH)
  return out
}
