/**
 * Scanning of the virtual controller (Core v5.4 Vol 4 Part E 7.8.10-7.8.11, 7.8.64-7.8.65,
 * reports 7.7.65.2 / 7.7.65.13, 7.7.65.17 Scan Timeout; Vol 6 Part B 4.4.3): passive and active
 * scanning, the duplicate filter, scan windows, filter policy, extended reports chained over
 * several events (issue 3, acceptance 4). Report bytes are written by hand from 7.7.65.
 */
import t from 'tap'
import { world, hostOn, rawOn, settle, statusOf } from '../helpers/virtual.ts'
import * as C from '../../hci/commands.ts'
import { decodeEvent, type HciEvent, type KnownEvent } from '../../hci/events.ts'
import { fromHex } from '../../hci/wire.ts'
import type { CommandParams } from '../../hci/spec.ts'

type World = ReturnType<typeof world>
const pad31 = (b: ArrayLike<number>): Uint8Array => {
  const out = new Uint8Array(31)
  out.set(b)
  return out
}
const pattern = (n: number, seed = 0): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 13 + seed) & 0xff)

async function device(w: World, address?: string) {
  const d = hostOn(w, address ? { address } : {})
  await d.host.init()
  const events: HciEvent[] = []
  d.host.onEvent((e) => events.push(e))
  const of = (key: string) => events.filter((e): e is KnownEvent => e.key === key)
  return { ...d, events, of }
}

/** A legacy advertiser: type, interval 100 ms, data and scan response data. */
async function legacyAdvertiser(
  w: World,
  type: number,
  opts: { address?: string; data?: number[]; rsp?: number[]; peer?: string } = {},
) {
  const d = await device(w, opts.address)
  await d.host.send(C.LeSetAdvertisingParameters, {
    advertisingIntervalMin: 160,
    advertisingIntervalMax: 160,
    advertisingType: type,
    ownAddressType: 0,
    peerAddressType: 0,
    peerAddress: opts.peer ?? '00:00:00:00:00:00',
    advertisingChannelMap: 7,
    advertisingFilterPolicy: 0,
  })
  const data = opts.data ?? [2, 1, 6]
  const rsp = opts.rsp ?? [4, 9, 0x41, 0x42, 0x43]
  await d.host.send(C.LeSetAdvertisingData, { advertisingDataLength: data.length, advertisingData: pad31(data) })
  await d.host.send(C.LeSetScanResponseData, { scanResponseDataLength: rsp.length, scanResponseData: pad31(rsp) })
  await d.host.send(C.LeSetAdvertisingEnable, { enable: 1 })
  return d
}

async function legacyScanner(
  w: World,
  active: boolean,
  dup = 0,
  over: Partial<CommandParams<typeof C.LeSetScanParameters>> = {},
) {
  const d = await device(w)
  await d.host.send(C.LeSetScanParameters, {
    scanType: active ? 1 : 0,
    scanInterval: 16,
    scanWindow: 16,
    ownAddressType: 0,
    scanningFilterPolicy: 0,
    ...over,
  })
  await d.host.send(C.LeSetScanEnable, { enable: 1, filterDuplicates: dup })
  const reports = () =>
    d
      .of('LeAdvertisingReport')
      .flatMap(
        (e) =>
          (e.params as { reports: Array<{ eventType: number; address: string; data: Uint8Array; rssi: number }> })
            .reports,
      )
  return { ...d, reports }
}

const extAdvParams = (over: Record<string, number | string> = {}) =>
  ({
    advertisingHandle: 0,
    advertisingEventProperties: 0,
    primaryAdvertisingIntervalMin: 160,
    primaryAdvertisingIntervalMax: 160,
    primaryAdvertisingChannelMap: 7,
    ownAddressType: 0,
    peerAddressType: 0,
    peerAddress: '00:00:00:00:00:00',
    advertisingFilterPolicy: 0,
    advertisingTxPower: 0x7f,
    primaryAdvertisingPhy: 1,
    secondaryAdvertisingMaxSkip: 0,
    secondaryAdvertisingPhy: 1,
    advertisingSid: 0,
    scanRequestNotificationEnable: 0,
    ...over,
  }) as CommandParams<typeof C.LeSetExtendedAdvertisingParameters>

