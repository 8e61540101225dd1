/**
 * The GATT cache on disk (Core v5.4 Vol 3 Part G 2.5.2 attribute caching, 7.3 Database Hash):
 * one JSON file per peer (att/cache-file.ts writes them atomically) in `$HCIKIT_HOME/gatt-cache`
 * (src/home.ts). The CLI keeps its cache there, so a second `hcikit gatt ADDRESS` reuses what the
 * first discovered when the peer's Database Hash is unchanged; a program shares it with
 * `open({ cache: homeCacheStore() })`.
 *
 * A peer is stored under its identity, "AA:BB:CC:DD:EE:FF/public" or ".../random" (`cachePeerId`):
 * the same address with the other type is another device. `listCachedPeers()` reads the
 * directory for `hcikit cache list`; an entry that does not parse is listed with what is wrong
 * (the client ignores and removes such entries itself, att/cache.ts).
 */
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { JsonFileCacheStore } from '../att/cache-file.ts'
import { CACHE_FORMAT_VERSION, type CacheEntry } from '../att/cache.ts'
import type { AddressType } from '../gap/connections.ts'
import { homePath } from './home.ts'

/** The directory of the GATT cache: `$HCIKIT_HOME/gatt-cache`. */
export function gattCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return homePath(env, 'gatt-cache')
}

/** A cache store on the GATT cache directory (what the CLI uses). */
export function homeCacheStore(env: NodeJS.ProcessEnv = process.env): JsonFileCacheStore {
  return new JsonFileCacheStore(gattCacheDir(env))
}

/** The key a peer's database is stored under: "AA:BB:CC:DD:EE:FF/random". */
export function cachePeerId(address: string, type: AddressType): string {
  return `${address.toUpperCase()}/${type}`
}

/** One file of the cache directory, as `hcikit cache list` shows it. */
export interface CachedPeer {
  /** The stored identity, "AA:BB:CC:DD:EE:FF/random". */
  peer: string
  address: string
  addressType: AddressType | undefined
  file: string
  /** When it was stored (ms since the epoch). */
  savedAt?: number
  services?: number
  /** The Database Hash it was stored with (hex), when the peer has one. */
  hash?: string
  /** Why the file is not a usable entry (the client will discover again and replace it). */
  problem?: string
}

/** Every entry of the cache directory, sorted by peer; [] when the directory does not exist. */
export async function listCachedPeers(dir: string): Promise<CachedPeer[]> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw e
  }
  const out: CachedPeer[] = []
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    const file = join(dir, name)
    if (!(await stat(file)).isFile()) continue
    out.push(describeEntry(file, peerFromFileName(name), await readFile(file, 'utf8')))
  }
  return out.sort((a, b) => (a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0))
}

function describeEntry(file: string, fromName: string, text: string): CachedPeer {
  const base = (peer: string): CachedPeer => ({ peer, ...splitPeer(peer), file })
  let entry: Partial<CacheEntry>
  try {
    entry = JSON.parse(text) as Partial<CacheEntry>
  } catch {
    return { ...base(fromName), problem: 'not JSON' }
  }
  if (!entry || typeof entry !== 'object') return { ...base(fromName), problem: 'not a cache entry' }
  const peer = typeof entry.peer === 'string' ? entry.peer : fromName
  if (entry.version !== CACHE_FORMAT_VERSION)
    return {
      ...base(peer),
      problem: `format version ${String(entry.version)} (this hcikit reads ${CACHE_FORMAT_VERSION})`,
    }
  const services = entry.database?.services
  if (!Array.isArray(services)) return { ...base(peer), problem: 'no services in it' }
  const r: CachedPeer = { ...base(peer), services: services.length }
  if (typeof entry.savedAt === 'number') r.savedAt = entry.savedAt
  if (typeof entry.database?.hash === 'string') r.hash = entry.database.hash
  return r
}

function splitPeer(peer: string): { address: string; addressType: AddressType | undefined } {
  const [address = peer, type] = peer.split('/')
  return { address, addressType: type === 'public' || type === 'random' ? type : undefined }
}

/** The identity a file name stands for (the inverse of att/cache-file.ts cacheFileName). */
export function peerFromFileName(name: string): string {
  return name.replace(/\.json$/, '').replace(/_([0-9a-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
}
