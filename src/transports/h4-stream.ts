/**
 * H4 over a byte stream (Core v5.4 Vol 4 Part A 2, "UART Transport Layer": a packet indicator
 * byte in front of each HCI packet of Vol 4 Part E 5.4), as one Transport (hci/transport.ts) over
 * any Node Duplex: a TCP or Unix socket (tcp.ts, unix.ts) or a serial port (uart.ts).
 *
 * Receiving: an `H4Splitter` accepting only what a controller sends (ACL 0x02, SCO 0x03, event
 * 0x04, ISO 0x05). What happens when the stream loses synchronisation depends on `resync`:
 * - 'close' (sockets: a reliable stream cannot lose bytes, so garbage means a wrong peer): the
 *   transport closes with the FramingError as its cause.
 * - 'reset' (UART: bytes can be lost or invented by line noise, and H4 has no frame marker):
 *   everything received is dropped and whatever the host sends is discarded (counted) while the
 *   transport sends HCI_Reset (Vol 4 Part E 7.3.2) itself and hunts the raw bytes for that
 *   command's Command Complete (7.7.14: `04 0E 04 xx 03 0C xx`), an unmistakable packet boundary.
 *   From the byte after it the stream is in sync again, and the host is told that the
 *   controller lost its state with a Hardware Error event (7.7.16, Hardware_Code
 *   `RESYNC_HARDWARE_CODE`), on which HciHost fails what was pending and drops its links; the
 *   owner runs `init()` again. The same Reset hunt, without the event, is how a UART is
 *   synchronised at open (stale bytes from before are skipped): `synchronise()`.
 *   An event with event code 0x00 (never assigned) is also taken as a loss of sync.
 *
 * Sending: each packet is copied (so the caller may reuse its buffer), type byte first, into the
 * batch of the current tick, in call order; the batch is written to the stream in one write when
 * the tick ends (docs/PERFORMANCE.md: one system call per packet was the largest cost of a
 * stream of writes). When the stream's buffer is full, `send` returns a promise that resolves on
 * 'drain'.
 */
import type { Duplex } from 'node:stream'
import { FramingError, TransportError } from '../../hci/errors.ts'
import { H4Splitter, H4Type } from '../../hci/h4.ts'
import { H4BatchWriter } from '../../hci/h4-writer.ts'
import type { HciPacket, Transport } from '../../hci/transport.ts'

/** What a controller sends on H4. */
export const CONTROLLER_TYPES = [H4Type.Acl, H4Type.Sco, H4Type.Event, H4Type.Iso] as const

/** Hardware_Code of the Hardware Error event delivered after a UART resynchronisation. */
export const RESYNC_HARDWARE_CODE = 0x00

/** HCI_Reset as an H4 frame: 01, opcode 0x0C03 little-endian, no parameters. */
const RESET_FRAME = Uint8Array.of(0x01, 0x03, 0x0c, 0x00)

/** Command Complete for HCI_Reset, as H4 bytes; -1 matches any byte (credits, status). */
const RESET_COMPLETE = [0x04, 0x0e, 0x04, -1, 0x03, 0x0c, -1]

/**
 * Finds the end of a Reset's Command Complete in a byte stream cut anywhere. `push` returns the
 * index in `chunk` just after the match, or -1 (then keep pushing).
 */
export class ResetCompleteHunter {
  private readonly window: number[] = []

  push(chunk: Uint8Array): number {
    for (let i = 0; i < chunk.length; i++) {
      this.window.push(chunk[i]!)
      if (this.window.length > RESET_COMPLETE.length) this.window.shift()
      if (
        this.window.length === RESET_COMPLETE.length &&
        RESET_COMPLETE.every((b, j) => b < 0 || b === this.window[j])
      ) {
        this.window.length = 0
        return i + 1
      }
    }
    return -1
  }
}

export interface H4StreamOptions {
  /** For messages: 'tcp:127.0.0.1:4567', 'uart:/dev/ttyUSB0'. */
  name: string
  /** Reaction to a loss of synchronisation: see the file overview. */
  resync: 'close' | 'reset'
  /** Releases the medium (default `stream.destroy()`); a serial port needs its own close. */
  closeStream?: (stream: Duplex) => Promise<void>
  /** Observer of every loss of synchronisation (the FramingError) and recovery. */
  onSyncEvent?: (e: { kind: 'lost'; error: FramingError } | { kind: 'recovered'; droppedBytes: number }) => void
}

export class H4StreamTransport implements Transport {
  private readonly packetCbs: Array<(p: HciPacket) => void> = []
  private readonly closeCbs: Array<(err?: Error) => void> = []
  private readonly splitter: H4Splitter
  private closing = false
  private notified = false
  private readonly closedPromise: Promise<void>
  private resolveClosed!: () => void
  /** Set while hunting for a Reset's Command Complete. */
  private hunt: { hunter: ResetCompleteHunter; dropped: number; announce: boolean; done: () => void } | undefined

  readonly stats = { packetsIn: 0, packetsOut: 0, framingErrors: 0, resyncs: 0, droppedBytes: 0, discardedSends: 0 }

  /** What is sent in one tick leaves in one write when it ends (hci/h4-writer.ts). */
  private readonly out: H4BatchWriter
  private backPressure: Promise<void> | undefined

