/**
 * The controller's resolving list (Core v5.4 Vol 6 Part B 4.7 address resolution; Vol 4 Part E
 * 7.8.38 LE Add Device To Resolving List, 7.8.40 LE Clear Resolving List, 7.8.41 LE Read Resolving
 * List Size, 7.8.44 LE Set Address Resolution Enable, 7.8.77 LE Set Privacy Mode): the bonds that
 * gave us an IRK are loaded into the controller, so that it resolves their private addresses
 * itself (reports and connections then carry the identity address, types 0x02/0x03) and can
 * accept them in its filters. The host resolves them too (gap/privacy.ts), so a controller
 * without a resolving list, or a full one, loses nothing but speed.
 *
 * Each sync rewrites the list: resolution off, clear, add up to the list's size (each entry with
 * Device Privacy mode where the controller has the command, so a bonded device that shows its
 * identity address is accepted as well), resolution on. The controller refuses these commands
 * while advertising, scanning or initiating with resolution enabled; a refused sync is reported
 * (`lastError`) and the next one (the next bond change) tries again.
 */
import type { HciHost } from '../hci/host.ts'
import {
  LeAddDeviceToResolvingList,
  LeClearResolvingList,
  LeReadResolvingListSize,
  LeSetAddressResolutionEnable,
  LeSetPrivacyMode,
} from '../hci/commands.ts'
import { supportsCommand } from '../hci/bring-up.ts'
import type { Bond } from './smp/keys.ts'

const DEVICE_PRIVACY = 0x01

export class ResolvingList {
  /** Entries loaded by the last sync. */
  loaded = 0
  /** Why the last sync failed, if it did. */
  lastError: Error | undefined
  private size: number | undefined
  private chain: Promise<void> = Promise.resolve()

  constructor(
    private readonly host: HciHost,
    private readonly localIrk: Uint8Array,
  ) {}

  /** The controller has the commands a resolving list needs (Supported Commands octets 34-35). */
  get supported(): boolean {
    const c = this.host.info?.supportedCommands
    if (!c) return false
    return (
      supportsCommand(c, 34, 3) && supportsCommand(c, 34, 5) && supportsCommand(c, 34, 6) && supportsCommand(c, 35, 1)
    )
  }

  /** Load the bonds with an IRK (one sync at a time; never rejects, see `lastError`). */
  sync(bonds: readonly Bond[]): Promise<void> {
    const next = this.chain.then(() => this.load(bonds))
    this.chain = next
    return next
  }

  private async load(bonds: readonly Bond[]): Promise<void> {
    const withIrk = bonds.filter((b) => b.irk)
    // Nothing to load and nothing loaded: leave the controller alone.
    if (!this.supported || (withIrk.length === 0 && this.loaded === 0)) return
    try {
      this.size ??= (await this.host.send(LeReadResolvingListSize, {})).resolvingListSize
      await this.host.send(LeSetAddressResolutionEnable, { enable: 0 })
      await this.host.send(LeClearResolvingList, {})
      this.loaded = 0
      const privacyMode = supportsCommand(this.host.info!.supportedCommands, 39, 2)
      for (const b of withIrk.slice(0, this.size)) {
        const peer = { peerIdentityAddressType: b.peer.type === 'random' ? 1 : 0, peerIdentityAddress: b.peer.address }
        await this.host.send(LeAddDeviceToResolvingList, { ...peer, peerIrk: b.irk!, localIrk: this.localIrk })
        if (privacyMode) await this.host.send(LeSetPrivacyMode, { ...peer, privacyMode: DEVICE_PRIVACY })
        this.loaded++
      }
      if (this.loaded > 0) await this.host.send(LeSetAddressResolutionEnable, { enable: 1 })
      this.lastError = undefined
    } catch (e) {
      this.lastError = e instanceof Error ? e : new Error(String(e))
    }
  }
}
