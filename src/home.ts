/**
 * Where hcikit keeps what outlives one run: `HCIKIT_HOME`, else `~/.hcikit`: the GATT cache
 * (Core v5.4 Vol 3 Part G 2.5.2 attribute caching; `gatt-cache/`, src/cache-dir.ts) and, beside
 * it, the CLI's bond store (Vol 3 Part H 3.6 key distribution; `bonds.json`, src/cli/pairing.ts).
 * Every path hcikit writes under the home comes from here, so one variable moves all of it (tests
 * point it at a temporary directory).
 *
 *   hcikitHome()                       // '/home/me/.hcikit'
 *   homePath(env, 'gatt-cache')        // '$HCIKIT_HOME/gatt-cache'
 *   homePath(env, 'bonds.json')        // '$HCIKIT_HOME/bonds.json'
 *
 * A relative HCIKIT_HOME is taken from the current directory; an empty one counts as unset.
 * Nothing here touches the file system: directories are created by whoever writes first.
 */
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

/** The hcikit home directory (absolute): `env.HCIKIT_HOME`, else `~/.hcikit`. */
export function hcikitHome(env: NodeJS.ProcessEnv = process.env): string {
  const set = env['HCIKIT_HOME']
  return set ? resolve(set) : join(homedir(), '.hcikit')
}

/** A path inside the hcikit home. */
export function homePath(env: NodeJS.ProcessEnv, ...parts: string[]): string {
  return join(hcikitHome(env), ...parts)
}
