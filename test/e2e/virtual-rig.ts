/**
 * Two of our hosts on two virtual controllers of one virtual link (virtual time in auto mode: time
 * jumps to the next task whenever the event loop is idle; controllers in 'fast' timing): a
 * peripheral (Advertiser + Connections serving a GattServer) and a central (Scanner +
 * Connections + GattClient). The central's HCI traffic is recorded for tshark.
 */
import { HciHost } from '../../hci/host.ts'
import { VirtualScheduler, clockFrom } from '../../src/virtual/scheduler.ts'
import { VirtualLink } from '../../src/virtual/link.ts'
import { VirtualController } from '../../src/virtual/controller.ts'
import { AttributeDatabase, type DatabaseDeclaration } from '../../att/database.ts'
import { GattServer } from '../../att/server.ts'
import { Connections, type Connection } from '../../gap/connections.ts'
import { Advertiser } from '../../gap/advertiser.ts'
import { Scanner } from '../../gap/scanner.ts'
import { AdBuilder } from '../../gap/ad.ts'
import type { Clock } from '../../hci/host.ts'
import { recording, type Recorded } from './capture.ts'

export const NAME = 'hcikit-e2e'

export interface Rig {
  scheduler: VirtualScheduler
  clock: Clock
  central: { controller: VirtualController; host: HciHost; connections: Connections; scanner: Scanner }
  peripheral: { controller: VirtualController; host: HciHost; connections: Connections; advertiser: Advertiser }
  db: AttributeDatabase
  server: GattServer
  /** The central's HCI packets. */
  records: Recorded[]
  advertise(): Promise<void>
  /** Scan for the peripheral (legacy, active) unless `direct`, then connect; both ends. */
  connect(o?: { direct?: boolean }): Promise<{ c: Connection; p: Connection }>
  close(): void
}

export async function rig(o: { decl: DatabaseDeclaration; attMtu?: number; seed?: number }): Promise<Rig> {
  const seed = o.seed ?? 7
  const scheduler = new VirtualScheduler({ seed, auto: true })
  const link = new VirtualLink({ scheduler, seed })
  const clock = clockFrom(scheduler)
  const pc = new VirtualController(link, { name: 'peripheral', timing: 'fast' })
  const cc = new VirtualController(link, { name: 'central', timing: 'fast' })
  const records: Recorded[] = []
  const cHost = new HciHost(recording(cc.attach(), clock, records), { clock, aclQueueLimit: 64 })
  const pHost = new HciHost(pc.attach(), { clock, aclQueueLimit: 64 })
  await cHost.init()
  await pHost.init()
  const db = new AttributeDatabase(o.decl)
  const server = new GattServer(db)
  const pConns = new Connections(pHost, { clock, server })
  const cConns = new Connections(cHost, { clock, ...(o.attMtu !== undefined ? { attMtu: o.attMtu } : {}) })
  const advertiser = new Advertiser(pHost)
  const scanner = new Scanner(cHost, clock)
  const advertise = () =>
    advertiser.start({
      data: new AdBuilder().flags(0x06).name(NAME),
      scanResponse: new AdBuilder().serviceUuids(['fff0']),
      intervalMs: 20,
    })
  return {
    scheduler,
    clock,
    central: { controller: cc, host: cHost, connections: cConns, scanner },
    peripheral: { controller: pc, host: pHost, connections: pConns, advertiser },
    db,
    server,
    records,
    advertise,
    async connect(co = {}) {
      await advertise()
      let target = { address: pc.address, type: 'public' as 'public' | 'random' }
      if (!co.direct) {
        const found = await scanner.find((a) => a.ad.localName === NAME, { timeout: 5000 })
        target = { address: found.address, type: found.addressType }
      }
      const accepted = pConns.accept({ timeout: 5000 })
      const c = await cConns.connect(target, { timeout: 5000 })
      const p = await accepted
      return { c, p }
    },
    close() {
      cConns.close()
      pConns.close()
      advertiser.close()
      scheduler.close()
    },
  }
}

/** ATT request opcodes (Core v5.4 Vol 3 Part F 3.4): the PDUs a client sends and waits on. */
export const ATT_REQUESTS: ReadonlySet<number> = new Set([
  0x02, 0x04, 0x06, 0x08, 0x0a, 0x0c, 0x0e, 0x10, 0x12, 0x16, 0x18, 0x20,
])

/** Count the ATT requests a connection's peer sends, as `link` (the receiving end) sees them. */
export function requestCounter(link: Connection): { readonly count: number; mark(): void; since(): number } {
  let n = 0
  let base = 0
  link.onFrame((f) => {
    if (f.length >= 5 && (f[2]! | (f[3]! << 8)) === 0x0004 && ATT_REQUESTS.has(f[4]!)) n++
  })
  return {
    get count() {
      return n
    },
    mark() {
      base = n
    },
    since() {
      return n - base
    },
  }
}
