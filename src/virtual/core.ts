/**
 * The core of a virtual LE controller: the controller side of HCI (Core v5.4 Vol 4 Part E) over
 * an in-memory transport, on a shared virtual air (air.ts, link.ts).
 *
 * The core owns what every feature shares: command dispatch by opcode (4.4 command flow;
 * 7.7.14 Command Complete / 7.7.15 Command Status, one command credit), parameter decoding with
 * the hci/ specs (undecodable parameters -> Invalid HCI Command Parameters 0x12; an opcode
 * without a handler -> Unknown HCI Command 0x01, 4.5), the event masks (7.3.1, 7.3.69, 7.8.1;
 * Command Complete, Command Status and Number Of Completed Packets are never masked), the
 * legacy/extended advertising command rule (3.1.1: after one kind, the other gets Command
 * Disallowed 0x0C until Reset), reset, the Filter Accept List (accept-list.ts) and the attach /
 * detach of one host at a time. Features (basic.ts, advertising.ts, scanning.ts,
 * connections.ts ...) depend on this core only; controller.ts puts them together.
 */
import { createMemoryPair, type MemoryTransport } from '../../hci/memory-transport.ts'
import type { HciPacket, Transport } from '../../hci/transport.ts'
import type { CommandParams, CommandReturn, CommandSpec, EventParams, EventSpec } from '../../hci/spec.ts'
import { LE_META_EVENT, decodeStruct } from '../../hci/spec.ts'
import { decodeCommand, encodeReturnParameters } from '../../hci/commands.ts'
import { CommandComplete, CommandStatus, HardwareError, encodeEvent } from '../../hci/events.ts'
import { DecodeError } from '../../hci/errors.ts'
import { H4Type, Status } from '../../hci/constants.ts'
import type { Air, AirKind, AirPduMap, ConnectIndPdu, Station } from './air.ts'
import { seededRandom } from './scheduler.ts'
import { advertisingKindOf } from './supported-commands.ts'
import { ControllerError } from './controller-error.ts'
import { AcceptList } from './accept-list.ts'
import { type Identity, ResolvingList } from './resolving-list.ts'

export interface ControllerOptions {
  /** Public BD_ADDR, "AA:BB:CC:DD:EE:FF"; default derived from the link's seed and an index. */
  address?: string
  /** For logs. */
  name?: string
  /** LE_ACL_Data_Packet_Length (default 251). */
  aclDataLength?: number
  /** Total_Num_LE_ACL_Data_Packets (default 8). */
  aclCount?: number
  /** Connection timing (connections.ts): 'realistic' (default) paces PDUs by connection events; 'fast' sends at once. */
  timing?: 'fast' | 'realistic'
  /** PDUs each way per connection event (default 4, >= 1). */
  packetsPerEvent?: number
}

/** What Read Local Version Information reports as LMP/LL version and LL_VERSION_IND carries. */
export interface ControllerVersion {
  version: number
  companyIdentifier: number
  subversion: number
}

/** What a peripheral-to-be learns when an initiator's CONNECT_IND hits one of its advertising sets. */
export interface PeripheralConnect {
  from: ControllerCore
  pdu: ConnectIndPdu
  rssi: number
  /** The advertising set (0 for legacy advertising). */
  handle: number
  /**
   * Advertising enabled with the legacy commands (7.8.9): no advertising handle to report, no
   * LE Advertising Set Terminated. (An extended set sending legacy PDUs has legacy false here;
   * its PDU type is in `pdu.legacy`.)
   */
  legacy: boolean
  /** The address the advertiser used on the air (AdvA) and its type (0 public, 1 random). */
  localAddress: string
  localAddressType: number
  /** Own_Address_Type of the advertising parameters (0-3). */
  ownAddressType: number
  /** The initiator as the Host is told (the identity, type 2/3, when its RPA was resolved). */
  peerAddress: string
  peerAddressType: number
  /** The initiator's RPA (InitA) when it was resolved; our RPA (AdvA) when we made it from a local IRK. */
  peerRpa: string | undefined
  localRpa: string | undefined
}

