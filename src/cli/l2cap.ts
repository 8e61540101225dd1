/**
 * `hcikit l2cap ADDRESS PSM [--mtu N] [--credits N] [--address-type T] [--wait S]`: connect, open
 * an LE credit-based channel to PSM (Core v5.4 Vol 3 Part A 4.22 LE Credit Based Connection
 * Request, 10.1 credit based flow control) and pipe: what stdin gives goes out as SDUs (each read
 * cut at the peer's MTU), each SDU that arrives is written to stdout as it is. Like netcat for
 * L2CAP, e.g. `echo hello | hcikit l2cap C0:11:22:33:44:55 0x80 --wait 1`.
 *
 * Back-pressure both ways: stdin is read only as fast as the peer's credits allow, and while
 * stdout is full no credits go back, so the peer waits. The run ends when the peer closes the
 * channel (exit 0), the link is lost (exit 1, with the reason), Ctrl-C (exit 0), or `--wait S`
 * seconds after stdin ended (without it: it keeps receiving until the peer closes or Ctrl-C).
 * A status line goes to stderr; stdout carries the channel's bytes only.
 */
import { once } from 'node:events'
import { parseArgs } from 'node:util'
import type { CreditChannel } from '../index.ts'
import {
  addressArg,
  addressTypeArg,
  connectTo,
  interruptible,
  openSession,
  out,
  positiveInt,
  seconds,
  usage,
  type CliContext,
} from './connect-common.ts'

export const l2capHelp = `usage: hcikit l2cap ADDRESS PSM [--mtu N] [--credits N] [--wait S] [--address-type public|random]

Opens an LE credit-based channel to PSM (0x80..0xff for your own services, 1..0x7f SIG-assigned)
and pipes: stdin goes out (cut into SDUs of at most the peer's MTU), what arrives goes to stdout.
  --mtu N           the largest SDU we accept (23..65535, default 2048)
  --credits N       how many K-frames the peer may send ahead (1..65535, default 16)
  --wait S          after stdin ends, keep receiving for S seconds, then close (default: until
                    the peer closes the channel or Ctrl-C)
  --address-type T  public or random (default: what a scan sees)`

/** `0x80`, `128`: an LE PSM. */
function psmArg(v: string | undefined): number {
  if (v === undefined) throw usage(l2capHelp, 'no PSM given')
  const n = /^0x[0-9a-f]+$/i.test(v) ? Number.parseInt(v.slice(2), 16) : /^\d+$/.test(v) ? Number(v) : Number.NaN
  if (!(n >= 1 && n <= 0xff)) throw usage(l2capHelp, `'${v}' is not an LE PSM (1..255, e.g. 0x80)`)
  return n
}

export async function l2capCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      mtu: { type: 'string' },
      credits: { type: 'string' },
      wait: { type: 'string' },
      'address-type': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  })
  if (values.help) {
    out(ctx, l2capHelp)
    return 0
  }
  if (positionals.length !== 2)
    throw usage(
      l2capHelp,
      positionals.length < 2 ? 'l2cap needs ADDRESS and PSM' : `unexpected argument '${positionals[2]}'`,
    )
  const address = addressArg(l2capHelp, positionals[0])
  const psm = psmArg(positionals[1])
  const mtu = positiveInt(l2capHelp, 'mtu', values.mtu)
  const credits = positiveInt(l2capHelp, 'credits', values.credits)
  const wait = seconds(l2capHelp, 'wait', values.wait)
  const addressType = addressTypeArg(l2capHelp, values['address-type'])
  const stop = interruptible(ctx)
  const session = await openSession(ctx, { signal: stop.signal })
  try {
    await using client = await connectTo(session.adapter, address, {
      addressType,
      discover: false,
      signal: stop.signal,
    })
    const channel = await client.openChannel(psm, { mtu, credits, timeout: 10_000, signal: stop.signal })
    ctx.stderr.write(
      `l2cap: PSM 0x${psm.toString(16).padStart(4, '0')} open to ${client.address} (our MTU ${channel.mtu}, theirs ${channel.peerMtu})\n`,
    )
    const ended = pump(ctx, channel, wait, stop.signal)
    const onStop = (): void => void channel.disconnect()
    stop.signal.addEventListener('abort', onStop, { once: true })
    try {
      await ended
    } finally {
      stop.signal.removeEventListener('abort', onStop)
    }
    const reason = channel.closeReason as (Error & { code?: string }) | undefined
    if (reason && reason.code !== 'CHANNEL_CLOSED' && !stop.signal.aborted) throw reason
    return 0
  } finally {
    stop.done()
    await session.close()
  }
}

/** Both directions until the channel ends (or `wait` ms after stdin ended). */
async function pump(
  ctx: CliContext,
  channel: CreditChannel,
  wait: number | undefined,
  signal: AbortSignal,
): Promise<void> {
  const received = (async () => {
    for await (const sdu of channel) {
      if (!ctx.stdout.write(sdu as Uint8Array)) await once(ctx.stdout, 'drain')
    }
  })().catch(() => undefined)
  const stdin = ctx.stdin ?? process.stdin
  const sent = (async () => {
    for await (const chunk of stdin) {
      if (channel.state !== 'open' || signal.aborted) break
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array)
      for (let at = 0; at < bytes.length; at += channel.peerMtu) {
        if (!channel.write(bytes.subarray(at, at + channel.peerMtu))) await once(channel, 'drain')
      }
    }
    // Every SDU handed to the controller before the wait starts.
    if (channel.state === 'open') await new Promise<void>((resolve) => channel.end(() => resolve()))
  })().catch(() => undefined)
  let closing: Promise<void> | undefined
  await Promise.race([received, sent.then(() => (closing = afterStdin(channel, wait, received)))])
  // Closing after stdin ended: wait for the peer's Disconnection Response (everything before it arrived).
  if (closing)
    await closing
    // The channel may end first: stop reading stdin (a terminal would keep the process alive).
  ;(stdin as { destroy?: () => void }).destroy?.()
}

async function afterStdin(channel: CreditChannel, wait: number | undefined, received: Promise<void>): Promise<void> {
  if (wait === undefined || channel.state !== 'open') return received
  let timer: NodeJS.Timeout | undefined
  await Promise.race([received, new Promise<void>((resolve) => (timer = setTimeout(resolve, wait)))])
  clearTimeout(timer)
  if (channel.state === 'open') await channel.disconnect()
  await received
}
