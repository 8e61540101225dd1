/**
 * Test helper: H4 over TCP (Core v5.4 Vol 4 Part A 2, the framing `hcikit link tcp-server:` speaks),
 * the host side, as an hci/ Transport, so our HciHost can drive a controller served by
 * `hcikit link` in another process. (The product's tcp transport belongs to src/transports/.)
 */
import net from 'node:net'
import { H4Splitter, encodeH4 } from '../../hci/h4.ts'
import { TransportError } from '../../hci/errors.ts'
import type { HciPacket, Transport } from '../../hci/transport.ts'
import type { Clock } from '../../hci/host.ts'

export function connectTcp(port: number, host = '127.0.0.1', ms = 10_000): Promise<Transport> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host })
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`timed out after ${ms} ms connecting to ${host}:${port}`))
    }, ms)
    const packetCbs: ((p: HciPacket) => void)[] = []
    const closeCbs: ((err?: Error) => void)[] = []
    let closed = false
    let failure: Error | undefined
    const splitter = new H4Splitter({ onPacket: (p) => packetCbs.forEach((cb) => cb({ type: p.type, data: p.data })) })
    socket.on('data', (chunk: Buffer) => splitter.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)))
    socket.on('error', (e) => {
      failure = e
      clearTimeout(timer)
      reject(e)
    })
    socket.on('close', () => {
      if (closed) return
      closed = true
      for (const cb of closeCbs) cb(failure)
    })
    socket.once('connect', () => {
      clearTimeout(timer)
      socket.setNoDelay(true)
      resolve({
        send(p: HciPacket) {
          if (closed) throw new TransportError('tcp: closed')
          socket.write(encodeH4(p.type, p.data))
        },
        onPacket: (cb) => void packetCbs.push(cb),
        onClose: (cb) => void closeCbs.push(cb),
        close: () =>
          new Promise<void>((done) => {
            if (closed) return done()
            socket.once('close', () => done())
            socket.destroy()
          }),
      })
    })
  })
}

/** Real time, for a host driving a controller that runs in real time. */
export const realClock: Clock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  now: () => Date.now(),
}
