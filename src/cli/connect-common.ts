/**
 * What the device commands (scan, gatt, read, write, notify, info, demo) share: the context the
 * command line gives them, opening the adapter on `--transport SPEC` (Core v5.4 Vol 4 Part E 7.3.2
 * Reset and bring-up happen in open()), and, on the `virtual` transport, the ready-made virtual
 * peripherals on the same in-process link so there is something to talk to:
 *
 *   hcikit HRM     11:22:33:44:55:01  Heart Rate (180d: 2a37 notify, 2a38 read) + Battery (180f)
 *   hcikit Sensor  11:22:33:44:55:02  custom service 8f3a0001-... (counter, label, echo) + Battery
 *
 * The CLI's virtual link runs in real time (a scan of 5 s takes 5 s, the heart rate ticks at
 * 1 Hz), like a radio. Ctrl-C (SIGINT) ends a scan or a subscription cleanly.
 */
import type { Writable } from 'node:stream'
import {
  HcikitError,
  NotFoundError,
  homeCacheStore,
  open,
  shortUuid,
  type Adapter,
  type Client,
  type PairingDelegate,
  type RemoteCharacteristic,
} from '../index.ts'
import type { CharRef } from './format.ts'
import { VirtualLink } from '../virtual/link.ts'
import { RealtimeScheduler } from '../virtual/scheduler.ts'
import { parseTransportSpec } from '../transports/index.ts'
import { startHeartRateDevice, startSensorDevice } from '../devices/index.ts'
import { loadTwin, startTwin } from '../twin/index.ts'
import type { FaultPlan } from '../faults/index.ts'
import { UsageError } from './usage.ts'
import { bondsFile } from './pairing.ts'

export interface CliContext {
  /** The transport spec (checked by main before the command runs). */
  transport: string
  log: boolean
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
  /** Answers to pairing prompts, and what `l2cap` sends (default process.stdin). */
  stdin?: NodeJS.ReadableStream
  env: NodeJS.ProcessEnv
  /** Aborts long-running commands (tests); SIGINT does the same. */
  signal?: AbortSignal
  /** Twin files (`--device TWIN`) to run beside us on the virtual transport. */
  twins?: readonly string[]
  /** `--faults FILE`: faults to inject into our adapter's packets. */
  faults?: FaultPlan | undefined
}

export const CENTRAL_ADDRESS = '11:22:33:44:55:00'
export const HRM_ADDRESS = '11:22:33:44:55:01'
export const SENSOR_ADDRESS = '11:22:33:44:55:02'

export interface Session extends AsyncDisposable {
  adapter: Adapter
  /** The virtual peripherals and twins started beside us (virtual transport only). */
  devices: ReadonlyArray<{ close(): Promise<void> }>
  close(): Promise<void>
}

/**
 * Open the adapter (and on `virtual`, start the virtual peripherals on the same link), with the
 * bonds and the GATT cache under HCIKIT_HOME (src/home.ts) and the pairing delegate of the
 * command (default Just Works).
 */
