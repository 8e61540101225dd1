/**
 * UUIDs as advertising data carries them (Core v5.4 Vol 3 Part B 2.5.1 the Bluetooth Base UUID;
 * Core Specification Supplement v11 Part A 1.1 service UUID lists): little-endian 16-, 32- or
 * 128-bit values on the air, the lowercase 128-bit string form in the API.
 */
import { Writer } from '../hci/wire.ts'

const BASE_SUFFIX = '-0000-1000-8000-00805f9b34fb'

/** A little-endian 2-, 4- or 16-octet UUID as the lowercase 128-bit string form. */
export function uuidToString(bytes: Uint8Array): string {
  const n = bytes.length
  if (n === 2 || n === 4) {
    let h = ''
    for (let i = n - 1; i >= 0; i--) h += bytes[i]!.toString(16).padStart(2, '0')
    return h.padStart(8, '0') + BASE_SUFFIX
  }
  if (n !== 16) throw new RangeError(`a UUID is 2, 4 or 16 bytes, not ${n}`)
  let h = ''
  for (let i = 15; i >= 0; i--) h += bytes[i]!.toString(16).padStart(2, '0')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/**
 * A UUID (a number up to 0xffffffff, "180d", "0x180D", "12345678" or the 128-bit string form) as
 * little-endian bytes in its shortest form: 2 octets for 16-bit values, 4 for 32-bit, 16 otherwise.
 */
export function uuidToBytes(uuid: number | string): Uint8Array {
  let v: number | undefined
  if (typeof uuid === 'number') {
    v = uuid
  } else {
    const s = uuid.trim().toLowerCase()
    const short = /^(?:0x)?([0-9a-f]{4}|[0-9a-f]{8})$/.exec(s)
    if (short) v = parseInt(short[1]!, 16)
    else if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(s)) {
      if (s.endsWith(BASE_SUFFIX)) v = parseInt(s.slice(0, 8), 16)
      else {
        const h = s.replace(/-/g, '')
        const out = new Uint8Array(16)
        for (let i = 0; i < 16; i++) out[15 - i] = parseInt(h.slice(i * 2, i * 2 + 2), 16)
        return out
      }
    } else throw new RangeError(`not a UUID: ${JSON.stringify(uuid)}`)
  }
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`not a UUID: ${uuid}`)
  return v <= 0xffff ? new Writer(2).u16(v).finish() : new Writer(4).u32(v).finish()
}
