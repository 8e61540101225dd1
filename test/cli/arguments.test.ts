/**
 * Bad numbers and writes that cannot be meant (issue 13 items 9 and 10): timeouts past what a
 * Node timer holds (2^31 - 1 ms) and negative or tiny numbers are usage errors in hcikit's own
 * one line (exit 2), never Node's "argument is ambiguous" or a TimeoutOverflowWarning; a write of
 * nothing, of more than an attribute holds (512 octets, Core v5.4 Vol 3 Part F 3.2.9) or
 * without response to a characteristic that does not take it is refused before it is sent.
 */
import t from 'tap'
import { SENSOR_ECHO, SENSOR_LABEL } from '../../src/devices/index.ts'
import { HRM, SENSOR, errorLines, run } from './run.ts'

t.test('timeouts and counts out of range are one-line usage errors', async (t) => {
  const warnings: Error[] = []
  const onWarning = (w: Error): void => void warnings.push(w)
  process.on('warning', onWarning)
  t.teardown(() => void process.off('warning', onWarning))
  const cases: [string[], RegExp][] = [
    [['scan', '--timeout', '99999999999'], /^hcikit: --timeout 99999999999: at most 2147483.647 s/],
    [['scan', '--timeout', '2147484'], /at most 2147483.647 s/],
    [['notify', HRM, '2a37', '--timeout', '1e308'], /^hcikit: --timeout 1e308: at most/],
    [['scan', '--timeout', '-1'], /^hcikit: --timeout -1: expected a positive number of seconds$/],
    [['scan', '--timeout', '-.5'], /^hcikit: --timeout -.5: expected a positive number/],
    [['scan', '--timeout', '0.0001'], /^hcikit: --timeout 0.0001: at least 0.001 s/],
    [['scan', '--timeout', 'Infinity'], /expected a positive number/],
    [['notify', HRM, '2a37', '--count', '-1'], /^hcikit: --count -1: expected a whole number from 1/],
    [
      ['notify', HRM, '2a37', '--count', '99999999999999999999'],
      /--count 99999999999999999999: expected a whole number/,
    ],
    [['demo', '--count', '-3'], /^hcikit: --count -3: expected a whole number/],
  ]
  for (const [args, re] of cases) {
    const r = await run(args)
    t.equal(r.code, 2, `${args.join(' ')}: exit 2`)
    t.match(errorLines(r.stderr).message, re, args.join(' '))
    t.notMatch(r.stderr, /ambiguous/)
    t.equal(r.stdout, '', 'nothing started')
  }
  t.same(
    warnings.map((w) => w.name),
    [],
    'no TimeoutOverflowWarning',
  )
  const ok = await run(['scan', '--timeout', '0.3', '--json'])
  t.equal(ok.code, 0, 'a fractional timeout still works')
})

t.test('writes refused before they are sent (exit 2); --force and --allow-empty say "I mean it"', async (t) => {
  for (const empty of ['', '0x', ':', ' ']) {
    const r = await run(['write', SENSOR, SENSOR_LABEL, empty])
    t.equal(r.code, 2, `${JSON.stringify(empty)}: exit 2`)
    t.match(errorLines(r.stderr).message, /is no bytes at all: add --allow-empty/)
  }
  const allowed = await run(['write', SENSOR, SENSOR_LABEL, '', '--allow-empty'])
  t.equal(allowed.code, 0, allowed.stderr)
  t.match(allowed.lines[0], /^wrote 0 bytes to /)

  const huge = await run(['write', SENSOR, SENSOR_LABEL, '00'.repeat(513)])
  t.equal(huge.code, 2)
  t.match(errorLines(huge.stderr).message, /513 bytes: an attribute value has at most 512/)
  t.equal(huge.stdout, '')

  const notTaken = await run(['write', SENSOR, SENSOR_ECHO, '01', '--without-response'])
  t.equal(notTaken.code, 2, 'echo takes Write Requests only')
  const e = errorLines(notTaken.stderr)
  t.match(e.message, /@0x[0-9a-f]{4} does not take Write Without Response/)
  t.match(e.hint, /--force/)
  const forced = await run(['write', SENSOR, SENSOR_ECHO, '01', '--without-response', '--force'])
  t.equal(forced.code, 0, forced.stderr)
  t.match(forced.lines[0], /^wrote 1 byte .*\(without response\)$/)
})

t.test('a Write Without Response longer than ATT_MTU-3 is refused, with the MTU in the message', async (t) => {
  const gatt = await run(['gatt', SENSOR, '--json'])
  const mtu = (JSON.parse(gatt.lines[0]!) as { mtu: number }).mtu
  if (mtu - 2 > 512) return t.plan(0, `ATT_MTU ${mtu}: every value up to 512 fits one Write Without Response`)
  const r = await run(['write', SENSOR, SENSOR_LABEL, '00'.repeat(mtu - 2), '--without-response'])
  t.equal(r.code, 2)
  t.match(errorLines(r.stderr).message, `${mtu - 2} bytes do not fit one Write Without Response at ATT_MTU ${mtu}`)
})
