/**
 * The ATT bearer (Core v5.4 Vol 3 Part F 3.2.8, 3.3, 3.4.2): one Attribute Protocol conversation
 * over the fixed ATT channel of an LE link, in both roles at once.
 *
 * - ATT_MTU starts at 23 (the LE default, 3.2.8). `exchangeMtu()` (client) sends our receive MTU
 *   (517 by default); an Exchange MTU Request from the peer is answered here, before the server
 *   handler. The effective MTU is the smaller of the two, never below 23: a peer announcing less
 *   than 23 is treated as 23 (the spec forbids such values).
 * - Sequential protocol (3.3.2): one outstanding request per direction. Client calls are queued in
 *   order (bounded: a full queue rejects with 'ATT_QUEUE_FULL' rather than grow) and sent one
 *   at a time; callers never need to serialise. Commands go out at once (back-pressure: the
 *   promise resolves when the link took the frame; at most `commandLimit` in flight).
 * - Transaction timeout (3.3.3): a request without a response, or an indication without a
 *   confirmation, for 30 s fails; the bearer is then closed, every pending operation rejects,
 *   and nothing more is sent on it. The clock is injected.
 * - A response of the wrong type, a response that does not decode, or an Error Response for
 *   another opcode completes the transaction with an AttError ('ATT_UNEXPECTED_RESPONSE',
 *   'ATT_MALFORMED_RESPONSE'); the bearer stays usable. A response with no request outstanding
 *   is dropped and counted.
 * - Notifications, Multiple Handle Value Notifications and indications from the peer are
 *   delivered in arrival order; an indication is confirmed after the callbacks ran.
 * - Server role: requests and commands from the peer go to the `serve` handler one at a time (a
 *   handler may be async); without a handler, requests get Request Not Supported. `notify` and
 *   `indicate` send server-initiated values (indications one at a time, awaiting confirmation).
 * - AbortSignal: a queued request is withdrawn; an outstanding one rejects at once, but its slot
 *   stays taken until the peer answers (or the timeout), as the sequential protocol requires.
 */
import type { Clock } from '../hci/host.ts'
import { DecodeError } from '../hci/errors.ts'
import type { FixedChannel } from './l2cap/mux.ts'
import {
  type AttPdu,
  attOpcodeName,
  attPduSpec,
  decodeAttPdu,
  encodeAttPdu,
  isAttPdu,
  AttErrorCode,
  ErrorResponse,
  ExchangeMtuRequest,
  ExchangeMtuResponse,
  HandleValueConfirmation,
  HandleValueIndication,
  HandleValueNotification,
  MultipleHandleValueNotification,
} from './pdu.ts'
import { AttError } from './errors.ts'
import { IndicationQueue } from './bearer-indications.ts'

export { AttError } from './errors.ts'

/** LE default and minimum ATT_MTU (Part F 3.2.8). */
export const ATT_DEFAULT_MTU = 23
/** Our default receive MTU: a 512-octet value plus the largest PDU header (Prepare Write, 5). */
export const ATT_MAX_MTU = 517
/** Transaction timeout (Part F 3.3.3). */
export const ATT_TIMEOUT_MS = 30_000

export interface AttBearerOptions {
  clock: Clock
  /** Our receive MTU (23..65535, default 517). */
  mtu?: number
  /** Transaction timeout in ms (default 30000). */
  timeout?: number
  /** Requests waiting behind the outstanding one (default 64); more reject with 'ATT_QUEUE_FULL'. */
  queueLimit?: number
  /** Commands handed to the link but not yet accepted by it (default 64). */
  commandLimit?: number
  /** Indications waiting behind the outstanding one, server role (default 64). */
  indicationLimit?: number
  /** PDUs from the peer waiting for the server handler (default 64); more are dropped and counted. */
  inboundLimit?: number
}

