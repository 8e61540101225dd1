/**
 * Writing advertising and scan-response data (Core v5.4 Vol 3 Part C 11: a sequence of AD
 * structures, each a length octet, an AD type and its data; the data types of the Core
 * Specification Supplement v11 Part A, section 1; codes from Assigned Numbers 2.3). The reverse of
 * `parseAd` (gap/ad.ts): what one writes here reads back the same.
 */
import { Writer } from '../hci/wire.ts'
import { AdType, adTypeName, uriSchemeCodePoint } from './ad-names.ts'
import { uuidToBytes } from './ad-uuid.ts'

/** Writes AD structures in the order the methods are called (Core v5.4 Vol 3 Part C 11). */
export class AdBuilder {
  private readonly parts: { type: number; data: Uint8Array }[] = []

  /** Any AD structure; `data` is the AD data after the type octet (at most 254 bytes). */
  raw(type: number, data: Uint8Array): this {
    if (!Number.isInteger(type) || type < 0 || type > 0xff) throw new RangeError(`AD type ${type} is not an octet`)
    if (data.length > 254) {
      throw new RangeError(
        `${adTypeName(type)}: ${data.length} bytes of AD data do not fit in one AD structure (at most 254)`,
      )
    }
    this.parts.push({ type, data })
    return this
  }

  private write(type: number, fill: (w: Writer) => void): this {
    const w = new Writer(32)
    fill(w)
    return this.raw(type, w.finish())
  }

  flags(n: number): this {
    return this.write(AdType.Flags, (w) => w.u8(n, 'flags'))
  }

  name(s: string, complete = true): this {
    return this.raw(complete ? AdType.CompleteLocalName : AdType.ShortenedLocalName, new TextEncoder().encode(s))
  }

  /** One list per UUID size present (16-, 32-, 128-bit), in that order. */
  serviceUuids(list: readonly (number | string)[], complete = true): this {
    const types = complete
      ? [AdType.CompleteUuid16, AdType.CompleteUuid32, AdType.CompleteUuid128]
      : [AdType.IncompleteUuid16, AdType.IncompleteUuid32, AdType.IncompleteUuid128]
    return this.uuidLists(list, types, complete)
  }

  solicitationUuids(list: readonly (number | string)[]): this {
    return this.uuidLists(
      list,
      [AdType.SolicitationUuid16, AdType.SolicitationUuid32, AdType.SolicitationUuid128],
      false,
    )
  }

  private uuidLists(list: readonly (number | string)[], types: number[], emptyComplete: boolean): this {
    const bySize = new Map<number, Uint8Array[]>([
      [2, []],
      [4, []],
      [16, []],
    ])
    for (const u of list) {
      const b = uuidToBytes(u)
      bySize.get(b.length)!.push(b)
    }
    // An empty complete list says "no services" (CSS Part A 1.1).
    if (list.length === 0 && emptyComplete) return this.raw(types[0]!, new Uint8Array(0))
    ;[2, 4, 16].forEach((size, i) => {
      const items = bySize.get(size)!
      if (items.length) this.write(types[i]!, (w) => items.forEach((b) => w.bytes(b)))
    })
    return this
  }

  manufacturerData(companyId: number, data: Uint8Array): this {
    return this.write(AdType.ManufacturerSpecificData, (w) => w.u16(companyId, 'companyId').bytes(data))
  }

  serviceData(uuid: number | string, data: Uint8Array): this {
    const b = uuidToBytes(uuid)
    const type = b.length === 2 ? AdType.ServiceData16 : b.length === 4 ? AdType.ServiceData32 : AdType.ServiceData128
    return this.write(type, (w) => w.bytes(b).bytes(data))
  }

  txPower(n: number): this {
    return this.write(AdType.TxPowerLevel, (w) => w.i8(n, 'txPower'))
  }

  appearance(n: number): this {
    return this.write(AdType.Appearance, (w) => w.u16(n, 'appearance'))
  }

  /** Units of 0.625 ms; values above 0xffff use Advertising Interval - long (3 octets, or 4). */
  advertisingInterval(n: number): this {
    if (n <= 0xffff) return this.write(AdType.AdvertisingInterval, (w) => w.u16(n, 'advertisingInterval'))
    return this.write(AdType.AdvertisingIntervalLong, (w) =>
      n <= 0xffffff ? w.u24(n, 'advertisingInterval') : w.u32(n, 'advertisingInterval'),
    )
  }

  /** Units of 1.25 ms; 0xffff for "no specific value". */
  peripheralConnectionIntervalRange(min: number, max: number): this {
    return this.write(AdType.PeripheralConnectionIntervalRange, (w) => w.u16(min, 'min').u16(max, 'max'))
  }

  leRole(n: number): this {
    return this.write(AdType.LeRole, (w) => w.u8(n, 'leRole'))
  }

  publicTargetAddresses(list: readonly string[]): this {
    return this.write(AdType.PublicTargetAddress, (w) => list.forEach((a) => writeAddress(w, a)))
  }

  randomTargetAddresses(list: readonly string[]): this {
    return this.write(AdType.RandomTargetAddress, (w) => list.forEach((a) => writeAddress(w, a)))
  }

  leBluetoothDeviceAddress(address: string, random: boolean): this {
    return this.write(AdType.LeBluetoothDeviceAddress, (w) => writeAddress(w, address).u8(random ? 1 : 0))
  }

  /** The scheme is replaced by its code point when it has one, else 0x01 precedes the whole URI. */
  uri(s: string): this {
    const colon = s.indexOf(':')
    const cp = colon > 0 ? uriSchemeCodePoint(s.slice(0, colon + 1)) : undefined
    const text = cp === undefined ? `\u0001${s}` : String.fromCodePoint(cp) + s.slice(colon + 1)
    return this.raw(AdType.Uri, new TextEncoder().encode(text))
  }

  broadcastName(s: string): this {
    const b = new TextEncoder().encode(s)
    if (b.length < 4 || b.length > 32) throw new RangeError(`broadcastName: ${b.length} bytes, must be 4 to 32`)
    return this.raw(AdType.BroadcastName, b)
  }

  /** The data, at most `maxLength` bytes (31 for legacy advertising, up to 1650 extended). */
  build(maxLength = 31): Uint8Array {
    const w = new Writer(64)
    for (const p of this.parts) {
      const size = 2 + p.data.length
      if (w.length + size > maxLength) {
        const total = this.parts.reduce((n, q) => n + 2 + q.data.length, 0)
        throw new RangeError(
          `${adTypeName(p.type)} (${size} bytes at offset ${w.length}) does not fit: ` +
            `the AD structures need ${total} bytes, the limit is ${maxLength}`,
        )
      }
      w.u8(p.data.length + 1)
        .u8(p.type)
        .bytes(p.data)
    }
    return w.finish()
  }
}

function writeAddress(w: Writer, a: string): Writer {
  const m = /^([0-9a-f]{2})(?::([0-9a-f]{2})){5}$/i.test(a) ? a.split(':') : undefined
  if (!m) throw new RangeError(`${JSON.stringify(a)} is not an address like AA:BB:CC:DD:EE:FF`)
  for (let i = 5; i >= 0; i--) w.u8(parseInt(m[i]!, 16))
  return w
}
