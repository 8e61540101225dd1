/**
 * The LL procedures of a connection other than termination (connections.ts) and encryption
 * (encryption.ts), each in its own module with the HCI commands that start it (Core v5.4):
 * - Connection Update and Connection Parameters Request (Vol 6 Part B 5.1.1, 5.1.7):
 *   connection-update.ts;
 * - Data Length Update (5.1.9): data-length.ts;
 * - PHY Update (5.1.10): phy-update.ts;
 * - Feature Exchange and Version Exchange (5.1.4, 5.1.5): feature-exchange.ts.
 */
import type { ControllerCore } from './core.ts'
import type { Connections } from './connections-state.ts'
import { installConnectionUpdate } from './connection-update.ts'
import { installDataLength } from './data-length.ts'
import { installPhyUpdate } from './phy-update.ts'
import { installExchanges } from './feature-exchange.ts'

export { MAX_OCTETS, MAX_TIME } from './data-length.ts'

export function installProcedures(c: ControllerCore, m: Connections): void {
  installConnectionUpdate(c, m)
  installDataLength(c, m)
  installPhyUpdate(c, m)
  installExchanges(c, m)
}
