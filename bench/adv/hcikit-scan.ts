/**
 * hcikit's side of the advertising throughput bench (`node dist/bench/adv/hcikit-scan.js TOTAL`):
 * HciHost brought up on a virtual controller (so that init() reads real features and buffers),
 * over a Transport whose receive side the bench also drives directly: the report events of
 * feed.ts go in at the HCI packet boundary (`onPacket`, as a transport delivers them), through
 * HciHost's event decoding, the Scanner (passive, duplicates on: every report is an
 * advertisement) and its async iterator to an application `for await` loop that counts them.
 * Prints one JSON line (AdvResult).
 */
import type { HciPacket, Transport } from '../../hci/transport.ts'
import { HciHost } from '../../hci/host.ts'
import { Scanner } from '../../gap/scanner.ts'
import { realClock } from '../../src/adapter.ts'
import { VirtualLink } from '../../src/virtual/link.ts'
import { VirtualController } from '../../src/virtual/controller.ts'
import { RealtimeScheduler } from '../../src/virtual/scheduler.ts'
import { type AdvResult, buildFeed, pump } from './feed.ts'

const total = Number(process.argv[2] ?? 1_000_000)

/** The controller's transport, with a second source of received packets: the feed. */
class FeedTransport implements Transport {
  private readonly cbs: ((p: HciPacket) => void)[] = []
  constructor(private readonly controller: Transport) {
    controller.onPacket((p) => this.deliver(p))
  }
  send(p: HciPacket): void | Promise<void> {
    return this.controller.send(p)
  }
  onPacket(cb: (p: HciPacket) => void): void {
    this.cbs.push(cb)
  }
  onClose(cb: (err?: Error) => void): void {
    this.controller.onClose(cb)
  }
  close(): Promise<void> {
    return this.controller.close()
  }
  deliver(p: HciPacket): void {
    for (const cb of this.cbs) cb(p)
  }
}

const link = new VirtualLink({ seed: 3, scheduler: new RealtimeScheduler({ seed: 3 }) })
const feed = new FeedTransport(new VirtualController(link, { timing: 'fast' }).attach())
const host = new HciHost(feed, { clock: realClock })
await host.init()
const scanner = new Scanner(host, realClock)
const packets = buildFeed(10_000, 5_000)
const it = scanner.scan({ active: false, duplicates: true })
const first = it.next()
await new Promise((r) => setTimeout(r, 50)) // the scan commands

const cpu = process.cpuUsage()
const t0 = performance.now()
const fed = pump(packets, total, (p) => feed.deliver({ type: 4, data: p.hci }))
let received = 0
let r = await first
while (!r.done) {
  if (++received + scanner.dropped >= total) break
  r = await it.next()
}
const d = process.cpuUsage(cpu)
const wallMs = performance.now() - t0
await fed
await it.return(undefined)
const result: AdvResult = {
  stack: 'hcikit',
  reports: total,
  received,
  dropped: scanner.dropped,
  cpuMs: (d.user + d.system) / 1000,
  wallMs,
}
process.stdout.write(`${JSON.stringify(result)}\n`)
process.exit(0)
