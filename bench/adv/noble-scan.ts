/**
 * noble's side of the advertising throughput bench (`node dist/bench/adv/noble-scan.js TOTAL`):
 * @stoprocent/noble with its HCI UART driver, whose socket class is replaced (before noble
 * starts) by one that talks to a virtual controller in this process, so noble powers on as with
 * a dongle; the report events of feed.ts then go in at noble's HCI boundary, the socket's
 * 'data' event (one packet, H4 type byte first, as its UART parser emits them), through noble's
 * HCI, GAP and bindings layers to 'discover' events (scanning with duplicates allowed), counted.
 * Prints one JSON line (AdvResult).
 */
import type { EventEmitter } from 'node:events'
import { createRequire } from 'node:module'
import type { Transport } from '../../hci/transport.ts'
import { VirtualLink } from '../../src/virtual/link.ts'
import { VirtualController } from '../../src/virtual/controller.ts'
import { RealtimeScheduler } from '../../src/virtual/scheduler.ts'
import { type AdvResult, buildFeed, pump } from './feed.ts'

const total = Number(process.argv[2] ?? 1_000_000)
process.env['BLUETOOTH_HCI_SOCKET_FORCE_UART'] = '1'

const link = new VirtualLink({ seed: 3, scheduler: new RealtimeScheduler({ seed: 3 }) })
const controller = new VirtualController(link, { timing: 'fast' })
let socket: EventEmitter | undefined

/** What noble's Hci calls on its socket (bluetooth-hci-socket's uart.js), on a virtual controller. */
const fake = {
  bindUser(this: EventEmitter & { ctl?: Transport }): void {
    socket = this
    const ctl = controller.attach()
    this.ctl = ctl
    ctl.onPacket((p) => this.emit('data', Buffer.concat([Buffer.of(p.type), p.data])))
  },
  bindRaw(this: EventEmitter & { ctl?: Transport }): void {
    fake.bindUser.call(this)
  },
  start(): void {},
  stop(): void {},
  setFilter(): void {},
  reset(): void {},
  isDevUp(): boolean {
    return true
  },
  write(this: { ctl?: Transport }, data: Buffer): void {
    void this.ctl?.send({ type: data[0]!, data: data.subarray(1) })
  },
}
const require = createRequire(createRequire(import.meta.url).resolve('@stoprocent/noble'))
const Socket = require('@stoprocent/bluetooth-hci-socket/lib/uart.js') as { prototype: object }
Object.assign(Socket.prototype, fake)

const { default: noble } = await import('@stoprocent/noble')
await noble.waitForPoweredOnAsync(20_000)
await noble.startScanningAsync([], true)
const packets = buildFeed(10_000, 5_000)

const cpu = process.cpuUsage()
const t0 = performance.now()
let received = 0
const done = new Promise<void>((resolve) => {
  noble.on('discover', () => {
    if (++received === total) resolve()
  })
})
await pump(packets, total, (p) => socket!.emit('data', p.h4))
await Promise.race([done, new Promise((r) => setTimeout(r, 100))])
const d = process.cpuUsage(cpu)
const result: AdvResult = {
  stack: 'noble',
  reports: total,
  received,
  dropped: 0,
  cpuMs: (d.user + d.system) / 1000,
  wallMs: performance.now() - t0,
}
process.stdout.write(`${JSON.stringify(result)}\n`)
process.exit(0)
