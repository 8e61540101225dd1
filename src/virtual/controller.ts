/**
 * A virtual LE controller: the core (core.ts: HCI command dispatch, event masks, reset, one host
 * at a time; Core v5.4 Vol 4 Part E) with every feature this emulator implements installed on it,
 * in this order (the order in which they see air PDUs and resets):
 * basic commands (basic.ts), advertising (advertising.ts), scanning (scanning.ts), the Filter
 * Accept List (filter-accept-list.ts), privacy and the resolving list (privacy.ts), connections
 * and their LL procedures (connections.ts), ACL data (acl-data.ts) and encryption (encryption.ts).
 * The features depend on the core only, never on this file (see docs/ARCHITECTURE.md).
 */
import type { Air } from './air.ts'
import { ControllerCore, type ControllerOptions } from './core.ts'
import { installBasic } from './basic.ts'
import { installAdvertising } from './advertising.ts'
import { installScanning } from './scanning.ts'
import { installFilterAcceptList } from './filter-accept-list.ts'
import { installPrivacy } from './privacy.ts'
import { installConnections } from './connections.ts'
import { installAclData } from './acl-data.ts'
import { installEncryption } from './encryption.ts'

export { ControllerError } from './controller-error.ts'
export {
  ControllerHooks,
  RESET_EVENT_MASK,
  RESET_EVENT_MASK_PAGE_2,
  RESET_LE_EVENT_MASK,
  type Activity,
  type ControllerOptions,
  type ControllerVersion,
  type PeripheralConnect,
} from './core.ts'

export class VirtualController extends ControllerCore {
  constructor(link: Air, opts: ControllerOptions = {}) {
    super(link, opts)
    installBasic(this)
    installAdvertising(this)
    installScanning(this)
    installFilterAcceptList(this)
    installPrivacy(this)
    const connections = installConnections(this)
    installAclData(this, connections)
    installEncryption(this, connections)
    link.add(this)
  }
}
