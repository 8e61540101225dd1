/**
 * Which advertising command set a host uses on its controller (Core v5.4 Vol 4 Part E 3.1.1):
 * after a legacy advertising, scanning or initiating command, the extended ones are refused
 * (Command Disallowed) until Reset, and the other way round. gap/ remembers the choice per
 * HciHost so the scanner, the advertiser and the connection manager agree; the first one to
 * need a choice makes it from the controller's LE features (bit 12, LE Extended Advertising,
 * Vol 6 Part B 4.6).
 */
import type { HciHost } from '../hci/host.ts'
import { GapError } from './events.ts'

export type CommandSetKind = 'legacy' | 'extended'

export interface CommandSet {
  /** What is in use, if anything was used yet. */
  current(): CommandSetKind | undefined
  /** True for extended: the set in use, else what the controller supports. */
  choose(): boolean
  /** Record that `kind` is in use; throws a clear error if the other one already is. */
  use(kind: CommandSetKind): void
}

const sets = new WeakMap<HciHost, CommandSet>()

/** Whether the controller supports extended advertising (LE feature bit 12). */
export function supportsExtended(host: HciHost): boolean {
  const f = host.info?.leFeatures
  return f !== undefined && ((f[1] ?? 0) & 0x10) !== 0
}

export function commandSet(host: HciHost): CommandSet {
  let s = sets.get(host)
  if (s) return s
  let kind: CommandSetKind | undefined
  s = {
    current: () => kind,
    choose: () => (kind ?? (supportsExtended(host) ? 'extended' : 'legacy')) === 'extended',
    use: (k) => {
      if (kind !== undefined && kind !== k) {
        throw new GapError(
          'COMMAND_SET',
          `this host already uses the ${kind} advertising commands; ${k} ones would be refused (Core v5.4 Vol 4 Part E 3.1.1)`,
          {
            hint: 'reset the controller (host.init()) before switching between legacy and extended advertising/scanning',
          },
        )
      }
      kind = k
    },
  }
  sets.set(host, s)
  return s
}
