/**
 * An LE credit-based channel (L2CAP CoC): serve an echo on PSM 0x80 and, on the virtual link, be
 * the central that talks to it. A channel is a Node Duplex, one SDU per chunk, whose credits are
 * its back-pressure: `pipeline(channel, upperCase, channel)` echoes at the pace of the slower side.
 *   node examples/l2cap-echo.ts [TRANSPORT]     (on hardware: serve the echo until Ctrl-C;
 *                                                 then `hcikit l2cap ADDRESS 0x80` talks to it)
 */
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { open, type VirtualLink } from '../src/index.ts'
import { peers, runIfMain, type ExampleOptions } from './virtual-peers.ts'

const PSM = 0x80

export async function main(o: ExampleOptions = {}): Promise<string[]> {
  const log = o.log ?? console.log
  await using around = await peers(o, [])
  await using adapter = await open({ transport: around.transport, link: around.link })
  adapter.serve({ gap: { deviceName: 'hcikit echo' } })
  await using listener = adapter.listen(PSM, async (channel, connection) => {
    log(`channel from ${connection.peer.address}, MTU ${channel.peerMtu}`)
    const upperCase = new Transform({
      objectMode: true,
      transform: (sdu: Uint8Array, _enc, done) =>
        done(null, new TextEncoder().encode(new TextDecoder().decode(sdu).toUpperCase())),
    })
    await pipeline(channel, upperCase, channel).catch(() => undefined) // ends when the channel does
  })
  await adapter.advertise({ name: 'hcikit echo' })
  log(`echo on PSM 0x${PSM.toString(16)} at ${adapter.address}`)
  if (!around.link) {
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()))
    return []
  }
  const answers = await talk(around.link, adapter.address, log)
  log(`refused so far: ${listener.refused}`)
  return answers
}

/** A central on the same virtual link: open the channel, send three lines, read the answers. */
async function talk(link: VirtualLink, address: string, log: (l: string) => void): Promise<string[]> {
  await using central = await open({ transport: 'virtual', link })
  // no GATT needed: discover: false still exchanges the MTU
  await using client = await central.connect(address, { discover: false, timeout: 10_000 })
  const channel = await client.openChannel(PSM, { mtu: 512, credits: 8 })
  const answers: string[] = []
  for (const line of ['hello', 'over', 'l2cap']) channel.write(new TextEncoder().encode(line))
  for await (const sdu of channel.sdus()) {
    answers.push(new TextDecoder().decode(sdu))
    log(`answer: ${answers.at(-1)}`)
    if (answers.length === 3) break
  }
  await channel.disconnect()
  return answers
}

runIfMain(import.meta.url, main)
