/**
 * The LE signalling channel, CID 0x0005 (Core v5.4 Vol 3 Part A 4 and 6.2).
 *
 * - Every C-frame on LE-U carries exactly one command (4.0). A frame too short for the command
 *   header or with Identifier 0x00 (never valid, 4.0) is dropped and counted; a command whose
 *   Length field does not match the frame, whose data does not decode, or whose code is unknown
 *   or not valid on LE-U (Table 4.2) is answered with Command Reject "Command not understood"
 *   (4.1), except a Command Reject itself, which is never answered.
 * - Requests we send get a fresh Identifier 1..255 (never 0, never one still outstanding) and
 *   wait for their response under the RTX timer (6.2.1: 1-60 s, default 30 s) on the injected
 *   clock. A Command Reject with the same Identifier fails the request with an L2capError
 *   'COMMAND_REJECTED' carrying the reason; a response nobody waits for is dropped (4.0).
 * - Connection Parameter Update (4.20-4.21): the peripheral asks and awaits the result; the
 *   central checks the values against the limits of Vol 6 Part B 4.5.1-4.5.2 and Vol 4 Part E
 *   7.8.18, asks the policy hook (default: accept), answers, and then tells the upper layer so
 *   that it can issue HCI LE Connection Update. A peripheral receiving the request rejects it
 *   ("Command not understood", 4.20).
 * - Other requests and indications (credit based channels, att/l2cap/credit.ts) are dispatched to
 *   handlers registered by code; codes without a handler are rejected as not understood.
 */
import { DecodeError } from '../../hci/errors.ts'
import type { Clock } from '../../hci/host.ts'
import { Writer } from '../../hci/wire.ts'
import { L2capError, linkClosedError } from './link.ts'
import type { FixedChannel } from './channel.ts'
import {
  CommandReject,
  ConnectionParameterUpdateRequest,
  ConnectionParameterUpdateResponse,
  LE_SIGNALING_CODES,
  SIGNALING_HEADER_LENGTH,
  commandRejectReasonName,
  decodeSignalingCommand,
  encodeSignaling,
  signalingName,
  type SignalingCommand,
  type SignalingParams,
  type SignalingSpec,
} from './signaling-pdu.ts'

/** Command Reject reasons (4.1, Table 4.3). */
export const RejectReason = {
  COMMAND_NOT_UNDERSTOOD: 0x0000,
  SIGNALING_MTU_EXCEEDED: 0x0001,
  INVALID_CID: 0x0002,
} as const

export interface ConnectionParameters {
  /** Minimum connection interval, 1.25 ms units (6..3200, i.e. 7.5 ms..4 s). */
  intervalMin: number
  /** Maximum connection interval, 1.25 ms units (6..3200, >= intervalMin). */
  intervalMax: number
  /** Peripheral latency in connection events (0..499). */
  latency: number
  /** Supervision timeout, 10 ms units (10..3200, i.e. 100 ms..32 s). */
  timeout: number
}

/**
 * The limits of Vol 6 Part B 4.5.1-4.5.2 (and HCI LE Connection Update, Vol 4 Part E 7.8.18):
 * intervals 6..3200 with min <= max, latency 0..499, timeout 10..3200, and the supervision
 * timeout longer than (1 + latency) * intervalMax * 2 (in ms: timeout*10 > (1+latency)*max*1.25*2).
 */
export function validConnectionParameters(p: ConnectionParameters): boolean {
  const { intervalMin, intervalMax, latency, timeout } = p
  const int = (v: number): boolean => Number.isInteger(v)
  if (!int(intervalMin) || !int(intervalMax) || !int(latency) || !int(timeout)) return false
  if (intervalMin < 6 || intervalMax > 3200 || intervalMin > intervalMax) return false
  if (latency < 0 || latency > 499) return false
  if (timeout < 10 || timeout > 3200) return false
  return timeout * 4 > (1 + latency) * intervalMax
}

export type ConnectionParameterPolicy = (params: ConnectionParameters) => boolean | Promise<boolean>

