/**
 * What must not regress silently on the data path (issue 14, acceptance 3), untimed:
 * - no loss and no reordering across 10,000 writes without response and 10,000 notifications of
 *   244 octets, at 251- and 27-octet ACL buffers (a 27-octet buffer cuts every PDU into 10
 *   fragments), through the same rig as `npm run bench` (bench/gatt/): our client over
 *   `tcp:127.0.0.1` (H4, batched writes) to a virtual controller of a link in real time, against
 *   our GATT server. The server counts the writes and those out of order itself (read back over
 *   ATT); the client checks the sequence numbers of the notifications.
 * - the ATT requests of a first connection through the public API (connect() with no cache:
 *   discovery, the Database Hash, Robust Caching's Client Supported Features) to
 *   fixtures/gatt/large-db.json (GAP, GATT and 7 services with includes and a secondary one, 26
 *   characteristics), counted on the wire (the HCI packets our host publishes): at most 12, the
 *   bound of issue 4 (att/discovery.ts; noble needs 43 and Bumble 29 on a database this size).
 */
import t from 'tap'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { startBenchPeripheral } from '../../bench/gatt/peripheral.ts'
import { runHcikitClient } from '../../bench/gatt/hcikit-central.ts'
import { open, createVirtualLink } from '../../src/index.ts'
import { PACKET_CHANNEL, type PacketMessage } from '../../hci/host.ts'
import { attPduSpec } from '../../att/pdu.ts'
import { largeDbDeclaration } from '../att/gatt-setup.ts'

const N = 10_000

for (const acl of [251, 27]) {
  t.test(`${N} writes and ${N} notifications at ${acl}-octet ACL buffers: none lost, none reordered`, async (t) => {
    const peripheral = await startBenchPeripheral(acl)
    t.teardown(() => peripheral.close())
    const r = await runHcikitClient(peripheral.port, N)
    for (const p of r.phases) {
      t.same({ count: p.count, lost: p.lost, disordered: p.disordered }, { count: N, lost: 0, disordered: 0 }, p.phase)
    }
  })
}

t.test('first connection to large-db through the public API: at most 12 ATT requests', async (t) => {
  const link = createVirtualLink({ seed: 5 })
  const peripheral = await open({ transport: 'virtual', link, diagnostics: false })
  t.teardown(() => peripheral.close())
  const declaration = largeDbDeclaration()
  peripheral.serve(declaration)
  await peripheral.advertise({ name: 'large-db' })
  const central = await open({ transport: 'virtual', link, cache: false })
  t.teardown(() => central.close())
  const device = await central.find({ name: 'large-db' }, { timeout: 10_000 })
  const requests: string[] = []
  const onPacket = (m: unknown): void => {
    const p = m as PacketMessage
    // Our ACL packets out: L2CAP basic header, CID 0x0004 (ATT), then the ATT opcode.
    if (p.direction !== 'tx' || p.type !== 2 || p.data.length < 9) return
    if ((p.data[6]! | (p.data[7]! << 8)) !== 0x0004) return
    if (attPduSpec(p.data[8]!)?.type === 'request') requests.push(attPduSpec(p.data[8]!)!.name)
  }
  subscribe(PACKET_CHANNEL, onPacket)
  t.teardown(() => unsubscribe(PACKET_CHANNEL, onPacket))
  const client = await central.connect(device, { timeout: 20_000 })
  const chars = client.services.flatMap((s) => s.characteristics)
  // GAP and GATT services come with every database.
  t.equal(client.services.length, declaration.services.length + 2, 'every service found')
  t.equal(chars.length, 26, 'every characteristic found')
  const discovery = requests.filter((n) => n !== 'Exchange MTU Request')
  t.comment(`discovery: ${discovery.length} ATT requests (${discovery.join(', ')})`)
  t.ok(discovery.length <= 12, `${discovery.length} ATT requests (at most 12)`)
  await client.disconnect()
})