/** Set extended data of any length with first/intermediate/last fragments of at most 251 octets. */
async function setExtData(
  host: Awaited<ReturnType<typeof device>>['host'],
  handle: number,
  data: Uint8Array,
  scanRsp = false,
) {
  const n = Math.max(1, Math.ceil(data.length / 251))
  for (let i = 0; i < n; i++) {
    const operation = n === 1 ? 3 : i === 0 ? 1 : i === n - 1 ? 2 : 0
    const part = data.subarray(i * 251, (i + 1) * 251)
    if (scanRsp)
      await host.send(C.LeSetExtendedScanResponseData, {
        advertisingHandle: handle,
        operation,
        fragmentPreference: 0,
        scanResponseData: part,
      })
    else
      await host.send(C.LeSetExtendedAdvertisingData, {
        advertisingHandle: handle,
        operation,
        fragmentPreference: 0,
        advertisingData: part,
      })
  }
}

async function extScanner(w: World, active: boolean, dup = 0, duration = 0, period = 0) {
  const d = await device(w)
  await d.host.send(C.LeSetExtendedScanParameters, {
    ownAddressType: 0,
    scanningFilterPolicy: 0,
    scanningPhys: 1,
    perPhy: [{ scanType: active ? 1 : 0, scanInterval: 16, scanWindow: 16 }],
  })
  await d.host.send(C.LeSetExtendedScanEnable, { enable: 1, filterDuplicates: dup, duration, period })
  type R = {
    eventType: number
    address: string
    data: Uint8Array
    advertisingSid: number
    secondaryPhy: number
    txPower: number
  }
  const reports = () => d.of('LeExtendedAdvertisingReport').flatMap((e) => (e.params as { reports: R[] }).reports)
  return { ...d, reports }
}

t.test('legacy report byte for byte (7.7.65.2)', async (t) => {
  const w = world()
  await legacyAdvertiser(w, 3, { address: '11:22:33:44:55:66' })
  const { raw } = rawOn(w)
  raw.command('010c08 ffffffffffff0020') // Set Event Mask: LE Meta (bit 61) is not on by default
  raw.command('0b2007 00 1000 1000 00 00') // passive, 10 ms / 10 ms
  raw.command('0c2002 01 01') // enable, filter duplicates
  await settle()
  raw.takeEvents()
  await w.run(300, 10)
  // subevent 02, one report: ADV_NONCONN_IND (03), public, AdvA, 3 octets of data, RSSI -50 (0xce)
  t.same(raw.takeEvents(), ['3e0f0201030066554433221103020106ce'])
})

t.test('passive scanning reports the advertisement only; active adds the scan response (event type 4)', async (t) => {
  const w = world()
  const adv = await legacyAdvertiser(w, 0, { address: '11:22:33:44:55:66' })
  let scanReqs = 0
  adv.controller.onAir('scan_req', () => scanReqs++)
  const passive = await legacyScanner(w, false)
  const active = await legacyScanner(w, true)
  await w.run(1000, 10)
  const p = passive.reports()
  const a = active.reports()
  t.ok(p.length >= 9, `${p.length} passive reports`)
  t.ok(p.every((r) => r.eventType === 0 && r.address === '11:22:33:44:55:66'))
  t.same([...new Set(a.map((r) => r.eventType))].sort(), [0, 4])
  const rsp = a.find((r) => r.eventType === 4)!
  t.same([...rsp.data], [4, 9, 0x41, 0x42, 0x43])
  t.equal(
    a.filter((r) => r.eventType === 4).length,
    a.filter((r) => r.eventType === 0).length,
    'one response per advertisement',
  )
  t.equal(scanReqs, a.filter((r) => r.eventType === 0).length, 'only the active scanner sent SCAN_REQs')
})

t.test('ADV_SCAN_IND is scannable (2 then 4); ADV_NONCONN_IND gets no scan request', async (t) => {
  const w = world()
  const scannable = await legacyAdvertiser(w, 2, { address: '11:00:00:00:00:02' })
  const nonconn = await legacyAdvertiser(w, 3, { address: '11:00:00:00:00:03' })
  let reqs = 0
  nonconn.controller.onAir('scan_req', () => reqs++)
  const s = await legacyScanner(w, true, 1)
  await w.run(500, 10)
  const types = s
    .reports()
    .map((r) => `${r.address}/${r.eventType}`)
    .sort()
  t.same(types, ['11:00:00:00:00:02/2', '11:00:00:00:00:02/4', '11:00:00:00:00:03/3'])
  t.equal(reqs, 0)
  void scannable
})

