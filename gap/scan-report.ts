/**
 * From advertising reports to advertisements, pure (Core v5.4 Vol 4 Part E 7.7.65.2 LE
 * Advertising Report, 7.7.65.13 LE Extended Advertising Report; Vol 6 Part B 2.3 advertising
 * PDUs, 4.4.3 scanning; AD structures parsed with gap/ad.ts, Vol 3 Part C 11).
 *
 * - `fromLegacyReport` / `fromExtendedReport` turn one report of either event into a
 *   `ReportPart`: the same fields whatever the event, event-type bits decoded.
 * - `ChainAssembler` joins an extended report whose Data_Status is 0b01 ("incomplete, more data
 *   to come") with the reports that continue it, up to the one with status 0b00 (complete) or
 *   0b10 (truncated: the part is delivered with `truncated`). Chains in progress are bounded in
 *   number and size; the oldest is dropped (and counted) when a new one does not fit.
 * - `toAdvertisement` builds what the scanner yields from an advertisement part and, optionally,
 *   its scan response part.
 * The scanner (gap/scanner.ts) wires these to an HciHost; tests feed them decoded events.
 */
import { parseAd, type ParsedAd } from './ad.ts'
import type { DeviceAddress } from './smp/keys.ts'

/** Legacy report Event_Type values (7.7.65.2). */
export const ReportType = { ADV_IND: 0, ADV_DIRECT_IND: 1, ADV_SCAN_IND: 2, ADV_NONCONN_IND: 3, SCAN_RSP: 4 } as const

/** Extended report Event_Type bits (7.7.65.13). */
export const ExtendedEventBits = {
  CONNECTABLE: 1 << 0,
  SCANNABLE: 1 << 1,
  DIRECTED: 1 << 2,
  SCAN_RESPONSE: 1 << 3,
  LEGACY: 1 << 4,
  /** Data_Status, bits 5-6: 0 complete, 1 more to come, 2 truncated. */
  DATA_STATUS_SHIFT: 5,
} as const

export type Phy = '1M' | '2M' | 'coded'

/** 7.7.65.13 Primary_PHY / Secondary_PHY: 1 LE 1M, 2 LE 2M, 3 LE Coded (0: no secondary). */
export function phyName(v: number): Phy | undefined {
  return v === 1 ? '1M' : v === 2 ? '2M' : v === 3 ? 'coded' : undefined
}

/** One report of either event, normalised. `data` is a view into the event. */
export interface ReportPart {
  /** From an LE Extended Advertising Report (else an LE Advertising Report). */
  extended: boolean
  /** Event_Type as reported, Data_Status and reserved bits (5-15) removed. */
  eventType: number
  /** Address_Type: 0 public, 1 random, 2/3 identity addresses (resolved), 0xff anonymous. */
  addressType: number
  address: string
  /** dBm; 127 means "not available" (7.7.65.13). */
  rssi: number
  /** dBm, when the report carried one (extended reports; 127 = not available). */
  txPower: number | undefined
  primaryPhy: number
  /** 0: no packets on a secondary channel. */
  secondaryPhy: number
  /** Advertising_SID, undefined for legacy PDUs and when absent (0xff). */
  sid: number | undefined
  /** Periodic advertising interval (1.25 ms units), 0 when none. */
  periodicInterval: number
  directAddressType: number | undefined
  directAddress: string | undefined
  /** Data_Status: 0 complete, 1 more to come, 2 truncated. */
  dataStatus: number
  connectable: boolean
  scannable: boolean
  directed: boolean
  scanResponse: boolean
  legacy: boolean
  data: Uint8Array
}

export interface LegacyReport {
  eventType: number
  addressType: number
  address: string
  data: Uint8Array
  rssi: number
}

export interface ExtendedReport {
  eventType: number
  addressType: number
  address: string
  primaryPhy: number
  secondaryPhy: number
  advertisingSid: number
  txPower: number
  rssi: number
  periodicAdvertisingInterval: number
  directAddressType: number
  directAddress: string
  data: Uint8Array
}

