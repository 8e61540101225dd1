/**
 * Acceptance 4 of the foundation issue, and HCIKIT_SNOOP / HCIKIT_LOG end to end: the in-memory
 * bring-up sequence (HciHost.init() against a scripted controller, in virtual time) is recorded
 * through the diagnostics channel by the same subscriber HCIKIT_SNOOP uses. The capture must equal
 * the one kept in fixtures/ byte for byte, and tshark must read it (and its pcap twin) as the
 * same packets with zero malformed frames.
 *
 * Regenerate the fixture after an intended change with `npm run fixtures` (scripts/fixtures.ts
 * records it the same way); this test only reads it, so it can always fail.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PassThrough } from 'node:stream'
import { startSnoop, startLogging, startFromEnv } from '../../src/log.ts'
import { Script, bringUp } from '../helpers/hci-script.ts'
import { missing } from '../helpers/tools.ts'

const FIXTURE = fileURLToPath(new URL('../../fixtures/bringup.btsnoop', import.meta.url))

async function recordBringUp(path: string, format?: 'pcap'): Promise<number[]> {
  const snoop = startSnoop(path, format)
  try {
    const s = new Script()
    const init = s.host.init()
    const opcodes = await bringUp(s)
    await init
    return opcodes
  } finally {
    await snoop.close()
  }
}

function tshark(file: string): string[] {
  const r = spawnSync(
    'tshark',
    [
      '-r',
      file,
      '-n',
      '-T',
      'fields',
      '-e',
      'frame.number',
      '-e',
      'hci_h4.direction',
      '-e',
      'hci_h4.type',
      '-e',
      'bthci_cmd.opcode',
      '-e',
      'bthci_evt.code',
      '-e',
      '_ws.malformed',
    ],
    { encoding: 'utf8' },
  )
  if (r.status !== 0) throw new Error(`tshark failed: ${r.stderr}`)
  return r.stdout.trim().split('\n')
}

t.test('the bring-up capture equals the fixture and tshark reads it cleanly', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hcikit-snoop-'))
  const file = join(dir, 'bringup.btsnoop')
  const opcodes = await recordBringUp(file)
  t.same(
    opcodes.map((o) => o.toString(16)),
    ['c03', '1001', '1002', '1003', '1009', 'c01', '2001', '2002', '2003'],
    'the bring-up sequence, in order',
  )
  const ours = readFileSync(file)
  t.ok(ours.equals(readFileSync(FIXTURE)), 'byte for byte the capture kept in fixtures/ (`npm run fixtures` writes it)')
  const noTshark = missing('tshark')
  if (noTshark) return void t.test('tshark reads it', { skip: noTshark }, () => {})
  const rows = tshark(file)
  t.equal(rows.length, opcodes.length * 2, 'one command and one Command Complete per step')
  rows.forEach((row, i) => {
    const [frame, dir, type, opcode, event, malformed] = row.split('\t')
    t.equal(Number(frame), i + 1)
    t.equal(malformed ?? '', '', `frame ${frame} is not malformed`)
    if (i % 2 === 0) {
      t.equal(dir, '0x00', `frame ${frame} sent by the host`)
      t.equal(type, '0x01')
      t.equal(parseInt(opcode!, 16), opcodes[i / 2])
    } else {
      t.equal(dir, '0x01', `frame ${frame} received from the controller`)
      t.equal(type, '0x04')
      t.equal(parseInt(event!, 16), 0x0e)
    }
  })
  const pcap = join(dir, 'bringup.pcap')
  await recordBringUp(pcap, 'pcap')
  t.same(tshark(pcap), rows, 'the pcap capture reads as the same packets')
})

t.test('HCIKIT_LOG prints each decoded packet', async (t) => {
  const out = new PassThrough()
  let text = ''
  out.on('data', (d: Buffer) => (text += d.toString()))
  const log = startLogging(out)
  try {
    const s = new Script()
    const init = s.host.init()
    await bringUp(s)
    await init
  } finally {
    await log.close()
  }
  const lines = text.trim().split('\n')
  t.equal(lines.length, 18)
  t.match(lines[0], /^#1 < CMD Reset \(0x0c03\)/)
  t.match(lines[1], /^#2 > EVT Command Complete \(0x0e\)/)
  t.match(text, /Read BD_ADDR/)
})

t.test('startFromEnv starts what the variables ask for, and nothing otherwise', async (t) => {
  t.same(startFromEnv({}), [])
  const dir = mkdtempSync(join(tmpdir(), 'hcikit-env-'))
  const subs = startFromEnv({ HCIKIT_SNOOP: join(dir, 'x.btsnoop') })
  t.equal(subs.length, 1)
  for (const s of subs) await s.close()
  t.equal(readFileSync(join(dir, 'x.btsnoop')).subarray(0, 8).toString('latin1'), 'btsnoop\0')
})