export interface AttBearerStats {
  /** Responses or confirmations with nothing outstanding (dropped). */
  unexpected: number
  /** PDUs from the peer that do not decode (requests among them answered with Invalid PDU). */
  malformed: number
  /** Inbound requests/commands dropped because the server queue was full. */
  dropped: number
  /** Exceptions thrown by notification callbacks (caught; the last one is kept). */
  callbackErrors: number
  lastCallbackError?: unknown
}

export type RequestHandler = (pdu: Uint8Array) => Uint8Array | undefined | Promise<Uint8Array | undefined>
export type NotificationCallback = (handle: number, value: Uint8Array, indication: boolean) => void

interface Pending {
  pdu: Uint8Array
  opcode: number
  handle: number
  resolve(p: AttPdu): void
  reject(e: unknown): void
  /** The caller's promise is settled already (aborted): the response is swallowed. */
  settled: boolean
  signal?: AbortSignal
  onAbort?: () => void
}

export class AttBearer {
  readonly maxMtu: number
  readonly stats: AttBearerStats = { unexpected: 0, malformed: 0, dropped: 0, callbackErrors: 0 }
  private currentMtu = ATT_DEFAULT_MTU
  private readonly clock: Clock
  private readonly timeout: number
  private readonly queueLimit: number
  private readonly commandLimit: number
  private readonly inboundLimit: number

  private readonly queue: Pending[] = []
  private outstanding: Pending | undefined
  private requestTimer: unknown
  private commandsInFlight = 0
  private mtuExchange: Promise<number> | undefined

  private handler: RequestHandler | undefined
  private inbound = 0
  private serverChain: Promise<void> = Promise.resolve()
  private readonly indications: IndicationQueue

  private readonly notificationCbs: NotificationCallback[] = []
  private readonly mtuCbs: ((mtu: number) => void)[] = []
  private readonly closeCbs: ((reason: AttError) => void)[] = []
  private closeReason: AttError | undefined

  constructor(
    readonly channel: FixedChannel,
    opts: AttBearerOptions,
  ) {
    this.clock = opts.clock
    const mtu = opts.mtu ?? ATT_MAX_MTU
    if (!Number.isInteger(mtu) || mtu < ATT_DEFAULT_MTU || mtu > 0xffff) {
      throw new RangeError(`mtu: ${mtu} is not an integer in 23..65535`)
    }
    this.maxMtu = mtu
    this.timeout = opts.timeout ?? ATT_TIMEOUT_MS
    this.queueLimit = opts.queueLimit ?? 64
    this.commandLimit = opts.commandLimit ?? 64
    this.indications = new IndicationQueue({
      clock: this.clock,
      timeout: this.timeout,
      limit: opts.indicationLimit ?? 64,
      send: (pdu) => this.channel.send(pdu),
      onTimeout: (err) => this.close(err),
      closedError: (handle) => (this.closeReason ? this.closedError(HandleValueIndication.opcode, handle) : undefined),
    })
    this.inboundLimit = opts.inboundLimit ?? 64
    channel.onData((payload) => this.receive(payload))
    channel.onClose((reason) => this.close(reason))
    if (channel.link.closed) this.close()
  }

  /** The effective ATT_MTU (23 until an exchange). */
  get mtu(): number {
    return this.currentMtu
  }

  get closed(): boolean {
    return this.closeReason !== undefined
  }

  /** Requests waiting behind the outstanding one. */
  get queued(): number {
    return this.queue.length
  }

  /** Called with the new effective MTU after an exchange (either direction). */
  onMtu(cb: (mtu: number) => void): void {
    this.mtuCbs.push(cb)
  }

  /** Called once when the bearer closes, with the reason ('ATT_TIMEOUT', 'ATT_CLOSED'). */
  onClose(cb: (reason: AttError) => void): void {
    if (this.closeReason) {
      const reason = this.closeReason
      queueMicrotask(() => cb(reason))
      return
    }
    this.closeCbs.push(cb)
  }

