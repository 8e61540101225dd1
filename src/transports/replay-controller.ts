/**
 * The controller a `replay:FILE` plays for a host the capture never saw (mode 'controller' of
 * replay.ts): it answers our host's commands from the capture's facts (replay-facts.ts), keeps
 * the few pieces of state a controller keeps for the host, and says which of the capture's own
 * controller packets a host like ours would have been sent.
 *
 * Answers (Core v5.4 Vol 4 Part E 4.4 command flow, 7.7.14 Command Complete, 7.7.15 Command
 * Status; Num_HCI_Command_Packets is always 1): every command gets one, after the current turn.
 * - Disconnect (7.1.6) is followed by Disconnection Complete (7.7.5, reason 0x16 Connection
 *   Terminated By Local Host), LE Create Connection Cancel (7.8.13) of a pending attempt by LE
 *   Connection Complete with status 0x02 Unknown Connection Identifier, as a controller does.
 * - Each ACL packet from the host is acknowledged by Number Of Completed Packets (7.7.19), so the
 *   host's ACL credits come back.
 * The capture's packets (`admit`):
 * - Command Complete, Command Status and Number Of Completed Packets answered the recorded host's
 *   commands and data, not ours: withheld (counted).
 * - Advertising reports (7.7.65.2, .11, .13) reach the host only while it scans, as a
 *   controller reports only then; the others are counted as `notScanning`.
 * - Everything else (connections, disconnections, ACL, security and PHY events) is delivered.
 * Playback starts when the host becomes active (scans, connects, advertises): `onActive`.
 */
import { encodeEvent, CommandComplete, CommandStatus, DisconnectionComplete } from '../../hci/events.ts'
import { LeConnectionComplete, NumberOfCompletedPackets } from '../../hci/events.ts'
import type { HciPacket } from '../../hci/transport.ts'
import { answerFor, type ControllerFacts } from './replay-facts.ts'

const H4_COMMAND = 1
const H4_ACL = 2
const H4_EVENT = 4

/** Opcodes the replay looks into (Vol 4 Part E 7.1.6, 7.8.9, 7.8.11, 7.8.12, 7.8.13, 7.8.56, 7.8.65, 7.8.66). */
const OP = {
  disconnect: 0x0406,
  leSetAdvertisingEnable: 0x200a,
  leSetScanEnable: 0x200c,
  leCreateConnection: 0x200d,
  leCreateConnectionCancel: 0x200e,
  leSetExtendedAdvertisingEnable: 0x2039,
  leSetExtendedScanEnable: 0x2042,
  leExtendedCreateConnection: 0x2043,
} as const

/** LE Meta sub-events that are advertising reports: legacy, directed, extended (7.7.65.2/.11/.13). */
const REPORT_SUBEVENTS = new Set([0x02, 0x0b, 0x0d])
/** LE (Enhanced) Connection Complete v1/v2 (7.7.65.1, 7.7.65.10). */
const CONNECTION_SUBEVENTS = new Set([0x01, 0x0a, 0x29])

export interface ReplayControllerStats {
  /** Commands of our host answered. */
  answered: number
  /** ... with return parameters the capture holds. */
  fromCapture: number
  /** ... with made-up return parameters (zeros, default buffers), the capture had none. */
  synthesized: number
  /** The capture's answers to the recorded host (Command Complete/Status, completed packets). */
  withheld: number
  /** The capture's advertising reports while our host was not scanning. */
  notScanning: number
}

export type Admission = 'deliver' | 'withhold' | 'not-scanning'

export class ReplayController {
  readonly stats: ReplayControllerStats = { answered: 0, fromCapture: 0, synthesized: 0, withheld: 0, notScanning: 0 }
  private scanning = false
  private initiating = false
  private activeNow = false

  constructor(
    private readonly facts: ControllerFacts,
    /** Hands a packet to the host (called from a later turn than the host's send). */
    private readonly emit: (p: HciPacket) => void,
    private readonly onActive: () => void,
  ) {}

  /** Has the host started scanning, connecting or advertising? */
  get active(): boolean {
    return this.activeNow
  }

  /** A packet from our host. */
  hostPacket(p: HciPacket): void {
    if (p.type === H4_COMMAND && p.data.length >= 3) this.command(p.data)
    else if (p.type === H4_ACL && p.data.length >= 2) {
      const handle = (p.data[0]! | (p.data[1]! << 8)) & 0x0fff
      this.later(
        encodeEvent(NumberOfCompletedPackets, { handles: [{ connectionHandle: handle, numCompletedPackets: 1 }] }),
      )
    }
  }

  /** What to do with one of the capture's controller-to-host packets. */
  admit(type: number, data: Uint8Array): Admission {
    if (type !== H4_EVENT) return 'deliver'
    const code = data[0]
    if (code === 0x0e || code === 0x0f || code === 0x13) {
      this.stats.withheld++
      return 'withhold'
    }
    if (code === 0x3e && data.length >= 3) {
      const sub = data[2]!
      if (REPORT_SUBEVENTS.has(sub) && !this.scanning) {
        this.stats.notScanning++
        return 'not-scanning'
      }
      if (CONNECTION_SUBEVENTS.has(sub)) this.initiating = false
    }
    return 'deliver'
  }

  private command(data: Uint8Array): void {
    const opcode = data[0]! | (data[1]! << 8)
    const params = data.subarray(3)
    const answer = answerFor(this.facts, opcode)
    this.stats.answered++
    if (answer.from === 'capture') this.stats.fromCapture++
    else this.stats.synthesized++
    if (answer.kind === 'status') {
      this.later(encodeEvent(CommandStatus, { status: answer.status, numHciCommandPackets: 1, opcode }))
    } else {
      this.later(encodeEvent(CommandComplete, { numHciCommandPackets: 1, opcode, returnParameters: answer.returns }))
    }
    this.follow(opcode, params)
  }

  /** The state a command changes, and the events a controller sends after some of them. */
  private follow(opcode: number, params: Uint8Array): void {
    switch (opcode) {
      case OP.leSetScanEnable:
      case OP.leSetExtendedScanEnable:
        this.scanning = params[0] === 1
        if (this.scanning) this.activate()
        break
      case OP.leSetAdvertisingEnable:
      case OP.leSetExtendedAdvertisingEnable:
        if (params[0] === 1) this.activate()
        break
      case OP.leCreateConnection:
      case OP.leExtendedCreateConnection:
        this.initiating = true
        this.activate()
        break
      case OP.leCreateConnectionCancel:
        if (this.initiating) {
          this.initiating = false
          this.later(encodeEvent(LeConnectionComplete, cancelledConnection()))
        }
        break
      case OP.disconnect:
        if (params.length >= 2) {
          const connectionHandle = (params[0]! | (params[1]! << 8)) & 0x0fff
          this.later(encodeEvent(DisconnectionComplete, { status: 0, connectionHandle, reason: 0x16 }))
        }
        break
    }
  }

  private activate(): void {
    if (this.activeNow) return
    this.activeNow = true
    this.onActive()
  }

  private later(data: Uint8Array): void {
    setImmediate(() => this.emit({ type: H4_EVENT, data }))
  }
}

function cancelledConnection(): Parameters<typeof encodeEvent<typeof LeConnectionComplete>>[1] {
  return {
    status: 0x02,
    connectionHandle: 0,
    role: 0,
    peerAddressType: 0,
    peerAddress: '00:00:00:00:00:00',
    connectionInterval: 0,
    peripheralLatency: 0,
    supervisionTimeout: 0,
    centralClockAccuracy: 0,
  }
}
