/**
 * Issue 6, acceptance 1: one end-to-end suite (scan, connect, discover, read, write with and
 * without response, notify, disconnect) run on every byte-stream transport against the virtual
 * controller: in-process ('virtual'), TCP (TcpServe), a Unix socket (startSession on a
 * net.Server) and UART through a pseudo-terminal (PtyServe over socat), so the same H4 bytes a
 * real dongle would carry (Core v5.4 Vol 4 Part A 2) go through each host transport.
 *
 * The peripheral is src/devices' sensor (custom service with COUNTER read/notify and LABEL
 * read/write/writeWithoutResponse) on another controller of the same VirtualLink, attached in
 * process. For the served cases the link runs on a RealtimeScheduler (a real host is on the other
 * end of a socket); for 'virtual' it is createVirtualLink() (virtual time).
 */
import t, { type Test } from 'tap'
import net from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  open,
  createVirtualLink,
  uuidEquals,
  type Adapter,
  type Advertisement,
  type Central,
  type Client,
  type Disconnection,
} from '../../src/index.ts'
import { VirtualLink } from '../../src/virtual/link.ts'
import { VirtualController } from '../../src/virtual/controller.ts'
import { RealtimeScheduler } from '../../src/virtual/scheduler.ts'
import { TcpServe, startSession, type Session } from '../../src/virtual/serve.ts'
import { PtyServe } from '../../src/virtual/serve-pty.ts'
import {
  startSensorDevice,
  SENSOR_SERVICE,
  SENSOR_COUNTER,
  SENSOR_LABEL,
  BATTERY_SERVICE,
  type SensorDevice,
} from '../../src/devices/index.ts'
import { within } from '../transports/helpers.ts'
import { missing } from '../helpers/tools.ts'

t.setTimeout(240_000)

/** Notifications each case must receive in order. */
const N = 5
/** Bound of every single API call (ms of the adapter's clock). */
const CALL_MS = 10_000
const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const dec = (b: Uint8Array): string => new TextDecoder().decode(b)
const u32 = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0, true)

/**
 * The shared suite: a central opened on `transportSpec` (with `link` for 'virtual') against
 * `device`, which advertises on the same link as the controller behind the transport.
 */
async function sharedSuite(
  t: Test,
  transportSpec: string,
  link: VirtualLink | undefined,
  device: SensorDevice,
  label: string,
): Promise<void> {
  const central: Adapter = await within(
    open({ transport: transportSpec, ...(link ? { link } : {}), env: {}, timeout: CALL_MS }),
    `open(${transportSpec})`,
  )
  t.teardown(() => central.close())
  t.equal(central.state, 'open', 'the central adapter is open')
  t.not(central.address, device.address, 'the central is a different controller from the peripheral')

  // Scan: the device is found by its name, with its address and service.
  let found: Advertisement | undefined
  for await (const ad of central.scan({ name: device.name, timeout: CALL_MS })) {
    found = ad
    break
  }
  t.ok(found, `scan found '${device.name}'`)
  if (!found) return
  t.equal(found.name, device.name, 'advertised name')
  t.equal(found.address, device.address, 'advertiser address is the device controller')
  t.ok(found.connectable, 'connectable advertising')

  // Connect (discovers the database).
  const connected = within(
    new Promise<Central>((resolve) => device.adapter.on('connection', resolve)),
    'the peripheral to see the central connect',
  )
  const client: Client = await within(
    central.connect(found, { timeout: CALL_MS, cachePolicy: 'off' }),
    `connect to ${device.address}`,
  )
  t.teardown(() => client[Symbol.asyncDispose]())
  const peripheralSide = await connected
  t.equal(client.connected, true, 'client connected')
  t.equal(client.address, device.address, 'connected to the device')
  t.equal(peripheralSide.connected, true, 'the peripheral has the central')

  // Discover.
  const uuids = client.services.map((s) => s.uuid)
  t.ok(
    uuids.some((u) => uuidEquals(u, SENSOR_SERVICE)),
    `sensor service discovered (${uuids.join(', ')})`,
  )
  t.ok(
    uuids.some((u) => uuidEquals(u, BATTERY_SERVICE)),
    'battery service discovered',
  )
  const labelChr = client.characteristic(SENSOR_SERVICE, SENSOR_LABEL)
  const counterChr = client.characteristic(SENSOR_SERVICE, SENSOR_COUNTER)
  t.ok(
    labelChr.can('Write') && labelChr.can('WriteWithoutResponse') && labelChr.can('Read'),
    'LABEL: read, write, write without response',
  )
  t.ok(counterChr.can('Notify'), 'COUNTER: notify')

  // Read.
  t.equal(dec(await within(client.read(labelChr, { timeout: CALL_MS }), 'read LABEL')), label, 'read the initial label')

  // Write with response, read back.
  const withResp = `${label}/with-response`
  await within(client.write(labelChr, enc(withResp), { timeout: CALL_MS }), 'write LABEL (with response)')
  t.equal(device.label, withResp, 'the device took the write request')
  t.equal(
    dec(await within(client.read(labelChr, { timeout: CALL_MS }), 'read LABEL back')),
    withResp,
    'read back after write with response',
  )

  // Write without response (ATT Write Command), read back: the read follows it on the same bearer.
  const noResp = `${label}/without-response`
  await within(
    client.write(labelChr, enc(noResp), { withoutResponse: true, timeout: CALL_MS }),
    'write LABEL (without response)',
  )
  t.equal(
    dec(await within(client.read(labelChr, { timeout: CALL_MS }), 'read LABEL back')),
    noResp,
    'read back after write without response',
  )
  t.equal(device.label, noResp, 'the device took the write command')

  // Notify: N notifications of consecutive counter values.
  const values: number[] = []
  const collect = async (): Promise<void> => {
    for await (const v of client.notifications(counterChr, { timeout: CALL_MS })) {
      t.equal(v.length, 4, 'COUNTER notification is a uint32')
      values.push(u32(v))
      if (values.length === N) break
    }
  }
  await within(collect(), `${N} COUNTER notifications`)
  t.equal(values.length, N, `${N} notifications received`)
  t.same(
    values.map((v) => v - values[0]!),
    Array.from({ length: N }, (_, i) => i),
    `consecutive counter values (${values.join(', ')})`,
  )
  t.ok(values[0]! >= 1, 'counter values come from the device ticks')

  // Disconnect: the central sees its own request, the peripheral the remote reason.
  const remote = within(peripheralSide.disconnected, 'the peripheral to see the disconnection')
  const d: Disconnection = await within(client.disconnect({ timeout: CALL_MS }), 'disconnect')
  t.equal(d.local, true, 'central: disconnection was ours')
  t.equal(d.reason, 0x16, `central: reason 0x16 Connection Terminated By Local Host (${d.reasonName})`)
  const r = await remote
  t.equal(r.local, false, 'peripheral: disconnection was the peer')
  t.equal(r.reason, 0x13, `peripheral: reason 0x13 Remote User Terminated Connection (${r.reasonName})`)
  t.equal(client.connected, false, 'client no longer connected')
  await within(central.close(), 'central close')
  t.equal(central.state, 'closed', 'central closed')
}

