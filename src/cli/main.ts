#!/usr/bin/env node
/**
 * The `hcikit` command line: global options, then one command. Exit codes: 0 success,
 * 1 failure, 2 usage. Errors print in one line with a hint; a stack trace only with --log.
 *
 * Start-up is kept light: this file imports only node: modules and small CLI files, and loads a
 * command (and the stack under it) when it runs, so `hcikit --version` answers at once (a test
 * walks this file's static imports). Add a command as a loader in COMMANDS, not a static import.
 *
 * Output that goes away is a normal end, never a crash (docs/RELIABILITY.md): a reader that
 * quits (`hcikit scan --json | head -1`, Wireshark closed on `--pcap -`) ends the command quietly
 * with exit 0; a stdout that cannot be written (`> /dev/full`) gives one line and exit 1.
 */
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { HcikitError } from '../../hci/errors.ts'
import type { CliContext } from './connect-common.ts'
import { OutputGuard } from './output.ts'
import { UsageError } from './usage.ts'
import { packageVersion } from './version.ts'

const HELP = `usage: hcikit [--transport SPEC] [--device TWIN] [--faults FILE] [--snoop FILE] [--pcap FILE|-] [--log] COMMAND [ARGS]

Commands:
  demo                   the main job on the virtual link: scan, connect, discover, read, subscribe
  scan                   list advertising devices (--timeout S --name N --service UUID --passive --duplicates --json)
  gatt ADDRESS           connect, discover everything, read every readable value (--json --no-cache --address-type T)
  read ADDRESS CHAR      read a characteristic (CHAR: a UUID or a handle)
  write ADDRESS CHAR HEX write a characteristic (--without-response --force --allow-empty)
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
/** Each command is loaded when it runs: `hcikit --version` and `help` load none (see the header). */
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

interface GlobalOptions {
  snoop: string | undefined
  pcap: string | undefined
  transport: string | undefined
  /** --device TWIN (repeatable): twins on the virtual link. */
  device: string[]
  /** --faults FILE: a fault plan for the session's transport. */
  faults: string | undefined
  log: boolean
  help: boolean
  version: boolean
  /** The command's name and its arguments. */
  name: string | undefined
  rest: string[]
}

/** Global options come before the command; everything after it belongs to the command. */
function parseGlobal(argv: string[]): GlobalOptions {
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
      version: { type: 'boolean', short: 'V' },
    },
  })
  return {
    snoop: values.snoop,
    pcap: values.pcap,
    transport: values.transport,
    device: values.device ?? [],
    faults: values.faults,
    log: values.log === true,
    help: values.help === true,
    version: values.version === true,
    name: argv[at],
    rest: argv.slice(at + 1),
  }
}

export async function main(argv: string[], io: CliIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout
  const stderr = io.stderr ?? process.stderr
  const guard = new OutputGuard(stdout, stderr, io.signal)
  let log = false
  let code: number
  try {
    const g = parseGlobal(argv)
    log = g.log
    if (g.version || g.name === 'version') {
      stdout.write(`hcikit ${packageVersion()}\n`)
      code = 0
    } else if (g.help || g.name === 'help') {
      stdout.write(HELP + '\n')
      code = 0
    } else {
      code = await runCommand(g, io, guard)
    }
  } catch (e) {
    code = guard.closed ? 0 : report(e, log, stderr)
  }
  await guard.settled()
  guard.dispose()
  return guard.exitCode(code)
}

async function runCommand(g: GlobalOptions, io: CliIo, guard: OutputGuard): Promise<number> {
  if (g.name === undefined) throw new UsageError('no command given', HELP)
  const load = COMMANDS[g.name]
  if (!load) throw new UsageError(`unknown command '${g.name}'`, HELP)
  const env = io.env ?? process.env
  // The transport is checked before anything starts: a wrong spec is a usage error.
  const transport = g.transport ?? env['HCIKIT_TRANSPORT'] ?? 'virtual'
  const { parseTransportSpec } = await import('../transports/index.ts')
  parseTransportSpec(transport)
  const [cmd, { startCaptures }] = await Promise.all([load(), import('./captures.ts')])
  // Loaded only when given: the fault plan, read and checked before anything starts.
  const faults = g.faults === undefined ? undefined : await (await import('../faults/index.ts')).loadFaultPlan(g.faults)
  const captures = startCaptures({ ...g, env, stdout: guard.stdout, stderr: guard.stderr, onError: guard.onCapture })
  try {
    // A capture streamed to stdout (--pcap -, --snoop -) owns stdout: the command prints to stderr.
    const ctx: CliContext = {
      transport,
      log: g.log,
      stdout: captures.onStdout ? guard.stderr : guard.stdout,
      stderr: guard.stderr,
      stdin: io.stdin ?? process.stdin,
      env,
      signal: guard.signal,
      twins: g.device,
      faults,
    }
    return await cmd(g.rest, ctx)
  } finally {
    await captures.close()
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
  // An error on stdout/stderr after main() returned (an EPIPE from the last write) is no crash.
  process.stdout.on('error', () => undefined)
  process.stderr.on('error', () => undefined)
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
