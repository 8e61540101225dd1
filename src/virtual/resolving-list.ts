/**
 * The resolving list of the virtual controller (Core v5.4 Vol 6 Part B 4.7 "Resolving List" and 6
 * "Privacy in the Link Layer"): per peer identity address, the peer's IRK and our local IRK, with
 * its privacy mode (4.7; Vol 4 Part E 7.8.77: network privacy by default), and what the Link Layer
 * does with it:
 * - resolution (1.3.2.3) of the RPAs it hears, while address resolution is enabled (7.8.44):
 *   the identity is reported with address type 0x02/0x03, and a peer in network privacy mode
 *   that shows its identity address instead of an RPA is ignored;
 * - generation (1.3.2.2) of our own RPA for a peer from its entry's local IRK (Own_Address_Type
 *   0x02/0x03), and of the RPA TargetA uses for a peer from its entry's peer IRK;
 * - rotation: every RPA is used until the RPA timeout (7.8.45, default 15 min) expires, in the
 *   link's (virtual) time, and a new one is generated at its next use.
 * An all-zero IRK means the device has none. The HCI commands are in privacy.ts.
 */
import type { Scheduler } from './scheduler.ts'
import { isRpa, makeRpa, resolves, zeroIrk } from './rpa.ts'

/** Entries the list holds (Resolving_List_Size, 7.8.41). */
export const RESOLVING_LIST_SIZE = 16
/** RPA_Timeout after Reset (7.8.45): 900 s. */
export const DEFAULT_RPA_TIMEOUT_S = 900

/** An identity address: type 0 public, 1 random (static). */
export interface Identity {
  type: number
  address: string
}

export interface ResolvingEntry {
  readonly identity: Identity
  readonly peerIrk: Uint8Array
  readonly localIrk: Uint8Array
  /** Privacy mode (7.8.77): false = network privacy (default), true = device privacy. */
  deviceMode: boolean
  /** Our RPA for this peer while the timeout runs (from localIrk). */
  localRpa: string | undefined
  /** The RPA TargetA uses for this peer while the timeout runs (from peerIrk). */
  targetRpa: string | undefined
  /** The peer's RPA last heard (resolved) or used as TargetA (LE Read Peer Resolvable Address). */
  peerRpa: string | undefined
}

/** An address heard on the air, after address resolution. */
export interface Heard {
  /** What the Host is told: the identity address when an RPA was resolved. */
  address: string
  /** 0/1 as heard; 2/3 (public / random identity) when an RPA was resolved (7.7.65.2). */
  type: number
  /** The RPA it was heard with, when resolved. */
  rpa: string | undefined
  /** Its resolving list entry (by the RPA resolved, or by its identity address). */
  entry: ResolvingEntry | undefined
}

export class ResolvingList {
  /** Address resolution (7.8.44): disabled after Reset. */
  enabled = false
  readonly entries: ResolvingEntry[] = []
  private timeout = DEFAULT_RPA_TIMEOUT_S
  private cancelRotation: (() => void) | undefined

  constructor(private readonly scheduler: Scheduler) {}

  /** Reset (Vol 6 Part B 4.7: empty after reset); address resolution off, default timeout. */
  reset(): void {
    this.entries.length = 0
    this.enabled = false
    this.timeout = DEFAULT_RPA_TIMEOUT_S
    this.cancelRotation?.()
    this.cancelRotation = undefined
  }

  /** RPA_Timeout in seconds; a running timer restarts with the new value. */
  get timeoutS(): number {
    return this.timeout
  }

  set timeoutS(s: number) {
    this.timeout = s
    if (!this.cancelRotation) return
    this.cancelRotation()
    this.cancelRotation = undefined
    this.arm()
  }

  /** The entry of an identity address (type 0/1; 2/3 are taken as 0/1). */
  find(type: number, address: string): ResolvingEntry | undefined {
    const a = address.toUpperCase()
    return this.entries.find((e) => e.identity.type === (type & 1) && e.identity.address === a)
  }

  /**
   * Address resolution of an address heard on the air (AdvA, ScanA, InitA). undefined: the PDU
   * must be ignored (4.7, network privacy mode: a peer with an IRK seen with its identity address).
   */
  resolve(address: string, type: number): Heard | undefined {
    if (this.entries.length === 0) return { address, type, rpa: undefined, entry: undefined }
    if (isRpa(address, type)) {
      const entry = this.enabled ? this.entries.find((e) => resolves(e.peerIrk, address)) : undefined
      if (!entry) return { address, type, rpa: undefined, entry: undefined }
      const rpa = address.toUpperCase()
      entry.peerRpa = rpa
      return { address: entry.identity.address, type: entry.identity.type + 2, rpa, entry }
    }
    const entry = type <= 1 ? this.find(type, address) : undefined
    if (entry && this.enabled && !entry.deviceMode && !zeroIrk(entry.peerIrk)) return undefined
    return { address, type, rpa: undefined, entry }
  }

  /** Has this peer an entry with a local IRK (so that we use RPAs toward it)? */
  hasLocalIrk(peer: Identity): boolean {
    const e = this.find(peer.type, peer.address)
    return e !== undefined && !zeroIrk(e.localIrk)
  }

  /** Our current RPA toward `peer` (Own_Address_Type 0x02/0x03), if its entry has a local IRK. */
  localRpa(peer: Identity): string | undefined {
    const e = this.find(peer.type, peer.address)
    if (!e || zeroIrk(e.localIrk)) return undefined
    if (e.localRpa === undefined) {
      e.localRpa = makeRpa(e.localIrk, () => this.scheduler.random())
      this.arm()
    }
    return e.localRpa
  }

  /** TargetA for directed advertising to `peer`: an RPA from its IRK if the list has one, else its identity. */
  targetA(peer: Identity): { address: string; type: number } {
    const e = this.find(peer.type, peer.address)
    if (!e || zeroIrk(e.peerIrk)) return { address: peer.address.toUpperCase(), type: peer.type & 1 }
    if (e.targetRpa === undefined) {
      e.targetRpa = makeRpa(e.peerIrk, () => this.scheduler.random())
      e.peerRpa = e.targetRpa
      this.arm()
    }
    return { address: e.targetRpa, type: 1 }
  }

  /** Is the RPA `targetA` one of ours toward the peer of `entry` (resolved with its local IRK)? */
  isLocalRpa(entry: ResolvingEntry | undefined, targetA: string): boolean {
    return this.enabled && entry !== undefined && resolves(entry.localIrk, targetA.toUpperCase())
  }

  /** The RPA timeout expired: every RPA in use is replaced at its next use (Vol 6 Part B 1.3.2.2). */
  rotate(): void {
    for (const e of this.entries) {
      e.localRpa = undefined
      e.targetRpa = undefined
    }
  }

  /** Start the RPA timer if it is not running (it runs only while RPAs are in use). */
  private arm(): void {
    if (this.cancelRotation) return
    this.cancelRotation = this.scheduler.schedule(this.timeout * 1000, () => {
      this.cancelRotation = undefined
      this.rotate()
    })
  }
}
