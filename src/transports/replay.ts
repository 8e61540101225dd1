/**
 * The `replay:FILE` transport: a capture's controller-to-host packets (HCI events, ACL, SCO,
 * ISO of Core v5.4 Vol 4 Part E 5.4, as recorded in btsnoop / pcap / pcapng by hci/snoop.ts)
 * played back to a host as if a controller sent them.
 *
 * What happens to the host's packets is a choice (`mode`):
 * - 'ignore' (default): they are accepted and counted, nothing else. The controller's packets are
 *   delivered in capture order, one per event-loop turn so the host reacts between them. A host
 *   other than the one recorded (HciHost's own bring-up) will see answers to commands it did
 *   not send; HciHost counts those as unmatched responses, and ACL on handles it never saw
 *   connected as unknown, without failing.
 * - 'lockstep': the capture is the script. Controller packets are delivered up to the next
 *   recorded host packet; then the replay waits until the host sends one, which must equal the
 *   recorded one (type and bytes), and goes on. A different packet closes the transport with a
 *   TransportError naming the record and both packets' bytes.
 * Timing is not reproduced (no sleeps): order is what matters to a host.
 * Records that are not packets (monitor notes), have no direction, or could not be read are
 * skipped and counted. After the last record the transport stays open until closed;
 * `finished` resolves with the counts.
 */
import { createReadStream } from 'node:fs'
import { CaptureError, TransportError } from '../../hci/errors.ts'
import { readCapture, type CaptureRecord } from '../../hci/snoop.ts'
import type { HciPacket, Transport } from '../../hci/transport.ts'

export interface ReplayOptions {
  mode?: 'ignore' | 'lockstep'
}

export interface ReplayStats {
  /** Controller-to-host packets delivered. */
  delivered: number
  /** Host packets accepted without checking ('ignore'). */
  ignored: number
  /** Host packets that matched the capture ('lockstep'). */
  matched: number
  /** Records skipped (not a packet, no direction, unreadable). */
  skipped: number
}

/** Host packets a lockstep replay holds while it catches up with the host. */
const EARLY_LIMIT = 4096

const hexOf = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ')

async function* fileChunks(path: string): AsyncGenerator<Uint8Array> {
  const stream = createReadStream(path)
  try {
    for await (const chunk of stream) yield chunk as Uint8Array
  } catch (e) {
    throw new CaptureError(`cannot read ${path}: ${(e as Error).message}`, { cause: e })
  } finally {
    stream.destroy()
  }
}

export class ReplayTransport implements Transport {
  private readonly packetCbs: Array<(p: HciPacket) => void> = []
  private readonly closeCbs: Array<(err?: Error) => void> = []
  private closed = false
  private notified = false
  /** Lockstep: the recorded host packet awaited, and who waits for it. */
  private expected: { record: CaptureRecord; arrived: () => void } | undefined
  private readonly mode: 'ignore' | 'lockstep'
  /** Lockstep: host packets sent before the replay reached their record (bounded). */
  private readonly early: HciPacket[] = []
  private ended = false
  readonly stats: ReplayStats = { delivered: 0, ignored: 0, matched: 0, skipped: 0 }
  /** Resolves once every record was played (or the transport closed first). */
  readonly finished: Promise<ReplayStats>

  constructor(
    readonly name: string,
    records: AsyncIterable<CaptureRecord>,
    opts: ReplayOptions = {},
  ) {
    this.mode = opts.mode ?? 'ignore'
    this.finished = this.play(records)
  }

