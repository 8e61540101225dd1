/**
 * Several devices at once from one adapter: connect to every heart-rate sensor and sensor found,
 * then read their notifications side by side, each loop knowing which device it serves.
 *   node examples/several-devices.ts [TRANSPORT]
 */
import { open, type Advertisement, type Client } from '../src/index.ts'
import { peers, runIfMain, type ExampleOptions } from './virtual-peers.ts'

const SENSOR = '8f3a0001-4b1c-4e2a-9c1d-6863696b6974'
const COUNTER = '8f3a0002-4b1c-4e2a-9c1d-6863696b6974'

export async function main(o: ExampleOptions = {}): Promise<Record<string, number>> {
  const log = o.log ?? console.log
  await using around = await peers(o, ['hrm', 'sensor', 'battery'])
  await using adapter = await open({ transport: around.transport, link: around.link })

  const found: Advertisement[] = []
  for await (const ad of adapter.scan({ services: ['180d', SENSOR, '180f'], timeout: 3000 })) found.push(ad)
  log(`found ${found.length}: ${found.map((a) => a.name ?? a.address).join(', ')}`)

  // connect one after the other (the controller initiates one at a time), then listen to all at once
  const clients: Client[] = []
  for (const ad of found) clients.push(await adapter.connect(ad, { timeout: 10_000 }))

  const counts: Record<string, number> = {}
  await Promise.all(
    clients.map(async (client) => {
      const name = found.find((a) => a.address === client.address)?.name ?? client.address
      const c = client.database.service('180d')
        ? client.characteristic('180d', '2a37')
        : client.database.service(SENSOR)
          ? client.characteristic(SENSOR, COUNTER)
          : client.characteristic('180f', '2a19')
      counts[name] = 0
      for await (const v of client.notifications(c)) {
        log(`${name}: ${Buffer.from(v).toString('hex')}`)
        if (++counts[name] === 3) break
      }
      await client.disconnect()
    }),
  )
  return counts
}

runIfMain(import.meta.url, main)
