/**
 * The GATT throughput measurement: for each ACL buffer size, one peripheral.ts process (the link,
 * our GATT server, the central's controller on TCP and on a pty), then `runs` rounds of the hcikit
 * client and the noble client taking turns (a fresh process each), medians per phase.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { median, runJson, startHelper } from '../child.ts'
import type { ClientResult } from './protocol.ts'

export interface GattMeasurement {
  aclLength: number
  n: number
  /** Medians per stack: CPU ms per phase (scaled to 10,000 operations), max RSS MB. */
  stacks: Record<
    'hcikit' | 'noble',
    { writesMs: number; notificationsMs: number; maxRssMb: number; runs: ClientResult[] }
  >
}

function check(r: ClientResult, n: number): void {
  for (const p of r.phases) {
    if (p.count !== n || p.lost !== 0 || p.disordered !== 0)
      throw new Error(`${r.stack} ${p.phase}: ${p.count} of ${n} arrived, ${p.lost} lost, ${p.disordered} out of order`)
  }
}

export async function measureGatt(aclLength: number, runs: number, n: number): Promise<GattMeasurement> {
  const dir = mkdtempSync(join(tmpdir(), 'hcikit-bench-'))
  const pty = join(dir, 'central')
  const helper = await startHelper('gatt/peripheral', [String(aclLength), pty], /^READY (\d+)/)
  const port = helper.match[1]!
  const results: Record<'hcikit' | 'noble', ClientResult[]> = { hcikit: [], noble: [] }
  try {
    for (let i = 0; i < runs; i++) {
      const order: Array<'hcikit' | 'noble'> = i % 2 ? ['noble', 'hcikit'] : ['hcikit', 'noble']
      for (const stack of order) {
        const r =
          stack === 'hcikit'
            ? await runJson<ClientResult>('gatt/hcikit-central', [port, String(n)])
            : await runJson<ClientResult>('gatt/noble-central', [pty, String(n)])
        check(r, n)
        results[stack].push(r)
      }
    }
  } finally {
    await helper.stop()
    rmSync(dir, { recursive: true, force: true })
  }
  const scale = 10_000 / n
  const stat = (rs: ClientResult[]) => ({
    writesMs: median(rs.map((r) => r.phases.find((p) => p.phase === 'writes')!.cpuMs)) * scale,
    notificationsMs: median(rs.map((r) => r.phases.find((p) => p.phase === 'notifications')!.cpuMs)) * scale,
    maxRssMb: median(rs.map((r) => r.maxRssMb)),
    runs: rs,
  })
  return { aclLength, n, stacks: { hcikit: stat(results.hcikit), noble: stat(results.noble) } }
}
