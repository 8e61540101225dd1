/**
 * `hcikit twin CAPTURE [--device ADDRESS] [--out FILE]`: reconstruct a device from a capture of a
 * session with it (src/twin/build.ts: advertising, the GATT database with its handles, values
 * read, notifications with their timing; Core v5.4 Vol 3 Part C 11, Part G 3) and write it as a
 * twin file (docs/twin.schema.json) to FILE or stdout. A summary goes to stderr: the device,
 * what is complete and what is not, and the other devices the capture holds.
 *
 * The twin then runs as a peripheral: `hcikit --device FILE COMMAND` on the virtual transport,
 * `hcikit link --device FILE SPEC...`, or `startTwin()` in code.
 */
import { writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { buildTwinFromFile } from '../twin/build.ts'
import { formatTwin, type Twin } from '../twin/format.ts'
import { addressArg, out, type CliContext } from './connect-common.ts'
import { UsageError } from './usage.ts'

export const twinHelp = `usage: hcikit twin CAPTURE [--device ADDRESS] [--out FILE]

Reconstructs a device from a capture (btsnoop, pcap, pcapng) of a session with it: its
advertising and scan response, its GATT database with the handles as captured, the values that
were read, the notifications it sent and when. What the capture did not show is left out and
marked (docs/twin.schema.json). The twin runs as a virtual peripheral:
  hcikit --device twin.json gatt ADDRESS      on the virtual transport
  hcikit link --device twin.json tcp-server:127.0.0.1:9001
  --device ADDRESS   the device to twin (default: the one whose GATT server answered most)
  --out FILE         write the twin there (default: stdout)`

function summary(t: Twin): string {
  const chars = t.services.flatMap((s) => s.characteristics)
  const values = chars.filter((c) => c.value !== undefined).length
  const notes = chars.reduce((n, c) => n + (c.notifications?.length ?? 0), 0)
  const partial = t.services.filter((s) => !s.characteristicsComplete).length
  const lines = [
    `twin of ${t.device.address} (${t.device.addressType})${t.device.name ? ` "${t.device.name}"` : ''}: ` +
      `${t.services.length} services, ${chars.length} characteristics, ${values} values, ${notes} notifications`,
  ]
  if (!t.servicesComplete) lines.push('  the capture did not search every handle for services: there may be more')
  if (partial > 0) lines.push(`  ${partial} service(s) whose characteristics were not all discovered`)
  if (!t.advertising) lines.push('  no advertising seen from it: the twin advertises no data')
  return lines.join('\n')
}

export async function twinCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      device: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  })
  if (values.help) {
    out(ctx, twinHelp)
    return 0
  }
  if (positionals.length !== 1) throw new UsageError('twin needs exactly one CAPTURE', twinHelp)
  const device = values.device === undefined ? undefined : addressArg(twinHelp, values.device)
  const built = await buildTwinFromFile(positionals[0]!, { device })
  const text = formatTwin(built.twin)
  if (values.out === undefined) ctx.stdout.write(text)
  else await writeFile(values.out, text)
  const others = built.candidates.filter((c) => c.address !== built.twin.device.address && c.responses > 0)
  ctx.stderr.write(`hcikit: ${summary(built.twin)}\n`)
  if (others.length > 0)
    ctx.stderr.write(
      `  other devices answered ATT in this capture: ${others.map((c) => c.address).join(', ')} (--device ADDRESS)\n`,
    )
  return 0
}
