/**
 * src/client.ts, the first hour of a user (issue 5): scan -> find -> connect -> discover -> read
 * -> notifications -> write -> dispose, against the ready-made virtual heart-rate and sensor
 * devices on one virtual link; notifications end quietly on our disconnect and with a typed
 * 'DISCONNECTED' error when the peer goes; abort and timeout on the calls; the GATT cache on
 * reconnection. Expected values come from the devices' declared behaviour (heartRateAt, the
 * counter), not from our client.
 */
import t from 'tap'
import { open, createVirtualLink, HcikitError, type Advertisement, type Client } from '../../src/index.ts'
import {
  startHeartRateDevice,
  startSensorDevice,
  heartRateAt,
  SENSOR_SERVICE,
  SENSOR_COUNTER,
  SENSOR_LABEL,
  SENSOR_ECHO,
} from '../../src/devices/index.ts'

const u32 = (v: Uint8Array): number => new DataView(v.buffer, v.byteOffset, v.byteLength).getUint32(0, true)

t.test('the first hour: scan, find, connect, discover, read, notifications, write, dispose', async (t) => {
  const link = createVirtualLink({ seed: 11 })
  await using hrm = await startHeartRateDevice({ link, name: 'Polar H10', bpm: 70, intervalMs: 500 })
  await using sensor = await startSensorDevice({ link })
  await using adapter = await open({ transport: 'virtual', link })

  const seen: Advertisement[] = []
  for await (const ad of adapter.scan({ services: ['180d'], timeout: 3000 })) seen.push(ad)
  t.same(
    seen.map((a) => a.name),
    ['Polar H10'],
    'only the heart-rate sensor advertises 180d, seen once',
  )
  t.equal(seen[0]!.address, hrm.address)
  t.equal(seen[0]!.ad.appearance, 0x0341)

  const device = await adapter.find({ name: 'Polar H10' }, { timeout: 5000 })
  let client: Client
  {
    await using c = await adapter.connect(device, { timeout: 10_000 })
    client = c
    t.equal(c.address, hrm.address)
    t.same(
      c.services.map((s) => s.uuid.slice(4, 8)),
      ['1800', '1801', '180d', '180f'],
      'GAP, GATT, heart rate, battery',
    )
    t.equal(c.mtu, 517)
    t.same([...(await c.read(c.characteristic('180d', '2a38')))], [0x01], 'body sensor location: chest')
    t.same([...(await c.read(c.characteristic('2a19')))], [100], 'battery level')
    t.equal(new TextDecoder().decode(await c.read(c.characteristic('1800', '2a00'))), 'Polar H10', 'GAP device name')

    const hr = c.characteristic('180d', '2a37')
    const values: number[][] = []
    const start = hrm.ticks
    for await (const v of c.notifications(hr)) {
      values.push([...v])
      if (values.length === 5) break
    }
    t.equal(values.length, 5)
    for (const [i, v] of values.entries())
      t.same(v, [0x06, heartRateAt(70, start + 1 + i)], `measurement ${i}: flags, rate`)
    t.same(hrm.server.connections[0]!.cccd.get(hr.cccd!.handle) ?? 0, 0, 'leaving the loop cleared the CCCD')
  }
  t.equal(client.connected, false, 'disposed: disconnected')
  t.equal((await client.disconnected).local, true)

  // the sensor: custom 128-bit service, write with and without response, indications
  await using s = await adapter.connect(await adapter.find({ services: [SENSOR_SERVICE] }))
  const label = s.characteristic(SENSOR_SERVICE, SENSOR_LABEL)
  t.equal(new TextDecoder().decode(await s.read(label)), 'hello')
  await s.write(label, new TextEncoder().encode('written'))
  t.equal(sensor.label, 'written', 'write with response')
  await s.write(label, new TextEncoder().encode('no response'), { withoutResponse: true })
  t.equal(new TextDecoder().decode(await s.read(label)), 'no response', 'write without response, read back')
  const counter = s.characteristic(SENSOR_SERVICE, SENSOR_COUNTER)
  const before = u32(await s.read(counter))
  for await (const v of s.notifications(counter)) {
    t.ok(u32(v) > before, `counter ${u32(v)} after ${before}`)
    break
  }
  const echo = s.characteristic(SENSOR_ECHO)
  const ac = new AbortController()
  const got: string[] = []
  const loop = (async () => {
    for await (const v of s.notifications(echo, { signal: ac.signal })) {
      got.push(new TextDecoder().decode(v))
      if (got.length === 2) ac.abort(new Error('enough'))
    }
  })()
  // the subscription is written before the first write is queued (one ATT request at a time, in order)
  await new Promise((r) => setImmediate(r))
  await s.write(echo, new TextEncoder().encode('one'))
  await s.write(echo, new TextEncoder().encode('two'))
  await t.rejects(loop, { message: 'enough' }, 'abort ends the loop with the signal reason')
  t.same(got, ['one', 'two'], 'indications echo the writes')
})

t.test('notifications end with a typed error when the peripheral goes away', async (t) => {
  const link = createVirtualLink({ seed: 12 })
  const hrm = await startHeartRateDevice({ link, intervalMs: 100 })
  await using adapter = await open({ transport: 'virtual', link })
  await using c = await adapter.connect(hrm.address)
  let n = 0
  const err = await (async () => {
    for await (const _ of c.notifications(c.characteristic('2a37'))) {
      if (++n === 3) void hrm.close()
    }
  })().catch((e: unknown) => e)
  t.ok(err instanceof HcikitError, 'typed')
  t.equal((err as HcikitError).code, 'DISCONNECTED')
  t.equal((err as HcikitError).statusName !== undefined, true, 'with the reason name')
  t.equal(c.connected, false)
})

t.test('read and write: timeout and abort; cache on reconnection', async (t) => {
  const link = createVirtualLink({ seed: 13 })
  await using sensor = await startSensorDevice({ link })
  await using adapter = await open({ transport: 'virtual', link })
  const c1 = await adapter.connect(sensor.address)
  t.equal(c1.source, 'discovered')
  const ac = new AbortController()
  ac.abort(new Error('no'))
  await t.rejects(c1.read(c1.characteristic(SENSOR_LABEL), { signal: ac.signal }), { message: 'no' })
  await t.rejects(c1.read(c1.characteristic(SENSOR_LABEL), { timeout: 0 }), { code: 'TIMEOUT' })
  await c1.disconnect()
  await using c2 = await adapter.connect(sensor.address)
  t.equal(c2.source, 'cache-validated', 'the second connection used the cache (Database Hash matched)')
  t.equal(new TextDecoder().decode(await c2.read(c2.characteristic(SENSOR_LABEL))), 'hello')
})
