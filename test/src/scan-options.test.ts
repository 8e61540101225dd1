/**
 * The public scan options (src/scan-options.ts through adapter.scan()/find()) on the virtual link:
 * interval and window in ms, the PHYs, the controller's Filter Accept List, and bad values refused
 * before anything is sent; connect() by an address never seen, of a device with a random address.
 * The oracle for what reached the controller is the command bytes themselves, read here by hand
 * from the packets the central's host publishes (Core v5.4 Vol 4 Part E 5.4.1 command packet:
 * opcode, length, parameters; 7.8.64 LE Set Extended Scan Parameters, 7.8.10 the legacy one),
 * and the virtual controller's accept list.
 */
import t, { type Test } from 'tap'
import diagnostics_channel from 'node:diagnostics_channel'
import { open, createVirtualLink, PACKET_CHANNEL, type Adapter, type VirtualLink } from '../../src/index.ts'
import { filterAcceptList } from '../../src/virtual/filter-accept-list.ts'
import {
  LeSetAdvertisingData,
  LeSetAdvertisingEnable,
  LeSetAdvertisingParameters,
  LeSetRandomAddress,
} from '../../hci/commands.ts'

interface Sent {
  opcode: number
  params: Uint8Array
}

/** Commands the (only) publishing host sends while `fn` runs. */
async function commandsDuring(fn: () => Promise<void>): Promise<Sent[]> {
  const sent: Sent[] = []
  const on = (m: unknown): void => {
    const p = m as { direction: string; type: number; data: Uint8Array }
    if (p.direction === 'tx' && p.type === 0x01)
      sent.push({ opcode: p.data[0]! | (p.data[1]! << 8), params: p.data.subarray(3, 3 + p.data[2]!) })
  }
  diagnostics_channel.subscribe(PACKET_CHANNEL, on)
  try {
    await fn()
  } finally {
    diagnostics_channel.unsubscribe(PACKET_CHANNEL, on)
  }
  return sent
}

/** Scan parameters as the controller got them, from either command set. */
function scanParameters(sent: Sent[]): { filterPolicy: number; phys: number; interval: number; window: number } {
  const u16 = (b: Uint8Array, i: number): number => b[i]! | (b[i + 1]! << 8)
  const ext = sent.findLast((c) => c.opcode === 0x2041)
  if (ext) {
    // Own_Address_Type, Scanning_Filter_Policy, Scanning_PHYs, then per PHY: Scan_Type, Interval, Window
    return {
      filterPolicy: ext.params[1]!,
      phys: ext.params[2]!,
      interval: u16(ext.params, 4),
      window: u16(ext.params, 6),
    }
  }
  const leg = sent.findLast((c) => c.opcode === 0x200b)!
  // LE_Scan_Type, LE_Scan_Interval, LE_Scan_Window, Own_Address_Type, Scanning_Filter_Policy
  return { filterPolicy: leg.params[6]!, phys: 1, interval: u16(leg.params, 1), window: u16(leg.params, 3) }
}

async function peer(link: VirtualLink, name: string, t: Test): Promise<Adapter> {
  const a = await open({ transport: 'virtual', link, name, diagnostics: false })
  a.serve({ services: [{ uuid: 'fff0', characteristics: [] }] })
  await a.advertise({ name, services: ['fff0'] })
  t.teardown(() => a.close())
  return a
}

t.test('interval and window in ms reach the controller in 0.625 ms units', async (t) => {
  const link = createVirtualLink({ seed: 31 })
  await peer(link, 'alpha', t)
  await using central = await open({ transport: 'virtual', link })
  const sent = await commandsDuring(async () => {
    const ad = await central.find({ name: 'alpha' }, { interval: 100, window: 50, timeout: 5000 })
    t.equal(ad.name, 'alpha')
  })
  t.match(
    scanParameters(sent),
    { interval: 160, window: 80, filterPolicy: 0, phys: 1 },
    '100 ms = 0x00A0, 50 ms = 0x0050',
  )
  const longWindow = await commandsDuring(async () => {
    for await (const _ of central.scan({ window: 40, timeout: 100 })) break
  })
  t.match(
    scanParameters(longWindow),
    { interval: 64, window: 64 },
    'a window alone longer than the default interval sets both',
  )
})

t.test('acceptList: the controller filters, nothing else reaches the host', async (t) => {
  const link = createVirtualLink({ seed: 32 })
  const alpha = await peer(link, 'alpha', t)
  const beta = await peer(link, 'beta', t)
  await using central = await open({ transport: 'virtual', link })
  const names = new Set<string>()
  const sent = await commandsDuring(async () => {
    for await (const ad of central.scan({ acceptList: [beta.address.toLowerCase()], duplicates: true, timeout: 2000 }))
      names.add(ad.name ?? ad.address)
  })
  t.same([...names], ['beta'], 'only beta, with no host-side address filter')
  t.equal(scanParameters(sent).filterPolicy, 1, 'Scanning_Filter_Policy 1')
  t.same(
    filterAcceptList(central.virtualController!).entries.map((e) => `${e.type}/${e.address}`),
    [`0/${beta.address}`, `1/${beta.address}`],
    'an address without a type is listed as public (0) and random (1)',
  )
  const both = new Set<string>()
  for await (const ad of central.scan({ timeout: 2000 })) both.add(ad.name!)
  t.same([...both].sort(), ['alpha', 'beta'], 'the next scan without acceptList sees everyone again')
  t.not(alpha.address, beta.address)
})

