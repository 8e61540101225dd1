/**
 * LE Credit Based Flow Control channels (Core v5.4 Vol 3 Part A 3.4, 4.22-4.24, 10.1).
 * Work in progress: see the full version.
 */
import { Duplex } from 'node:stream'
import type { Clock } from '../../hci/host.ts'
import { L2capError, type AclLink } from './link.ts'
import type { LeSignaling } from './signaling.ts'

export interface ChannelParameters {
  mtu?: number
  mps?: number
  initialCredits?: number
}
export interface ConnectOptions extends ChannelParameters {
  signal?: AbortSignal
}
export interface ListenOptions extends ChannelParameters {}
export interface CreditListener {
  readonly psm: number
  close(): void
}

export class CreditChannel extends Duplex {}

export class CreditChannels {
  readonly channels: CreditChannel[] = []
  constructor(
    readonly link: AclLink,
    readonly signaling: LeSignaling,
    readonly clock: Clock,
  ) {}
  listen(psm: number, _opts?: ListenOptions, _onChannel?: (c: CreditChannel) => void): CreditListener {
    return { psm, close() {} }
  }
  connect(_psm: number, _opts?: ConnectOptions): Promise<CreditChannel> {
    return Promise.reject(new L2capError('NOT_IMPLEMENTED', 'not yet'))
  }
  receive(_cid: number, _payload: Uint8Array): boolean {
    return false
  }
  close(_err: Error): void {}
}
