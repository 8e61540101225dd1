/**
 * `hcikit notify ADDRESS CHAR [--count N] [--timeout S] [--json] [--address-type T]`: connect,
 * subscribe (Core v5.4 Vol 3 Part G 4.10 notifications, 4.11 indications, by writing the Client
 * Characteristic Configuration descriptor, 3.3.3.3), print each value as it comes, unsubscribe
 * and disconnect after N values, S seconds, Ctrl-C, or when the reader of stdout quits. Exit
 * code 1 when --count values did not arrive within --timeout.
 */
import { parseArgs } from 'node:util'
import { toHex } from '../../hci/wire.ts'
import { HcikitError, type RemoteCharacteristic } from '../index.ts'
import {
  addressArg,
  addressTypeArg,
  connectTo,
  findCharacteristic,
  interruptible,
  negativeValues,
  openSession,
  out,
  positiveInt,
  seconds,
  usage,
  type CliContext,
} from './connect-common.ts'
import { PAIRING_OPTIONS, PAIRING_OPTIONS_HELP, commandPairing } from './pairing.ts'
import { uuidLabel, valueText } from './format.ts'
import { charArg } from './read.ts'

export const notifyHelp = `usage: hcikit notify ADDRESS CHAR [--count N] [--timeout S] [--json]
                            [--address-type public|random] [--io IO] [--no-pair]

Subscribes to a characteristic's notifications (or indications) and prints each value.
CHAR is a UUID (2a37, or 128-bit) or a handle written with 0x (0x0012, from \`hcikit gatt\`).
  --count N     stop after N values
  --timeout S   stop after S seconds (with --count: fail if fewer than N came)
  --json        one object per value: {address, uuid, handle, value} (value in hex)

When the device asks for an encrypted link, the command encrypts from the bond kept in
HCIKIT_HOME (default ~/.hcikit) or pairs (Just Works unless --io says more), then retries.
${PAIRING_OPTIONS_HELP}`

const OPTIONS = {
  count: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean', default: false },
  'address-type': { type: 'string' },
  ...PAIRING_OPTIONS,
  help: { type: 'boolean', short: 'h' },
} as const

interface Request {
  address: string
  ref: ReturnType<typeof charArg>
  count: number | undefined
  timeout: number | undefined
  addressType: 'public' | 'random' | undefined
  json: boolean
  /** --io and --no-pair, for commandPairing. */
  pairing: { io: string | undefined; 'no-pair': boolean }
}

function parse(argv: string[]): Request | undefined {
  const { values, positionals } = parseArgs({
    args: negativeValues(argv, OPTIONS),
    options: OPTIONS,
    allowPositionals: true,
  })
  if (values.help) return undefined
  if (positionals.length !== 2)
    throw usage(
      notifyHelp,
      positionals.length < 2 ? 'notify needs ADDRESS and CHAR' : `unexpected argument '${positionals[2]}'`,
    )
  return {
    address: addressArg(notifyHelp, positionals[0]),
    ref: charArg(notifyHelp, positionals[1]!),
    count: positiveInt(notifyHelp, 'count', values.count),
    timeout: seconds(notifyHelp, 'timeout', values.timeout),
    addressType: addressTypeArg(notifyHelp, values['address-type']),
    json: values.json,
    pairing: { io: values.io, 'no-pair': values['no-pair'] },
  }
}

export async function notifyCommand(argv: string[], ctx: CliContext): Promise<number> {
  const r = parse(argv)
  if (r === undefined) {
    out(ctx, notifyHelp)
    return 0
  }
  const stop = interruptible(ctx)
  const session = await openSession(ctx, { signal: stop.signal, pairing: commandPairing(ctx, notifyHelp, r.pairing) })
  let got = 0
  let timedOut = false
  // --timeout runs on the adapter's clock (real time on hardware and on the CLI's virtual link).
  const timer =
    r.timeout === undefined
      ? undefined
      : session.adapter.clock.setTimeout(() => {
          timedOut = true
          stop.abort()
        }, r.timeout)
  try {
    await using client = await connectTo(session.adapter, r.address, {
      addressType: r.addressType,
      signal: stop.signal,
    })
    const c = findCharacteristic(client, r.ref)
    requireNotifiable(c, client.address)
    if (!r.json)
      ctx.stderr.write(
        `subscribed to ${uuidLabel(c.uuid)} on ${client.address}${r.count ? `, waiting for ${r.count}` : ''} (Ctrl-C to stop)\n`,
      )
    for await (const v of client.notifications(c, { timeout: 10_000, signal: stop.signal })) {
      got++
      const line = { address: client.address, uuid: c.uuid, handle: c.valueHandle, value: toHex(v) }
      out(ctx, r.json ? JSON.stringify(line) : valueText(v))
      if (r.count !== undefined && got >= r.count) break
    }
  } catch (e) {
    // --timeout, Ctrl-C, the caller's signal or the reader of stdout gone: the end of a subscription.
    if (!stop.signal.aborted) throw e
  } finally {
    if (timer !== undefined) session.adapter.clock.clearTimeout(timer)
    stop.done()
    await session.close()
  }
  if (timedOut && r.count !== undefined && got < r.count) {
    throw new HcikitError('TIMEOUT', 'att', `${got} of ${r.count} values arrived within ${r.timeout! / 1000} s`, {
      hint: 'does the device send values on its own? Some only notify after a write to a control point',
    })
  }
  return 0
}

/** Fails with GATT_NOT_NOTIFIABLE when the characteristic neither notifies nor indicates. */
function requireNotifiable(c: RemoteCharacteristic, address: string): void {
  if (!c.can('Notify') && !c.can('Indicate')) {
    throw new HcikitError(
      'GATT_NOT_NOTIFIABLE',
      'att',
      `${uuidLabel(c.uuid)} @0x${c.valueHandle.toString(16).padStart(4, '0')} neither notifies nor indicates`,
      {
        hint: `its properties are in \`hcikit gatt ${address}\`; use \`hcikit read\` for a value that only reads`,
      },
    )
  }
}
