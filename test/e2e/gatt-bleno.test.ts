/**
 * Issue 4, acceptance 2 and 3 (our client side): our HciHost + gap/ + GATT client, on a virtual
 * controller served by `hcikit link` over TCP (127.0.0.1), against @stoprocent/bleno's GATT
 * server in a child process on another controller of the same link (a pty, bleno's UART mode;
 * the bleno script is test/virtual/peers/bleno-peripheral.mjs). Scan, connect, discover, read,
 * write with and without response, notify, indicate, disconnect: everything agrees with what
 * bleno declared and with what bleno reports it saw. tshark then reads our controller's capture:
 * every ATT PDU, none malformed.
 */
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { HciHost } from '../../hci/host.ts'
import { GattClient } from '../../att/client.ts'
import { Connections } from '../../gap/connections.ts'
import { Scanner } from '../../gap/scanner.ts'
import { startLink, startPeer } from '../virtual/peers/link-process.ts'
import { connectTcp, realClock } from './tcp-transport.ts'
import { recording, attPdusIn, tsharkSummary, type Recorded } from './capture.ts'
import { keepCapture, step, steps, within } from './peer-steps.ts'
import { missing } from '../helpers/tools.ts'

const SERVICE = '6e400001-b5a3-f393-e0a9-e50e24dcca9e'
const CHAR = (n: number): string => `6e40000${n}-b5a3-f393-e0a9-e50e24dcca9e`
const BLENO = fileURLToPath(new URL('../virtual/peers/bleno-peripheral.mjs', import.meta.url))

t.test(
  'our GATT client against bleno',
  { skip: missing('socat') }, // skipped without it, a failure under CI (test/helpers/tools.ts)
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'hcikit-e2e-bleno-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const pty = join(dir, 'peripheral')
    const { peer: link, served } = await startLink(
      t,
      ['--snoop', join(dir, 'snoop'), 'tcp-server:127.0.0.1:0', `pty:${pty}`],
      2,
      30_000,
    )
    const [ours, theirs] = served as [string[], string[]]
    const port = Number(ours[0]!.split(':').at(-1))

    const bleno = startPeer(t, 'bleno', process.execPath, [BLENO], { BLUETOOTH_HCI_SOCKET_UART_PORT: pty })
    const adv = await step(bleno, 'advertising', 20_000)
    t.equal(String(adv.address).toUpperCase(), theirs[1], 'bleno advertises from its controller')

    const records: Recorded[] = []
    const transport = recording(await connectTcp(port), realClock, records)
    const host = new HciHost(transport, { clock: realClock })
    t.teardown(() => host.close())
    const info = await within(host.init(), 10_000, 'HciHost.init over tcp')
    t.equal(info.address, ours[1], 'our host runs on the tcp-served controller')
    const connections = new Connections(host, { clock: realClock })
    const scanner = new Scanner(host, realClock)
    const found = await scanner.find((a) => a.name === 'hcikit-bleno', { timeout: 10_000 })
    t.equal(found.address, theirs[1], 'found bleno by the (shortened) name in its scan response')
    t.ok(found.connectable && found.scanResponse !== undefined, 'connectable, scan response merged')
    t.ok(found.ad.serviceUuids.includes(SERVICE), 'its service UUID is advertised')

    const conn = await connections.connect({ address: found.address, type: found.addressType }, { timeout: 10_000 })
    await step(bleno, 'accept', 10_000)
    t.equal(String(steps(bleno).find((s) => s.step === 'accept')!.address).toUpperCase(), ours[1], 'bleno accepted us')
    const client = new GattClient(conn.att, { policy: 'off' })
    const mtu = await within(client.exchangeMtu(), 10_000, 'Exchange MTU')
    t.ok(mtu >= 23, `ATT_MTU ${mtu}`)
    const db = await within(client.discover(), 20_000, 'discovery')
    const svc = db.service(SERVICE)
    t.ok(svc, 'the service bleno declared')
    t.same(
      svc!.characteristics.map((c) => [c.uuid, c.properties]),
      [
        [CHAR(2), 0x02],
        [CHAR(3), 0x0c],
        [CHAR(4), 0x10],
        [CHAR(5), 0x20],
      ],
      'its four characteristics with their properties (read; write + write without response; notify; indicate)',
    )
    t.same(
      svc!.characteristics.map((c) => c.descriptors.map((d) => d.uuid.slice(4, 8))),
      [['2901'], [], ['2902'], ['2902']],
      'the descriptors: a user description, CCCDs',
    )
    const [readChar, writeChar, notifyChar, indicateChar] = svc!.characteristics
    t.equal(Buffer.from(await client.read(readChar!.descriptors[0]!)).toString(), 'read me', 'the user description')
    t.equal(Buffer.from(await client.read(readChar!)).toString(), 'hello from bleno', 'read')
    await client.write(writeChar!, Buffer.from('with response'))
    await client.writeWithoutResponse(writeChar!, Buffer.from('without response'))
    await step(bleno, 'write', 10_000, 2)
    t.same(
      steps(bleno)
        .filter((s) => s.step === 'write')
        .map((s) => [Buffer.from(String(s.hex), 'hex').toString(), s.withoutResponse]),
      [
        ['with response', false],
        ['without response', true],
      ],
      'bleno received both writes',
    )

    const notes: string[] = []
    const nsub = await client.subscribe(notifyChar!)
    for await (const v of nsub) if (notes.push(Buffer.from(v).toString('hex')) === 3) break
    t.same(notes, ['4e01', '4e02', '4e03'], 'the three notifications bleno sends on subscription')
    const isub = await client.subscribe(indicateChar!)
    for await (const v of isub) {
      t.equal(Buffer.from(v).toString('hex'), '4901', 'the indication')
      break
    }
    // One more round trip: the confirmation went out before this request.
    t.equal(Buffer.from(await client.read(readChar!)).toString(), 'hello from bleno')
    await step(bleno, 'indicated', 10_000)
    t.ok(
      steps(bleno).some((s) => s.step === 'subscribe' && s.char === 'notify'),
      'bleno saw the notify subscription',
    )

    const d = await conn.disconnect(0x13)
    t.equal(d.reason, 0x16, 'our side: Connection Terminated By Local Host')
    await step(bleno, 'disconnect', 10_000)
    await host.close()
    await bleno.stop('SIGKILL')
    t.same(await link.stop('SIGTERM'), { code: 0, signal: null }, 'hcikit link shut down cleanly')

    const capture = ours[2]!
    await t.test('tshark reads the capture', { skip: missing('tshark') }, async (t) => {
      const sum = await tsharkSummary(capture)
      const att = attPdusIn(records)
      t.same(sum.malformed, [], 'tshark: no malformed frame')
      t.equal(sum.att, att.tx + att.rx, `tshark decoded all ${att.tx + att.rx} ATT PDUs of the session`)
      t.ok(
        sum.attOpcodes.includes(0x1b) && sum.attOpcodes.includes(0x1d) && sum.attOpcodes.includes(0x1e),
        'notification, indication, confirmation',
      )
      if (keepCapture(capture, 'gatt-bleno-central.btsnoop')) t.pass('capture kept in fixtures/captures/')
    })
  },
)
