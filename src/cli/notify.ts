/**
 * `hcikit notify ADDRESS CHAR [--count N] [--timeout S] [--json] [--address-type T]`: connect,
 * subscribe (Core v5.4 Vol 3 Part G 4.10 notifications, 4.11 indications, by writing the Client
 * Characteristic Configuration descriptor, 3.3.3.3), print each value as it comes, unsubscribe
 * and disconnect after N values, S seconds, or Ctrl-C. Exit code 1 when --count values did not
 * arrive within --timeout.
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

export async function notifyCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      count: { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'boolean', default: false },
      'address-type': { type: 'string' },
      ...PAIRING_OPTIONS,
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  })
  if (values.help) {
    out(ctx, notifyHelp)
    return 0
  }
  if (positionals.length !== 2)
    throw usage(
      notifyHelp,
      positionals.length < 2 ? 'notify needs ADDRESS and CHAR' : `unexpected argument '${positionals[2]}'`,
    )
  const address = addressArg(notifyHelp, positionals[0])
  const ref = charArg(notifyHelp, positionals[1]!)
  const count = positiveInt(notifyHelp, 'count', values.count)
  const timeout = seconds(notifyHelp, 'timeout', values.timeout)
  const addressType = addressTypeArg(notifyHelp, values['address-type'])
  const stop = interruptible(ctx)
  const session = await openSession(ctx, { signal: stop.signal, pairing: commandPairing(ctx, notifyHelp, values) })
  let got = 0
  let timedOut = false
  const ended = new AbortController()
  // --timeout runs on the adapter's clock (real time on hardware and on the CLI's virtual link).
  const timer =
    timeout === undefined
      ? undefined
      : session.adapter.clock.setTimeout(() => {
          timedOut = true
          ended.abort(new Error('timeout'))
        }, timeout)
  const onStop = (): void => ended.abort(stop.signal.reason)
  stop.signal.addEventListener('abort', onStop, { once: true })
  try {
    await using client = await connectTo(session.adapter, address, { addressType, signal: stop.signal })
    const c = findCharacteristic(client, ref)
    requireNotifiable(c, client.address)
    if (!values.json)
      ctx.stderr.write(
        `subscribed to ${uuidLabel(c.uuid)} on ${client.address}${count ? `, waiting for ${count}` : ''} (Ctrl-C to stop)\n`,
      )
    try {
      for await (const v of client.notifications(c, { timeout: 10_000, signal: ended.signal })) {
        got++
        if (values.json)
          out(ctx, JSON.stringify({ address: client.address, uuid: c.uuid, handle: c.valueHandle, value: toHex(v) }))
        else out(ctx, valueText(v))
        if (count !== undefined && got >= count) break
      }
    } catch (e) {
      if (!ended.signal.aborted) throw e
    }
  } finally {
    if (timer !== undefined) session.adapter.clock.clearTimeout(timer)
    stop.signal.removeEventListener('abort', onStop)
    stop.done()
    await session.close()
  }
  if (timedOut && count !== undefined && got < count) {
    throw new HcikitError('TIMEOUT', 'att', `${got} of ${count} values arrived within ${values.timeout} s`, {
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
