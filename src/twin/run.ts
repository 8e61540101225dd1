/**
 * A twin running as a peripheral (Core v5.4 Vol 3 Part C 9.3 connectable mode, Vol 3 Part F/G
 * the server): its own adapter (on a virtual link by default, any transport otherwise) with the
 * twin's address, advertising the captured advertising data and scan response, and on every
 * connection the twin's ATT server (server.ts) on the link's ATT bearer, with the device's
 * captured ATT_MTU.
 *
 * - Reads return the captured values; writes are accepted, kept (`writes`, the last 1000) and
 *   given to `onWrite`, which may answer with notifications of its own (a small script in code),
 *   or answered by the twin file's `reactions` (a small script in the file).
 * - Notifications and indications replay when the client subscribes (writes the CCCD), with the
 *   captured timing (`atMs` after the subscription, on the adapter's clock: virtual time on a
 *   virtual link), once or in a loop; they stop when the client unsubscribes or leaves.
 * - Advertising starts again when a central leaves, as a connectable device does.
 * A random address is advertised from the controller's random address (legacy advertising).
 */
import { LeSetRandomAddress } from '../../hci/commands.ts'
import { Advertiser, type AdvertiseOptions as GapAdvertiseOptions } from '../../gap/advertiser.ts'
import { fromHex } from '../../hci/wire.ts'
import { open, type Adapter } from '../adapter.ts'
import type { Central } from '../peripheral.ts'
import type { VirtualLink } from '../virtual/link.ts'
import { TwinError, type Twin, type TwinCharacteristic, type TwinReaction } from './format.ts'
import { TwinAttServer, TwinConnection, type TwinWrite } from './server.ts'
import { attributeTable } from './table.ts'

export interface TwinCentral {
  readonly address: string
  notify(handle: number, value: Uint8Array): Promise<void>
  indicate(handle: number, value: Uint8Array): Promise<void>
}

export interface TwinOptions {
  /** The virtual link to join (transport 'virtual', the default): usually the central's. */
  link?: VirtualLink
  /** Another transport ('tcp:HOST:PORT', 'usb', ...) for a real controller to play the twin. */
  transport?: string
  /** Replay notifications again from the start after the last one (default false). */
  loop?: boolean
  /** Every write a central makes; may answer with notifications (`central.notify`). */
  onWrite?: (w: TwinWrite, central: TwinCentral) => void | Promise<void>
  /** Show the twin's own HCI traffic in HCIKIT_LOG and captures (default false). */
  diagnostics?: boolean
  /** Environment for HCIKIT_TRANSPORT and logging (default process.env). */
  env?: NodeJS.ProcessEnv
}

export interface RunningTwin extends AsyncDisposable {
  readonly twin: Twin
  readonly adapter: Adapter
  /** The writes centrals made, oldest first (the last 1000). */
  readonly writes: readonly (TwinWrite & { central: string })[]
  close(): Promise<void>
}

const MAX_WRITES = 1000

/** Start a twin (from parseTwin or buildTwin) as a peripheral. */
export async function startTwin(twin: Twin, o: TwinOptions = {}): Promise<RunningTwin> {
  const random = twin.device.addressType === 'random'
  const data = fromHex(twin.advertising?.data ?? '')
  const scanResponse = twin.advertising?.scanResponse === undefined ? undefined : fromHex(twin.advertising.scanResponse)
  if (random && (data.length > 31 || (scanResponse?.length ?? 0) > 31))
    throw new TwinError('advertising', 'more than 31 octets from a random address: not supported yet')
  const adapter = await open({
    transport: o.transport ?? 'virtual',
    link: o.link,
    address: random ? undefined : twin.device.address,
    name: twin.device.name ?? twin.device.address,
    mtu: Math.max(23, Math.min(twin.mtu ?? 517, 517)),
    diagnostics: o.diagnostics ?? false,
    env: o.env,
  })
  try {
    return await run(twin, adapter, data, scanResponse, o)
  } catch (e) {
    await adapter.close()
    throw e
  }
}

