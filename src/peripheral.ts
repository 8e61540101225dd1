/**
 * The peripheral side of the public API (Core v5.4 Vol 3 Part C 9.3 connectable mode and 11
 * advertising data; Vol 3 Part G 3 the served database):
 *
 *   const server = adapter.serve({ services: [...] })      // a GattServer on every connection
 *   await adapter.advertise({ name: 'HRM', services: ['180d'] })
 *   adapter.on('connection', (central) => ...)             // a Central: address, disconnect()
 *   await server.notify('2a37', bytes)                     // every subscribed central
 *   await central.secure('encrypted')                      // Security Request; the central encrypts or pairs
 *
 * `advertisingData()` lays out the advertising options as the Core Specification Supplement
 * Part A wants them in 31 octets: flags, the name (complete, or shortened when it does not fit,
 * with the complete one moved to the scan response), the service UUID list (in the scan
 * response when the advertising data is full), appearance, TX power, manufacturer and service data.
 */
import { AdBuilder } from '../gap/ad.ts'
import type { Clock } from '../hci/host.ts'
import type { Connection, Disconnection } from '../gap/connections.ts'
import type { ServerConnection } from '../att/server.ts'
import { GapError, withDeadline, type CallOptions } from './errors.ts'
import { Emitter } from './emitter.ts'
import { openChannel, type CreditChannel, type OpenChannelOptions } from './channels.ts'
import type { LinkSecurityAgent } from '../gap/link-security.ts'
import { securityState, type SecurityLevel, type SecurityState } from '../gap/pairing-delegate.ts'
import type { DeviceAddress } from '../gap/smp/keys.ts'

export interface AdvertiseOptions extends CallOptions {
  /** Local name (complete if it fits, else shortened, with the complete name in the scan response). */
  name?: string
  /** Service UUIDs to announce ('180d', 0x180d or 128-bit). */
  services?: readonly (string | number)[]
  /** Appearance (Assigned Numbers 2.6), e.g. 0x0341 heart rate belt. */
  appearance?: number
  txPower?: number
  manufacturerData?: { companyId: number; data: Uint8Array }
  serviceData?: readonly { uuid: string | number; data: Uint8Array }[]
  /** Accept connections (default true). */
  connectable?: boolean
  /** Advertising interval in ms (default 100). */
  interval?: number
  /** Advertise again after a central disconnects (default true for connectable advertising). */
  restart?: boolean
  /** Your own advertising data / scan response instead of the fields above. */
  data?: AdBuilder | Uint8Array
  scanResponse?: AdBuilder | Uint8Array
}

const FLAGS_GENERAL_NO_BREDR = 0x06

/** The advertising data and scan response for `o` (each at most 31 octets). */
export function advertisingData(o: AdvertiseOptions): { data: Uint8Array; scanResponse?: Uint8Array } {
  if (o.data !== undefined) {
    const data = o.data instanceof AdBuilder ? o.data.build(31) : o.data
    const rsp =
      o.scanResponse === undefined
        ? undefined
        : o.scanResponse instanceof AdBuilder
          ? o.scanResponse.build(31)
          : o.scanResponse
    return rsp === undefined ? { data } : { data, scanResponse: rsp }
  }
  type Part = (b: AdBuilder) => AdBuilder
  const parts: { part: Part; size: number }[] = []
  const add = (part: Part): void => {
    parts.push({ part, size: part(new AdBuilder()).build(255).length })
  }
  if (o.services?.length) add((b) => b.serviceUuids(o.services!))
  if (o.appearance !== undefined) add((b) => b.appearance(o.appearance!))
  if (o.txPower !== undefined) add((b) => b.txPower(o.txPower!))
  if (o.manufacturerData) add((b) => b.manufacturerData(o.manufacturerData!.companyId, o.manufacturerData!.data))
  for (const s of o.serviceData ?? []) add((b) => b.serviceData(s.uuid, s.data))

  const adv = new AdBuilder().flags(FLAGS_GENERAL_NO_BREDR)
  const rsp = new AdBuilder()
  let advLen = 3
  let rspLen = 0
  const nameBytes = o.name === undefined ? 0 : new TextEncoder().encode(o.name).length
  // The name first: the thing people filter on. Complete if it fits alongside the rest.
  if (o.name !== undefined) {
    if (advLen + 2 + nameBytes <= 31) {
      adv.name(o.name)
      advLen += 2 + nameBytes
    } else {
      const short = truncateUtf8(o.name, 31 - advLen - 2)
      adv.name(short, false)
      advLen += 2 + new TextEncoder().encode(short).length
      if (2 + nameBytes <= 31) {
        rsp.name(o.name)
        rspLen += 2 + nameBytes
      }
    }
  }
  for (const p of parts) {
    if (advLen + p.size <= 31) {
      p.part(adv)
      advLen += p.size
    } else if (rspLen + p.size <= 31) {
      p.part(rsp)
      rspLen += p.size
    } else {
      throw new RangeError(
        `advertising options need more than 62 octets (advertising data and scan response): leave some out`,
      )
    }
  }
  return rspLen > 0 ? { data: adv.build(31), scanResponse: rsp.build(31) } : { data: adv.build(31) }
}