/** Tiny typed hooks between feature modules (advertising.ts -> connections.ts). */
export class ControllerHooks {
  private connectIndFn: ((ind: PeripheralConnect) => number | undefined) | undefined

  /**
   * connections.ts: a CONNECT_IND reached an active connectable advertising set, which has
   * already stopped. Send the (Enhanced) Connection Complete and return the new connection
   * handle, or undefined to refuse (no connection: the set has still stopped).
   */
  onConnectInd(fn: (ind: PeripheralConnect) => number | undefined): void {
    this.connectIndFn = fn
  }

  /** advertising.ts: deliver a CONNECT_IND; undefined when nobody takes connections. */
  connectInd(ind: PeripheralConnect): number | undefined {
    return this.connectIndFn?.(ind)
  }

  get acceptsConnections(): boolean {
    return this.connectIndFn !== undefined
  }
}

/** An address of ours on the air; `generated`: an RPA the controller made from a local IRK. */
export interface OwnAddress {
  address: string
  type: number
  generated?: true
}

/** What a module can be busy with (see `activity`). */
export type Activity = 'legacy-advertising' | 'extended-advertising' | 'scanning' | 'initiating' | 'connected'

type Handler = { spec: CommandSpec; fn: (params: never) => unknown }
type AirFn = (from: ControllerCore, pdu: never, rssi: number) => void

const bit = (mask: Uint8Array, n: number): boolean => ((mask[n >> 3]! >> (n & 7)) & 1) === 1

function maskOf(v: bigint): Uint8Array {
  const out = new Uint8Array(8)
  for (let i = 0; i < 8; i++) out[i] = Number((v >> BigInt(8 * i)) & 0xffn)
  return out
}

/** Defaults after Reset: 7.3.1 (bits 0-44), 7.3.69 (none), 7.8.1 (bits 0-4). */
export const RESET_EVENT_MASK = maskOf(0x0000_1fff_ffff_ffffn)
export const RESET_EVENT_MASK_PAGE_2 = maskOf(0n)
export const RESET_LE_EVENT_MASK = maskOf(0x1fn)

/** Events never masked (their bits are "previously used" in 7.3.1). */
const UNMASKABLE = new Set([0x0e, 0x0f, 0x13])

/**
 * Return parameters of a failed command, full length as controllers send them (some hosts read
 * the fields after Status without checking it): zeros, with Status, and the handle parameters
 * (connection / advertising handle) echoed from the command.
 */
function failureReturns(
  spec: CommandSpec,
  status: number,
  params: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const zeros = decodeStruct(spec.returns!, new Uint8Array(1024))
  const value: Record<string, unknown> = zeros instanceof DecodeError ? {} : { ...zeros.value }
  value['status'] = status
  for (const echo of ['connectionHandle', 'advertisingHandle', 'syncHandle']) {
    if (echo in value && params && echo in params) value[echo] = params[echo]
  }
  return value
}

function defaultAddress(seed: number, id: number): string {
  const r = seededRandom((seed * 7919 + id * 104_729) >>> 0)
  const b = [0xc0 | (id & 0x0f)]
  for (let i = 0; i < 5; i++) b.push(Math.floor(r() * 256))
  b[5] = id & 0xff
  return b.map((x) => x.toString(16).padStart(2, '0').toUpperCase()).join(':')
}

/** The controller without its features (controller.ts's VirtualController adds them). */
export class ControllerCore implements Station {
  readonly id: number
  readonly address: string
  readonly name: string
  randomAddress: string | undefined
  /** LE features (Vol 6 Part B 4.6); modules set the bits of what they implement (setFeature). */
  readonly features = new Uint8Array(8)
  readonly aclDataLength: number
  readonly aclCount: number
  readonly timing: 'fast' | 'realistic'
  readonly packetsPerEvent: number
  /** HCI/LMP version 0x0D = Core v5.4; company 0xFFFF (no manufacturer: testing). */
  readonly version: ControllerVersion = { version: 0x0d, companyIdentifier: 0xffff, subversion: 0 }
  readonly hooks = new ControllerHooks()
  /** The Filter Accept List (Vol 6 Part B 4.3.1); filter-accept-list.ts has its commands. */
  readonly acceptList = new AcceptList()
  /** The resolving list (Vol 6 Part B 4.7); privacy.ts has its commands. */
  readonly resolvingList: ResolvingList

