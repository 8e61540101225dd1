/**
 * The `replay:FILE` transport: a capture's controller-to-host packets (HCI events, ACL, SCO,
 * ISO of Core v5.4 Vol 4 Part E 5.4, as recorded in btsnoop / pcap / pcapng by hci/snoop.ts)
 * played back to a host as if a controller sent them.
 *
 * What happens to the host's packets is a choice (`mode`):
 * - 'controller' (default): the replay is a controller for our host (replay-controller.ts). A
 *   capture from any host works: our bring-up is answered from the capture's facts (the recorded
 *   controller's version, address, features, buffers; replay-facts.ts), every later command gets
 *   an answer, and the capture's own answers to the recorded host are withheld. Playback starts
 *   when the host scans, connects or advertises; advertising reports reach it only while it
 *   scans. After the last record (and `endGraceMs`) the transport closes cleanly, so a session
 *   on it ends.
 * - 'ignore': they are accepted and counted, nothing else; the controller's packets are all
 *   delivered in capture order from the start (answers to commands our host did not send are
 *   counted by HciHost as unmatched responses, without failing).
 * - 'lockstep': the capture is the script. Controller packets are delivered up to the next
 *   recorded host packet; then the replay waits until the host sends one, which must equal the
 *   recorded one (type and bytes), and goes on. A different packet closes the transport with a
 *   TransportError naming the record and both packets' bytes.
 * Pace (`pace`): 'fast' (default) delivers one packet per event-loop turn, so the host reacts
 * between them; 'captured' waits the recorded time between packets (gaps capped at `maxGapMs`).
 * Records that are not packets (monitor notes, hcikit notes), have no direction, or could not be
 * read are skipped and counted. `finished` resolves with the counts once every record was played.
 */
import { createReadStream } from 'node:fs'
import { CaptureError, TransportError } from '../../hci/errors.ts'
import { readCapture, type CaptureRecord } from '../../hci/snoop.ts'
import type { HciPacket, Transport } from '../../hci/transport.ts'
import { ReplayController, type ReplayControllerStats } from './replay-controller.ts'
import { readControllerFacts, type ControllerFacts } from './replay-facts.ts'

export interface ReplayOptions {
  mode?: 'controller' | 'ignore' | 'lockstep'
  /** 'fast' (default): one packet per event-loop turn; 'captured': the recorded time between packets. */
  pace?: 'fast' | 'captured'
  /** 'captured' pace: the longest wait between two packets (ms, default no limit). */
  maxGapMs?: number
  /** After the last record: 'close' the transport (default in 'controller' mode) or 'stay' open. */
  atEnd?: 'close' | 'stay'
  /**
   * 'close': real time (ms) given to the host after the last record before the transport closes,
   * so that what it holds for a while (an advertisement waiting for its scan response) comes out.
   * Default 1000.
   */
  endGraceMs?: number
  /** 'controller' mode: the facts to answer from (openReplay reads them from the file). */
  facts?: ControllerFacts
  /** How 'captured' pace waits (default a real timer); tests pass their own. */
  wait?: (ms: number) => Promise<void>
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
  /** 'controller' mode: answers to our host and what was held back (replay-controller.ts). */
  controller?: ReplayControllerStats
}

/** Host packets a lockstep replay holds while it catches up with the host. */
const EARLY_LIMIT = 4096
/** H4 packet indicators (Vol 4 Part A 2): command, ACL, SCO, event, ISO. */
const H4_TYPES = new Set([1, 2, 3, 4, 5])

const hexOf = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ')
const turn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve))

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

const NO_FACTS: ControllerFacts = { returns: new Map(), statusAnswered: new Set() }

export class ReplayTransport implements Transport {
  private readonly packetCbs: Array<(p: HciPacket) => void> = []
  private readonly closeCbs: Array<(err?: Error) => void> = []
  private closed = false
  private notified = false
  /** Lockstep: the recorded host packet awaited, and who waits for it. */
  private expected: { record: CaptureRecord; arrived: () => void } | undefined
  private readonly mode: 'controller' | 'ignore' | 'lockstep'
  private readonly opts: ReplayOptions
  /** Lockstep: host packets sent before the replay reached their record (bounded). */
  private readonly early: HciPacket[] = []
  private ended = false
  private readonly controller: ReplayController | undefined
  private started: Promise<void> | undefined
  private start: (() => void) | undefined
  private paceUs: bigint | undefined
  readonly stats: ReplayStats = { delivered: 0, ignored: 0, matched: 0, skipped: 0 }
  /** Resolves once every record was played (or the transport closed first). */
  readonly finished: Promise<ReplayStats>

