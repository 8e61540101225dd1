/**
 * `hcikit write ADDRESS CHAR HEX [--without-response] [--address-type T]`: connect, find the
 * characteristic (a UUID or a 0x handle), write the bytes (Core v5.4 Vol 3 Part G 4.9.3 Write
 * Characteristic Value, 4.9.4 long values; 4.9.1 Write Without Response), disconnect.
 */
import { parseArgs } from 'node:util'
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
import { parseHexArg } from './format.ts'
import { charArg } from './read.ts'

export const writeHelp = `usage: hcikit write ADDRESS CHAR HEX [--without-response] [--address-type public|random] [--io IO] [--no-pair]

Writes bytes (HEX: 0102ff, 01:02:ff or 0x0102ff) to one characteristic.
CHAR is a UUID (2a39, or 128-bit) or a handle written with 0x (0x0012, from \`hcikit gatt\`).
  --without-response   Write Without Response (no acknowledgement from the device)

When the device asks for an encrypted link, the command encrypts from the bond kept in
HCIKIT_HOME (default ~/.hcikit) or pairs (Just Works unless --io says more), then retries.
${PAIRING_OPTIONS_HELP}`

export async function writeCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      'without-response': { type: 'boolean', default: false },
      'address-type': { type: 'string' },
      ...PAIRING_OPTIONS,
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  })
  if (values.help) {
    out(ctx, writeHelp)
    return 0
  }
  if (positionals.length !== 3)
    throw usage(
      writeHelp,
      positionals.length < 3 ? 'write needs ADDRESS, CHAR and HEX' : `unexpected argument '${positionals[3]}'`,
    )
  const address = addressArg(writeHelp, positionals[0])
  const ref = charArg(writeHelp, positionals[1]!)
  let bytes: Uint8Array
  try {
    bytes = parseHexArg(positionals[2]!)
  } catch (e) {
    throw usage(writeHelp, (e as Error).message)
  }
  const addressType = addressTypeArg(writeHelp, values['address-type'])
  const stop = interruptible(ctx)
  const session = await openSession(ctx, { signal: stop.signal, pairing: commandPairing(ctx, writeHelp, values) })
  try {
    await using client = await connectTo(session.adapter, address, { addressType, signal: stop.signal })
    const c = findCharacteristic(client, ref)
    const withoutResponse = values['without-response']
    await client.write(c, bytes, { withoutResponse, timeout: 10_000, signal: stop.signal })
    out(
      ctx,
      `wrote ${bytes.length} byte${bytes.length === 1 ? '' : 's'} to ${c.uuid} ` +
        `@0x${c.valueHandle.toString(16).padStart(4, '0')}${withoutResponse ? ' (without response)' : ''}`,
    )
  } finally {
    stop.done()
    await session.close()
  }
  return 0
}
