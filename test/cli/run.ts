/**
 * Test helper: run the `hcikit` command line in-process (src/cli/main.ts `main`) with captured
 * stdout/stderr and an empty environment (no HCIKIT_TRANSPORT, no logging), so each run is the
 * virtual transport with its two virtual devices unless the arguments say otherwise. HCIKIT_HOME
 * (the GATT cache between runs) is a temporary directory of this test process unless `env` names
 * one, so no test writes to the real ~/.hcikit.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, type Readable } from 'node:stream'
import { main } from '../../src/cli/main.ts'

/** This test process's HCIKIT_HOME. */
export const TEST_HOME = mkdtempSync(join(tmpdir(), 'hcikit-test-home-'))

export interface Run {
  code: number
  stdout: string
  stderr: string
  /** stdout split into lines (no trailing empty line). */
  lines: string[]
}

export async function run(
  args: string[],
  o: {
    env?: NodeJS.ProcessEnv
    signal?: AbortSignal
    tty?: boolean
    onStdout?: (text: string) => void
    stdin?: Readable
  } = {},
): Promise<Run> {
  const out = new PassThrough()
  const err = new PassThrough()
  if (o.tty) (out as unknown as { isTTY: boolean }).isTTY = true
  let stdout = ''
  let stderr = ''
  out.on('data', (c: Buffer) => {
    stdout += c.toString('utf8')
    o.onStdout?.(stdout)
  })
  err.on('data', (c: Buffer) => (stderr += c.toString('utf8')))
  const code = await main(args, {
    stdout: out,
    stderr: err,
    env: { HCIKIT_HOME: TEST_HOME, ...o.env },
    stdin: o.stdin,
    signal: o.signal,
  })
  return { code, stdout, stderr, lines: stdout.split('\n').filter((l) => l !== '') }
}

/** A one-line error with a hint and no stack trace: `hcikit: ...` then `  hint: ...`. */
export function errorLines(stderr: string): { message: string; hint: string | undefined; rest: string[] } {
  const lines = stderr.split('\n').filter((l) => l !== '')
  const hintAt = lines.findIndex((l) => l.startsWith('  hint: '))
  return {
    message: lines[0] ?? '',
    hint: hintAt === 1 ? lines.slice(1).join('\n').slice('  hint: '.length) : undefined,
    rest: hintAt === 1 ? [] : lines.slice(1),
  }
}

export const HRM = '11:22:33:44:55:01'
export const SENSOR = '11:22:33:44:55:02'
export const base = (short: string): string => `0000${short}-0000-1000-8000-00805f9b34fb`
export const hexOf = (s: string): string => Buffer.from(s, 'utf8').toString('hex')
