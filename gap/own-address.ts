/**
 * Our own resolvable private address (Core v5.4 Vol 3 Part C 10.7 privacy, 10.8.2.2 the RPA made
 * from our IRK; Vol 6 Part B 1.3.2.2; Vol 4 Part E 7.8.4 LE Set Random Address): made by the host
 * from the local IRK and changed on a timer (default every 15 minutes, the spec's recommended
 * T_GAP(private_addr_int)). Peers that hold our IRK (they paired with us) resolve every one of
 * them to our identity; anyone else sees a stranger each time.
 *
 * The controller refuses a new random address while legacy advertising, scanning or initiating
 * is enabled (Command Disallowed, 7.8.4): the rotation then tries again a second later, and the
 * address in use stays valid meanwhile. Advertising that runs for good would block it for ever,
 * so the owner wraps each change (`around`): the adapter stops advertising, changes the address
 * and advertises again from the new one.
 */
import type { Clock, HciHost } from '../hci/host.ts'
import { LeSetRandomAddress } from '../hci/commands.ts'
import { HciError } from '../hci/errors.ts'
import { generateRpa } from './privacy.ts'
import type { DeviceAddress } from './smp/keys.ts'

const COMMAND_DISALLOWED = 0x0c

export interface OwnAddressOptions {
  /** How often the address changes (default 15 min). */
  rotateMs?: number
  /** When the controller is busy, try again after this long (default 1000 ms). */
  retryMs?: number
  random?: (n: number) => Uint8Array
  /** Runs each timed change (`apply`) inside whatever must pause around it (advertising). */
  around?: (apply: () => Promise<void>) => Promise<void>
}

export class OwnAddress {
  /** The address in use (random, resolvable). */
  current: DeviceAddress | undefined
  private timer: unknown
  private stopped = false
  private readonly rotateMs: number
  private readonly retryMs: number
  private readonly changeCbs: ((a: DeviceAddress) => void)[] = []

  constructor(
    private readonly host: HciHost,
    private readonly clock: Clock,
    private readonly irk: Uint8Array,
    private readonly opts: OwnAddressOptions = {},
  ) {
    this.rotateMs = opts.rotateMs ?? 15 * 60_000
    this.retryMs = opts.retryMs ?? 1000
  }

  /** Set the first address (nothing may be advertising, scanning or initiating yet) and start the timer. */
  async start(): Promise<DeviceAddress> {
    await this.setNew()
    this.schedule(this.rotateMs)
    return this.current!
  }

  /** Called with every new address. */
  onChange(cb: (a: DeviceAddress) => void): void {
    this.changeCbs.push(cb)
  }

  /** Change the address now (rejects with the controller's error; Command Disallowed while busy). */
  async rotate(): Promise<DeviceAddress> {
    await this.setNew()
    return this.current!
  }

  stop(): void {
    this.stopped = true
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer)
    this.timer = undefined
  }

  private async setNew(): Promise<void> {
    const address = generateRpa(this.irk, this.opts.random)
    await this.host.send(LeSetRandomAddress, { randomAddress: address })
    this.current = { address, type: 'random' }
    for (const cb of [...this.changeCbs]) cb(this.current)
  }

  private schedule(ms: number): void {
    if (this.stopped) return
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined
      const around = this.opts.around ?? ((apply: () => Promise<void>) => apply())
      around(() => this.setNew()).then(
        () => this.schedule(this.rotateMs),
        (e: unknown) => {
          // Busy (advertising, scanning, initiating): keep the current address, try again soon.
          const busy = e instanceof HciError && e.status === COMMAND_DISALLOWED
          this.schedule(busy ? this.retryMs : this.rotateMs)
        },
      )
    }, ms)
  }
}
