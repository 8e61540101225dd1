/**
 * `hcikit link [--seed N] [--snoop DIR] [--trace] SPEC...`: one process, one shared virtual link
 * (real time, so real hosts can drive it), one virtual controller per SPEC, each served to one
 * host at a time as H4 (Core v5.4 Vol 4 Part A 2) over TCP or on a pseudo-terminal
 * (src/virtual/serve.ts, serve-pty.ts). A host that connects gets a freshly reset controller;
 * when it leaves, the controller is detached (its links drop) until the next host.
 *
 * Output: one line per controller on stdout once everything is served,
 *   `SPEC ADDRESS [SNOOP-FILE]`   (a tcp-server port 0 is printed as the port chosen),
 * then session events on stderr. SIGINT/SIGTERM end it cleanly: sessions end, socat children
 * are killed, pty symlinks removed, captures flushed; exit code 0.
 *
 * `--snoop DIR` writes DIR/<n>-<spec>.btsnoop per controller (datalink 1002, directions from the
 * host's point of view: host -> controller is sent), across all of its host sessions.
 * `--trace` prints every packet, decoded, to stderr, prefixed with the controller's spec.
 * `--device TWIN` (repeatable) puts a twin (src/twin/, from `hcikit twin`) on the link as a
 * peripheral that the served hosts can scan and connect to.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createCaptureFile, type CaptureFile } from '../capture-file.ts'
import { TraceDecoder, formatRecord } from '../decoder.ts'
import { VirtualLink } from '../virtual/link.ts'
import { RealtimeScheduler } from '../virtual/scheduler.ts'
import { VirtualController } from '../virtual/controller.ts'
import {
  TcpServe,
  formatServeSpec,
  parseServeSpec,
  type ServeEvent,
  type ServeObserver,
  type ServeSpec,
  type Served,
} from '../virtual/serve.ts'
import { PtyServe } from '../virtual/serve-pty.ts'
import type { CliContext } from './connect-common.ts'
import { loadTwin, startTwin, type RunningTwin } from '../twin/index.ts'
import { UsageError } from './usage.ts'

export const linkHelp = `usage: hcikit link [--seed N] [--snoop DIR] [--trace] [--device TWIN]... SPEC...

Runs virtual LE controllers on one shared virtual radio link, one per SPEC, until interrupted:
  tcp-server:HOST:PORT   H4 over TCP (port 0: any free port, printed); one host at a time
  pty:PATH               H4 on a pseudo-terminal symlinked at PATH (needs socat), for UART hosts
                         (e.g. BLUETOOTH_HCI_SOCKET_UART_PORT=PATH for noble/bleno)
Each new host gets a freshly reset controller. Prints "SPEC ADDRESS [SNOOP-FILE]" per controller.
  --seed N      seed of the link (default addresses, random choices); default 1
  --snoop DIR   one btsnoop capture per controller in DIR (Wireshark opens them)
  --trace       print every packet, decoded, to stderr
  --device TWIN a twin file (\`hcikit twin CAPTURE\`) to run on the link as a peripheral (repeatable)`

function nowUs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000))
}

function slug(spec: string): string {
  return spec.replace(/[^A-Za-z0-9.]+/g, '-').replace(/^-+|-+$/g, '')
}

function describe(e: ServeEvent): string {
  switch (e.kind) {
    case 'ready':
      return e.device ? `ready (${e.device})` : 'ready'
    case 'host-connected':
      return `host connected (${e.from})`
    case 'host-disconnected':
      return `host disconnected (${e.reason})`
    case 'refused':
      return `refused ${e.from}: ${e.reason}`
    case 'framing-error':
      return `framing error: ${e.message}`
    case 'error':
      return `error: ${e.message}`
  }
}

interface LinkArgs {
  seed: number
  snoop: string | undefined
  trace: boolean
  devices: string[]
  specs: ServeSpec[]
}

/** The command line, checked; undefined for --help. */
function parseLink(argv: string[]): LinkArgs | undefined {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      seed: { type: 'string' },
      snoop: { type: 'string' },
      trace: { type: 'boolean', default: false },
      device: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  })
  if (values.help) return undefined
  if (positionals.length === 0) throw new UsageError('link needs at least one SPEC', linkHelp)
  const seed = values.seed === undefined ? 1 : Number(values.seed)
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new UsageError(`--seed ${values.seed}: expected an integer 0..4294967295`, linkHelp)
  }
  const specs: ServeSpec[] = positionals.map((text) => {
    try {
      return parseServeSpec(text)
    } catch (e) {
      throw new UsageError((e as Error).message, linkHelp)
    }
  })
  const ptyPaths = specs.flatMap((s) => (s.kind === 'pty' ? [s.path] : []))
  if (new Set(ptyPaths).size !== ptyPaths.length) throw new UsageError('the same pty PATH is given twice', linkHelp)
  return { seed, snoop: values.snoop, trace: values.trace, devices: values.device ?? [], specs }
}

