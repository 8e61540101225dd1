#!/usr/bin/env node
/**
 * The `hcikit` command line: global options, then one command. Exit codes: 0 success,
 * 1 failure, 2 usage. Errors print in one line with a hint; a stack trace only with --log.
 */
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { HcikitError } from '../../hci/errors.ts'
import type { Subscription } from '../log.ts'
import { parseTransportSpec } from '../transports/index.ts'
import { UsageError } from './usage.ts'
import type { CliContext } from './connect-common.ts'

const HELP = `usage: hcikit [--transport SPEC] [--device TWIN] [--faults FILE] [--snoop FILE] [--pcap FILE|-] [--log] COMMAND [ARGS]

Commands:
  demo                   the main job on the virtual link: scan, connect, discover, read, subscribe
  scan                   list advertising devices (--timeout S --name N --service UUID --passive --duplicates --json)
  gatt ADDRESS           connect, discover everything, read every readable value (--json --no-cache --address-type T)
  read ADDRESS CHAR      read a characteristic (CHAR: a UUID or a handle)
  write ADDRESS CHAR HEX write a characteristic (--without-response)
  notify ADDRESS CHAR    subscribe and print values (--count N --timeout S --json)
  pair ADDRESS           pair and keep the bond (--io T --legacy --sc-only --no-bond --json)
  bonds [remove ADDRESS] list the bonds kept in HCIKIT_HOME (default ~/.hcikit), or forget one
  l2cap ADDRESS PSM      open an LE credit-based channel; stdin goes out, what arrives goes to stdout
  cache list|clear       the GATT cache kept between runs under HCIKIT_HOME (default ~/.hcikit)
  info                   the controller: version, features, supported commands, buffers, address
  doctor                 every controller this machine offers (HCI, USB, serial), permissions, fixes
  decode FILE [--json]   decode a btsnoop / pcap / pcapng capture
  twin CAPTURE           reconstruct a device from a capture as a twin file (--device ADDRESS --out FILE)
  link SPEC...           serve virtual controllers on one virtual link (tcp-server:HOST:PORT, pty:PATH)
  help                   this text
  version                print the version
Run \`hcikit COMMAND --help\` for a command's options.

Global options:
  --transport SPEC  the controller (default: HCIKIT_TRANSPORT, else virtual): virtual, usb[:VID:PID],
                    uart:PATH[@BAUD], tcp:HOST:PORT, unix:PATH, replay:FILE. The virtual transport
                    comes with a heart-rate monitor and a battery/custom device to talk to.
  --device TWIN  run this twin (from \`hcikit twin\`) on the virtual transport instead of the two
                 ready-made devices (repeatable)
  --faults FILE  inject the faults of this plan into the session's HCI packets (docs/TESTING.md);
                 each one is marked in the log and the capture
  --snoop FILE   record every HCI packet of the session as btsnoop (Wireshark opens it)
  --pcap FILE|-  the same as pcap (link type 201); '-' streams to stdout (| wireshark -k -i -)
  --log          print decoded traffic and the stack's decisions to stderr (also HCIKIT_LOG=1)

read, write, notify and gatt pair or encrypt from a bond when the device asks for it (--io, --no-pair).
HCIKIT_HOME (default ~/.hcikit) holds the bonds and the GATT cache.`

type Command = (argv: string[], ctx: CliContext) => Promise<number>
/** Each command is loaded when it runs: `hcikit --version` and `help` load none (docs/PERFORMANCE.md). */
const COMMANDS: Record<string, () => Promise<Command>> = {
  decode: async () => (await import('./decode.ts')).decodeCommand,
  demo: async () => (await import('./demo.ts')).demoCommand,
  doctor: async () => (await import('./doctor.ts')).doctorCommand,
  gatt: async () => (await import('./gatt.ts')).gattCommand,
  info: async () => (await import('./info.ts')).infoCommand,
  link: async () => (await import('./link.ts')).linkCommand,
  notify: async () => (await import('./notify.ts')).notifyCommand,
  pair: async () => (await import('./pair.ts')).pairCommand,
  bonds: async () => (await import('./bonds.ts')).bondsCommand,
  l2cap: async () => (await import('./l2cap.ts')).l2capCommand,
  cache: async () => (await import('./cache.ts')).cacheCommand,
  read: async () => (await import('./read.ts')).readCommand,
  scan: async () => (await import('./scan.ts')).scanCommand,
  twin: async () => (await import('./twin.ts')).twinCommand,
  write: async () => (await import('./write.ts')).writeCommand,
}