  constructor(
    readonly name: string,
    records: AsyncIterable<CaptureRecord>,
    opts: ReplayOptions = {},
  ) {
    this.opts = opts
    this.mode = opts.mode ?? 'controller'
    if (this.mode === 'controller') {
      this.started = new Promise<void>((resolve) => (this.start = resolve))
      this.controller = new ReplayController(
        opts.facts ?? NO_FACTS,
        (p) => this.deliver(p),
        () => this.start?.(),
      )
      this.stats.controller = this.controller.stats
    }
    this.finished = this.play(records)
  }

  /** 'controller' mode: start the playback now, without waiting for the host to become active. */
  startPlayback(): void {
    this.start?.()
  }

  private async play(records: AsyncIterable<CaptureRecord>): Promise<ReplayStats> {
    // Let the host register its callbacks before the first packet.
    await turn()
    try {
      if (this.started) await Promise.race([this.started, this.whenClosed()])
      await turn() // the answer that made the host active goes first
      for await (const r of records) {
        if (this.closed) break
        if (!(await this.record(r))) break
      }
    } catch (e) {
      this.finish(e instanceof Error ? e : new Error(String(e)))
    }
    this.ended = true
    if (this.early.length > 0) this.stray(this.early[0]!)
    if (!this.closed && (this.opts.atEnd ?? (this.mode === 'controller' ? 'close' : 'stay')) === 'close') {
      await turn() // answers still queued reach the host
      const grace = this.opts.endGraceMs ?? 1000
      if (grace > 0) await this.sleep(grace)
      this.finish(undefined)
    }
    return this.stats
  }

  /** Play one record; false ends the playback. */
  private async record(r: CaptureRecord): Promise<boolean> {
    if (
      r.packetType === undefined ||
      r.direction === undefined ||
      r.error !== undefined ||
      !H4_TYPES.has(r.packetType)
    ) {
      this.stats.skipped++
      return true
    }
    if (r.direction === 'tx') {
      if (this.mode !== 'lockstep') return true
      const early = this.early.shift()
      if (early) return this.check(early, r)
      await new Promise<void>((arrived) => (this.expected = { record: r, arrived }))
      return true
    }
    if (this.controller && this.controller.admit(r.packetType, r.data) !== 'deliver') return true
    await this.pace(r.timestampUs)
    if (this.closed) return false
    this.deliver({ type: r.packetType, data: r.data.slice() })
    this.stats.delivered++
    await turn()
    return true
  }

  private async pace(ts: bigint): Promise<void> {
    if (this.opts.pace !== 'captured') return
    const last = this.paceUs
    this.paceUs = ts
    if (last === undefined || ts <= last) return
    const ms = Math.min(Number(ts - last) / 1000, this.opts.maxGapMs ?? Number.POSITIVE_INFINITY)
    if (ms < 1) return
    if (this.opts.wait) await this.opts.wait(ms)
    else await this.sleep(ms)
  }

  /** Wait `ms` of real time, or less if the transport closes first. */
  private async sleep(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    await Promise.race([new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))), this.whenClosed()])
    clearTimeout(timer)
  }

  private whenClosed(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.closed) resolve()
      else this.closeCbs.push(() => resolve())
    })
  }

  private deliver(packet: HciPacket): void {
    if (this.closed) return
    for (const cb of this.packetCbs) cb(packet)
  }

  send(packet: HciPacket): void {
    if (this.closed) throw new TransportError(`${this.name}: send on a closed transport`)
    if (this.controller) return this.controller.hostPacket({ type: packet.type, data: packet.data.slice() })
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
            hint: "lockstep replay needs the same host as the one recorded; use mode 'controller' to replay a capture to any host",
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

/** Open the capture's records, turning an unreadable start into a TransportError. */
async function records(path: string): Promise<AsyncGenerator<CaptureRecord>> {
  const it = readCapture(fileChunks(path))
  let first: IteratorResult<CaptureRecord>
  try {
    first = await it.next()
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
    yield* it
  }
  return all()
}

/**
 * `replay:FILE`: the capture is checked to be readable (its format) before this resolves; in
 * 'controller' mode it is read once first for the controller's facts.
 */
export async function openReplay(path: string, opts: ReplayOptions = {}): Promise<ReplayTransport> {
  const source = await records(path)
  if ((opts.mode ?? 'controller') !== 'controller' || opts.facts)
    return new ReplayTransport(`replay:${path}`, source, opts)
  const facts = await readControllerFacts(source)
  return new ReplayTransport(`replay:${path}`, await records(path), { ...opts, facts })
}
