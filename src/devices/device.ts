/**
 * What every ready-made virtual peripheral shares: its own adapter (on a virtual link by
 * default), a served GATT database, connectable advertising that restarts after a central
 * leaves (Core v5.4 Vol 3 Part C 9.3.4 general connectable mode), and a periodic tick on the
 * adapter's clock (virtual time on a virtual link) that stops when the device closes.
 * Built on the public API only (src/index.ts).
 */
import {
  open,
  type Adapter,
  type AdvertiseOptions,
  type DatabaseDeclaration,
  type GattServer,
  type VirtualLink,
} from '../index.ts'

export interface DeviceOptions {
  /** The virtual link to join (transport 'virtual'); default: a link of the device's own. */
  link?: VirtualLink
  /** Another transport (a controller over 'tcp:HOST:PORT', 'usb', ...) instead of a virtual one. */
  transport?: string
  /** Advertised and GAP Device Name. */
  name?: string
  /** The virtual controller's address. */
  address?: string
  /** Period of the device's updates in ms (default 1000). */
  intervalMs?: number
  /** Show the device's own HCI traffic in HCIKIT_LOG / snoop captures (default false). */
  diagnostics?: boolean
}

export interface VirtualDevice extends AsyncDisposable {
  readonly adapter: Adapter
  readonly server: GattServer
  readonly name: string
  /** Its public address. */
  readonly address: string
  /** Updates sent so far (ticks). */
  readonly ticks: number
  /** Stop advertising and ticking, disconnect, close the adapter. */
  close(): Promise<void>
}

export interface DeviceSpec {
  name: string
  database: DatabaseDeclaration
  advertise: Omit<AdvertiseOptions, 'name'>
  /** Called every intervalMs with the tick number (from 1). */
  tick(server: GattServer, n: number): void | Promise<void>
}

export async function startDevice(o: DeviceOptions, spec: DeviceSpec): Promise<VirtualDevice> {
  const name = o.name ?? spec.name
  const adapter = await open({
    transport: o.transport ?? 'virtual',
    link: o.link,
    address: o.address,
    name,
    diagnostics: o.diagnostics ?? false,
  })
  try {
    const server = adapter.serve({ ...spec.database, gap: { deviceName: name, ...spec.database.gap } })
    const interval = o.intervalMs ?? 1000
    let ticks = 0
    let timer: unknown
    let stopped = false
    const schedule = (): void => {
      timer = adapter.clock.setTimeout(() => {
        if (stopped) return
        ticks++
        void Promise.resolve(spec.tick(server, ticks))
          .catch(() => undefined)
          .finally(() => {
            if (!stopped) schedule()
          })
      }, interval)
    }
    const stop = (): void => {
      stopped = true
      if (timer !== undefined) adapter.clock.clearTimeout(timer)
    }
    adapter.on('state', (s) => {
      if (s.state === 'closed') stop()
    })
    await adapter.advertise({ name, ...spec.advertise })
    schedule()
    const close = async (): Promise<void> => {
      stop()
      await adapter.close()
    }
    return {
      adapter,
      server,
      name,
      address: adapter.address,
      get ticks() {
        return ticks
      },
      close,
      [Symbol.asyncDispose]: close,
    }
  } catch (err) {
    await adapter.close()
    throw err
  }
}
