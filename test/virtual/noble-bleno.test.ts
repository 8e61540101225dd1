/**
 * Independent hosts on our controller (issue 3, acceptance 1 and 2): @stoprocent/bleno as a GATT
 * peripheral and @stoprocent/noble as a central, each in its own process, each on its own virtual
 * controller served by `hcikit link` on a pseudo-terminal, in their HCI-over-UART mode
 * (BLUETOOTH_HCI_SOCKET_UART_PORT). None of hcikit's host code runs: the peers are plain scripts
 * (test/virtual/peers/*.mjs) that report their steps as JSON lines.
 *
 * Then tshark reads the two btsnoop captures `hcikit link --snoop` wrote: no malformed frame, and
 * the packets it shows, byte for byte and in order, are what each host logged it wrote
 * (bluetooth-hci-socket's `hci-uart` debug output) and received (their `hci` debug output).
 */
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startLink, startPeer, type Peer } from './peers/link-process.ts'
import { missing } from '../helpers/tools.ts'
import { tsharkText } from '../helpers/tshark.ts'

const SERVICE = '6e400001b5a3f393e0a9e50e24dcca9e'
const CHAR = (n: number): string => `6e40000${n}b5a3f393e0a9e50e24dcca9e`
const PEERS = fileURLToPath(new URL('./peers/', import.meta.url))

// Bounded waits below; the file as a whole may take longer than tap's default under a loaded suite.
t.setTimeout(300_000)

type Step = { step: string } & Record<string, unknown>

/** The JSON steps a peer printed so far. */
function steps(p: Peer): Step[] {
  return p.stdout.flatMap((l) => {
    try {
      const v = JSON.parse(l) as Step
      return typeof v.step === 'string' ? [v] : []
    } catch {
      return []
    }
  })
}

/** Wait for a peer's step; a peer that reports 'error' fails the wait at once with its message. */
function step(p: Peer, name: string, ms: number): Promise<Step> {
  return p.until(
    `step '${name}'`,
    (peer) => {
      const all = steps(peer)
      const err = all.find((s) => s.step === 'error')
      if (err) throw new Error(`${peer.name} failed: ${String(err.message)}\n${peer.tail()}`)
      return all.find((s) => s.step === name)
    },
    ms,
  )
}

/** H4 packets (hex, type byte first) a host logged writing ('tx') and receiving ('rx'). */
function hostTraffic(p: Peer): { tx: string[]; rx: string[] } {
  const tx: string[] = []
  const rx: string[] = []
  for (const line of p.stderr) {
    const w = / hci-uart (?:Write|Reset): ([0-9a-f]+)$/.exec(line)
    if (w) tx.push(w[1]!)
    const r = / hci onSocketData: ([0-9a-f]+)$/.exec(line)
    if (r) rx.push(r[1]!)
  }
  return { tx, rx }
}

/** Every frame of a capture as tshark sees it: direction ('tx' = sent by the host), bytes, malformed. */
async function tsharkFrames(
  file: string,
): Promise<Array<{ n: number; dir: 'tx' | 'rx'; hex: string; malformed: boolean }>> {
  const fields = await tsharkText(
    file,
    ['-n', '-T', 'fields', '-e', 'frame.number', '-e', 'hci_h4.direction', '-e', '_ws.malformed'],
    { cache: false },
  )
  const json = await tsharkText(file, ['-n', '-T', 'json', '-x', '-j', 'hci_h4'], { cache: false })
  const raw = (JSON.parse(json) as Array<{ _source: { layers: { frame_raw: [string] } } }>).map(
    (f) => f._source.layers.frame_raw[0],
  )
  return fields
    .trim()
    .split('\n')
    .map((line, i) => {
      const [n, dir, malformed] = line.split('\t')
      return {
        n: Number(n),
        dir: dir === '0x00' ? ('tx' as const) : ('rx' as const),
        hex: raw[i]!,
        malformed: (malformed ?? '') !== '',
      }
    })
}

