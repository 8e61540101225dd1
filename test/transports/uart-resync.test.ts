/**
 * UART resynchronisation (issue 6, acceptance 2), through a real pty pair (socat) with a virtual
 * controller served on the far end by src/virtual/serve.ts's startSession, and a seam on that
 * end that puts bytes into what the host reads:
 * - stale bytes at open (before the open, and between the open's flush and the controller's
 *   answer to the synchronising Reset) are skipped; init() then completes;
 * - garbage injected mid-stream is a framing error; the transport resets the controller, hunts
 *   for the Reset's Command Complete (Core v5.4 Vol 4 Part E 7.7.14), tells the host with a
 *   Hardware Error event (7.7.16), and init() completes again on the same transport.
 * Expected bytes are written by hand from Vol 4 Part A 2 and Part E 7.3.2.
 */
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HciHost } from '../../hci/host.ts'
import { ReadBdAddr } from '../../hci/commands.ts'
import type { HciEvent } from '../../hci/events.ts'
import { startSession, type ServeObserver } from '../../src/virtual/serve.ts'
import { openUart } from '../../src/transports/uart.ts'
import { ResetCompleteHunter, RESYNC_HARDWARE_CODE } from '../../src/transports/h4-stream.ts'
import { WAIT_MS, ptyEnd, ptyPair, realClock, virtualController, within } from './helpers.ts'
import { missing } from '../helpers/tools.ts'

t.setTimeout(120_000)
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

t.test('ResetCompleteHunter finds 04 0E 04 xx 03 0C xx however the bytes are cut', async (t) => {
  // A Command Complete for Reset (credits 1, status 0) and then more bytes: the match ends
  // right after its status byte, at 7, wherever the stream is cut.
  const stream = hex('04 0e 04 01 03 0c 00 02 04 0e 04 05 03 0c 00 04 0e')
  for (let cut = 0; cut <= stream.length; cut++) {
    const h = new ResetCompleteHunter()
    const a = h.push(stream.subarray(0, cut))
    const end =
      a >= 0
        ? a
        : (() => {
            const b = h.push(stream.subarray(cut))
            return b < 0 ? -1 : cut + b
          })()
    t.equal(end, 7, `cut at ${cut}`, { diagnostic: false })
  }
  const h = new ResetCompleteHunter()
  t.equal(h.push(hex('04 0e 04 01 03 0d 00 04 0e 04 01 02 0c 00')), -1, 'other opcodes do not match')
  t.equal(h.push(hex('0e 04 01 03 0c 00')), -1, 'no type byte, no match')
})

t.test(
  'stale bytes at open and garbage mid-stream do not stop the session',
  { skip: missing('socat') }, // skipped without it, a failure under CI (test/helpers/tools.ts)
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'hcikit-uart-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const { a, b } = await ptyPair(t, dir)
    const far = ptyEnd(b)
    t.teardown(() => far.destroy())

    // Before the host opens its side: the tail of an earlier session (half an LE Meta event and
    // noise). The open flushes the OS buffer; whatever arrives later is hunted past.
    const early = hex('04 3e 0c 02 01 00 ff 17 00 00')
    far.writeRaw(early)

    const controller = virtualController(t)
    const commands: string[] = []
    const observer: ServeObserver = {
      packet: (dir, p) => {
        if (dir === 'tx' && p.type === 1) commands.push(Buffer.from(p.data.subarray(0, 2)).toString('hex'))
      },
    }
    // Between the open's flush and the answer to its Reset: more stale bytes (an ACL packet cut
    // short, and an event header), in front of the controller's first answer.
    const stale = hex('02 40 00 1b 00 17 00 04 00 1b 2a 00 04 ff')
    far.prefixNextWrite(stale)
    startSession(far, controller, observer)

    const sync: string[] = []
    const transport = await openUart(a, {
      baudRate: 1_000_000,
      timeout: WAIT_MS,
      onSyncEvent: (e) =>
        sync.push(e.kind === 'lost' ? `lost: ${e.error.message}` : `recovered after ${e.droppedBytes} bytes`),
    })
    t.teardown(() => transport.close())
    t.same(commands, ['030c'], 'the open sent one HCI_Reset')
    // The early bytes are normally flushed at open; if socat relayed them only after the flush,
    // the hunt skipped them too. Either way nothing else was dropped.
    const dropped = transport.stats.droppedBytes
    t.ok(
      dropped === stale.length + 7 || dropped === early.length + stale.length + 7,
      `dropped ${dropped}: the stale bytes and the Reset answer, nothing else`,
    )
    t.same(sync, [`recovered after ${dropped} bytes`], 'one synchronisation at open')

    const host = new HciHost(transport, { clock: realClock })
    const events: HciEvent[] = []
    host.onEvent((e) => events.push(e))
    const info = await within(host.init(), 'init() after a stale open')
    t.equal(info.address, controller.address, 'init() completes: the stale bytes never reached the host')
    t.equal(host.stats.eventDecodeErrors, 0)

    // Mid-stream garbage: bytes that are no H4 packet type, between two packets.
    const hardwareError = new Promise<HciEvent>((resolve) =>
      host.onEvent((e) => e.key === 'HardwareError' && resolve(e)),
    )
    const resetsBefore = commands.filter((c) => c === '030c').length
    far.writeRaw(hex('ff ff 00 c3 7e'))
    // A command sent now is discarded (or its answer dropped) while the transport resets the
    // controller; the Hardware Error fails it in the host.
    const lost = host.send(ReadBdAddr, {}).then(
      () => undefined,
      (e: unknown) => e,
    )
    const he = await within(hardwareError, 'the Hardware Error that announces the resynchronisation')
    t.match(he, { key: 'HardwareError', params: { hardwareCode: RESYNC_HARDWARE_CODE } })
    t.match(await lost, { code: 'HCI_HARDWARE_ERROR' }, 'the command caught in the resync fails, it does not hang')
    t.equal(
      sync[1],
      'lost: unknown H4 packet type 0xff at stream offset ' + sync[1]!.split(' ').pop(),
      'the loss of sync is reported with the byte',
    )
    t.match(sync[2], /^recovered after \d+ bytes$/)
    t.equal(transport.stats.resyncs, 1)
    t.equal(
      commands.filter((c) => c === '030c').length,
      resetsBefore + 1,
      'the transport sent one Reset to resynchronise',
    )

    const again = await within(host.init(), 'init() after the resynchronisation')
    t.equal(again.address, controller.address, 'the session goes on: init() completes on the same transport')
    const addr = await within(host.send(ReadBdAddr, {}), 'Read BD_ADDR')
    t.equal(addr.bdAddr, controller.address, 'commands are answered again')
    t.equal(transport.stats.resyncs, 1, 'no further loss of sync')
  },
)

t.test(
  'no answer to the synchronising Reset: the error says what to check',
  { skip: missing('socat') }, // skipped without it, a failure under CI (test/helpers/tools.ts)
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'hcikit-uart-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const { a, b } = await ptyPair(t, dir)
    const far = ptyEnd(b) // nobody answers on the far side
    t.teardown(() => far.destroy())
    await t.rejects(openUart(a, { baudRate: 921600, timeout: 300 }), {
      name: 'TransportError',
      message: /no answer to HCI_Reset within 300 ms/,
      hint: /baud rate .*921600.*,noflow/,
    })
    await t.rejects(openUart(join(dir, 'missing')), { name: 'TransportError', hint: /no serial port at/ })
  },
)
