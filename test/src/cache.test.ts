/**
 * The OS-cache story in the public API: adapter.clearCache() (src/adapter.ts), the GATT cache on
 * disk under HCIKIT_HOME (src/home.ts, src/cache-dir.ts) shared between adapters as it is between
 * CLI runs, and listing it. The virtual sensor device on the virtual link is the peer; whether a
 * connection used the cache is the client's `source`, and the files are read back from disk.
 */
import t from 'tap'
import { mkdtemp, readdir, writeFile } from 'node:fs/promises'
import { tmpdir, homedir } from 'node:os'
import { join } from 'node:path'
import {
  open,
  createVirtualLink,
  hcikitHome,
  gattCacheDir,
  homeCacheStore,
  listCachedPeers,
  cachePeerId,
} from '../../src/index.ts'
import { peerFromFileName } from '../../src/cache-dir.ts'
import { cacheFileName } from '../../att/cache-file.ts'
import { startSensorDevice } from '../../src/devices/index.ts'

t.test('HCIKIT_HOME, else ~/.hcikit', async (t) => {
  t.equal(hcikitHome({ HCIKIT_HOME: '/srv/hk' }), '/srv/hk')
  t.equal(hcikitHome({}), join(homedir(), '.hcikit'))
  t.equal(hcikitHome({ HCIKIT_HOME: '' }), join(homedir(), '.hcikit'), 'empty counts as unset')
  t.equal(hcikitHome({ HCIKIT_HOME: 'rel' }), join(process.cwd(), 'rel'), 'relative to the current directory')
  t.equal(gattCacheDir({ HCIKIT_HOME: '/srv/hk' }), '/srv/hk/gatt-cache')
})

t.test('file names map back to the peer they store', async (t) => {
  for (const peer of ['C0:11:22:33:44:55/random', 'AA:BB:CC:DD:EE:FF/public', 'odd_name.x-1'])
    t.equal(peerFromFileName(cacheFileName(peer)), peer)
})

t.test('clearCache(): the next connection discovers again', async (t) => {
  const link = createVirtualLink({ seed: 51 })
  await using sensor = await startSensorDevice({ link })
  await using adapter = await open({ transport: 'virtual', link })
  await (await adapter.connect(sensor.address)).disconnect()
  const second = await adapter.connect(sensor.address)
  t.equal(second.source, 'cache-validated')
  await second.disconnect()
  t.equal(await adapter.clearCache(sensor.address.toLowerCase()), true, 'there was an entry')
  const third = await adapter.connect(sensor.address)
  t.equal(third.source, 'discovered', 'discovered again')
  await third.disconnect()
  t.equal(await adapter.clearCache(sensor.address, { addressType: 'random' }), false, 'nothing under the random type')
  t.equal(await adapter.clearCache('C0:00:00:00:00:01'), false)
  await using uncached = await open({ transport: 'virtual', link, cache: false })
  t.equal(await uncached.clearCache(sensor.address), false, 'an adapter without a cache has nothing to clear')
})

t.test('the cache on disk: shared by adapters, listed, cleared', async (t) => {
  const home = await mkdtemp(join(tmpdir(), 'hcikit-home-'))
  const env = { HCIKIT_HOME: home }
  const link = createVirtualLink({ seed: 52 })
  await using sensor = await startSensorDevice({ link })
  {
    await using first = await open({ transport: 'virtual', link, cache: homeCacheStore(env) })
    await using c = await first.connect(sensor.address)
    t.equal(c.source, 'discovered')
  }
  const dir = gattCacheDir(env)
  t.same(await readdir(dir), [cacheFileName(cachePeerId(sensor.address, 'public'))], 'one file for the peer')
  const [entry] = await listCachedPeers(dir)
  t.match(entry, {
    peer: `${sensor.address}/public`,
    address: sensor.address,
    addressType: 'public',
    services: 4,
    hash: /^[0-9a-f]{32}$/,
  })
  t.ok(entry!.savedAt! > 0)
  {
    await using second = await open({ transport: 'virtual', link, cache: homeCacheStore(env) })
    await using c = await second.connect(sensor.address)
    t.equal(c.source, 'cache-validated', 'another adapter (another run) reuses it')
    t.equal(await second.clearCache(sensor.address), true)
  }
  t.same(await readdir(dir), [], 'cleared on disk')
  await writeFile(join(dir, cacheFileName('AA:BB:CC:DD:EE:FF/random')), '{not json')
  await writeFile(join(dir, 'notes.txt'), 'not a cache file')
  t.match(await listCachedPeers(dir), [
    { peer: 'AA:BB:CC:DD:EE:FF/random', addressType: 'random', problem: 'not JSON' },
  ])
  t.same(await listCachedPeers(join(home, 'nothing-here')), [], 'no directory: nothing cached')
})
