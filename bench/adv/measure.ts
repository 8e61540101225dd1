/**
 * The advertising throughput measurement: `runs` rounds of hcikit-scan.ts and noble-scan.ts
 * (fresh processes, taking turns), each fed `total` report events; medians of CPU per report
 * and of reports per CPU second (the rate on one core, whatever else the machine is doing).
 */
import { median, runJson } from '../child.ts'
import type { AdvResult } from './feed.ts'

export interface AdvMeasurement {
  total: number
  stacks: Record<'hcikit' | 'noble', { usPerReport: number; reportsPerCpuSecond: number; runs: AdvResult[] }>
}

export async function measureAdv(runs: number, total: number): Promise<AdvMeasurement> {
  const results: Record<'hcikit' | 'noble', AdvResult[]> = { hcikit: [], noble: [] }
  for (let i = 0; i < runs; i++) {
    for (const stack of i % 2 ? (['noble', 'hcikit'] as const) : (['hcikit', 'noble'] as const)) {
      const r = await runJson<AdvResult>(`adv/${stack}-scan`, [String(total)])
      if (r.received !== total)
        throw new Error(`${stack}: ${r.received} of ${total} reports reached the application (${r.dropped} dropped)`)
      results[stack].push(r)
    }
  }
  const stat = (rs: AdvResult[]) => {
    const us = median(rs.map((r) => (r.cpuMs * 1000) / r.reports))
    return { usPerReport: us, reportsPerCpuSecond: 1e6 / us, runs: rs }
  }
  return { total, stacks: { hcikit: stat(results.hcikit), noble: stat(results.noble) } }
}