/** Where a run writes and what it reads (tests pass their own streams and environment). */
export interface CliIo {
  stdout?: NodeJS.WritableStream
  stderr?: NodeJS.WritableStream
  /** Answers to pairing prompts, and what `l2cap` sends (default process.stdin). */
  stdin?: NodeJS.ReadableStream
  env?: NodeJS.ProcessEnv
  /** Ends long-running commands (scan, notify) cleanly; SIGINT does the same in a terminal. */
  signal?: AbortSignal
}

export async function main(argv: string[], io: CliIo = {}): Promise<number> {
  let log = false
  const subs: Subscription[] = []
  const stderr = io.stderr ?? process.stderr
  const env = io.env ?? process.env
  try {
    // Global options come before the command; everything after it belongs to the command.
    const withValue = new Set(['--snoop', '--pcap', '--transport', '--device', '--faults'])
    let at = 0
    while (at < argv.length && argv[at]!.startsWith('-')) at += withValue.has(argv[at]!) ? 2 : 1
    const { values } = parseArgs({
      args: argv.slice(0, at),
      options: {
        snoop: { type: 'string' },
        pcap: { type: 'string' },
        transport: { type: 'string' },
        device: { type: 'string', multiple: true },
        faults: { type: 'string' },
        log: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    })
    log = values.log === true
    const name = argv[at]
    const stdout = io.stdout ?? process.stdout
    if (values.version || name === 'version') {
      stdout.write('hcikit 0.1.0\n')
      return 0
    }
    if (values.help || name === 'help') {
      stdout.write(HELP + '\n')
      return 0
    }
    if (name === undefined) throw new UsageError('no command given', HELP)
    const load = COMMANDS[name]
    if (!load) throw new UsageError(`unknown command '${name}'`, HELP)
    // The transport is checked before anything starts: a wrong spec is a usage error.
    const transport = values.transport ?? env['HCIKIT_TRANSPORT'] ?? 'virtual'
    parseTransportSpec(transport)
    const [cmd, { startLogging, startSnoop, startFromEnv }] = await Promise.all([load(), import('../log.ts')])
    const faults =
      values.faults === undefined ? undefined : await (await import('../faults/index.ts')).loadFaultPlan(values.faults)
    if (log) subs.push(startLogging(stderr as import('node:stream').Writable))
    else subs.push(...startFromEnv(env))
    if (typeof values.snoop === 'string') subs.push(startSnoop(values.snoop))
    if (typeof values.pcap === 'string') subs.push(startSnoop(values.pcap, 'pcap'))
    // A capture streamed to stdout (--pcap -, --snoop -) owns stdout: the command prints to stderr.
    const captureOnStdout = values.pcap === '-' || values.snoop === '-'
    const ctx: CliContext = {
      transport,
      log,
      stdout: captureOnStdout ? stderr : stdout,
      stderr,
      stdin: io.stdin ?? process.stdin,
      env,
      ...(io.signal ? { signal: io.signal } : {}),
      twins: values.device ?? [],
      faults,
    }
    return await cmd(argv.slice(at + 1), ctx)
  } catch (e) {
    return report(e, log, stderr)
  } finally {
    for (const s of subs) await s.close()
  }
}

function report(e: unknown, log: boolean, stderr: NodeJS.WritableStream): number {
  if (e instanceof UsageError) {
    stderr.write(`hcikit: ${e.message}\n${e.usage ? `\n${e.usage}\n` : ''}`)
    return 2
  }
  if (e instanceof Error && String((e as NodeJS.ErrnoException).code ?? '').startsWith('ERR_PARSE_ARGS')) {
    stderr.write(`hcikit: ${e.message}\n  hint: run \`hcikit help\` or \`hcikit COMMAND --help\`\n`)
    return 2
  }
  const msg = (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ')
  const hint = e instanceof HcikitError && e.hint ? `\n  hint: ${e.hint}` : ''
  stderr.write(`hcikit: ${msg}${hint}\n`)
  if (log && e instanceof Error && e.stack) stderr.write(e.stack + '\n')
  return e instanceof HcikitError && e.protocol === 'usage' ? 2 : 1
}

/** Run only as the program (node main.js, the bin link, or through a TypeScript loader), not when imported. */
function isEntry(): boolean {
  const arg = process.argv[1]
  if (arg === undefined) return false
  try {
    return realpathSync(arg) === realpathSync(fileURLToPath(import.meta.url))
  } catch {
    return false
  }
}

if (isEntry()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code
    },
    (e: unknown) => {
      process.stderr.write(`hcikit: ${String(e)}\n`)
      process.exitCode = 1
    },
  )
}
