/**
 * Issue 5, acceptance 3: one central adapter connected to three virtual peripherals at once, each
 * stream of notifications carrying only its own device's values; one peripheral vanishing (out
 * of range on the link, or its adapter closed) ends only its own stream, the others go on. Also
 * what each ready-made device declares (services, properties, values).
 */
import t from 'tap'
import { open, createVirtualLink, HcikitError, type Client } from '../../src/index.ts'
import {
  startHeartRateDevice,
  startBatteryDevice,
  startSensorDevice,
  heartRateAt,
  batteryLevelAt,
  SENSOR_COUNTER,
  type VirtualDevice,
} from '../../src/devices/index.ts'

const u32 = (v: Uint8Array): number => new DataView(v.buffer, v.byteOffset, v.byteLength).getUint32(0, true)

/** Read `n` notifications of `uuid`, or until the stream ends; what ended it. */
async function collect(
  c: Client,
  uuid: string,
  n: number,
  onValue?: (i: number) => void,
): Promise<{ values: Uint8Array[]; error?: unknown }> {
  const values: Uint8Array[] = []
  try {
    for await (const v of c.notifications(c.characteristic(uuid))) {
      values.push(v)
      onValue?.(values.length)
      if (values.length === n) break
    }
    return { values }
  } catch (error) {
    return { values, error }
  }
}

for (const vanish of ['out of range', 'adapter closed'] as const) {
  t.test(`three peripherals at once; one vanishes (${vanish})`, async (t) => {
    const link = createVirtualLink({ seed: 21 })
    const devices: VirtualDevice[] = []
    t.teardown(async () => {
      for (const d of devices) await d.close()
    })
    const hrm = await startHeartRateDevice({ link, bpm: 60, intervalMs: 100 })
    const hrm2 = await startHeartRateDevice({ link, name: 'second HRM', bpm: 120, intervalMs: 70 })
    const sensor = await startSensorDevice({ link, intervalMs: 50 })
    devices.push(hrm, hrm2, sensor)
    await using central = await open({ transport: 'virtual', link, name: 'central' })

    const [c1, c2, c3] = await Promise.all([
      central.connect(hrm.address),
      central.connect(hrm2.address),
      central.connect(sensor.address),
    ])
    t.equal(central.clients.length, 3, 'three links on one adapter')
    t.same(new Set([c1!.connection.handle, c2!.connection.handle, c3!.connection.handle]).size, 3, 'three handles')

    const N = 40
    const start1 = hrm.ticks
    const r = await Promise.all([
      collect(c1!, '2a37', N),
      collect(c2!, '2a37', N, (i) => {
        if (i !== 10) return
        // the second heart-rate sensor goes away mid-stream
        if (vanish === 'out of range') {
          for (const other of link.controllers)
            if (other !== hrm2.adapter.virtualController) link.setInRange(hrm2.adapter.virtualController!, other, false)
        } else void hrm2.close()
      }),
      collect(c3!, SENSOR_COUNTER, N),
    ])

    // 1: its own rates, in order, none missing
    t.equal(r[0].values.length, N)
    t.notOk(r[0].error)
    // the tick of the first value: the first k from before the loop from which every rate matches
    // (bounded; two values are not enough, the rate repeats itself: 66, 66, 66, 65)
    const got1 = r[0].values.map((v) => v[1])
    const from = (k: number): boolean => got1.every((v, i) => v === heartRateAt(60, k + i))
    let k = start1
    while (k < start1 + 100 && !from(k)) k++
    t.same(
      r[0].values.map((v) => v[1]),
      Array.from({ length: N }, (_, i) => heartRateAt(60, k + i)),
      'HRM 1: its own consecutive measurements',
    )
    // 3: the counter, consecutive
    t.equal(r[2].values.length, N)
    const c0 = u32(r[2].values[0]!)
    t.same(
      r[2].values.map(u32),
      Array.from({ length: N }, (_, i) => c0 + i),
      'sensor: consecutive counter values',
    )
    // 2: its own values until it vanished, then a typed error
    t.ok(r[1].values.length >= 10 && r[1].values.length < N, `HRM 2: ${r[1].values.length} values before it vanished`)
    t.ok(
      r[1].values.every((v) => v[1]! >= 114),
      'HRM 2 values are its own (around 120)',
    )
    t.ok(
      r[1].error instanceof HcikitError && (r[1].error as HcikitError).code === 'DISCONNECTED',
      'HRM 2 stream ended: DISCONNECTED',
    )
    t.equal(c2!.connected, false)

    // the other two links are still up and answer
    t.ok(c1!.connected && c3!.connected, 'the others are still connected')
    t.same([...(await c1!.read(c1!.characteristic('2a38')))], [1])
    t.ok(u32(await c3!.read(c3!.characteristic(SENSOR_COUNTER))) >= c0 + N - 1)
    t.equal(central.clients.length, 2)
  })
}

t.test('each device: services, properties, values', async (t) => {
  const link = createVirtualLink({ seed: 22 })
  await using battery = await startBatteryDevice({ link, level: 50, intervalMs: 100 })
  await using hrm = await startHeartRateDevice({ link })
  await using central = await open({ transport: 'virtual', link })
  await using b = await central.connect(battery.address)
  const level = b.characteristic('180f', '2a19')
  t.ok(level.can('Read') && level.can('Notify'), 'battery level: read, notify')
  const levels: number[] = []
  for await (const v of b.notifications(level)) if (levels.push(v[0]!) === 3) break
  const t0 = battery.ticks - 2
  t.same(
    levels,
    [batteryLevelAt(50, t0), batteryLevelAt(50, t0 + 1), batteryLevelAt(50, t0 + 2)],
    'draining one percent per tick',
  )
  t.same([...(await b.read(level))], [battery.level], 'read gives the current level')

  await using h = await central.connect(hrm.address)
  const hr = h.characteristic('180d', '2a37')
  t.ok(hr.can('Notify') && !hr.can('Read'), 'heart rate measurement: notify only')
  t.ok(h.characteristic('180d', '2a38').can('Read'), 'body sensor location: read')
  await t.rejects(
    h.read(hr),
    { code: 'ATT_ERROR_RESPONSE', statusName: 'Read Not Permitted' },
    'typed ATT error with the spec name',
  )
})
