/**
 * What the bench's GATT peripheral (peripheral.ts) serves and its clients (hcikit-central.ts,
 * noble-central.ts) use: names, UUIDs and the control message (see peripheral.ts).
 */
export const BENCH_NAME = 'hcikit-bench'
export const SERVICE = 'b0b0b000-8b5a-4e7b-9a3c-0123456789ab'
export const SINK = 'b0b0b001-8b5a-4e7b-9a3c-0123456789ab'
export const STATUS = 'b0b0b002-8b5a-4e7b-9a3c-0123456789ab'
export const SOURCE = 'b0b0b003-8b5a-4e7b-9a3c-0123456789ab'
export const CONTROL = 'b0b0b004-8b5a-4e7b-9a3c-0123456789ab'
/** The value length of every write and notification: ATT_MTU 247 - 3. */
export const VALUE_LENGTH = 244

/** What a client prints (one JSON line) at the end of a run. */
export interface ClientResult {
  stack: 'hcikit' | 'noble'
  phases: Array<{
    phase: 'writes' | 'notifications'
    count: number
    cpuMs: number
    wallMs: number
    lost: number
    disordered: number
  }>
  maxRssMb: number
}

/** `01 N` (u32 little-endian): send N notifications. */
export function controlMessage(n: number): Uint8Array {
  return Uint8Array.of(1, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff)
}

export function u32(v: Uint8Array, at = 0): number {
  return (v[at]! | (v[at + 1]! << 8) | (v[at + 2]! << 16) | (v[at + 3]! << 24)) >>> 0
}

export function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since)
  return (d.user + d.system) / 1000
}
