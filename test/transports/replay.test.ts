/**
 * src/transports/replay.ts with real traces (the corpus of test/helpers/real.ts, recorded by other
 * people) and with our own (fixtures/virtual/): the controller's side played into an HciHost
 * (every event the capture holds, by tshark's count, reaches the host; nothing throws), lockstep
 * replay driven by the capture's own host packets, a host that strays from the capture, and an
 * unreadable file.
 */
import t, { type Test } from 'tap'
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HciHost } from '../../hci/host.ts'
import { openTransport } from '../../src/transports/index.ts'
import { openReplay } from '../../src/transports/replay.ts'
import { openCapture } from '../../src/capture-file.ts'
import { realClock, within } from './helpers.ts'
import { realCatalog, realTest, realTrace, shortName } from '../helpers/real.ts'
import { virtualTraces } from '../helpers/fixtures.ts'
import { missing } from '../helpers/tools.ts'
import { num, tsharkFrames } from '../helpers/tshark.ts'

interface Trace {
  path: string
  /** Events and commands in the capture, as tshark counts them. */
  hci_events: number
  hci_cmds: number
}

/** A corpus trace, with tshark's counts from the corpus's catalog.json. */
const entry = (file: string): Trace => {
  const e = realCatalog().find((c) => c.file === file)!
  return { path: realTrace(file), hci_events: e.hci_events, hci_cmds: e.hci_cmds }
}

/** One of our own traces, with tshark's counts read now. */
async function fixture(path: string): Promise<Trace> {
  const frames = [...(await tsharkFrames(path)).values()]
  const count = (type: number) => frames.filter((f) => num(f['hci_h4.type'][0]) === type).length
  return { path, hci_events: count(4), hci_cmds: count(1) }
}

const OWN = virtualTraces().find((f) => f.endsWith('discovery.btsnoop'))!
const TSHARK = { skip: missing('tshark') }

for (const file of ['cnrd__yeelock__btsnoop_hci.log', 'BeanCounterTop__ble-pcap-analyzer__hci.pcap']) {
  realTest(`the controller side of ${file} played into an HciHost`, (t) => playedIntoHost(t, entry(file)))
}
t.test(`the controller side of our own ${shortName(OWN)} played into an HciHost`, TSHARK, async (t) =>
  playedIntoHost(t, await fixture(OWN)),
)

async function playedIntoHost(t: Test, { path, hci_events }: Trace): Promise<void> {
  const transport = await openTransport(`replay:${path}`, { env: {} })
  const errors: Error[] = []
  const host = new HciHost(transport, { clock: realClock, onError: (e) => errors.push(e) })
  let closedWith: Error | undefined | null = null
  host.onClose((e) => (closedWith = e))
  const replay = transport as Awaited<ReturnType<typeof openReplay>>
  const stats = await within(replay.finished, 'the replay to finish', 60_000)
  t.equal(
    host.stats.eventsReceived + host.stats.eventDecodeErrors,
    hci_events,
    `all ${hci_events} events (tshark's count) reached the host`,
  )
  t.ok(stats.delivered >= hci_events, "events and the controller's ACL were delivered")
  t.equal(stats.ignored, 0, 'the host sent nothing: nothing to ignore')
  t.equal(closedWith, null, 'the transport stays open after the last record')
  t.ok(host.stats.unmatchedResponses > 0, 'answers to commands this host never sent are counted, not fatal')
  await host.close()
  t.equal(closedWith, undefined)
  t.same(
    errors.filter((e) => !('handle' in e)),
    [],
    'no decode errors other than ACL on unknown links',
  )
}

realTest("lockstep: the capture's own host packets drive the replay; a stray packet ends it", (t) =>
  lockstep(t, entry('cnrd__yeelock__btsnoop_hci.log')),
)
t.test('lockstep on our own trace: its host packets drive the replay; a stray packet ends it', TSHARK, async (t) =>
  lockstep(t, await fixture(OWN)),
)

async function lockstep(t: Test, { path, hci_events, hci_cmds }: Trace): Promise<void> {
  const transport = await openReplay(path, { mode: 'lockstep' })
  let events = 0
  transport.onPacket((p) => void (p.type === 4 && events++))
  let tx = 0
  for await (const r of openCapture(path)) {
    if (r.direction !== 'tx' || r.packetType === undefined || r.error) continue
    transport.send({ type: r.packetType, data: r.data })
    tx++
  }
  const stats = await within(transport.finished, 'the lockstep replay to finish', 60_000)
  t.equal(stats.matched, tx, 'every recorded host packet matched')
  t.ok(tx >= hci_cmds, `at least the ${hci_cmds} commands tshark counts`)
  t.equal(events, hci_events, 'all events delivered in lockstep')
  await transport.close()

  const again = await openReplay(path, { mode: 'lockstep' })
  const closed = new Promise<Error | undefined>((resolve) => again.onClose(resolve))
  // Sent before the replay reaches the first recorded host packet: held, then compared with it.
  again.send({ type: 1, data: Uint8Array.of(0x01, 0xfc, 0x00) })
  const err = await within(closed, 'the stray packet to close the replay')
  t.match(err, {
    name: 'TransportError',
    message: /record \d+: the host sent 1: 01 fc 00, the capture has 1: /,
    hint: /mode 'ignore'/,
  })
  t.equal((await again.finished).matched, 0)
}

t.test("a file that is no capture fails the open with the reader's explanation", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hcikit-replay-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const bad = join(dir, 'notes.txt')
  writeFileSync(bad, 'these are not packets, just words')
  await t.rejects(openTransport(`replay:${bad}`, { env: {} }), {
    name: 'TransportError',
    message: /not a capture hcikit reads/,
  })
  await t.rejects(openTransport(`replay:${join(dir, 'missing.btsnoop')}`, { env: {} }), {
    name: 'TransportError',
    message: /cannot read|ENOENT/,
  })
})
