/**
 * HciHost: the host side of HCI over one Transport (Core v5.4 Vol 4 Part E).
 *
 * - Commands (4.4 "Command flow control"; 7.7.14 Command Complete, 7.7.15 Command Status): a
 *   queue that never has more commands in flight than the controller's last
 *   Num_HCI_Command_Packets allows (1 before the first answer). The value is absolute: every
 *   Command Complete and Command Status sets it, including those with opcode 0x0000 that only
 *   announce credits. Answers are matched to the oldest command in flight with the same opcode.
 *   `send(spec, params, { signal, timeout })` resolves with the typed return parameters (with
 *   `{ status }` after Command Status for commands answered that way); a non-zero status, a
 *   timeout, an abort, a Hardware Error event (7.7.16) or the transport closing reject it.
 *   A timed-out command is presumed lost by the controller: as BlueZ does, the host takes one
 *   credit back so the queue does not wedge. An aborted command still in flight keeps its credit
 *   until the controller answers (or until its timeout).
 * - ACL (4.1.1, 5.4.2; acl-flow.ts, acl.ts): outgoing PDUs fragmented to the controller's buffer
 *   size and paced by its buffer credits; incoming fragments reassembled per handle and delivered
 *   only for handles learned from a successful connection-complete event (7.7.3, 7.7.65.1,
 *   7.7.65.10 v1 and v2), forgotten on Disconnection Complete (7.7.5).
 * - Bring-up (`init()`, bring-up.ts) as straight-line async code; the result is kept as `info`.
 * - Observability: every packet in and out is published on the diagnostics channel
 *   'hcikit:packet' (`PacketMessage`, packet-channel.ts); the host itself does no logging.
 *
 * hci/ has no timers of its own: the caller passes a `Clock` (tests pass a virtual one).
 */
import { type AclError, DecodeError, HciError } from './errors.ts'
import { H4Type, statusName } from './constants.ts'
import type { CommandParams, CommandSpec } from './spec.ts'
import type { CommandResult, SendOptions } from './send-types.ts'
import { decodeReturnParameters, encodeCommand } from './commands.ts'
import { decodeEvent, type HciEvent } from './events.ts'
import type { HciPacket, Transport } from './transport.ts'
import { AclReassembler, decodeAclHeader } from './acl.ts'
import { AclFlow, type LinkKind } from './acl-flow.ts'
import { bringUp, type ControllerInfo, type InitOptions } from './bring-up.ts'
import { PacketPublisher } from './packet-channel.ts'

export type { AclBufferSize, LinkKind } from './acl-flow.ts'
export {
  supportsCommand,
  DEFAULT_EVENT_MASK,
  DEFAULT_EVENT_MASK_PAGE_2,
  DEFAULT_LE_EVENT_MASK,
  type ControllerInfo,
  type InitOptions,
} from './bring-up.ts'

/** Time for the host: the global timers in production, a virtual clock in tests. */
export interface Clock {
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
  /** Milliseconds (Date.now() in production); used for packet timestamps. */
  now(): number
}

export { PACKET_CHANNEL, type PacketMessage } from './packet-channel.ts'

export type { CommandResult, SendOptions } from './send-types.ts'

export interface HciHostOptions {
  clock: Clock
  commandTimeoutMs?: number
  /** PDUs waiting per handle before sendAcl() rejects with 'ACL_QUEUE_FULL' (default 16). */
  aclQueueLimit?: number
  /** Bound on one reassembled incoming L2CAP PDU (default 65535 + 4). */
  maxPduSize?: number
  /** Malformed events and ACL data from the controller (they are also counted in `stats`). */
  onError?: (err: DecodeError | AclError) => void
  /**
   * Publish this host's packets on the diagnostics channel (default true). Hosts that only play a
   * part in someone else's session (the virtual peripherals of `hcikit demo`) set it to false, so
   * that HCIKIT_LOG and HCIKIT_SNOOP show one host's traffic, as a capture from one dongle would.
   */
  diagnostics?: boolean
  /** A name for this host in HCIKIT_LOG and HCIKIT_SNOOP (PacketMessage.hostName). */
  name?: string
}

interface PendingCommand {
  spec: CommandSpec
  packet: Uint8Array
  /** ms */
  timeout: number
  resolve: (v: never) => void
  reject: (err: unknown) => void
  state: 'queued' | 'sent' | 'done'
  timer: unknown
  signal: AbortSignal | undefined
  onAbort: (() => void) | undefined
}

const hex4 = (v: number): string => `0x${v.toString(16).padStart(4, '0')}`
const hex3 = (v: number): string => `0x${v.toString(16).padStart(3, '0')}`

