/**
 * The subscriptions of bonded centrals, kept across their connections: "The Client Characteristic
 * Configuration descriptor value shall be persistent across connections for bonded devices"
 * (Core v5.4 Vol 3 Part G 3.3.3.3). A phone that bonded with our peripheral and enabled
 * notifications expects them to flow again as soon as it reconnects and encrypts, without writing
 * the CCCD again (many never do).
 *
 * When a bonded central's link is encrypted, the CCCD values it left at its last disconnection
 * come back (those it has not written on this link already, and only for handles that are still
 * CCCDs of the database served). When a bonded link ends, its values are kept under the central's
 * identity address. In memory for the adapter's life, the most recent 1000 centrals.
 */
import type { Connection } from '../gap/connections.ts'
import type { ServerConnection } from '../att/server.ts'
import type { DeviceAddress } from '../gap/smp/keys.ts'

const REMEMBERED = 1000

export class BondedSubscriptions {
  /** Identity address (with its type) -> CCCD handle -> value. */
  private readonly saved = new Map<string, Map<number, number>>()

  /** `isCccd(handle)`: whether a handle is a CCCD of the database served now. */
  constructor(private readonly isCccd: (handle: number) => boolean) {}

  /** Follow one central's link: restore on encryption with its bond, keep on disconnection. */
  track(c: Connection, gatt: ServerConnection, identity: () => DeviceAddress): void {
    const key = (): string => {
      const id = identity()
      return `${id.type}/${id.address}`
    }
    let restored = false
    const restore = (): void => {
      if (restored || !c.security.encrypted || !c.security.bonded) return
      restored = true
      const values = this.saved.get(key())
      if (!values) return
      for (const [handle, value] of values)
        if (!gatt.cccd.has(handle) && this.isCccd(handle)) gatt.cccd.set(handle, value)
    }
    restore()
    c.on('security', restore)
    c.on('disconnected', () => {
      if (!c.security.bonded) return
      const k = key()
      this.saved.delete(k)
      if (gatt.cccd.size > 0) this.saved.set(k, new Map(gatt.cccd))
      if (this.saved.size > REMEMBERED) this.saved.delete(this.saved.keys().next().value!)
    })
  }

  /** Forget the subscriptions kept for an identity address (its bond was removed). */
  forget(address: string): void {
    const a = address.toUpperCase()
    this.saved.delete(`public/${a}`)
    this.saved.delete(`random/${a}`)
  }
}
