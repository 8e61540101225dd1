/**
 * Advertising of the virtual controller (Core v5.4 Vol 4 Part E 7.8.5-7.8.9, 7.8.52-7.8.60;
 * Vol 6 Part B 4.4.2): parameter validation (0x12), state rules (0x0C), fragment operations,
 * timing in virtual time, the PDUs on the air, limits and LE Advertising Set Terminated.
 */
import t from 'tap'
import { world, hostOn, settle, statusOf, sniffer } from '../helpers/virtual.ts'
import * as C from '../../hci/commands.ts'
import type { HciEvent, KnownEvent } from '../../hci/events.ts'
import type { ConnectIndPdu } from '../../src/virtual/link.ts'
import type { PeripheralConnect } from '../../src/virtual/controller.ts'
import type { CommandParams } from '../../hci/spec.ts'

type LegacyParams = CommandParams<typeof C.LeSetAdvertisingParameters>

const legacyParams = (over: Partial<LegacyParams> = {}) => ({
  advertisingIntervalMin: 160, // 100 ms
  advertisingIntervalMax: 160,
  advertisingType: 0,
  ownAddressType: 0,
  peerAddressType: 0,
  peerAddress: '00:00:00:00:00:00',
  advertisingChannelMap: 7,
  advertisingFilterPolicy: 0,
  ...over,
})