async function run(
  twin: Twin,
  adapter: Adapter,
  data: Uint8Array,
  scanResponse: Uint8Array | undefined,
  o: TwinOptions,
): Promise<RunningTwin> {
  const random = twin.device.addressType === 'random'
  const server = new TwinAttServer(attributeTable(twin))
  const byValueHandle = new Map<number, TwinCharacteristic>()
  for (const s of twin.services) for (const c of s.characteristics) byValueHandle.set(c.valueHandle, c)
  const writes: (TwinWrite & { central: string })[] = []
  const advertiser = new Advertiser(adapter.hci, {
    clock: adapter.clock,
    extended: data.length > 31 || (scanResponse?.length ?? 0) > 31,
  })
  const advertising: GapAdvertiseOptions = {
    data,
    connectable: twin.advertising?.connectable ?? true,
    ownAddressType: random ? 1 : 0,
  }
  if (scanResponse) advertising.scanResponse = scanResponse
  let closing = false
  const advertise = (): Promise<void> => advertiser.start(advertising)
  adapter.on('connection', (central) => {
    const replay = new Replays(adapter, central, byValueHandle, o.loop ?? false)
    const conn = new TwinConnection(
      () => central.connection.att.mtu,
      (w, configures) => {
        writes.push({ ...w, central: central.address })
        if (writes.length > MAX_WRITES) writes.shift()
        if (configures !== undefined) replay.configure(configures, w.value)
        replay.react(twin.reactions ?? [], w)
        void Promise.resolve(o.onWrite?.(w, replay.central)).catch(() => undefined)
      },
    )
    central.connection.att.serve((pdu) => server.handle(pdu, conn))
    void central.disconnected.then(() => {
      replay.stop()
      if (!closing && adapter.state === 'open' && advertising.connectable) void advertise().catch(() => undefined)
    })
  })
  if (random) await adapter.hci.send(LeSetRandomAddress, { randomAddress: twin.device.address })
  await advertise()
  const close = async (): Promise<void> => {
    closing = true
    await advertiser.stop().catch(() => undefined)
    advertiser.close()
    await adapter.close()
  }
  return { twin, adapter, writes, close, [Symbol.asyncDispose]: close }
}

type Notifications = NonNullable<TwinCharacteristic['notifications']>
/** The timers of reactions, kept beside the replays' (no value handle is -1). */
const REACTIONS = -1

/** The notification replays of one central, by value handle. */
class Replays {
  private readonly timers = new Map<number, unknown[]>()
  readonly central: TwinCentral

  constructor(
    private readonly adapter: Adapter,
    c: Central,
    private readonly chars: Map<number, TwinCharacteristic>,
    private readonly loop: boolean,
  ) {
    const att = c.connection.att
    this.central = {
      address: c.address,
      notify: (h, v) => att.notify(h, v),
      indicate: (h, v) => att.indicate(h, v),
    }
  }

  /** A CCCD write: bit 0 notifications, bit 1 indications (Vol 3 Part G 3.3.3.3). */
  configure(valueHandle: number, value: Uint8Array): void {
    this.cancel(valueHandle)
    const bits = value[0] ?? 0
    const list = this.chars.get(valueHandle)?.notifications ?? []
    if ((bits & 0x03) === 0 || list.length === 0) return
    this.schedule(valueHandle, list, (bits & 0x02) !== 0 && (bits & 0x01) === 0, 0)
  }

  /** One round of `list`, `offset` ms from now; in a loop, the next round a period later (at least 100 ms). */
  private schedule(handle: number, list: Notifications, indicate: boolean, offset: number): void {
    const clock = this.adapter.clock
    const last = list.at(-1)!.atMs
    const timers = list.map((n, i) =>
      clock.setTimeout(() => {
        const v = fromHex(n.value)
        const sent = indicate || n.indication ? this.central.indicate(handle, v) : this.central.notify(handle, v)
        void sent.catch(() => undefined)
        if (i === list.length - 1 && this.loop) this.schedule(handle, list, indicate, Math.max(0, 100 - last))
      }, offset + n.atMs),
    )
    this.timers.set(handle, timers)
  }

  /** The first reaction of the twin file that matches this write (format.ts TwinReaction). */
  react(reactions: readonly TwinReaction[], w: TwinWrite): void {
    const hex = Buffer.from(w.value).toString('hex')
    const r = reactions.find((x) => x.onWrite.handle === w.handle && (x.onWrite.value ?? hex) === hex)
    if (!r) return
    const timers = this.timers.get(REACTIONS) ?? []
    for (const n of r.notify)
      timers.push(
        this.adapter.clock.setTimeout(() => {
          const v = fromHex(n.value)
          void (n.indication ? this.central.indicate(n.handle, v) : this.central.notify(n.handle, v)).catch(
            () => undefined,
          )
        }, n.atMs),
      )
    this.timers.set(REACTIONS, timers)
  }

  private cancel(handle: number): void {
    for (const t of this.timers.get(handle) ?? []) this.adapter.clock.clearTimeout(t)
    this.timers.delete(handle)
  }

  stop(): void {
    for (const h of [...this.timers.keys()]) this.cancel(h)
  }
}
