/**
 * The JSON file key store: round trips, mode 0600, a corrupt file refused and left alone, and the
 * crash test of issue 11: a forked writer killed with SIGKILL halfway through writing leaves the
 * previous store intact (deterministically halfway, then at whatever moment a kill lands).
 */
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { JsonFileKeyStore, parseStore, serializeStore } from '../../../gap/smp/key-file.ts'
import { KeyStoreError, MemoryKeyStore, peerKey, type Bond, type KeyStore } from '../../../gap/smp/keys.ts'
import { toHex } from '../../../hci/wire.ts'
import { testBond } from './key-file-bond.ts'

const WRITER = fileURLToPath(new URL('./key-file-writer.ts', import.meta.url))

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hcikit-keys-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** The store file with bonds 0..n-1 (written directly, as a previous hcikit would have). */
async function seed(path: string, n: number): Promise<void> {
  const bonds = new Map<string, Bond>()
  for (let i = 0; i < n; i++) bonds.set(peerKey(testBond(i).peer), testBond(i))
  await writeFile(path, serializeStore({ bonds }), { mode: 0o600 })
}

function loader(): string {
  return (
    process.execArgv.find((a) => a.includes('@tapjs/typescript')) ??
    `--import=${import.meta.resolve('@tapjs/typescript/import')}`
  )
}

/** Run the writer and SIGKILL it on the first line `killWhen` accepts. */
async function runWriter(
  path: string,
  mode: string,
  killWhen: (line: string) => boolean,
): Promise<NodeJS.Signals | null> {
  const child = spawn(process.execPath, [loader(), WRITER, path, mode], { stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)))
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (killWhen(line)) child.kill('SIGKILL')
  })
  return exited
}

async function roundTrip(t: Test, store: KeyStore): Promise<void> {
  t.same(await store.bonds(), [])
  const a = testBond(1)
  const b = testBond(2)
  await store.put(a)
  await store.put(b)
  t.same(await store.get(a.peer), a)
  t.same(await store.get({ address: a.peer.address.toLowerCase(), type: 'random' }), a, 'addresses compare in any case')
  t.equal(
    await store.get({ address: a.peer.address, type: 'public' }),
    undefined,
    'the address type is part of the identity',
  )
  const replaced = { ...testBond(3), peer: a.peer }
  await store.put(replaced)
  t.same(await store.get(a.peer), replaced, 're-pairing replaces the keys')
  t.equal((await store.bonds()).length, 2)
  t.equal(await store.delete(a.peer), true)
  t.equal(await store.delete(a.peer), false)
  t.same(await store.bonds(), [b])
  const local = await store.localKeys()
  t.equal(local.irk.length, 16)
  t.same(await store.localKeys(), local, 'local keys are made once')
}

t.test('memory store', async (t) => {
  await roundTrip(t, new MemoryKeyStore())
  const store = new MemoryKeyStore()
  const a = testBond(1)
  await store.put(a)
  a.peerLtk!.key.fill(0)
  t.not(toHex((await store.get(a.peer))!.peerLtk!.key), toHex(a.peerLtk!.key), 'the store keeps its own copy')
})

t.test('file store: round trip, mode 0600, JSON form', async (t) => {
  const dir = await tempDir(t)
  const path = join(dir, 'home', 'bonds.json')
  await roundTrip(t, new JsonFileKeyStore(path))
  t.equal((await stat(path)).mode & 0o777, 0o600)
  t.equal((await stat(join(dir, 'home'))).mode & 0o077, 0, 'the directory it creates is private too')
  const reread = new JsonFileKeyStore(path)
  t.same(await reread.bonds(), [testBond(2)], 'another store instance reads the same bonds')
  const json = JSON.parse(await readFile(path, 'utf8'))
  t.equal(json.version, 1)
  t.same(json.bonds[0].address, 'C0:00:00:00:00:02')
  t.equal(json.bonds[0].peerLtk.key, toHex(testBond(2).peerLtk!.key), 'keys as hex, wire order')
  t.same(await readdir(join(dir, 'home')), ['bonds.json'], 'no temporary file left')
})

