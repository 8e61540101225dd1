/**
 * Serving a controller over byte streams (src/virtual/serve.ts, serve-pty.ts): H4 framing both
 * ways, one host at a time, a fresh controller per host session, resynchronisation after a
 * framing error, and, on a pty, nothing stale delivered to the next host.
 *
 * The controller here is a scripted stand-in (the serving code only needs attach/detach): it
 * greets every new session with a vendor event carrying the session number, answers every command
 * with Command Complete, and answers vendor command 0xFC01 with a burst of 50 vendor events.
 * Expected bytes are written by hand from Core v5.4 Vol 4 Part A 2 and Part E 7.7.14.
 */
import t from 'tap'
import fs from 'node:fs'
import net from 'node:net'
import tty from 'node:tty'
import { mkdtempSync, rmSync, lstatSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { missing } from '../helpers/tools.ts'
import { createMemoryPair, type MemoryTransport } from '../../hci/memory-transport.ts'
import type { HciPacket, Transport } from '../../hci/transport.ts'
import {
  TcpServe,
  formatServeSpec,
  parseServeSpec,
  type ServedController,
  type ServeEvent,
  type ServeObserver,
} from '../../src/virtual/serve.ts'
import { PtyServe } from '../../src/virtual/serve-pty.ts'
import { groupAlive, startLink } from './peers/link-process.ts'

// Waits are event-driven; these bounds only turn a hang into a clear failure. They are generous
// because `hcikit link` runs through the TypeScript loader and the suite runs files in parallel.
const WAIT_MS = 15_000
t.setTimeout(300_000)
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

/** A stand-in controller: see the file overview. */
class ScriptedController implements ServedController {
  attaches = 0
  detaches = 0
  private current: MemoryTransport | undefined

  attach(): Transport {
    this.current?.close()
    this.attaches++
    const session = this.attaches
    const [host, ctl] = createMemoryPair()
    this.current = ctl
    const send = (bytes: Buffer): void => ctl.send({ type: bytes[0]!, data: bytes.subarray(1) })
    send(hex(`04 ff 01 ${session.toString(16).padStart(2, '0')}`))
    ctl.onPacket((p) => {
      if (p.type !== 1) return
      const op = Buffer.from(p.data.subarray(0, 2)).toString('hex')
      send(hex(`04 0e 04 01 ${op} 00`))
      if (op === '01fc') for (let i = 0; i < 50; i++) send(hex(`04 ff 02 ee ${i.toString(16).padStart(2, '0')}`))
    })
    return host
  }

  detach(): void {
    this.detaches++
    void this.current?.close()
    this.current = undefined
  }
}

/** Observer that records events and lets a test await the next one of a kind. */
class Recorder implements ServeObserver {
  readonly events: ServeEvent[] = []
  readonly packets: Array<{ direction: 'tx' | 'rx'; packet: HciPacket }> = []
  private waiters: Array<{ pred: (e: ServeEvent) => boolean; resolve: (e: ServeEvent) => void }> = []
  private packetWaiters: Array<{ pred: () => boolean; resolve: () => void }> = []

  event(e: ServeEvent): void {
    this.events.push(e)
    for (const w of this.waiters.filter((w) => w.pred(e))) {
      this.waiters.splice(this.waiters.indexOf(w), 1)
      w.resolve(e)
    }
  }

  packet(direction: 'tx' | 'rx', packet: HciPacket): void {
    this.packets.push({ direction, packet: { type: packet.type, data: packet.data.slice() } })
    for (const w of this.packetWaiters.filter((w) => w.pred())) {
      this.packetWaiters.splice(this.packetWaiters.indexOf(w), 1)
      w.resolve()
    }
  }

  next(kind: ServeEvent['kind']): Promise<ServeEvent> {
    return within(
      new Promise((resolve) => this.waiters.push({ pred: (e) => e.kind === kind, resolve })),
      `a '${kind}' event`,
    )
  }

  until(pred: () => boolean, what: string): Promise<void> {
    if (pred()) return Promise.resolve()
    return within(new Promise<void>((resolve) => this.packetWaiters.push({ pred, resolve })), what)
  }
}

function within<T>(p: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
    }),
  ])
}

/** Collects the bytes a host receives; `take(n)` resolves with the next n bytes. */
class ByteSink {
  private buf = Buffer.alloc(0)
  private want: { n: number; resolve: (b: Buffer) => void } | undefined
  closed = false
  private closeWaiters: Array<() => void> = []