export interface LeSignalingOptions {
  clock: Clock
  /** Response timeout (RTX, 6.2.1): 1000..60000 ms, default 30000. */
  rtxMs?: number
  /** Central: decide on a peer's Connection Parameter Update Request (valid values only; default accept). */
  onConnectionParameterUpdate?: ConnectionParameterPolicy
  /** Central: called after we accepted, so that the upper layer issues HCI LE Connection Update. */
  onConnectionParametersAccepted?: (params: ConnectionParameters) => void
}

export interface SignalingStats {
  /** C-frames received. */
  received: number
  /** Dropped or rejected as malformed (short header, Identifier 0, bad Length, bad data). */
  malformed: number
  /** Unknown codes or codes not valid on LE-U (rejected). */
  unknownCode: number
  rejectsSent: number
  rejectsReceived: number
  /** Responses with no request waiting for them (dropped). */
  unexpectedResponses: number
  /** Requests of ours that got no response within RTX. */
  timeouts: number
}

/** A decoded incoming request or indication, with typed parameters. */
export type IncomingCommand<S extends SignalingSpec<any>> = {
  identifier: number
  params: SignalingParams<S>
}

interface Pending {
  expect: number
  what: string
  resolve(cmd: SignalingCommand): void
  reject(err: Error): void
}

const RESPONSE_CODES: ReadonlySet<number> = new Set([0x07, 0x13, 0x15, 0x18, 0x1a])

export class LeSignaling {
  readonly stats: SignalingStats = {
    received: 0,
    malformed: 0,
    unknownCode: 0,
    rejectsSent: 0,
    rejectsReceived: 0,
    unexpectedResponses: 0,
    timeouts: 0,
  }
  private readonly clock: Clock
  private readonly rtxMs: number
  private policy: ConnectionParameterPolicy
  private accepted: ((params: ConnectionParameters) => void) | undefined
  private readonly handlers = new Map<number, (cmd: SignalingCommand) => void>()
  private readonly pending = new Map<number, Pending>()
  private lastId = 0
  private closedWith: Error | undefined

  constructor(
    readonly channel: FixedChannel,
    opts: LeSignalingOptions,
  ) {
    const rtx = opts.rtxMs ?? 30_000
    if (!(rtx >= 1000 && rtx <= 60_000))
      throw new RangeError(`rtxMs: ${rtx} is outside 1000..60000 (Core v5.4 Vol 3 Part A 6.2.1)`)
    this.clock = opts.clock
    this.rtxMs = rtx
    this.policy = opts.onConnectionParameterUpdate ?? (() => true)
    this.accepted = opts.onConnectionParametersAccepted
  }

  get role(): 'central' | 'peripheral' {
    return this.channel.link.role
  }

  get closed(): boolean {
    return this.closedWith !== undefined
  }

  /** Requests of ours waiting for a response (at most 255, one per identifier). */
  get outstanding(): number {
    return this.pending.size
  }

  /** Central: the policy deciding on a peer's Connection Parameter Update Request (valid values only). */
  onConnectionParameterUpdate(policy: ConnectionParameterPolicy): void {
    this.policy = policy
  }

  /** Central: after we accepted a request; the upper layer issues HCI LE Connection Update. */
  onConnectionParametersAccepted(cb: (params: ConnectionParameters) => void): void {
    this.accepted = cb
  }

  /**
   * Peripheral: ask the central for new connection parameters (4.20). Resolves true when it
   * accepted, false when it rejected; rejects with an L2capError on RTX timeout ('TIMEOUT'), a
   * Command Reject ('COMMAND_REJECTED'), invalid values ('INVALID_PARAMETERS'), our role
   * ('WRONG_ROLE') or a closed link ('LINK_CLOSED').
   */
  async requestConnectionParameterUpdate(
    params: ConnectionParameters,
    opts: { signal?: AbortSignal } = {},
  ): Promise<boolean> {
    if (this.role !== 'peripheral') {
      throw new L2capError(
        'WRONG_ROLE',
        'only the peripheral sends Connection Parameter Update Request; a central issues LE Connection Update',
        {
          hint: 'as central, update the parameters with HCI LE Connection Update',
        },
      )
    }
    if (!validConnectionParameters(params)) {
      throw new L2capError(
        'INVALID_PARAMETERS',
        `connection parameters outside the spec's limits: ${JSON.stringify(params)}`,
      )
    }
    const { result } = await this.request(
      ConnectionParameterUpdateRequest,
      params,
      ConnectionParameterUpdateResponse,
      opts,
    )
    return result === 0x0000
  }

