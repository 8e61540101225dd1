/**
 * Issue 4, acceptance 2 and 3 (our server side): @stoprocent/noble's GATT client, in a child
 * process on a pty controller of `hcikit link`, against our peripheral: HciHost over TCP
 * (127.0.0.1) to another controller of the same link, gap/ Advertiser and Connections, att/
 * GattServer on an AttributeDatabase. noble scans, connects, discovers, reads, writes with and
 * without response, subscribes to a notification and an indication, disconnects; what it reports
 * is what our database declared, and our server saw its writes and subscriptions. tshark reads our
 * controller's capture: every ATT PDU, none malformed.
 */
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { HciHost } from '../../hci/host.ts'
import { AttributeDatabase } from '../../att/database.ts'
import { GattServer } from '../../att/server.ts'
import { Connections } from '../../gap/connections.ts'
import { Advertiser } from '../../gap/advertiser.ts'
import { AdBuilder } from '../../gap/ad.ts'
import { startLink, startPeer } from '../virtual/peers/link-process.ts'
import { connectTcp, realClock } from './tcp-transport.ts'
import { recording, attPdusIn, tsharkSummary, type Recorded } from './capture.ts'
import { keepCapture, step, steps, within, type Step } from './peer-steps.ts'
import { missing } from '../helpers/tools.ts'

const NOBLE = fileURLToPath(new URL('./peers/noble-client.mjs', import.meta.url))
const NAME = 'hcikit-gatt'
const U = (n: number): string => `f00d000${n}-8b5a-4e7b-9a3c-0123456789ab`
const plain = (u: string): string => u.replace(/-/g, '')

