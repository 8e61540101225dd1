/**
 * Acceptance 3 of issue 15, the flight recorder (src/flight-recorder.ts, src/call-trace.ts): a
 * read that fails on the virtual link (the peer answers an ATT Error Response, Core v5.4 Vol 3
 * Part F 3.4.1.1) rejects with an error whose message names a btsnoop capture; tshark opens it,
 * and it holds the failing Read Request and its Error Response, between the notes that tag the
 * call. Also: calls are tagged in the log as they start and end with their duration, the ring is
 * bounded by count and bytes, a save on demand, and HCIKIT_FLIGHT_RECORDER=0 turns it off.
 */
import t, { type Test } from 'tap'
import { mkdtempSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { channel } from 'node:diagnostics_channel'

const dir = mkdtempSync(join(tmpdir(), 'hcikit-flight-'))
process.env['HCIKIT_FLIGHT_DIR'] = dir
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

const { open, createVirtualLink, AttributeError } = await import('../../src/index.ts')
const { FlightRecorder, flightRecorder } = await import('../../src/flight-recorder.ts')
const { flightRecordingOf } = await import('../../src/call-trace.ts')
const { missing } = await import('../helpers/tools.ts')
const { PACKET_CHANNEL } = await import('../../hci/host.ts')

const SECRET = '8f3a1000-4b1c-4e2a-9c1d-6863696b6974'

async function pair(t: Test, env: NodeJS.ProcessEnv = {}) {
  const link = createVirtualLink()
  const peripheral = await open({ link, address: '11:22:33:44:55:66', diagnostics: false, env })
  peripheral.serve({
    services: [
      {
        uuid: '8f3a0fff-4b1c-4e2a-9c1d-6863696b6974',
        characteristics: [
          {
            uuid: SECRET,
            properties: ['read'],
            onRead: () => {
              throw new AttributeError(0x80, 'not today')
            },
          },
        ],
      },
    ],
  })
  await peripheral.advertise({ name: 'P' })
  const central = await open({ link, address: '02:00:00:00:00:01', cache: false, env })
  t.teardown(async () => {
    await central.close()
    await peripheral.close()
  })
  const client = await central.connect({ address: '11:22:33:44:55:66', addressType: 'public' })
  return { central, client }
}

t.test('a failing read names the capture; tshark finds the failing request in it', async (t) => {
  const { client } = await pair(t)
  const c = client.characteristic(SECRET)
  const err = await client.read(c).then(
    () => undefined,
    (e: Error) => e,
  )
  t.match(err, { code: 'ATT_ERROR_RESPONSE', status: 0x80 })
  const path = flightRecordingOf(err)!
  t.ok(path?.startsWith(dir), `written to HCIKIT_FLIGHT_DIR (${path})`)
  t.ok(err!.message.endsWith(`(flight recorder: ${path})`), 'the message names the file')
  t.ok(existsSync(path))
  if (missing('tshark')) return
  const r = spawnSync(
    'tshark',
    [
      '-r',
      path,
      '-n',
      '-T',
      'fields',
      '-e',
      'frame.number',
      '-e',
      'btatt.opcode',
      '-e',
      'btatt.handle',
      '-e',
      'data.data',
    ],
    { encoding: 'utf8' },
  )
  t.equal(r.status, 0, 'tshark opens it')
  const rows = r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t'))
  const read = rows.find((x) => x[1] === '0x0a' && Number(x[2]) === c.valueHandle)
  t.ok(read, 'the Read Request of the failing call is there')
  const error = rows.find((x) => x[1] === '0x01' && Number(x[0]) > Number(read![0]))
  t.equal(Number(error?.[2]), c.valueHandle, 'then its Error Response, for that handle')
  const notes = rows
    .filter((x) => x[3])
    .map((x) => [Number(x[0]), Buffer.from(x[3]!.replace(/:/g, ''), 'hex').toString()])
  const started = notes.find(([, s]) =>
    /call #\d+ read characteristic 8f3a1000-.* @0x[0-9a-f]{4}: started/.test(s as string),
  )
  const failed = notes.find(([, s]) => /call #\d+ read characteristic .*: failed after [\d.]+ ms: /.test(s as string))
  t.ok(started && failed, 'the call is tagged where it starts and where it fails')
  t.ok((started![0] as number) < Number(read![0]) && Number(error![0]) < (failed![0] as number), 'around its packets')
})

t.test('calls are tagged in the log with their steps and durations', async (t) => {
  const seen: string[] = []
  const ch = channel(PACKET_CHANNEL)
  const on = (m: unknown): void => {
    const p = m as { type: number; data: Uint8Array }
    if (p.type === 0xff) seen.push(Buffer.from(p.data).toString())
  }
  ch.subscribe(on)
  t.teardown(() => void ch.unsubscribe(on))
  const { client } = await pair(t)
  await client.disconnect()
  const calls = seen.map((s) => s.replace(/#\d+ /, '').replace(/[\d.]+ ms/, 'N ms'))
  for (const step of [
    'call connect 11:22:33:44:55:66: started',
    'call connect: link: done in N ms',
    'call connect: MTU exchange: done in N ms',
    'call connect: discovery: done in N ms',
    'call connect 11:22:33:44:55:66: done in N ms',
    'call disconnect 11:22:33:44:55:66: done in N ms',
  ])
    t.ok(calls.includes(step), step)
})

t.test('the ring is bounded by count and by bytes; save on demand', async (t) => {
  const r = new FlightRecorder({ maxPackets: 3, maxBytes: 10, dir })
  r.start()
  const ch = channel(PACKET_CHANNEL)
  for (const n of [4, 4, 4]) ch.publish({ direction: 'rx', type: 4, data: new Uint8Array(n), timestampUs: 0n })
  t.equal(r.length, 2, '3 x 4 octets: two fit in 10')
  for (let i = 0; i < 5; i++) ch.publish({ direction: 'tx', type: 1, data: Uint8Array.of(i), timestampUs: 0n })
  t.equal(r.length, 3, 'at most 3 packets')
  t.same(
    r.entries().map((e) => e.data[0]),
    [2, 3, 4],
    'the last ones',
  )
  r.stop()
  const path = r.save(join(dir, 'on-demand.btsnoop'))
  t.ok(existsSync(path))
  if (!missing('tshark')) {
    const out = spawnSync('tshark', ['-r', path, '-n', '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' })
    t.equal(out.stdout.trim().split('\n').length, 3)
  }
  t.equal(flightRecorder().dir, dir)
})

t.test('HCIKIT_FLIGHT_RECORDER=0: no capture, the message as it was', async (t) => {
  const { client } = await pair(t, { HCIKIT_FLIGHT_RECORDER: '0' })
  const err = await client.read(client.characteristic(SECRET)).catch((e: Error) => e)
  t.equal(flightRecordingOf(err), undefined)
  t.notMatch((err as Error).message, /flight recorder/)
})