  /** Event masks (7.3.1, 7.3.69, 7.8.1): current values. */
  eventMask = RESET_EVENT_MASK.slice()
  eventMaskPage2 = RESET_EVENT_MASK_PAGE_2.slice()
  leEventMask = RESET_LE_EVENT_MASK.slice()
  /** 3.1.1: which advertising command set the host has used since Reset. */
  advertisingCommands: 'none' | 'legacy' | 'extended' = 'none'

  /** Packets handled, for tests. */
  readonly stats = { commands: 0, events: 0, masked: 0, aclToHost: 0, aclFromHost: 0 }

  private readonly handlers = new Map<number, Handler>()
  private readonly resetFns: Array<() => void> = []
  private readonly airFns = new Map<AirKind, AirFn[]>()
  private readonly aclFns: Array<(data: Uint8Array) => void> = []
  private readonly activities = new Map<Activity, Array<() => boolean>>()
  private transport: MemoryTransport | undefined
  /** Events raised while a command is being handled go out after its Command Complete/Status. */
  private deferred: Uint8Array[] | undefined
  /** While resetting, modules' events are dropped. */
  private resetting = false
  private isStuck = false

  constructor(
    readonly link: Air,
    opts: ControllerOptions = {},
  ) {
    this.id = link.allocateId()
    this.resolvingList = new ResolvingList(link.scheduler)
    this.address = (opts.address ?? defaultAddress(link.seed, this.id)).toUpperCase()
    this.name = opts.name ?? `virtual${this.id}`
    this.aclDataLength = opts.aclDataLength ?? 251
    this.aclCount = opts.aclCount ?? 8
    if (!(this.aclDataLength >= 27 && this.aclDataLength <= 0xffff)) {
      throw new RangeError(`aclDataLength ${this.aclDataLength}: expected 27..65535`)
    }
    if (!(this.aclCount >= 1 && this.aclCount <= 255))
      throw new RangeError(`aclCount ${this.aclCount}: expected 1..255`)
    this.timing = opts.timing ?? 'realistic'
    this.packetsPerEvent = opts.packetsPerEvent ?? 4
    if (!(Number.isInteger(this.packetsPerEvent) && this.packetsPerEvent >= 1)) {
      throw new RangeError(`packetsPerEvent ${this.packetsPerEvent}: expected an integer >= 1`)
    }
  }

  // --- host side ------------------------------------------------------------------------------

  /** The Transport a host uses. A new attach() detaches the previous host and resets the controller. */
  attach(): Transport {
    this.detach()
    const [host, controller] = createMemoryPair()
    this.transport = controller
    controller.onPacket((p) => this.fromHost(controller, p))
    controller.onClose(() => {
      if (this.transport === controller) this.detach()
    })
    return host
  }

  /** Drop the host (its transport closes) and reset the controller. */
  detach(): void {
    const t = this.transport
    this.transport = undefined
    if (t && !t.closed) void t.close()
    this.resetState()
  }

  /** A host is attached. */
  get attached(): boolean {
    return this.transport !== undefined
  }

  // --- for feature modules --------------------------------------------------------------------

  /**
   * Register the handler of one command. `fn` returns the Command Complete return parameters
   * (status first) or, for commands answered by Command Status, a status number; a thrown
   * ControllerError(status) is answered with that status.
   */
  handle<C extends CommandSpec>(spec: C, fn: (params: CommandParams<C>) => CommandReturn<C> | number): void {
    if (this.handlers.has(spec.opcode)) throw new Error(`${spec.name}: handler registered twice`)
    this.handlers.set(spec.opcode, { spec, fn: fn as (params: never) => unknown })
  }

