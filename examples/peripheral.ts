/**
 * Be a peripheral: serve a small GATT database, advertise, greet each central that connects and
 * notify a counter to those who subscribe. On the virtual link a central (in the same process)
 * connects, reads the greeting, writes a name, takes three counter values and leaves.
 *   node examples/peripheral.ts [TRANSPORT]
 */
import { open, type Adapter } from '../src/index.ts'
import { peers, runIfMain, type ExampleOptions } from './virtual-peers.ts'

const SERVICE = 'f00d'

export async function main(o: ExampleOptions = {}): Promise<{ greeting: string; counter: number[]; name: string }> {
  const log = o.log ?? console.log
  await using around = await peers(o, [])
  await using adapter = await open({ transport: around.transport, link: around.link })

  let name = 'nobody'
  const server = adapter.serve({
    gap: { deviceName: 'hcikit example' },
    services: [
      {
        uuid: SERVICE,
        characteristics: [
          {
            id: 'greeting',
            uuid: 'f00e',
            properties: ['read'],
            onRead: () => new TextEncoder().encode(`hello, ${name}`),
          },
          {
            id: 'name',
            uuid: 'f00f',
            properties: ['write'],
            onWrite: (_c, v) => void (name = new TextDecoder().decode(v)),
          },
          { id: 'counter', uuid: 'f010', properties: ['notify'] },
        ],
      },
    ],
  })
  adapter.on('connection', (central) => {
    log(`${central.address} connected`)
    central.on('disconnected', (d) => log(`${central.address} left: ${d.reasonName}`))
  })
  await adapter.advertise({ name: 'hcikit example', services: [SERVICE] })
  log(`advertising as ${adapter.address}`)

  let n = 0
  const tick = (): void => {
    void server.notify('counter', new Uint8Array([n++ & 0xff]))
    timer = adapter.clock.setTimeout(tick, 200)
  }
  let timer = adapter.clock.setTimeout(tick, 200)
  try {
    if (!around.link) {
      // real hardware: serve until Ctrl-C
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()))
      return { greeting: '', counter: [], name }
    }
    return await visit(around.link, log)
  } finally {
    adapter.clock.clearTimeout(timer)
  }
}

/** A central on the same virtual link paying a visit. */
async function visit(
  link: NonNullable<Awaited<ReturnType<typeof peers>>['link']>,
  log: (l: string) => void,
): Promise<{ greeting: string; counter: number[]; name: string }> {
  await using central: Adapter = await open({ transport: 'virtual', link })
  await using client = await central.connect(await central.find({ services: [SERVICE] }))
  await client.write(client.characteristic(SERVICE, 'f00f'), new TextEncoder().encode('visitor'))
  const greeting = new TextDecoder().decode(await client.read(client.characteristic(SERVICE, 'f00e')))
  log(`central read: ${greeting}`)
  const counter: number[] = []
  for await (const v of client.notifications(client.characteristic(SERVICE, 'f010')))
    if (counter.push(v[0]!) === 3) break
  log(`central got counter values ${counter.join(', ')}`)
  return { greeting, counter, name: 'visitor' }
}

runIfMain(import.meta.url, main)
