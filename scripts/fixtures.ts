/**
 * `npm run fixtures`: regenerate the captures in fixtures/ that hcikit records itself.
 *
 *   fixtures/virtual/*.btsnoop  one feature each, recorded at the central's HCI on the virtual
 *                               link (scripts/fixture-world.ts), in virtual time: the same bytes
 *                               on every run unless the stack's behaviour changed
 *   fixtures/bringup.btsnoop    HciHost.init() against the scripted controller of the tests,
 *                               recorded through the HCIKIT_SNOOP subscriber (test/src/snoop-capture.test.ts
 *                               checks a fresh recording equals it)
 *
 * They carry the offline path of the test suite: test/oracle/decode-vs-tshark.test.ts and the
 * replay and scanner tests check them against tshark when the real-trace corpus is absent, and
 * test/fixtures.test.ts checks tshark reads each with no malformed frame. Packets: Core v5.4
 * Vol 4 Part E 5.4 (HCI), Vol 3 Part A (L2CAP, LE credit based flow control 3.4, 4.22-4.24),
 * Vol 3 Part F (ATT), Vol 4 Part E 7.7.65 (LE Meta events).
 *
 * Usage: node dist/scripts/fixtures.js [--only NAME] (after `tsc`; `npm run fixtures` does both).
 */
import { mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { AdBuilder } from '../gap/ad.ts'
import { startSnoop } from '../src/log.ts'
import { Script, bringUp } from '../test/helpers/hci-script.ts'
import { NAME, world, writeTrace, type World, type WorldOptions } from './fixture-world.ts'

const pattern = (n: number, seed = 0): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff)

const DECL: WorldOptions['decl'] = {
  gap: { deviceName: NAME },
  services: [
    {
      uuid: 'fff0',
      characteristics: [
        { id: 'long', uuid: 'fff1', properties: ['read', 'write'], value: pattern(120), description: 'long value' },
        { id: 'n', uuid: 'fff4', properties: ['notify'] },
        { id: 'i', uuid: 'fff5', properties: ['indicate'] },
      ],
    },
    { uuid: 0x180f, characteristics: [{ uuid: 0x2a19, properties: ['read'], value: Uint8Array.of(87) }] },
  ],
}

interface Fixture {
  /** File name under fixtures/virtual/. */
  name: string
  /** What it shows (printed as it is written). */
  what: string
  options?: WorldOptions
  run(w: World): Promise<void>
}