const extParams = (over: Record<string, number | string> = {}) =>
  ({
    advertisingHandle: 0,
    advertisingEventProperties: 0x0000, // extended, non-connectable, non-scannable
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

const pad31 = (b: number[]): Uint8Array => {
  const out = new Uint8Array(31)
  out.set(b)
  return out
}
const pattern = (n: number, seed = 0): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff)

async function device(w: ReturnType<typeof world>, address?: string) {
  const d = hostOn(w, address ? { address } : {})
  await d.host.init()
  const events: HciEvent[] = []
  d.host.onEvent((e) => events.push(e))
  return { ...d, events, le: (key: string) => events.filter((e): e is KnownEvent => e.key === key) }
}

t.test('legacy parameters: validation (0x12) and Command Disallowed while enabled (0x0C)', async (t) => {
  const w = world()
  const { host } = await device(w)
  const set = (over: Partial<LegacyParams>) => statusOf(host.send(C.LeSetAdvertisingParameters, legacyParams(over)))
  t.equal(await set({ advertisingIntervalMin: 0x1f }), 0x12, 'interval below 20 ms')
  t.equal(await set({ advertisingIntervalMax: 0x4001 }), 0x12, 'interval above 10.24 s')
  t.equal(await set({ advertisingIntervalMin: 200, advertisingIntervalMax: 100 }), 0x12, 'min > max')
  t.equal(
    await set({ advertisingIntervalMin: 0, advertisingIntervalMax: 0, advertisingType: 1 }),
    0,
    'high duty directed ignores the interval',
  )
  t.equal(await set({ advertisingType: 5 }), 0x12, 'Advertising_Type 5')
  t.equal(await set({ ownAddressType: 4 }), 0x12)
  t.equal(await set({ peerAddressType: 2 }), 0x12)
  t.equal(await set({ advertisingChannelMap: 0 }), 0x12, 'no channel')
  t.equal(await set({ advertisingChannelMap: 8 }), 0x12, 'reserved channel bit')
  t.equal(await set({ advertisingFilterPolicy: 4 }), 0x12)
  t.equal(await set({}), 0)
  t.equal(await statusOf(host.send(C.LeSetAdvertisingEnable, { enable: 2 })), 0x12)
  t.equal(await statusOf(host.send(C.LeSetAdvertisingEnable, { enable: 1 })), 0)
  t.equal(await statusOf(host.send(C.LeSetAdvertisingEnable, { enable: 1 })), 0, 'enabling again: success')
  t.equal(await set({}), 0x0c, 'parameters while advertising')
  t.equal(await statusOf(host.send(C.LeSetAdvertisingEnable, { enable: 0 })), 0)
  t.equal(await statusOf(host.send(C.LeSetAdvertisingEnable, { enable: 0 })), 0, 'disabling again: success')
  t.equal(await set({}), 0)
})

t.test('legacy data: at most 31 octets; the advertised data follows updates', async (t) => {
  const w = world()
  const { host } = await device(w)
  const air = sniffer(w)
  t.equal(
    await statusOf(host.send(C.LeSetAdvertisingData, { advertisingDataLength: 32, advertisingData: pad31([]) })),
    0x12,
  )
  t.equal(
    await statusOf(host.send(C.LeSetScanResponseData, { scanResponseDataLength: 32, scanResponseData: pad31([]) })),
    0x12,
  )
  await host.send(C.LeSetAdvertisingParameters, legacyParams({ advertisingType: 3 }))
  await host.send(C.LeSetAdvertisingData, { advertisingDataLength: 3, advertisingData: pad31([2, 1, 6]) })
  await host.send(C.LeSetAdvertisingEnable, { enable: 1 })
  await w.run(150, 5)
  t.same([...air.heard.at(-1)!.pdu.data], [2, 1, 6])
  await host.send(C.LeSetAdvertisingData, { advertisingDataLength: 4, advertisingData: pad31([3, 0xff, 1, 2]) })
  await w.run(150, 5)
  t.same([...air.heard.at(-1)!.pdu.data], [3, 0xff, 1, 2], 'new data on the next events')
})

t.test('advertising interval honoured in virtual time: interval + advDelay (0-10 ms) between events', async (t) => {
  const w = world()
  const { host, controller } = await device(w)
  const air = sniffer(w)
  await host.send(C.LeSetAdvertisingParameters, legacyParams({ advertisingType: 3 })) // 100 ms
  const t0 = w.scheduler.now()
  await host.send(C.LeSetAdvertisingEnable, { enable: 1 })
  await w.run(2000, 10)
  const times = air.heard.map((h) => h.at - t0)
  t.ok(times[0]! <= 10, `first event after advDelay only (${times[0]} ms)`)
  const gaps = times.slice(1).map((x, i) => x - times[i]!)
  t.ok(
    gaps.every((g) => g >= 100 && g <= 110),
    `gaps ${gaps.map((g) => g.toFixed(1)).join(' ')}`,
  )
  t.ok(new Set(gaps).size > 5, 'advDelay varies per event')
  t.ok(air.heard.length >= 18 && air.heard.length <= 20, `${air.heard.length} events in 2 s at 100 ms`)
  t.ok(air.heard.every((h) => h.pdu.advA === controller.address && h.pdu.advAType === 0))
})

t.test('the four legacy PDU types on the air; directed advertising carries the target', async (t) => {
  const w = world()
  const { host } = await device(w)
  const air = sniffer(w)
  const types: Array<[number, string, boolean, boolean, boolean]> = [
    [0, 'ADV_IND', true, true, false],
    [2, 'ADV_SCAN_IND', false, true, false],
    [3, 'ADV_NONCONN_IND', false, false, false],
    [4, 'ADV_DIRECT_IND', true, false, true],
  ]
  for (const [type, name, connectable, scannable, directed] of types) {
    await host.send(
      C.LeSetAdvertisingParameters,
      legacyParams({ advertisingType: type, peerAddressType: 1, peerAddress: 'C1:22:33:44:55:66' }),
    )
    await host.send(C.LeSetAdvertisingEnable, { enable: 1 })
    air.heard.length = 0
    await w.run(120, 10)
    await host.send(C.LeSetAdvertisingEnable, { enable: 0 })
    const pdu = air.heard[0]!.pdu
    t.equal(pdu.pduType, name)
    t.same(pdu.props, { connectable, scannable, directed, legacy: true }, `${name} properties`)
    if (directed) {
      t.equal(pdu.targetA, 'C1:22:33:44:55:66')
      t.equal(pdu.targetAType, 1)
    } else t.equal(pdu.targetA, undefined)
  }
})

t.test(
  'high duty cycle directed advertising: every 3.75 ms, ends after 1.28 s with Advertising Timeout (0x3C)',
  async (t) => {
    const w = world()
    const { host, le } = await device(w)
    const air = sniffer(w)
    await host.send(
      C.LeSetAdvertisingParameters,
      legacyParams({ advertisingType: 1, peerAddress: '11:22:33:44:55:66' }),
    )
    await host.send(C.LeSetAdvertisingEnable, { enable: 1 })
    await w.run(1500, 20)
    const n = air.heard.length
    t.ok(n >= 340 && n <= 342, `${n} events`)
    t.ok(air.heard.every((h) => h.pdu.props.highDuty === true))
    const done = [...le('LeEnhancedConnectionComplete'), ...le('LeConnectionComplete')]
    t.equal(done.length, 1)
    const p = done[0]!.params as { status: number; role: number; peerAddress: string }
    t.equal(p.status, 0x3c)
    t.equal(p.role, 1)
    t.equal(p.peerAddress, '11:22:33:44:55:66')
    t.equal(await statusOf(host.send(C.LeSetAdvertisingParameters, legacyParams())), 0, 'advertising is disabled again')
  },
)

t.test('own random address: 0x12 until one is set, then AdvA is random (TxAdd 1)', async (t) => {
  const w = world()
  const { host } = await device(w)
  const air = sniffer(w)
  await host.send(C.LeSetAdvertisingParameters, legacyParams({ ownAddressType: 1, advertisingType: 3 }))
  t.equal(await statusOf(host.send(C.LeSetAdvertisingEnable, { enable: 1 })), 0x12)
  await host.send(C.LeSetRandomAddress, { randomAddress: 'C0:11:22:33:44:55' })
  t.equal(await statusOf(host.send(C.LeSetAdvertisingEnable, { enable: 1 })), 0)
  await w.run(50, 10)
  t.equal(air.heard[0]!.pdu.advA, 'C0:11:22:33:44:55')
  t.equal(air.heard[0]!.pdu.advAType, 1)
})

t.test('legacy and extended commands do not mix (3.1.1) until Reset', async (t) => {
  const w = world()
  const { host, controller } = await device(w)
  t.equal(await statusOf(host.send(C.LeReadAdvertisingPhysicalChannelTxPower, {})), 0)
  t.equal(controller.advertisingCommands, 'legacy')
  t.equal(await statusOf(host.send(C.LeSetExtendedAdvertisingParameters, extParams())), 0x0c)
  t.equal(await statusOf(host.send(C.LeReadMaximumAdvertisingDataLength, {})), 0x0c)
  t.equal(
    await statusOf(host.send(C.LeSetExtendedScanEnable, { enable: 0, filterDuplicates: 0, duration: 0, period: 0 })),
    0x0c,
  )
  t.equal(await statusOf(host.send(C.LeRand, {})), 0, 'other LE commands are not affected')
  await host.send(C.Reset, {})
  t.equal(await statusOf(host.send(C.LeReadNumberOfSupportedAdvertisingSets, {})), 0)
  t.equal(controller.advertisingCommands, 'extended')
  t.equal(await statusOf(host.send(C.LeSetAdvertisingParameters, legacyParams())), 0x0c)
  t.equal(
    await statusOf(
      host.send(C.LeSetScanParameters, {
        scanType: 0,
        scanInterval: 16,
        scanWindow: 16,
        ownAddressType: 0,
        scanningFilterPolicy: 0,
      }),
    ),
    0x0c,
  )
  t.equal(await statusOf(host.send(C.LeSetScanEnable, { enable: 0, filterDuplicates: 0 })), 0x0c)
})

t.test('extended parameters: validation', async (t) => {
  const w = world()
  const { host } = await device(w)
  const set = (over: Record<string, number | string>) =>
    statusOf(host.send(C.LeSetExtendedAdvertisingParameters, extParams(over)))
  t.equal(await set({ advertisingHandle: 0xf0 }), 0x12, 'handle above 0xEF')
  t.equal(
    await set({ advertisingEventProperties: 0x11 }),
    0x12,
    'legacy connectable without scannable is no legacy PDU',
  )
  t.equal(await set({ advertisingEventProperties: 0x03 }), 0x12, 'extended connectable and scannable')
  t.equal(await set({ advertisingEventProperties: 0x21 }), 0x12, 'anonymous connectable')
  t.equal(await set({ advertisingEventProperties: 0x80 }), 0x12, 'reserved bit')
  t.equal(await set({ primaryAdvertisingIntervalMin: 0x1f }), 0x12)
  t.equal(await set({ primaryAdvertisingIntervalMin: 400, primaryAdvertisingIntervalMax: 300 }), 0x12)
  t.equal(await set({ primaryAdvertisingChannelMap: 0 }), 0x12)
  t.equal(await set({ advertisingTxPower: 21 }), 0x12)
  t.equal(await set({ primaryAdvertisingPhy: 2 }), 0x12, 'the primary channel is 1M or Coded')
  t.equal(await set({ primaryAdvertisingPhy: 3 }), 0x11, 'Coded PHY not supported')
  t.equal(await set({ secondaryAdvertisingPhy: 4 }), 0x12)
  t.equal(await set({ advertisingSid: 0x10 }), 0x12)
  t.equal(await set({ scanRequestNotificationEnable: 2 }), 0x12)
  const r = await host.send(C.LeSetExtendedAdvertisingParameters, extParams({ advertisingTxPower: 5 }))
  t.equal(r.selectedTxPower, 5)
  for (let h = 1; h < 4; h++) t.equal(await set({ advertisingHandle: h }), 0)
  t.equal(await set({ advertisingHandle: 9 }), 0x07, 'a fifth set: Memory Capacity Exceeded')
  t.equal((await host.send(C.LeReadNumberOfSupportedAdvertisingSets, {})).numSupportedAdvertisingSets, 4)
  t.equal((await host.send(C.LeReadMaximumAdvertisingDataLength, {})).maxAdvertisingDataLength, 1650)
})

t.test('extended data: fragment operations, limits and errors', async (t) => {
  const w = world()
  const { host } = await device(w)
  const air = sniffer(w)
  const data = (handle: number, operation: number, bytes: Uint8Array) =>
    statusOf(
      host.send(C.LeSetExtendedAdvertisingData, {
        advertisingHandle: handle,
        operation,
        fragmentPreference: 0,
        advertisingData: bytes,
      }),
    )
  t.equal(await data(0, 3, pattern(10)), 0x42, 'no such set: Unknown Advertising Identifier')
  await host.send(C.LeSetExtendedAdvertisingParameters, extParams())
  const whole = pattern(700)
  t.equal(await data(0, 0, whole.subarray(0, 10)), 0x12, 'intermediate without first')
  t.equal(await data(0, 1, whole.subarray(0, 251)), 0)
  t.equal(await data(0, 0, whole.subarray(251, 502)), 0)
  t.equal(await data(0, 2, whole.subarray(502)), 0)
  t.equal(await data(0, 5, new Uint8Array(0)), 0x12, 'reserved operation')
  t.equal(
    await statusOf(
      host.send(C.LeSetExtendedAdvertisingData, {
        advertisingHandle: 0,
        operation: 3,
        fragmentPreference: 2,
        advertisingData: new Uint8Array(0),
      }),
    ),
    0x12,
  )
  t.equal(await data(0, 4, new Uint8Array(0)), 0x12, 'unchanged data while not advertising')
  await host.send(C.LeSetExtendedAdvertisingEnable, {
    enable: 1,
    sets: [{ advertisingHandle: 0, duration: 0, maxExtendedAdvertisingEvents: 0 }],
  })
  await w.run(120, 10)
  t.same(air.heard.at(-1)!.pdu.data, whole, 'the three fragments, reassembled')
  t.equal(air.heard.at(-1)!.pdu.pduType, 'ADV_EXT_IND')
  const did = air.heard.at(-1)!.pdu.did
  t.equal(await data(0, 1, pattern(10)), 0x0c, 'fragments while enabled')
  t.equal(await data(0, 4, new Uint8Array(0)), 0, 'unchanged data while enabled: a new DID')
  await w.run(120, 10)
  t.not(air.heard.at(-1)!.pdu.did, did)
  t.equal(await data(0, 3, pattern(200, 1)), 0, 'complete data while enabled')
  await w.run(120, 10)
  t.same(air.heard.at(-1)!.pdu.data, pattern(200, 1))
  await host.send(C.LeSetExtendedAdvertisingEnable, { enable: 0, sets: [] })
  // 1650 octets fit, 1651 do not
  for (let i = 0; i < 6; i++) t.equal(await data(0, i === 0 ? 1 : 0, pattern(251)), 0)
  t.equal(await data(0, 2, pattern(144)), 0, '6 x 251 + 144 = 1650')
  t.equal(await data(0, 1, pattern(251)), 0)
  for (let i = 0; i < 5; i++) await data(0, 0, pattern(251))
  t.equal(await data(0, 2, pattern(145)), 0x07, '1651 octets: Memory Capacity Exceeded')
  // Scannable extended advertising carries no advertising data; legacy sets take one complete fragment of 31 at most.
  await host.send(
    C.LeSetExtendedAdvertisingParameters,
    extParams({ advertisingHandle: 1, advertisingEventProperties: 0x02 }),
  )
  t.equal(await data(1, 3, pattern(5)), 0x12, 'scannable extended: no advertising data')
  await host.send(
    C.LeSetExtendedAdvertisingParameters,
    extParams({ advertisingHandle: 2, advertisingEventProperties: 0x13 }),
  )
  t.equal(await data(2, 3, pattern(32)), 0x12, 'legacy PDUs: 31 octets at most')
  t.equal(await data(2, 1, pattern(10)), 0x12, 'legacy PDUs: complete data only')
  t.equal(await data(2, 3, pattern(31)), 0)
  t.equal(
    await statusOf(
      host.send(C.LeSetExtendedScanResponseData, {
        advertisingHandle: 3,
        operation: 3,
        fragmentPreference: 0,
        scanResponseData: pattern(3),
      }),
    ),
    0x42,
  )
  await host.send(
    C.LeSetExtendedAdvertisingParameters,
    extParams({ advertisingHandle: 3, advertisingEventProperties: 0x00 }),
  )
  t.equal(
    await statusOf(
      host.send(C.LeSetExtendedScanResponseData, {
        advertisingHandle: 3,
        operation: 3,
        fragmentPreference: 0,
        scanResponseData: pattern(3),
      }),
    ),
    0x12,
    'non-scannable: no scan response data',
  )
})

t.test('extended enable: validation and state rules', async (t) => {
  const w = world()
  const { host } = await device(w)
  const enable = (enable: number, sets: Array<[number, number, number]>) =>
    statusOf(
      host.send(C.LeSetExtendedAdvertisingEnable, {
        enable,
        sets: sets.map(([advertisingHandle, duration, maxExtendedAdvertisingEvents]) => ({
          advertisingHandle,
          duration,
          maxExtendedAdvertisingEvents,
        })),
      }),
    )
  t.equal(await enable(1, [[0, 0, 0]]), 0x42, 'unknown set')
  await host.send(C.LeSetExtendedAdvertisingParameters, extParams())
  t.equal(await enable(1, []), 0x12, 'enable with no set')
  t.equal(await enable(2, [[0, 0, 0]]), 0x12)
  t.equal(
    await enable(1, [
      [0, 0, 0],
      [0, 0, 0],
    ]),
    0x12,
    'the same set twice',
  )
  await host.send(C.LeSetExtendedAdvertisingData, {
    advertisingHandle: 0,
    operation: 1,
    fragmentPreference: 0,
    advertisingData: pattern(20),
  })
  t.equal(await enable(1, [[0, 0, 0]]), 0x0c, 'partial data')
  await host.send(C.LeSetExtendedAdvertisingData, {
    advertisingHandle: 0,
    operation: 2,
    fragmentPreference: 0,
    advertisingData: pattern(20),
  })
  t.equal(await enable(1, [[0, 0, 0]]), 0)
  t.equal(
    await statusOf(host.send(C.LeSetExtendedAdvertisingParameters, extParams())),
    0x0c,
    'parameters of an enabled set',
  )
  t.equal(await statusOf(host.send(C.LeRemoveAdvertisingSet, { advertisingHandle: 0 })), 0x0c)
  t.equal(await statusOf(host.send(C.LeClearAdvertisingSets, {})), 0x0c)
  await host.send(
    C.LeSetExtendedAdvertisingParameters,
    extParams({ advertisingHandle: 1, advertisingEventProperties: 0x02 }),
  )
  t.equal(await enable(1, [[1, 0, 0]]), 0x0c, 'scannable set without scan response data')
  await host.send(C.LeSetExtendedAdvertisingParameters, extParams({ advertisingHandle: 2, ownAddressType: 1 }))
  t.equal(await enable(1, [[2, 0, 0]]), 0x12, 'random own address, none set for the set')
  t.equal(
    await statusOf(
      host.send(C.LeSetAdvertisingSetRandomAddress, { advertisingHandle: 7, randomAddress: 'C0:00:00:00:00:07' }),
    ),
    0x42,
  )
  await host.send(C.LeSetAdvertisingSetRandomAddress, { advertisingHandle: 2, randomAddress: 'C0:00:00:00:00:02' })
  t.equal(await enable(1, [[2, 0, 0]]), 0)
  await host.send(
    C.LeSetExtendedAdvertisingParameters,
    extParams({ advertisingHandle: 3, advertisingEventProperties: 0x1d, peerAddress: '11:11:11:11:11:11' }),
  )
  t.equal(await enable(1, [[3, 0, 0]]), 0x12, 'high duty directed needs a duration')
  t.equal(await enable(1, [[3, 129, 0]]), 0x12, 'of at most 1.28 s')
  t.equal(await enable(0, []), 0, 'Num_Sets 0 disables every set')
  t.equal(await statusOf(host.send(C.LeRemoveAdvertisingSet, { advertisingHandle: 0 })), 0)
  t.equal(await statusOf(host.send(C.LeRemoveAdvertisingSet, { advertisingHandle: 0 })), 0x42)
  t.equal(await statusOf(host.send(C.LeClearAdvertisingSets, {})), 0)
  t.equal(await enable(1, [[2, 0, 0]]), 0x42, 'cleared')
})

t.test(
  'max events: LE Advertising Set Terminated with Limit Reached (0x43) after exactly that many events',
  async (t) => {
    const w = world()
    const { host, le } = await device(w)
    const air = sniffer(w)
    await host.send(C.LeSetExtendedAdvertisingParameters, extParams({ advertisingHandle: 5, advertisingSid: 3 }))
    await host.send(C.LeSetExtendedAdvertisingEnable, {
      enable: 1,
      sets: [{ advertisingHandle: 5, duration: 0, maxExtendedAdvertisingEvents: 3 }],
    })
    await w.run(1000, 10)
    t.equal(air.heard.length, 3)
    t.equal(air.heard[0]!.pdu.sid, 3)
    const ends = le('LeAdvertisingSetTerminated')
    t.equal(ends.length, 1)
    t.same(ends[0]!.params, {
      status: 0x43,
      advertisingHandle: 5,
      connectionHandle: 0,
      numCompletedExtendedAdvertisingEvents: 3,
    })
  },
)

t.test('duration: LE Advertising Set Terminated with Advertising Timeout (0x3C) when it ends', async (t) => {
  const w = world()
  const { host, le } = await device(w)
  const air = sniffer(w)
  await host.send(C.LeSetExtendedAdvertisingParameters, extParams())
  const t0 = w.scheduler.now()
  await host.send(C.LeSetExtendedAdvertisingEnable, {
    enable: 1,
    sets: [{ advertisingHandle: 0, duration: 50, maxExtendedAdvertisingEvents: 0 }],
  })
  await w.run(1000, 10)
  const ends = le('LeAdvertisingSetTerminated')
  t.equal(ends.length, 1)
  const p = ends[0]!.params as { status: number; numCompletedExtendedAdvertisingEvents: number }
  t.equal(p.status, 0x3c)
  t.equal(p.numCompletedExtendedAdvertisingEvents, air.heard.length)
  t.ok(
    air.heard.every((h) => h.at - t0 <= 500),
    'nothing after 500 ms',
  )
  t.ok(air.heard.length >= 4 && air.heard.length <= 5, `${air.heard.length} events in 500 ms at 100 ms`)
})

t.test('several sets advertise independently, each with its interval, SID and address', async (t) => {
  const w = world()
  const { host, controller } = await device(w)
  const air = sniffer(w)
  await host.send(
    C.LeSetExtendedAdvertisingParameters,
    extParams({
      advertisingHandle: 0,
      primaryAdvertisingIntervalMin: 80,
      primaryAdvertisingIntervalMax: 80,
      advertisingSid: 1,
    }),
  )
  await host.send(
    C.LeSetExtendedAdvertisingParameters,
    extParams({
      advertisingHandle: 1,
      primaryAdvertisingIntervalMin: 320,
      primaryAdvertisingIntervalMax: 320,
      advertisingSid: 2,
      ownAddressType: 1,
    }),
  )
  await host.send(C.LeSetAdvertisingSetRandomAddress, { advertisingHandle: 1, randomAddress: 'C0:00:00:00:00:01' })
  await host.send(
    C.LeSetExtendedAdvertisingParameters,
    extParams({ advertisingHandle: 2, advertisingEventProperties: 0x10 | 0x03, advertisingSid: 3 }),
  )
  await host.send(C.LeSetExtendedAdvertisingData, {
    advertisingHandle: 0,
    operation: 3,
    fragmentPreference: 0,
    advertisingData: pattern(40, 0),
  })
  await host.send(C.LeSetExtendedAdvertisingData, {
    advertisingHandle: 1,
    operation: 3,
    fragmentPreference: 0,
    advertisingData: pattern(40, 1),
  })
  await host.send(C.LeSetExtendedAdvertisingEnable, {
    enable: 1,
    sets: [
      { advertisingHandle: 0, duration: 0, maxExtendedAdvertisingEvents: 0 },
      { advertisingHandle: 1, duration: 0, maxExtendedAdvertisingEvents: 0 },
      { advertisingHandle: 2, duration: 0, maxExtendedAdvertisingEvents: 0 },
    ],
  })
  await w.run(2000, 10)
  const of = (h: number) => air.heard.filter((x) => x.pdu.handle === h)
  t.ok(of(0).length >= 36 && of(0).length <= 40, `set 0 (50 ms): ${of(0).length}`)
  t.ok(of(1).length >= 9 && of(1).length <= 10, `set 1 (200 ms): ${of(1).length}`)
  t.ok(of(2).length >= 18 && of(2).length <= 20, `set 2 (100 ms): ${of(2).length}`)
  t.ok(of(0).every((x) => x.pdu.sid === 1 && x.pdu.advA === controller.address && x.pdu.advAType === 0))
  t.ok(of(1).every((x) => x.pdu.sid === 2 && x.pdu.advA === 'C0:00:00:00:00:01' && x.pdu.advAType === 1))
  t.ok(
    of(2).every((x) => x.pdu.pduType === 'ADV_IND' && x.pdu.props.legacy && x.pdu.sid === undefined),
    'legacy PDUs from an extended set',
  )
  t.same(of(1)[0]!.pdu.data, pattern(40, 1))
  // Disabling one set leaves the others.
  await host.send(C.LeSetExtendedAdvertisingEnable, {
    enable: 0,
    sets: [{ advertisingHandle: 0, duration: 0, maxExtendedAdvertisingEvents: 0 }],
  })
  air.heard.length = 0
  await w.run(1000, 10)
  t.equal(of(0).length, 0)
  t.ok(of(1).length > 0 && of(2).length > 0)
})

t.test('CONNECT_IND to a connectable set: the set stops, connections.ts is told, Set Terminated follows', async (t) => {
  const w = world()
  const { host, controller, le } = await device(w)
  const central = await device(w)
  const got: PeripheralConnect[] = []
  controller.hooks.onConnectInd((ind) => {
    got.push(ind)
    return 0x0042
  })
  const air = sniffer(w)
  await host.send(
    C.LeSetExtendedAdvertisingParameters,
    extParams({ advertisingHandle: 4, advertisingEventProperties: 0x01 }),
  )
  await host.send(C.LeSetExtendedAdvertisingEnable, {
    enable: 1,
    sets: [{ advertisingHandle: 4, duration: 0, maxExtendedAdvertisingEvents: 0 }],
  })
  await w.run(250, 10)
  const adv = air.heard[0]!.pdu
  t.equal(adv.props.connectable, true)
  const ind = (over: Partial<ConnectIndPdu> = {}): ConnectIndPdu => ({
    kind: 'connect_ind',
    initA: central.controller.address,
    initAType: 0,
    advA: adv.advA,
    advAType: adv.advAType,
    handle: adv.handle,
    legacy: false,
    params: { interval: 24, latency: 0, timeout: 42 },
    ...over,
  })
  w.link.unicast(central.controller, controller, ind({ legacy: true }))
  w.link.unicast(central.controller, controller, ind({ advA: '00:00:00:00:00:01' }))
  await w.run(1, 1)
  t.equal(got.length, 0, 'a legacy CONNECT_IND or another AdvA does not reach an extended set')
  w.link.unicast(central.controller, controller, ind())
  await w.run(1, 1)
  t.equal(got.length, 1)
  t.equal(got[0]!.handle, 4)
  t.equal(got[0]!.localAddress, controller.address)
  t.equal(got[0]!.from, central.controller)
  const ends = le('LeAdvertisingSetTerminated')
  t.same(
    ends.map((e) => e.params),
    [{ status: 0, advertisingHandle: 4, connectionHandle: 0x0042, numCompletedExtendedAdvertisingEvents: 3 }],
  )
  air.heard.length = 0
  await w.run(500, 10)
  t.equal(air.heard.length, 0, 'the set stopped')
})

t.test('legacy directed advertising accepts a CONNECT_IND only from its target', async (t) => {
  const w = world()
  const { host, controller } = await device(w)
  const target = hostOn(w, { address: 'AA:00:00:00:00:01' }).controller
  const other = hostOn(w, { address: 'AA:00:00:00:00:02' }).controller
  const got: PeripheralConnect[] = []
  controller.hooks.onConnectInd((ind) => {
    got.push(ind)
    return 1
  })
  await host.send(C.LeSetAdvertisingParameters, legacyParams({ advertisingType: 4, peerAddress: 'AA:00:00:00:00:01' }))
  await host.send(C.LeSetAdvertisingEnable, { enable: 1 })
  const ind = (from: string): ConnectIndPdu => ({
    kind: 'connect_ind',
    initA: from,
    initAType: 0,
    advA: controller.address,
    advAType: 0,
    handle: 0,
    legacy: true,
    params: { interval: 24, latency: 0, timeout: 42 },
  })
  w.link.unicast(other, controller, ind(other.address))
  await w.run(1, 1)
  t.equal(got.length, 0)
  w.link.unicast(target, controller, ind(target.address))
  await w.run(1, 1)
  t.equal(got.length, 1)
  t.equal(got[0]!.legacy, true)
  t.equal(
    await statusOf(host.send(C.LeSetAdvertisingParameters, legacyParams())),
    0,
    'advertising is disabled by the connection',
  )
})

t.test('scan requests: answered by scannable sets; LE Scan Request Received when asked for', async (t) => {
  const w = world()
  const { host, controller, le } = await device(w)
  const scanner = hostOn(w, { address: 'AA:BB:CC:00:00:01' }).controller
  const rsps: Uint8Array[] = []
  scanner.onAir('scan_rsp', (_f, pdu) => rsps.push(pdu.data))
  await host.send(
    C.LeSetExtendedAdvertisingParameters,
    extParams({ advertisingHandle: 1, advertisingEventProperties: 0x02, scanRequestNotificationEnable: 1 }),
  )
  await host.send(C.LeSetExtendedScanResponseData, {
    advertisingHandle: 1,
    operation: 3,
    fragmentPreference: 0,
    scanResponseData: pattern(100),
  })
  await host.send(C.LeSetExtendedAdvertisingEnable, {
    enable: 1,
    sets: [{ advertisingHandle: 1, duration: 0, maxExtendedAdvertisingEvents: 0 }],
  })
  const req = {
    kind: 'scan_req' as const,
    scanA: scanner.address,
    scanAType: 0,
    advA: controller.address,
    advAType: 0,
    handle: 1,
    legacy: false,
  }
  w.link.unicast(scanner, controller, req)
  w.link.unicast(scanner, controller, { ...req, handle: 2 })
  await w.run(2, 1)
  t.equal(rsps.length, 1)
  t.same(rsps[0], pattern(100))
  t.same(
    le('LeScanRequestReceived').map((e) => e.params),
    [{ advertisingHandle: 1, scannerAddressType: 0, scannerAddress: 'AA:BB:CC:00:00:01' }],
  )
  await settle()
})