function subscribe<T>(set: Set<T>, cb: T): () => void {
  set.add(cb)
  return () => void set.delete(cb)
}

/** A subscriber that throws is a bug upstream: surface it without breaking the host. */
function rethrowLater(err: unknown): void {
  queueMicrotask(() => {
    throw err
  })
}

/** Call subscribers (no rest arguments: this runs for every packet). */
function deliver<A>(cbs: Set<(a: A) => void>, a: A): void {
  for (const cb of cbs) {
    try {
      cb(a)
    } catch (err) {
      rethrowLater(err)
    }
  }
}

function deliver2<A, B>(cbs: Set<(a: A, b: B) => void>, a: A, b: B): void {
  for (const cb of cbs) {
    try {
      cb(a, b)
    } catch (err) {
      rethrowLater(err)
    }
  }
}

export class HciHost {
  private readonly clock: Clock
  /** Publishes this host's packets (PacketMessage, hci/packet-channel.ts). */
  private readonly packets: PacketPublisher
  /** This host's number in PacketMessage.hostId (unique in the process). */
  readonly id: number
  private readonly commandTimeoutMs: number
  private readonly onError: ((err: DecodeError | AclError) => void) | undefined

  private credits = 1
  /** The controller's last Command Complete / Command Status said Num_HCI_Command_Packets 0. */
  private grantedNone = false
  private readonly queue: PendingCommand[] = []
  private readonly inFlight: PendingCommand[] = []

  private readonly acl: AclFlow
  private readonly reassembler: AclReassembler
  private readonly connected = new Map<number, LinkKind>()

  private readonly eventCbs = new Set<(e: HciEvent) => void>()
  private readonly aclCbs = new Set<(handle: number, pdu: Uint8Array) => void>()
  private readonly closeCbs = new Set<(err?: Error) => void>()
  private closed: { err: Error | undefined } | undefined

  /** The controller, once init() has run. */
  info: ControllerInfo | undefined

  readonly stats = {
    commandsSent: 0,
    eventsReceived: 0,
    eventDecodeErrors: 0,
    commandTimeouts: 0,
    /** Command Complete / Status for no command in flight (late answers to timed-out commands). */
    unmatchedResponses: 0,
    aclReceived: 0,
    aclMalformed: 0,
    aclUnknownHandle: 0,
    aclReassemblyErrors: 0,
    /** Number Of Completed Packets reporting more than was in flight. */
    aclExcessCompletions: 0,
    /** SCO, ISO and command packets from the controller: not handled by this host. */
    otherPacketsDropped: 0,
  }

  constructor(
    private readonly transport: Transport,
    options: HciHostOptions,
  ) {
    if (!options?.clock) throw new TypeError('HciHost needs options.clock (hci/ has no timers of its own)')
    this.clock = options.clock
    this.packets = new PacketPublisher(options.clock, options.diagnostics ?? true, options.name)
    this.id = this.packets.hostId
    this.commandTimeoutMs = options.commandTimeoutMs ?? 5000
    this.onError = options.onError
    this.acl = new AclFlow({
      transmit: (packet) => this.transmit(H4Type.Acl, packet),
      queueLimit: options.aclQueueLimit,
    })
    this.reassembler = new AclReassembler({
      maxPduSize: options.maxPduSize,
      onError: (err) => {
        this.stats.aclReassemblyErrors++
        this.onError?.(err)
      },
    })
    transport.onPacket((p) => this.receive(p))
    transport.onClose((err) => this.transportClosed(err))
  }

  // --- subscriptions -------------------------------------------------------------------------

  /** Every event from the controller, after the host has processed it. Returns unsubscribe. */
  onEvent(cb: (e: HciEvent) => void): () => void {
    return subscribe(this.eventCbs, cb)
  }

  /** Reassembled L2CAP PDUs (basic header included) on connected handles. Returns unsubscribe. */
  onAcl(cb: (handle: number, pdu: Uint8Array) => void): () => void {
    return subscribe(this.aclCbs, cb)
  }

  /** The transport closed (with its error, if it failed). Returns unsubscribe. */
  onClose(cb: (err?: Error) => void): () => void {
    return subscribe(this.closeCbs, cb)
  }

  close(): Promise<void> {
    return this.transport.close()
  }

  // --- observability -------------------------------------------------------------------------

  /** Commands the controller currently lets us send. */
  get commandCredits(): number {
    return this.credits
  }

  /** Commands sent and not yet answered (aborted ones included until answered). */
  get commandsInFlight(): number {
    return this.inFlight.length
  }