  constructor(
    private readonly stream: Duplex,
    private readonly options: H4StreamOptions,
  ) {
    this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve))
    this.out = new H4BatchWriter({
      write: (bytes) => (stream.destroyed ? true : stream.write(bytes)),
      schedule: process.nextTick,
      onFull: () => this.waitForDrain(),
    })
    this.splitter = new H4Splitter({
      types: CONTROLLER_TYPES,
      onUnknownType: 'halt',
      onPacket: (p) => this.received(p),
      onError: (e) => this.lostSync(e),
    })
    stream.on('data', (chunk: Uint8Array) => this.data(chunk))
    stream.on('error', (e: Error) => this.finish(new TransportError(`${options.name}: ${e.message}`, { cause: e })))
    // 'close' may carry an error, or (net.Socket) a hadError boolean: only an Error is a cause.
    stream.on('close', (arg?: unknown) => {
      if (this.closing) return this.finish(undefined)
      const cause = arg instanceof Error ? arg : undefined
      const why = cause?.message ?? 'the other end closed the stream'
      this.finish(new TransportError(`${options.name}: ${why}`, { cause }))
    })
    stream.on('end', () => {
      if (!this.closing) this.finish(new TransportError(`${options.name}: the other end closed the stream`))
    })
  }

  get name(): string {
    return this.options.name
  }

  /** True while the transport hunts for a Reset's answer (after a loss of sync, or at open). */
  get synchronising(): boolean {
    return this.hunt !== undefined
  }

  send(packet: HciPacket): void | Promise<void> {
    if (this.closing) throw new TransportError(`${this.options.name}: send on a closed transport`)
    if (this.hunt) {
      // The controller is being reset: what the host sends now would be lost anyway, and the
      // Hardware Error that ends the hunt fails it in the host.
      this.stats.discardedSends++
      return
    }
    this.stats.packetsOut++
    this.out.packet(packet.type, packet.data)
    return this.backPressure
  }

  /** While the stream's buffer is full, every send returns this promise (settles on 'drain'). */
  private waitForDrain(): void {
    if (this.backPressure) return
    this.backPressure = new Promise<void>((resolve, reject) => {
      const done = (): void => {
        this.stream.off('drain', done)
        this.stream.off('close', done)
        this.backPressure = undefined
        if (this.closing) reject(new TransportError(`${this.options.name}: closed before the packet was written`))
        else resolve()
      }
      this.stream.on('drain', done)
      this.stream.on('close', done)
    })
    this.backPressure.catch(() => undefined)
  }

  /** Bytes outside the packet stream (the Reset of a resynchronisation), after what is queued. */
  private write(bytes: Uint8Array): void | Promise<void> {
    this.out.bytes(bytes)
    return this.backPressure
  }

  onPacket(cb: (packet: HciPacket) => void): void {
    this.packetCbs.push(cb)
  }

  onClose(cb: (err?: Error) => void): void {
    this.closeCbs.push(cb)
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closing = true
      if (this.options.closeStream) {
        this.options.closeStream(this.stream).then(
          () => this.finish(undefined),
          () => this.finish(undefined),
        )
      } else if (this.stream.destroyed) this.finish(undefined)
      else this.stream.destroy()
    }
    return this.closedPromise
  }

  /**
   * Send HCI_Reset and drop every byte up to and including its Command Complete; resolves then.
   * With `announce`, the host is then given a Hardware Error event (its state is gone).
   */
  synchronise(announce = false): Promise<void> {
    if (this.closing) return Promise.reject(new TransportError(`${this.options.name}: closed`))
    if (this.hunt)
      return new Promise((resolve) => {
        const prev = this.hunt!.done
        this.hunt!.done = () => {
          prev()
          resolve()
        }
      })
    return new Promise<void>((resolve) => {
      this.hunt = { hunter: new ResetCompleteHunter(), dropped: 0, announce, done: resolve }
      void Promise.resolve(this.write(RESET_FRAME)).catch(() => undefined)
    })
  }

  private data(chunk: Uint8Array): void {
    if (this.notified) return
    const hunt = this.hunt
    if (!hunt) {
      this.splitter.push(chunk)
      return
    }
    const at = hunt.hunter.push(chunk)
    if (at < 0) {
      hunt.dropped += chunk.length
      this.stats.droppedBytes += chunk.length
      return
    }
    hunt.dropped += at
    this.stats.droppedBytes += at
    this.hunt = undefined
    this.splitter.resync()
    this.options.onSyncEvent?.({ kind: 'recovered', droppedBytes: hunt.dropped })
    if (hunt.announce) {
      this.deliver({ type: H4Type.Event, data: Uint8Array.of(0x10, 0x01, RESYNC_HARDWARE_CODE) })
    }
    hunt.done()
    if (at < chunk.length) this.data(chunk.subarray(at))
  }

  private received(p: HciPacket): void {
    if (this.hunt) return // the rest of a chunk in which sync was lost
    if (p.type === H4Type.Event && p.data[0] === 0x00) {
      this.lostSync(new FramingError(`${this.options.name}: event code 0x00 (never assigned)`, this.splitter.offset))
      return
    }
    this.stats.packetsIn++
    this.deliver(p)
  }

  private deliver(p: HciPacket): void {
    for (const cb of this.packetCbs) cb(p)
  }

  private lostSync(e: FramingError): void {
    this.stats.framingErrors++
    this.options.onSyncEvent?.({ kind: 'lost', error: e })
    if (this.options.resync === 'close') {
      this.closing = true
      this.stream.destroy()
      this.finish(
        new TransportError(`${this.options.name}: ${e.message}`, {
          cause: e,
          hint: 'is the other end speaking H4 (a controller or `hcikit link`)?',
        }),
      )
      return
    }
    this.stats.resyncs++
    // Stop the splitter where it is (a packet may be in its middle) and hunt for a Reset's answer.
    this.splitter.resync()
    void this.synchronise(true)
  }

  private finish(err: Error | undefined): void {
    if (this.notified) return
    this.notified = true
    this.closing = true
    this.hunt = undefined
    this.resolveClosed()
    for (const cb of this.closeCbs) cb(err)
  }
}
