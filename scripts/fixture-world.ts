/**
 * The set used to record fixtures/virtual/ (scripts/fixtures.ts): two of our hosts on two virtual
 * controllers of one virtual link, in virtual time (auto mode: time jumps to the next task when
 * the event loop is idle, so a run is deterministic and instant). A peripheral (Advertiser,
 * Connections serving a GattServer) and a central (Scanner, Connections) whose HCI packets are
 * recorded in both directions, as a btsnoop capture taken at the central's HCI would show them
 * (Core v5.4 Vol 4 Part E 5.4 packets; btsnoop datalink 1002, H4 framing).
 *
 * The layers used are the same the tests drive (docs/ARCHITECTURE.md: hci -> att -> gap).
 */
import { HciHost, type Clock } from '../hci/host.ts'
import type { HciPacket, Transport } from '../hci/transport.ts'
import { AttributeDatabase, type DatabaseDeclaration } from '../att/database.ts'
import { GattServer } from '../att/server.ts'
import { GattClient } from '../att/client.ts'
import { Advertiser } from '../gap/advertiser.ts'
import { AdBuilder } from '../gap/ad.ts'
import { Connections, type Connection } from '../gap/connections.ts'
import { Scanner } from '../gap/scanner.ts'
import { createCaptureFile } from '../src/capture-file.ts'
import { VirtualController } from '../src/virtual/controller.ts'
import { VirtualLink } from '../src/virtual/link.ts'
import { VirtualScheduler, clockFrom } from '../src/virtual/scheduler.ts'

export interface Recorded {
  timestampUs: bigint
  direction: 'tx' | 'rx'
  packetType: number
  data: Uint8Array
}

/** 2023-11-14T22:13:20Z: virtual time 0 in the captures, so they show a plausible date. */
const EPOCH_US = 1_700_000_000_000_000n

/** `inner`, with every packet both ways appended to `records` (tx = host to controller). */
export function recording(inner: Transport, clock: Pick<Clock, 'now'>, records: Recorded[]): Transport {
  const at = (): bigint => BigInt(Math.round(clock.now() * 1000)) + EPOCH_US
  return {
    send(p: HciPacket) {
      records.push({ timestampUs: at(), direction: 'tx', packetType: p.type, data: p.data.slice() })
      return inner.send(p)
    },
    onPacket(cb) {
      inner.onPacket((p) => {
        records.push({ timestampUs: at(), direction: 'rx', packetType: p.type, data: p.data.slice() })
        cb(p)
      })
    },
    onClose: (cb) => inner.onClose(cb),
    close: () => inner.close(),
  }
}

export interface WorldOptions {
  decl?: DatabaseDeclaration
  /** The central's LE_ACL_Data_Packet_Length (default 251; 27 makes L2CAP PDUs span fragments). */
  centralAclLength?: number
  /** ATT_MTU the central's connections ask for (default 517). */
  attMtu?: number
  seed?: number
}

export interface World {
  clock: Clock
  central: { controller: VirtualController; host: HciHost; connections: Connections; scanner: Scanner }
  peripheral: { controller: VirtualController; host: HciHost; connections: Connections; advertiser: Advertiser }
  server: GattServer
  /** The central's HCI packets, both directions, in order. */
  records: Recorded[]
  /** Advertise connectably (legacy), connect to it directly; both ends, and a client on the central's. */
  connect(): Promise<{ c: Connection; p: Connection; client: GattClient }>
  close(): void
}

export const NAME = 'hcikit-fixture'

/** Both hosts initialised; only the central's packets are recorded. */
export async function world(o: WorldOptions = {}): Promise<World> {
  const seed = o.seed ?? 11
  const scheduler = new VirtualScheduler({ seed, auto: true })
  const link = new VirtualLink({ scheduler, seed })
  const clock = clockFrom(scheduler)
  const pc = new VirtualController(link, { name: 'peripheral', timing: 'fast' })
  const cc = new VirtualController(link, { name: 'central', timing: 'fast', aclDataLength: o.centralAclLength ?? 251 })
  const records: Recorded[] = []
  const cHost = new HciHost(recording(cc.attach(), clock, records), { clock, aclQueueLimit: 64 })
  const pHost = new HciHost(pc.attach(), { clock, aclQueueLimit: 64 })
  await cHost.init()
  await pHost.init()
  const server = new GattServer(new AttributeDatabase(o.decl ?? { gap: { deviceName: NAME } }))
  const pConns = new Connections(pHost, { clock, server })
  const cConns = new Connections(cHost, { clock, attMtu: o.attMtu ?? 517 })
  const advertiser = new Advertiser(pHost)
  return {
    clock,
    central: { controller: cc, host: cHost, connections: cConns, scanner: new Scanner(cHost, clock) },
    peripheral: { controller: pc, host: pHost, connections: pConns, advertiser },
    server,
    records,
    async connect() {
      await advertiser.start({ data: new AdBuilder().flags(0x06).name(NAME), intervalMs: 20 })
      const accepted = pConns.accept({ timeout: 5000 })
      const c = await cConns.connect({ address: pc.address, type: 'public' }, { timeout: 5000 })
      const p = await accepted
      return { c, p, client: new GattClient(c.att, { policy: 'off', robustCaching: false }) }
    },
    close() {
      cConns.close()
      pConns.close()
      advertiser.close()
      scheduler.close()
    },
  }
}

/** Write the records as a btsnoop capture (datalink 1002). */
export async function writeTrace(path: string, records: readonly Recorded[]): Promise<void> {
  const f = createCaptureFile(path, 'btsnoop-1002')
  for (const r of records) await f.write(r)
  await f.close()
}