const FIXTURES: Fixture[] = [
  { name: 'bringup.btsnoop', what: 'HciHost.init() on a virtual controller', run: async () => {} },
  {
    name: 'scan-legacy.btsnoop',
    what: 'legacy active scanning: ADV_IND and SCAN_RSP reports',
    run: async (w) => {
      await w.peripheral.advertiser.start({
        data: new AdBuilder().flags(0x06).name(NAME).txPower(4),
        scanResponse: new AdBuilder().serviceUuids([0x180f, 'fff0']).manufacturerData(0xffff, pattern(6)),
        intervalMs: 40,
      })
      for await (const _ of w.central.scanner.scan({
        extended: false,
        active: true,
        duplicates: true,
        timeout: 200,
      }));
      await w.peripheral.advertiser.stop()
    },
  },
  {
    name: 'scan-extended.btsnoop',
    what: 'extended scanning: a 273-octet extended advertisement, reported in a chain of two',
    run: async (w) => {
      // 229 octets fill the first report (7.7.65.13), so the AD structures end where it does:
      // tshark 4.0 dissects each report's data alone and calls a structure cut in two malformed.
      const ext = await w.peripheral.advertiser.createSet({
        data: new AdBuilder()
          .flags(0x06)
          .name(NAME)
          .manufacturerData(0xffff, pattern(206, 3))
          .serviceData(0xfff0, pattern(40, 4)),
        connectable: false,
        includeTxPower: true,
        intervalMs: 40,
      })
      await ext.enable()
      for await (const _ of w.central.scanner.scan({
        extended: true,
        active: false,
        duplicates: true,
        timeout: 200,
      }));
      await ext.stop()
    },
  },
  {
    name: 'connect-disconnect.btsnoop',
    what: 'a connection as central, the ATT MTU exchange, a disconnection',
    run: async (w) => {
      const { c, client } = await w.connect()
      await client.exchangeMtu()
      await c.disconnect()
    },
  },
  {
    name: 'discovery.btsnoop',
    what: 'full discovery: services, characteristics, descriptors; reads of the GAP name and a value',
    options: { decl: DECL },
    run: async (w) => {
      const { c, client } = await w.connect()
      await client.exchangeMtu()
      const db = await client.discover()
      await client.read(db.characteristic('2a00')!)
      await client.read(db.characteristic('2a19')!)
      await c.disconnect()
    },
  },
  {
    name: 'long-read-write.btsnoop',
    what: 'ATT_MTU 23: Read + Read Blob, Prepare + Execute Write',
    options: { decl: DECL, attMtu: 23 },
    run: async (w) => {
      const { c, client } = await w.connect()
      await client.exchangeMtu()
      const db = await client.discover()
      const long = db.characteristic('fff1')!
      await client.read(long)
      await client.writeLong(long, pattern(90, 5))
      await client.read(long)
      await c.disconnect()
    },
  },
  {
    name: 'notify-indicate.btsnoop',
    what: 'CCCD writes, notifications, indications and their confirmations',
    options: { decl: DECL },
    run: async (w) => {
      const { c, client } = await w.connect()
      await client.exchangeMtu()
      const db = await client.discover()
      const n = await client.subscribe(db.characteristic('fff4')!)
      const i = await client.subscribe(db.characteristic('fff5')!)
      for (let k = 0; k < 3; k++) await w.server.notify('n', Uint8Array.of(0x4e, k))
      for (let k = 0; k < 2; k++) await w.server.indicate('i', Uint8Array.of(0x49, k))
      await take(n, 3)
      await take(i, 2)
      await n.unsubscribe()
      await i.unsubscribe()
      await c.disconnect()
    },
  },
  {
    name: 'credit-channel.btsnoop',
    what: 'LE credit based channel over 27-octet ACL: refused PSM, segmented SDUs both ways, credits, disconnection',
    options: { centralAclLength: 27 },
    run: async (w) => {
      const { c, p } = await w.connect()
      p.mux.listen(0x0080, { mtu: 512, mps: 40, initialCredits: 3 }, (ch) => void echo(ch))
      await c.mux.connect(0x0081, { mtu: 512, mps: 23 }).catch(() => undefined) // nobody listens: refused
      const ch = await c.mux.connect(0x0080, { mtu: 512, mps: 30, initialCredits: 2 })
      const sdus = ch.sdus()
      for (const n of [10, 100, 300]) {
        await ch.sendSdu(pattern(n, n))
        await sdus.next()
      }
      await ch.disconnect()
      await c.disconnect()
    },
  },
]

/** Wait for `n` values of a subscription. */
async function take(sub: AsyncIterable<Uint8Array>, n: number): Promise<void> {
  let k = 0
  for await (const _ of sub) if (++k === n) return
}

/** Send back every SDU the channel receives. */
async function echo(ch: { sdus(): AsyncIterable<Uint8Array>; sendSdu(sdu: Uint8Array): Promise<void> }): Promise<void> {
  for await (const sdu of ch.sdus()) await ch.sendSdu(sdu)
}

/** The repository root: the nearest folder up from here with our package.json. */
function root(): string {
  let dir = fileURLToPath(new URL('.', import.meta.url))
  while (!statSync(join(dir, 'binding.gyp'), { throwIfNoEntry: false })) {
    const up = join(dir, '..')
    if (up === dir) throw new Error('fixtures: cannot find the repository root (binding.gyp)')
    dir = up
  }
  return dir
}

async function recordVirtual(dir: string, f: Fixture): Promise<number> {
  const w = await world(f.options)
  try {
    await f.run(w)
  } finally {
    w.close()
  }
  await writeTrace(join(dir, f.name), w.records)
  return w.records.length
}

/** HciHost.init() against the scripted controller, through the HCIKIT_SNOOP subscriber. */
async function recordBringUp(path: string): Promise<void> {
  const snoop = startSnoop(path)
  try {
    const s = new Script()
    const init = s.host.init()
    await bringUp(s)
    await init
  } finally {
    await snoop.close()
  }
}

async function main(): Promise<void> {
  const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined
  const out = join(root(), 'fixtures')
  const dir = join(out, 'virtual')
  mkdirSync(dir, { recursive: true })
  for (const f of FIXTURES) {
    if (only !== undefined && f.name !== only) continue
    const n = await recordVirtual(dir, f)
    process.stdout.write(`fixtures/virtual/${f.name}: ${n} packets, ${f.what}\n`)
  }
  if (only === undefined || only === 'bringup') {
    await recordBringUp(join(out, 'bringup.btsnoop'))
    process.stdout.write('fixtures/bringup.btsnoop: the scripted bring-up, through HCIKIT_SNOOP\n')
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`fixtures: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
  process.exitCode = 1
})
