/**
 * The transport closed in the middle of everything (issue 13, "Transport faults"): TCP (the
 * controller's server goes away), a pty (the UART's far end closes; needs socat) and USB (the
 * dongle is unplugged, on the fake device of test/transports/fake-usb.ts). With a read in
 * flight, a subscription open and a scan running, each ends with a typed error within a bound,
 * the adapter reports `state: closed` with the transport's error, and the same process opens the
 * controller again and works.
 */
import t, { type Test } from 'tap'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HciHost } from '../../hci/host.ts'
import { HcikitError } from '../../hci/errors.ts'
import { MemoryKeyStore } from '../../gap/smp/keys.ts'
import { Adapter, open, realClock } from '../../src/adapter.ts'
import { CallTracer } from '../../src/call-trace.ts'
import {
  SENSOR_COUNTER,
  SENSOR_LABEL,
  startHeartRateDevice,
  startSensorDevice,
  type VirtualDevice,
} from '../../src/devices/index.ts'
import { openTransport } from '../../src/transports/index.ts'
import { VirtualController } from '../../src/virtual/controller.ts'
import { VirtualLink } from '../../src/virtual/link.ts'
import { RealtimeScheduler } from '../../src/virtual/scheduler.ts'
import { TcpServe } from '../../src/virtual/serve.ts'
import { PtyServe } from '../../src/virtual/serve-pty.ts'
import { FakeBtDevice, FakeUsb } from '../transports/fake-usb.ts'
import { missing } from '../helpers/tools.ts'
import { within } from '../transports/helpers.ts'

const SENSOR = '11:22:33:44:55:02'
const BOUND = 5000

interface World {
  link: VirtualLink
  controller: VirtualController
  sensor: VirtualDevice
  /** An advertiser the scan keeps seeing (the sensor is connected, so it does not advertise). */
  hrm: VirtualDevice
}

async function world(t: Test, seed: number): Promise<World> {
  const link = new VirtualLink({ seed, scheduler: new RealtimeScheduler({ seed }) })
  const controller = new VirtualController(link, { address: 'C0:00:00:00:00:0A' })
  const sensor = await startSensorDevice({ link, address: SENSOR })
  const hrm = await startHeartRateDevice({ link, address: '11:22:33:44:55:01' })
  t.teardown(async () => {
    controller.detach()
    await sensor.close()
    await hrm.close()
  })
  return { link, controller, sensor, hrm }
}

type Ending = { ok: true } | { ok: false; error: unknown }
const ending = (p: Promise<unknown>): Promise<Ending> =>
  p.then(
    () => ({ ok: true }) as const,
    (error: unknown) => ({ ok: false, error }) as const,
  )

/** A read in flight, a subscription and a scan, then `cut()`: each must end with a typed error. */
interface CutOptions {
  /** Run a scan too (default true). */
  scan?: boolean
  /** How long each pending operation may take to end (default BOUND). */
  bound?: number
  /**
   * A known gap: the transport may not notice the cut, so only calls with a timeout of their own
   * (the read) must end; the streams and the adapter's report are checked as todos.
   */
  todo?: string
}

