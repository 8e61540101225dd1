/**
 * Ready-made virtual peripherals on the public API: put them on a virtual link beside a central
 * (`const link = createVirtualLink(); await startHeartRateDevice({ link })`) for tests, demos
 * and examples, or on any transport.
 */
export { startDevice, type DeviceOptions, type DeviceSpec, type VirtualDevice } from './device.ts'
export {
  startHeartRateDevice,
  heartRateAt,
  heartRateMeasurement,
  HEART_RATE_SERVICE,
  HEART_RATE_MEASUREMENT,
  BODY_SENSOR_LOCATION,
  type HeartRateDevice,
  type HeartRateOptions,
} from './heart-rate.ts'
export {
  startBatteryDevice,
  batteryService,
  batteryLevelAt,
  BATTERY_SERVICE,
  BATTERY_LEVEL,
  type BatteryDevice,
  type BatteryOptions,
} from './battery.ts'
export {
  startSensorDevice,
  counterValue,
  SENSOR_SERVICE,
  SENSOR_COUNTER,
  SENSOR_LABEL,
  SENSOR_ECHO,
  type SensorDevice,
  type SensorOptions,
} from './sensor.ts'
