/**
 * `hcikit l2cap ADDRESS PSM`: the CLI's central reaches a virtual controller served over TCP on
 * 127.0.0.1 (as `hcikit link tcp-server:` serves it); on the same link, in this process, a
 * peripheral adapter listens on one PSM and answers each SDU upper-cased, and on another only
 * records the length of what arrives. stdin goes out,
 * stdout gets the answers; the run ends when the peer closes the channel (exit 0), after --wait,
 * or with a one-line error when the PSM is refused. The peer's own record of what it received is
 * the oracle for what was sent.
 */
import t, { type Test } from 'tap'
import { PassThrough } from 'node:stream'
import { open, type Adapter } from '../../src/index.ts'
import { VirtualLink } from '../../src/virtual/link.ts'
import { VirtualController } from '../../src/virtual/controller.ts'
import { RealtimeScheduler } from '../../src/virtual/scheduler.ts'
import { TcpServe } from '../../src/virtual/serve.ts'
import { errorLines, run } from './run.ts'

const PSM = 0x0080
const SINK = 0x0082

async function rig(t: Test, seed: number): Promise<{ transport: string; peer: Adapter; got: string[] }> {
  const link = new VirtualLink({ seed, scheduler: new RealtimeScheduler({ seed }) })
  const controller = new VirtualController(link, {})
  t.teardown(() => controller.detach())
  const served = await TcpServe.listen({ host: '127.0.0.1', port: 0 }, controller)
  t.teardown(() => served.close())
  const peer = await open({ transport: 'virtual', link, name: 'echo', diagnostics: false })
  t.teardown(() => peer.close())
  peer.serve({})
  await peer.advertise({ name: 'echo' })
  const got: string[] = []
  peer.listen(PSM, async (ch) => {
    for await (const sdu of ch) {
      const text = new TextDecoder().decode(sdu as Uint8Array)
      got.push(text)
      if (text === 'bye') {
        await ch.disconnect()
        return
      }
      ch.write(new TextEncoder().encode(text.toUpperCase()))
    }
  })
  // a sink: records the length of each SDU, answers nothing
  peer.listen(SINK, async (ch) => {
    const t0 = Date.now()
    for await (const sdu of ch) {
      got.push(`${(sdu as Uint8Array).length}`)
      console.error('sdu', (sdu as Uint8Array).length, Date.now() - t0)
    }
    console.error('end', Date.now() - t0, ch.closeReason?.message)
  })
  return { transport: `tcp:127.0.0.1:${served.spec.port}`, peer, got }
}

t.test('stdin out, answers to stdout; the peer closing ends the run', async (t) => {
  const { transport, peer, got } = await rig(t, 71)
  const stdin = new PassThrough()
  stdin.write('hello')
  // each answer prompts the next line, as a person at the keyboard would
  let step = 0
  const done = await run(['--transport', transport, 'l2cap', peer.address, '0x80'], {
    stdin,
    onStdout: (text) => {
      if (step === 0 && text === 'HELLO') stdin.write('world', () => (step = 1))
      else if (step === 1 && text === 'HELLOWORLD') stdin.write('bye', () => (step = 2))
    },
  })
  t.equal(done.code, 0, done.stderr)
  t.equal(done.stdout, 'HELLOWORLD', 'the answers, as bytes, nothing else')
  t.same(got, ['hello', 'world', 'bye'], 'one SDU per write, as the peer received them')
  t.match(done.stderr, /^l2cap: PSM 0x0080 open to .* \(our MTU 2048, theirs 2048\)\n$/)
})

t.test('--wait after stdin ends; --mtu; a long input is cut at the peer MTU', async (t) => {
  const { transport, peer, got } = await rig(t, 72)
  const stdin = new PassThrough()
  stdin.end('x'.repeat(5000))
  const r = await run(['--transport', transport, 'l2cap', peer.address, '130', '--wait', '0.5', '--mtu', '100'], {
    stdin,
  })
  t.equal(r.code, 0, r.stderr)
  t.same(got, ['2048', '2048', '904'], "5000 bytes in SDUs of at most the peer's MTU")
  t.match(r.stderr, /our MTU 100, theirs 2048/)
})

t.test('a PSM nobody listens on; bad arguments', async (t) => {
  const { transport, peer } = await rig(t, 73)
  const r = await run(['--transport', transport, 'l2cap', peer.address, '0x81'], { stdin: new PassThrough() })
  t.equal(r.code, 1)
  const e = errorLines(r.stderr)
  t.match(e.message, /^hcikit: LE credit based connection to PSM 0x0081: .*SPSM not supported/i)
  for (const args of [
    ['l2cap'],
    ['l2cap', peer.address],
    ['l2cap', peer.address, '0x100'],
    ['l2cap', peer.address, 'abc'],
    ['l2cap', peer.address, '0x80', '--credits', '0'],
    ['l2cap', 'nope', '0x80'],
  ]) {
    const u = await run(args)
    t.equal(u.code, 2, `${args.join(' ')}: a usage error`)
  }
})
