/**
 * The server side of indications on one ATT bearer (Core v5.4 Vol 3 Part F 3.4.7.2 Handle Value
 * Indication, 3.4.7.3 Handle Value Confirmation, 3.3.3 transaction timeout): one indication
 * outstanding at a time, the others queued (bounded); each resolves on the peer's confirmation;
 * no confirmation within the timeout fails it and closes the bearer (att/bearer.ts owns this
 * queue and closes it with the bearer).
 */
import type { Clock } from '../hci/host.ts'
import { AttError, hex4 } from './errors.ts'
import { HandleValueIndication } from './pdu.ts'

interface PendingIndication {
  handle: number
  pdu: Uint8Array
  resolve(): void
  reject(e: unknown): void
}

export interface IndicationQueueOptions {
  clock: Clock
  /** How long the peer has to confirm, ms. */
  timeout: number
  limit: number
  /** Send one PDU on the ATT channel. */
  send(pdu: Uint8Array): Promise<void>
  /** No confirmation in time: the bearer closes with `err`. */
  onTimeout(err: AttError): void
  /** The error for an indication that cannot go out because the bearer closed (or `undefined` while open). */
  closedError(handle: number): AttError | undefined
}

const OPCODE = HandleValueIndication.opcode

export class IndicationQueue {
  private readonly waiting: PendingIndication[] = []
  private out: PendingIndication | undefined
  private timer: unknown

  constructor(private readonly o: IndicationQueueOptions) {}

  /** Queue `pdu` (an encoded Handle Value Indication for `handle`); resolves when confirmed. */
  push(handle: number, pdu: Uint8Array): Promise<void> {
    if (this.waiting.length >= this.o.limit) {
      return Promise.reject(
        new AttError('ATT_QUEUE_FULL', `${this.waiting.length} indications are already waiting`, {
          opcode: OPCODE,
          handle,
        }),
      )
    }
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ handle, pdu, resolve, reject })
      this.pump()
    })
  }

  /** A Handle Value Confirmation arrived; false when nothing was outstanding. */
  confirmed(): boolean {
    const ind = this.out
    if (!ind) return false
    this.out = undefined
    this.o.clock.clearTimeout(this.timer)
    ind.resolve()
    this.pump()
    return true
  }

  /** Reject the outstanding and the queued indications (the bearer closed). */
  close(errorFor: (handle: number) => AttError): void {
    this.o.clock.clearTimeout(this.timer)
    const ind = this.out
    this.out = undefined
    if (ind) ind.reject(errorFor(ind.handle))
    for (const i of this.waiting.splice(0)) i.reject(errorFor(i.handle))
  }

  private pump(): void {
    if (this.out || this.o.closedError(0)) return
    const ind = this.waiting.shift()
    if (!ind) return
    this.out = ind
    this.timer = this.o.clock.setTimeout(() => this.timedOut(ind), this.o.timeout)
    this.o.send(ind.pdu).catch((e: unknown) => {
      if (this.out !== ind) return
      this.out = undefined
      this.o.clock.clearTimeout(this.timer)
      ind.reject(this.o.closedError(ind.handle) ?? e)
      this.pump()
    })
  }

  private timedOut(ind: PendingIndication): void {
    if (this.out !== ind) return
    const err = new AttError(
      'ATT_TIMEOUT',
      `no confirmation of the indication on handle ${hex4(ind.handle)} within ${this.o.timeout / 1000} s: ATT bearer closed`,
      { opcode: OPCODE, handle: ind.handle },
    )
    this.out = undefined
    ind.reject(err)
    this.o.onTimeout(err)
  }
}
