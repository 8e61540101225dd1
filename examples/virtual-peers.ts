/**
 * For the examples: when they run on the virtual link (the default: no --transport and no
 * HCIKIT_TRANSPORT), put a few ready-made virtual peripherals on it so there is something to
 * find. On real hardware this does nothing and the examples talk to what is around.
 */
import { createVirtualLink, type VirtualLink } from '../src/index.ts'
import {
  startHeartRateDevice,
  startSensorDevice,
  startBatteryDevice,
  type VirtualDevice,
} from '../src/devices/index.ts'

export interface ExampleOptions {
  /** Transport spec (default: the first command-line argument, HCIKIT_TRANSPORT, else 'virtual'). */
  transport?: string
  /** Where lines go (default console.log). */
  log?: (line: string) => void
}

export interface Peers extends AsyncDisposable {
  transport: string
  /** The virtual link, when the transport is virtual. */
  link?: VirtualLink
  devices: VirtualDevice[]
}

export async function peers(
  o: ExampleOptions,
  which: readonly ('hrm' | 'sensor' | 'battery')[] = ['hrm', 'sensor'],
): Promise<Peers> {
  const transport = o.transport ?? process.argv[2] ?? process.env['HCIKIT_TRANSPORT'] ?? 'virtual'
  const devices: VirtualDevice[] = []
  const close = async (): Promise<void> => {
    for (const d of devices) await d.close()
  }
  if (transport !== 'virtual') return { transport, devices, [Symbol.asyncDispose]: close }
  const link = createVirtualLink()
  for (const w of which) {
    if (w === 'hrm') devices.push(await startHeartRateDevice({ link, name: 'Polar H10' }))
    if (w === 'sensor') devices.push(await startSensorDevice({ link }))
    if (w === 'battery') devices.push(await startBatteryDevice({ link }))
  }
  return { transport, link, devices, [Symbol.asyncDispose]: close }
}

/** Run `main` when the file is the program (node examples/x.ts), not when a test imports it. */
export function runIfMain(url: string, main: () => Promise<unknown>): void {
  const argv1 = process.argv[1]
  if (argv1 === undefined || !url.endsWith(argv1.replace(/\\/g, '/').replace(/^.*\/examples\//, '/examples/'))) return
  main().catch((err: unknown) => {
    const e = err as { message?: string; hint?: string }
    console.error(`error: ${e.message ?? String(err)}${e.hint ? `\nhint: ${e.hint}` : ''}`)
    process.exitCode = 1
  })
}
