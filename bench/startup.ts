/**
 * Start-up costs: `hcikit --version` (node dist/src/cli/main.js --version, wall time of the whole
 * process, beside a bare Node process for scale), the RSS that `import('hcikit')` adds to a bare Node process, and `open()` on the
 * virtual controller to ready (Reset and the bring-up of hci/bring-up.ts). Each in fresh
 * processes; medians. `node dist/bench/startup.js --child import|open` is one measurement.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { median, runJson } from './child.ts'

export interface StartupMeasurement {
  versionMs: number
  /** The same for a bare Node process running an empty ES module (the floor on this machine now). */
  bareNodeMs: number
  bareRssMb: number
  importRssMb: number
  importMs: number
  openMs: number
}

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url))
const INDEX = new URL('../src/index.js', import.meta.url).href

async function child(what: string): Promise<void> {
  if (what === 'import') {
    const before = process.memoryUsage().rss
    const t0 = performance.now()
    await import(INDEX)
    const ms = performance.now() - t0
    process.stdout.write(`${JSON.stringify({ bare: before, added: process.memoryUsage().rss - before, ms })}\n`)
  } else {
    const { open } = (await import(INDEX)) as typeof import('../src/index.ts')
    const t0 = performance.now()
    const adapter = await open({ transport: 'virtual' })
    const ms = performance.now() - t0
    await adapter.close()
    process.stdout.write(`${JSON.stringify({ ms })}\n`)
  }
}

export async function measureStartup(runs: number): Promise<StartupMeasurement> {
  const version: number[] = []
  const bareNode: number[] = []
  const bare: number[] = []
  const added: number[] = []
  const importMs: number[] = []
  const open: number[] = []
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    const r = spawnSync(process.execPath, [MAIN, '--version'], { encoding: 'utf8' })
    version.push(performance.now() - t0)
    if (r.status !== 0) throw new Error(`hcikit --version: exit ${r.status}: ${r.stderr}`)
    const t1 = performance.now()
    spawnSync(process.execPath, ['--input-type=module', '-e', ''], { encoding: 'utf8' })
    bareNode.push(performance.now() - t1)
    const m = await runJson<{ bare: number; added: number; ms: number }>('startup', ['--child', 'import'])
    bare.push(m.bare / 2 ** 20)
    added.push(m.added / 2 ** 20)
    importMs.push(m.ms)
    open.push((await runJson<{ ms: number }>('startup', ['--child', 'open'])).ms)
  }
  return {
    versionMs: median(version),
    bareNodeMs: median(bareNode),
    bareRssMb: median(bare),
    importRssMb: median(added),
    importMs: median(importMs),
    openMs: median(open),
  }
}

if (process.argv[2] === '--child') await child(process.argv[3] ?? 'import')
