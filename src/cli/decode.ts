/**
 * `hcikit decode FILE [--json]`: decode a capture (btsnoop, pcap or pcapng, recognised by its
 * magic bytes) one record per line, btmon-like, or as one JSON object per record.
 */
import { parseArgs } from 'node:util'
import { openCapture } from '../capture-file.ts'
import { TraceDecoder, formatRecord } from '../decoder.ts'
import type { CliContext } from './connect-common.ts'
import { LineOutput } from './output.ts'
import { UsageError } from './usage.ts'

export const decodeHelp = `usage: hcikit decode FILE [--json]

Decodes a btsnoop (datalink 1001, 1002, 2001), pcap or pcapng (link type 201) capture.
  --json   one JSON object per record (frame, dir, type, opcode/event/subevent, name,
           reports, handle, l2cap, att, smp, signaling, error)`

export async function decodeCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  })
  if (values.help) {
    ctx.stdout.write(decodeHelp + '\n')
    return 0
  }
  if (positionals.length !== 1) throw new UsageError('decode needs exactly one FILE', decodeHelp)
  const out = new LineOutput(ctx.stdout)
  const decoder = new TraceDecoder()
  for await (const rec of openCapture(positionals[0]!)) {
    const d = decoder.decode(rec)
    await out.line(values.json ? JSON.stringify(d) : formatRecord(d))
    if (out.closed || ctx.signal?.aborted) break
  }
  await out.flush()
  return 0
}