  /** Notifications/indications from the peer, in arrival order (indications confirmed after the callbacks). */
  onNotification(cb: NotificationCallback): void {
    this.notificationCbs.push(cb)
  }

  // -------------------------------------------------------------------------------------------
  // Client role

  /**
   * Exchange MTU (3.4.2.1): send our receive MTU, take the smaller of the two (at least 23).
   * Only one exchange per connection: later calls return the first one's result.
   */
  exchangeMtu(opts: { signal?: AbortSignal } = {}): Promise<number> {
    this.mtuExchange ??= this.request(encodeAttPdu(ExchangeMtuRequest, { clientRxMtu: this.maxMtu }), opts).then(
      (rsp) => {
        const serverRx = isAttPdu(rsp, ExchangeMtuResponse) ? rsp.params.serverRxMtu : ATT_DEFAULT_MTU
        this.applyPeerMtu(serverRx)
        return this.currentMtu
      },
      (e) => {
        this.mtuExchange = undefined
        throw e
      },
    )
    return this.mtuExchange
  }

  /**
   * Send a request and resolve with its decoded response. Queued behind the outstanding request
   * (bounded). Rejects with AttError: the peer's Error Response ('ATT_ERROR_RESPONSE'), a wrong
   * or malformed response, the timeout, a closed bearer, a full queue.
   */
  request(pdu: Uint8Array, opts: { signal?: AbortSignal } = {}): Promise<AttPdu> {
    const opcode = pdu[0] ?? -1
    const spec = attPduSpec(opcode)
    if (spec?.type !== 'request') {
      return Promise.reject(
        new AttError('ATT_INVALID_PDU', `${attOpcodeName(opcode)} is not an ATT request`, {
          opcode: Math.max(0, opcode),
        }),
      )
    }
    const decoded = decodeAttPdu(pdu)
    const handle = decoded instanceof DecodeError ? 0 : (decoded.handle ?? 0)
    if (this.closeReason) return Promise.reject(this.closedError(opcode, handle))
    const limit = this.checkLength(pdu, opcode, handle)
    if (limit) return Promise.reject(limit)
    if (opts.signal?.aborted) return Promise.reject(opts.signal.reason)
    if (this.queue.length >= this.queueLimit) {
      return Promise.reject(
        new AttError('ATT_QUEUE_FULL', `${this.queue.length} ATT requests are already waiting`, {
          opcode,
          handle,
          hint: 'await earlier requests before issuing more',
        }),
      )
    }
    return new Promise<AttPdu>((resolve, reject) => {
      const p: Pending = { pdu, opcode, handle, resolve, reject, settled: false }
      if (opts.signal) {
        const signal = opts.signal
        p.signal = signal
        p.onAbort = () => {
          if (p.settled) return
          p.settled = true
          const i = this.queue.indexOf(p)
          if (i >= 0) this.queue.splice(i, 1)
          reject(signal.reason)
        }
        signal.addEventListener('abort', p.onAbort, { once: true })
      }
      this.queue.push(p)
      this.pump()
    })
  }

  /** Send a command (Write Command, Signed Write Command): resolves when the link took the frame. */
  command(pdu: Uint8Array): Promise<void> {
    const opcode = pdu[0] ?? -1
    if (opcode < 0 || (opcode & 0x40) === 0) {
      return Promise.reject(
        new AttError('ATT_INVALID_PDU', `${attOpcodeName(opcode)} is not an ATT command`, {
          opcode: Math.max(0, opcode),
        }),
      )
    }
    const handle = pdu.length >= 3 ? pdu[1]! | (pdu[2]! << 8) : 0
    if (this.closeReason) return Promise.reject(this.closedError(opcode, handle))
    const limit = this.checkLength(pdu, opcode, handle)
    if (limit) return Promise.reject(limit)
    if (this.commandsInFlight >= this.commandLimit) {
      return Promise.reject(
        new AttError('ATT_QUEUE_FULL', `${this.commandsInFlight} ATT commands are already waiting for the link`, {
          opcode,
          handle,
          hint: 'await each writeWithoutResponse before sending the next',
        }),
      )
    }
    this.commandsInFlight++
    // A plain promise chain, not an async function: this runs for every write without response.
    return this.channel.send(pdu).then(
      () => {
        this.commandsInFlight--
      },
      (e: unknown) => {
        this.commandsInFlight--
        throw this.closeReason ? this.closedError(opcode, handle) : e
      },
    )
  }