async function cutUnder(t: Test, adapter: Adapter, cut: () => Promise<void> | void, o: CutOptions = {}): Promise<void> {
  const withScan = o.scan ?? true
  const bound = o.bound ?? BOUND
  const state = new Promise<{ error?: Error }>((resolve) => adapter.on('state', resolve))
  const c = await adapter.connect({ address: SENSOR, addressType: 'public' }, { timeout: 10_000 })
  let notified!: () => void
  const subscribed = new Promise<void>((resolve) => (notified = resolve))
  const notes = ending(
    (async () => {
      for await (const _ of c.notifications(c.characteristic(SENSOR_COUNTER), { timeout: 10_000 })) notified()
    })(),
  )
  let scanning!: () => void
  const running = new Promise<void>((resolve) => (scanning = resolve))
  const scan = withScan
    ? ending(
        (async () => {
          for await (const _ of adapter.scan({ duplicates: true })) scanning()
        })(),
      )
    : undefined
  if (!withScan) scanning()
  await within(running, 'the scan to report an advertiser', BOUND)
  await within(subscribed, 'the first notification', BOUND)
  const read = ending(c.read(c.characteristic(SENSOR_LABEL), { timeout: 10_000 }))
  await cut()
  const endings: [string, Promise<Ending>][] = [
    ['the read in flight', read],
    ['the subscription', notes],
  ]
  if (scan) endings.push(['the scan', scan])
  for (const [what, p] of endings) {
    const todo = what === 'the read in flight' ? undefined : o.todo
    const r = await within(p, `${what} to end`, bound).catch((e: Error) => ({ ok: false, error: e, hung: true }))
    t.notOk(r.ok, `${what} did not go on as if nothing happened`)
    t.notOk('hung' in r, `${what} ended within ${bound} ms`, { todo })
    if (!r.ok && !('hung' in r)) t.type(r.error, HcikitError, `${what}: a typed error (${(r.error as Error).message})`)
  }
  const s = await within(state, 'the adapter to report', BOUND).catch(() => undefined)
  t.ok(s?.error, `the adapter reports state: closed with the error (${s?.error?.message})`, { todo: o.todo })
}

async function works(t: Test, adapter: Adapter): Promise<void> {
  await using c = await adapter.connect({ address: SENSOR, addressType: 'public' }, { timeout: 10_000 })
  t.ok((await c.read(c.characteristic(SENSOR_LABEL), { timeout: 5000 })).length > 0, 'opened again, it works')
}

t.test('TCP: the controller server goes away', async (t) => {
  const w = await world(t, 41)
  const served = await TcpServe.listen({ host: '127.0.0.1', port: 0 }, w.controller)
  const port = served.spec.port
  const adapter = await open({ transport: `tcp:127.0.0.1:${port}`, env: {} })
  await cutUnder(t, adapter, () => served.close())
  await adapter.close()
  const again = await TcpServe.listen({ host: '127.0.0.1', port }, w.controller)
  t.teardown(() => again.close())
  const reopened = await open({ transport: `tcp:127.0.0.1:${port}`, env: {} })
  await works(t, reopened)
  await reopened.close()
})

t.test('pty: the far end of the UART closes', { skip: missing('socat') }, async (t) => {
  const w = await world(t, 42)
  const path = join(mkdtempSync(join(tmpdir(), 'hcikit-faults-')), 'uart')
  const served = await PtyServe.open(path, w.controller)
  const adapter = await open({ transport: `uart:${path}`, env: {} })
  // The UART transport notices the hangup of a pty only sometimes (the serialport poller; a real
  // UART cannot notice at all): the pending operations end by their own 10 s timeouts.
  await cutUnder(t, adapter, () => served.close(), {
    scan: false,
    bound: 15_000,
    todo: 'a pty hangup is not always noticed by the uart transport (docs/RELIABILITY.md, known gaps)',
  })
  await adapter.close()
  const again = await PtyServe.open(path, w.controller)
  t.teardown(() => again.close())
  const reopened = await open({ transport: `uart:${path}`, env: {} })
  await works(t, reopened)
  await reopened.close()
})

t.test('USB: the dongle is unplugged', async (t) => {
  const w = await world(t, 43)
  const plugged = async (): Promise<{ adapter: Adapter; dev: FakeBtDevice; usb: FakeUsb }> => {
    const dev = new FakeBtDevice(0x0a12, 0x0001)
    dev.connect(w.controller.attach())
    const usb = new FakeUsb([dev])
    const host = new HciHost(await openTransport('usb', { env: {}, usb }), { clock: realClock })
    const info = await host.init()
    const store = new MemoryKeyStore()
    const local = await store.localKeys()
    return {
      adapter: new Adapter(host, info, realClock, {
        ownedScheduler: undefined,
        controller: undefined,
        store,
        local,
        own: undefined,
        calls: new CallTracer({ clock: realClock, env: {} }),
        injector: undefined,
      }),
      dev,
      usb,
    }
  }
  const first = await plugged()
  await cutUnder(t, first.adapter, () => first.usb.unplug(first.dev))
  await first.adapter.close()
  w.controller.detach()
  const second = await plugged()
  await works(t, second.adapter)
  await second.adapter.close()
})