t.test(
  'duplicate filter: one report per address and event type, forgotten when scanning is enabled again',
  async (t) => {
    const w = world()
    await legacyAdvertiser(w, 0)
    const s = await legacyScanner(w, true, 1)
    await w.run(1000, 10)
    t.same(
      s.reports().map((r) => r.eventType),
      [0, 4],
    )
    await w.run(1000, 10)
    t.equal(s.reports().length, 2, 'still filtered')
    await s.host.send(C.LeSetScanEnable, { enable: 1, filterDuplicates: 1 })
    await w.run(500, 10)
    t.equal(s.reports().length, 2, 'enabling while enabled keeps the filter')
    await s.host.send(C.LeSetScanEnable, { enable: 0, filterDuplicates: 0 })
    await s.host.send(C.LeSetScanEnable, { enable: 1, filterDuplicates: 1 })
    await w.run(500, 10)
    t.same(
      s.reports().map((r) => r.eventType),
      [0, 4, 0, 4],
      're-enabled: reported once more',
    )
    await s.host.send(C.LeSetScanEnable, { enable: 1, filterDuplicates: 0 })
    await w.run(1000, 10)
    t.ok(s.reports().length >= 4 + 18, 'filter off: every event')
  },
)

t.test('RSSI comes from the link', async (t) => {
  const w = world()
  const adv = await legacyAdvertiser(w, 3)
  const s = await legacyScanner(w, false)
  w.link.setRssi(adv.controller, s.controller, -77)
  await w.run(300, 10)
  t.ok(s.reports().length > 0)
  t.ok(s.reports().every((r) => r.rssi === -77))
  w.link.setInRange(adv.controller, s.controller, false)
  const n = s.reports().length
  await w.run(300, 10)
  t.equal(s.reports().length, n, 'out of range: nothing')
})

t.test('directed advertising is reported only by its target', async (t) => {
  const w = world()
  const target = await legacyScanner(w, true)
  const other = await legacyScanner(w, true)
  await legacyAdvertiser(w, 4, { peer: target.controller.address })
  await w.run(500, 10)
  t.ok(target.reports().length > 0)
  t.ok(target.reports().every((r) => r.eventType === 1 && r.data.length === 0))
  t.equal(other.reports().length, 0)
})

t.test('scan window: only PDUs inside the window are heard', async (t) => {
  const w = world()
  await legacyAdvertiser(w, 3)
  const full = await legacyScanner(w, false, 0, { scanInterval: 160, scanWindow: 160 })
  const tenth = await legacyScanner(w, false, 0, { scanInterval: 160, scanWindow: 16 })
  await w.run(10_000, 20)
  const f = full.reports().length
  const p = tenth.reports().length
  t.ok(f >= 90, `${f} with a full window`)
  t.ok(p > 0 && p < f / 3, `${p} with a 10 % window`)
})

t.test('legacy scan parameters and enable: validation and state rules', async (t) => {
  const w = world()
  const { host } = await device(w)
  const base = { scanType: 0, scanInterval: 16, scanWindow: 16, ownAddressType: 0, scanningFilterPolicy: 0 }
  const set = (over: Partial<typeof base>) => statusOf(host.send(C.LeSetScanParameters, { ...base, ...over }))
  t.equal(await set({ scanType: 2 }), 0x12)
  t.equal(await set({ scanInterval: 3, scanWindow: 3 }), 0x12, 'interval below 2.5 ms')
  t.equal(await set({ scanInterval: 0x4001 }), 0x12)
  t.equal(await set({ scanInterval: 16, scanWindow: 17 }), 0x12, 'window > interval')
  t.equal(await set({ ownAddressType: 4 }), 0x12)
  t.equal(await set({ scanningFilterPolicy: 4 }), 0x12)
  t.equal(await statusOf(host.send(C.LeSetScanEnable, { enable: 0, filterDuplicates: 1 })), 0, 'disable while disabled')
  t.equal(await statusOf(host.send(C.LeSetScanEnable, { enable: 2, filterDuplicates: 0 })), 0x12)
  t.equal(await statusOf(host.send(C.LeSetScanEnable, { enable: 1, filterDuplicates: 2 })), 0x12)
  t.equal(await set({ ownAddressType: 1 }), 0)
  t.equal(
    await statusOf(host.send(C.LeSetScanEnable, { enable: 1, filterDuplicates: 0 })),
    0x12,
    'random own address not set',
  )
  t.equal(await set({}), 0)
  t.equal(await statusOf(host.send(C.LeSetScanEnable, { enable: 1, filterDuplicates: 0 })), 0)
  t.equal(await set({}), 0x0c, 'parameters while scanning')
})