  /**
   * Send a request and wait for its response (of `response`'s code) under RTX. Used by the
   * credit based channels. Rejects as described for requestConnectionParameterUpdate.
   */
  request<Q extends SignalingSpec<any>, R extends SignalingSpec<any>>(
    spec: Q,
    params: SignalingParams<Q>,
    response: R,
    opts: { signal?: AbortSignal } = {},
  ): Promise<SignalingParams<R>> {
    if (this.closedWith) return Promise.reject(this.closedWith)
    const signal = opts.signal
    if (signal?.aborted) return Promise.reject(signal.reason)
    const id = this.nextIdentifier()
    if (id === undefined) {
      return Promise.reject(
        new L2capError('QUEUE_FULL', 'all 255 signalling identifiers are in use by outstanding requests'),
      )
    }
    let bytes: Uint8Array
    try {
      bytes = encodeSignaling(spec, id, params)
    } catch (e) {
      return Promise.reject(e)
    }
    return new Promise<SignalingParams<R>>((resolve, reject) => {
      const done = (): void => {
        this.pending.delete(id)
        this.clock.clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
      }
      const onAbort = (): void => {
        done()
        reject(signal!.reason)
      }
      const timer = this.clock.setTimeout(() => {
        done()
        this.stats.timeouts++
        reject(
          new L2capError('TIMEOUT', `no response to ${spec.name} (identifier ${id}) within ${this.rtxMs} ms (RTX)`, {
            hint: 'the peer did not answer the L2CAP signalling request',
          }),
        )
      }, this.rtxMs)
      signal?.addEventListener('abort', onAbort, { once: true })
      this.pending.set(id, {
        expect: response.code,
        what: spec.name,
        resolve: (cmd) => {
          done()
          resolve(cmd.params as SignalingParams<R>)
        },
        reject: (err) => {
          done()
          reject(err)
        },
      })
      this.channel.send(bytes).catch((err: unknown) => this.pending.get(id)?.reject(err as Error))
    })
  }

  /** Send a response (same identifier as the request) or an indication; errors of a closed link are ignored. */
  send<S extends SignalingSpec<any>>(spec: S, identifier: number, params: SignalingParams<S>): void {
    if (this.closedWith) return
    this.channel.send(encodeSignaling(spec, identifier, params)).catch(() => {})
  }

  /** Send an indication (e.g. Flow Control Credit Indication) with a fresh identifier. */
  indicate<S extends SignalingSpec<any>>(spec: S, params: SignalingParams<S>): void {
    let id = this.nextIdentifier()
    if (id === undefined) id = this.lastId = (this.lastId % 255) + 1 // all 255 outstanding: any non-zero one
    this.send(spec, id, params)
  }

  /** Answer a command with Command Reject (4.1). `data`: empty, the signalling MTU, or local CID + remote CID. */
  reject(identifier: number, reason: number, data: Uint8Array = new Uint8Array(0)): void {
    this.stats.rejectsSent++
    this.send(CommandReject, identifier, { reason, data })
  }

  /** Reject with "Invalid CID in request", local and remote CID as seen by us (4.1, Table 4.4). */
  rejectInvalidCid(identifier: number, localCid: number, remoteCid: number): void {
    this.reject(identifier, RejectReason.INVALID_CID, new Writer(4).u16(localCid).u16(remoteCid).finish())
  }

  /** Handle incoming requests/indications with this code (one handler per code). */
  handle<S extends SignalingSpec<any>>(spec: S, handler: (cmd: IncomingCommand<S>) => void): void {
    this.handlers.set(spec.code, (cmd) =>
      handler({ identifier: cmd.identifier, params: cmd.params as SignalingParams<S> }),
    )
  }