/** `--device TWIN`: each twin as a peripheral on the link (added to `into` as it starts). */
async function startTwins(paths: readonly string[], link: VirtualLink, into: RunningTwin[]): Promise<void> {
  for (const path of paths) {
    const twin = await startTwin(await loadTwin(path), { link })
    into.push(twin)
    process.stderr.write(`hcikit link: twin ${twin.twin.device.address} from ${path}\n`)
  }
}

/** What one served controller reports: its packets (capture, --trace) and its session events. */
function observerFor(
  label: () => string,
  capture: CaptureFile | undefined,
  trace: boolean,
  fail: (why: string) => void,
): ServeObserver {
  const decoder = trace ? new TraceDecoder() : undefined
  let frame = 0
  return {
    packet(direction, p) {
      const timestampUs = nowUs()
      capture?.write({ timestampUs, direction, packetType: p.type, data: p.data }).catch((e: unknown) => {
        fail(`capture ${capture.path}: ${(e as Error).message}`)
      })
      if (decoder) {
        const rec = {
          index: ++frame,
          timestampUs,
          direction,
          packetType: p.type,
          data: p.data,
          originalLength: p.data.length,
        }
        process.stderr.write(`[${label()}] ${formatRecord(decoder.decode(rec))}\n`)
      }
    },
    event(e) {
      process.stderr.write(`hcikit link: ${label()}: ${describe(e)}\n`)
    },
  }
}

export async function linkCommand(argv: string[], ctx?: CliContext): Promise<number> {
  const args = parseLink(argv)
  if (args === undefined) {
    process.stdout.write(linkHelp + '\n')
    return 0
  }
  if (args.snoop !== undefined) mkdirSync(args.snoop, { recursive: true })

  // Listen for the signals first, so an early interrupt still cleans up what was started.
  let stop!: (signal: string) => void
  const stopped = new Promise<string>((resolve) => (stop = resolve))
  const onSignal = (signal: NodeJS.Signals): void => stop(signal)
  const onAbort = (): void => stop('stopped')
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  ctx?.signal?.addEventListener('abort', onAbort, { once: true })

  const link = new VirtualLink({ seed: args.seed, scheduler: new RealtimeScheduler({ seed: args.seed }) })
  const served: Served[] = []
  const captures: CaptureFile[] = []
  const twins: RunningTwin[] = []
  let failure: string | undefined
  const fail = (why: string): void => {
    failure ??= why
    stop('capture error')
  }
  try {
    await startTwins(args.devices, link, twins)
    const lines: string[] = []
    for (const [i, spec] of args.specs.entries()) {
      let current = formatServeSpec(spec)
      const controller = new VirtualController(link, { name: current })
      let capture: CaptureFile | undefined
      if (args.snoop !== undefined) {
        capture = createCaptureFile(join(args.snoop, `${i + 1}-${slug(current)}.btsnoop`), 'btsnoop-1002')
        captures.push(capture)
      }
      const observer = observerFor(() => current, capture, args.trace, fail)
      const s =
        spec.kind === 'pty'
          ? await PtyServe.open(spec.path, controller, observer)
          : await TcpServe.listen(spec, controller, observer)
      served.push(s)
      current = formatServeSpec(s.spec)
      lines.push([current, controller.address, capture?.path].filter((x) => x !== undefined).join(' '))
    }
    process.stdout.write(lines.join('\n') + '\n')
    const why = await stopped
    process.stderr.write(`hcikit link: ${why}: shutting down\n`)
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    ctx?.signal?.removeEventListener('abort', onAbort)
    await Promise.allSettled(served.map((s) => s.close()))
    await Promise.allSettled(twins.map((t) => t.close()))
    for (const c of link.controllers) c.detach()
    const closed = await Promise.allSettled(captures.map((c) => c.close()))
    for (const r of closed) if (r.status === 'rejected') failure ??= String((r.reason as Error).message)
  }
  if (failure !== undefined) throw new Error(failure)
  return 0
}
