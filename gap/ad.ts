/**
 * Advertising and scan-response data codec.
 *
 * The data is a sequence of AD structures, each a length octet followed by an AD type octet and
 * length - 1 octets of AD data (Core v5.4 Vol 3 Part C 11). A zero length octet ends the
 * significant part; what follows is padding. The formats of the data types are the Core
 * Specification Supplement v11 Part A, section 1; their codes are Assigned Numbers 2.3
 * (gap/ad-names.ts). Extended advertising (Core v5.4 Vol 6 Part B 2.3.4) uses the same format,
 * only longer.
 *
 * `parseAd` never throws: a structure whose length runs past the end of the data, or a data type
 * whose body has the wrong size, is reported in `errors` and everything before it is kept. Every
 * byte array in the result is a view into the input. `AdBuilder` writes the same structures.
 */
import { DecodeError } from '../hci/errors.ts'
import { Reader, toHex } from '../hci/wire.ts'
import { adTypeName } from './ad-names.ts'
import { DECODERS } from './ad-decoders.ts'
import type { AdStructure, ParsedAd } from './ad-types.ts'

export { AdType, adTypeName, isKnownAdType, uriSchemeName, uriSchemeCodePoint } from './ad-names.ts'
export type { AdStructure, IndoorPositioning, ParsedAd, TransportBlock } from './ad-types.ts'
export { uuidToBytes, uuidToString } from './ad-uuid.ts'
export { AdBuilder } from './ad-builder.ts'

/** Parses advertising or scan-response data. Never throws; see `errors`. */
export function parseAd(data: Uint8Array): ParsedAd {
  const ad: ParsedAd = {
    structures: [],
    serviceUuids: [],
    solicitationUuids: [],
    manufacturerData: [],
    serviceData: [],
    unknown: [],
    errors: [],
  }
  let o = 0
  while (o < data.length) {
    const length = data[o]!
    if (length === 0) {
      // Core v5.4 Vol 3 Part C 11: the non-significant part shall be all-zero octets.
      for (let i = o + 1; i < data.length; i++) {
        if (data[i] !== 0) {
          ad.errors.push({
            offset: i,
            message: `non-zero byte in the padding after the zero length octet at offset ${o}`,
          })
          break
        }
      }
      break
    }
    if (o + 1 + length > data.length) {
      const type = o + 1 < data.length ? ` (type 0x${data[o + 1]!.toString(16).padStart(2, '0')})` : ''
      ad.errors.push({
        offset: o,
        message: `AD structure${type} length ${length} runs past the end of the data (${data.length - o - 1} bytes left)`,
      })
      break
    }
    const type = data[o + 1]!
    const s: AdStructure = { type, typeName: adTypeName(type), offset: o, data: data.subarray(o + 2, o + 1 + length) }
    ad.structures.push(s)
    const decode = DECODERS[type]
    if (decode === undefined) ad.unknown.push(s)
    else {
      try {
        decode(ad, new Reader(data, o + 2, o + 1 + length))
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e
        ad.errors.push({
          offset: e.offset,
          message: `${s.typeName} (0x${type.toString(16).padStart(2, '0')}): ${e.message}`,
        })
      }
    }
    o += 1 + length
  }
  return ad
}

function toJson(v: unknown): unknown {
  if (v instanceof Uint8Array) return toHex(v)
  if (Array.isArray(v)) return v.map(toJson)
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = toJson(x)
    return out
  }
  return v
}

/** The parsed data as plain JSON: byte arrays as lowercase hex, UUIDs as lowercase 128-bit strings. */
export function adToJson(ad: ParsedAd): Record<string, unknown> {
  return toJson(ad) as Record<string, unknown>
}