  /** One C-frame's payload from the mux. Never throws. */
  receive(payload: Uint8Array): void {
    if (this.closedWith) return
    this.stats.received++
    if (payload.length < SIGNALING_HEADER_LENGTH) {
      this.stats.malformed++
      return
    }
    const code = payload[0]!
    const identifier = payload[1]!
    const length = payload[2]! | (payload[3]! << 8)
    if (identifier === 0) {
      this.stats.malformed++
      return
    }
    if (length !== payload.length - SIGNALING_HEADER_LENGTH) {
      this.stats.malformed++
      this.notUnderstood(code, identifier)
      return
    }
    if (!LE_SIGNALING_CODES.has(code)) {
      this.stats.unknownCode++
      this.notUnderstood(code, identifier)
      return
    }
    const data = payload.subarray(SIGNALING_HEADER_LENGTH)
    const cmd = decodeSignalingCommand({ code, identifier, length, data, offset: 0 }, payload)
    if (cmd instanceof DecodeError) {
      this.stats.malformed++
      const waiting = this.pending.get(identifier)
      if (waiting && waiting.expect === code) {
        waiting.reject(
          new L2capError('MALFORMED_RESPONSE', `${signalingName(code)} to ${waiting.what}: ${cmd.message}`, {
            cause: cmd,
          }),
        )
      }
      this.notUnderstood(code, identifier)
      return
    }
    this.dispatch(cmd)
  }

  /** Fail everything pending with `err` (the mux passes an L2capError 'LINK_CLOSED'). */
  close(err: Error = linkClosedError()): void {
    if (this.closedWith) return
    this.closedWith = err
    for (const p of [...this.pending.values()]) p.reject(err)
  }

  private dispatch(cmd: SignalingCommand): void {
    if (cmd.code === CommandReject.code) {
      this.stats.rejectsReceived++
      const p = this.pending.get(cmd.identifier)
      if (!p) return
      const reason = (cmd.params as SignalingParams<typeof CommandReject>).reason
      p.reject(
        new L2capError('COMMAND_REJECTED', `${p.what} rejected: ${commandRejectReasonName(reason)}`, {
          status: reason,
          statusName: commandRejectReasonName(reason).replace(/ \(0x[0-9a-f]{4}\)$/, ''),
        }),
      )
      return
    }
    if (RESPONSE_CODES.has(cmd.code)) {
      const p = this.pending.get(cmd.identifier)
      if (!p || p.expect !== cmd.code) {
        this.stats.unexpectedResponses++
        return
      }
      p.resolve(cmd)
      return
    }
    if (cmd.code === ConnectionParameterUpdateRequest.code) {
      this.onParameterRequest(cmd.identifier, cmd.params as SignalingParams<typeof ConnectionParameterUpdateRequest>)
      return
    }
    const handler = this.handlers.get(cmd.code)
    if (handler) handler(cmd)
    else this.notUnderstood(cmd.code, cmd.identifier)
  }

  private notUnderstood(code: number, identifier: number): void {
    // Never answer a Command Reject with a Command Reject (4.1): two hosts could ping-pong.
    if (code === CommandReject.code) return
    this.reject(identifier, RejectReason.COMMAND_NOT_UNDERSTOOD)
  }

  private onParameterRequest(identifier: number, params: ConnectionParameters): void {
    if (this.role !== 'central') {
      this.reject(identifier, RejectReason.COMMAND_NOT_UNDERSTOOD)
      return
    }
    const answer = (ok: boolean): void => {
      if (this.closedWith) return
      this.send(ConnectionParameterUpdateResponse, identifier, { result: ok ? 0x0000 : 0x0001 })
      if (ok) this.accepted?.({ ...params })
    }
    if (!validConnectionParameters(params)) {
      answer(false)
      return
    }
    let verdict: boolean | Promise<boolean>
    try {
      verdict = this.policy({ ...params })
    } catch {
      answer(false)
      return
    }
    if (typeof verdict === 'boolean') answer(verdict)
    else
      Promise.resolve(verdict).then(
        (ok) => answer(ok === true),
        () => answer(false),
      )
  }

  private nextIdentifier(): number | undefined {
    for (let i = 0; i < 255; i++) {
      this.lastId = (this.lastId % 255) + 1
      if (!this.pending.has(this.lastId)) return this.lastId
    }
    return undefined
  }
}