  push(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk])
    this.check()
  }

  close(): void {
    this.closed = true
    for (const w of this.closeWaiters) w()
  }

  whenClosed(what: string): Promise<void> {
    return this.closed ? Promise.resolve() : within(new Promise<void>((r) => this.closeWaiters.push(r)), what)
  }

  take(n: number, what: string): Promise<Buffer> {
    return within(
      new Promise<Buffer>((resolve) => {
        this.want = { n, resolve }
        this.check()
      }),
      `${n} bytes of ${what} (have ${this.buf.length}: ${this.buf.toString('hex')})`,
    )
  }

  get pending(): number {
    return this.buf.length
  }

  private check(): void {
    if (this.want && this.buf.length >= this.want.n) {
      const out = this.buf.subarray(0, this.want.n)
      this.buf = this.buf.subarray(this.want.n)
      const w = this.want
      this.want = undefined
      w.resolve(out)
    }
  }
}

/** A seeded generator, so chunk boundaries are random but the same on every run. */
function lcg(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

async function tcpHost(port: number): Promise<{ socket: net.Socket; sink: ByteSink }> {
  const socket = net.connect({ host: '127.0.0.1', port })
  const sink = new ByteSink()
  socket.on('data', (d: Buffer) => sink.push(d))
  socket.on('close', () => sink.close())
  socket.on('error', () => undefined)
  await within(
    new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    }),
    'the TCP connection',
  )
  return { socket, sink }
}

t.test('parseServeSpec', async (t) => {
  t.same(parseServeSpec('tcp-server:127.0.0.1:4567'), { kind: 'tcp-server', host: '127.0.0.1', port: 4567 })
  t.same(parseServeSpec('tcp-server:[::1]:0'), { kind: 'tcp-server', host: '::1', port: 0 })
  t.same(parseServeSpec('pty:/tmp/hci0'), { kind: 'pty', path: '/tmp/hci0' })
  t.equal(formatServeSpec({ kind: 'tcp-server', host: '::1', port: 9 }), 'tcp-server:[::1]:9')
  t.throws(() => parseServeSpec('tcp-server:4567'), /HOST:PORT/)
  t.throws(() => parseServeSpec('tcp-server:localhost:70000'), /out of range/)
  t.throws(() => parseServeSpec('pty:'), /needs a PATH/)
  t.throws(() => parseServeSpec('usb:0'), /unknown kind 'usb'/)
})

t.test('TCP: H4 cut anywhere is reassembled, answers come back framed, in order', async (t) => {
  const ctl = new ScriptedController()
  const rec = new Recorder()
  const served = await TcpServe.listen({ host: '127.0.0.1', port: 0 }, ctl, rec)
  t.teardown(() => served.close())
  t.ok(served.spec.port > 0, 'a free port was chosen')
  t.equal(ctl.attaches, 0, 'no host, no attach')

  const { socket, sink } = await tcpHost(served.spec.port)
  t.teardown(() => socket.destroy())
  t.same(await sink.take(4, 'the greeting'), hex('04 ff 01 01'), 'session 1 starts with a freshly attached controller')

  // Reset, a vendor command, LE Read Buffer Size, and an ACL packet, cut at seeded random places.
  const stream = hex('01 03 0c 00  01 01 fc 02 aa bb  01 02 20 00  02 01 00 03 00 de ad 00')
  const rnd = lcg(7)
  for (let at = 0; at < stream.length; ) {
    const n = 1 + Math.floor(rnd() * 4)
    socket.write(stream.subarray(at, at + n))
    at += n
  }
  t.same(await sink.take(7, 'Reset complete'), hex('04 0e 04 01 03 0c 00'))
  t.same(await sink.take(7, 'vendor complete'), hex('04 0e 04 01 01 fc 00'))
  for (let i = 0; i < 50; i++) {
    t.same(await sink.take(5, 'burst'), hex(`04 ff 02 ee ${i.toString(16).padStart(2, '0')}`), `burst event ${i}`, {
      diagnostic: false,
    })
  }
  t.same(await sink.take(7, 'LE Read Buffer Size complete'), hex('04 0e 04 01 02 20 00'))
  await rec.until(() => rec.packets.some((p) => p.direction === 'tx' && p.packet.type === 2), 'the ACL packet')
  const tx = rec.packets
    .filter((p) => p.direction === 'tx')
    .map((p) => [p.packet.type, Buffer.from(p.packet.data).toString('hex')])
  t.same(
    tx,
    [
      [1, '030c00'],
      [1, '01fc02aabb'],
      [1, '022000'],
      [2, '01000300dead00'],
    ],
    'host packets seen as tx',
  )
  t.equal(rec.packets.filter((p) => p.direction === 'rx').length, 1 + 3 + 50, 'controller packets seen as rx')
})

