/**
 * `hcikit demo`: the main job, start to end, on an in-process virtual link (src/virtual) with two
 * ready-made virtual peripherals (src/devices): a heart-rate monitor (Heart Rate Service 0x180D +
 * Battery) and a sensor (a custom 128-bit service + Battery). Our central scans (Core v5.4 Vol 3
 * Part C 9.2), connects to both at once (Part C 9.3), discovers their databases (Part G 4.4-4.7),
 * reads (4.8), writes (4.9), subscribes to notifications (4.10), prints a narrative with the live
 * values, and disconnects (Vol 4 Part E 7.1.6). With `hcikit --snoop demo.btsnoop demo` every HCI
 * packet is recorded for Wireshark. Always uses the virtual transport (it brings its own devices).
 */
import { parseArgs } from 'node:util'
import { shortUuid } from '../../att/uuid.ts'
import type { Adapter, Advertisement, Client } from '../index.ts'
import { printable } from '../printable.ts'
import {
  BATTERY_LEVEL,
  BODY_SENSOR_LOCATION,
  HEART_RATE_MEASUREMENT,
  SENSOR_COUNTER,
  SENSOR_LABEL,
} from '../devices/index.ts'
import {
  HRM_ADDRESS,
  SENSOR_ADDRESS,
  interruptible,
  negativeValues,
  openSession,
  out,
  positiveInt,
  usage,
  type CliContext,
} from './connect-common.ts'
import { uuidLabel } from './format.ts'

export const demoHelp = `usage: hcikit demo [--count N]

Runs the whole job on an in-process virtual link: two virtual peripherals (a heart-rate monitor
and a battery/custom-service sensor) advertise; the central scans, connects to both, discovers
their services, reads and writes values, prints N live notifications from each (default 3) and
disconnects. Record it: hcikit --snoop demo.btsnoop demo (open demo.btsnoop in Wireshark).`

const OPTIONS = { count: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const

const LOCATIONS = ['Other', 'Chest', 'Wrist', 'Finger', 'Hand', 'Ear Lobe', 'Foot']

type Say = (s: string) => void

export async function demoCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: negativeValues(argv, OPTIONS),
    options: OPTIONS,
    allowPositionals: true,
  })
  if (values.help) {
    out(ctx, demoHelp)
    return 0
  }
  if (positionals.length > 0) throw usage(demoHelp, `unexpected argument '${positionals[0]}'`)
  const count = positiveInt(demoHelp, 'count', values.count) ?? 3
  const say: Say = (s) => out(ctx, s)
  const started = Date.now()
  const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(1)} s`

  const stop = interruptible(ctx)
  // The demo brings its own devices, so it always runs on the virtual transport.
  const session = await openSession({ ...ctx, transport: 'virtual' }, { signal: stop.signal })
  const { adapter } = session
  try {
    say(`hcikit demo: our central ${adapter.address} and two virtual peripherals on an in-process virtual radio link`)
    const [hrmAd, sensorAd] = await scanBoth(adapter, say, stop.signal)
    say('')
    say('2. Connecting to both at once, exchanging the ATT MTU, discovering their databases ...')
    const [hrm, sensor] = await Promise.all([
      adapter.connect(hrmAd, { timeout: 10_000, signal: stop.signal }),
      adapter.connect(sensorAd, { timeout: 10_000, signal: stop.signal }),
    ])
    try {
      for (const c of [hrm, sensor]) describe(say, c)
      await readAndWrite(say, [hrm, hrmAd], [sensor, sensorAd])
      say('')
      say(`5. Subscribing to live values (${count} from each) ...`)
      await subscribeBoth(say, elapsed, count, [hrm, hrmAd], [sensor, sensorAd], stop.signal)
      say('')
      say('6. Disconnecting ...')
      for (const c of [hrm, sensor]) {
        const d = await c.disconnect({ timeout: 5000 })
        say(`   ${c.address}: disconnected: ${d.reasonName}`)
      }
    } finally {
      await Promise.all([hrm, sensor].map((c) => c[Symbol.asyncDispose]()))
    }
    say('')
    say(
      `Done in ${elapsed()}. Next: \`hcikit scan\`, \`hcikit gatt ${HRM_ADDRESS}\`, \`hcikit notify ${HRM_ADDRESS} 2a37\`;`,
    )
    say('record any of them with `hcikit --snoop FILE ...` and open FILE in Wireshark.')
  } finally {
    stop.done()
    await session.close()
  }
  return 0
}