t.test('file store: local keys are written with the first bond, not before', async (t) => {
  const path = join(await tempDir(t), 'bonds.json')
  const store = new JsonFileKeyStore(path)
  const local = await store.localKeys()
  t.same(await store.localKeys(), local, 'the same keys until written')
  await t.rejects(stat(path), { code: 'ENOENT' }, 'no file for a session that never bonds')
  await store.put(testBond(1))
  const again = new JsonFileKeyStore(path)
  t.same(await again.localKeys(), local, 'written with the bond, read back by another instance')
  t.equal((await stat(path)).mode & 0o777, 0o600)
})

t.test('file store: concurrent changes in one process are all kept', async (t) => {
  const path = join(await tempDir(t), 'bonds.json')
  const store = new JsonFileKeyStore(path)
  await Promise.all(Array.from({ length: 20 }, (_, i) => store.put(testBond(i))))
  t.equal((await new JsonFileKeyStore(path).bonds()).length, 20)
})

t.test('file store: a corrupt file is an error and is left as it was', async (t) => {
  const path = join(await tempDir(t), 'bonds.json')
  for (const text of [
    '{"version":1,"bonds":[{"address":"nope"',
    '{"version":2,"bonds":[]}',
    '[]',
    '{"version":1,"bonds":[{"address":"C0:00:00:00:00:01","addressType":"random","createdAt":"2026-01-01T00:00:00Z","irk":"12"}]}',
  ]) {
    await writeFile(path, text)
    const store = new JsonFileKeyStore(path)
    const err = await store.bonds().catch((e: unknown) => e)
    t.ok(err instanceof KeyStoreError, text)
    t.match((err as KeyStoreError).message, path)
    t.ok((err as KeyStoreError).hint)
    await t.rejects(store.put(testBond(1)), KeyStoreError)
    t.equal(await readFile(path, 'utf8'), text, 'not overwritten')
  }
  t.throws(() => parseStore('{"version":1,"bonds":[{"address":"C0:00:00:00:00:01","addressType":"x"}]}'), /addressType/)
})

t.test('SIGKILL halfway through writing the temporary file leaves the previous store intact', async (t) => {
  const dir = await tempDir(t)
  const path = join(dir, 'bonds.json')
  await seed(path, 1000)
  const before = await readFile(path, 'utf8')
  const signal = await runWriter(path, 'half', (line) => line === 'half')
  t.equal(signal, 'SIGKILL')
  t.equal(await readFile(path, 'utf8'), before, 'the store file is byte for byte the previous one')
  const left = (await readdir(dir)).filter((f) => f.endsWith('.tmp'))
  t.equal(left.length, 1, 'the half-written temporary file is there: the kill did land mid-write')
  const half = await readFile(join(dir, left[0]!), 'utf8')
  t.ok(half.length > 0 && half.length < before.length + 500, 'and it is partial')
  // The next process reads the old store and writes over it, ignoring the leftover.
  const store = new JsonFileKeyStore(path)
  t.equal((await store.bonds()).length, 1000)
  await store.put(testBond(2000))
  t.equal((await new JsonFileKeyStore(path).bonds()).length, 1001)
  t.equal((await stat(path)).mode & 0o777, 0o600)
})

t.test('SIGKILL at whatever moment it lands leaves a whole store, old or new', async (t) => {
  const dir = await tempDir(t)
  for (const at of [2, 5, 9]) {
    const path = join(dir, `bonds-${at}.json`)
    await seed(path, 1000)
    const signal = await runWriter(path, 'loop', (line) => line === `writing ${at}`)
    t.equal(signal, 'SIGKILL')
    const bonds = await new JsonFileKeyStore(path).bonds()
    const added = bonds.filter((b) => b.createdAt >= testBond(1001).createdAt).length
    // Generations up to at-1 were complete when "writing at" was printed; the kill may land before
    // or after generation `at` is renamed in, never in between.
    t.ok(added === at - 1 || added === at, `killed at ${at}: ${added} generations in the store`)
    t.same(
      bonds.slice(0, 1000).map((b) => b.peer.address),
      Array.from({ length: 1000 }, (_, i) => testBond(i).peer.address),
      'the old bonds are all there',
    )
  }
})
