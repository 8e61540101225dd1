/**
 * Call tags through the whole public API (src/call-trace.ts, issue 15 "each public API call is
 * tagged"): the client's link, security and channel calls, a central's, the adapter's, each put
 * a start and an end note (with its duration) in the log and captures, and the steps of
 * connect() (encryption from the bond, data length, PHY, MTU, discovery, Service Changed) are
 * tagged inside it. A call that fails below ATT leaves a flight recording too: a refused L2CAP
 * credit-based channel (Core v5.4 Vol 3 Part A 4.22/4.23) names a capture holding the LE Credit
 * Based Connection Request and its refusal, read back with tshark. A call the caller aborts
 * records nothing.
 */
import t, { type Test } from 'tap'
import { mkdtempSync, rmSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { channel } from 'node:diagnostics_channel'

const dir = mkdtempSync(join(tmpdir(), 'hcikit-calls-'))
process.env['HCIKIT_FLIGHT_DIR'] = dir
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

const { open, createVirtualLink } = await import('../../src/index.ts')
const { flightRecordingOf } = await import('../../src/call-trace.ts')
const { PACKET_CHANNEL } = await import('../../hci/host.ts')
const { missing } = await import('../helpers/tools.ts')

const PERIPHERAL = '11:22:33:44:55:66'
const ECHO_PSM = 0x0081

/** The notes published while the test runs, numbers and durations made uniform. */
function notes(t: Test): string[] {
  const seen: string[] = []
  const ch = channel(PACKET_CHANNEL)
  const on = (m: unknown): void => {
    const p = m as { type: number; data: Uint8Array }
    if (p.type === 0xff)
      seen.push(
        Buffer.from(p.data)
          .toString()
          .replace(/#\d+ /, '')
          .replace(/[\d.]+ ms/, 'N ms'),
      )
  }
  ch.subscribe(on)
  t.teardown(() => void ch.unsubscribe(on))
  return seen
}

async function setUp(t: Test) {
  const link = createVirtualLink()
  const peripheral = await open({ link, address: PERIPHERAL, env: {} })
  peripheral.serve({
    services: [{ uuid: '180f', characteristics: [{ uuid: '2a19', properties: ['read'], value: 'd' }] }],
  })
  peripheral.listen(ECHO_PSM, (ch) => void ch.pipe(ch))
  await peripheral.advertise({ name: 'P' })
  const central = await open({ link, address: '02:00:00:00:00:01', cache: false, env: {} })
  t.teardown(async () => {
    await central.close()
    await peripheral.close()
  })
  return { central, peripheral }
}

t.test("every public call of a client, a central and an adapter is tagged, connect's steps inside it", async (t) => {
  const seen = notes(t)
  const { central, peripheral } = await setUp(t)
  const accepted = new Promise<import('../../src/index.ts').Central>((resolve) => peripheral.on('connection', resolve))
  const client = await central.connect(
    { address: PERIPHERAL, addressType: 'public' },
    { dataLength: 100, phys: ['2M'], timeout: 5000 },
  )
  const them = await accepted
  await client.readRssi()
  await client.updateParameters({ intervalMin: 50, intervalMax: 50 })
  await client.pair()
  await client.discover()
  const echo = await client.openChannel(ECHO_PSM)
  echo.destroy()
  await peripheral.stopAdvertising()
  await them.disconnect()
  const done = (what: string): string => `call ${what}: done in N ms`
  for (const step of [
    `call connect ${PERIPHERAL}: started`,
    done('connect: link'),
    done(`encrypt from bond ${PERIPHERAL}`),
    done(`set data length ${PERIPHERAL} (100)`),
    done(`set PHY ${PERIPHERAL}`),
    done('connect: MTU exchange'),
    done('connect: discovery'),
    done('connect: Service Changed'),
    done(`connect ${PERIPHERAL}`),
    done(`read RSSI ${PERIPHERAL}`),
    done(`update parameters ${PERIPHERAL}`),
    done(`pair ${PERIPHERAL}`),
    done(`discover ${PERIPHERAL}`),
    done(`open L2CAP channel to PSM 0x81 of ${PERIPHERAL}`),
    done('stop advertising'),
    done('disconnect central 02:00:00:00:00:01'),
  ])
    t.ok(seen.includes(step), step)
  const at = (s: string): number => seen.indexOf(s)
  t.ok(
    at(`call connect ${PERIPHERAL}: started`) < at(done('connect: link')) &&
      at(done('connect: Service Changed')) < at(done(`connect ${PERIPHERAL}`)),
    "the steps sit between connect's own notes",
  )
})

t.test('a refused L2CAP channel leaves a flight recording with the request and its refusal', async (t) => {
  const { central } = await setUp(t)
  const client = await central.connect({ address: PERIPHERAL, addressType: 'public' })
  const err = await client.openChannel(0x0091).catch((e: Error) => e)
  t.match(err, { code: 'CONNECTION_REFUSED', message: /\(flight recorder: .*\.btsnoop\)$/ })
  const path = flightRecordingOf(err)
  t.ok(path?.startsWith(dir), 'written to HCIKIT_FLIGHT_DIR')
  if (missing('tshark') || path === undefined) return
  const r = spawnSync(
    'tshark',
    ['-r', path, '-n', '-Y', 'btl2cap.cmd_code', '-T', 'fields', '-e', 'btl2cap.cmd_code', '-e', 'btl2cap.le_psm'],
    { encoding: 'utf8' },
  )
  t.equal(r.status, 0, 'tshark opens it')
  const rows = r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t'))
  const request = rows.findIndex((x) => x[0] === '0x14' && Number(x[1]) === 0x91)
  t.ok(request >= 0, 'the LE Credit Based Connection Request for PSM 0x0091 is in it')
  t.ok(
    rows.slice(request + 1).some((x) => x[0] === '0x15'),
    'then the LE Credit Based Connection Response (the refusal)',
  )
})

t.test('a call the caller aborts is no failure: noted as aborted, nothing recorded', async (t) => {
  const seen = notes(t)
  const { central } = await setUp(t)
  const client = await central.connect({ address: PERIPHERAL, addressType: 'public' })
  const before = readdirSync(dir).length
  const stop = new AbortController()
  const reading = client.readRssi({ signal: stop.signal })
  stop.abort(new Error('changed my mind'))
  const err = await reading.catch((e: Error) => e)
  t.match(err, { message: 'changed my mind' })
  t.equal(flightRecordingOf(err), undefined)
  t.equal(readdirSync(dir).length, before, 'no capture written')
  t.ok(seen.includes(`call read RSSI ${PERIPHERAL}: aborted after N ms`))
})

t.test('writes without response are the data path: untagged while they go well, noted when one fails', async (t) => {
  const seen = notes(t)
  const link = createVirtualLink()
  const peripheral = await open({ link, address: PERIPHERAL, env: {} })
  peripheral.serve({
    services: [
      {
        uuid: 'fff0',
        characteristics: [{ uuid: 'fff1', properties: ['writeWithoutResponse'], value: new Uint8Array(1) }],
      },
    ],
  })
  await peripheral.advertise({ name: 'P' })
  const central = await open({ link, address: '02:00:00:00:00:01', cache: false, env: {} })
  t.teardown(async () => {
    await central.close()
    await peripheral.close()
  })
  const client = await central.connect({ address: PERIPHERAL, addressType: 'public' })
  const c = client.characteristic('fff0', 'fff1')
  for (let i = 0; i < 100; i++) await client.write(c, Uint8Array.of(i), { withoutResponse: true })
  t.notOk(
    seen.some((n) => n.includes('write without response')),
    '100 writes without response: no call notes',
  )
  await client.disconnect()
  const err = await client.write(c, Uint8Array.of(1), { withoutResponse: true }).catch((e: Error) => e)
  t.ok(err instanceof Error, `a write on a closed link fails (${(err as Error).message})`)
  t.ok(
    seen.some((n) => /^call write without response .*fff1.*: failed after/.test(n)) &&
      !seen.some((n) => /write without response.*: started/.test(n)),
    'the failure alone is noted, with the call',
  )
})