function truncateUtf8(s: string, max: number): string {
  const enc = new TextEncoder()
  let out = ''
  for (const ch of s) {
    if (enc.encode(out + ch).length > max) break
    out += ch
  }
  return out
}

export interface CentralEvents {
  /** The ATT MTU changed (the central's Exchange MTU request). */
  mtu: number
  /** The link is gone (with the HCI reason and its name). */
  disconnected: Disconnection
  /** The link's security changed (the central encrypted or paired). */
  security: SecurityState
}

/** A central connected to us (peripheral role). */
export class Central implements AsyncDisposable {
  readonly address: string
  readonly addressType: 'public' | 'random'
  private readonly events = new Emitter<CentralEvents>()

  constructor(
    /** The LE connection underneath. */
    readonly connection: Connection,
    /** Its state in our GATT server (CCCDs, MTU), when serving. */
    readonly gatt: ServerConnection | undefined,
    private readonly clock: Clock,
    private readonly agent?: LinkSecurityAgent,
  ) {
    this.address = connection.peer.address
    this.addressType = connection.peer.type
    connection.att.onMtu((mtu) => this.events.emit('mtu', mtu))
    connection.on('disconnected', (d) => this.events.emit('disconnected', d))
    connection.on('security', (sec) => this.events.emit('security', securityState(sec)))
  }

  /** The effective ATT_MTU of the link. */
  get mtu(): number {
    return this.connection.att.mtu
  }

  get connected(): boolean {
    return !this.connection.closed
  }

  /** Resolves when the link is gone (never rejects). */
  get disconnected(): Promise<Disconnection> {
    return this.connection.disconnected
  }

  on<K extends keyof CentralEvents>(event: K, cb: (e: CentralEvents[K]) => void): () => void {
    return this.events.on(event, cb)
  }

  /** The link's security now. */
  get security(): SecurityState {
    return securityState(this.connection.security)
  }

  /** The central's identity address when known (from its bond or a pairing); its own address otherwise. */
  get identity(): DeviceAddress {
    return this.agent?.identity ?? this.connection.peer
  }

  /**
   * Ask the central for security (a Security Request, Vol 3 Part H 3.5.7) and wait until it
   * encrypted from its bond or paired to `level`. Resolves with the link's security.
   */
  async secure(level: SecurityLevel = 'encrypted', o: CallOptions = {}): Promise<SecurityState> {
    const agent = this.agent
    if (!agent) throw new GapError('INVALID_STATE', 'secure: this central has no security agent')
    await withDeadline(this.clock, o, `securing the link to ${this.address}`, (signal) =>
      agent.secure(level, { signal }),
    )
    return this.security
  }

  /** Open an LE credit-based channel to the central's `psm` (as client.openChannel(), src/channels.ts). */
  openChannel(psm: number, o: OpenChannelOptions = {}): Promise<CreditChannel> {
    return withDeadline(this.clock, o, `opening an L2CAP channel to PSM 0x${psm.toString(16)}`, (signal) =>
      openChannel(this.connection, psm, o, signal),
    )
  }

  disconnect(o: CallOptions & { reason?: number } = {}): Promise<Disconnection> {
    return withDeadline(this.clock, o, 'disconnect', (signal) =>
      this.connection.disconnect(o.reason ?? 0x13, { signal }),
    )
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.connection.closed) await this.disconnect({ timeout: 5000 }).catch(() => undefined)
  }

  toString(): string {
    return `Central(${this.address}/${this.addressType})`
  }
}
