/**
 * LE signalling channel (Core v5.4 Vol 3 Part A 4). Work in progress: see the full version.
 */
import type { Clock } from '../../hci/host.ts'
import type { FixedChannel } from './mux.ts'

export interface ConnectionParameters {
  /** 1.25 ms units (6..3200). */
  intervalMin: number
  intervalMax: number
  /** Connection events (0..499). */
  latency: number
  /** 10 ms units (10..3200). */
  timeout: number
}

export interface LeSignalingOptions {
  clock: Clock
  rtxMs?: number
  onConnectionParameterUpdate?: (params: ConnectionParameters) => boolean | Promise<boolean>
  onConnectionParametersAccepted?: (params: ConnectionParameters) => void
}

export class LeSignaling {
  constructor(
    readonly channel: FixedChannel,
    readonly opts: LeSignalingOptions,
  ) {}
  receive(_payload: Uint8Array): void {}
  close(_err: Error): void {}
}