  private checkLength(pdu: Uint8Array, opcode: number, handle: number): AttError | undefined {
    if (pdu.length <= this.currentMtu) return undefined
    return new AttError(
      'ATT_INVALID_PDU',
      `${attOpcodeName(opcode)} of ${pdu.length} octets exceeds ATT_MTU ${this.currentMtu}`,
      {
        opcode,
        handle,
      },
    )
  }

  private closedError(opcode: number, handle: number): AttError {
    const reason = this.closeReason
    // The reason already says 'ATT bearer closed' when close() made it (it wraps the link's error).
    const why = reason?.message.startsWith('ATT bearer closed')
      ? reason.message.slice(17)
      : reason
        ? `: ${reason.message}`
        : ''
    return new AttError('ATT_CLOSED', `ATT bearer closed${why}`, {
      opcode,
      handle,
      cause: reason,
    })
  }

  private pump(): void {
    while (!this.outstanding && !this.closeReason && this.queue.length > 0) {
      const p = this.queue.shift()!
      if (p.settled) continue
      const tooLong = this.checkLength(p.pdu, p.opcode, p.handle)
      if (tooLong) {
        this.settle(p, tooLong)
        continue
      }
      this.outstanding = p
      this.requestTimer = this.clock.setTimeout(() => this.onRequestTimeout(p), this.timeout)
      this.channel.send(p.pdu).catch((e: unknown) => {
        if (this.outstanding !== p) return
        this.finishOutstanding(this.closeReason ? this.closedError(p.opcode, p.handle) : e)
      })
    }
  }

  private onRequestTimeout(p: Pending): void {
    if (this.outstanding !== p) return
    const err = new AttError(
      'ATT_TIMEOUT',
      `no response to ${attOpcodeName(p.opcode)} within ${this.timeout / 1000} s: ATT bearer closed`,
      {
        opcode: p.opcode,
        handle: p.handle,
        hint: 'the peer stopped answering; reconnect to use ATT again (Core v5.4 Vol 3 Part F 3.3.3)',
      },
    )
    this.outstanding = undefined
    this.settle(p, err)
    this.close(err)
  }

  private settle(p: Pending, result: AttPdu | unknown, ok = false): void {
    if (p.signal && p.onAbort) p.signal.removeEventListener('abort', p.onAbort)
    if (p.settled) return
    p.settled = true
    if (ok) p.resolve(result as AttPdu)
    else p.reject(result)
  }

  /** Complete the outstanding transaction and send the next request. */
  private finishOutstanding(result: AttPdu | unknown, ok = false): void {
    const p = this.outstanding
    if (!p) return
    this.outstanding = undefined
    this.clock.clearTimeout(this.requestTimer)
    this.settle(p, result, ok)
    this.pump()
  }