t.test('filter policy 1: only advertisers on the Filter Accept List', async (t) => {
  const w = world()
  await legacyAdvertiser(w, 3, { address: '11:00:00:00:00:01' })
  await legacyAdvertiser(w, 3, { address: '11:00:00:00:00:02' })
  const s = await device(w)
  await s.host.send(C.LeAddDeviceToFilterAcceptList, { addressType: 0, address: '11:00:00:00:00:02' })
  await s.host.send(C.LeSetScanParameters, {
    scanType: 0,
    scanInterval: 16,
    scanWindow: 16,
    ownAddressType: 0,
    scanningFilterPolicy: 1,
  })
  await s.host.send(C.LeSetScanEnable, { enable: 1, filterDuplicates: 0 })
  t.equal(
    await statusOf(s.host.send(C.LeClearFilterAcceptList, {})),
    0x0c,
    'the list is in use while scanning with policy 1',
  )
  await w.run(500, 10)
  const addrs = new Set(
    s
      .of('LeAdvertisingReport')
      .flatMap((e) => (e.params as { reports: Array<{ address: string }> }).reports.map((r) => r.address)),
  )
  t.same([...addrs], ['11:00:00:00:00:02'])
})

t.test('legacy PDUs reach an extended scanner as extended reports with the legacy bit (byte for byte)', async (t) => {
  const w = world()
  await legacyAdvertiser(w, 0, { address: '11:22:33:44:55:66' })
  const { raw } = rawOn(w)
  raw.command('010c08 ffffffffffff0020') // LE Meta
  raw.command('012008 1f10000000000000') // LE Set Event Mask: + bit 12, Extended Advertising Report
  raw.command('412008 00 00 01 01 1000 1000') // own public, accept all, 1M: active 10 ms / 10 ms
  raw.command('422006 01 01 0000 0000') // enable, filter duplicates
  await settle()
  raw.takeEvents()
  await w.run(300, 10)
  const addr = '665544332211'
  const fixed = (eventType: string, data: string, len: string) =>
    `3e${len}0d01${eventType}00${addr}0100ff7fce000000000000000000${data}`
  t.same(raw.takeEvents(), [
    fixed('1300', '03020106', '1d'), // ADV_IND: legacy | scannable | connectable
    fixed('1b00', '0504094142 43'.replace(' ', ''), '1f'), // SCAN_RSP to an ADV_IND
  ])
})

t.test(
  'acceptance 4: extended advertising with 1000 octets reaches an extended scanner as chained reports',
  async (t) => {
    const w = world()
    const adv = await device(w, '22:22:22:22:22:22')
    const data = pattern(1000, 5)
    await adv.host.send(
      C.LeSetExtendedAdvertisingParameters,
      extAdvParams({ advertisingSid: 9, advertisingEventProperties: 0x40 }),
    )
    await setExtData(adv.host, 0, data)
    await adv.host.send(C.LeSetExtendedAdvertisingEnable, {
      enable: 1,
      sets: [{ advertisingHandle: 0, duration: 0, maxExtendedAdvertisingEvents: 1 }],
    })
    // Raw scanner: check each event's size and fields from the bytes
    const { raw } = rawOn(w)
    raw.command('010c08 ffffffffffff0020')
    raw.command('012008 1f10000000000000')
    raw.command('412008 00 00 01 00 1000 1000')
    raw.command('422006 01 00 0000 0000')
    await settle()
    raw.takeEvents()
    await w.run(500, 10)
    const events = raw.takeEvents().map((h) => fromHex(h))
    t.equal(events.length, 5, '229 + 229 + 229 + 229 + 84')
    const chunks: Uint8Array[] = []
    events.forEach((e, i) => {
      t.equal(e[0], 0x3e)
      t.ok(e[1]! <= 255)
      t.equal(e[2], 0x0d, 'LE Extended Advertising Report')
      t.equal(e[3], 1, 'one report per event')
      const eventType = e[4]! | (e[5]! << 8)
      const last = i === events.length - 1
      t.equal((eventType >> 5) & 3, last ? 0b00 : 0b01, `data status of report ${i}`)
      t.equal(eventType & 0x1f, 0, 'extended, non-connectable, non-scannable')
      t.equal(e[15], 9, 'SID')
      t.equal(e[16], 0, 'Tx power included: 0 dBm')
      const len = e[27]!
      t.ok(len <= 229)
      t.equal(e.length, 28 + len)
      chunks.push(e.subarray(28))
    })
    const whole = Uint8Array.from(chunks.flatMap((c) => [...c]))
    t.same(whole, data, 'reassembled = advertised')
    // And through HciHost's decoder, the same chain.
    const s = await extScanner(w, false)
    await adv.host.send(C.LeSetExtendedAdvertisingEnable, {
      enable: 1,
      sets: [{ advertisingHandle: 0, duration: 0, maxExtendedAdvertisingEvents: 1 }],
    })
    await w.run(500, 10)
    const r = s.reports()
    t.same(
      r.map((x) => x.data.length),
      [229, 229, 229, 229, 84],
    )
    t.same(
      r.map((x) => x.eventType),
      [0x20, 0x20, 0x20, 0x20, 0x00].map((x) => x | 0),
    )
    void decodeEvent
  },
)