t.test('TCP: one host at a time; a host that comes back gets a fresh controller', async (t) => {
  const ctl = new ScriptedController()
  const rec = new Recorder()
  const served = await TcpServe.listen({ host: '127.0.0.1', port: 0 }, ctl, rec)
  t.teardown(() => served.close())

  const first = await tcpHost(served.spec.port)
  t.teardown(() => first.socket.destroy())
  t.same(await first.sink.take(4, 'greeting 1'), hex('04 ff 01 01'))

  const refused = rec.next('refused')
  const second = await tcpHost(served.spec.port)
  t.teardown(() => second.socket.destroy())
  await second.sink.whenClosed('the second connection to be closed')
  t.equal(second.sink.pending, 0, 'the refused host received nothing')
  t.match(await refused, { kind: 'refused', reason: /already connected/ })
  t.equal(ctl.attaches, 1, 'the refused host did not touch the controller')

  first.socket.write(hex('01 03 0c 00'))
  t.same(await first.sink.take(7, 'Reset complete'), hex('04 0e 04 01 03 0c 00'), 'the first host is still served')

  const gone = rec.next('host-disconnected')
  first.socket.end()
  await gone
  t.equal(ctl.detaches, 1, 'the controller was detached when the host left')

  const third = await tcpHost(served.spec.port)
  t.teardown(() => third.socket.destroy())
  t.same(await third.sink.take(4, 'greeting 2'), hex('04 ff 01 02'), 'the next host gets a new session')
  t.equal(ctl.attaches, 2)
})

t.test('TCP: an unknown packet type is a framing error; the stream resynchronises', async (t) => {
  const ctl = new ScriptedController()
  const rec = new Recorder()
  const served = await TcpServe.listen({ host: '127.0.0.1', port: 0 }, ctl, rec)
  t.teardown(() => served.close())
  const { socket, sink } = await tcpHost(served.spec.port)
  t.teardown(() => socket.destroy())
  await sink.take(4, 'greeting')
  const framing = rec.next('framing-error')
  // 0xff and 0x04 (an event: hosts do not send those) are not host packet types.
  socket.write(hex('ff 04 01 03 0c 00'))
  t.match(await framing, { kind: 'framing-error', message: /unknown H4 packet type 0xff at stream offset 0/ })
  t.same(await sink.take(7, 'Reset complete after resync'), hex('04 0e 04 01 03 0c 00'))
  t.equal(rec.events.filter((e) => e.kind === 'framing-error').length, 1, 'reported once per loss of sync')
})

t.test('TCP: close() ends the session and frees the port', async (t) => {
  const ctl = new ScriptedController()
  const served = await TcpServe.listen({ host: '127.0.0.1', port: 0 }, ctl)
  const { socket, sink } = await tcpHost(served.spec.port)
  t.teardown(() => socket.destroy())
  await sink.take(4, 'greeting')
  await served.close()
  await sink.whenClosed('the host connection to close')
  t.equal(ctl.detaches, 1)
  const again = net.connect({ host: '127.0.0.1', port: served.spec.port })
  const err = await within(
    new Promise<NodeJS.ErrnoException>((resolve) => again.once('error', resolve)),
    'a refused connection',
  )
  t.equal(err.code, 'ECONNREFUSED')
})

/** A UART host on the pty's slave side, as serial libraries open it. */
function ptyHost(path: string): { sink: ByteSink; write(b: Buffer): void; close(): void; pause(): void } {
  const fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_NOCTTY)
  const rs = new tty.ReadStream(fd)
  rs.setRawMode(true)
  const sink = new ByteSink()
  rs.on('data', (d: Buffer) => sink.push(d))
  rs.on('error', () => undefined)
  let closed = false
  return {
    sink,
    write: (b) => fs.writeSync(fd, b),
    pause: () => rs.pause(),
    close: () => {
      if (closed) return
      closed = true
      rs.destroy()
      fs.closeSync(fd)
    },
  }
}

