/**
 * Test helper: hostile peers on the virtual link, scripted at the L2CAP and ATT level.
 *
 * A hostile peer is a raw HciHost on its own virtual controller (src/virtual), joined to the
 * same link as the adapter under test. It advertises or connects with plain HCI commands (Core
 * v5.4 Vol 4 Part E 7.8) and then says whatever its script says: ATT PDUs on CID 4 (Vol 3 Part
 * F), signalling on CID 5 (Vol 3 Part A 4), B-frames on any channel, raw ACL packets whose
 * L2CAP length lies, or a disconnection at any moment. By default a request it has no script
 * for is answered by a real GATT server (att/server.ts) over a small database, so that a test
 * only writes the part that misbehaves.
 */
import { AttributeDatabase } from '../../att/database.ts'
import { ServerConnection, handleRequest } from '../../att/server.ts'
import * as C from '../../hci/commands.ts'
import { HciHost } from '../../hci/host.ts'
import type { Transport } from '../../hci/transport.ts'
import type { VirtualLink } from '../../src/virtual/link.ts'
import { VirtualController } from '../../src/virtual/controller.ts'
import { clockFrom } from '../../src/virtual/scheduler.ts'

/** What the script does with an ATT PDU from the adapter: PDUs to send back (none: silence). */
export type AttScript = (
  pdu: Uint8Array,
  peer: HostilePeer,
) => Uint8Array[] | 'default' | Promise<Uint8Array[] | 'default'>

export const le16 = (v: number): number[] => [v & 0xff, (v >> 8) & 0xff]

/** An L2CAP B-frame (Vol 3 Part A 3.1); `length` may lie. */
export function bframe(cid: number, payload: Uint8Array | number[], length = payload.length): Uint8Array {
  return Uint8Array.from([...le16(length), ...le16(cid), ...payload])
}

/** The small database a hostile peer serves by default: GAP (Device Name "hostile" at 0x0003), GATT, fff1 (read, write, notify, indicate: "ok") and fff2 (300 octets). */
export function defaultDatabase(): AttributeDatabase {
  return new AttributeDatabase({
    gap: { deviceName: 'hostile' },
    services: [
      {
        uuid: 0xfff0,
        characteristics: [
          { uuid: 0xfff1, properties: ['read', 'write', 'notify', 'indicate'], value: 'ok' },
          { uuid: 0xfff2, properties: ['read', 'write'], value: new Uint8Array(300).fill(0x5a) },
        ],
      },
    ],
  })
}

export interface PeerOptions {
  /** The database its default answers come from (default `defaultDatabase()`). */
  db?: AttributeDatabase
  /** Its Server Rx MTU in the default answers (default 517). */
  mtu?: number
}

export class HostilePeer {
  handle: number | undefined
  /** ATT PDUs received from the adapter. */
  readonly att: Uint8Array[] = []
  /** Other L2CAP frames received: [cid, payload]. */
  readonly frames: [number, Uint8Array][] = []
  /** Reasons of the disconnections it saw (HCI status codes). */
  readonly disconnections: number[] = []
  script: AttScript = () => 'default'
  private waiters: ((pdu: Uint8Array) => void)[] = []
  private readonly conn: ServerConnection
  private readonly db: AttributeDatabase
  private connected: (() => void) | undefined

  private constructor(
    readonly controller: VirtualController,
    readonly transport: Transport,
    readonly host: HciHost,
    o: PeerOptions,
  ) {
    this.db = o.db ?? defaultDatabase()
    this.conn = new ServerConnection({ maxMtu: o.mtu ?? 517 })
    host.onEvent((e) => {
      if ((e.key === 'LeConnectionComplete' || e.key === 'LeEnhancedConnectionComplete') && e.params.status === 0) {
        this.handle = e.params.connectionHandle
        this.connected?.()
      }
      if (e.key === 'DisconnectionComplete' && e.params.connectionHandle === this.handle) {
        this.handle = undefined
        this.disconnections.push(e.params.reason)
      }
    })
    host.onAcl((handle, pdu) => void this.frame(handle, pdu))
  }