  /** Opcodes with a handler (what Read Local Supported Commands reports). */
  get handledOpcodes(): ReadonlySet<number> {
    return new Set(this.handlers.keys())
  }

  /** Is this event enabled by the masks? */
  eventEnabled(spec: EventSpec): boolean {
    if (UNMASKABLE.has(spec.code)) return true
    if (spec.code === LE_META_EVENT) {
      return bit(this.eventMask, 61) && spec.subevent !== undefined && bit(this.leEventMask, spec.subevent - 1)
    }
    if (spec.code >= 0x01 && spec.code <= 0x3f) return bit(this.eventMask, spec.code - 1)
    if (spec.code >= 0x40 && spec.code <= 0x7f) return bit(this.eventMaskPage2, spec.code - 0x40)
    return true
  }

  /** Send an event to the host if the event masks allow it. */
  event<E extends EventSpec>(spec: E, params: EventParams<E>): void {
    if (this.resetting) return
    if (!this.eventEnabled(spec)) {
      this.stats.masked++
      return
    }
    this.rawEvent(encodeEvent(spec, params))
  }

  /** Send ACL data to the host (already fragmented to the host-facing buffer size). */
  aclToHost(data: Uint8Array): void {
    if (this.resetting || !this.transport || this.transport.closed) return
    this.stats.aclToHost++
    this.transport.send({ type: H4Type.Acl, data })
  }

  onReset(fn: () => void): void {
    this.resetFns.push(fn)
  }

  onAir<K extends AirKind>(kind: K, fn: (from: ControllerCore, pdu: AirPduMap[K], rssi: number) => void): void {
    const list = this.airFns.get(kind) ?? []
    list.push(fn as AirFn)
    this.airFns.set(kind, list)
  }

  onHostAcl(fn: (data: Uint8Array) => void): void {
    this.aclFns.push(fn)
  }

  /**
   * Modules declare what they are doing (legacy advertising enabled, scanning, initiating ...),
   * so that other commands can answer Command Disallowed as the spec requires (7.8.4 ...).
   */
  activity(what: Activity, isActive: () => boolean): void {
    const list = this.activities.get(what) ?? []
    list.push(isActive)
    this.activities.set(what, list)
  }

  busy(what: Activity): boolean {
    return (this.activities.get(what) ?? []).some((f) => f())
  }

  /** Is (type, address) on the Filter Accept List? Type 0xFF: anonymous. */
  inAcceptList(addressType: number, address: string): boolean {
    return this.acceptList.has(addressType, address)
  }

  /** Set one LE feature bit (Vol 6 Part B 4.6) of something a module implements. */
  setFeature(n: number): void {
    this.features[n >> 3]! |= 1 << (n & 7)
  }

  hasFeature(n: number): boolean {
    return bit(this.features, n)
  }

  /** Called by the link: an air PDU for this controller (from another controller; others are ignored). */
  receive(from: Station, pdu: AirPduMap[AirKind], rssi: number): void {
    const list = this.airFns.get(pdu.kind)
    if (!list || !(from instanceof ControllerCore)) return
    for (const fn of list) fn(from, pdu as never, rssi)
  }

  /**
   * The address a module uses on the air for an Own_Address_Type (Vol 4 Part E 7.8.5): 0 public,
   * 1 random; 2/3 an RPA from the local IRK of `peer`'s resolving list entry (Vol 6 Part B 6),
   * else the public (2) or random (3) address. undefined: random needed but none set.
   */
  ownAddress(ownAddressType: number, peer?: Identity, random = this.randomAddress): OwnAddress | undefined {
    const rpa = ownAddressType >= 2 && peer ? this.resolvingList.localRpa(peer) : undefined
    if (rpa !== undefined) return { address: rpa, type: 1, generated: true }
    if (ownAddressType === 0 || ownAddressType === 2) return { address: this.address, type: 0 }
    return random === undefined ? undefined : { address: random, type: 1 }
  }

  // --- knobs ---------------------------------------------------------------------------------

