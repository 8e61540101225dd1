/**
 * The bench's radio and peripheral, in a process of its own (`node dist/bench/gatt/peripheral.js
 * ACL_LENGTH PTY_PATH`): one virtual link in real time, as `hcikit link` runs it, with
 *
 * - the central's controller (LE_ACL_Data_Packet_Length = ACL_LENGTH, Core v5.4 Vol 4 Part E
 *   7.8.2) served as H4 (Vol 4 Part A 2) over TCP on 127.0.0.1 (for hcikit) and on a pty (for
 *   noble's UART driver): whichever client connects, one at a time;
 * - our GATT server (att/server.ts) on a second controller of the same link, advertising as
 *   `hcikit-bench`, serving one service:
 *     sink    (write, write without response): each value starts with its u32 sequence number;
 *             the server counts values and values out of order
 *     status  (read): u32 values received, u32 out of order, u32 values notified (then zeroes them)
 *     source  (notify): 244-octet values, u32 sequence number first
 *     control (write): `01 N(u32)` sends N notifications on source, each awaited (back-pressure)
 *
 * As a program, prints `READY PORT` on stdout once served; exits on SIGTERM or when stdin closes.
 * `startBenchPeripheral` runs the same in the caller's process (test/bench/gatt.test.ts).
 */
import { VirtualLink } from '../../src/virtual/link.ts'
import { RealtimeScheduler } from '../../src/virtual/scheduler.ts'
import { VirtualController } from '../../src/virtual/controller.ts'
import { TcpServe } from '../../src/virtual/serve.ts'
import { PtyServe } from '../../src/virtual/serve-pty.ts'
import { open } from '../../src/adapter.ts'
import { BENCH_NAME, CONTROL, SERVICE, SINK, SOURCE, STATUS, VALUE_LENGTH } from './protocol.ts'

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export interface BenchPeripheral {
  /** The TCP port of the central's controller on 127.0.0.1. */
  port: number
  close(): Promise<void>
}

/** Start the link, the central's controller (served on TCP, and on `ptyPath` if given) and our GATT server. */
export async function startBenchPeripheral(aclLength: number, ptyPath?: string): Promise<BenchPeripheral> {
  const link = new VirtualLink({ seed: 7, scheduler: new RealtimeScheduler({ seed: 7 }) })
  const central = new VirtualController(link, { name: 'central', aclDataLength: aclLength, timing: 'fast' })
  const tcp = await TcpServe.listen({ host: '127.0.0.1', port: 0 }, central)
  const pty = ptyPath ? await PtyServe.open(ptyPath, central) : undefined

  const adapter = await open({ transport: 'virtual', link, name: 'peripheral', diagnostics: false })
  let received = 0
  let disordered = 0
  let notified = 0
  const server = adapter.serve({
    services: [
      {
        uuid: SERVICE,
        characteristics: [
          {
            id: 'sink',
            uuid: SINK,
            properties: ['write', 'writeWithoutResponse'],
            onWrite: (_c, v) => {
              const seq = v.length >= 4 ? v[0]! | (v[1]! << 8) | (v[2]! << 16) | (v[3]! << 24) : -1
              if (seq !== received) disordered++
              received++
            },
          },
          {
            id: 'status',
            uuid: STATUS,
            properties: ['read'],
            onRead: () => {
              const out = new Uint8Array(12)
              const dv = new DataView(out.buffer)
              dv.setUint32(0, received, true)
              dv.setUint32(4, disordered, true)
              dv.setUint32(8, notified, true)
              received = 0
              disordered = 0
              notified = 0
              return out
            },
          },
          { id: 'source', uuid: SOURCE, properties: ['notify'] },
          {
            id: 'control',
            uuid: CONTROL,
            properties: ['write'],
            onWrite: (_c, v) => {
              if (v[0] === 1 && v.length >= 5) {
                const n = v[1]! | (v[2]! << 8) | (v[3]! << 16) | (v[4]! << 24)
                void send(n)
              }
            },
          },
        ],
      },
    ],
  })
  const send = async (n: number): Promise<void> => {
    for (let i = 0; i < n; ) {
      const value = new Uint8Array(VALUE_LENGTH)
      value[0] = i & 0xff
      value[1] = (i >> 8) & 0xff
      value[2] = (i >> 16) & 0xff
      value[3] = (i >>> 24) & 0xff
      const [r] = await server.notify('source', value)
      if (!r) {
        await pause(2) // the client's CCCD write is still on its way
        continue
      }
      if (!r.ok) break
      notified++
      i++
    }
  }
  await adapter.advertise({ name: BENCH_NAME, services: [SERVICE], interval: 20 })
  return {
    port: tcp.spec.port,
    async close() {
      await Promise.allSettled([tcp.close(), pty?.close(), adapter.close()])
    },
  }
}

async function main(): Promise<void> {
  const p = await startBenchPeripheral(Number(process.argv[2] ?? 251), process.argv[3])
  process.stdout.write(`READY ${p.port}\n`)
  const stop = async (): Promise<void> => {
    await p.close()
    process.exit(0)
  }
  process.on('SIGTERM', () => void stop())
  process.stdin.on('end', () => void stop())
  process.stdin.resume()
}

if (process.argv[1]?.endsWith('peripheral.js') || process.argv[1]?.endsWith('peripheral.ts')) await main()
