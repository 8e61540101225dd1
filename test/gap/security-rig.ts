/**
 * Two of our stacks on the virtual link (test/e2e/virtual-rig.ts) with security on both: a
 * SecurityManager per host with an in-memory bond store and a scripted user per side (types the
 * passkey the other side shows, says yes when both numbers agree), and helpers to connect again
 * and to see the SMP PDUs that crossed the link (from the central's HCI record).
 */
import { rig, type Rig } from '../e2e/virtual-rig.ts'
import type { DatabaseDeclaration } from '../../att/database.ts'
import type { Connection } from '../../gap/connections.ts'
import { SecurityManager } from '../../gap/security-manager.ts'
import type { PairingOutcome } from '../../gap/link-security.ts'
import type { PairingDelegate } from '../../gap/pairing-delegate.ts'
import { MemoryKeyStore, type DeviceAddress } from '../../gap/smp/keys.ts'
import { decodeSmpPdu } from '../../gap/smp/pdu.ts'
import { DecodeError } from '../../hci/errors.ts'
import { H4Type } from '../../hci/constants.ts'

export interface SideUser {
  /** Type this instead of what the other side shows. */
  passkey?: number | 'refuse'
  confirm?: boolean
}

export interface SecureRig extends Rig {
  cSec: SecurityManager
  pSec: SecurityManager
  cStore: MemoryKeyStore
  pStore: MemoryKeyStore
  /** Names of the SMP PDUs on the link since `mark()` (as the central's HCI traffic shows them). */
  smp(): string[]
  mark(): void
  /** Connect (directly) and return both ends. */
  link(): Promise<{ c: Connection; p: Connection }>
}

/** A delegate whose user reads the other side's screen through `screen`. */
export function scriptedUser(
  d: Omit<PairingDelegate, 'displayPasskey' | 'enterPasskey' | 'confirmNumber'>,
  screen: { shown?: number; numbers: number[] },
  user: SideUser = {},
): PairingDelegate {
  return {
    ...d,
    displayPasskey: ({ passkey }) => void (screen.shown = passkey),
    enterPasskey: async () => {
      if (user.passkey === 'refuse') return undefined
      if (typeof user.passkey === 'number') return user.passkey
      // The other side shows it (or, both typing, the users agree on 123456).
      for (let i = 0; i < 100 && screen.shown === undefined; i++) await new Promise((r) => setImmediate(r))
      return screen.shown ?? 123456
    },
    confirmNumber: async ({ value }) => {
      screen.numbers.push(value)
      for (let i = 0; i < 100 && screen.numbers.length < 2; i++) await new Promise((r) => setImmediate(r))
      return user.confirm ?? screen.numbers.every((n) => n === value)
    },
  }
}

export async function secureRig(o: {
  decl?: DatabaseDeclaration
  central?: PairingDelegate
  peripheral?: PairingDelegate
  seed?: number
}): Promise<SecureRig> {
  const r = await rig({ decl: o.decl ?? {}, ...(o.seed !== undefined ? { seed: o.seed } : {}) })
  const cStore = new MemoryKeyStore()
  const pStore = new MemoryKeyStore()
  const manager = async (side: Rig['central'] | Rig['peripheral'], store: MemoryKeyStore, delegate?: PairingDelegate) =>
    new SecurityManager(side.host, side.connections, {
      clock: r.clock,
      store,
      local: await store.localKeys(),
      identity: { address: side.controller.address, type: 'public' },
      ...(delegate ? { delegate } : {}),
    })
  const cSec = await manager(r.central, cStore, o.central)
  const pSec = await manager(r.peripheral, pStore, o.peripheral)
  let from = 0
  return {
    ...r,
    cSec,
    pSec,
    cStore,
    pStore,
    mark: () => void (from = r.records.length),
    smp: () => smpNames(r.records.slice(from)),
    link: () => r.connect({ direct: true }),
  }
}

/** The SMP PDUs (CID 0x0006) in a record of HCI ACL packets, by name, with the direction. */
export function smpNames(
  records: readonly { direction: 'tx' | 'rx'; packetType: number; data: Uint8Array }[],
): string[] {
  const out: string[] = []
  for (const r of records) {
    if (r.packetType !== H4Type.Acl || r.data.length < 8) continue
    const cid = r.data[6]! | (r.data[7]! << 8)
    if (cid !== 0x0006) continue
    const p = decodeSmpPdu(r.data.subarray(8))
    out.push(`${r.direction === 'tx' ? 'c' : 'p'}:${p instanceof DecodeError ? '?' : p.name}`)
  }
  return out
}

/** The next pairing outcome on a link's agent. */
export function nextOutcome(sec: SecurityManager, c: Connection): Promise<PairingOutcome> {
  return new Promise((resolve) => {
    let done = false
    sec.agent(c).onOutcome((o) => {
      if (!done) resolve(o)
      done = true
    })
  })
}

export const addressOf = (c: { controller: { address: string } }): DeviceAddress => ({
  address: c.controller.address,
  type: 'public',
})
