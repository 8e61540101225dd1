/**
 * Controller faults, through the public API on the virtual link (issue 13, "Transport faults";
 * Core v5.4 Vol 4 Part E 4.4 command flow control and 7.7.14/15, 7.7.16 Hardware Error, 7.7.19
 * Number Of Completed Packets, 7.7.26 Data Buffer Overflow): a controller that stops answering
 * commands, one that reports a Hardware Error in the middle of a scan, a connection and a read,
 * and completions for handles that do not exist or for more packets than were sent. Every
 * pending operation ends with a typed error within its timeout, the adapter stays usable or says
 * it is not, and the same process can open the controller again.
 */
import t, { type Test } from 'tap'
import { DataBufferOverflow, NumberOfCompletedPackets } from '../../hci/events.ts'
import { HcikitError } from '../../hci/errors.ts'
import { createVirtualLink, open, type Adapter } from '../../src/index.ts'
import { SENSOR_LABEL, startSensorDevice } from '../../src/devices/index.ts'

const SENSOR = '11:22:33:44:55:02'

async function scene(t: Test, seed: number): Promise<{ adapter: Adapter; link: ReturnType<typeof createVirtualLink> }> {
  const link = createVirtualLink({ seed })
  const adapter = await open({ link, address: 'C0:00:00:00:00:0A', env: {} })
  const sensor = await startSensorDevice({ link, address: SENSOR })
  t.teardown(async () => {
    await adapter.close()
    await sensor.close()
  })
  return { adapter, link }
}

async function settled<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await p }
  } catch (error) {
    return { ok: false, error }
  }
}

async function reads(adapter: Adapter): Promise<boolean> {
  await using c = await adapter.connect({ address: SENSOR, addressType: 'public' }, { timeout: 10_000 })
  return (await c.read(c.characteristic(SENSOR_LABEL), { timeout: 5000 })).length > 0
}

t.test('a controller that stops answering commands: typed timeouts, and a fresh open works', async (t) => {
  const { adapter, link } = await scene(t, 31)
  const controller = adapter.virtualController!
  controller.stuck = true
  const scan = await settled(
    (async () => {
      for await (const _ of adapter.scan({ timeout: 3000 })) break
    })(),
  )
  t.notOk(scan.ok, 'the scan cannot start')
  t.type(scan.ok ? undefined : scan.error, HcikitError)
  t.match(scan.ok ? {} : scan.error, { code: /TIMEOUT/ }, 'a timeout, named as such')
  const read = await settled(adapter.connect({ address: SENSOR, addressType: 'public' }, { timeout: 3000 }))
  t.notOk(read.ok, 'nor a connection')
  t.type(read.ok ? undefined : read.error, HcikitError)
  controller.stuck = false
  await adapter.close()
  const again = await open({ link, address: 'C0:00:00:00:00:0B', env: {} })
  t.ok(await reads(again), 'a fresh open on the same link works')
  await again.close()
})

t.test('Hardware Error in the middle of a scan, a connection and a read', async (t) => {
  const { adapter, link } = await scene(t, 32)
  const controller = adapter.virtualController!
  const c = await adapter.connect({ address: SENSOR, addressType: 'public' }, { timeout: 10_000 })
  // The sensor is connected (no longer advertising): the scan waits, and the error comes 500 ms in.
  const scanning = settled(
    (async () => {
      for await (const _ of adapter.scan({ duplicates: true, timeout: 10_000 }));
    })(),
  )
  adapter.clock.setTimeout(() => controller.injectHardwareError(0x42), 500)
  const scan = await scanning
  t.comment(`the scan: ${scan.ok ? 'ended without an error' : (scan.error as Error).message}`)
  const read = await settled(c.read(c.characteristic(SENSOR_LABEL), { timeout: 5000 }))
  t.notOk(read.ok, 'the link went with the controller state')
  t.type(read.ok ? undefined : read.error, HcikitError)
  t.match(read.ok ? {} : read.error, { message: /Hardware Error 0x42/ }, 'a typed error naming it')
  t.equal(c.connection.closed, true, 'the connection says it is closed')
  await adapter.close()
  const again = await open({ link, address: 'C0:00:00:00:00:0B', env: {} })
  t.ok(await reads(again), 'the same process opens it again and works')
  await again.close()
})

t.test('completions for unknown handles and for too many packets, Data Buffer Overflow', async (t) => {
  const { adapter } = await scene(t, 33)
  const controller = adapter.virtualController!
  await using c = await adapter.connect({ address: SENSOR, addressType: 'public' }, { timeout: 10_000 })
  const before = adapter.hci.stats.aclExcessCompletions
  controller.event(NumberOfCompletedPackets, {
    handles: [
      { connectionHandle: 0x0eee, numCompletedPackets: 5 },
      { connectionHandle: c.connection.handle, numCompletedPackets: 1000 },
    ],
  })
  controller.event(DataBufferOverflow, { linkType: 0x01 })
  for (let i = 0; i < 20; i++) t.ok((await c.read(c.characteristic(SENSOR_LABEL), { timeout: 5000 })).length > 0)
  t.ok(
    adapter.hci.stats.aclExcessCompletions > before,
    `the excess is counted (${adapter.hci.stats.aclExcessCompletions - before})`,
  )
})
