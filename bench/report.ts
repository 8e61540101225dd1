/**
 * The bench's tables: the side-by-side figures (hcikit, noble, the Bumble figures), the
 * ratio hcikit/noble, the target and whether it is met; as markdown for docs/PERFORMANCE.md and
 * for the terminal. Bumble cannot be installed here (no PyPI): its column holds the figures
 * measured for issue 14, marked as such.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus, loadavg, release, totalmem } from 'node:os'
import { createRequire } from 'node:module'
import type { GattMeasurement } from './gatt/measure.ts'
import type { AdvMeasurement } from './adv/measure.ts'
import type { StartupMeasurement } from './startup.ts'
import type { MemoryMeasurement } from './memory.ts'

export interface BenchResults {
  quick: boolean
  plan: Record<string, number>
  startedAt: string
  seconds?: number
  gatt: GattMeasurement[]
  adv?: AdvMeasurement
  startup?: StartupMeasurement
  memory?: MemoryMeasurement
}

interface Row {
  what: string
  noble: number | undefined
  bumble: string
  hcikit: number
  unit: string
  /** hcikit must be <= (or >= when `atLeast`) this. */
  target: number | undefined
  atLeast?: boolean
  /** Ratio to show: hcikit/noble (default), or noble/hcikit for rates. */
  ratio?: boolean
}

const fmt = (v: number | undefined, unit: string): string => {
  if (v === undefined || Number.isNaN(v)) return '-'
  const digits = unit === 'MB' ? 1 : v >= 100 ? 0 : v >= 10 ? 1 : 2
  return `${v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })} ${unit}`
}

function versions(): string[] {
  const root = new URL('../../', import.meta.url)
  const own = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string }
  const req = createRequire(new URL('package.json', root))
  let noble = '?'
  try {
    noble = (JSON.parse(readFileSync(req.resolve('@stoprocent/noble/package.json'), 'utf8')) as { version: string })
      .version
  } catch {
    // not installed
  }
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' })
  const commit = git.status === 0 ? git.stdout.trim() : 'unknown'
  const cpu = cpus()
  return [
    `machine: ${cpu[0]?.model ?? '?'} x ${cpu.length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} at the end`,
    `versions: hcikit ${own.version} (${commit}), @stoprocent/noble ${noble}, Node ${process.version}`,
  ]
}

function rows(r: BenchResults): Row[] {
  const out: Row[] = []
  const bumble: Record<string, string> = {
    '251 writes': '475 ms',
    '251 notifications': '321 ms',
    '27 writes': '2,749 ms',
    '27 notifications': '1,305 ms',
  }
  const target: Record<string, number> = {
    '251 writes': 120,
    '251 notifications': 60,
    '27 writes': 400,
    '27 notifications': 250,
  }
  for (const g of r.gatt) {
    for (const phase of ['writes', 'notifications'] as const) {
      const key = `${g.aclLength} ${phase}`
      const label = phase === 'writes' ? 'write-without-response' : 'notifications'
      out.push({
        what: `client CPU, 10,000 ${label} x 244 B, ${g.aclLength}-B ACL buffers`,
        noble: g.stacks.noble[`${phase}Ms`],
        bumble: `${bumble[key]} *`,
        hcikit: g.stacks.hcikit[`${phase}Ms`],
        unit: 'ms',
        target: target[key],
      })
    }
  }
  if (r.gatt.length > 0) {
    out.push({
      what: 'max RSS of the client process',
      noble: Math.max(...r.gatt.map((g) => g.stacks.noble.maxRssMb)),
      bumble: '46 MB *',
      hcikit: Math.max(...r.gatt.map((g) => g.stacks.hcikit.maxRssMb)),
      unit: 'MB',
      target: 46,
    })
  }
  if (r.adv) {
    const a = r.adv.stacks
    out.push({
      what: 'advertising reports per CPU second, HCI to application',
      noble: a.noble.reportsPerCpuSecond,
      bumble: '-',
      hcikit: a.hcikit.reportsPerCpuSecond,
      unit: '/s',
      target: Math.max(1_000_000, 5 * a.noble.reportsPerCpuSecond),
      atLeast: true,
    })
    out.push({
      what: 'CPU per advertising report',
      noble: a.noble.usPerReport,
      bumble: '-',
      hcikit: a.hcikit.usPerReport,
      unit: 'us',
      target: Math.min(1, a.noble.usPerReport / 5),
    })
  }
  if (r.startup) {
    const s = r.startup
    out.push({
      what: '`hcikit --version` (whole process)',
      noble: undefined,
      bumble: '-',
      hcikit: s.versionMs,
      unit: 'ms',
      target: 150,
    })
    out.push({
      what: "RSS added by `import('hcikit')`",
      noble: undefined,
      bumble: '-',
      hcikit: s.importRssMb,
      unit: 'MB',
      target: 5,
    })
    out.push({
      what: '`open()` to ready, virtual controller',
      noble: undefined,
      bumble: '-',
      hcikit: s.openMs,
      unit: 'ms',
      target: undefined,
    })
  }
  return out
}

