/**
 * A twin running as a peripheral (src/twin/run.ts, server.ts, table.ts) on a virtual link in
 * virtual time, talked to by our client over the public API: captured values read back, a
 * refused read refused the same way, an unknown value answered Unlikely Error (0x0E), writes
 * allowed by the properties accepted and recorded, others Write Not Permitted (Core v5.4 Vol 3
 * Part F 3.4.1.1), notifications replayed on subscribe at their captured times (in a loop when
 * asked), a write answered by a script, and a twin with a random address found and connected as
 * random.
 */
import t, { type Test } from 'tap'
import { open, createVirtualLink } from '../../src/adapter.ts'
import { startTwin } from '../../src/twin/run.ts'
import { validateTwin, type Twin } from '../../src/twin/format.ts'

function twin(addressType: 'public' | 'random' = 'public'): Twin {
  return validateTwin({
    format: 'hcikit-twin',
    version: 1,
    source: { capture: 'hand', frames: 0, connections: 1 },
    device: { address: 'C0:11:22:33:44:55', addressType, name: 'Twin' },
    advertising: { connectable: true, data: '020106040954776e' },
    mtu: 64,
    servicesComplete: true,
    services: [
      {
        handle: 1,
        endHandle: 3,
        uuid: '1800',
        primary: true,
        includes: [],
        characteristicsComplete: true,
        characteristics: [
          {
            handle: 2,
            valueHandle: 3,
            uuid: '2a00',
            properties: ['read'],
            value: '5477696e',
            descriptorsComplete: true,
            descriptors: [],
          },
        ],
      },
      {
        handle: 16,
        endHandle: 30,
        uuid: '0000fff0-0000-1000-8000-00805f9b34fb',
        primary: true,
        includes: [],
        characteristicsComplete: true,
        characteristics: [
          {
            handle: 17,
            valueHandle: 18,
            uuid: 'fff1',
            properties: ['read'],
            descriptorsComplete: true,
            descriptors: [],
          },
          {
            handle: 19,
            valueHandle: 20,
            uuid: 'fff2',
            properties: ['read'],
            readError: 5,
            descriptorsComplete: true,
            descriptors: [],
          },
          {
            handle: 21,
            valueHandle: 22,
            uuid: 'fff3',
            properties: ['write'],
            descriptorsComplete: true,
            descriptors: [],
          },
          {
            handle: 23,
            valueHandle: 24,
            uuid: 'fff4',
            properties: ['notify'],
            descriptorsComplete: true,
            descriptors: [{ handle: 25, uuid: '2902' }],
            notifications: [
              { atMs: 0, value: '01' },
              { atMs: 250, value: '02' },
              { atMs: 1000, value: '03' },
            ],
          },
        ],
      },
    ],
    otherAttributes: [{ handle: 40, value: 'ee' }],
  })
}

async function setUp(t: Test, tw: Twin, o: Parameters<typeof startTwin>[1] = {}) {
  const link = createVirtualLink()
  const device = await startTwin(tw, { ...o, link })
  const central = await open({ link, address: '02:00:00:00:00:01', cache: false })
  t.teardown(async () => {
    await central.close()
    await device.close()
  })
  return { device, central }
}

t.test('reads, refusals and writes as the twin file says', async (t) => {
  const { device, central } = await setUp(t, twin())
  const ad = await central.find({ name: 'Twn' }, { timeout: 5000 })
  t.equal(ad.address, 'C0:11:22:33:44:55', 'the captured advertising data is advertised')
  const client = await central.connect(ad)
  t.equal(client.mtu, 64, "the device's captured MTU")
  t.same(
    client.services.map((s) => [s.handle, s.end]),
    [
      [1, 3],
      [16, 30],
    ],
    'handles as captured',
  )
  t.equal(Buffer.from(await client.read(client.characteristic('2a00'))).toString(), 'Twin')
  await t.rejects(
    client.read(client.characteristic('fff1')),
    { code: 'ATT_ERROR_RESPONSE', status: 0x0e },
    'unknown value',
  )
  await t.rejects(
    client.read(client.characteristic('fff2')),
    { code: 'ATT_ERROR_RESPONSE', status: 0x05 },
    'as refused in the capture',
  )
  t.same(await client.read(40), Uint8Array.of(0xee), 'a handle the capture only read')
  await client.write(client.characteristic('fff3'), Uint8Array.of(1, 2))
  await t.rejects(
    client.write(client.characteristic('fff1'), Uint8Array.of(1)),
    { code: 'ATT_ERROR_RESPONSE', status: 0x03 },
    'not writable',
  )
  await client.write(client.characteristic('fff3'), Uint8Array.of(3), { withoutResponse: true }).catch(() => undefined)
  t.same(
    device.writes.map((w) => [w.handle, Buffer.from(w.value).toString('hex'), w.kind]),
    [[22, '0102', 'request']],
    'the accepted write is recorded; a command the properties do not allow is ignored',
  )
})

