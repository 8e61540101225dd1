/**
 * `hcikit scan [--timeout S] [--name N] [--service UUID] [--passive] [--duplicates] [--json]`:
 * LE scanning (Core v5.4 Vol 3 Part C 9.2 observation / discovery procedures; Vol 6 Part B 4.4.3
 * passive and active scanning) with the adapter's scanner. In a terminal, a live table
 * (scan-view.ts: bounded redraw rate, sorted, scrolling, devices age out); otherwise one line per
 * device event; with `--json` one JSON object per device event (format.ts `advertisementJson`).
 * Ends after --timeout seconds, or on Ctrl-C, or when the reader of stdout quits (exit code 0).
 */
import { parseArgs } from 'node:util'
import { parseUuid } from '../../att/uuid.ts'
import type { Advertisement } from '../index.ts'
import {
  interruptible,
  negativeValues,
  openSession,
  out,
  seconds,
  usage,
  type CliContext,
  type Session,
} from './connect-common.ts'
import { advertisementJson } from './format.ts'
import { OutputGoneError } from './output.ts'
import { formatRow, header } from './scan-table.ts'
import { LiveView, type Screen } from './scan-view.ts'

export const scanHelp = `usage: hcikit scan [--timeout S] [--name N] [--service UUID] [--passive] [--duplicates] [--json]

Lists advertising devices until --timeout seconds pass or Ctrl-C.
  --timeout S       stop after S seconds (default: run until interrupted)
  --name N          only devices whose local name is N
  --service UUID    only devices advertising this service (180d, or 128-bit)
  --passive         passive scanning: no scan requests, so no scan responses
  --duplicates      report every advertisement, not only new devices and changed data
  --json            one JSON object per device event:
                    {address, addressType, rssi, name?, serviceUuids, manufacturerData,
                     serviceData, txPower?, connectable}
In a terminal the table is live: strongest first, ↑/↓ and Page Up/Down scroll, devices not
heard for 60 s leave it. Names are shown with control characters escaped (\\e, \\n, \\x07).`

const OPTIONS = {
  timeout: { type: 'string' },
  name: { type: 'string' },
  service: { type: 'string', multiple: true },
  passive: { type: 'boolean', default: false },
  duplicates: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const

/** One way of showing what the scan finds. */
interface Sink {
  add(ad: Advertisement): void
  end(): void
  /** Devices shown (for the "no devices seen" advice). */
  seen: number
}

export async function scanCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: negativeValues(argv, OPTIONS),
    options: OPTIONS,
    allowPositionals: true,
  })
  if (values.help) {
    out(ctx, scanHelp)
    return 0
  }
  if (positionals.length > 0) throw usage(scanHelp, `unexpected argument '${positionals[0]}'`)
  const timeout = seconds(scanHelp, 'timeout', values.timeout)
  const services = (values.service ?? []).map((s) => {
    try {
      return parseUuid(s)
    } catch {
      throw usage(scanHelp, `--service ${s}: not a UUID (write 180d, 0000180d or a 128-bit UUID)`)
    }
  })
  const stop = interruptible(ctx)
  const session = await openSession(ctx, { signal: stop.signal })
  const sink = values.json ? jsonSink(ctx) : isTerminal(ctx) ? liveSink(ctx, session, stop) : plainSink(ctx)
  try {
    const scan = session.adapter.scan({
      active: !values.passive,
      duplicates: values.duplicates,
      name: values.name,
      services: services.length > 0 ? services : undefined,
      timeout,
      signal: stop.signal,
    })
    for await (const ad of scan) sink.add(ad)
  } catch (e) {
    if (!stop.signal.aborted) throw e
    // Ctrl-C, the caller's signal, or the reader of stdout gone: a normal end of a scan.
  } finally {
    sink.end()
    stop.done()
    await session.close()
  }
  if (!values.json && sink.seen === 0 && !(stop.signal.reason instanceof OutputGoneError)) {
    ctx.stderr.write(
      'hcikit: no devices seen\n  hint: is anything advertising nearby? (on real hardware: is the adapter ' +
        'free? see docs/TROUBLESHOOTING.md)\n',
    )
  }
  return 0
}

function isTerminal(ctx: CliContext): boolean {
  return (ctx.stdout as { isTTY?: boolean }).isTTY === true
}

function jsonSink(ctx: CliContext): Sink {
  const sink: Sink = {
    seen: 0,
    add(ad) {
      sink.seen++
      out(ctx, JSON.stringify(advertisementJson(ad)))
    },
    end() {},
  }
  return sink
}

function plainSink(ctx: CliContext): Sink {
  out(ctx, header())
  const sink: Sink = {
    seen: 0,
    add(ad) {
      sink.seen++
      out(ctx, formatRow(ad, undefined))
    },
    end() {},
  }
  return sink
}

/** The live table; with a keyboard that is a terminal, keys scroll it (raw mode, restored at the end). */
function liveSink(ctx: CliContext, session: Session, stop: { abort(): void }): Sink {
  const view = new LiveView(ctx.stdout as unknown as Screen, { now: () => session.adapter.clock.now() })
  const stdin = ctx.stdout === process.stdout && process.stdin.isTTY ? process.stdin : undefined
  const onKey = (d: Buffer): void => {
    const k = d.toString('latin1')
    if (k === '\x03' || k === 'q') stop.abort()
    else view.key(k)
  }
  stdin?.setRawMode(true)
  stdin?.on('data', onKey)
  view.start()
  return {
    get seen() {
      return view.table.size + view.table.forgotten
    },
    add: (ad) => view.update(ad),
    end() {
      view.stop()
      stdin?.off('data', onKey)
      stdin?.setRawMode(false)
      stdin?.pause()
    },
  }
}
