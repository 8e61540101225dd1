/**
 * `npm run bench [-- --quick] [--only gatt,adv,startup,memory] [--no-write]`: hcikit's performance
 * suite, hcikit and @stoprocent/noble side by side in the same run (see docs/PERFORMANCE.md for
 * what each figure means and how it is taken):
 * - GATT throughput (gatt/): 10,000 writes without response and 10,000 notifications of 244
 *   octets at 251- and 27-octet ACL buffers; client CPU per phase and max client RSS;
 * - advertising throughput (adv/): report events with real AD payloads fed to both stacks at
 *   their HCI boundary, through to the application; CPU per report;
 * - start-up (startup.ts) and memory while scanning (memory.ts).
 * The machine is shared and noisy: every figure is the median of several fresh processes, and
 * what counts is the ratio to the peer measured in the same run. A full run writes the tables
 * into docs/PERFORMANCE.md (between its bench markers); `--quick` (fewer, smaller runs, under two
 * minutes) only prints them.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { measureGatt, type GattMeasurement } from './gatt/measure.ts'
import { measureAdv, type AdvMeasurement } from './adv/measure.ts'
import { measureStartup, type StartupMeasurement } from './startup.ts'
import { measureMemory, type MemoryMeasurement } from './memory.ts'
import { renderReport, type BenchResults } from './report.ts'

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const only = args
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',') ?? ['gatt', 'adv', 'startup', 'memory']
const write = !quick && !args.includes('--no-write') && only.length === 4

const plan = quick
  ? { runs: 1, gattN: 2_000, advTotal: 200_000, startupRuns: 3, devices: 100_000, minutes: 10, memRuns: 1 }
  : { runs: 5, gattN: 10_000, advTotal: 1_000_000, startupRuns: 5, devices: 100_000, minutes: 60, memRuns: 3 }

const step = (what: string): void => void process.stderr.write(`bench: ${what}\n`)

async function main(): Promise<void> {
  const t0 = performance.now()
  const results: BenchResults = { quick, plan, startedAt: new Date().toISOString(), gatt: [] }
  if (only.includes('gatt')) {
    for (const acl of [251, 27]) {
      step(`GATT, ${acl}-octet ACL buffers, ${plan.runs} x (hcikit, noble), ${plan.gattN} writes and notifications`)
      results.gatt.push(await measureGatt(acl, plan.runs, plan.gattN))
    }
  }
  if (only.includes('adv')) {
    step(`advertising, ${plan.runs} x (hcikit, noble), ${plan.advTotal} reports`)
    results.adv = await measureAdv(plan.runs, plan.advTotal)
  }
  if (only.includes('startup')) {
    step(`start-up, ${plan.startupRuns} runs`)
    results.startup = await measureStartup(plan.startupRuns)
  }
  if (only.includes('memory')) {
    step(`memory, ${plan.devices} advertisers x ${plan.memRuns}, ${plan.minutes} simulated minutes`)
    results.memory = measureMemory(plan.memRuns, plan.devices, plan.minutes)
  }
  results.seconds = (performance.now() - t0) / 1000
  const { table, markdown, failures } = renderReport(results)
  process.stdout.write(`${table}\n`)
  if (write) {
    const path = fileURLToPath(new URL('../../docs/PERFORMANCE.md', import.meta.url))
    const doc = readFileSync(path, 'utf8')
    const begin = doc.indexOf('<!-- bench:begin -->')
    const end = doc.indexOf('<!-- bench:end -->')
    if (begin < 0 || end < begin) throw new Error(`${path}: no <!-- bench:begin --> ... <!-- bench:end --> markers`)
    writeFileSync(path, `${doc.slice(0, begin + 20)}\n${markdown}\n${doc.slice(end)}`)
    step(`wrote ${path} (run \`npx biome check --write docs/PERFORMANCE.md\` to align its table before committing)`)
  }
  step(
    `done in ${results.seconds.toFixed(0)} s; ${failures.length ? `targets missed: ${failures.join('; ')}` : 'every target met'}`,
  )
}

export type { GattMeasurement, AdvMeasurement, StartupMeasurement, MemoryMeasurement }
await main()
