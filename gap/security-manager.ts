/**
 * Security for every link of one adapter (Core v5.4 Vol 3 Part H 2.4 bonding, 2.3.6 repeated
 * attempts; Vol 3 Part C 10.7/10.8 privacy and identity resolution; Vol 4 Part E 7.7.65.5 the
 * LE Long Term Key Request): the bond store, our own keys, the pairing delegate, and one
 * LinkSecurityAgent (gap/link-security.ts) per connection, created as the connection is.
 *
 * Bonds are found by identity: a peer that connects from a resolvable private address is matched
 * against the IRKs of the bonds (gap/privacy.ts), so a bonded device is recognised across its
 * address rotations. The IRKs are kept in memory (refreshed on every change through this
 * manager) so that scan reports can be resolved synchronously, and loaded into the controller's
 * resolving list when it has one (gap/resolving-list.ts).
 */
import type { Clock, HciHost } from '../hci/host.ts'
import type { Connection } from './connection.ts'
import type { Connections } from './connections.ts'
import { LinkSecurityAgent, type SecurityContext } from './link-security.ts'
import type { PairingDelegate } from './pairing-delegate.ts'
import { isResolvablePrivateAddress, resolveRpa } from './privacy.ts'
import { normalizeAddress, peerKey, type Bond, type DeviceAddress, type KeyStore, type LocalKeys } from './smp/keys.ts'
import { RepeatedAttempts, type RepeatedAttemptsOptions } from './smp/throttle.ts'
import { ResolvingList } from './resolving-list.ts'

export interface SecurityManagerOptions {
  clock: Clock
  store: KeyStore
  /** Our keys (store.localKeys(), loaded before the first link). */
  local: LocalKeys
  /** Our identity address (distributed in pairing): the controller's public address. */
  identity: DeviceAddress
  delegate?: PairingDelegate
  random?: (n: number) => Uint8Array
  /** SMP timeout (default 30000 ms). */
  smpTimeoutMs?: number
  /** Our address on the air when it is not the identity (privacy: our current RPA). */
  ownAddress?: () => DeviceAddress
  attempts?: RepeatedAttemptsOptions
}

export class SecurityManager {
  readonly store: KeyStore
  /** The controller's resolving list, kept in step with the bonds. */
  readonly resolvingList: ResolvingList
  private readonly ctx: SecurityContext
  private readonly agents = new Map<Connection, LinkSecurityAgent>()
  /** Bonds with an IRK, for resolving addresses synchronously. */
  private resolvable: Bond[] = []
  private readonly offConnection: () => void
  private readonly offEvent: () => void

  constructor(host: HciHost, connections: Connections, opts: SecurityManagerOptions) {
    this.store = opts.store
    this.resolvingList = new ResolvingList(host, opts.local.irk)
    const identity = { address: normalizeAddress(opts.identity.address), type: opts.identity.type }
    this.ctx = {
      host,
      clock: opts.clock,
      delegate: opts.delegate ?? {},
      attempts: new RepeatedAttempts(opts.clock, opts.attempts),
      random: opts.random,
      smpTimeoutMs: opts.smpTimeoutMs,
      local: { ...opts.local, identity },
      ownAddress: () => opts.ownAddress?.() ?? identity,
      bondFor: (peer) => this.bondFor(peer),
      saveBond: (bond) => this.saveBond(bond),
    }
    this.offConnection = connections.onConnection((c) => this.attach(c))
    this.offEvent = host.onEvent((e) => {
      if (e.key !== 'LeLongTermKeyRequest') return
      const c = connections.byHandle.get(e.params.connectionHandle & 0xfff)
      if (c) this.agents.get(c)?.ltkRequested(e)
    })
    void this.refresh().catch(() => undefined)
  }

  /** The agent of a connection (every connection of this adapter has one). */
  agent(c: Connection): LinkSecurityAgent {
    const a = this.agents.get(c)
    if (!a) throw new Error(`no security agent for ${c}`)
    return a
  }

  /** Every bond. */
  bonds(): Promise<Bond[]> {
    return this.store.bonds()
  }

  /**
   * Remove the bond of a peer (its identity address, or any address that resolves to it); false
   * when there was none. Open links to it are no longer bonded.
   */
  async unpair(peer: DeviceAddress | string): Promise<boolean> {
    const bonds = await this.store.bonds()
    const target = typeof peer === 'string' ? normalizeAddress(peer) : normalizeAddress(peer.address)
    const matches = bonds.filter(
      (b) => b.peer.address === target && (typeof peer === 'string' || b.peer.type === peer.type),
    )
    const rpa = typeof peer === 'string' || peer.type === 'random' ? resolveRpa(target, bonds) : undefined
    if (rpa && !matches.includes(rpa)) matches.push(rpa)
    for (const b of matches) await this.store.delete(b.peer)
    await this.refresh()
    const gone = new Set(matches.map((b) => peerKey(b.peer)))
    for (const a of this.agents.values()) {
      const id = a.identity ?? a.connection.peer
      if (gone.has(peerKey(id))) a.unpaired()
    }
    return matches.length > 0
  }

  /**
   * The identity address behind `address` when a bond resolves it (its own address for a bonded
   * peer with a static or public address), synchronously from the IRKs in memory.
   */
  identityOf(address: DeviceAddress): DeviceAddress | undefined {
    if (address.type === 'random' && isResolvablePrivateAddress(address.address)) {
      return resolveRpa(address.address, this.resolvable)?.peer
    }
    return undefined
  }

  /** Stop listening (the agents stay with their links). */
  close(): void {
    this.offConnection()
    this.offEvent()
  }

  private attach(c: Connection): void {
    const agent = new LinkSecurityAgent(c, this.ctx)
    this.agents.set(c, agent)
    void c.disconnected.then(() => this.agents.delete(c))
  }

  /** The bond of a peer: by its address, else (an RPA) by the IRKs of the bonds. */
  private async bondFor(peer: DeviceAddress): Promise<Bond | undefined> {
    const direct = await this.store.get(peer)
    if (direct) return direct
    if (peer.type !== 'random' || !isResolvablePrivateAddress(peer.address)) return undefined
    return resolveRpa(peer.address, await this.store.bonds())
  }

  private async saveBond(bond: Bond): Promise<void> {
    await this.store.put(bond)
    await this.refresh()
  }

  private async refresh(): Promise<void> {
    this.resolvable = (await this.store.bonds()).filter((b) => b.irk)
    void this.resolvingList.sync(this.resolvable)
  }
}
