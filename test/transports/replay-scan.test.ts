/**
 * Acceptance of issue 15 (replay of any capture): `hcikit --transport replay:FILE scan --json` on
 * every real trace (../shared/fixtures/real, recorded by other hosts: Android phones, BlueZ) brings
 * the controller up from the capture without a failure, ends when the capture ends, and lists the
 * advertisers tshark finds in the capture's LE Advertising Reports (legacy, directed, extended;
 * Core v5.4 Vol 4 Part E 7.7.65.2, .11, .13): the same addresses with the same address types.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { realTraces, shortName } from '../helpers/real.ts'
import { missing } from '../helpers/tools.ts'
import { run } from '../cli/run.ts'

/** tshark's advertisers: "ADDRESS/public|random" for every report (address type 0/2 public, 1/3 random). */
async function tsharkAdvertisers(file: string): Promise<Set<string>> {
  const filter = [0x02, 0x0b, 0x0d].map((s) => `bthci_evt.le_meta_subevent == ${s}`).join(' || ')
  const args = ['-r', file, '-n', '-Y', filter, '-T', 'fields', '-E', 'aggregator=|', '-E', 'occurrence=a']
  args.push('-e', 'bthci_evt.bd_addr', '-e', 'bthci_evt.le_peer_address_type', '-e', 'bthci_evt.le_address_type')
  const child = spawn('tshark', args, { stdio: ['ignore', 'pipe', 'ignore'] })
  const out = new Set<string>()
  for await (const line of createInterface({ input: child.stdout, crlfDelay: Infinity })) {
    const [addrs, peerTypes, types] = line.split('\t').map((c) => (c ? c.split('|') : []))
    const kinds = peerTypes!.length ? peerTypes! : types!
    addrs!.forEach((a, i) => out.add(`${a.toUpperCase()}/${Number(kinds[i]) & 1 ? 'random' : 'public'}`))
  }
  return out
}

async function ours(file: string): Promise<{ code: number; stderr: string; advertisers: Set<string> }> {
  const r = await run(['--transport', `replay:${file}`, 'scan', '--json'])
  const advertisers = new Set<string>()
  for (const l of r.lines) {
    const o = JSON.parse(l) as { address: string; addressType: string }
    advertisers.add(`${o.address}/${o.addressType}`)
  }
  return { code: r.code, stderr: r.stderr, advertisers }
}

const traces = realTraces()
t.test(
  `scan --json on each of the ${traces.length} real traces lists tshark's advertisers`,
  { skip: missing('tshark') },
  async (t) => {
    // Four at a time: each replay ends with a second of grace for advertisements held for a scan response.
    const queue = [...traces]
    const worker = async (): Promise<void> => {
      for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
        const [theirs, mine] = await Promise.all([tsharkAdvertisers(file), ours(file)])
        const name = shortName(file)
        t.equal(mine.code, 0, `${name}: exit 0 ${mine.stderr}`)
        t.equal(mine.stderr, '', `${name}: no error, no bring-up failure`)
        t.same([...mine.advertisers].sort(), [...theirs].sort(), `${name}: ${theirs.size} advertisers`)
      }
    }
    await Promise.all([worker(), worker(), worker(), worker()])
  },
)
