/**
 * Per-connection options as users write them, and what gap/ wants instead: connection parameters
 * in milliseconds (Core v5.4 Vol 4 Part E 7.8.12 LE Create Connection and 7.8.18 LE Connection
 * Update take 1.25 ms and 10 ms units; the limits are Vol 6 Part B 4.5.1-4.5.2), PHYs by name
 * (7.8.49 LE Set PHY bit masks: 1M bit 0, 2M bit 1, Coded bit 2; 7.7.65.12 reports 1, 2, 3), the
 * LE Data Length (7.8.33: 27..251 octets) and the ATT MTU (Vol 3 Part F 3.2.8: at least 23).
 *
 * Every check runs before anything is sent and fails with a ParameterError that names the option,
 * the value and the range, so a wrong value never reaches the controller as a bare HCI status.
 */
import type { ActiveParameters, Phy as PhyNumbers } from '../gap/connections.ts'
import type { Phy } from '../gap/scanner.ts'
import type { ConnectionParameters } from '../att/l2cap/signaling.ts'
import { ParameterError } from './errors.ts'

export type { Phy }

/** Connection parameters asked for; every field optional (defaults: 30-50 ms, latency 0, 4000 ms). */
export interface ConnectionParameterOptions {
  /** Shortest connection interval, ms (7.5..4000, in steps of 1.25). */
  intervalMin?: number
  /** Longest connection interval, ms (>= intervalMin). */
  intervalMax?: number
  /** Connection events the peripheral may skip (0..499). */
  latency?: number
  /** Supervision timeout, ms (100..32000, steps of 10), more than (1 + latency) * intervalMax * 2. */
  supervisionTimeout?: number
}

/** The parameters in force on a link (from LE Connection Complete / LE Connection Update Complete). */
export interface LinkParameters {
  /** Connection interval, ms. */
  interval: number
  /** Peripheral latency, connection events. */
  latency: number
  /** Supervision timeout, ms. */
  supervisionTimeout: number
}

/** PHYs in use in each direction. */
export interface LinkPhy {
  tx: Phy
  rx: Phy
}

/** Preferred PHYs: the same list for both directions, or one per direction. */
export type PhyPreference = readonly Phy[] | { tx: readonly Phy[]; rx: readonly Phy[] }

const DEFAULTS = { intervalMin: 30, intervalMax: 50, latency: 0, supervisionTimeout: 4000 }

function range(name: string, v: number, lo: number, hi: number, unit: string): void {
  if (!Number.isFinite(v) || v < lo || v > hi)
    throw new ParameterError(`${name}: ${v}${unit} is outside ${lo}..${hi}${unit} (Core v5.4 Vol 6 Part B 4.5.1)`)
}

/** Parameters in ms -> gap/'s units (1.25 ms intervals, 10 ms timeout), checked. */
export function toConnectionParameters(o: ConnectionParameterOptions): ConnectionParameters {
  const min = o.intervalMin ?? Math.min(DEFAULTS.intervalMin, o.intervalMax ?? DEFAULTS.intervalMin)
  const max = o.intervalMax ?? Math.max(DEFAULTS.intervalMax, min)
  const latency = o.latency ?? DEFAULTS.latency
  const timeout = o.supervisionTimeout ?? DEFAULTS.supervisionTimeout
  range('intervalMin', min, 7.5, 4000, ' ms')
  range('intervalMax', max, 7.5, 4000, ' ms')
  if (min > max) throw new ParameterError(`intervalMin ${min} ms is above intervalMax ${max} ms`)
  if (!Number.isInteger(latency) || latency < 0 || latency > 499)
    throw new ParameterError(`latency: ${latency} is not a whole number of connection events in 0..499`)
  range('supervisionTimeout', timeout, 100, 32000, ' ms')
  const p = {
    intervalMin: Math.round(min / 1.25),
    intervalMax: Math.round(max / 1.25),
    latency,
    timeout: Math.round(timeout / 10),
  }
  // Vol 6 Part B 4.5.2: the supervision timeout outlasts (1 + latency) * interval * 2.
  if (p.timeout * 10 <= (1 + latency) * p.intervalMax * 1.25 * 2)
    throw new ParameterError(
      `supervisionTimeout ${timeout} ms must exceed (1 + latency) * intervalMax * 2 = ${(1 + latency) * max * 2} ms`,
      { hint: 'raise supervisionTimeout, or lower intervalMax or latency' },
    )
  return p
}

/** gap/'s parameters in force -> ms. */
export function fromActiveParameters(p: ActiveParameters): LinkParameters {
  return { interval: p.interval * 1.25, latency: p.latency, supervisionTimeout: p.timeout * 10 }
}

const PHY_BIT: Readonly<Record<Phy, number>> = { '1M': 0x01, '2M': 0x02, coded: 0x04 }
const PHY_OF_NUMBER: readonly (Phy | undefined)[] = [undefined, '1M', '2M', 'coded']

function mask(list: readonly Phy[], name: string): number {
  if (list.length === 0) throw new ParameterError(`${name}: name at least one PHY ('1M', '2M', 'coded')`)
  let m = 0
  for (const p of list) {
    const bit = PHY_BIT[p]
    if (bit === undefined) throw new ParameterError(`${name}: '${String(p)}' is not a PHY ('1M', '2M', 'coded')`)
    m |= bit
  }
  return m
}

/** Preferred PHYs -> LE Set PHY's TX_PHYs / RX_PHYs bit masks. */
export function phyMasks(pref: PhyPreference): { tx: number; rx: number } {
  if (Array.isArray(pref)) {
    const m = mask(pref as readonly Phy[], 'phys')
    return { tx: m, rx: m }
  }
  const { tx, rx } = pref as { tx: readonly Phy[]; rx: readonly Phy[] }
  return { tx: mask(tx, 'phys.tx'), rx: mask(rx, 'phys.rx') }
}

/** gap/'s PHY numbers (7.7.65.12) -> names. */
export function phyNames(p: PhyNumbers): LinkPhy {
  return { tx: PHY_OF_NUMBER[p.tx] ?? '1M', rx: PHY_OF_NUMBER[p.rx] ?? '1M' }
}

/** The ATT MTU asked for: 23..65535 (Vol 3 Part F 3.2.8; 517 carries the longest value in one PDU). */
export function checkMtu(mtu: number): number {
  if (!Number.isInteger(mtu) || mtu < 23 || mtu > 0xffff)
    throw new ParameterError(`mtu: ${mtu} is not a whole number in 23..65535 (Core v5.4 Vol 3 Part F 3.2.8)`)
  return mtu
}

/** LE Data Length TX octets: 27..251 (Vol 4 Part E 7.8.33). */
export function checkDataLength(octets: number): number {
  if (!Number.isInteger(octets) || octets < 27 || octets > 251)
    throw new ParameterError(
      `dataLength: ${octets} is not a whole number of octets in 27..251 (Core v5.4 Vol 4 Part E 7.8.33)`,
    )
  return octets
}
