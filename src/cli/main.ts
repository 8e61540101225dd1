#!/usr/bin/env node
/**
 * The `hcikit` command line: global options, then one command. Exit codes: 0 success,
 * 1 failure, 2 usage. Errors print in one line with a hint; a stack trace only with --log.
 */
import { parseArgs } from 'node:util'
import { HcikitError } from '../../hci/errors.ts'
import { startLogging, startSnoop, startFromEnv, type Subscription } from '../log.ts'
import { decodeCommand } from './decode.ts'
import { linkCommand } from './link.ts'
import { UsageError } from './usage.ts'

const HELP = `usage: hcikit [--snoop FILE] [--pcap FILE|-] [--log] COMMAND [ARGS]

Commands:
  decode FILE [--json]   decode a btsnoop / pcap / pcapng capture
  link SPEC...           serve virtual controllers on one virtual link (tcp-server:HOST:PORT, pty:PATH)
  help                   this text
  version                print the version

Global options:
  --snoop FILE   record every HCI packet of the session as btsnoop (Wireshark opens it)
  --pcap FILE|-  the same as pcap (link type 201); '-' streams to stdout (| wireshark -k -i -)
  --log          print decoded traffic and the stack's decisions to stderr (also HCIKIT_LOG=1)`

type Command = (argv: string[]) => Promise<number>
const COMMANDS: Record<string, Command> = {
  decode: decodeCommand,
  link: linkCommand,
}

export async function main(argv: string[]): Promise<number> {
  let log = false
  const subs: Subscription[] = []
  try {
    // Global options come before the command; everything after it belongs to the command.
    const withValue = new Set(['--snoop', '--pcap'])
    let at = 0
    while (at < argv.length && argv[at]!.startsWith('-')) at += withValue.has(argv[at]!) ? 2 : 1
    const { values } = parseArgs({
      args: argv.slice(0, at),
      options: {
        snoop: { type: 'string' },
        pcap: { type: 'string' },
        log: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    })
    log = values.log === true
    const name = argv[at]
    if (values.version || name === 'version') {
      process.stdout.write('hcikit 0.1.0\n')
      return 0
    }
    if (values.help || name === 'help') {
      process.stdout.write(HELP + '\n')
      return 0
    }
    if (name === undefined) throw new UsageError('no command given', HELP)
    const cmd = COMMANDS[name]
    if (!cmd) throw new UsageError(`unknown command '${name}'`, HELP)
    if (log) subs.push(startLogging())
    else subs.push(...startFromEnv())
    if (typeof values.snoop === 'string') subs.push(startSnoop(values.snoop))
    if (typeof values.pcap === 'string') subs.push(startSnoop(values.pcap, 'pcap'))
    return await cmd(argv.slice(at + 1))
  } catch (e) {
    return report(e, log)
  } finally {
    for (const s of subs) await s.close()
  }
}

function report(e: unknown, log: boolean): number {
  if (e instanceof UsageError) {
    process.stderr.write(`hcikit: ${e.message}\n${e.usage ? `\n${e.usage}\n` : ''}`)
    return 2
  }
  if (e instanceof Error && String((e as NodeJS.ErrnoException).code ?? '').startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`hcikit: ${e.message}\n`)
    return 2
  }
  const msg = e instanceof Error ? e.message : String(e)
  const hint = e instanceof HcikitError && e.hint ? `\n  hint: ${e.hint}` : ''
  process.stderr.write(`hcikit: ${msg}${hint}\n`)
  if (log && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n')
  return 1
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (e: unknown) => {
    process.stderr.write(`hcikit: ${String(e)}\n`)
    process.exitCode = 1
  },
)
