/**
 * Ranges of the connection parameters the virtual controller accepts (Core v5.4 Vol 4 Part E
 * 7.8.12 LE Create Connection, also 7.8.18 LE Connection Update and 7.8.31 LE Remote Connection
 * Parameter Request Reply; Vol 6 Part B 4.5.2 for the supervision timeout rule).
 */
import { Status } from '../../hci/constants.ts'
import { fail } from './controller-error.ts'

/** LE_Scan_Interval / LE_Scan_Window of an initiator (7.8.12). */
export function checkScan(p: { scanInterval: number; scanWindow: number }): void {
  const ok = (v: number): boolean => v >= 0x0004 && v <= 0x4000
  if (!ok(p.scanInterval) || !ok(p.scanWindow) || p.scanWindow > p.scanInterval) {
    fail(Status.InvalidParameters, 'scan interval/window')
  }
}

/** Connection parameter ranges of 7.8.12 (and 7.8.18, 7.8.31); Invalid Parameters when outside. */
export function checkConnectionParameters(p: {
  connectionIntervalMin: number
  connectionIntervalMax: number
  maxLatency: number
  supervisionTimeout: number
  minCeLength?: number
  maxCeLength?: number
}): void {
  const bad = (why: string): never => fail(Status.InvalidParameters, why)
  const { connectionIntervalMin: min, connectionIntervalMax: max, maxLatency, supervisionTimeout } = p
  if (min < 0x0006 || min > 0x0c80 || max < 0x0006 || max > 0x0c80 || min > max) bad('connection interval')
  if (maxLatency > 0x01f3) bad('max latency')
  if (supervisionTimeout < 0x000a || supervisionTimeout > 0x0c80) bad('supervision timeout')
  // Supervision timeout (10 ms units) > (1 + latency) * interval max (1.25 ms units) * 2.
  if (supervisionTimeout * 10 <= (1 + maxLatency) * max * 1.25 * 2) bad('supervision timeout too short')
  if (p.minCeLength !== undefined && p.maxCeLength !== undefined && p.minCeLength > p.maxCeLength) bad('CE length')
}

/** A requested range (LL_CONNECTION_PARAM_REQ/RSP, Vol 6 Part B 2.4.2.16). */
export interface Range {
  intervalMin: number
  intervalMax: number
  latency: number
  timeout: number
}

/** Is the range acceptable by the rules above? */
export function validRange(r: Range): boolean {
  try {
    checkConnectionParameters({
      connectionIntervalMin: r.intervalMin,
      connectionIntervalMax: r.intervalMax,
      maxLatency: r.latency,
      supervisionTimeout: r.timeout,
    })
    return true
  } catch {
    return false
  }
}