/** Step 1: scan until both virtual devices have been seen. */
async function scanBoth(adapter: Adapter, say: Say, signal: AbortSignal): Promise<[Advertisement, Advertisement]> {
  say('')
  say('1. Scanning (active, with scan responses) ...')
  const want = new Set([HRM_ADDRESS, SENSOR_ADDRESS])
  const found = new Map<string, Advertisement>()
  for await (const ad of adapter.scan({ timeout: 10_000, signal })) {
    if (!want.has(ad.address) || found.has(ad.address)) continue
    found.set(ad.address, ad)
    const services = ad.ad.serviceUuids.map((u) => uuidLabel(u)).join(', ')
    say(
      `   found "${printable(ad.name ?? '?')}" at ${ad.address} (${ad.addressType}), RSSI ${ad.rssi} dBm, ` +
        `${ad.connectable ? 'connectable' : 'not connectable'}, services ${services}`,
    )
    if (found.size === want.size) break
  }
  const hrmAd = found.get(HRM_ADDRESS)
  const sensorAd = found.get(SENSOR_ADDRESS)
  if (!hrmAd || !sensorAd) throw new Error(`the virtual devices did not show up within 10 s (found ${found.size} of 2)`)
  return [hrmAd, sensorAd]
}

type Peer = [Client, Advertisement]
const text = (v: Uint8Array): string => printable(new TextDecoder().decode(v))

/** Steps 3 and 4: read a few values from each, write the sensor's label and read it back. */
async function readAndWrite(say: Say, [hrm, hrmAd]: Peer, [sensor, sensorAd]: Peer): Promise<void> {
  const o = { timeout: 5000 }
  say('')
  say('3. Reading values ...')
  say(`   ${hrmAd.name}: Device Name = "${text(await hrm.read(hrm.characteristic('1800', '2a00'), o))}"`)
  const loc = (await hrm.read(hrm.characteristic('180d', BODY_SENSOR_LOCATION), o))[0] ?? 0
  say(`   ${hrmAd.name}: Body Sensor Location = ${loc} (${LOCATIONS[loc] ?? 'reserved'})`)
  const hrmBattery = (await hrm.read(hrm.characteristic('180f', BATTERY_LEVEL), o))[0]
  say(`   ${hrmAd.name}: Battery Level = ${hrmBattery} %`)
  const sensorBattery = (await sensor.read(sensor.characteristic('180f', BATTERY_LEVEL), o))[0]
  say(`   ${sensorAd.name}: Battery Level = ${sensorBattery} %`)
  const label = sensor.characteristic(SENSOR_LABEL)
  const custom = shortUuid(SENSOR_LABEL).slice(0, 8)
  say(`   ${sensorAd.name}: label (custom ${custom}...) = "${text(await sensor.read(label, o))}"`)
  say('')
  say('4. Writing ...')
  await sensor.write(label, new TextEncoder().encode('written by the demo'), o)
  say(`   ${sensorAd.name}: label <- "written by the demo"; read back: "${text(await sensor.read(label, o))}"`)
}

/** Step 5: `count` notifications from each device, printed as they come. */
async function subscribeBoth(
  say: Say,
  elapsed: () => string,
  count: number,
  [hrm, hrmAd]: Peer,
  [sensor, sensorAd]: Peer,
  signal: AbortSignal,
): Promise<void> {
  const hr = hrm.characteristic('180d', HEART_RATE_MEASUREMENT)
  const counter = sensor.characteristic(SENSOR_COUNTER)
  await Promise.all([
    take(hrm.notifications(hr, { timeout: 5000, signal }), count, (v) => {
      // Heart Rate Measurement: Flags bit 0 = 0 -> the rate is a uint8 (GATT Spec. Supplement 3.113).
      const bpm = (v[0]! & 1) === 0 ? v[1]! : v[1]! | (v[2]! << 8)
      const contact = (v[0]! & 0x06) === 0x06 ? ' (sensor contact)' : ''
      say(`   [${elapsed()}] ${hrmAd.name}: heart rate ${bpm} bpm${contact}`)
    }),
    take(sensor.notifications(counter, { timeout: 5000, signal }), count, (v) => {
      const n = new DataView(v.buffer, v.byteOffset, v.byteLength).getUint32(0, true)
      say(`   [${elapsed()}] ${sensorAd.name}: counter ${n}`)
    }),
  ])
}

function describe(say: (s: string) => void, c: Client): void {
  const db = c.database
  say(
    `   ${c.address}: connected, ATT MTU ${c.mtu}, ${db.services.length} services, ${db.characteristics.length} characteristics`,
  )
  for (const s of db.services) {
    const chars = s.characteristics.map((ch) => uuidLabel(ch.uuid)).join(', ')
    say(`     ${uuidLabel(s.uuid)}: ${chars || '(no characteristics)'}`)
  }
}

/** The first `n` values of a notification stream, each handed to `each`; then the loop ends (unsubscribes). */
async function take(it: AsyncIterable<Uint8Array>, n: number, each: (v: Uint8Array) => void): Promise<void> {
  let got = 0
  for await (const v of it) {
    each(v)
    if (++got >= n) return
  }
  throw new Error(`notifications ended after ${got} of ${n} values`)
}