export async function openSession(
  ctx: CliContext,
  o: { devices?: boolean; signal?: AbortSignal; pairing?: PairingDelegate } = {},
): Promise<Session> {
  const spec = parseTransportSpec(ctx.transport)
  // main() already started --log / --snoop / HCIKIT_LOG / HCIKIT_SNOOP; open() must not start them again.
  const env: NodeJS.ProcessEnv = { ...ctx.env }
  delete env['HCIKIT_LOG']
  delete env['HCIKIT_SNOOP']
  const devices: Array<{ close(): Promise<void> }> = []
  let link: VirtualLink | undefined
  if ((ctx.twins?.length ?? 0) > 0 && spec.kind !== 'virtual')
    throw new UsageError('--device TWIN runs on the virtual transport (on a real radio: `hcikit link --device TWIN`)')
  if (spec.kind === 'virtual') {
    link = new VirtualLink({ seed: 1, scheduler: new RealtimeScheduler({ seed: 1 }) })
    if (o.devices ?? true) {
      try {
        // Twins (--device) take the place of the ready-made devices: the session is about them.
        for (const path of ctx.twins ?? []) devices.push(await startTwin(await loadTwin(path), { link, env }))
        if (devices.length === 0) {
          devices.push(await startHeartRateDevice({ link, address: HRM_ADDRESS }))
          devices.push(await startSensorDevice({ link, address: SENSOR_ADDRESS }))
        }
      } catch (e) {
        await Promise.all(devices.map((d) => d.close().catch(() => undefined)))
        throw e
      }
    }
  }
  let adapter: Adapter
  try {
    adapter = await open({
      transport: spec,
      env,
      link,
      address: link && CENTRAL_ADDRESS,
      name: link && 'hcikit',
      bonds: bondsFile(ctx.env),
      pairing: o.pairing,
      // The GATT cache lives between runs under HCIKIT_HOME (`hcikit cache list`, src/cache-dir.ts).
      cache: homeCacheStore(ctx.env),
      timeout: 10_000,
      signal: o.signal,
      faults: ctx.faults,
    })
  } catch (e) {
    await Promise.all(devices.map((d) => d.close().catch(() => undefined)))
    throw e
  }
  const close = async (): Promise<void> => {
    await adapter.close().catch(() => undefined)
    await Promise.all(devices.map((d) => d.close().catch(() => undefined)))
  }
  return { adapter, devices, close, [Symbol.asyncDispose]: close }
}

/**
 * An AbortSignal that fires on SIGINT (Ctrl-C), when the context's signal aborts (the caller, or
 * the reader of stdout gone), or on `abort()`; `done()` removes the handlers. A second Ctrl-C
 * while stopping exits at once.
 */
export function interruptible(ctx: CliContext): { signal: AbortSignal; abort(): void; done(): void } {
  const ac = new AbortController()
  let count = 0
  const onSigint = (): void => {
    if (++count > 1) process.exit(130)
    ac.abort(new Error('interrupted'))
  }
  const onAbort = (): void => ac.abort(ctx.signal!.reason)
  process.on('SIGINT', onSigint)
  if (ctx.signal?.aborted) ac.abort(ctx.signal.reason)
  else ctx.signal?.addEventListener('abort', onAbort, { once: true })
  return {
    signal: ac.signal,
    abort: () => ac.abort(new Error('interrupted')),
    done() {
      process.off('SIGINT', onSigint)
      ctx.signal?.removeEventListener('abort', onAbort)
    },
  }
}

/** Write one line to the context's stdout. */
export function out(ctx: CliContext, line: string): void {
  ctx.stdout.write(line + '\n')
}

/** Parse a command's options with node:util parseArgs, turning its errors into UsageError with the help. */
export function usage(help: string, message: string): UsageError {
  return new UsageError(message, help)
}

/** The longest timer Node keeps (2^31 - 1 ms, about 24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1

/** `--timeout S` (seconds, may be fractional, from 0.001 to about 24.8 days) as milliseconds. */
export function seconds(help: string, name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isFinite(n) || n <= 0) throw usage(help, `--${name} ${v}: expected a positive number of seconds`)
  const ms = Math.round(n * 1000)
  if (ms < 1) throw usage(help, `--${name} ${v}: at least 0.001 s`)
  if (ms > MAX_TIMER_MS) {
    throw usage(
      help,
      `--${name} ${v}: at most ${MAX_TIMER_MS / 1000} s (about 24.8 days); leave --${name} out to run until interrupted`,
    )
  }
  return ms
}

/** `--count N`: a whole number from 1 to 2^53 - 1. */
export function positiveInt(help: string, name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined
  if (!/^\d+$/.test(v) || Number(v) < 1 || !Number.isSafeInteger(Number(v)))
    throw usage(help, `--${name} ${v}: expected a whole number from 1 to ${Number.MAX_SAFE_INTEGER}`)
  return Number(v)
}

/**
 * The arguments with `--opt -1` written `--opt=-1` for the options that take a value, so that a
 * negative number reaches our own check (and its one-line error) instead of parseArgs' "argument
 * is ambiguous".
 */