t.test('extended scan response longer than one report, to an active extended scanner', async (t) => {
  const w = world()
  const adv = await device(w)
  await adv.host.send(C.LeSetExtendedAdvertisingParameters, extAdvParams({ advertisingEventProperties: 0x02 }))
  await setExtData(adv.host, 0, pattern(500, 1), true)
  await adv.host.send(C.LeSetExtendedAdvertisingEnable, {
    enable: 1,
    sets: [{ advertisingHandle: 0, duration: 0, maxExtendedAdvertisingEvents: 0 }],
  })
  const passive = await extScanner(w, false, 1)
  const active = await extScanner(w, true, 1)
  await w.run(500, 10)
  t.same(
    passive.reports().map((r) => [r.eventType, r.data.length]),
    [[0x02, 0]],
    'passive: the scannable advertisement, no data',
  )
  const a = active.reports()
  t.same(
    a.map((r) => [r.eventType, r.data.length]),
    [
      [0x02, 0],
      [0x2a, 229],
      [0x2a, 229],
      [0x0a, 42],
    ],
  )
  t.same(Uint8Array.from(a.slice(1).flatMap((r) => [...r.data])), pattern(500, 1))
})

t.test(
  'a legacy scanner does not see extended advertising; DID changes pass the extended duplicate filter',
  async (t) => {
    const w = world()
    const adv = await device(w)
    await adv.host.send(C.LeSetExtendedAdvertisingParameters, extAdvParams())
    await setExtData(adv.host, 0, pattern(20))
    await adv.host.send(C.LeSetExtendedAdvertisingEnable, {
      enable: 1,
      sets: [{ advertisingHandle: 0, duration: 0, maxExtendedAdvertisingEvents: 0 }],
    })
    const legacy = await legacyScanner(w, true)
    const ext = await extScanner(w, false, 1)
    await w.run(500, 10)
    t.equal(legacy.reports().length, 0)
    t.equal(ext.reports().length, 1, 'duplicates filtered')
    await adv.host.send(C.LeSetExtendedAdvertisingData, {
      advertisingHandle: 0,
      operation: 4,
      fragmentPreference: 0,
      advertisingData: new Uint8Array(0),
    })
    await w.run(500, 10)
    t.equal(ext.reports().length, 2, 'a new Data ID is new data')
  },
)

t.test('extended scan duration: LE Scan Timeout and scanning stops', async (t) => {
  const w = world()
  const adv = await device(w)
  await adv.host.send(C.LeSetExtendedAdvertisingParameters, extAdvParams())
  await adv.host.send(C.LeSetExtendedAdvertisingEnable, {
    enable: 1,
    sets: [{ advertisingHandle: 0, duration: 0, maxExtendedAdvertisingEvents: 0 }],
  })
  const s = await extScanner(w, false, 0, 50) // 500 ms
  await w.run(1500, 10)
  t.equal(s.of('LeScanTimeout').length, 1)
  const n = s.reports().length
  t.ok(n >= 4 && n <= 6, `${n} reports in 500 ms`)
  const timeoutIndex = s.events.findIndex((e) => e.key === 'LeScanTimeout')
  t.ok(
    s.events.slice(timeoutIndex).every((e) => e.key !== 'LeExtendedAdvertisingReport'),
    'nothing after the timeout',
  )
  t.equal(
    await statusOf(
      s.host.send(C.LeSetExtendedScanParameters, {
        ownAddressType: 0,
        scanningFilterPolicy: 0,
        scanningPhys: 1,
        perPhy: [{ scanType: 0, scanInterval: 16, scanWindow: 16 }],
      }),
    ),
    0,
    'no longer scanning',
  )
})

