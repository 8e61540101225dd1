/**
 * The key store as one JSON file (gap/smp/keys.ts defines what is in it), for bonds that outlive
 * the process: `HCIKIT_HOME/bonds.json` for the CLI. File I/O in gap/ follows the GATT cache
 * store (att/cache-file.ts).
 *
 * Never half written. Every change writes the whole store to a new file in the same directory
 * (created 0600, so keys are never readable by others, not even for a moment), fsyncs it, renames
 * it over the old file and fsyncs the directory. A crash or SIGKILL at any point leaves either
 * the previous store or the new one; a leftover temporary file is ignored. Changes made in this
 * process are serialised; each one reads the file afresh, so bonds written by another process
 * in between are kept.
 *
 * A file that does not parse as a store is an error (KeyStoreError naming the file), never
 * silently replaced: it holds keys someone may want back.
 *
 * Our own keys are made on first use but written only with the first bond: a session that never
 * pairs leaves no file behind (`hcikit scan` writes nothing under HCIKIT_HOME).
 */
import * as fsp from 'node:fs/promises'
import { dirname } from 'node:path'
import { randomBytes } from 'node:crypto'
import {
  KeyStoreError,
  bondFromJson,
  bondToJson,
  copyBond,
  localKeysFromJson,
  localKeysToJson,
  normalizeAddress,
  peerKey,
  type Bond,
  type DeviceAddress,
  type KeyStore,
  type LocalKeys,
} from './keys.ts'

/** The file system calls the store makes (node:fs/promises; a test can wrap them to crash mid-write). */
export type KeyFileFs = Pick<typeof fsp, 'open' | 'rename' | 'readFile' | 'mkdir' | 'rm'>

export interface JsonFileKeyStoreOptions {
  fs?: KeyFileFs
  /** Random octets for new local keys (default node:crypto). */
  random?: (n: number) => Uint8Array
}

export interface StoreData {
  local?: LocalKeys
  bonds: Map<string, Bond>
}

const VERSION = 1

export class JsonFileKeyStore implements KeyStore {
  private readonly fs: KeyFileFs
  private readonly random: (n: number) => Uint8Array
  private queue: Promise<unknown> = Promise.resolve()
  /** Local keys made here and not yet written (they go out with the first bond). */
  private pendingLocal: LocalKeys | undefined

  constructor(
    readonly path: string,
    opts: JsonFileKeyStoreOptions = {},
  ) {
    this.fs = opts.fs ?? fsp
    this.random = opts.random ?? ((n) => new Uint8Array(randomBytes(n)))
  }

  async bonds(): Promise<Bond[]> {
    const data = await this.read()
    return [...data.bonds.values()]
  }

  async get(peer: DeviceAddress): Promise<Bond | undefined> {
    const data = await this.read()
    return data.bonds.get(peerKey(peer))
  }

  put(bond: Bond): Promise<void> {
    const b = copyBond(bond)
    b.peer.address = normalizeAddress(b.peer.address)
    return this.change((data) => {
      data.bonds.set(peerKey(b.peer), b)
      return true
    })
  }

  delete(peer: DeviceAddress): Promise<boolean> {
    const key = peerKey(peer)
    let found = false
    return this.change((data) => (found = data.bonds.delete(key))).then(() => found)
  }

  async localKeys(): Promise<LocalKeys> {
    const data = await this.read()
    if (data.local) return data.local
    this.pendingLocal ??= { irk: this.random(16), csrk: this.random(16) }
    return { irk: this.pendingLocal.irk.slice(), csrk: this.pendingLocal.csrk.slice() }
  }

  /** Read, apply `fn` (which says whether it changed anything), write back; one change at a time. */
  private change(fn: (data: StoreData) => boolean): Promise<void> {
    const next = this.queue.then(async () => {
      const data = await this.read()
      if (!fn(data)) return
      data.local ??= this.pendingLocal
      await this.write(data)
      this.pendingLocal = undefined
    })
    this.queue = next.catch(() => {})
    return next
  }

  private async read(): Promise<StoreData> {
    let text: string
    try {
      text = await this.fs.readFile(this.path, 'utf8')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { bonds: new Map() }
      throw e
    }
    try {
      return parseStore(text)
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e)
      throw new KeyStoreError(
        `${this.path} is not a readable key store: ${why}`,
        'it was left as it is; move it away (the bonds in it are lost to hcikit) or fix it by hand',
      )
    }
  }

  private async write(data: StoreData): Promise<void> {
    const dir = dirname(this.path)
    await this.fs.mkdir(dir, { recursive: true, mode: 0o700 })
    const tmp = `${this.path}.${process.pid}.${toHexName(this.random(4))}.tmp`
    const text = serializeStore(data)
    const fh = await this.fs.open(tmp, 'wx', 0o600)
    try {
      await fh.chmod(0o600)
      await fh.writeFile(text, 'utf8')
      await fh.sync()
    } catch (e) {
      await fh.close().catch(() => {})
      await this.fs.rm(tmp, { force: true }).catch(() => {})
      throw e
    }
    await fh.close()
    try {
      await this.fs.rename(tmp, this.path)
    } catch (e) {
      await this.fs.rm(tmp, { force: true }).catch(() => {})
      throw e
    }
    await syncDir(this.fs, dir)
  }
}

function toHexName(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
}

/** fsync the directory so the rename itself is on disk (where the platform allows it). */
async function syncDir(fs: KeyFileFs, dir: string): Promise<void> {
  let dh: fsp.FileHandle | undefined
  try {
    dh = await fs.open(dir, 'r')
    await dh.sync()
  } catch {
    // Some platforms cannot open or fsync a directory; the rename is still atomic there.
  } finally {
    await dh?.close().catch(() => {})
  }
}

export function serializeStore(data: StoreData): string {
  const bonds = [...data.bonds.values()].map(bondToJson)
  const out: Record<string, unknown> = { version: VERSION }
  if (data.local) out.local = localKeysToJson(data.local)
  out.bonds = bonds
  return `${JSON.stringify(out, null, 1)}\n`
}

export function parseStore(text: string): StoreData {
  const v = JSON.parse(text) as unknown
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new KeyStoreError('expected a JSON object')
  const o = v as Record<string, unknown>
  if (o.version !== VERSION)
    throw new KeyStoreError(`version ${JSON.stringify(o.version)}: this hcikit reads version ${VERSION}`)
  if (!Array.isArray(o.bonds)) throw new KeyStoreError('bonds: expected an array')
  const bonds = new Map<string, Bond>()
  o.bonds.forEach((b, i) => {
    const bond = bondFromJson(b, `bonds[${i}]`)
    bonds.set(peerKey(bond.peer), bond)
  })
  const data: StoreData = { bonds }
  if (o.local !== undefined) data.local = localKeysFromJson(o.local)
  return data
}
