/**
 * A GATT cache store with one JSON file per peer in a directory (att/cache.ts explains the
 * cache). Files are written atomically: the entry goes to a temporary file in the same
 * directory, which is then renamed over the old one, so a crash leaves the old entry or the new
 * one, never half of one. File names encode the peer identity reversibly ("C0:11:..." ->
 * "C0_3a11_3a...json"), so two peers never share a file.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { CacheEntry, GattCacheStore } from './cache.ts'

export function cacheFileName(peer: string): string {
  return `${peer.replace(/[^A-Za-z0-9.-]/g, (c) => `_${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}.json`
}

export class JsonFileCacheStore implements GattCacheStore {
  constructor(readonly dir: string) {}

  private path(peer: string): string {
    return join(this.dir, cacheFileName(peer))
  }

  async load(peer: string): Promise<CacheEntry | undefined> {
    let text: string
    try {
      text = await readFile(this.path(peer), 'utf8')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw e
    }
    try {
      return JSON.parse(text) as CacheEntry
    } catch {
      return undefined
    }
  }

  async save(peer: string, entry: CacheEntry): Promise<void> {
    await mkdir(this.dir, { recursive: true })
    const target = this.path(peer)
    const tmp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
    try {
      await writeFile(tmp, `${JSON.stringify(entry, null, 1)}\n`, { flag: 'wx' })
      await rename(tmp, target)
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => {})
      throw e
    }
  }

  async delete(peer: string): Promise<void> {
    await rm(this.path(peer), { force: true })
  }
}
