/**
 * An in-memory connected pair of Transports (hci/transport.ts), for tests and for the virtual
 * controller: what one end sends, the other receives, in order, on a later microtask (never
 * re-entrantly inside `send`). Closing either end closes both; packets already sent are
 * delivered first. Carries HCI packets of Core v5.4 Vol 4 Part E 5.4 unchanged.
 */
import { TransportError } from './errors.ts'
import type { HciPacket, Transport } from './transport.ts'

type Item = { packet: HciPacket } | { close: true; err: Error | undefined }

export class MemoryTransport implements Transport {
  peer!: MemoryTransport
  private readonly packetCbs: Array<(packet: HciPacket) => void> = []
  private readonly closeCbs: Array<(err?: Error) => void> = []
  private readonly inbox: Item[] = []
  private draining = false
  /** No more sends accepted (set on both ends as soon as either closes). */
  private closing = false
  /** onClose callbacks have run. */
  private closedNotified = false
  private closedPromise: Promise<void> | undefined
  private resolveClosed: (() => void) | undefined

  constructor(readonly name: string) {}

  get closed(): boolean {
    return this.closing
  }

  send(packet: HciPacket): void {
    if (this.closing) throw new TransportError(`${this.name}: send on a closed memory transport`)
    // A copy: the sender may reuse its buffer, and the receiver owns what it is given.
    this.peer.enqueue({ packet: { type: packet.type, data: packet.data.slice() } })
  }

  onPacket(cb: (packet: HciPacket) => void): void {
    this.packetCbs.push(cb)
  }

  onClose(cb: (err?: Error) => void): void {
    this.closeCbs.push(cb)
  }

  close(): Promise<void> {
    this.shutdown(undefined)
    return this.closedPromise!
  }

  /** Simulate the medium failing: both ends close, and their onClose callbacks receive `err`. */
  fail(err: Error): void {
    this.shutdown(err)
  }

  private shutdown(err: Error | undefined): void {
    if (this.closing) return
    for (const end of [this, this.peer]) {
      end.closing = true
      end.closedPromise = new Promise((resolve) => (end.resolveClosed = resolve))
      end.enqueue({ close: true, err })
    }
  }

  private enqueue(item: Item): void {
    if (this.closedNotified) return
    this.inbox.push(item)
    if (!this.draining) {
      this.draining = true
      queueMicrotask(() => this.drain())
    }
  }

  private drain(): void {
    // One item per microtask turn, so a receiver's reactions interleave as with a real medium.
    const item = this.inbox.shift()
    if (item === undefined || this.closedNotified) {
      this.draining = false
      return
    }
    try {
      if ('packet' in item) {
        for (const cb of this.packetCbs) cb(item.packet)
      } else {
        this.closedNotified = true
        this.inbox.length = 0
        this.resolveClosed!()
        for (const cb of this.closeCbs) cb(item.err)
      }
    } finally {
      // A throwing callback surfaces as an uncaught error but does not stall the queue.
      if (this.inbox.length > 0) queueMicrotask(() => this.drain())
      else this.draining = false
    }
  }
}

/** A connected pair: [host side, controller side]. */
export function createMemoryPair(): [MemoryTransport, MemoryTransport] {
  const host = new MemoryTransport('host')
  const controller = new MemoryTransport('controller')
  host.peer = controller
  controller.peer = host
  return [host, controller]
}
