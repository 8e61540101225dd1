/**
 * `hcikit read ADDRESS CHAR [--address-type T] [--json]`: connect, find the characteristic (a UUID
 * or a 0x handle), read its value (Core v5.4 Vol 3 Part G 4.8.1 Read Characteristic Value; long
 * values in full, 4.8.3), print it as hex (and as text when it is printable UTF-8), disconnect.
 */
import { parseArgs } from 'node:util'
import { toHex } from '../../hci/wire.ts'
import {
  addressArg,
  addressTypeArg,
  connectTo,
  findCharacteristic,
  interruptible,
  openSession,
  out,
  usage,
  type CliContext,
} from './connect-common.ts'
import { PAIRING_OPTIONS, PAIRING_OPTIONS_HELP, commandPairing } from './pairing.ts'
import { parseCharArg, valueText } from './format.ts'

export const readHelp = `usage: hcikit read ADDRESS CHAR [--address-type public|random] [--io IO] [--no-pair] [--json]

Reads one characteristic and prints its value in hex (and as text when printable).
CHAR is a UUID (2a19, or 128-bit) or a handle written with 0x (0x0012, from \`hcikit gatt\`).
  --json   {address, uuid, handle, value} (value in hex)

When the device asks for an encrypted link, the command encrypts from the bond kept in
HCIKIT_HOME (default ~/.hcikit) or pairs (Just Works unless --io says more), then retries.
${PAIRING_OPTIONS_HELP}`

export async function readCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      'address-type': { type: 'string' },
      ...PAIRING_OPTIONS,
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  })
  if (values.help) {
    out(ctx, readHelp)
    return 0
  }
  if (positionals.length !== 2)
    throw usage(
      readHelp,
      positionals.length < 2 ? 'read needs ADDRESS and CHAR' : `unexpected argument '${positionals[2]}'`,
    )
  const address = addressArg(readHelp, positionals[0])
  const ref = charArg(readHelp, positionals[1]!)
  const addressType = addressTypeArg(readHelp, values['address-type'])
  const stop = interruptible(ctx)
  const session = await openSession(ctx, { signal: stop.signal, pairing: commandPairing(ctx, readHelp, values) })
  try {
    await using client = await connectTo(session.adapter, address, { addressType, signal: stop.signal })
    const c = findCharacteristic(client, ref)
    const value = await client.read(c, { timeout: 10_000, signal: stop.signal })
    if (values.json)
      out(ctx, JSON.stringify({ address: client.address, uuid: c.uuid, handle: c.valueHandle, value: toHex(value) }))
    else out(ctx, valueText(value))
  } finally {
    stop.done()
    await session.close()
  }
  return 0
}

/** CHAR as a usage error when it is neither a UUID nor a 0x handle. */
export function charArg(help: string, s: string): ReturnType<typeof parseCharArg> {
  try {
    return parseCharArg(s)
  } catch {
    throw usage(help, `CHAR '${s}' is neither a UUID (2a37, 128-bit) nor a handle (0x0012)`)
  }
}