export function renderReport(r: BenchResults): { table: string; markdown: string; failures: string[] } {
  const failures: string[] = []
  const lines = [
    '| measurement | noble | Bumble | hcikit | hcikit/noble | target | met |',
    '|---|---:|---:|---:|---:|---:|:---:|',
  ]
  for (const row of rows(r)) {
    const ratio = row.noble === undefined ? '-' : (row.hcikit / row.noble).toFixed(2)
    const met =
      row.target === undefined ? '' : (row.atLeast ? row.hcikit >= row.target : row.hcikit <= row.target) ? 'yes' : 'no'
    if (met === 'no') failures.push(row.what)
    const target = row.target === undefined ? '-' : `${row.atLeast ? '>=' : '<='} ${fmt(row.target, row.unit)}`
    lines.push(
      `| ${row.what} | ${fmt(row.noble, row.unit)} | ${row.bumble} | ${fmt(row.hcikit, row.unit)} | ${ratio} | ${target} | ${met} |`,
    )
  }
  const extra: string[] = []
  if (r.startup) {
    extra.push(
      `- a bare Node process (an empty ES module) takes ${fmt(r.startup.bareNodeMs, 'ms')} here, so \`hcikit --version\` adds ${fmt(r.startup.versionMs - r.startup.bareNodeMs, 'ms')}; bare Node RSS ${fmt(r.startup.bareRssMb, 'MB')}; \`import('hcikit')\` takes ${fmt(r.startup.importMs, 'ms')}.`,
    )
  }
  if (r.memory) {
    const m = r.memory
    extra.push(
      `- ${m.advertisers.devices.toLocaleString('en-US')} distinct advertisers on the virtual link, scanning with the default dedup: RSS ${fmt(m.advertisers.rssMb, 'MB')}, heap ${fmt(m.advertisers.heapMb, 'MB')} (grew ${fmt(m.advertisers.heapGrowthMb, 'MB')} while they went by), ${Math.round(m.advertisers.perSecond).toLocaleString('en-US')} advertisers/s.`,
      `- ${m.hour.minutes} simulated minutes of scanning (${m.hour.reports.toLocaleString('en-US')} reports): heap every 5 minutes ${m.hour.heapMb.map((h) => h.toFixed(2)).join(', ')} MB; last - first ${m.hour.growthKb.toFixed(0)} KB.`,
    )
  }
  const plan = r.plan
  const header = [
    ...versions(),
    `run: ${r.startedAt}, ${r.quick ? 'QUICK (fewer, smaller runs; figures scaled to 10,000 operations)' : 'full'}: medians of ${plan['runs']} runs per stack (GATT ${plan['gattN']?.toLocaleString('en-US')} operations per phase, ${plan['advTotal']?.toLocaleString('en-US')} advertising reports), ${plan['startupRuns']} start-up runs; ${r.seconds?.toFixed(0) ?? '?'} s in all.`,
    '\\* Bumble: not installable here (no PyPI); the figures measured for issue 14 on 2026-12-01, not from this run.',
  ]
  const markdown = [...header.map((l) => `${l}  `), '', ...lines, '', ...extra].join('\n')
  return { table: markdown, markdown, failures }
}