t.test(
  'pty: served through socat, a fresh controller per opening, nothing stale',
  { skip: missing('socat') },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'hcikit-serve-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 'uart')
    const ctl = new ScriptedController()
    const rec = new Recorder()
    const served = await PtyServe.open(path, ctl, rec)
    t.teardown(() => served.close())
    const first = served.device!
    t.match(first, /^\/dev\/pts\/\d+$/)
    t.equal(fs.readlinkSync(path), first, 'the symlink points at the pty')
    t.equal(ctl.attaches, 0, 'nobody opened the pty: the controller is not attached, so it produces nothing')

    // Session 1: the host asks for a burst, never reads it, and goes away.
    const connected = rec.next('host-connected')
    const h1 = ptyHost(path)
    t.teardown(() => h1.close())
    h1.pause()
    h1.write(hex('01 01 fc 00'))
    await connected
    await rec.until(
      () =>
        rec.packets.filter((p) => p.direction === 'rx' && p.packet.data[0] === 0xff && p.packet.data[2] === 0xee)
          .length === 50,
      'the burst to be written to the pty',
    )
    const gone = rec.next('host-disconnected')
    const ready = rec.next('ready')
    h1.close()
    await gone
    t.equal(ctl.detaches, 1, 'detached when the host closed the pty')
    t.match(await ready, { kind: 'ready' }, 'a new pty is ready for the next host')
    t.equal(fs.readlinkSync(path), served.device, 'the symlink points at the new pty')

    // Session 2: the very first bytes are the new session's, then exactly the answer to Reset.
    const h2 = ptyHost(path)
    t.teardown(() => h2.close())
    t.same(
      await h2.sink.take(4, 'greeting 2'),
      hex('04 ff 01 02'),
      'first bytes come from a fresh controller (session 2)',
    )
    h2.write(hex('01 03 0c 00'))
    t.same(await h2.sink.take(7, 'Reset complete'), hex('04 0e 04 01 03 0c 00'), 'no stale burst bytes in between')
    t.equal(ctl.attaches, 2)

    // Closing the server: the session ends, the symlink goes.
    const gone2 = rec.next('host-disconnected')
    await served.close()
    await gone2
    t.throws(() => lstatSync(path), { code: 'ENOENT' }, 'symlink removed')
    t.equal(ctl.detaches, 2)
  },
)

t.test(
  'pty: refuses to replace a file that is not a symlink; replaces a stale symlink',
  { skip: missing('socat') },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'hcikit-serve-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const file = join(dir, 'file')
    fs.writeFileSync(file, 'x')
    await t.rejects(PtyServe.open(file, new ScriptedController()), /exists and is not a symlink/)
    const stale = join(dir, 'stale')
    fs.symlinkSync('/dev/pts/does-not-exist', stale)
    const served = await PtyServe.open(stale, new ScriptedController())
    t.teardown(() => served.close())
    t.equal(fs.readlinkSync(stale), served.device)
  },
)

// --- `hcikit link` with the real virtual controller, as a separate process ---------------------

const LINK_MS = 120_000

/** BD_ADDR bytes on the wire (little-endian) from "AA:BB:CC:DD:EE:FF". */
const addrBytes = (a: string): string => a.split(':').reverse().join('').toLowerCase()

