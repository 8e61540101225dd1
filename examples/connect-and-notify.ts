/**
 * Find a heart-rate sensor, connect, read its body sensor location and battery, print ten heart
 * rate measurements, and disconnect (leaving the `await using` scope does).
 *   node examples/connect-and-notify.ts [TRANSPORT]
 */
import { open } from '../src/index.ts'
import { peers, runIfMain, type ExampleOptions } from './virtual-peers.ts'

export async function main(o: ExampleOptions = {}): Promise<number[]> {
  const log = o.log ?? console.log
  await using around = await peers(o, ['hrm'])
  await using adapter = await open({ transport: around.transport, link: around.link })

  const device = await adapter.find({ services: ['180d'] }, { timeout: 10_000 })
  log(`found ${device.name ?? device.address}`)
  // A heart rate arrives once a second: a long connection interval saves the sensor's battery.
  await using client = await adapter.connect(device, {
    timeout: 10_000,
    parameters: { intervalMin: 100, intervalMax: 150, latency: 2, supervisionTimeout: 6000 },
  })
  log(`connected, ATT MTU ${client.mtu}, ${client.services.length} services, every ${client.parameters.interval} ms`)
  client.on('parameters', (p) => log(`the connection interval is now ${p.interval} ms`))

  const location = await client.read(client.characteristic('180d', '2a38'))
  log(`body sensor location: ${location[0] === 1 ? 'chest' : location[0]}`)
  const battery = await client.read(client.characteristic('180f', '2a19'))
  log(`battery: ${battery[0]}%`)

  const rates: number[] = []
  for await (const value of client.notifications(client.characteristic('180d', '2a37'))) {
    // Heart Rate Measurement: flags, then the rate as uint8 (flag bit 0 clear) or uint16
    const bpm = value[0]! & 1 ? value[1]! | (value[2]! << 8) : value[1]!
    rates.push(bpm)
    log(`heart rate: ${bpm} bpm`)
    if (rates.length === 10) break
  }
  return rates
}

runIfMain(import.meta.url, main)
