/**
 * The advertising reports the bench feeds both stacks: LE Advertising Report (Core v5.4 Vol 4
 * Part E 7.7.65.2) and LE Extended Advertising Report (7.7.65.13) events, one report each (as the
 * Android controllers of the real traces send them), carrying the real AD payloads of
 * bench/fixtures/ad-payloads.json (extract.ts), each from one of `devices` random static
 * addresses. Legacy ADV_NONCONN_IND and extended non-connectable, non-scannable, complete
 * reports, so that no stack waits for a scan response. The packets are built once, as H4 bytes;
 * `h4` is what noble's socket emits (type byte first), `hci` the same bytes without it, as our
 * H4 splitter delivers them.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { AdFixture } from './extract.ts'

export interface FeedPacket {
  h4: Buffer
  hci: Uint8Array
}

export function loadFixture(): AdFixture {
  const path = fileURLToPath(new URL('../../../bench/fixtures/ad-payloads.json', import.meta.url))
  return JSON.parse(readFileSync(path, 'utf8')) as AdFixture
}

function address(i: number): number[] {
  // Random static (two top bits set), little-endian on the wire.
  return [i & 0xff, (i >> 8) & 0xff, (i >> 16) & 0xff, 0x5a, 0xa5, 0xc0 | (i % 0x3f)]
}

function legacy(i: number, data: Buffer, rssi: number): number[] {
  const params = [0x02, 1, 0x03, 0x01, ...address(i), data.length, ...data, rssi & 0xff]
  return [0x04, 0x3e, params.length, ...params]
}

function extended(i: number, data: Buffer, rssi: number): number[] {
  const params = [
    0x0d,
    1,
    0x00,
    0x00, // event type: non-connectable, non-scannable, undirected, complete
    0x01,
    ...address(i),
    0x01, // primary PHY LE 1M
    0x00, // no secondary PHY
    0xff, // no SID
    0x7f, // TX power not available
    rssi & 0xff,
    0x00,
    0x00, // no periodic advertising
    0x00,
    0,
    0,
    0,
    0,
    0,
    0,
    data.length,
    ...data,
  ]
  return [0x04, 0x3e, params.length, ...params]
}

/** `count` distinct packets, alternating legacy and extended, over `devices` addresses. */
export function buildFeed(count: number, devices: number): FeedPacket[] {
  const f = loadFixture()
  const leg = f.legacy
    .map((s) => ({ rssi: s.rssi, data: Buffer.from(s.data, 'hex') }))
    .filter((s) => s.data.length <= 31)
  const ext = f.extended
    .map((s) => ({ rssi: s.rssi, data: Buffer.from(s.data, 'hex') }))
    .filter((s) => s.data.length <= 229)
  const out: FeedPacket[] = []
  for (let i = 0; i < count; i++) {
    const dev = i % devices
    const bytes =
      i % 2 === 0
        ? legacy(dev, leg[(i >> 1) % leg.length]!.data, leg[(i >> 1) % leg.length]!.rssi)
        : extended(dev, ext[(i >> 1) % ext.length]!.data, ext[(i >> 1) % ext.length]!.rssi)
    const h4 = Buffer.from(bytes)
    // What an H4 transport hands the host: a plain Uint8Array view (hci/h4.ts H4Splitter).
    out.push({ h4, hci: new Uint8Array(h4.buffer, h4.byteOffset + 1, h4.length - 1) })
  }
  return out
}

/** Reports per macrotask: what one read from a transport delivers at a time. */
export const CHUNK = 250

/**
 * Feed `total` reports by cycling over `packets`, CHUNK per macrotask (setImmediate), through
 * `deliver`; resolves when all are fed.
 */
export async function pump(packets: FeedPacket[], total: number, deliver: (p: FeedPacket) => void): Promise<void> {
  let i = 0
  while (i < total) {
    const end = Math.min(total, i + CHUNK)
    for (; i < end; i++) deliver(packets[i % packets.length]!)
    await new Promise<void>((r) => setImmediate(r))
  }
}

export interface AdvResult {
  stack: 'hcikit' | 'noble'
  reports: number
  received: number
  dropped: number
  cpuMs: number
  wallMs: number
}