t.test('notifications replay on subscribe at their captured times, and stop', async (t) => {
  const { central } = await setUp(t, twin())
  const client = await central.connect({ address: 'C0:11:22:33:44:55', addressType: 'public' })
  const got: Array<[string, number]> = []
  let start = 0
  for await (const v of client.notifications(client.characteristic('fff4'))) {
    if (got.length === 0) start = central.clock.now()
    got.push([Buffer.from(v).toString('hex'), central.clock.now() - start])
    if (got.length === 3) break
  }
  t.same(
    got.map(([v]) => v),
    ['01', '02', '03'],
  )
  const [, second, third] = got.map(([, ms]) => ms)
  t.ok(second! >= 240 && second! <= 260, `250 ms after the first (${second})`)
  t.ok(third! >= 990 && third! <= 1010, `1000 ms after the first (${third})`)
})

t.test('loop: the notifications start over; a script answers writes', async (t) => {
  const { central } = await setUp(t, twin(), {
    loop: true,
    onWrite: (w, c) => {
      if (w.handle === 22) void c.notify(24, Uint8Array.of(0xaa, ...w.value))
    },
  })
  const client = await central.connect({ address: 'C0:11:22:33:44:55', addressType: 'public' })
  const values: string[] = []
  for await (const v of client.notifications(client.characteristic('fff4'))) {
    values.push(Buffer.from(v).toString('hex'))
    if (values.length === 4) void client.write(client.characteristic('fff3'), Uint8Array.of(7))
    if (values.length === 8) break
  }
  t.same(values.slice(0, 4), ['01', '02', '03', '01'], 'round two begins')
  t.ok(values.includes('aa07'), 'the script answered the write with a notification')
})

t.test("the twin file's reactions answer a matching write with notifications", async (t) => {
  const tw = twin()
  tw.reactions = [
    { onWrite: { handle: 22, value: '01' }, notify: [{ handle: 24, value: 'a1', atMs: 100 }] },
    { onWrite: { handle: 22 }, notify: [{ handle: 24, value: 'b2', atMs: 0 }] },
  ]
  const { central } = await setUp(t, tw)
  const client = await central.connect({ address: 'C0:11:22:33:44:55', addressType: 'public' })
  const got: Array<[string, number]> = []
  const fff4 = client.characteristic('fff4')
  const fff3 = client.characteristic('fff3')
  let wrote = 0
  for await (const v of client.notifications(fff4)) {
    const hex = Buffer.from(v).toString('hex')
    if (hex === '03') {
      wrote = central.clock.now()
      void client.write(fff3, Uint8Array.of(1)).then(() => client.write(fff3, Uint8Array.of(9)))
    }
    if (hex === 'a1' || hex === 'b2') got.push([hex, central.clock.now() - wrote])
    if (got.length === 2) break
  }
  t.same(got.map(([v]) => v).sort(), ['a1', 'b2'], 'the first matching reaction per write: 01 -> a1, 09 -> b2')
  const a1 = got.find(([v]) => v === 'a1')![1]
  t.ok(a1 >= 100, `a1 came 100 ms after its write (${a1})`)
})

t.test('a random address is advertised and connected as random', async (t) => {
  const { central } = await setUp(t, twin('random'))
  const ad = await central.find({ addresses: ['C0:11:22:33:44:55'] }, { timeout: 5000 })
  t.equal(ad.addressType, 'random')
  const client = await central.connect(ad)
  t.equal(Buffer.from(await client.read(client.characteristic('2a00'))).toString(), 'Twin')
})