t.test(
  'noble (central) and bleno (peripheral) over ptys served by hcikit link',
  {
    skip: missing('socat'),
  },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'hcikit-noble-bleno-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const central = join(dir, 'central')
    const peripheral = join(dir, 'peripheral')
    const { peer: link, served } = await startLink(
      t,
      ['--snoop', join(dir, 'snoop'), `pty:${central}`, `pty:${peripheral}`],
      2,
      120_000,
    )
    const [centralLine, peripheralLine] = served as [string[], string[]]
    const uart = (path: string): NodeJS.ProcessEnv => ({
      BLUETOOTH_HCI_SOCKET_UART_PORT: path,
      DEBUG: 'hci-uart,hci',
      DEBUG_COLORS: '0',
    })
    // In failure reports, keep the packets each host wrote and received, not the decoding chatter.
    const chatter = /Z hci (?!onSocketData)/

    const bleno = startPeer(
      t,
      'bleno',
      process.execPath,
      [join(PEERS, 'bleno-peripheral.mjs')],
      uart(peripheral),
      chatter,
    )
    const adv = await step(bleno, 'advertising', 60_000)
    t.equal(
      String(adv.address).toUpperCase(),
      peripheralLine[1],
      'bleno runs on the peripheral controller (its BD_ADDR)',
    )

    const noble = startPeer(t, 'noble', process.execPath, [join(PEERS, 'noble-central.mjs')], uart(central), chatter)
    await step(noble, 'done', 90_000)
    const ns = steps(noble)
    const get = (name: string): Step => ns.find((s) => s.step === name)!

    t.equal(String(get('poweredOn').address).toUpperCase(), centralLine[1], 'noble runs on the central controller')
    t.match(
      ns.find((s) => s.step === 'discover' && s.name === 'hcikit-bleno'),
      { address: String(adv.address).toLowerCase(), connectable: true },
      'noble found bleno, name from the scan response',
    )
    const discovered = get('discovered') as Step & {
      services: string[]
      characteristics: Array<{ uuid: string; properties: string[] }>
      descriptors: Record<string, string[]>
    }
    t.ok(discovered.services.includes(SERVICE), 'the service is discovered (besides GAP and GATT)')
    t.same(
      discovered.characteristics.filter((c) => c.uuid.startsWith('6e40000')),
      [
        { uuid: CHAR(2), properties: ['read'] },
        { uuid: CHAR(3), properties: ['writeWithoutResponse', 'write'] },
        { uuid: CHAR(4), properties: ['notify'] },
        { uuid: CHAR(5), properties: ['indicate'] },
      ],
      'all characteristics discovered with their properties',
    )
    t.same(
      [2, 3, 4, 5].map((n) => discovered.descriptors[CHAR(n)]),
      [['2901'], [], ['2902'], ['2902']],
      'all descriptors discovered (user description, CCCDs)',
    )
    t.equal(get('descriptor').value, 'read me', 'descriptor read')
    t.equal(get('read').value, 'hello from bleno', 'characteristic read')
    t.same(
      get('notifications').values,
      [1, 2, 3].map((i) => ({ hex: `4e0${i}`, isNotification: true })),
      'three notifications received',
    )
    t.same(
      get('indications').values,
      [{ hex: '4901', isNotification: true }],
      'the indication received (noble reports both as data)',
    )
    t.ok(
      ns.some((s) => s.step === 'disconnected'),
      'noble disconnected',
    )

    const bs = (): Step[] => steps(bleno)
    await step(bleno, 'disconnect', 30_000)
    t.same(
      bs()
        .filter((s) => s.step === 'write')
        .map((s) => [Buffer.from(String(s.hex), 'hex').toString(), s.withoutResponse]),
      [
        ['with response', false],
        ['without response', true],
      ],
      'bleno received both writes, with and without response',
    )
    t.ok(
      bs().some((s) => s.step === 'subscribe' && s.char === 'notify'),
      'bleno saw the notify subscription',
    )
    t.ok(
      bs().some((s) => s.step === 'subscribe' && s.char === 'indicate'),
      'bleno saw the indicate subscription',
    )
    t.ok(
      bs().some((s) => s.step === 'indicated'),
      'bleno got the Handle Value Confirmation',
    )
    t.equal(get('read-again').value, 'hello from bleno', 'a read after the indication')
    t.same(
      bs()
        .filter((s) => s.step === 'read' || s.step === 'indicated')
        .map((s) => s.step),
      ['read', 'indicated', 'read'],
      'the confirmation arrived before the next request',
    )
    t.match(
      bs().find((s) => s.step === 'accept'),
      { address: String(get('poweredOn').address) },
      'bleno accepted noble',
    )

    // Stop the peripheral host, then the link, so the captures are complete and flushed.
    await noble.exited
    await bleno.stop('SIGKILL')
    t.same(await link.stop('SIGTERM'), { code: 0, signal: null }, 'hcikit link shut down cleanly')

    // Acceptance 2: tshark's view of each capture against what each host logged.
    const noTshark = missing('tshark')
    if (noTshark) return void t.test('tshark reads the captures', { skip: noTshark }, () => {})
    for (const [who, host, file] of [
      ['noble', noble, centralLine[2]!],
      ['bleno', bleno, peripheralLine[2]!],
    ] as const) {
      const frames = await tsharkFrames(file)
      t.ok(frames.length > 50, `${who}: tshark read ${frames.length} frames`)
      t.same(
        frames.filter((f) => f.malformed).map((f) => f.n),
        [],
        `${who}: no malformed frame`,
      )
      const cap = {
        tx: frames.filter((f) => f.dir === 'tx').map((f) => f.hex),
        rx: frames.filter((f) => f.dir === 'rx').map((f) => f.hex),
      }
      const logged = hostTraffic(host)
      // The UART driver swallows the first Reset's Command Complete (it waits for it before it lets
      // any packet through) and logs nothing for it.
      t.equal(cap.rx[0], '040e0401030c00', `${who}: the first packet to the host is the Reset's Command Complete`)
      const capRx = cap.rx.slice(1)
      // A host that ends may have logged packets it never got to write (noble's exit handlers log
      // an LE Set Extended Scan Enable 0 and a Reset as the process exits), and a host killed at the
      // end may not have logged the last packets it was sent: compare the common part, which must be
      // identical and reach past the disconnection.
      for (const d of ['tx', 'rx'] as const) {
        const a = d === 'tx' ? cap.tx : capRx
        const b = logged[d]
        const n = Math.min(a.length, b.length)
        t.same(
          a.slice(0, n),
          b.slice(0, n),
          `${who}: ${d} packets in the capture are the ones the host logged (${n} compared; capture ${a.length}, host ${b.length})`,
        )
      }
      const disconnection = capRx.findIndex((h) => h.startsWith('0405'))
      t.ok(
        disconnection >= 0 && disconnection < logged.rx.length,
        `${who}: the comparison covers the Disconnection Complete`,
      )
    }
  },
)