  private onResponse(opcode: number, pdu: AttPdu | DecodeError): void {
    const p = this.outstanding
    if (!p) {
      this.stats.unexpected++
      return
    }
    if (pdu instanceof DecodeError) {
      this.finishOutstanding(
        new AttError(
          'ATT_MALFORMED_RESPONSE',
          `malformed ${attOpcodeName(opcode)} to ${attOpcodeName(p.opcode)}: ${pdu.message}`,
          {
            opcode: p.opcode,
            handle: p.handle,
            cause: pdu,
          },
        ),
      )
      return
    }
    if (isAttPdu(pdu, ErrorResponse)) {
      const { requestOpcode, handle, errorCode } = pdu.params
      if (requestOpcode === p.opcode) {
        this.finishOutstanding(AttError.fromErrorResponse(requestOpcode, handle, errorCode))
        return
      }
      this.finishOutstanding(
        new AttError(
          'ATT_UNEXPECTED_RESPONSE',
          `Error Response for ${attOpcodeName(requestOpcode)} while ${attOpcodeName(p.opcode)} was outstanding`,
          { opcode: p.opcode, handle: p.handle },
        ),
      )
      return
    }
    if (opcode === p.opcode + 1) {
      this.finishOutstanding(pdu, true)
      return
    }
    this.finishOutstanding(
      new AttError('ATT_UNEXPECTED_RESPONSE', `${pdu.name} in answer to ${attOpcodeName(p.opcode)}`, {
        opcode: p.opcode,
        handle: p.handle,
      }),
    )
  }

  private applyPeerMtu(peerRxMtu: number): void {
    const mtu = Math.max(ATT_DEFAULT_MTU, Math.min(this.maxMtu, peerRxMtu))
    if (mtu === this.currentMtu) return
    this.currentMtu = mtu
    for (const cb of this.mtuCbs) cb(mtu)
  }

  // -------------------------------------------------------------------------------------------
  // Receiving

  private receive(payload: Uint8Array): void {
    if (this.closeReason) return
    const opcode = payload[0]
    if (opcode === undefined) {
      this.stats.malformed++
      return
    }
    if (opcode === HandleValueNotification.opcode && payload.length >= 3) {
      // The hottest PDU, read in place: handle u16 then the value, to the end (3.4.7.1); the
      // same as decodeAttPdu gives (test/att/bearer.test.ts checks the two agree).
      this.deliver(payload[1]! | (payload[2]! << 8), payload.subarray(3), false)
      return
    }
    const spec = attPduSpec(opcode)
    const pdu = decodeAttPdu(payload)
    if (pdu instanceof DecodeError) this.stats.malformed++
    switch (spec?.type) {
      case 'response':
        this.onResponse(opcode, pdu)
        return
      case 'notification':
      case 'indication':
        if (!(pdu instanceof DecodeError)) this.onServerInitiated(pdu)
        return
      case 'confirmation':
        this.onConfirmation()
        return
      case 'request':
        if (
          opcode === ExchangeMtuRequest.opcode &&
          !(pdu instanceof DecodeError) &&
          isAttPdu(pdu, ExchangeMtuRequest)
        ) {
          this.reply(encodeAttPdu(ExchangeMtuResponse, { serverRxMtu: this.maxMtu }))
          this.applyPeerMtu(pdu.params.clientRxMtu)
          return
        }
        if (pdu instanceof DecodeError) {
          this.reply(
            encodeAttPdu(ErrorResponse, { requestOpcode: opcode, handle: 0, errorCode: AttErrorCode.InvalidPdu }),
          )
          return
        }
        this.toServer(payload, true)
        return
      case 'command':
        if (!(pdu instanceof DecodeError)) this.toServer(payload, false)
        return
      default:
        // An opcode we do not know: a command is ignored (3.4.9); anything else is a request
        // for the server to refuse (or to know, if it does).
        this.toServer(payload, (opcode & 0x40) === 0)
    }
  }

  private onServerInitiated(pdu: AttPdu): void {
    if (isAttPdu(pdu, MultipleHandleValueNotification)) {
      for (const t of pdu.params.tuples) this.deliver(t.handle, t.value, false)
      return
    }
    if (isAttPdu(pdu, HandleValueNotification)) {
      this.deliver(pdu.params.handle, pdu.params.value, false)
      return
    }
    if (isAttPdu(pdu, HandleValueIndication)) {
      this.deliver(pdu.params.handle, pdu.params.value, true)
      if (!this.closeReason) this.reply(encodeAttPdu(HandleValueConfirmation, {}))
    }
  }

