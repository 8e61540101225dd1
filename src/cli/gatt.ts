/**
 * `hcikit gatt ADDRESS [--json] [--no-cache] [--address-type public|random]`: connect, discover
 * the whole database (Core v5.4 Vol 3 Part G 4.4-4.7: primary services, includes,
 * characteristics, descriptors; from the GATT cache when its Database Hash still matches, unless
 * --no-cache), read every readable characteristic value and every descriptor (4.8.1, 4.12.1),
 * print the tree, disconnect. `--json` prints the shape of format.ts `GattJson`.
 */
import { parseArgs } from 'node:util'
import { HcikitError } from '../index.ts'
import {
  addressArg,
  addressTypeArg,
  connectTo,
  interruptible,
  openSession,
  out,
  usage,
  type CliContext,
} from './connect-common.ts'
import { PAIRING_OPTIONS, PAIRING_OPTIONS_HELP, commandPairing } from './pairing.ts'
import { gattJson, gattTree } from './format.ts'

export const gattHelp = `usage: hcikit gatt ADDRESS [--json] [--no-cache] [--address-type public|random] [--io IO] [--no-pair]

Connects, discovers every service, characteristic and descriptor, reads every readable value,
prints the tree and disconnects.
  --json                  {address, mtu, services: [{uuid, handle, endHandle, primary, includes,
                           characteristics: [{uuid, handle, valueHandle, properties, value?,
                           descriptors: [{uuid, handle, value?}]}]}]} (values in hex)
  --no-cache              discover from scratch, ignoring the GATT cache
  --address-type T        public (default, or what a scan saw) or random

When the device asks for an encrypted link, the command encrypts from the bond kept in
HCIKIT_HOME (default ~/.hcikit) or pairs (Just Works unless --io says more), then retries.
${PAIRING_OPTIONS_HELP}`

export async function gattCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean', default: false },
      'no-cache': { type: 'boolean', default: false },
      'address-type': { type: 'string' },
      ...PAIRING_OPTIONS,
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  })
  if (values.help) {
    out(ctx, gattHelp)
    return 0
  }
  if (positionals.length > 1) throw usage(gattHelp, `unexpected argument '${positionals[1]}'`)
  const address = addressArg(gattHelp, positionals[0])
  const addressType = addressTypeArg(gattHelp, values['address-type'])
  const stop = interruptible(ctx)
  const session = await openSession(ctx, { signal: stop.signal, pairing: commandPairing(ctx, gattHelp, values) })
  try {
    const client = await connectTo(session.adapter, address, {
      addressType,
      noCache: values['no-cache'],
      signal: stop.signal,
    })
    try {
      const db = client.database
      const values_ = new Map<number, Uint8Array>()
      const errors = new Map<number, string>()
      const read = async (handle: number): Promise<void> => {
        try {
          values_.set(handle, await client.read(handle, { timeout: 10_000, signal: stop.signal }))
        } catch (e) {
          if (!(e instanceof HcikitError) || e.protocol !== 'att') throw e
          errors.set(handle, e.statusName ?? e.message) // e.g. Read Not Permitted: shown, not fatal
        }
      }
      for (const c of db.characteristics) {
        if (c.can('Read')) await read(c.valueHandle)
        for (const d of c.descriptors) await read(d.handle)
      }
      if (values.json) out(ctx, JSON.stringify(gattJson(client.address, client.mtu, db, values_)))
      else for (const line of gattTree(client.address, client.mtu, db, values_, errors)) out(ctx, line)
    } finally {
      await client.disconnect({ timeout: 5000 }).catch(() => undefined)
    }
  } finally {
    stop.done()
    await session.close()
  }
  return 0
}
