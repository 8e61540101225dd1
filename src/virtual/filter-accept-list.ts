/**
 * The HCI commands of the Filter Accept List (Core v5.4 Vol 6 Part B 4.3.1; Vol 4 Part E 7.8.14
 * LE Read Filter Accept List Size, 7.8.15 LE Clear Filter Accept List, 7.8.16 LE Add Device To
 * Filter Accept List, 7.8.17 LE Remove Device From Filter Accept List).
 *
 * One list per controller (accept-list.ts, held by the core), used by the initiator
 * (Initiator_Filter_Policy 1), the advertiser (Advertising_Filter_Policy != 0) and the scanner
 * (Scanning_Filter_Policy 1 or 3). Those modules tell the list when their current state uses it
 * (`filterAcceptListInUse`), and the list then refuses to change (Command Disallowed 0x0C, as
 * 7.8.15-7.8.17 require). Address type 0xFF is the "anonymous advertisers" entry.
 */
import {
  LeAddDeviceToFilterAcceptList,
  LeClearFilterAcceptList,
  LeReadFilterAcceptListSize,
  LeRemoveDeviceFromFilterAcceptList,
} from '../../hci/commands.ts'
import { Status } from '../../hci/constants.ts'
import { ANONYMOUS, type FilterAcceptList } from './accept-list.ts'
import { fail } from './controller-error.ts'
import type { ControllerCore } from './core.ts'

export { ANONYMOUS, type FilterAcceptList } from './accept-list.ts'

/** Entries the list holds (Filter_Accept_List_Size). */
export const FILTER_ACCEPT_LIST_SIZE = 16

/** The controller's Filter Accept List (read-only view for advertising, scanning, initiating). */
export function filterAcceptList(c: ControllerCore): FilterAcceptList {
  return c.acceptList
}

/** Declare a state that uses the list (advertising/scanning/initiating with a filter policy). */
export function filterAcceptListInUse(c: ControllerCore, isUsing: () => boolean): void {
  c.acceptList.usedWhile(isUsing)
}

function checkType(addressType: number): void {
  if (addressType !== 0x00 && addressType !== 0x01 && addressType !== ANONYMOUS) {
    fail(Status.InvalidParameters, `Address_Type 0x${addressType.toString(16)}`)
  }
}

export function installFilterAcceptList(c: ControllerCore): void {
  const list = c.acceptList
  const checkIdle = (): void => {
    if (list.busy()) fail(Status.CommandDisallowed, 'the Filter Accept List is in use')
  }
  const indexOf = (type: number, address: string): number =>
    list.entries.findIndex((e) => e.type === type && (type === ANONYMOUS || e.address === address))

  c.onReset(() => {
    list.entries.length = 0
  })

  c.handle(LeReadFilterAcceptListSize, () => ({ status: 0, filterAcceptListSize: FILTER_ACCEPT_LIST_SIZE }))

  c.handle(LeClearFilterAcceptList, () => {
    checkIdle()
    list.entries.length = 0
    return { status: 0 }
  })

  c.handle(LeAddDeviceToFilterAcceptList, ({ addressType, address }) => {
    checkType(addressType)
    checkIdle()
    const a = addressType === ANONYMOUS ? '00:00:00:00:00:00' : address.toUpperCase()
    if (indexOf(addressType, a) >= 0) return { status: 0 } // already there: nothing to add
    if (list.entries.length >= FILTER_ACCEPT_LIST_SIZE) fail(Status.MemoryCapacityExceeded)
    list.entries.push({ type: addressType, address: a })
    return { status: 0 }
  })

  c.handle(LeRemoveDeviceFromFilterAcceptList, ({ addressType, address }) => {
    checkType(addressType)
    checkIdle()
    const i = indexOf(addressType, address.toUpperCase())
    if (i >= 0) list.entries.splice(i, 1)
    return { status: 0 }
  })
}