t.test(
  'hcikit link: TCP and pty hosts that leave and come back get a fresh controller; clean shutdown',
  { skip: missing('socat') },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'hcikit-link-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const uart = join(dir, 'uart')
    const { peer, served } = await startLink(
      t,
      ['--seed', '7', '--trace', '--snoop', join(dir, 'snoop'), 'tcp-server:127.0.0.1:0', `pty:${uart}`],
      2,
      LINK_MS,
    )
    const [tcpLine, ptyLine] = served as [string[], string[]]
    t.match(tcpLine[0], /^tcp-server:127\.0\.0\.1:\d+$/, 'the chosen port is printed')
    t.equal(ptyLine[0], `pty:${uart}`)
    t.match(tcpLine[1], /^([0-9A-F]{2}:){5}[0-9A-F]{2}$/, 'an address is printed')
    t.not(tcpLine[1], ptyLine[1], 'controllers have distinct addresses')
    const port = Number(tcpLine[0]!.split(':').pop())

    // Read LE Host Support (Vol 4 Part E 7.3.78) shows state a host changed with Write LE Host Support
    // (7.3.79) and that only a reset puts back: it tells a fresh controller from a used one.
    const readHost = hex('01 6c 0c 00')
    const writeHost = hex('01 6d 0c 02 01 00')
    const hostIs = (v: string): Buffer => hex(`04 0e 06 01 6c 0c 00 ${v} 00`)

    // TCP, session 1.
    const a = await tcpHost(port)
    t.teardown(() => a.socket.destroy())
    a.socket.write(hex('01 03 0c 00'))
    t.same(
      await a.sink.take(7, 'Reset complete'),
      hex('04 0e 04 01 03 0c 00'),
      'Reset: Command Complete, exactly as UART hosts expect it',
    )
    a.socket.write(hex('01 09 10 00'))
    t.same(
      await a.sink.take(13, 'Read BD_ADDR'),
      hex(`04 0e 0a 01 09 10 00 ${addrBytes(tcpLine[1]!)}`),
      'the printed address is the BD_ADDR',
    )
    a.socket.write(readHost)
    t.same(await a.sink.take(9, 'Read LE Host Support'), hostIs('00'), 'fresh: LE host support off')
    a.socket.write(writeHost)
    t.same(await a.sink.take(7, 'Write LE Host Support'), hex('04 0e 04 01 6d 0c 00'))
    a.socket.write(readHost)
    t.same(await a.sink.take(9, 'Read LE Host Support'), hostIs('01'), 'the host changed it')

    // A second host while the first is connected is refused.
    const from = peer.stderr.length
    const b = await tcpHost(port)
    t.teardown(() => b.socket.destroy())
    await b.sink.whenClosed('the second TCP host to be refused')
    t.equal(b.sink.pending, 0, 'the refused host received nothing')
    await peer.line('stderr', /tcp-server.*refused .*already connected/, WAIT_MS, from)

    // TCP, session 2: no Reset sent, yet the controller is fresh.
    const left = peer.stderr.length
    a.socket.end()
    await peer.line('stderr', /tcp-server.*host disconnected/, WAIT_MS, left)
    const c = await tcpHost(port)
    t.teardown(() => c.socket.destroy())
    c.socket.write(readHost)
    t.same(
      await c.sink.take(9, 'Read LE Host Support'),
      hostIs('00'),
      'a host that comes back over TCP meets a reset controller',
    )

    // pty, session 1: change the state, ask for answers and never read them, go away.
    t.equal(fs.readlinkSync(uart).startsWith('/dev/pts/'), true, 'the pty symlink exists before anyone opens it')
    const h1 = ptyHost(uart)
    t.teardown(() => h1.close())
    h1.pause()
    h1.write(Buffer.concat([writeHost, readHost, readHost, readHost]))
    await peer.line('stderr', /pty:.*host connected/, WAIT_MS)
    // --trace shows the four answers going out to the pty, unread.
    const answered = (p: { stderr: string[] }): true | undefined =>
      p.stderr.filter((l) => /^\[pty:.*\] #\d+ > EVT Command Complete/.test(l)).length === 4 ? true : undefined
    await peer.until('the four answers of pty session 1', answered, WAIT_MS)
    const gone = peer.stderr.length
    h1.close()
    await peer.line('stderr', /pty:.*host disconnected/, WAIT_MS, gone)
    await peer.line('stderr', /pty:.*ready \(\/dev\/pts\/\d+\)/, WAIT_MS, gone)

    // pty, session 2: the first bytes are the answer to its own command, from a fresh controller.
    const h2 = ptyHost(uart)
    t.teardown(() => h2.close())
    h2.write(readHost)
    t.same(
      await h2.sink.take(9, 'Read LE Host Support on the pty'),
      hostIs('00'),
      'no stale bytes, fresh controller on the pty',
    )
    h2.close()

    // Clean shutdown.
    const pgid = peer.child.pid!
    const exit = await peer.stop('SIGTERM')
    t.same(exit, { code: 0, signal: null }, 'exit code 0 on SIGTERM')
    t.throws(() => lstatSync(uart), { code: 'ENOENT' }, 'pty symlink removed')
    t.notOk(groupAlive(pgid), 'no child (socat) survives')
    t.ok(
      fs.statSync(tcpLine[2]!).size > 16 && fs.statSync(ptyLine[2]!).size > 16,
      'one capture per controller, with records',
    )
  },
)