  private async play(records: AsyncIterable<CaptureRecord>): Promise<ReplayStats> {
    // Let the host register its callbacks before the first packet.
    await new Promise<void>((resolve) => setImmediate(resolve))
    try {
      for await (const r of records) {
        if (this.closed) break
        if (r.packetType === undefined || r.direction === undefined || r.error !== undefined) {
          this.stats.skipped++
          continue
        }
        if (r.direction === 'tx') {
          if (this.mode === 'ignore') continue
          const early = this.early.shift()
          if (early) {
            if (!this.check(early, r)) break
            continue
          }
          await new Promise<void>((arrived) => (this.expected = { record: r, arrived }))
          continue
        }
        const packet = { type: r.packetType, data: r.data.slice() }
        for (const cb of this.packetCbs) cb(packet)
        this.stats.delivered++
        await new Promise<void>((resolve) => setImmediate(resolve))
      }
    } catch (e) {
      this.finish(e instanceof Error ? e : new Error(String(e)))
    }
    this.ended = true
    if (this.early.length > 0) this.stray(this.early[0]!)
    return this.stats
  }

  send(packet: HciPacket): void {
    if (this.closed) throw new TransportError(`${this.name}: send on a closed transport`)
    if (this.mode === 'ignore') {
      this.stats.ignored++
      return
    }
    const exp = this.expected
    if (!exp) {
      if (this.ended) return this.stray(packet)
      if (this.early.length >= EARLY_LIMIT) {
        this.finish(new TransportError(`${this.name}: the host sent ${EARLY_LIMIT} packets ahead of the capture`))
        return
      }
      this.early.push({ type: packet.type, data: packet.data.slice() })
      return
    }
    this.expected = undefined
    this.check(packet, exp.record)
    exp.arrived() // play() goes on, or ends if the check closed the transport
  }

  private stray(packet: HciPacket): void {
    this.finish(
      new TransportError(
        `${this.name}: the host sent ${packet.type}: ${hexOf(packet.data)} after the end of the capture`,
      ),
    )
  }

  /** Lockstep: does the host's packet equal the recorded one? A mismatch closes the transport. */
  private check(packet: HciPacket, r: CaptureRecord): boolean {
    const same =
      r.packetType === packet.type &&
      r.data.length === packet.data.length &&
      r.data.every((b, i) => b === packet.data[i])
    if (!same) {
      this.finish(
        new TransportError(
          `${this.name}: record ${r.index}: the host sent ${packet.type}: ${hexOf(packet.data)}, the ` +
            `capture has ${r.packetType}: ${hexOf(r.data)}`,
          {
            hint: "lockstep replay needs the same host as the one recorded; use mode 'ignore' to just play the controller's side",
          },
        ),
      )
      return false
    }
    this.stats.matched++
    return true
  }

  onPacket(cb: (packet: HciPacket) => void): void {
    this.packetCbs.push(cb)
  }

  onClose(cb: (err?: Error) => void): void {
    this.closeCbs.push(cb)
  }

  close(): Promise<void> {
    this.finish(undefined)
    return Promise.resolve()
  }

  private finish(err: Error | undefined): void {
    this.closed = true
    this.early.length = 0
    const exp = this.expected
    this.expected = undefined
    exp?.arrived() // let play() end (it sees `closed`)
    if (this.notified) return
    this.notified = true
    for (const cb of this.closeCbs) cb(err)
  }
}

/** `replay:FILE`: the capture is checked to be readable (its format) before this resolves. */
export async function openReplay(path: string, opts: ReplayOptions = {}): Promise<ReplayTransport> {
  const records = readCapture(fileChunks(path))
  // Read the first record now, so a missing or unreadable file fails the open.
  let first: IteratorResult<CaptureRecord>
  try {
    first = await records.next()
  } catch (e) {
    const err = e as Error
    throw new TransportError(`replay:${path}: ${err.message}`, {
      cause: e,
      hint:
        err instanceof CaptureError && err.hint
          ? err.hint
          : 'replay reads btsnoop, pcap and pcapng captures of HCI traffic',
    })
  }
  async function* all(): AsyncGenerator<CaptureRecord> {
    if (!first.done) yield first.value
    yield* records
  }
  return new ReplayTransport(`replay:${path}`, all(), opts)
}
