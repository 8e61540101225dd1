/**
 * `hcikit bonds [--json]` and `hcikit bonds remove ADDRESS`: the bonds kept under HCIKIT_HOME
 * (Core v5.4 Vol 3 Part H 2.4: the keys a pairing distributed; gap/smp/keys.ts for the store).
 * No controller is needed: the store file is read and changed directly. Remove takes the identity
 * address, or any address that resolves to a bond through its IRK (a resolvable private address).
 */
import { parseArgs } from 'node:util'
import { JsonFileKeyStore } from '../../gap/smp/key-file.ts'
import { describeKeys, type Bond } from '../../gap/smp/keys.ts'
import { resolveRpa } from '../../gap/privacy.ts'
import { addressArg, out, usage, type CliContext } from './connect-common.ts'
import { bondsFile } from './pairing.ts'

export const bondsHelp = `usage: hcikit bonds [--json]
       hcikit bonds remove ADDRESS

Lists the bonds kept in HCIKIT_HOME (default ~/.hcikit): the device's identity address and type,
the address it paired from when that was a private one, the keys held, when it paired.
  remove ADDRESS   forget a device (pair again to talk to it encrypted)
  --json           one JSON object per bond`

export async function bondsCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  })
  if (values.help) {
    out(ctx, bondsHelp)
    return 0
  }
  const store = new JsonFileKeyStore(bondsFile(ctx.env))
  if (positionals[0] === 'remove') {
    if (positionals.length !== 2)
      throw usage(
        bondsHelp,
        positionals.length < 2 ? 'bonds remove needs ADDRESS' : `unexpected argument '${positionals[2]}'`,
      )
    return remove(ctx, store, addressArg(bondsHelp, positionals[1]))
  }
  if (positionals.length > 0) throw usage(bondsHelp, `unexpected argument '${positionals[0]}'`)
  const bonds = await store.bonds()
  if (values.json) {
    for (const b of bonds) out(ctx, JSON.stringify(bondJson(b)))
    return 0
  }
  if (bonds.length === 0) {
    out(ctx, `no bonds in ${store.path} (\`hcikit pair ADDRESS\` makes one)`)
    return 0
  }
  for (const b of bonds) {
    const from = b.pairedFrom ? `  paired as ${b.pairedFrom.address}` : ''
    out(
      ctx,
      `${b.peer.address}  ${b.peer.type.padEnd(6)}  ${describeKeys(b).join(', ')}  ${new Date(b.createdAt).toISOString()}${from}`,
    )
  }
  return 0
}

async function remove(ctx: CliContext, store: JsonFileKeyStore, address: string): Promise<number> {
  const bonds = await store.bonds()
  const hit = bonds.filter((b) => b.peer.address === address || b.pairedFrom?.address === address)
  const resolved = resolveRpa(address, bonds)
  if (resolved && !hit.includes(resolved)) hit.push(resolved)
  if (hit.length === 0) {
    ctx.stderr.write(`hcikit: no bond with ${address} in ${store.path}\n  hint: \`hcikit bonds\` lists them\n`)
    return 1
  }
  for (const b of hit) await store.delete(b.peer)
  for (const b of hit) out(ctx, `removed the bond with ${b.peer.address} (${b.peer.type})`)
  return 0
}

function bondJson(b: Bond): Record<string, unknown> {
  return {
    address: b.peer.address,
    addressType: b.peer.type,
    // JSON.stringify leaves out the two keys of a bond made without another adapter's address
    pairedFrom: b.pairedFrom?.address,
    pairedFromType: b.pairedFrom?.type,
    keys: describeKeys(b),
    identity: b.irk !== undefined,
    createdAt: new Date(b.createdAt).toISOString(),
  }
}
