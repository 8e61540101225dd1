/**
 * A virtual sensor with a custom 128-bit service (Core v5.4 Vol 3 Part B 2.5.1 UUIDs; the
 * characteristics of Part G 3.3) beside the Battery Service:
 *   SENSOR_SERVICE   8f3a0001-4b1c-4e2a-9c1d-6863696b6974
 *     COUNTER        ...0002  read, notify   uint32 LE, +1 per tick
 *     LABEL          ...0003  read, write, writeWithoutResponse   UTF-8, at most 64 octets
 *     ECHO           ...0004  write, indicate  every value written is indicated back
 */
import { startDevice, type DeviceOptions, type VirtualDevice } from './device.ts'
import { BATTERY_SERVICE, batteryService, batteryTick } from './battery.ts'

const base = (n: number): string => `8f3a${n.toString(16).padStart(4, '0')}-4b1c-4e2a-9c1d-6863696b6974`
export const SENSOR_SERVICE = base(1)
export const SENSOR_COUNTER = base(2)
export const SENSOR_LABEL = base(3)
export const SENSOR_ECHO = base(4)

export interface SensorOptions extends DeviceOptions {
  /** Initial label (default 'hello'). */
  label?: string
}

export interface SensorDevice extends VirtualDevice {
  readonly counter: number
  /** The label as last written. */
  readonly label: string
}

export function counterValue(n: number): Uint8Array {
  const v = new Uint8Array(4)
  new DataView(v.buffer).setUint32(0, n >>> 0, true)
  return v
}

export async function startSensorDevice(o: SensorOptions = {}): Promise<SensorDevice> {
  let counter = 0
  let label = o.label ?? 'hello'
  let echo: ((v: Uint8Array) => void) | undefined
  const device = await startDevice(o, {
    name: 'hcikit Sensor',
    database: {
      services: [
        {
          uuid: SENSOR_SERVICE,
          characteristics: [
            {
              id: 'counter',
              uuid: SENSOR_COUNTER,
              properties: ['read', 'notify'],
              onRead: () => counterValue(counter),
            },
            {
              id: 'label',
              uuid: SENSOR_LABEL,
              properties: ['read', 'write', 'writeWithoutResponse'],
              maxLength: 64,
              onRead: () => new TextEncoder().encode(label),
              onWrite: (_conn, value) => {
                label = new TextDecoder().decode(value)
              },
            },
            {
              id: 'echo',
              uuid: SENSOR_ECHO,
              properties: ['write', 'indicate'],
              onWrite: (_conn, value) => echo?.(value.slice()),
            },
          ],
        },
        batteryService(90),
      ],
    },
    advertise: { services: [SENSOR_SERVICE, BATTERY_SERVICE] },
    async tick(server, n) {
      counter = n
      await server.notify('counter', counterValue(n))
      if (n % 60 === 0) await batteryTick(server, n / 60, 90)
    },
  })
  echo = (v) => void device.server.indicate('echo', v).catch(() => undefined)
  Object.defineProperty(device, 'counter', { get: () => counter, enumerable: true })
  return Object.defineProperty(device, 'label', { get: () => label, enumerable: true }) as SensorDevice
}
