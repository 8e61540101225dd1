/**
 * A virtual battery: the Battery Service (0x180F, Battery Service 1.1; GATT Specification
 * Supplement 3.27 Battery Level) with Battery Level (0x2A19, read + notify, uint8 percent),
 * draining by one percent per tick down to 0 (then back to 100).
 */
import type { GattServer, ServiceDeclaration } from '../index.ts'
import { startDevice, type DeviceOptions, type VirtualDevice } from './device.ts'

export const BATTERY_SERVICE = '180f'
export const BATTERY_LEVEL = '2a19'

/** The Battery Service declaration, starting at `level` percent (characteristic id 'battery'). */
export function batteryService(level: number): ServiceDeclaration {
  return {
    uuid: BATTERY_SERVICE,
    characteristics: [
      { id: 'battery', uuid: BATTERY_LEVEL, properties: ['read', 'notify'], value: new Uint8Array([level]) },
    ],
  }
}

/** The level after `n` ticks from 100. */
export function batteryLevelAt(start: number, n: number): number {
  return (((start - n) % 101) + 101) % 101
}

/** Set the level for tick `n` and notify the subscribed centrals. */
export async function batteryTick(server: GattServer, n: number, start = 100): Promise<number> {
  const level = batteryLevelAt(start, n)
  const v = new Uint8Array([level])
  server.db.setValue(server.db.characteristic('battery'), v)
  await server.notify('battery', v)
  return level
}

export interface BatteryOptions extends DeviceOptions {
  /** Starting level in percent (default 100). */
  level?: number
}

export interface BatteryDevice extends VirtualDevice {
  readonly level: number
}

export async function startBatteryDevice(o: BatteryOptions = {}): Promise<BatteryDevice> {
  const start = o.level ?? 100
  let level = start
  const device = await startDevice(o, {
    name: 'hcikit Battery',
    database: { services: [batteryService(start)] },
    advertise: { services: [BATTERY_SERVICE] },
    async tick(server, n) {
      level = await batteryTick(server, n, start)
    },
  })
  return Object.defineProperty(device, 'level', { get: () => level, enumerable: true }) as BatteryDevice
}