export function negativeValues(argv: string[], options: Record<string, { type: string; short?: string }>): string[] {
  const takesValue = new Set<string>()
  for (const [name, o] of Object.entries(options)) {
    if (o.type !== 'string') continue
    takesValue.add(`--${name}`)
    if (o.short) takesValue.add(`-${o.short}`)
  }
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    const next = argv[i + 1]
    if (a === '--') {
      out.push(...argv.slice(i))
      break
    }
    if (takesValue.has(a) && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${a}=${next}`)
      i++
    } else out.push(a)
  }
  return out
}

/** A Bluetooth device address argument, "AA:BB:CC:DD:EE:FF" (any case; '-' separators too). */
export function addressArg(help: string, v: string | undefined): string {
  if (v === undefined) throw usage(help, 'no ADDRESS given')
  const a = v.trim().replace(/-/g, ':').toUpperCase()
  if (!/^([0-9A-F]{2}:){5}[0-9A-F]{2}$/.test(a))
    throw usage(help, `'${v}' is not a device address (write it as AA:BB:CC:DD:EE:FF; \`hcikit scan\` lists them)`)
  return a
}

/** `--address-type public|random`. */
export function addressTypeArg(help: string, v: string | undefined): 'public' | 'random' | undefined {
  if (v === undefined) return undefined
  if (v !== 'public' && v !== 'random') throw usage(help, `--address-type ${v}: expected public or random`)
  return v
}

/** Connect for a one-shot command (read, write, notify, gatt); a timeout says what to check. */
export async function connectTo(
  adapter: Adapter,
  address: string,
  o: { addressType?: 'public' | 'random' | undefined; noCache?: boolean; discover?: boolean; signal?: AbortSignal },
): Promise<Client> {
  try {
    return await adapter.connect(
      { address, addressType: o.addressType },
      { timeout: 10_000, discover: o.discover, cachePolicy: o.noCache ? 'off' : undefined, signal: o.signal },
    )
  } catch (e) {
    if (e instanceof HcikitError && e.code === 'NOT_FOUND' && !o.addressType) {
      throw new HcikitError(e.code, e.protocol, e.message, {
        cause: e,
        hint:
          'is it advertising and in range? `hcikit scan` shows what is around; ' +
          'with --address-type public|random hcikit connects without scanning first',
      })
    }
    if (e instanceof HcikitError && e.code === 'TIMEOUT') {
      const type = o.addressType ?? 'public'
      throw new HcikitError(
        'TIMEOUT',
        e.protocol,
        `connecting to ${address} (${type} address): no answer within 10 s`,
        {
          cause: e,
          hint:
            `is it advertising connectable and in range? If its address is ` +
            `${type === 'public' ? 'random' : 'public'}, add --address-type ` +
            `${type === 'public' ? 'random' : 'public'} (\`hcikit scan\` shows pub/rnd)`,
        },
      )
    }
    throw e
  }
}

/** A characteristic by CHAR (a UUID or a 0x handle), or a NotFound error that lists what is there. */
export function findCharacteristic(client: Client, ref: CharRef): RemoteCharacteristic {
  const db = client.database
  let c: RemoteCharacteristic | undefined
  if ('handle' in ref) {
    const a = db.at(ref.handle)
    c = a && a.kind === 'characteristic' ? a : undefined
    if (!c) {
      throw new NotFoundError(
        `${client.address} has no characteristic at handle 0x${ref.handle.toString(16).padStart(4, '0')}`,
        {
          protocol: 'att',
          hint: `\`hcikit gatt ${client.address}\` lists the handles (a characteristic's value handle or its declaration handle)`,
        },
      )
    }
    return c
  }
  try {
    c = db.characteristic(ref.uuid)
  } catch (e) {
    if (e instanceof HcikitError && e.code === 'GATT_AMBIGUOUS') {
      throw new HcikitError(e.code, e.protocol, e.message, {
        hint: `name it by its value handle instead (0x...); \`hcikit gatt ${client.address}\` lists them`,
      })
    }
    throw e
  }
  if (!c) {
    throw new NotFoundError(`${client.address} has no characteristic ${shortUuid(ref.uuid)}`, {
      protocol: 'att',
      hint: `\`hcikit gatt ${client.address}\` lists its characteristics`,
    })
  }
  return c
}

export type { Writable }
