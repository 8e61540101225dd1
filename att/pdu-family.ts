/**
 * PDU families with a one-octet code (Core v5.4 Vol 3 Part F 3.3 ATT PDUs, Part H 3.3 SMP
 * commands, Part A 4 L2CAP signalling commands): a PDU is declared once as a code, a name and a
 * field table (hci/spec.ts); decoding, encoding, re-encoding and the one-line log form derive from
 * it. ATT (att/pdu.ts), SMP (gap/smp/pdu.ts) and LE signalling (att/l2cap/signaling-pdu.ts) all
 * declare their PDUs with `pdu()`.
 */
import { DecodeError } from '../hci/errors.ts'
import { Reader, Writer, toHex } from '../hci/wire.ts'
import { struct, formatWith } from '../hci/spec.ts'
import type { Fields, Kind, StructKind, StructValue } from '../hci/spec.ts'

export interface PduSpec<P extends Fields = Fields> {
  readonly code: number
  readonly name: string
  readonly params: StructKind<P>
}

export function pdu<P extends Fields>(code: number, name: string, fields: P): PduSpec<P> {
  return { code, name, params: struct(fields) }
}

/**
 * Decode `bytes[start..]` as the whole parameter block of `spec`; every octet must be used.
 * Offsets in the DecodeError are relative to `bytes`. Never throws.
 */
export function decodeParams<P extends Fields>(
  spec: PduSpec<P>,
  bytes: Uint8Array,
  start: number,
): StructValue<P> | DecodeError {
  const r = new Reader(bytes, start)
  try {
    const value = spec.params.decode(r, '', {})
    if (r.remaining > 0) {
      return new DecodeError(
        'end',
        r.offset,
        `${r.remaining} unexpected octet(s) after the last parameter of ${spec.name}`,
      )
    }
    return value
  } catch (e) {
    if (e instanceof DecodeError) return e
    return new DecodeError(spec.name, r.offset, e instanceof Error ? e.message : String(e))
  }
}

/** Append `spec`'s parameters to `w` (throws RangeError on values that do not fit). */
export function encodeParams<P extends Fields>(w: Writer, spec: PduSpec<P>, params: StructValue<P>): void {
  spec.params.encode(w, params, '', params as Record<string, unknown>)
}

/** The code octet, then the parameters (throws RangeError on parameters that do not fit). */
export function encodePdu<P extends Fields>(spec: PduSpec<P>, params: StructValue<P>): Uint8Array {
  const w = new Writer(16)
  w.u8(spec.code, 'code')
  encodeParams(w, spec, params)
  return w.finish()
}

/** A decoded PDU of a family with a one-octet code: typed params when the code is known, else `{ data }`. */
export interface DecodedPdu {
  code: number
  name: string
  params?: Record<string, unknown>
  spec?: PduSpec
}

/**
 * Decode one PDU of a one-octet-code family: typed params when `specs` knows the code, else
 * `{ data }` with the name `nameOf` gives. Never throws.
 */
export function decodePdu<S extends PduSpec>(
  bytes: Uint8Array,
  specs: ReadonlyMap<number, S>,
  nameOf: (code: number) => string,
  codeField = 'code',
): (DecodedPdu & { spec?: S }) | DecodeError {
  if (bytes.length < 1) return new DecodeError(codeField, 0, 'needs 1 byte, only 0 left')
  const code = bytes[0]!
  const spec = specs.get(code)
  if (!spec) return { code, name: nameOf(code), params: { data: bytes.subarray(1) } }
  const params = decodeParams(spec, bytes, 1)
  if (params instanceof DecodeError) return params
  return { code, name: spec.name, params, spec }
}

/** Re-encode a decoded PDU, known code or not. */
export function reencodePdu(p: DecodedPdu): Uint8Array {
  if (p.spec) return encodePdu(p.spec, p.params as StructValue<Fields>)
  const data = (p.params?.data as Uint8Array | undefined) ?? new Uint8Array(0)
  return new Writer(1 + data.length).u8(p.code, 'code').bytes(data).finish()
}

/** One line for logs: the name, then the parameters (raw hex for an unknown code). */
export function formatPdu(p: DecodedPdu): string {
  if (!p.spec || !p.params) return `${p.name} ${toHex((p.params?.data as Uint8Array | undefined) ?? new Uint8Array(0))}`
  const args = p.spec.params.format!(p.params as StructValue<Fields>)
  return args ? `${p.name} ${args}` : p.name
}

/** Items repeated to the end of the PDU (ATT lists carry no count). */
export function untilEnd<T>(item: Kind<T>): Kind<T[]> {
  return {
    kind: `untilEnd(${item.kind})`,
    decode(r, f, soFar) {
      const out: T[] = []
      while (r.remaining > 0) {
        const before = r.offset
        out.push(item.decode(r, `${f}[${out.length}]`, soFar))
        if (r.offset === before) throw new DecodeError(`${f}[${out.length - 1}]`, before, 'item of zero length')
      }
      return out
    },
    encode(w, v, f, whole) {
      v.forEach((x, i) => item.encode(w, x, `${f}[${i}]`, whole))
    },
    format: (v) => `[${v.map((x) => formatWith(item, x)).join(', ')}]`,
  }
}
