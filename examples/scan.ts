/**
 * Scan for 3 seconds and print each device once: address, RSSI, name, services.
 *   node examples/scan.ts [TRANSPORT]      (default: the virtual link with two virtual devices)
 */
import { open } from '../src/index.ts'
import { peers, runIfMain, type ExampleOptions } from './virtual-peers.ts'

export async function main(o: ExampleOptions = {}): Promise<string[]> {
  const log = o.log ?? console.log
  await using around = await peers(o)
  await using adapter = await open({ transport: around.transport, link: around.link })
  const names: string[] = []
  // listen all the time: a 100 ms window every 100 ms (scan timing is in ms, like every option)
  for await (const ad of adapter.scan({ timeout: 3000, interval: 100, window: 100 })) {
    names.push(ad.name ?? '')
    const services = ad.ad.serviceUuids.map((u) => (u.endsWith('-0000-1000-8000-00805f9b34fb') ? u.slice(4, 8) : u))
    log(`${ad.address} (${ad.addressType}) ${ad.rssi} dBm  ${ad.name ?? '(no name)'}  [${services.join(', ')}]`)
  }
  return names
}

runIfMain(import.meta.url, main)