t.test('PHYs and bad values', async (t) => {
  const link = createVirtualLink({ seed: 33 })
  await peer(link, 'alpha', t)
  await using central = await open({ transport: 'virtual', link })
  const sent = await commandsDuring(async () => {
    await central.find({ name: 'alpha' }, { phys: ['1M'], timeout: 5000 })
  })
  t.equal(scanParameters(sent).phys, 1, 'Scanning_PHYs: LE 1M only')
  await t.rejects(central.find({}, { phys: ['coded'], timeout: 100 }), { code: 'UNSUPPORTED' }, 'no LE Coded here')
  const bad: [Parameters<Adapter['scan']>[0], RegExp][] = [
    [{ interval: 1 }, /interval: 1 ms is outside/],
    [{ interval: 20, window: 30 }, /window 30 ms is longer than interval 20 ms/],
    [{ phys: ['2M' as '1M'] }, /'2M' cannot be scanned/],
    [{ phys: [] }, /at least one PHY/],
    [{ filterPolicy: 7 as 0 }, /filterPolicy: 7/],
    [{ acceptList: ['AA:BB'] }, /'AA:BB' is not a device address/],
    [{ acceptList: [] }, /at least one address/],
    [{ acceptList: ['AA:BB:CC:DD:EE:FF'], filterPolicy: 0 }, /ignores the accept list/],
  ]
  for (const [o, message] of bad) {
    const sentBad = await commandsDuring(async () => {
      await t.rejects(
        (async () => {
          for await (const _ of central.scan(o)) break
        })(),
        { code: 'INVALID_PARAMETERS', message },
      )
    })
    t.same(sentBad, [], 'nothing sent')
  }
})

t.test('connect(address) to a device with a random address, never seen in a scan', async (t) => {
  const link = createVirtualLink({ seed: 34 })
  const p = await open({ transport: 'virtual', link, name: 'random-peer', diagnostics: false })
  t.teardown(() => p.close())
  p.serve({ services: [{ uuid: 'fff0', characteristics: [{ uuid: 'fff1', properties: ['read'], value: 'hi' }] }] })
  // A random static address (two top bits set, Vol 6 Part B 1.3.2.1), advertised with legacy commands.
  const RANDOM = 'C3:11:22:33:44:55'
  await p.hci.send(LeSetRandomAddress, { randomAddress: RANDOM })
  await p.hci.send(LeSetAdvertisingParameters, {
    advertisingIntervalMin: 160,
    advertisingIntervalMax: 160,
    advertisingType: 0,
    ownAddressType: 1,
    peerAddressType: 0,
    peerAddress: '00:00:00:00:00:00',
    advertisingChannelMap: 7,
    advertisingFilterPolicy: 0,
  })
  const data = new Uint8Array(31)
  data.set([2, 1, 6])
  await p.hci.send(LeSetAdvertisingData, { advertisingDataLength: 3, advertisingData: data })
  await p.hci.send(LeSetAdvertisingEnable, { enable: 1 })

  await using central = await open({ transport: 'virtual', link })
  await using client = await central.connect(RANDOM.toLowerCase(), { timeout: 5000 })
  t.equal(client.addressType, 'random', 'the scan found its type')
  t.equal(client.address, RANDOM)
  t.equal(new TextDecoder().decode(await client.read(client.characteristic('fff1'))), 'hi')
  t.equal(p.centrals[0]!.address, central.address)
})

t.test('connect(address) while a scan of yours runs: it answers the lookup', async (t) => {
  const link = createVirtualLink({ seed: 35 })
  const alpha = await peer(link, 'alpha', t)
  await using central = await open({ transport: 'virtual', link })
  for await (const ad of central.scan({ timeout: 5000 })) {
    t.equal(ad.address, alpha.address)
    // never advertised: the running scan does not see it either
    const err = await central.connect('C0:00:00:00:00:09', { timeout: 500 }).catch((e: unknown) => e)
    t.match(err, { code: 'NOT_FOUND', name: 'NotFoundError', hint: /addressType/ })
    // seen by the running scan: no scan needed
    await using client = await central.connect(ad.address, { timeout: 5000, discover: false })
    t.ok(client.connected)
    break
  }
  await t.rejects(central.connect('not an address'), { code: 'INVALID_PARAMETERS', message: /not a device address/ })
})

t.test('concurrent connect(address) calls share one lookup scan; a scan of yours takes it over', async (t) => {
  const link = createVirtualLink({ seed: 36 })
  const [a, b, c] = [await peer(link, 'a', t), await peer(link, 'b', t), await peer(link, 'c', t)]
  await using central = await open({ transport: 'virtual', link })
  const sent = await commandsDuring(async () => {
    const clients = await Promise.all([a, b, c].map((p) => central.connect(p.address, { discover: false })))
    t.same(
      clients.map((x) => x.address),
      [a.address, b.address, c.address],
    )
    for (const x of clients) await x.disconnect()
  })
  // LE Set (Extended) Scan Parameters: one lookup scan (its pauses around each connection attempt are enables only)
  t.equal(sent.filter((x) => x.opcode === 0x2041 || x.opcode === 0x200b).length, 1, 'one scan for three lookups')
  const enables = sent.filter((x) => x.opcode === 0x2042 || x.opcode === 0x200c).length
  t.ok(enables >= 2, `scanning enabled and disabled (${enables} enable commands)`)

  // a lookup scan is running (nobody advertises this address) when the user starts a scan
  const lookup = central.connect('C0:00:00:00:00:0A', { timeout: 3000 }).catch((e: unknown) => e)
  const names = new Set<string>()
  for await (const ad of central.scan({ timeout: 1000 })) names.add(ad.name!)
  t.same([...names].sort(), ['a', 'b', 'c'], 'the user scan starts (the lookup scan made way)')
  t.match(await lookup, { code: 'NOT_FOUND' }, 'the lookup still ends at its own timeout')
})
