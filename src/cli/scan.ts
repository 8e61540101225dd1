/**
 * `hcikit scan [--timeout S] [--name N] [--service UUID] [--passive] [--duplicates] [--json]`:
 * LE scanning (Core v5.4 Vol 3 Part C 9.2 observation / discovery procedures; Vol 6 Part B 4.4.3
 * passive and active scanning) with the adapter's scanner. In a terminal, a live table (name,
 * address, RSSI with a bar, services, last seen); otherwise one line per device event; with
 * `--json` one JSON object per device event (format.ts `advertisementJson`).
 * Ends after --timeout seconds, or on Ctrl-C (exit code 0 either way).
 */
import { parseArgs } from 'node:util'
import { parseUuid, shortUuid } from '../../att/uuid.ts'
import type { Advertisement } from '../index.ts'
import { interruptible, openSession, out, seconds, usage, type CliContext } from './connect-common.ts'
import { advertisementJson, rssiBar } from './format.ts'

export const scanHelp = `usage: hcikit scan [--timeout S] [--name N] [--service UUID] [--passive] [--duplicates] [--json]

Lists advertising devices until --timeout seconds pass or Ctrl-C.
  --timeout S       stop after S seconds (default: run until interrupted)
  --name N          only devices whose local name is N
  --service UUID    only devices advertising this service (180d, or 128-bit)
  --passive         passive scanning: no scan requests, so no scan responses
  --duplicates      report every advertisement, not only new devices and changed data
  --json            one JSON object per device event:
                    {address, addressType, rssi, name?, serviceUuids, manufacturerData,
                     serviceData, txPower?, connectable}`

interface Row {
  ad: Advertisement
  seenAt: number
}

export async function scanCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      timeout: { type: 'string' },
      name: { type: 'string' },
      service: { type: 'string', multiple: true },
      passive: { type: 'boolean', default: false },
      duplicates: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
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
  const tty = !values.json && (ctx.stdout as { isTTY?: boolean }).isTTY === true
  const rows = new Map<string, Row>()
  let drawn = 0
  const draw = (): void => {
    const now = session.adapter.clock.now()
    const lines = table([...rows.values()], now)
    ctx.stdout.write((drawn > 0 ? `\x1b[${drawn}A` : '') + lines.map((l) => `\x1b[2K${l}\n`).join(''))
    drawn = lines.length
  }
  let redraw: NodeJS.Timeout | undefined
  if (tty) redraw = setInterval(draw, 500)
  try {
    if (!values.json && !tty) out(ctx, header())
    for await (const ad of session.adapter.scan({
      active: !values.passive,
      duplicates: values.duplicates,
      ...(values.name !== undefined ? { name: values.name } : {}),
      ...(services.length ? { services } : {}),
      ...(timeout !== undefined ? { timeout } : {}),
      signal: stop.signal,
    })) {
      if (values.json) out(ctx, JSON.stringify(advertisementJson(ad)))
      else {
        rows.set(`${ad.addressType}/${ad.address}`, { ad, seenAt: ad.timestamp })
        if (tty) draw()
        else out(ctx, formatRow(ad, undefined))
      }
    }
  } catch (e) {
    if (!stop.signal.aborted) throw e
    // Ctrl-C (or the caller's signal): a normal end of a scan.
  } finally {
    if (redraw) clearInterval(redraw)
    stop.done()
    if (tty) draw()
    await session.close()
  }
  if (!values.json && rows.size === 0) {
    ctx.stderr.write(
      'hcikit: no devices seen\n  hint: is anything advertising nearby? (on real hardware: is the adapter ' +
        'free? see docs/TROUBLESHOOTING.md)\n',
    )
  }
  return 0
}

const COLS = { name: 20, address: 24, rssi: 14, services: 30 }

function pad(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s.padEnd(n)
}

function header(): string {
  return `${pad('NAME', COLS.name)} ${pad('ADDRESS', COLS.address)} ${pad('RSSI', COLS.rssi)} ${pad('SERVICES', COLS.services)} LAST SEEN`
}

function formatRow(ad: Advertisement, ago: number | undefined): string {
  const rssi = ad.rssi === 127 ? 'n/a' : `${ad.rssi} ${rssiBar(ad.rssi)}`
  const services = ad.ad.serviceUuids.map(shortUuid).join(',') || '-'
  const seen = ago === undefined ? 'now' : ago < 1000 ? 'now' : `${Math.round(ago / 1000)}s ago`
  return (
    `${pad(ad.name ?? '(no name)', COLS.name)} ` +
    `${pad(`${ad.address} ${ad.addressType === 'random' ? 'rnd' : 'pub'}`, COLS.address)} ` +
    `${pad(rssi, COLS.rssi)} ${pad(services, COLS.services)} ${seen}`
  )
}

function table(rows: Row[], now: number): string[] {
  const sorted = rows.sort((a, b) => b.ad.rssi - a.ad.rssi || a.ad.address.localeCompare(b.ad.address))
  return [
    header(),
    ...sorted.map((r) => formatRow(r.ad, now - r.seenAt)),
    `${rows.length} device${rows.length === 1 ? '' : 's'} (Ctrl-C to stop)`,
  ]
}