  /** Hardware Error event (7.7.16) with `code`; the controller loses its state as after a crash. */
  injectHardwareError(code: number): void {
    this.event(HardwareError, { hardwareCode: code & 0xff })
    this.resetState()
  }

  /** true: commands get no answer at all (no Command Complete/Status); events still flow. */
  get stuck(): boolean {
    return this.isStuck
  }

  set stuck(v: boolean) {
    this.isStuck = v
  }

  // --- internals -----------------------------------------------------------------------------

  /** Reset every module and the core state (HCI Reset, attach/detach, hardware error). */
  resetState(): void {
    this.resetting = true
    try {
      for (const fn of this.resetFns) fn()
    } finally {
      this.resetting = false
    }
    this.randomAddress = undefined
    this.eventMask = RESET_EVENT_MASK.slice()
    this.eventMaskPage2 = RESET_EVENT_MASK_PAGE_2.slice()
    this.leEventMask = RESET_LE_EVENT_MASK.slice()
    this.advertisingCommands = 'none'
  }

  private rawEvent(packet: Uint8Array): void {
    if (this.deferred) {
      this.deferred.push(packet)
      return
    }
    if (!this.transport || this.transport.closed) return
    this.stats.events++
    this.transport.send({ type: H4Type.Event, data: packet })
  }

  private fromHost(from: MemoryTransport, p: HciPacket): void {
    if (from !== this.transport) return
    if (p.type === H4Type.Command) this.command(p.data)
    else if (p.type === H4Type.Acl) {
      this.stats.aclFromHost++
      for (const fn of this.aclFns) fn(p.data)
    }
    // SCO and ISO: not an LE-ACL controller's business; dropped.
  }

  private command(packet: Uint8Array): void {
    if (this.isStuck) return
    if (packet.length < 3) return // not even a header: nothing to answer to
    this.stats.commands++
    const opcode = packet[0]! | (packet[1]! << 8)
    const handler = this.handlers.get(opcode)
    if (!handler) {
      this.complete(opcode, new Uint8Array([Status.UnknownCommand]))
      return
    }
    const { spec } = handler
    const decoded = decodeCommand(packet)
    const answer = (status: number, returns?: Record<string, unknown>): void => {
      if (!spec.returns) this.statusEvent(opcode, status)
      else {
        const value =
          returns ?? failureReturns(spec, status, decoded instanceof DecodeError ? undefined : decoded.params)
        this.complete(opcode, encodeReturnParameters(spec, value as never))
      }
    }
    if (decoded instanceof DecodeError || decoded.trailing) {
      answer(Status.InvalidParameters)
      return
    }
    this.deferred = []
    let status = 0
    let returns: Record<string, unknown> | undefined
    try {
      const kind = advertisingKindOf(opcode)
      if (kind) {
        if (this.advertisingCommands !== 'none' && this.advertisingCommands !== kind) {
          throw new ControllerError(Status.CommandDisallowed, `${spec.name} after ${this.advertisingCommands} commands`)
        }
        this.advertisingCommands = kind
      }
      const r = handler.fn(decoded.params as never)
      if (typeof r === 'number') status = r
      else {
        returns = r as Record<string, unknown>
        status = Number(returns['status'] ?? 0)
      }
    } catch (err) {
      // A bug in a module: answer as a controller would (Unspecified Error), then surface it.
      status = err instanceof ControllerError ? err.status : Status.UnspecifiedError
      returns = undefined
      if (!(err instanceof ControllerError)) {
        queueMicrotask(() => {
          throw err
        })
      }
    }
    const later = this.deferred
    this.deferred = undefined
    answer(status, returns)
    for (const e of later) this.rawEvent(e)
  }

  private complete(opcode: number, returnParameters: Uint8Array): void {
    this.rawEvent(encodeEvent(CommandComplete, { numHciCommandPackets: 1, opcode, returnParameters }))
  }

  private statusEvent(opcode: number, status: number): void {
    this.rawEvent(encodeEvent(CommandStatus, { status, numHciCommandPackets: 1, opcode }))
  }
}
