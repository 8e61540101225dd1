/**
 * Host-side duplicate filtering for the scanner (the host's counterpart of the controller's
 * Filter_Duplicates, Core v5.4 Vol 4 Part E 7.8.11 / 7.8.65, which a controller keeps in a small
 * table of its own): a bounded least-recently-used map from a device to a signature of what it
 * last advertised. An advertisement is a duplicate when its device is in the map with the same
 * signature; changed data goes through. At most `capacity` devices are remembered, so memory
 * stays flat however many distinct devices go by (the least recently seen is forgotten first).
 */

/** A Map bounded to `capacity` entries, evicting the least recently used (get and set both use). */
export class LruMap<K, V> {
  /** Entries forgotten to make room. */
  evictions = 0
  private readonly map = new Map<K, V>()

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`LRU capacity ${capacity}: at least 1`)
  }

  get size(): number {
    return this.map.size
  }

  get(k: K): V | undefined {
    const v = this.map.get(k)
    if (v !== undefined) {
      this.map.delete(k)
      this.map.set(k, v)
    }
    return v
  }

  set(k: K, v: V): void {
    if (this.map.has(k)) this.map.delete(k)
    else if (this.map.size >= this.capacity) {
      this.map.delete(this.map.keys().next().value as K)
      this.evictions++
    }
    this.map.set(k, v)
  }

  delete(k: K): boolean {
    return this.map.delete(k)
  }

  clear(): void {
    this.map.clear()
  }
}

/** 32-bit FNV-1a over some byte arrays, with their lengths (a change in any of them changes it). */
export function signature(...parts: (Uint8Array | undefined)[]): number {
  let h = 0x811c9dc5
  for (const p of parts) {
    const n = p?.length ?? 0xffff
    h = Math.imul(h ^ (n & 0xff), 0x01000193)
    h = Math.imul(h ^ (n >>> 8), 0x01000193)
    if (p) for (let i = 0; i < p.length; i++) h = Math.imul(h ^ p[i]!, 0x01000193)
  }
  return h >>> 0
}

/** Remembers devices by key; `seen` says whether this (device, signature) was the last one seen. */
export class Dedup {
  readonly lru: LruMap<string, number>

  constructor(capacity: number) {
    this.lru = new LruMap(capacity)
  }

  /** True when `key` was last seen with this same signature (a duplicate); records it either way. */
  seen(key: string, sig: number): boolean {
    const prev = this.lru.get(key)
    if (prev === sig) return true
    this.lru.set(key, sig)
    return false
  }

  get size(): number {
    return this.lru.size
  }
}