  /** ACL buffers for a link kind (size, total, free), once init() has read them. */
  aclBuffers(kind: LinkKind = 'le'): { length: number; count: number; free: number } | undefined {
    return this.acl.buffers(kind)
  }

  /** Connected handles known to the host. */
  get connections(): ReadonlyMap<number, LinkKind> {
    return this.connected
  }

  // --- commands ------------------------------------------------------------------------------

  send<C extends CommandSpec>(spec: C, params: CommandParams<C>, options: SendOptions = {}): Promise<CommandResult<C>> {
    return new Promise<CommandResult<C>>((resolve, reject) => {
      const { signal } = options
      if (signal?.aborted) return reject(signal.reason)
      if (this.closed) return reject(this.closedError(spec))
      let packet: Uint8Array
      try {
        packet = encodeCommand(spec, params)
      } catch (err) {
        return reject(err)
      }
      const timeout = options.timeout ?? this.commandTimeoutMs
      const p: PendingCommand = {
        spec,
        packet,
        timeout,
        resolve: resolve as (v: never) => void,
        reject,
        state: 'queued',
        timer: undefined,
        signal,
        onAbort: undefined,
      }
      p.timer = this.clock.setTimeout(() => this.timedOut(p), timeout)
      if (signal) {
        p.onAbort = () => this.aborted(p)
        signal.addEventListener('abort', p.onAbort, { once: true })
      }
      this.queue.push(p)
      this.pumpCommands()
    })
  }

  private pumpCommands(): void {
    while (this.credits > 0 && this.queue.length > 0 && !this.closed) {
      const p = this.queue.shift()!
      this.credits--
      p.state = 'sent'
      this.inFlight.push(p)
      this.stats.commandsSent++
      let sent: void | Promise<void>
      try {
        sent = this.transmit(H4Type.Command, p.packet)
      } catch (err) {
        // Never reached the controller: its credit is still ours.
        this.credits++
        this.removeInFlight(p)
        this.fail(p, err)
        continue
      }
      if (sent !== undefined && typeof (sent as Promise<void>).then === 'function') {
        sent.then(undefined, (err: unknown) => this.fail(p, err))
      }
    }
  }

  private finish(p: PendingCommand): void {
    p.state = 'done'
    this.clock.clearTimeout(p.timer)
    if (p.onAbort) p.signal?.removeEventListener('abort', p.onAbort)
  }

  private fail(p: PendingCommand, err: unknown): void {
    if (p.state === 'done') return
    this.finish(p)
    p.reject(err)
  }

  private succeed(p: PendingCommand, value: unknown): void {
    if (p.state === 'done') return
    this.finish(p)
    p.resolve(value as never)
  }

  private removeInFlight(p: PendingCommand): boolean {
    const i = this.inFlight.indexOf(p)
    if (i < 0) return false
    this.inFlight.splice(i, 1)
    return true
  }

  private timedOut(p: PendingCommand): void {
    const neverSent = p.state === 'queued'
    if (neverSent) {
      this.queue.splice(this.queue.indexOf(p), 1)
    } else if (this.removeInFlight(p)) {
      // Presumed lost by the controller: take its credit back so the queue keeps moving.
      this.credits = Math.max(this.credits, 1)
    }
    if (p.state !== 'done') {
      this.stats.commandTimeouts++
      this.fail(p, this.timeoutError(p, neverSent))
    }
    this.pumpCommands()
  }

  /**
   * A command that was never sent timed out because the controller's last Command Complete or
   * Command Status set Num_HCI_Command_Packets to 0 (4.4) and nothing gave a credit back: say
   * that, not that a command the controller never saw went unanswered.
   */
  private timeoutError(p: PendingCommand, neverSent: boolean): HciError {
    const what = `${p.spec.name} (${hex4(p.spec.opcode)})`
    if (neverSent && this.credits === 0 && this.grantedNone) {
      return new HciError(
        'HCI_NO_COMMAND_CREDITS',
        'hci',
        `${what} was never sent: the controller granted no command credits (Num_HCI_Command_Packets 0) for ${p.timeout} ms`,
        { hint: 'the controller is busy or wedged and allows no commands; reset it or replug it' },
      )
    }
    return new HciError(
      'HCI_COMMAND_TIMEOUT',
      'hci',
      `${what} timed out: no Command Complete or Command Status within ${p.timeout} ms`,
      { hint: 'the controller stopped answering; it may need a reset or a replug' },
    )
  }

