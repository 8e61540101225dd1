/**
 * `hcikit cache list [--json]` and `hcikit cache clear ADDRESS [--address-type T] | --all`: the GATT
 * cache the CLI keeps between runs (Core v5.4 Vol 3 Part G 2.5.2 attribute caching; one JSON file
 * per peer in `$HCIKIT_HOME/gatt-cache`, src/cache-dir.ts). A cached database is reused only while
 * the peer's Database Hash (7.3) is unchanged, so clearing is rarely needed: for a peer without a
 * Database Hash whose firmware changed, or to start from scratch. `gatt --no-cache` bypasses it for
 * one run. No controller is opened.
 */
import { rm } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { JsonFileCacheStore, cachePeerId, gattCacheDir, listCachedPeers, type CachedPeer } from '../index.ts'
import { addressArg, addressTypeArg, out, usage, type CliContext } from './connect-common.ts'

export const cacheHelp = `usage: hcikit cache list [--json]
       hcikit cache clear ADDRESS [--address-type public|random]
       hcikit cache clear --all

The GATT databases hcikit discovered, kept between runs in $HCIKIT_HOME/gatt-cache (HCIKIT_HOME
defaults to ~/.hcikit). A cached database is used only while the device's Database Hash matches;
\`hcikit gatt ADDRESS --no-cache\` ignores the cache for one run.
  list             one line per device: address, type, services, Database Hash, when stored
  --json           [{peer, address, addressType, services, hash?, savedAt?, file, problem?}]
  clear ADDRESS    forget one device (both address types unless --address-type)
  clear --all      forget every device`

export async function cacheCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean', default: false },
      all: { type: 'boolean', default: false },
      'address-type': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  })
  if (values.help) {
    out(ctx, cacheHelp)
    return 0
  }
  const [action, ...rest] = positionals
  const dir = gattCacheDir(ctx.env)
  if (action === 'list') {
    if (rest.length > 0) throw usage(cacheHelp, `unexpected argument '${rest[0]}'`)
    const entries = await listCachedPeers(dir)
    if (values.json) out(ctx, JSON.stringify(entries))
    else if (entries.length === 0) out(ctx, `no cached GATT databases in ${dir}`)
    else for (const e of entries) out(ctx, line(e))
    return 0
  }
  if (action === 'clear') {
    if (values.all) {
      if (rest.length > 0) throw usage(cacheHelp, 'clear --all takes no ADDRESS')
      const entries = await listCachedPeers(dir)
      for (const e of entries) await rm(e.file, { force: true })
      out(ctx, `removed ${entries.length} cached GATT database${entries.length === 1 ? '' : 's'} from ${dir}`)
      return 0
    }
    if (rest.length > 1) throw usage(cacheHelp, `unexpected argument '${rest[1]}'`)
    const address = addressArg(cacheHelp, rest[0])
    const type = addressTypeArg(cacheHelp, values['address-type'])
    const store = new JsonFileCacheStore(dir)
    const removed: string[] = []
    for (const t of type ? [type] : (['public', 'random'] as const)) {
      const peer = cachePeerId(address, t)
      if ((await listCachedPeers(dir)).some((e) => e.peer === peer)) removed.push(t)
      await store.delete(peer)
    }
    out(
      ctx,
      removed.length > 0
        ? `removed the cached GATT database of ${address} (${removed.join(', ')})`
        : `nothing cached for ${address}${type ? ` (${type})` : ''}`,
    )
    return 0
  }
  throw usage(cacheHelp, action === undefined ? 'cache needs list or clear' : `unknown cache action '${action}'`)
}

function line(e: CachedPeer): string {
  const what = e.problem
    ? `unusable: ${e.problem}`
    : `${e.services} service${e.services === 1 ? '' : 's'}  ${e.hash ? `hash ${e.hash}` : 'no Database Hash'}`
  const when = e.savedAt === undefined ? '' : `  stored ${new Date(e.savedAt).toISOString()}`
  return `${e.address}  ${(e.addressType ?? '?').padEnd(6)}  ${what}${when}`
}
