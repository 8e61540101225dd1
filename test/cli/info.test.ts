/** `hcikit info` on the virtual controller (Core 5.4, company 0xFFFF, 8 x 251 LE buffers). */
import t from 'tap'
import { run } from './run.ts'

t.test('--json and text', async (t) => {
  const r = await run(['info', '--json'])
  t.equal(r.code, 0, r.stderr)
  const o = JSON.parse(r.lines[0]!) as Record<string, unknown>
  t.equal(o['address'], '11:22:33:44:55:00')
  t.equal(o['hciVersion'], 0x0d)
  t.equal(o['hciVersionName'], '5.4')
  t.equal(o['manufacturer'], 0xffff)
  t.same(
    o['buffers'],
    { le: { length: 251, count: 8 }, iso: { length: 0, count: 0 } },
    'LE Read Buffer Size v2: no ISO buffers',
  )
  t.ok((o['leFeatures'] as string[]).includes('LE Encryption'))
  t.ok((o['supportedCommands'] as string[]).includes('LE Set Scan Enable'))
  t.match(o['supportedCommandBits'], /^[0-9a-f]{128}$/)
  t.ok((o['supportedCommandCount'] as number) >= (o['supportedCommands'] as string[]).length)
  const text = await run(['info'])
  t.equal(text.code, 0)
  t.match(text.stdout, /address\s+11:22:33:44:55:00/)
  t.match(text.stdout, /HCI version\s+5\.4 \(0x0d\)/)
  t.match(text.stdout, /ACL buffers\s+LE 8 x 251 bytes/)
})
