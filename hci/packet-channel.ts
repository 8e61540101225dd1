/**
 * The host's packets on the diagnostics channel 'hcikit:packet' (docs/ARCHITECTURE.md,
 * house style 7): every HCI packet in and out (Core v5.4 Vol 4 Part E 5.4, the packet types of
 * the H4 transport, Part A 2) is published as a PacketMessage; HCIKIT_LOG and HCIKIT_SNOOP
 * (src/log.ts, src/snoop-capture.ts) subscribe. Each host has a number unique in the process, so
 * the packets of several adapters in one process are never told apart by guesswork. Publishing
 * costs one check when nobody listens.
 */
import { channel } from 'node:diagnostics_channel'

export const PACKET_CHANNEL = 'hcikit:packet'

/** What is published on 'hcikit:packet' for every HCI packet. */
export interface PacketMessage {
  direction: 'tx' | 'rx'
  /** H4 packet type. */
  type: number
  /** The packet without its H4 type byte. */
  data: Uint8Array
  /** clock.now() in microseconds. */
  timestampUs?: bigint
  /** Which host (adapter) sent or received it: a number unique in the process, counted from 1. */
  hostId?: number
  /** The host's name (HciHostOptions.name, e.g. the adapter's transport spec), when it has one. */
  hostName?: string
}

const packetChannel = channel(PACKET_CHANNEL)
let hostCount = 0

/** One host's publisher: its number, its name, and whether it publishes at all. */
export class PacketPublisher {
  /** This host's number in PacketMessage.hostId (unique in the process). */
  readonly hostId = ++hostCount

  constructor(
    private readonly clock: { now(): number },
    private readonly enabled: boolean,
    private readonly hostName: string | undefined,
  ) {}

  publish(direction: 'tx' | 'rx', type: number, data: Uint8Array): void {
    if (!this.enabled || !packetChannel.hasSubscribers) return
    const timestampUs = BigInt(Math.round(this.clock.now() * 1000))
    const msg: PacketMessage = { direction, type, data, timestampUs, hostId: this.hostId, hostName: this.hostName }
    packetChannel.publish(msg)
  }
}
