/**
 * Helpers for the transport tests: a real-time clock for HciHost, bounded waits, an in-process
 * virtual controller, and a socat pseudo-terminal pair whose far side the test drives itself
 * (a virtual controller served on it, with bytes injected into what the host reads).
 */
import fs from 'node:fs'
import tty from 'node:tty'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { Duplex } from 'node:stream'
import { join } from 'node:path'
import type { Clock } from '../../hci/host.ts'
import { VirtualController } from '../../src/virtual/controller.ts'
import { VirtualLink } from '../../src/virtual/link.ts'
import { RealtimeScheduler } from '../../src/virtual/scheduler.ts'

export const WAIT_MS = 15_000

export const realClock: Clock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  now: () => Date.now(),
}

export function within<T>(p: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
    }),
  ])
}

export interface Teardown {
  teardown(fn: () => unknown): void
}

/** A virtual controller on its own real-time link (detached at teardown). */
export function virtualController(t: Teardown, seed = 3): VirtualController {
  const link = new VirtualLink({ seed, scheduler: new RealtimeScheduler({ seed }) })
  const controller = new VirtualController(link, {})
  t.teardown(() => controller.detach())
  return controller
}

/**
 * Two linked ptys from socat (`a` for the host's UART, `b` for the controller side), in `dir`.
 * Resolves once socat relays; the child is killed at teardown.
 */
export async function ptyPair(t: Teardown, dir: string): Promise<{ a: string; b: string }> {
  const a = join(dir, 'a')
  const b = join(dir, 'b')
  const child = spawn('socat', ['-d', '-d', `PTY,raw,echo=0,link=${a}`, `PTY,raw,echo=0,link=${b}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  const lines: string[] = []
  await within(
    new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stderr! }).on('line', (l) => {
        lines.push(l)
        if (/starting data transfer loop/.test(l)) resolve()
      })
      child.once('exit', (code) => reject(new Error(`socat exited ${code}: ${lines.join(' | ')}`)))
    }),
    'socat to create the pty pair',
  )
  return { a, b }
}

/**
 * The controller's end of a pty as a Duplex (what serve.ts's startSession takes), with a seam:
 * `prefixNextWrite(bytes)` puts bytes in front of the controller's next write, and
 * `writeRaw(bytes)` writes bytes now, both as a faulty or stale line would.
 */
export function ptyEnd(path: string): Duplex & { prefixNextWrite(b: Uint8Array): void; writeRaw(b: Uint8Array): void } {
  const fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_NOCTTY)
  const rs = new tty.ReadStream(fd)
  rs.setRawMode(true)
  const prefixes: Uint8Array[] = []
  const d = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      const bytes = Buffer.concat([...prefixes.splice(0), chunk])
      fs.write(fd, bytes, (e) => cb(e ?? null))
    },
    destroy(err, cb) {
      rs.destroy()
      cb(err)
    },
  })
  rs.on('data', (c: Buffer) => d.push(c))
  rs.on('error', () => undefined)
  return Object.assign(d, {
    prefixNextWrite: (b: Uint8Array) => void prefixes.push(b),
    writeRaw: (b: Uint8Array) => void fs.writeSync(fd, b),
  })
}
