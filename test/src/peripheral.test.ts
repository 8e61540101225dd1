/**
 * The peripheral side of src/ (adapter.serve, adapter.advertise, the 'connection' event, Central):
 * the advertising data layout (bytes written from the Core Specification Supplement Part A by
 * hand), a served database read and written by a central on the same link, notify to the
 * subscribed central only, advertising again after a central leaves, and disconnecting a
 * central from our side.
 */
import t from 'tap'
import { open, createVirtualLink, advertisingData, type Central } from '../../src/index.ts'

const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString('hex')

t.test('advertisingData: flags, name, services; overflow to the scan response', async (t) => {
  // 02 01 06 | 04 09 'HRM' | 03 03 0d 18
  t.equal(hex(advertisingData({ name: 'HRM', services: ['180d'] }).data), '020106' + '040948524d' + '03030d18')
  t.equal(advertisingData({ name: 'HRM' }).scanResponse, undefined)
  // a 128-bit service (18 octets) and a long name (20 octets) do not both fit in 31
  const long = 'a-rather-long-name-x' // 20
  const r = advertisingData({ name: long, services: ['8f3a0001-4b1c-4e2a-9c1d-6863696b6974'] })
  t.equal(hex(r.data), '020106' + '1509' + Buffer.from(long).toString('hex'), 'complete name in the advertising data')
  t.equal(
    hex(r.scanResponse),
    '1107' + '7469 6b69 6368 1d9c 2a4e 1c4b 0100 3a8f'.replace(/ /g, ''),
    '128-bit list in the scan response, little-endian',
  )
  // a name longer than fits: shortened (0x08) in the advertising data, complete in the scan response
  const huge = 'n'.repeat(29)
  const s = advertisingData({ name: huge })
  t.equal(hex(s.data), '020106' + '1b08' + '6e'.repeat(26))
  t.equal(hex(s.scanResponse), '1e09' + '6e'.repeat(29))
  t.equal(
    hex(advertisingData({ manufacturerData: { companyId: 0x0059, data: new Uint8Array([1, 2]) } }).data),
    '020106' + '05ff590001 02'.replace(/ /g, ''),
  )
  t.throws(
    () => advertisingData({ services: Array.from({ length: 4 }, (_, i) => `8f3a000${i}-4b1c-4e2a-9c1d-6863696b6974`) }),
    RangeError,
  )
})

t.test('serve, advertise, connection event, notify the subscriber, re-advertise, disconnect a central', async (t) => {
  const link = createVirtualLink({ seed: 31 })
  await using periph = await open({ transport: 'virtual', link, name: 'periph' })
  let written = ''
  const server = periph.serve({
    gap: { deviceName: 'my-periph' },
    services: [
      {
        uuid: 'aaa0',
        characteristics: [
          {
            id: 'msg',
            uuid: 'aaa1',
            properties: ['read', 'write'],
            value: 'hi',
            onWrite: (_c, v) => void (written = new TextDecoder().decode(v)),
          },
          { id: 'tick', uuid: 'aaa2', properties: ['notify'] },
        ],
      },
    ],
  })
  t.equal(periph.gattServer, server)
  t.throws(() => periph.serve({}), { code: 'ALREADY_SERVING', name: 'StateError' }, 'one database per adapter')
  const centrals: Central[] = []
  periph.on('connection', (c) => centrals.push(c))
  await periph.advertise({ name: 'my-periph', services: ['aaa0'] })

  await using c1 = await open({ transport: 'virtual', link, name: 'c1' })
  await using c2 = await open({ transport: 'virtual', link, name: 'c2' })
  const a = await c1.connect(await c1.find({ name: 'my-periph' }))
  t.equal(centrals.length, 1, "'connection' for the first central")
  t.equal(centrals[0]!.address, c1.address)
  t.equal(periph.centrals.length, 1)
  await a.write(a.characteristic('aaa1'), new TextEncoder().encode('from c1'))
  t.equal(written, 'from c1', 'the write reached our handler')

  // advertising stopped on connection; after the central leaves it restarts
  await a.disconnect()
  await centrals[0]!.disconnected
  const b = await c2.connect(await c2.find({ name: 'my-periph' }, { timeout: 5000 }))
  t.equal(centrals.length, 2, 'a second central found us again after the first left')
  t.equal(centrals[1]!.address, c2.address)

  const values: string[] = []
  const it = (async () => {
    for await (const v of b.notifications(b.characteristic('aaa2'))) {
      values.push(new TextDecoder().decode(v))
      if (values.length === 2) break
    }
  })()
  // notify until the subscriber has two (only subscribed centrals receive: none before the CCCD write)
  let sentTo = 0
  for (let i = 0; sentTo < 2 && i < 1000; i++) {
    const r = await server.notify('tick', new TextEncoder().encode(`t${sentTo}`))
    sentTo += r.filter((x) => x.ok).length
    await new Promise((r) => setImmediate(r))
  }
  await it
  t.same(values, ['t0', 't1'])

  // disconnect from our side
  const d = await centrals[1]!.disconnect()
  t.equal(d.local, true)
  const seen = await b.disconnected
  t.equal(seen.reason, 0x13, 'the central sees our reason: Remote User Terminated Connection')
  t.match(seen.reasonName, /^Remote User Terminated Connection/)
})