/** A realtime link with a controller to serve and the sensor attached in process. */
async function servedRig(
  t: Test,
  seed: number,
  label: string,
): Promise<{ link: VirtualLink; controller: VirtualController; device: SensorDevice }> {
  const link = new VirtualLink({ seed, scheduler: new RealtimeScheduler({ seed }) })
  const controller = new VirtualController(link, {})
  t.teardown(() => controller.detach())
  const device = await within(
    startSensorDevice({ link, label, name: `e2e ${label}`, intervalMs: 100 }),
    'the sensor device to start',
  )
  t.teardown(() => device.close())
  return { link, controller, device }
}

function tempDir(t: Test, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test('virtual (in-process)', async (t) => {
  const link = createVirtualLink({ seed: 61 })
  const device = await within(
    startSensorDevice({ link, label: 'virtual', name: 'e2e virtual', intervalMs: 100 }),
    'the sensor device to start',
  )
  t.teardown(() => device.close())
  await sharedSuite(t, 'virtual', link, device, 'virtual')
})

t.test('TCP (TcpServe on 127.0.0.1)', async (t) => {
  const { controller, device } = await servedRig(t, 62, 'tcp')
  const served = await TcpServe.listen({ host: '127.0.0.1', port: 0 }, controller)
  t.teardown(() => served.close())
  t.ok(served.spec.port > 0, 'listening on a real port')
  await sharedSuite(t, `tcp:127.0.0.1:${served.spec.port}`, undefined, device, 'tcp')
})

t.test('Unix socket (startSession on a net.Server)', async (t) => {
  const { controller, device } = await servedRig(t, 63, 'unix')
  const path = join(tempDir(t, 'hcikit-e2e-unix-'), 'hci.sock')
  const sessions: Session[] = []
  const server = net.createServer((s) => void sessions.push(startSession(s, controller)))
  await new Promise<void>((r) => server.listen(path, r))
  t.teardown(async () => {
    for (const s of sessions) s.end('test over')
    await new Promise<void>((r) => server.close(() => r()))
  })
  await sharedSuite(t, `unix:${path}`, undefined, device, 'unix')
  t.equal(sessions.length, 1, 'one host session was served')
})

t.test('UART through a pty (PtyServe via socat)', { skip: missing('socat') }, async (t) => {
  const { controller, device } = await servedRig(t, 64, 'uart')
  const path = join(tempDir(t, 'hcikit-e2e-uart-'), 'uart')
  const served = await within(PtyServe.open(path, controller), 'PtyServe to create the pty')
  t.teardown(() => served.close())
  await sharedSuite(t, `uart:${path}@1000000`, undefined, device, 'uart')
})

/**
 * The same suite on real controllers, when a machine has them: the central on
 * HCIKIT_TEST_USB=VID:PID (a USB dongle) or HCIKIT_TEST_HCI=N (the Linux HCI socket hciN), the
 * peripheral (the sensor device) on a second controller named by HCIKIT_TEST_PERIPHERAL=SPEC (any
 * transport spec, e.g. `usb:0a12:0001:1` or `uart:/dev/ttyACM0`), both in radio range. Skipped
 * where they are not set (our machines have no radio).
 */
const env = process.env
const realCentral = env['HCIKIT_TEST_USB']
  ? `usb:${env['HCIKIT_TEST_USB']}`
  : env['HCIKIT_TEST_HCI']
    ? `hci${env['HCIKIT_TEST_HCI']}`
    : undefined
const realPeripheral = env['HCIKIT_TEST_PERIPHERAL']
t.test(
  'real controllers (HCIKIT_TEST_USB or HCIKIT_TEST_HCI, with HCIKIT_TEST_PERIPHERAL)',
  {
    skip:
      realCentral && realPeripheral
        ? false
        : 'needs HCIKIT_TEST_USB=VID:PID or HCIKIT_TEST_HCI=N, and HCIKIT_TEST_PERIPHERAL=SPEC',
  },
  async (t) => {
    const device = await within(
      startSensorDevice({ transport: realPeripheral!, label: 'real', name: 'e2e real', intervalMs: 100 }),
      `the sensor device to start on ${realPeripheral}`,
    )
    t.teardown(() => device.close())
    await sharedSuite(t, realCentral!, undefined, device, 'real')
  },
)