  private aborted(p: PendingCommand): void {
    const reason = p.signal!.reason
    if (p.state === 'queued') {
      this.queue.splice(this.queue.indexOf(p), 1)
      this.fail(p, reason)
      return
    }
    if (p.state === 'sent') {
      // Its answer will still come and carries the credit; keep the entry (and the timer, which
      // cleans up if it never comes) so that answer is not taken for a later command's.
      p.state = 'done'
      if (p.onAbort) p.signal?.removeEventListener('abort', p.onAbort)
      p.reject(reason)
    }
  }

  private statusError(p: PendingCommand, status: number): HciError {
    const name = statusName(status)
    return new HciError('HCI_COMMAND_FAILED', 'hci', `${p.spec.name} failed: ${name}`, { status, statusName: name })
  }

  private takeInFlight(opcode: number): PendingCommand | undefined {
    const i = this.inFlight.findIndex((p) => p.spec.opcode === opcode)
    if (i < 0) {
      this.stats.unmatchedResponses++
      return undefined
    }
    const p = this.inFlight[i]!
    this.inFlight.splice(i, 1)
    if (p.state === 'done') this.clock.clearTimeout(p.timer) // aborted: only its answer was awaited
    return p
  }

  private commandComplete(credits: number, opcode: number, ret: Uint8Array): void {
    this.credits = credits
    this.grantedNone = credits === 0
    const p = opcode === 0 ? undefined : this.takeInFlight(opcode)
    if (p && p.state !== 'done') {
      const decoded = decodeReturnParameters(opcode, ret)
      if (decoded === undefined) {
        // A command without typed return parameters (normally answered by Command Status).
        const status = ret[0] ?? 0
        if (status !== 0) this.fail(p, this.statusError(p, status))
        else this.succeed(p, { status })
      } else if (decoded instanceof DecodeError) {
        if (ret.length > 0 && ret[0] !== 0) this.fail(p, this.statusError(p, ret[0]!))
        else {
          this.fail(
            p,
            new HciError(
              'HCI_BAD_RESPONSE',
              'hci',
              `${p.spec.name}: return parameters do not decode: ${decoded.message}`,
              {
                cause: decoded,
              },
            ),
          )
        }
      } else {
        const status = decoded.value['status']
        if (typeof status === 'number' && status !== 0) this.fail(p, this.statusError(p, status))
        else this.succeed(p, decoded.value)
      }
    }
    this.pumpCommands()
  }

  private commandStatus(status: number, credits: number, opcode: number): void {
    this.credits = credits
    this.grantedNone = credits === 0
    if (opcode !== 0) {
      const i = this.inFlight.findIndex((p) => p.spec.opcode === opcode)
      const p = this.inFlight[i]
      if (!p) {
        this.stats.unmatchedResponses++
      } else if (status !== 0 || p.spec.returns === undefined) {
        this.takeInFlight(opcode)
        if (status !== 0) this.fail(p, this.statusError(p, status))
        else this.succeed(p, { status })
      }
      // Status 0 for a command that answers with Command Complete: keep waiting for that.
    }
    this.pumpCommands()
  }

  private closedError(spec: CommandSpec): HciError {
    const err = this.closed?.err
    return new HciError(
      'TRANSPORT_CLOSED',
      'transport',
      `${spec.name} (${hex4(spec.opcode)}): the transport closed${err ? ` (${err.message})` : ''} before the controller answered`,
      { cause: err },
    )
  }

  /** Reject every queued and in-flight command, each with its own error. */
  private failAllCommands(error: (p: PendingCommand) => Error): void {
    const all = [...this.inFlight, ...this.queue]
    this.inFlight.length = 0
    this.queue.length = 0
    for (const p of all) {
      this.clock.clearTimeout(p.timer)
      this.fail(p, error(p))
    }
  }

  // --- ACL -----------------------------------------------------------------------------------

  /**
   * Send one L2CAP PDU (basic header included) on a connected handle. Resolves when its last
   * fragment has been handed to the transport: await it before sending more (back-pressure).
   */
  sendAcl(handle: number, l2capPdu: Uint8Array): Promise<void> {
    if (this.closed) {
      return Promise.reject(
        new HciError('TRANSPORT_CLOSED', 'transport', `ACL data for handle ${hex3(handle)}: the transport is closed`),
      )
    }
    return this.acl.send(handle, l2capPdu)
  }

  private connect(handle: number, kind: LinkKind): void {
    this.connected.set(handle, kind)
    this.acl.addLink(handle, kind)
  }

  private disconnect(handle: number, reason: number): void {
    this.connected.delete(handle)
    this.reassembler.drop(handle)
    this.acl.removeLink(
      handle,
      new HciError(
        'ACL_DISCONNECTED',
        'hci',
        `handle ${hex3(handle)} disconnected (${statusName(reason)}) before the PDU was sent`,
        {
          status: reason,
          statusName: statusName(reason),
        },
      ),
    )
  }

