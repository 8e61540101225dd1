/**
 * The Filter Accept List of the virtual controller (Core v5.4 Vol 6 Part B 4.3.1; HCI commands
 * Vol 4 Part E 7.8.14 LE Read Filter Accept List Size, 7.8.15 LE Clear Filter Accept List,
 * 7.8.16 LE Add Device To Filter Accept List, 7.8.17 LE Remove Device From Filter Accept List).
 *
 * One list per controller, used by the initiator (Initiator_Filter_Policy 1, connections.ts), the
 * advertiser (Advertising_Filter_Policy != 0) and the scanner (Scanning_Filter_Policy 1 or 3).
 * Those modules tell the list when their current state uses it (`filterAcceptListInUse`), and the
 * list then refuses to change (Command Disallowed 0x0C, as 7.8.15-7.8.17 require). Address type
 * 0xFF is the "anonymous advertisers" entry (advertising without AdvA).
 */
import {
  LeAddDeviceToFilterAcceptList,
  LeClearFilterAcceptList,
  LeReadFilterAcceptListSize,
  LeRemoveDeviceFromFilterAcceptList,
} from '../../hci/commands.ts'
import { Status } from '../../hci/constants.ts'
import { ControllerError, type VirtualController } from './controller.ts'

/** Entries the list holds (Filter_Accept_List_Size). */
export const FILTER_ACCEPT_LIST_SIZE = 16

/** Address_Type 0xFF: devices sending anonymous advertisements. */
export const ANONYMOUS = 0xff

export interface FilterAcceptList {
  /** Is (type, address) on the list? Type 0xFF matches anonymous advertisers (address ignored). */
  has(type: number, address: string | undefined): boolean
  readonly size: number
  readonly entries: ReadonlyArray<{ type: number; address: string }>
}

class AcceptList implements FilterAcceptList {
  readonly entries: Array<{ type: number; address: string }> = []
  readonly inUse: Array<() => boolean> = []

  get size(): number {
    return this.entries.length
  }

  has(type: number, address: string | undefined): boolean {
    if (type === ANONYMOUS || address === undefined) return this.entries.some((e) => e.type === ANONYMOUS)
    const a = address.toUpperCase()
    return this.entries.some((e) => e.type === type && e.address === a)
  }

  busy(): boolean {
    return this.inUse.some((f) => f())
  }
}

const lists = new WeakMap<VirtualController, AcceptList>()

function listOf(c: VirtualController): AcceptList {
  let l = lists.get(c)
  if (!l) {
    l = new AcceptList()
    lists.set(c, l)
  }
  return l
}

/** The controller's Filter Accept List (read-only view for advertising, scanning, initiating). */
export function filterAcceptList(c: VirtualController): FilterAcceptList {
  return listOf(c)
}

/** Declare a state that uses the list (advertising/scanning/initiating with a filter policy). */
export function filterAcceptListInUse(c: VirtualController, isUsing: () => boolean): void {
  listOf(c).inUse.push(isUsing)
}

export function installFilterAcceptList(c: VirtualController): void {
  const list = listOf(c)
  const checkType = (addressType: number): void => {
    if (addressType !== 0x00 && addressType !== 0x01 && addressType !== ANONYMOUS) {
      throw new ControllerError(Status.InvalidParameters, `Address_Type 0x${addressType.toString(16)}`)
    }
  }
  const checkIdle = (): void => {
    if (list.busy()) throw new ControllerError(Status.CommandDisallowed, 'the Filter Accept List is in use')
  }

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
    if (list.entries.some((e) => e.type === addressType && (addressType === ANONYMOUS || e.address === a))) {
      return { status: 0 } // already there: nothing to add
    }
    if (list.entries.length >= FILTER_ACCEPT_LIST_SIZE) throw new ControllerError(Status.MemoryCapacityExceeded)
    list.entries.push({ type: addressType, address: a })
    return { status: 0 }
  })

  c.handle(LeRemoveDeviceFromFilterAcceptList, ({ addressType, address }) => {
    checkType(addressType)
    checkIdle()
    const a = address.toUpperCase()
    const i = list.entries.findIndex((e) => e.type === addressType && (addressType === ANONYMOUS || e.address === a))
    if (i >= 0) list.entries.splice(i, 1)
    return { status: 0 }
  })
}
