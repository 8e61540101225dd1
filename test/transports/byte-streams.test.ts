/**
 * The byte-stream transports against the virtual controller: HciHost.init() (Reset, the
 * informational reads, event masks, buffer sizes: Core v5.4 Vol 4 Part E 7.3/7.4/7.8) completes
 * over TCP (to `hcikit link tcp-server:`), over a Unix socket (a controller served in-process
 * with src/virtual/serve.ts's startSession), over UART through a pty (`hcikit link pty:`), with
 * the host listening (`tcp-server:`), and through a TCP bridge of a local transport.
 */
import t, { type Test } from 'tap'
import net from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HciHost } from '../../hci/host.ts'
import type { Transport } from '../../hci/transport.ts'
import { startSession } from '../../src/virtual/serve.ts'
import { openTransport } from '../../src/transports/index.ts'
import { TcpControllerListener, TransportBridge, connectTcp } from '../../src/transports/tcp.ts'
import { startLink } from '../virtual/peers/link-process.ts'
import { WAIT_MS, realClock, virtualController, within } from './helpers.ts'
import { missing } from '../helpers/tools.ts'

t.setTimeout(300_000)

async function initOver(t: Test, transport: Transport): Promise<string> {
  const host = new HciHost(transport, { clock: realClock })
  const info = await within(host.init(), 'init() to complete')
  t.ok(host.aclBuffers('le'), 'LE buffers were read')
  t.same(host.stats.eventDecodeErrors, 0, 'no event failed to decode')
  const closed = new Promise<Error | undefined>((resolve) => host.onClose(resolve))
  await host.close()
  t.equal(await within(closed, 'onClose'), undefined, 'closed by us: onClose without an error')
  await t.rejects(
    Promise.resolve().then(() => transport.send({ type: 1, data: Uint8Array.of(3, 12, 0) })),
    { name: 'TransportError' },
    'send after close is a TransportError',
  )
  return info.address
}

t.test('TCP and UART (pty) to `hcikit link`', { skip: missing('socat') }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hcikit-transports-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const uart = join(dir, 'uart')
  const { peer, served } = await startLink(t, ['--seed', '5', 'tcp-server:127.0.0.1:0', `pty:${uart}`], 2, 120_000)
  const [tcpLine, ptyLine] = served as [string[], string[]]
  const port = Number(tcpLine[0]!.split(':').pop())

  const overTcp = await openTransport(`tcp:127.0.0.1:${port}`, { env: {} })
  t.equal(await initOver(t, overTcp), tcpLine[1], 'TCP: init() read the BD_ADDR hcikit link printed')

  const overUart = await openTransport(`uart:${uart}@1000000`, { env: {}, timeout: WAIT_MS })
  t.equal(await initOver(t, overUart), ptyLine[1], 'UART over the pty: init() read the BD_ADDR hcikit link printed')

  // Once more: each opening of the pty is a new session on a new pty (serve-pty.ts): wait for it.
  await peer.line(
    'stderr',
    /pty:.*ready \(\/dev\/pts\/\d+\)/,
    WAIT_MS,
    peer.stderr.findIndex((l) => /pty:.*host disconnected/.test(l)),
  )
  const again = await openTransport(`uart:${uart},noflow`, { env: {}, timeout: WAIT_MS })
  t.equal(await initOver(t, again), ptyLine[1], 'UART without flow control, second session')
})

t.test('TCP: the other end closing is reported with a TransportError', async (t) => {
  const controller = virtualController(t)
  const server = net.createServer((s) => startSession(s, controller))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => server.close(() => r())))
  const transport = await connectTcp('127.0.0.1', (server.address() as net.AddressInfo).port)
  const host = new HciHost(transport, { clock: realClock })
  await within(host.init(), 'init')
  const closed = new Promise<Error | undefined>((resolve) => transport.onClose(resolve))
  controller.detach() // the session ends and the served side closes the socket
  t.match(await within(closed, 'onClose'), { name: 'TransportError', message: /other end closed/ })
})

t.test('TCP: garbage from a non-H4 peer closes the transport with the framing error', async (t) => {
  const server = net.createServer((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => server.close(() => r())))
  const transport = await connectTcp('127.0.0.1', (server.address() as net.AddressInfo).port)
  const closed = await within(new Promise<Error | undefined>((resolve) => transport.onClose(resolve)), 'onClose')
  t.match(closed, { name: 'TransportError', message: /unknown H4 packet type 0x48 at stream offset 0/, hint: /H4/ })
})

t.test('Unix socket: a controller served in-process', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hcikit-unix-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'hci.sock')
  const controller = virtualController(t)
  const server = net.createServer((s) => startSession(s, controller))
  await new Promise<void>((r) => server.listen(path, r))
  t.teardown(() => new Promise<void>((r) => server.close(() => r())))
  const transport = await openTransport(`unix:${path}`, { env: {} })
  t.equal(await initOver(t, transport), controller.address)
})

t.test('tcp-server: the host listens, the controller side dials in', async (t) => {
  const controller = virtualController(t)
  const listener = await TcpControllerListener.listen('127.0.0.1', 0)
  t.teardown(() => listener.close())
  t.ok(listener.port > 0)
  const accepted = listener.accept()
  const dialer = net.connect({ host: '127.0.0.1', port: listener.port })
  t.teardown(() => dialer.destroy())
  dialer.once('connect', () => startSession(dialer, controller))
  const transport = await within(accepted, 'the controller to connect in')
  t.equal(await initOver(t, transport), controller.address)

  const ac = new AbortController()
  const pending = listener.accept({ signal: ac.signal })
  ac.abort(new Error('gave up'))
  await t.rejects(pending, /gave up/, 'accept() honours its signal')
})

t.test('bridge: a local transport served to a remote host over TCP', async (t) => {
  const controller = virtualController(t)
  const local = controller.attach()
  const events: string[] = []
  let left: () => void = () => {}
  const bridge = await TransportBridge.listen(local, '127.0.0.1', 0, (e) => {
    events.push(e.kind)
    if (e.kind === 'host-disconnected') left()
  })
  t.teardown(() => bridge.close())
  const first = await openTransport(`tcp:127.0.0.1:${bridge.port}`, { env: {} })
  const gone = new Promise<void>((r) => (left = r))
  t.equal(await initOver(t, first), controller.address, 'first host')
  await within(gone, 'the bridge to see the first host leave')
  // The bridge serves the next host on the same controller.
  const second = await connectTcp('127.0.0.1', bridge.port)
  t.equal(await initOver(t, second), controller.address, 'second host')
  t.same(events.filter((e) => e === 'host-connected').length, 2)
})
