/**
 * What a CLI run records and prints besides its output: `--log` (or HCIKIT_LOG) decoded packets
 * on stderr, `--snoop FILE` / `--pcap FILE|-` (or HCIKIT_SNOOP) capture files (src/log.ts,
 * src/snoop-capture.ts; Core v5.4 Vol 4 Part E 5.4 packets).
 *
 * A capture path that cannot be written fails here, before the command starts, as a one-line
 * CaptureError; a capture that fails later is reported once through `onError` and the command
 * goes on (docs/RELIABILITY.md).
 */
import type { Writable } from 'node:stream'
import type { CaptureError } from '../../hci/errors.ts'
import { startLogging, startSnoop, type Subscription } from '../log.ts'

export interface CaptureRequest {
  log: boolean
  snoop: string | undefined
  pcap: string | undefined
  env: NodeJS.ProcessEnv
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
  onError: (e: CaptureError) => void
}

export interface Captures {
  /** A capture streams to stdout (`-`): the command must print elsewhere. */
  onStdout: boolean
  close(): Promise<void>
}

function envFlag(v: string | undefined): boolean {
  return v !== undefined && v !== '' && v !== '0' && v !== 'false'
}

/** Start what the command line and the environment ask for; throws CaptureError (starting nothing) if a path cannot be written. */
export function startCaptures(r: CaptureRequest): Captures {
  const subs: Subscription[] = []
  const snoops: [string, 'btsnoop' | 'pcap' | undefined][] = []
  const fromEnv = r.env['HCIKIT_SNOOP']
  if (fromEnv) snoops.push([fromEnv, undefined])
  if (r.snoop !== undefined) snoops.push([r.snoop, 'btsnoop'])
  if (r.pcap !== undefined) snoops.push([r.pcap, 'pcap'])
  try {
    for (const [path, format] of snoops) subs.push(startSnoop(path, format, { stdout: r.stdout, onError: r.onError }))
  } catch (e) {
    for (const s of subs) void s.close()
    throw e
  }
  if (r.log || envFlag(r.env['HCIKIT_LOG'])) subs.push(startLogging(r.stderr as Writable))
  return {
    onStdout: snoops.some(([path]) => path === '-'),
    async close() {
      for (const s of subs) await s.close()
    },
  }
}