export function fromLegacyReport(r: LegacyReport): ReportPart {
  const t = r.eventType
  return {
    extended: false,
    eventType: t,
    addressType: r.addressType,
    address: r.address.toUpperCase(),
    rssi: r.rssi,
    txPower: undefined,
    primaryPhy: 1,
    secondaryPhy: 0,
    sid: undefined,
    periodicInterval: 0,
    directAddressType: undefined,
    directAddress: undefined,
    dataStatus: 0,
    connectable: t === ReportType.ADV_IND || t === ReportType.ADV_DIRECT_IND,
    scannable: t === ReportType.ADV_IND || t === ReportType.ADV_SCAN_IND,
    directed: t === ReportType.ADV_DIRECT_IND,
    scanResponse: t === ReportType.SCAN_RSP,
    legacy: true,
    data: r.data,
  }
}

export function fromExtendedReport(r: ExtendedReport): ReportPart {
  const t = r.eventType
  const B = ExtendedEventBits
  const directed = (t & B.DIRECTED) !== 0
  return {
    extended: true,
    eventType: t & 0x1f,
    addressType: r.addressType,
    address: r.address.toUpperCase(),
    rssi: r.rssi,
    txPower: r.txPower === 127 ? undefined : r.txPower,
    primaryPhy: r.primaryPhy,
    secondaryPhy: r.secondaryPhy,
    sid: r.advertisingSid === 0xff ? undefined : r.advertisingSid,
    periodicInterval: r.periodicAdvertisingInterval,
    directAddressType: directed ? r.directAddressType : undefined,
    directAddress: directed ? r.directAddress.toUpperCase() : undefined,
    dataStatus: (t >> B.DATA_STATUS_SHIFT) & 3,
    connectable: (t & B.CONNECTABLE) !== 0,
    scannable: (t & B.SCANNABLE) !== 0,
    directed,
    scanResponse: (t & B.SCAN_RESPONSE) !== 0,
    legacy: (t & B.LEGACY) !== 0,
    data: r.data,
  }
}

/** Which advertiser (and which of its sets) a part comes from. */
export function deviceKey(p: ReportPart): string {
  return p.sid === undefined ? `${p.addressType}/${p.address}` : `${p.addressType}/${p.address}/${p.sid}`
}

