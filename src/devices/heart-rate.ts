/**
 * A virtual heart-rate sensor: the Heart Rate Service (0x180D, Heart Rate Service 1.0 / GATT
 * Specification Supplement 3.113 Heart Rate Measurement) with Heart Rate Measurement (0x2A37,
 * notify: Flags 0x06 = sensor contact supported and detected, then the value as uint8) and Body
 * Sensor Location (0x2A38, read: 0x01 chest), plus Battery (0x180F). Appearance 0x0341 (heart
 * rate belt). The rate wanders deterministically around `bpm`.
 */
import { startDevice, type DeviceOptions, type VirtualDevice } from './device.ts'
import { batteryService, batteryTick } from './battery.ts'

export const HEART_RATE_SERVICE = '180d'
export const HEART_RATE_MEASUREMENT = '2a37'
export const BODY_SENSOR_LOCATION = '2a38'

export interface HeartRateOptions extends DeviceOptions {
  /** Resting rate the measurements wander around (default 72). */
  bpm?: number
}

export interface HeartRateDevice extends VirtualDevice {
  /** The last rate notified. */
  readonly bpm: number
}

/** The rate at tick `n`: `base` plus a slow deterministic wave of +-6. */
export function heartRateAt(base: number, n: number): number {
  return Math.max(30, Math.min(220, Math.round(base + 6 * Math.sin(n / 4))))
}

/** Heart Rate Measurement value: Flags (uint8 format, sensor contact detected), rate. */
export function heartRateMeasurement(bpm: number): Uint8Array {
  return new Uint8Array([0x06, bpm & 0xff])
}

export async function startHeartRateDevice(o: HeartRateOptions = {}): Promise<HeartRateDevice> {
  const base = o.bpm ?? 72
  let bpm = heartRateAt(base, 0)
  const device = await startDevice(o, {
    name: 'hcikit HRM',
    database: {
      gap: { appearance: 0x0341 },
      services: [
        {
          uuid: HEART_RATE_SERVICE,
          characteristics: [
            { id: 'hr', uuid: HEART_RATE_MEASUREMENT, properties: ['notify'] },
            { id: 'location', uuid: BODY_SENSOR_LOCATION, properties: ['read'], value: new Uint8Array([0x01]) },
          ],
        },
        batteryService(100),
      ],
    },
    advertise: { services: [HEART_RATE_SERVICE], appearance: 0x0341 },
    async tick(server, n) {
      bpm = heartRateAt(base, n)
      await server.notify('hr', heartRateMeasurement(bpm))
      if (n % 60 === 0) await batteryTick(server, n / 60)
    },
  })
  return Object.defineProperty(device, 'bpm', { get: () => bpm, enumerable: true }) as HeartRateDevice
}
