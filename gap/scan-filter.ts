/**
 * Scan filters (host side): which advertisements the scanner yields, by name, service UUID,
 * address, manufacturer (company identifier, Assigned Numbers 7), RSSI or a predicate. The AD
 * fields are those of gap/ad.ts (Core v5.4 Vol 3 Part C 11; Core Specification Supplement Part A
 * 1.1 service UUIDs, 1.2 local name, 1.4 manufacturer data, 1.11 service data).
 * Every given criterion must hold; inside one criterion a list matches if any entry does.
 */
import { uuidToBytes, uuidToString } from './ad.ts'
import type { Advertisement } from './scan-report.ts'

export interface ScanFilter {
  /** The complete or shortened local name: equal to a string, or matching a RegExp. */
  name?: string | RegExp
  /** Any of these service UUIDs ("180d", 0x180d, 128-bit strings) in a service UUID list or service data. */
  services?: readonly (string | number)[]
  /** Any of these addresses (case-insensitive). */
  addresses?: readonly string[]
  /** Manufacturer specific data from any of these company identifiers. */
  manufacturer?: number | readonly number[]
  /** RSSI at least this (dBm); a report without RSSI (127) does not pass. */
  minRssi?: number
  /** Anything else. */
  filter?: (a: Advertisement) => boolean
}

/** The filter as one function (undefined when there is nothing to filter on). */
export function compileFilter(f: ScanFilter): ((a: Advertisement) => boolean) | undefined {
  const checks: ((a: Advertisement) => boolean)[] = []
  const { name } = f
  if (name !== undefined) {
    if (typeof name === 'string') checks.push((a) => a.name === name)
    else checks.push((a) => a.name !== undefined && name.test(a.name))
  }
  if (f.services && f.services.length > 0) {
    const want = new Set(f.services.map((u) => uuidToString(uuidToBytes(u))))
    checks.push((a) => a.ad.serviceUuids.some((u) => want.has(u)) || a.ad.serviceData.some((d) => want.has(d.uuid)))
  }
  if (f.addresses && f.addresses.length > 0) {
    const want = new Set(f.addresses.map((s) => s.toUpperCase()))
    checks.push((a) => want.has(a.address))
  }
  if (f.manufacturer !== undefined) {
    const want = new Set(typeof f.manufacturer === 'number' ? [f.manufacturer] : f.manufacturer)
    checks.push((a) => a.ad.manufacturerData.some((m) => want.has(m.companyId)))
  }
  const { minRssi } = f
  if (minRssi !== undefined) checks.push((a) => a.rssi !== 127 && a.rssi >= minRssi)
  if (f.filter) checks.push(f.filter)
  if (checks.length === 0) return undefined
  return (a) => checks.every((c) => c(a))
}