t.test(
  'noble against our GATT server',
  { skip: missing('socat') }, // skipped without it, a failure under CI (test/helpers/tools.ts)
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'hcikit-e2e-noble-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const pty = join(dir, 'central')
    const { peer: link, served } = await startLink(
      t,
      ['--snoop', join(dir, 'snoop'), 'tcp-server:127.0.0.1:0', `pty:${pty}`],
      2,
      30_000,
    )
    const [ours, theirs] = served as [string[], string[]]
    const port = Number(ours[0]!.split(':').at(-1))

    const writes: Array<{ hex: string; command: boolean }> = []
    const db = new AttributeDatabase({
      gap: { deviceName: NAME },
      services: [
        {
          uuid: U(1),
          characteristics: [
            { id: 'read', uuid: U(2), properties: ['read'], value: 'hello from hcikit', description: 'read me' },
            {
              id: 'write',
              uuid: U(3),
              properties: ['read', 'write', 'writeWithoutResponse'],
              value: 'initial',
              onWrite: (_c, value, o) =>
                void writes.push({ hex: Buffer.from(value).toString('hex'), command: o.withoutResponse }),
            },
            { id: 'notify', uuid: U(4), properties: ['notify'] },
            { id: 'indicate', uuid: U(5), properties: ['indicate'] },
          ],
        },
        { uuid: 0x180f, characteristics: [{ uuid: 0x2a19, properties: ['read'], value: Uint8Array.of(100) }] },
      ],
    })
    const server = new GattServer(db)

    const records: Recorded[] = []
    const host = new HciHost(recording(await connectTcp(port), realClock, records), { clock: realClock })
    t.teardown(() => host.close())
    await within(host.init(), 10_000, 'HciHost.init over tcp')
    const connections = new Connections(host, { clock: realClock, server })
    const advertiser = new Advertiser(host)
    await advertiser.start({
      data: new AdBuilder().flags(0x06).name(NAME),
      scanResponse: new AdBuilder().serviceUuids([U(1)]),
      intervalMs: 50,
    })
    const accepted = connections.accept({ timeout: 40_000 })
    accepted.catch(() => undefined)

    const noble = startPeer(t, 'noble', process.execPath, [NOBLE], {
      BLUETOOTH_HCI_SOCKET_UART_PORT: pty,
      HCIKIT_PEER_NAME: NAME,
      HCIKIT_WRITE_UUID: U(3),
      HCIKIT_NOTIFY_UUID: U(4),
      HCIKIT_INDICATE_UUID: U(5),
    })
    const conn = await within(accepted, 40_000, 'noble connecting to us')
    t.equal(conn.role, 'peripheral', 'we are the peripheral')
    t.equal(conn.peer.address, theirs[1], 'the central is noble, on its controller')
    t.equal(advertiser.advertising, false, 'advertising stopped with the connection')

    await step(noble, 'subscribed', 30_000, 1, (s) => s.char === 'notify')
    for (let i = 1; i <= 3; i++) {
      const [r] = await server.notify('notify', Uint8Array.of(0x4e, i))
      t.ok(r?.ok, `notification ${i} sent`)
    }
    await step(noble, 'subscribed', 30_000, 1, (s) => s.char === 'indicate')
    const [ind] = await within(server.indicate('indicate', Uint8Array.of(0x49, 1)), 10_000, 'the indication confirmed')
    t.ok(ind?.ok, 'noble confirmed the indication')
    await step(noble, 'done', 30_000)
    const disc = await within(conn.disconnected, 10_000, 'the disconnection')
    t.same(
      disc,
      { reason: 0x13, reasonName: 'Remote User Terminated Connection (0x13)', local: false },
      'noble disconnected us, reason named',
    )

    const ns = steps(noble)
    const get = (name: string): Step => ns.find((s) => s.step === name)!
    t.match(
      get('discover'),
      { address: ours[1]!.toLowerCase(), name: NAME, connectable: true },
      'noble found us by name',
    )
    t.ok((get('discover').serviceUuids as string[]).includes(plain(U(1))), 'our service UUID from the scan response')
    const discovered = get('discovered') as Step & {
      services: Array<{ uuid: string; characteristics: string[] }>
      characteristics: Array<{ uuid: string; properties: string[] }>
      descriptors: Record<string, string[]>
    }
    t.same(
      discovered.services.map((s) => s.uuid),
      ['1800', '1801', plain(U(1)), '180f'],
      'GAP, GATT, ours, Battery',
    )
    t.same(
      discovered.characteristics.filter((c) => c.uuid.startsWith('f00d')),
      [
        { uuid: plain(U(2)), properties: ['read'] },
        { uuid: plain(U(3)), properties: ['read', 'writeWithoutResponse', 'write'] },
        { uuid: plain(U(4)), properties: ['notify'] },
        { uuid: plain(U(5)), properties: ['indicate'] },
      ],
      'our characteristics with their properties',
    )
    t.same(
      [2, 3, 4, 5].map((n) => discovered.descriptors[plain(U(n))]),
      [['2901'], [], ['2902'], ['2902']],
      'descriptors',
    )
    const reads = get('reads').values as Record<string, string>
    t.equal(Buffer.from(reads[plain(U(2))]!, 'hex').toString(), 'hello from hcikit', 'read')
    t.equal(reads['2a19'], '64', 'battery level')
    t.equal(Buffer.from(reads['2a00']!, 'hex').toString(), NAME, 'device name')
    t.same(get('descriptors').values, { [plain(U(2))]: 'read me' }, 'user description')
    t.same(
      writes,
      [
        { hex: Buffer.from('with response').toString('hex'), command: false },
        { hex: Buffer.from('without response').toString('hex'), command: true },
      ],
      'our server got both writes',
    )
    t.equal(
      Buffer.from(String(get('read-after-write').hex), 'hex').toString(),
      'without response',
      'noble reads back what it wrote',
    )
    t.same(get('notifications').values, ['4e01', '4e02', '4e03'], 'noble got our three notifications')
    t.same(get('indications').values, ['4901'], 'and the indication')

    await noble.exited
    await host.close()
    t.same(await link.stop('SIGTERM'), { code: 0, signal: null }, 'hcikit link shut down cleanly')
    const capture = ours[2]!
    await t.test('tshark reads the capture', { skip: missing('tshark') }, async (t) => {
      const sum = await tsharkSummary(capture)
      const att = attPdusIn(records)
      t.same(sum.malformed, [], 'tshark: no malformed frame')
      t.equal(sum.att, att.tx + att.rx, `tshark decoded all ${att.tx + att.rx} ATT PDUs of the session`)
      if (keepCapture(capture, 'gatt-noble-peripheral.btsnoop')) t.pass('capture kept in fixtures/captures/')
    })
  },
)
