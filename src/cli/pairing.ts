/**
 * Pairing on the command line (Core v5.4 Vol 3 Part H 2.3: IO capabilities and the user's part of
 * each method): where the bonds live (`HCIKIT_HOME`, default ~/.hcikit, file bonds.json, mode
 * 0600), the `--io` names, and a PairingDelegate that talks to the person at the terminal: a
 * passkey to type on the device is printed, a passkey the device shows is asked for, a number
 * comparison is a yes/no question. Prompts go to stderr, so stdout stays clean for --json.
 *
 * The options every connecting command shares: `--io` (default none: Just Works) and `--no-pair`
 * (encrypt from a bond, never pair).
 */
import { createInterface } from 'node:readline'
import type { IoCapability, PairingDelegate } from '../index.ts'
import { homePath } from '../home.ts'
import { UsageError } from './usage.ts'

/** What the prompts need of the command line's context (connect-common.ts CliContext has it). */
export interface PromptContext {
  stderr: NodeJS.WritableStream
  stdin?: NodeJS.ReadableStream | undefined
}

export const IO_NAMES: Readonly<Record<string, IoCapability>> = {
  none: 'noInputNoOutput',
  display: 'displayOnly',
  keyboard: 'keyboardOnly',
  yesno: 'displayYesNo',
  kbdisplay: 'keyboardDisplay',
}

/** The options text the connecting commands add to their help. */
export const PAIRING_OPTIONS_HELP = `  --io none|display|keyboard|yesno|kbdisplay
           what this terminal can do when pairing (default none: Just Works); passkeys and
           number comparisons are asked here
  --no-pair  when the device wants an encrypted link, encrypt from a bond but never pair`

/** The bond store file: `$HCIKIT_HOME/bonds.json` (src/home.ts resolves HCIKIT_HOME, as for the GATT cache). */
export function bondsFile(env: NodeJS.ProcessEnv): string {
  return homePath(env, 'bonds.json')
}

/** `--io NAME` as an IO capability (usage error otherwise). */
export function ioArg(help: string, v: string | undefined): IoCapability {
  if (v === undefined) return 'noInputNoOutput'
  const io = IO_NAMES[v]
  if (!io) throw new UsageError(`--io ${v}: expected one of ${Object.keys(IO_NAMES).join(', ')}`, help)
  return io
}

/** Ask one question on the terminal (stderr), read one line (the context's stdin). */
export function ask(ctx: PromptContext, question: string): Promise<string> {
  const rl = createInterface({ input: ctx.stdin ?? process.stdin, output: ctx.stderr, terminal: false })
  return new Promise((resolve) => {
    let answered = false
    rl.question(question, (a) => {
      answered = true
      rl.close()
      resolve(a)
    })
    rl.once('close', () => {
      if (!answered) resolve('')
    })
  })
}

const six = (n: number): string => n.toString().padStart(6, '0')

export interface TerminalPairing {
  io: IoCapability
  /** Never pair (encrypt from a bond only). */
  noPair?: boolean
  /** 'never' (--legacy), 'only' (--sc-only), default 'prefer'. */
  secureConnections?: 'prefer' | 'only' | 'never'
  /** Keep the keys (default true; --no-bond). */
  bond?: boolean
}

/** A delegate for the person at this terminal. */
export function terminalDelegate(ctx: PromptContext, o: TerminalPairing): PairingDelegate {
  return {
    io: o.io,
    bonding: o.bond !== false,
    secureConnections: o.secureConnections ?? 'prefer',
    autoPair: o.noPair !== true,
    displayPasskey: ({ peer, passkey }) => {
      ctx.stderr.write(`Passkey for ${peer.address}: ${six(passkey)} (type it on the device)\n`)
    },
    enterPasskey: async ({ peer }) => {
      const a = (await ask(ctx, `Passkey shown by ${peer.address}: `)).trim()
      if (!/^\d{1,6}$/.test(a)) {
        ctx.stderr.write(`'${a}' is not a passkey (six digits): pairing refused\n`)
        return undefined
      }
      return Number(a)
    },
    confirmNumber: async ({ peer, value }) => {
      const a = (await ask(ctx, `Does ${peer.address} show ${six(value)}? [y/N] `)).trim().toLowerCase()
      return a === 'y' || a === 'yes'
    },
  }
}

/** The parseArgs options of `--io` and `--no-pair`, for the connecting commands. */
export const PAIRING_OPTIONS = {
  io: { type: 'string' },
  'no-pair': { type: 'boolean', default: false },
} as const

/** The delegate of a connecting command from its `--io` / `--no-pair` values. */
export function commandPairing(
  ctx: PromptContext,
  help: string,
  values: { io?: string | undefined; 'no-pair'?: boolean | undefined },
): PairingDelegate {
  return terminalDelegate(ctx, { io: ioArg(help, values.io), noPair: values['no-pair'] === true })
}
