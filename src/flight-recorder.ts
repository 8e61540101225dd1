/**
 * The flight recorder: an always-on ring of the last HCI packets (Core v5.4 Vol 4 Part E 5.4,
 * with hcikit's note records: injected faults, the start and end of each public API call),
 * bounded by count and bytes, written as a btsnoop capture (datalink 1002, which Wireshark
 * opens) when a public API call fails (call-trace.ts), or on demand (`flightRecorder().save()`).
 *
 * It is a subscriber of the packet diagnostics channel (hci/host.ts PACKET_CHANNEL), like
 * HCIKIT_LOG and HCIKIT_SNOOP (src/log.ts): the host knows nothing of it. It runs while an
 * adapter is open (adapters acquire and release it), unless HCIKIT_FLIGHT_RECORDER=0.
 * Captures go to HCIKIT_FLIGHT_DIR (default <tmpdir>/hcikit-flight), at most 20 per process
 * written on failures, so a loop of failing calls cannot fill a disk.
 */
import diagnostics_channel from 'node:diagnostics_channel'
import { mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PACKET_CHANNEL, type PacketMessage } from '../hci/host.ts'
import { BtsnoopWriter } from '../hci/snoop.ts'

export interface FlightRecorderOptions {
  /** Packets kept (default 4000). */
  maxPackets?: number
  /** Octets of packet data kept (default 4 MiB). */
  maxBytes?: number
  /** Where captures go (default HCIKIT_FLIGHT_DIR, else <tmpdir>/hcikit-flight). */
  dir?: string
  /** Captures written on failures, at most (default 20). */
  maxDumps?: number
}

/** One packet the recorder holds (a note record has type 0xff, notes.ts). */
export interface FlightRecorderEntry {
  timestampUs: bigint
  direction: 'tx' | 'rx'
  type: number
  data: Uint8Array
}

export class FlightRecorder {
  private readonly ring: Array<FlightRecorderEntry | undefined>
  private head = 0
  private size = 0
  private bytes = 0
  private readonly maxBytes: number
  private dumps = 0
  private files = 0
  private readonly maxDumps: number
  readonly dir: string
  private readonly onPacket = (m: unknown): void => this.record(m as PacketMessage)
  private subscribed = false

  constructor(o: FlightRecorderOptions = {}) {
    this.ring = new Array<FlightRecorderEntry | undefined>(Math.max(1, o.maxPackets ?? 4000))
    this.maxBytes = o.maxBytes ?? 4 * 1024 * 1024
    this.maxDumps = o.maxDumps ?? 20
    this.dir = o.dir ?? process.env['HCIKIT_FLIGHT_DIR'] ?? join(tmpdir(), 'hcikit-flight')
  }

  /** Packets held now. */
  get length(): number {
    return this.size
  }

  start(): void {
    if (this.subscribed) return
    this.subscribed = true
    diagnostics_channel.subscribe(PACKET_CHANNEL, this.onPacket)
  }

  stop(): void {
    if (!this.subscribed) return
    this.subscribed = false
    diagnostics_channel.unsubscribe(PACKET_CHANNEL, this.onPacket)
  }

  private record(m: PacketMessage): void {
    const e: FlightRecorderEntry = {
      timestampUs: m.timestampUs ?? BigInt(Date.now()) * 1000n,
      direction: m.direction,
      type: m.type,
      data: m.data.slice(),
    }
    if (e.data.length > this.maxBytes) return
    if (this.size === this.ring.length) this.evict()
    while (this.bytes + e.data.length > this.maxBytes && this.size > 0) this.evict()
    this.ring[(this.head + this.size) % this.ring.length] = e
    this.size++
    this.bytes += e.data.length
  }

  private evict(): void {
    const e = this.ring[this.head]!
    this.ring[this.head] = undefined
    this.head = (this.head + 1) % this.ring.length
    this.size--
    this.bytes -= e.data.length
  }

  /** The packets held, oldest first. */
  entries(): FlightRecorderEntry[] {
    const out: FlightRecorderEntry[] = []
    for (let i = 0; i < this.size; i++) out.push(this.ring[(this.head + i) % this.ring.length]!)
    return out
  }

  /** Write what is held as btsnoop to `path` (default a new file in `dir`); returns the path. */
  save(path?: string): string {
    const chunks: Uint8Array[] = []
    const w = new BtsnoopWriter({ write: (c: Uint8Array) => void chunks.push(c) })
    for (const e of this.entries())
      void w.write({ timestampUs: e.timestampUs, direction: e.direction, packetType: e.type, data: e.data })
    const file = path ?? this.nextPath()
    writeFileSync(file, Buffer.concat(chunks))
    return file
  }

  /** save() for a failed call: undefined once `maxDumps` were written, or when writing fails. */
  dump(): string | undefined {
    if (this.dumps >= this.maxDumps) return undefined
    this.dumps++
    try {
      mkdirSync(this.dir, { recursive: true })
      return this.save()
    } catch {
      return undefined
    }
  }

  private nextPath(): string {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-')
    return join(this.dir, `${stamp}-${process.pid}-${++this.files}.btsnoop`)
  }
}

// One recorder for the process, running while adapters hold it.
let shared: FlightRecorder | undefined
let holders = 0

/** The process's flight recorder (created on first use; records while an adapter is open). */
export function flightRecorder(): FlightRecorder {
  shared ??= new FlightRecorder()
  return shared
}

/** Hold the recorder running (an adapter opening); false when HCIKIT_FLIGHT_RECORDER=0. */
export function acquireFlightRecorder(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env['HCIKIT_FLIGHT_RECORDER']
  if (v === '0' || v === 'false') return false
  if (holders++ === 0) flightRecorder().start()
  return true
}

export function releaseFlightRecorder(): void {
  if (holders === 0) return
  if (--holders === 0) shared?.stop()
}
