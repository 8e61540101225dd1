/**
 * Acceptance 2 of issue 15, a scripted session under "drop every 10th ACL packet"
 * (src/faults/ through `open({ faults })`), on a virtual link in virtual time against the
 * ready-made sensor device: ATT has no retransmission (Core v5.4 Vol 3 Part F 3.3.2), so a lost
 * request or response leaves the call waiting; every call fails within its timeout with a typed
 * error (no hang, nothing thrown untyped), the adapter stays usable, and once the faults stop
 * (the rule's `limit`) the same session recovers: it connects, discovers and reads again.
 * Every fault is listed by `adapter.injectedFaults`, marked in the session's capture as a note
 * record (which tshark opens), and shown in the flight recording a failed call left.
 */
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { open, createVirtualLink, flightRecordingOf, HcikitError } from '../../src/index.ts'
import { readCapture } from '../../hci/snoop.ts'
import { noteText } from '../../src/notes.ts'
import { createReadStream } from 'node:fs'
import { startSensorDevice, SENSOR_COUNTER } from '../../src/devices/index.ts'
import { startSnoop } from '../../src/log.ts'
import { missing } from '../helpers/tools.ts'

const SENSOR = '11:22:33:44:55:02'

t.test('drop every 10th ACL packet: typed failures while it lasts, recovery after', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hcikit-faults-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const capture = join(dir, 'session.btsnoop')
  const snoop = startSnoop(capture)
  const link = createVirtualLink()
  const device = await startSensorDevice({ link, address: SENSOR })
  const central = await open({
    link,
    address: '02:00:00:00:00:01',
    cache: false,
    faults: { rules: [{ name: 'every 10th ACL', packet: 'acl', every: 10, limit: 3, action: 'drop' }] },
  })
  const failures: HcikitError[] = []
  let reads = 0
  let rounds = 0
  while (reads < 20 && rounds < 10) {
    rounds++
    try {
      await using client = await central.connect({ address: SENSOR, addressType: 'public' }, { timeout: 3000 })
      for (let i = 0; i < 10; i++) {
        await client.read(client.characteristic(SENSOR_COUNTER), { timeout: 3000 })
        reads++
      }
    } catch (e) {
      t.type(e, HcikitError, `round ${rounds}: a typed error`)
      failures.push(e as HcikitError)
    }
  }
  t.ok(failures.length >= 1, `${failures.length} call(s) failed while packets were lost`)
  for (const f of failures) t.match(f, { code: /^(TIMEOUT|ATT_TIMEOUT|ATT_CLOSED|DISCONNECTED)$/, message: /./ })
  t.equal(reads, 20, 'after the third fault the session connects and reads again')
  t.equal(central.state, 'open', 'the adapter stayed usable')
  t.equal(central.injectedFaults.length, 3, 'adapter.injectedFaults: the three drops, in order')
  for (const f of central.injectedFaults)
    t.match(f, { rule: 0, name: 'every 10th ACL', action: 'drop', packet: /^(tx|rx) ACL handle 0x[0-9a-f]{4}/ })
  // The first failed call's flight recording holds the fault that caused it, as a note record.
  const recording = flightRecordingOf(failures[0])
  t.ok(recording, `the failure names a flight recording: ${failures[0]?.message}`)
  const noted: string[] = []
  for await (const r of readCapture(createReadStream(recording!)))
    if (r.packetType === 0xff) noted.push(noteText(r.data))
  t.ok(
    noted.some((n) => n.startsWith('fault (every 10th ACL): dropped')),
    'the recording shows the fault before the failure',
  )
  await central.close()
  await device.close()
  await snoop.close()
  if (missing('tshark')) return
  const r = spawnSync('tshark', ['-r', capture, '-n', '-Y', 'hci_h4.type == 0xff', '-T', 'fields', '-e', 'data.data'], {
    encoding: 'utf8',
  })
  t.equal(r.status, 0, 'tshark opens the capture')
  const notes = r.stdout
    .split('\n')
    .filter(Boolean)
    .map((h) => Buffer.from(h.replace(/:/g, ''), 'hex').toString('utf8'))
    .filter((s) => s.startsWith('fault'))
  t.equal(notes.length, 3, 'each fault is marked in the capture')
  t.match(notes[0], /^fault \(every 10th ACL\): dropped (tx|rx) ACL handle 0x[0-9a-f]{4}/)
})
