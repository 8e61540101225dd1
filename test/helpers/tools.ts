/**
 * The external programs some tests run: tshark and editcap (Wireshark, the independent decoder
 * every codec is checked against) and socat (pseudo-terminal pairs for the UART paths).
 *
 * One policy, here only: a missing tool skips the tests that need it, saying which tool and how
 * to get it; under CI (HCIKIT_CI=1, set by .ci/run, which installs them) it fails the file
 * instead, so an oracle can never be skipped silently there. Use it as a test option:
 *
 *   t.test('agrees with tshark', { skip: missing('tshark') }, async (t) => { ... })
 *
 * and, for code that runs at load, `if (!missing('editcap')) { ... }`.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'

export type Tool = 'tshark' | 'editcap' | 'socat'

/** The argument each tool answers without doing anything (and exits 0). */
const PROBE: Record<Tool, string> = { tshark: '--version', editcap: '--version', socat: '-V' }
const PACKAGE: Record<Tool, string> = { tshark: 'tshark', editcap: 'wireshark-common', socat: 'socat' }
export const IN_CI = process.env['HCIKIT_CI'] === '1'

const found = new Map<Tool, string | undefined>()
const failed = new Set<Tool>()

/** The tool's `--version` output, or undefined when it cannot be run. Probed once per process. */
export function toolVersion(tool: Tool): string | undefined {
  if (!found.has(tool)) {
    const r = spawnSync(tool, [PROBE[tool]], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    found.set(tool, r.status === 0 ? `${r.stdout}${r.stderr}`.trim() : undefined)
  }
  return found.get(tool)
}

export function haveTool(tool: Tool): boolean {
  return toolVersion(tool) !== undefined
}

/**
 * false when every tool is there; otherwise the reason to skip ("tshark is not installed: ...").
 * Under HCIKIT_CI=1 a missing tool also fails this file, once per tool.
 */
export function missing(...tools: Tool[]): string | false {
  const absent = tools.filter((x) => !haveTool(x))
  if (absent.length === 0) return false
  const one = absent.length === 1
  const packages = absent.map((x) => PACKAGE[x]).join(' ')
  const what = `${absent.join(' and ')} ${one ? 'is' : 'are'} not installed`
  const reason = `${what}: apt-get install ${packages} (\`bash .ci/run\` installs ${one ? 'it' : 'them'})`
  if (IN_CI) {
    for (const x of absent) {
      if (failed.has(x)) continue
      failed.add(x)
      t.fail(`${x} is required under HCIKIT_CI=1 and is not on the PATH: ${reason}`)
    }
  }
  return reason
}
