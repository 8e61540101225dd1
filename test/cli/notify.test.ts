/** `hcikit notify ADDRESS CHAR` against the virtual heart-rate monitor (1 Hz) and sensor. */
import t from 'tap'
import { SENSOR_COUNTER } from '../../src/devices/index.ts'
import { HRM, SENSOR, base, errorLines, run } from './run.ts'

t.test('--count N --json: N objects with the measurement bytes', async (t) => {
  const r = await run(['notify', HRM, '2a37', '--count', '2', '--json'])
  t.equal(r.code, 0, r.stderr)
  t.equal(r.lines.length, 2)
  for (const l of r.lines) {
    const o = JSON.parse(l) as Record<string, unknown>
    t.same(Object.keys(o).sort(), ['address', 'handle', 'uuid', 'value'])
    t.equal(o['address'], HRM)
    t.equal(o['uuid'], base('2a37'))
    // Flags 0x06 (uint8 rate, sensor contact detected), then a rate near 72.
    t.match(o['value'], /^06[0-9a-f]{2}$/)
    const bpm = parseInt((o['value'] as string).slice(2), 16)
    t.ok(bpm >= 66 && bpm <= 78, `rate ${bpm} near 72`)
  }
})

t.test('text output; counter values go up by one', async (t) => {
  const r = await run(['notify', SENSOR, SENSOR_COUNTER, '--count', '2'])
  t.equal(r.code, 0, r.stderr)
  // The counter (uint32 LE) ticks in real time from the device's start: on a loaded machine the
  // subscription may come a tick or more late, so the first value is any; the next is one more.
  t.equal(r.lines.length, 2)
  const [a, b] = r.lines.map((l) => Buffer.from(l, 'hex').readUInt32LE(0))
  t.ok(a! >= 1, `the first value (${a}) is a tick of the counter`)
  t.equal(b, a! + 1, 'the second is the next tick')
  t.match(r.stderr, 'subscribed to')
})

t.test(
  '--timeout with --count not reached: exit 1; a characteristic that does not notify: exit 1 with a hint',
  async (t) => {
    const short = await run(['notify', HRM, '2a37', '--count', '5', '--timeout', '0.3'])
    t.equal(short.code, 1)
    t.match(
      errorLines(
        short.stderr
          .split('\n')
          .filter((l) => !l.startsWith('subscribed'))
          .join('\n'),
      ).message,
      /^hcikit: 0 of 5 values arrived within 0.3 s/,
    )
    const plain = await run(['notify', HRM, '2a38'])
    t.equal(plain.code, 1)
    const e = errorLines(plain.stderr)
    t.match(e.message, 'neither notifies nor indicates')
    t.match(e.hint, 'hcikit read')
  },
)

t.test('--timeout alone ends the subscription with exit 0', async (t) => {
  const r = await run(['notify', HRM, '2a37', '--timeout', '1.5'])
  t.equal(r.code, 0, r.stderr)
  t.equal(r.lines.length, 1, 'one value at 1 s')
})