  private dropAllLinks(error: Error): void {
    this.acl.failAll(error)
    for (const h of this.connected.keys()) this.reassembler.drop(h)
    this.connected.clear()
  }

  // --- receive path --------------------------------------------------------------------------

  private transmit(type: number, data: Uint8Array): void | Promise<void> {
    const r = this.transport.send({ type, data })
    this.packets.publish('tx', type, data)
    return r
  }

  private receive(packet: HciPacket): void {
    this.packets.publish('rx', packet.type, packet.data)
    if (packet.type === H4Type.Event) this.event(packet.data)
    else if (packet.type === H4Type.Acl) this.aclIn(packet.data)
    else this.stats.otherPacketsDropped++
  }

  private event(data: Uint8Array): void {
    const e = decodeEvent(data)
    if (e instanceof DecodeError) {
      this.stats.eventDecodeErrors++
      this.onError?.(e)
      return
    }
    this.stats.eventsReceived++
    switch (e.key) {
      case 'CommandComplete':
        this.commandComplete(e.params.numHciCommandPackets, e.params.opcode, e.params.returnParameters)
        break
      case 'CommandStatus':
        this.commandStatus(e.params.status, e.params.numHciCommandPackets, e.params.opcode)
        break
      case 'NumberOfCompletedPackets':
        for (const h of e.params.handles) {
          const before = this.acl.stats.excessCompletions
          this.acl.completed(h.connectionHandle & 0x0fff, h.numCompletedPackets)
          this.stats.aclExcessCompletions += this.acl.stats.excessCompletions - before
        }
        break
      case 'DisconnectionComplete':
        if (e.params.status === 0) this.disconnect(e.params.connectionHandle & 0x0fff, e.params.reason)
        break
      case 'LeConnectionComplete':
      case 'LeEnhancedConnectionComplete':
      case 'LeEnhancedConnectionCompleteV2':
        if (e.params.status === 0) this.connect(e.params.connectionHandle & 0x0fff, 'le')
        break
      case 'ConnectionComplete':
        // Link type 0x01 is ACL; SCO/eSCO handles carry no ACL data.
        if (e.params.status === 0 && e.params.linkType === 0x01)
          this.connect(e.params.connectionHandle & 0x0fff, 'bredr')
        break
      case 'HardwareError': {
        const code = `0x${e.params.hardwareCode.toString(16).padStart(2, '0')}`
        const error = (what: string): HciError =>
          new HciError('HCI_HARDWARE_ERROR', 'hci', `${what}: the controller reported Hardware Error ${code}`, {
            hint: 'reset the controller (init() again) before using it',
          })
        this.failAllCommands((p) => error(`${p.spec.name} (${hex4(p.spec.opcode)})`))
        this.dropAllLinks(error('ACL data'))
        this.credits = 1
        break
      }
      default:
        break
    }
    deliver(this.eventCbs, e)
  }

  private aclIn(data: Uint8Array): void {
    const a = decodeAclHeader(data)
    if (a instanceof DecodeError) {
      this.stats.aclMalformed++
      this.onError?.(a)
      return
    }
    if (!this.connected.has(a.handle)) {
      // Never connected (a vendor debug channel such as 0x0EDC, or a stale handle): drop.
      this.stats.aclUnknownHandle++
      return
    }
    this.stats.aclReceived++
    const pdu = this.reassembler.push(a)
    if (pdu) deliver2(this.aclCbs, a.handle, pdu)
  }

  private transportClosed(err: Error | undefined): void {
    if (this.closed) return
    this.closed = { err }
    this.failAllCommands((p) => this.closedError(p.spec))
    this.dropAllLinks(
      new HciError(
        'TRANSPORT_CLOSED',
        'transport',
        `ACL data: the transport closed${err ? ` (${err.message})` : ''} before it was sent`,
        { cause: err },
      ),
    )
    deliver(this.closeCbs, err)
  }

  // --- bring-up ------------------------------------------------------------------------------

  /** Reset the controller and read what the host needs (bring-up.ts); kept as `info`. */
  async init(options: InitOptions = {}): Promise<ControllerInfo> {
    this.info = await bringUp(
      {
        send: (spec, params, o) => this.send(spec, params, o),
        afterReset: () =>
          this.dropAllLinks(new HciError('HCI_RESET', 'hci', 'ACL data: the controller was reset before it was sent')),
        configureAcl: (le, bredr) => this.acl.configure(le, bredr),
      },
      options,
    )
    return this.info
  }
}