export interface Advertisement {
  /** "AA:BB:CC:DD:EE:FF" (upper case); 00:00:00:00:00:00 for anonymous advertising. */
  address: string
  addressType: 'public' | 'random'
  /** Address_Type as reported: 0 public, 1 random, 2 public identity, 3 random identity, 0xff anonymous. */
  rawAddressType: number
  /** dBm (the higher of advertisement and scan response); 127 = not available. */
  rssi: number
  /** dBm: the report's TX power, else the AD TX Power Level, if any. */
  txPower?: number
  /** Event_Type of the advertisement (not of its scan response); extended: bits 0-4 only (no Data_Status, no reserved bits). */
  eventType: number
  /** Reported by an LE Extended Advertising Report. */
  extended: boolean
  /** A legacy advertising PDU (always true for LE Advertising Reports). */
  legacy: boolean
  connectable: boolean
  scannable: boolean
  directed: boolean
  /** PHY the data came on: the secondary PHY when there was one, else the primary. */
  phy: Phy
  primaryPhy: Phy
  secondaryPhy?: Phy
  /** Advertising_SID of an extended advertising set. */
  sid?: number
  /** Periodic advertising interval in 1.25 ms units, when the set has one. */
  periodicInterval?: number
  directAddress?: string
  /** The controller could not receive all of the data (Data_Status 0b10): `data` is a prefix. */
  truncated: boolean
  /** The complete local name, else the shortened one. */
  name?: string
  /** Advertising data and scan response, parsed together (the advertising data first). */
  ad: ParsedAd
  /** Raw advertising data (a chained extended advertisement: all of its reports joined). */
  data: Uint8Array
  /** Raw scan response data, when one was merged. */
  scanResponse?: Uint8Array
  /** clock.now() when it was built. */
  timestamp: number
  /**
   * The advertiser's identity address, when one of our bonds resolves its private address (Vol 3
   * Part C 10.8.2.3); the scanner leaves it out, the owner of the bonds (src/adapter.ts) sets it.
   */
  identity?: DeviceAddress
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b
  if (b.length === 0) return a
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

/**
 * The advertisement of `adv` (plus its scan response `rsp`). A lone scan-response part gives an
 * advertisement with empty `data` and the part as `scanResponse`. Byte arrays are kept as given
 * (the caller copies them out of event buffers if it keeps them).
 */
export function toAdvertisement(
  adv: ReportPart,
  rsp: ReportPart | undefined,
  timestamp: number,
  truncated = false,
): Advertisement {
  const data = adv.scanResponse ? new Uint8Array(0) : adv.data
  const scan = adv.scanResponse ? adv.data : rsp?.data
  const ad = parseAd(scan ? concat(data, scan) : data)
  const name = ad.localName ?? ad.shortName
  const reportTx = adv.txPower ?? rsp?.txPower
  const txPower = reportTx ?? ad.txPower
  const primary = phyName(adv.primaryPhy) ?? '1M'
  const secondary = phyName(adv.secondaryPhy)
  const a: Advertisement = {
    address: adv.address,
    addressType: adv.addressType !== 0xff && adv.addressType & 1 ? 'random' : 'public',
    rawAddressType: adv.addressType,
    rssi: rsp && rsp.rssi !== 127 && (adv.rssi === 127 || rsp.rssi > adv.rssi) ? rsp.rssi : adv.rssi,
    eventType: adv.eventType,
    extended: adv.extended,
    legacy: adv.legacy,
    connectable: adv.connectable,
    scannable: adv.scannable,
    directed: adv.directed,
    phy: secondary ?? primary,
    primaryPhy: primary,
    truncated,
    ad,
    data,
    timestamp,
  }
  if (txPower !== undefined) a.txPower = txPower
  if (secondary !== undefined) a.secondaryPhy = secondary
  if (adv.sid !== undefined) a.sid = adv.sid
  if (adv.periodicInterval) a.periodicInterval = adv.periodicInterval
  if (adv.directAddress !== undefined) a.directAddress = adv.directAddress
  if (name !== undefined) a.name = name
  if (scan) a.scanResponse = scan
  return a
}

interface Chain {
  first: ReportPart
  parts: Uint8Array[]
  size: number
  /** Data beyond maxBytes was dropped. */
  overflow: boolean
}

/** A reassembled report: the first part's fields, all of the data, and whether it was cut. */
export interface AssembledPart {
  part: ReportPart
  truncated: boolean
}

export interface ChainAssemblerOptions {
  /** Chains in progress at once (default 64). */
  maxChains?: number
  /** Octets kept per chain (default 1650, the most an advertising set can carry, 7.8.57). */
  maxBytes?: number
}

/** Joins chained extended reports (Data_Status 0b01 ... 0b00 / 0b10). */
export class ChainAssembler {
  /** Chains given up: evicted by newer ones, or longer than maxBytes (delivered truncated). */
  dropped = 0
  private readonly chains = new Map<string, Chain>()
  private readonly maxChains: number
  private readonly maxBytes: number

  constructor(o: ChainAssemblerOptions = {}) {
    this.maxChains = o.maxChains ?? 64
    this.maxBytes = o.maxBytes ?? 1650
  }

  get pending(): number {
    return this.chains.size
  }

  clear(): void {
    this.chains.clear()
  }

  /** Feed one part; returns the whole report when this part completes one (copied data). */
  push(p: ReportPart): AssembledPart | undefined {
    const key = `${deviceKey(p)}/${p.scanResponse ? 'r' : 'a'}`
    const chain = this.chains.get(key)
    if (p.dataStatus === 1) {
      if (chain) {
        this.add(chain, p.data)
      } else {
        if (this.chains.size >= this.maxChains) {
          this.chains.delete(this.chains.keys().next().value!)
          this.dropped++
        }
        const c: Chain = { first: p, parts: [], size: 0, overflow: false }
        this.add(c, p.data)
        this.chains.set(key, c)
      }
      return undefined
    }
    const truncated = p.dataStatus !== 0
    if (!chain) return { part: { ...p, data: p.data.slice() }, truncated }
    this.chains.delete(key)
    this.add(chain, p.data)
    const data = new Uint8Array(chain.size)
    let at = 0
    for (const d of chain.parts) {
      data.set(d, at)
      at += d.length
    }
    if (chain.overflow) this.dropped++
    // The newest RSSI describes the last packet received; keep the first part's other fields.
    return {
      part: { ...chain.first, rssi: p.rssi, dataStatus: p.dataStatus, data },
      truncated: truncated || chain.overflow,
    }
  }

  private add(c: Chain, d: Uint8Array): void {
    const room = this.maxBytes - c.size
    if (d.length > room) c.overflow = true
    if (room <= 0) return
    const piece = d.length > room ? d.slice(0, room) : d.slice()
    c.parts.push(piece)
    c.size += piece.length
  }
}