t.test('extended scan period: scan Duration every Period; Filter_Duplicates 2 forgets each period', async (t) => {
  const w = world()
  const adv = await device(w)
  await adv.host.send(C.LeSetExtendedAdvertisingParameters, extAdvParams())
  await adv.host.send(C.LeSetExtendedAdvertisingEnable, {
    enable: 1,
    sets: [{ advertisingHandle: 0, duration: 0, maxExtendedAdvertisingEvents: 0 }],
  })
  const s = await extScanner(w, false, 2, 30, 1) // 300 ms every 1.28 s
  await w.run(1280 * 4 - 10, 10)
  t.equal(s.reports().length, 4, 'one report per period')
  t.equal(s.of('LeScanTimeout').length, 0, 'no Scan Timeout with a period')
  const s2 = await extScanner(w, false, 0, 30, 1)
  await w.run(1280 * 3 - 10, 10)
  const n = s2.reports().length
  t.ok(n >= 9 && n <= 12, `${n} reports: only while the 300 ms windows are open`)
})

t.test('extended scan parameters and enable: validation and state rules', async (t) => {
  const w = world()
  const { host } = await device(w)
  const set = (scanningPhys: number, perPhy: Array<{ scanType: number; scanInterval: number; scanWindow: number }>) =>
    statusOf(
      host.send(C.LeSetExtendedScanParameters, { ownAddressType: 0, scanningFilterPolicy: 0, scanningPhys, perPhy }),
    )
  const one = { scanType: 0, scanInterval: 16, scanWindow: 16 }
  t.equal(await set(0, []), 0x12, 'no PHY')
  t.equal(await set(0x02, [one]), 0x11, 'bit 1 is reserved (the 2M PHY cannot scan the primary channel)')
  t.equal(await set(0x04, [one]), 0x11, 'Coded PHY not supported')
  t.equal(await set(1, [{ ...one, scanType: 2 }]), 0x12)
  t.equal(await set(1, [{ ...one, scanWindow: 17 }]), 0x12, 'window > interval')
  t.equal(await set(1, [{ ...one, scanInterval: 3, scanWindow: 3 }]), 0x12)
  t.equal(
    await statusOf(
      host.send(C.LeSetExtendedScanParameters, {
        ownAddressType: 4,
        scanningFilterPolicy: 0,
        scanningPhys: 1,
        perPhy: [one],
      }),
    ),
    0x12,
  )
  t.equal(await set(1, [one]), 0)
  const enable = (enable: number, filterDuplicates: number, duration: number, period: number) =>
    statusOf(host.send(C.LeSetExtendedScanEnable, { enable, filterDuplicates, duration, period }))
  t.equal(await enable(2, 0, 0, 0), 0x12)
  t.equal(await enable(1, 3, 0, 0), 0x12)
  t.equal(await enable(1, 2, 0, 0), 0x12, 'Filter_Duplicates 2 needs a period')
  t.equal(await enable(1, 0, 128, 1), 0x12, 'duration must be shorter than the period')
  t.equal(await enable(1, 0, 0, 1), 0x12, 'a period needs a duration')
  t.equal(await enable(1, 1, 0, 0), 0)
  t.equal(await set(1, [one]), 0x0c, 'parameters while scanning')
  t.equal(await enable(0, 0, 0, 0), 0)
})

t.test('default masks after Reset (7.3.1: LE Meta off; 7.8.1: sub-events 0x01-0x05 only)', async (t) => {
  const w = world()
  await legacyAdvertiser(w, 3)
  const { raw } = rawOn(w)
  raw.command('412008 00 00 01 00 1000 1000')
  raw.command('422006 01 01 0000 0000')
  await settle()
  raw.takeEvents()
  await w.run(300, 10)
  t.same(raw.takeEvents(), [], 'no LE Meta events with the default event mask')
  raw.command('010c08 ffffffffffff0020')
  await settle()
  raw.takeEvents()
  await w.run(300, 10)
  t.same(raw.takeEvents(), [], 'LE Extended Advertising Report (bit 12) is not in the default LE event mask')
  raw.command('012008 1f10000000000000')
  raw.command('422006 00 01 0000 0000')
  raw.command('422006 01 01 0000 0000')
  await settle()
  raw.takeEvents()
  await w.run(300, 10)
  t.equal(raw.takeEvents().length, 1)
})
