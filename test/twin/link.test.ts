/**
 * `hcikit link --device TWIN SPEC` (src/cli/link.ts): a twin on the link a real host reaches
 * over H4/TCP; our adapter, connected as that host (`tcp:127.0.0.1:PORT`), finds the twin
 * advertising what the twin file says and reads its captured value. The link ends on SIGINT.
 */
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { open } from '../../src/index.ts'
import { formatTwin, validateTwin } from '../../src/twin/format.ts'
import { startLink } from '../virtual/peers/link-process.ts'

const TWIN = validateTwin({
  format: 'hcikit-twin',
  version: 1,
  source: { capture: 'hand', frames: 0, connections: 1 },
  device: { address: 'C0:11:22:33:44:66', addressType: 'public' },
  advertising: { connectable: true, data: '020106040954776e' },
  servicesComplete: true,
  services: [
    {
      handle: 1,
      endHandle: 3,
      uuid: '180a',
      primary: true,
      includes: [],
      characteristicsComplete: true,
      characteristics: [
        {
          handle: 2,
          valueHandle: 3,
          uuid: '2a29',
          properties: ['read'],
          value: '41636d65',
          descriptorsComplete: true,
          descriptors: [],
        },
      ],
    },
  ],
  otherAttributes: [],
})

t.test('a twin served by hcikit link, reached over TCP', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hcikit-link-twin-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'twin.json')
  writeFileSync(file, formatTwin(TWIN))
  const { peer, served } = await startLink(t, ['--device', file, 'tcp-server:127.0.0.1:0'], 1)
  t.ok(peer.stderr.some((l) => l.includes(`twin C0:11:22:33:44:66 from ${file}`)))
  const adapter = await open({ transport: served[0]![0]!.replace('tcp-server:', 'tcp:'), env: {}, timeout: 10_000 })
  t.teardown(() => adapter.close())
  const ad = await adapter.find({ name: 'Twn' }, { timeout: 10_000 })
  t.equal(ad.address, 'C0:11:22:33:44:66')
  await using client = await adapter.connect(ad, { timeout: 10_000 })
  t.equal(Buffer.from(await client.read(client.characteristic('2a29'))).toString(), 'Acme')
  await client.disconnect()
  await adapter.close()
  peer.child.kill('SIGINT')
  t.equal((await peer.exited).code, 0, 'the link ends cleanly')
})