  static async start(link: VirtualLink, address: string, o: PeerOptions = {}): Promise<HostilePeer> {
    const controller = new VirtualController(link, { address, name: `hostile ${address}` })
    const transport = controller.attach()
    const host = new HciHost(transport, {
      clock: clockFrom(link.scheduler),
      diagnostics: false,
      aclQueueLimit: 200_000,
    })
    await host.init({})
    return new HostilePeer(controller, transport, host, o)
  }

  get address(): string {
    return this.controller.address
  }

  /** Connectable undirected advertising (ADV_IND) every 20 ms, until a central connects. */
  async advertise(): Promise<void> {
    await this.host.send(C.LeSetAdvertisingParameters, {
      advertisingIntervalMin: 0x20,
      advertisingIntervalMax: 0x20,
      advertisingType: 0x00,
      ownAddressType: 0,
      peerAddressType: 0,
      peerAddress: '00:00:00:00:00:00',
      advertisingChannelMap: 7,
      advertisingFilterPolicy: 0,
    })
    await this.host.send(C.LeSetAdvertisingEnable, { enable: 1 })
  }

  /** Connect to an advertising adapter as a central (`interval` in 1.25 ms units, default 24: 30 ms). */
  async connectTo(address: string, interval = 24): Promise<number> {
    const up = new Promise<void>((resolve) => (this.connected = resolve))
    await this.host.send(C.LeCreateConnection, {
      scanInterval: 0x10,
      scanWindow: 0x10,
      initiatorFilterPolicy: 0,
      peerAddressType: 0,
      peerAddress: address,
      ownAddressType: 0,
      connectionIntervalMin: interval,
      connectionIntervalMax: interval,
      maxLatency: 0,
      supervisionTimeout: 200,
      minCeLength: 0,
      maxCeLength: 0,
    })
    await up
    return this.handle!
  }

  private async frame(handle: number, pdu: Uint8Array): Promise<void> {
    const cid = pdu[2]! | (pdu[3]! << 8)
    const payload = pdu.subarray(4)
    if (cid !== 4) {
      this.frames.push([cid, payload.slice()])
      return
    }
    this.att.push(payload.slice())
    for (const w of this.waiters.splice(0)) w(payload.slice())
    const answer = await this.script(payload, this)
    const out = answer === 'default' ? await this.serve(payload) : answer
    for (const a of out) if (this.handle === handle) await this.sendAtt(a)
  }

  /** The next ATT PDU from the adapter (for a peer in the central role, the answer to what it sent). */
  next(): Promise<Uint8Array> {
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  /** Send an ATT PDU and wait for the adapter's next one. */
  async ask(pdu: Uint8Array | number[]): Promise<Uint8Array> {
    const answer = this.next()
    await this.sendAtt(pdu)
    return answer
  }

  /** What the real GATT server over this peer's database answers. */
  async serve(payload: Uint8Array): Promise<Uint8Array[]> {
    const r = await handleRequest(this.db, this.conn, payload)
    return r === undefined ? [] : [r]
  }

  sendAtt(payload: Uint8Array | number[]): Promise<void> {
    return this.sendFrame(bframe(4, payload))
  }

  /** A whole L2CAP frame (its header as given), fragmented to the controller's buffers. */
  sendFrame(frame: Uint8Array): Promise<void> {
    if (this.handle === undefined) return Promise.reject(new Error('not connected'))
    return this.host.sendAcl(this.handle, frame)
  }

  /** One raw ACL packet (Vol 4 Part E 5.4.2) straight to the controller: any flags, any lengths. */
  sendRawAcl(pb: number, data: Uint8Array, length = data.length): void {
    const h = this.handle ?? 0
    void this.transport.send({ type: 2, data: Uint8Array.from([...le16(h | (pb << 12)), ...le16(length), ...data]) })
  }

  async disconnect(reason = 0x13): Promise<void> {
    if (this.handle === undefined) return
    await this.host.send(C.Disconnect, { connectionHandle: this.handle, reason })
  }

  async close(): Promise<void> {
    await this.host.close()
    this.controller.link.remove(this.controller)
  }
}
