/**
 * `hcikit pair ADDRESS`: connect and pair (Core v5.4 Vol 3 Part H 2.3: the method follows from
 * both sides' IO capabilities; 2.4 bonding), keep the bond under HCIKIT_HOME, print what the
 * pairing achieved. Passkeys and number comparisons are asked on this terminal (src/cli/pairing.ts).
 */
import { parseArgs } from 'node:util'
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
import { IO_NAMES, ioArg, terminalDelegate } from './pairing.ts'

export const pairHelp = `usage: hcikit pair ADDRESS [--address-type public|random] [--io ${Object.keys(IO_NAMES).join('|')}]
                   [--legacy | --sc-only] [--no-bond] [--json]

Pairs with the device and keeps the bond in HCIKIT_HOME (default ~/.hcikit), so later commands
encrypt from it without pairing again.
  --io        what this terminal can do (default none: Just Works); display shows a passkey to
              type on the device, keyboard asks for the one it shows, yesno compares numbers
  --legacy    LE legacy pairing only;  --sc-only  LE Secure Connections only
  --no-bond   pair for this connection only (no keys kept)
  --json      {address, addressType, method, secureConnections, keySize, bonded, identityAddress?}`

export async function pairCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      'address-type': { type: 'string' },
      io: { type: 'string' },
      legacy: { type: 'boolean', default: false },
      'sc-only': { type: 'boolean', default: false },
      'no-bond': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  })
  if (values.help) {
    out(ctx, pairHelp)
    return 0
  }
  if (positionals.length !== 1) {
    throw usage(pairHelp, positionals.length === 0 ? 'pair needs ADDRESS' : `unexpected argument '${positionals[1]}'`)
  }
  if (values.legacy && values['sc-only']) throw usage(pairHelp, '--legacy and --sc-only exclude each other')
  const address = addressArg(pairHelp, positionals[0])
  const addressType = addressTypeArg(pairHelp, values['address-type'])
  const pairing = terminalDelegate(ctx, {
    io: ioArg(pairHelp, values.io),
    secureConnections: values.legacy ? 'never' : values['sc-only'] ? 'only' : 'prefer',
    bond: !values['no-bond'],
  })
  const stop = interruptible(ctx)
  const session = await openSession(ctx, { signal: stop.signal, pairing })
  try {
    await using client = await connectTo(session.adapter, address, {
      addressType,
      signal: stop.signal,
      discover: false,
    })
    const r = await client.pair({ timeout: 60_000, signal: stop.signal })
    if (values.json) {
      out(
        ctx,
        JSON.stringify({
          address: client.address,
          addressType: client.addressType,
          method: r.method,
          secureConnections: r.secureConnections,
          keySize: r.keySize,
          bonded: r.bonded,
          identityAddress: r.identityAddress?.address,
        }),
      )
    } else {
      const how = `${METHOD_NAMES[r.method]}, ${r.secureConnections ? 'LE Secure Connections' : 'LE legacy pairing'}`
      const id =
        r.identityAddress && r.identityAddress.address !== client.address
          ? `, identity ${r.identityAddress.address}`
          : ''
      out(
        ctx,
        `paired with ${client.address} (${how}, ${r.keySize}-octet key${r.authenticated ? ', authenticated' : ''})${id}`,
      )
      out(ctx, r.bonded ? 'bonded: later commands encrypt from the bond' : 'not bonded: no keys kept')
    }
  } finally {
    stop.done()
    await session.close()
  }
  return 0
}

const METHOD_NAMES: Record<string, string> = {
  justWorks: 'Just Works',
  numericComparison: 'Numeric Comparison',
  passkey: 'Passkey Entry',
  oob: 'Out of Band',
}
