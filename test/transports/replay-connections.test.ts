/**
 * `replay:FILE` (mode 'controller') delivers a capture's connections to the host as they
 * happened: on every real trace, the LE (Enhanced) Connection Complete and Connection Complete
 * events with status Success (Core v5.4 Vol 4 Part E 7.7.65.1, 7.7.65.10, 7.7.3) that reach the
 * adapter's HCI host (`adapter.hci`, the API's door to what it does not cover) are those tshark
 * counts in the capture, in order, and the data of those links reaches the host as ACL.
 */
import { spawnSync } from 'node:child_process'
import { open } from '../../src/adapter.ts'
import { realTraces, shortName, realTest } from '../helpers/real.ts'
import { missing } from '../helpers/tools.ts'

const FILTER =
  '(bthci_evt.le_meta_subevent == 0x01 || bthci_evt.le_meta_subevent == 0x0a || bthci_evt.code == 0x03) && bthci_evt.status == 0'

function tsharkConnections(file: string): string[] {
  const r = spawnSync('tshark', ['-r', file, '-n', '-Y', FILTER, '-T', 'fields', '-e', 'bthci_evt.connection_handle'], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  })
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((h) => `0x${(Number(h) & 0xfff).toString(16).padStart(4, '0')}`)
}

async function ours(file: string): Promise<{ handles: string[]; acl: number }> {
  const adapter = await open({ transport: `replay:${file}`, env: {}, timeout: 10_000 })
  const handles: string[] = []
  adapter.hci.onEvent((e) => {
    if (e.key !== 'LeConnectionComplete' && e.key !== 'LeEnhancedConnectionComplete' && e.key !== 'ConnectionComplete')
      return
    if (e.params.status === 0) handles.push(`0x${(e.params.connectionHandle & 0xfff).toString(16).padStart(4, '0')}`)
  })
  for await (const _ of adapter.scan({ active: false })); // the scan starts the playback; the capture's end ends it
  const acl = adapter.hci.stats.aclReceived
  await adapter.close()
  return { handles, acl }
}

realTest('connections reach the host as they happened in each real trace', { skip: missing('tshark') }, async (t) => {
  const queue = [...realTraces()]
  let withLinks = 0
  const worker = async (): Promise<void> => {
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      const theirs = tsharkConnections(file)
      const mine = await ours(file)
      t.same(mine.handles, theirs, `${shortName(file)}: ${theirs.length} connections`)
      if (theirs.length > 0) {
        withLinks++
        t.ok(mine.acl > 0, `${shortName(file)}: their data reached the host (${mine.acl} ACL packets)`)
      }
    }
  }
  await Promise.all([worker(), worker(), worker(), worker()])
  t.ok(withLinks >= 15, `${withLinks} traces hold connections`)
})
