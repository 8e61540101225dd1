/**
 * `hcikit write ADDRESS CHAR HEX [--without-response] [--force] [--allow-empty] [--address-type T]`:
 * connect, find the characteristic (a UUID or a 0x handle), write the bytes (Core v5.4 Vol 3
 * Part G 4.9.3 Write Characteristic Value, 4.9.4 long values; 4.9.1 Write Without Response),
 * disconnect.
 *
 * Writes that cannot be what the user meant are refused here, as usage errors (exit 2), before
 * anything reaches the device (docs/RELIABILITY.md, issue 13 item 10): an empty value (unless
 * --allow-empty), a value over 512 octets (no attribute value is longer, Vol 3 Part F 3.2.9),
 * --without-response to a characteristic that does not declare the property (unless --force),
 * or a Write Without Response longer than ATT_MTU-3 (it has no long form, Part G 4.9.1).
 */
import { parseArgs } from 'node:util'
import { HcikitError, type RemoteCharacteristic } from '../index.ts'
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
import { parseHexArg, uuidLabel } from './format.ts'
import { charArg } from './read.ts'

export const writeHelp = `usage: hcikit write ADDRESS CHAR HEX [--without-response] [--force] [--allow-empty]
                           [--address-type public|random] [--io IO] [--no-pair]

Writes bytes (HEX: 0102ff, 01:02:ff or 0x0102ff; at most 512) to one characteristic.
CHAR is a UUID (2a39, or 128-bit) or a handle written with 0x (0x0012, from \`hcikit gatt\`).
  --without-response   Write Without Response (no acknowledgement from the device; at most ATT_MTU-3 bytes)
  --force              send --without-response even if the characteristic does not declare it
  --allow-empty        allow writing zero bytes (HEX "" or 0x)

When the device asks for an encrypted link, the command encrypts from the bond kept in
HCIKIT_HOME (default ~/.hcikit) or pairs (Just Works unless --io says more), then retries.
${PAIRING_OPTIONS_HELP}`

/** The longest attribute value (Core v5.4 Vol 3 Part F 3.2.9). */
const MAX_VALUE = 512

const OPTIONS = {
  'without-response': { type: 'boolean', default: false },
  force: { type: 'boolean', default: false },
  'allow-empty': { type: 'boolean', default: false },
  'address-type': { type: 'string' },
  ...PAIRING_OPTIONS,
  help: { type: 'boolean', short: 'h' },
} as const

interface Request {
  address: string
  ref: ReturnType<typeof charArg>
  bytes: Uint8Array
  addressType: 'public' | 'random' | undefined
  withoutResponse: boolean
  force: boolean
  /** --io and --no-pair, for commandPairing. */
  pairing: { io: string | undefined; 'no-pair': boolean }
}

function parse(argv: string[]): Request | undefined {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true })
  if (values.help) return undefined
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
  if (bytes.length === 0 && !values['allow-empty'])
    throw usage(
      writeHelp,
      `${JSON.stringify(positionals[2])} is no bytes at all: add --allow-empty to write an empty value`,
    )
  if (bytes.length > MAX_VALUE)
    throw usage(
      writeHelp,
      `${bytes.length} bytes: an attribute value has at most ${MAX_VALUE} (Core Vol 3 Part F 3.2.9)`,
    )
  return {
    address,
    ref,
    bytes,
    addressType: addressTypeArg(writeHelp, values['address-type']),
    withoutResponse: values['without-response'],
    force: values.force,
    pairing: { io: values.io, 'no-pair': values['no-pair'] },
  }
}

/** What the characteristic and the link allow, checked before the write goes out. */
function check(r: Request, c: RemoteCharacteristic, mtu: number): void {
  const at = `${uuidLabel(c.uuid)} @0x${c.valueHandle.toString(16).padStart(4, '0')}`
  if (!r.withoutResponse) return
  if (!r.force && !c.can('WriteWithoutResponse')) {
    throw new HcikitError('GATT_NO_WRITE_WITHOUT_RESPONSE', 'usage', `${at} does not take Write Without Response`, {
      hint: 'leave out --without-response (a Write Request, acknowledged), or add --force to send it anyway',
    })
  }
  if (r.bytes.length > mtu - 3) {
    throw new HcikitError(
      'GATT_VALUE_TOO_LONG',
      'usage',
      `${r.bytes.length} bytes do not fit one Write Without Response at ATT_MTU ${mtu} (at most ${mtu - 3})`,
      { hint: 'leave out --without-response: a Write Request carries long values in parts' },
    )
  }
}

export async function writeCommand(argv: string[], ctx: CliContext): Promise<number> {
  const r = parse(argv)
  if (r === undefined) {
    out(ctx, writeHelp)
    return 0
  }
  const stop = interruptible(ctx)
  const session = await openSession(ctx, { signal: stop.signal, pairing: commandPairing(ctx, writeHelp, r.pairing) })
  try {
    await using client = await connectTo(session.adapter, r.address, {
      addressType: r.addressType,
      signal: stop.signal,
    })
    const c = findCharacteristic(client, r.ref)
    check(r, c, client.mtu)
    await client.write(c, r.bytes, { withoutResponse: r.withoutResponse, timeout: 10_000, signal: stop.signal })
    const n = r.bytes.length
    const handle = c.valueHandle.toString(16).padStart(4, '0')
    out(
      ctx,
      `wrote ${n} byte${n === 1 ? '' : 's'} to ${c.uuid} @0x${handle}${r.withoutResponse ? ' (without response)' : ''}`,
    )
  } finally {
    stop.done()
    await session.close()
  }
  return 0
}
