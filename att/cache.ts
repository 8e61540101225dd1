/**
 * The GATT client's cache of peer databases (Core v5.4 Vol 3 Part G 2.5.2 "Attribute Caching",
 * 7.3 "Database Hash", 7.2 "Client Supported Features").
 *
 * Policy:
 *   'off'      discover on every connection, store nothing;
 *   'validate' (default) reuse a stored database only when the peer's Database Hash, read with
 *              one Read By Type request over the whole range (Read Using Characteristic UUID:
 *              this is also what makes a change-unaware client change-aware, 2.5.2.1), equals
 *              the stored one; otherwise discover and store again;
 *   'trust'    reuse a stored database without asking (Service Changed indications and Database
 *              Out Of Sync errors still correct it).
 * Databases are stored per peer identity (the identity address, e.g. "C0:11:22:33:44:55/random")
 * in a pluggable `GattCacheStore`: `MemoryCacheStore` here, a JSON file per peer in
 * att/cache-file.ts. A stored entry that does not parse is treated as absent and removed.
 */
import type { RemoteDatabaseJson } from './remote-database.ts'
import { RemoteDatabase } from './remote-database.ts'
import { GattUuid } from './uuid.ts'
import { readByType, badPeer, type AttRequester } from './discovery.ts'

export type CachePolicy = 'off' | 'validate' | 'trust'

export const CACHE_FORMAT_VERSION = 1

export interface CacheEntry {
  version: typeof CACHE_FORMAT_VERSION
  peer: string
  /** When it was stored (ms since the epoch, from the client's clock). */
  savedAt: number
  database: RemoteDatabaseJson
}

export interface GattCacheStore {
  load(peer: string): Promise<CacheEntry | undefined>
  save(peer: string, entry: CacheEntry): Promise<void>
  delete(peer: string): Promise<void>
}

export class MemoryCacheStore implements GattCacheStore {
  private readonly entries = new Map<string, string>()

  async load(peer: string): Promise<CacheEntry | undefined> {
    const s = this.entries.get(peer)
    return s === undefined ? undefined : (JSON.parse(s) as CacheEntry)
  }

  async save(peer: string, entry: CacheEntry): Promise<void> {
    // Stored as text, as a file store would: what comes back is a copy, never shared state.
    this.entries.set(peer, JSON.stringify(entry))
  }

  async delete(peer: string): Promise<void> {
    this.entries.delete(peer)
  }

  get size(): number {
    return this.entries.size
  }
}

/** The stored database of `peer`, or undefined (absent, another format version, or not a valid database: then deleted). */
export async function loadCached(store: GattCacheStore, peer: string): Promise<RemoteDatabase | undefined> {
  let entry: CacheEntry | undefined
  try {
    entry = await store.load(peer)
  } catch {
    entry = undefined
  }
  if (!entry) return undefined
  const db =
    entry.version === CACHE_FORMAT_VERSION && entry.peer === peer ? RemoteDatabase.fromJSON(entry.database) : undefined
  if (db instanceof RemoteDatabase) return db
  await store.delete(peer).catch(() => {})
  return undefined
}

export async function saveCached(store: GattCacheStore, peer: string, db: RemoteDatabase, now: number): Promise<void> {
  await store.save(peer, { version: CACHE_FORMAT_VERSION, peer, savedAt: now, database: db.toJSON() })
}

/** Forget what is stored for `peer`. */
export async function clearCache(store: GattCacheStore, peer: string): Promise<void> {
  await store.delete(peer)
}

/**
 * Read the peer's Database Hash with one Read By Type (0x2B2A) over the whole range. Undefined
 * when the peer has none.
 */
export async function readDatabaseHash(
  req: AttRequester,
  signal?: AbortSignal,
): Promise<{ handle: number; hash: Uint8Array } | undefined> {
  const items = await readByType(req, GattUuid.DatabaseHash, 0x0001, 0xffff, signal)
  const first = items[0]
  if (!first) return undefined
  if (first.value.length !== 16) throw badPeer(`Database Hash of ${first.value.length} octets (16 expected)`)
  return { handle: first.handle, hash: first.value.slice() }
}