  private deliver(handle: number, value: Uint8Array, indication: boolean): void {
    for (const cb of this.notificationCbs) {
      try {
        cb(handle, value, indication)
      } catch (e) {
        this.stats.callbackErrors++
        this.stats.lastCallbackError = e
      }
    }
  }

  /** Send a response/confirmation; a failure means the link went away (close follows). */
  private reply(pdu: Uint8Array): void {
    this.channel.send(pdu).catch(() => {})
  }

  // -------------------------------------------------------------------------------------------
  // Server role

  /** The handler for requests and commands from the peer (att/server.ts plugs in here). */
  serve(handler: RequestHandler): void {
    this.handler = handler
  }

  private toServer(payload: Uint8Array, isRequest: boolean): void {
    if (this.inbound >= this.inboundLimit) {
      this.stats.dropped++
      return
    }
    this.inbound++
    this.serverChain = this.serverChain.then(async () => {
      try {
        if (this.closeReason) return
        let rsp: Uint8Array | undefined
        try {
          rsp = this.handler ? await this.handler(payload) : undefined
        } catch {
          rsp = isRequest
            ? encodeAttPdu(ErrorResponse, {
                requestOpcode: payload[0]!,
                handle: 0,
                errorCode: AttErrorCode.UnlikelyError,
              })
            : undefined
        }
        if (!isRequest || this.closeReason) return
        rsp ??= encodeAttPdu(ErrorResponse, {
          requestOpcode: payload[0]!,
          handle: 0,
          errorCode: AttErrorCode.RequestNotSupported,
        })
        await this.channel.send(rsp).catch(() => {})
      } finally {
        this.inbound--
      }
    })
  }

  /**
   * Handle Value Notification (3.4.7.1). A value longer than ATT_MTU-3 is cut to that length,
   * as the spec says. Resolves when the link took the frame.
   */
  async notify(handle: number, value: Uint8Array): Promise<void> {
    if (this.closeReason) throw this.closedError(HandleValueNotification.opcode, handle)
    const v = value.length > this.currentMtu - 3 ? value.subarray(0, this.currentMtu - 3) : value
    await this.channel.send(encodeAttPdu(HandleValueNotification, { handle, value: v }))
  }

  /** Handle Value Indication (3.4.7.2): one at a time; resolves on the peer's confirmation. */
  indicate(handle: number, value: Uint8Array): Promise<void> {
    if (this.closeReason) return Promise.reject(this.closedError(HandleValueIndication.opcode, handle))
    const v = value.length > this.currentMtu - 3 ? value.subarray(0, this.currentMtu - 3) : value
    return this.indications.push(handle, encodeAttPdu(HandleValueIndication, { handle, value: v }))
  }

  private onConfirmation(): void {
    if (!this.indications.confirmed()) this.stats.unexpected++
  }

  // -------------------------------------------------------------------------------------------

  /**
   * Close the bearer: every pending request, queued request and indication rejects with
   * 'ATT_CLOSED' (its cause the reason; a timed-out transaction itself rejects with 'ATT_TIMEOUT').
   * Later calls reject at once; PDUs from the peer are ignored.
   */
  close(err?: Error): void {
    if (this.closeReason) return
    const reason =
      err instanceof AttError
        ? err
        : new AttError('ATT_CLOSED', err ? `ATT bearer closed: ${err.message}` : 'ATT bearer closed', { cause: err })
    this.closeReason = reason
    this.clock.clearTimeout(this.requestTimer)
    const out = this.outstanding
    this.outstanding = undefined
    if (out) this.settle(out, this.closedError(out.opcode, out.handle))
    for (const p of this.queue.splice(0)) this.settle(p, this.closedError(p.opcode, p.handle))
    this.indications.close((handle) => this.closedError(HandleValueIndication.opcode, handle))
    for (const cb of this.closeCbs.splice(0)) cb(reason)
  }
}
