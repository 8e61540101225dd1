/**
 * Privacy on the virtual controller (Core v5.4 Vol 6 Part B 6 "Privacy in the Link Layer", the
 * resolving list of 4.7 in resolving-list.ts) and its HCI commands (Vol 4 Part E 7.8.38 LE Add
 * Device To Resolving List, 7.8.39 LE Remove Device From Resolving List, 7.8.40 LE Clear
 * Resolving List, 7.8.41 LE Read Resolving List Size, 7.8.42 LE Read Peer Resolvable Address,
 * 7.8.43 LE Read Local Resolvable Address, 7.8.44 LE Set Address Resolution Enable, 7.8.45 LE Set
 * Resolvable Private Address Timeout, 7.8.77 LE Set Privacy Mode).
 *
 * The list cannot change (Command Disallowed 0x0C) while address resolution is enabled and
 * advertising, scanning or a Create Connection is under way; address resolution cannot be
 * switched while any of them is. Also the TargetA rule shared by scanning and initiating:
 * whether a directed advertisement is addressed to us.
 */
import {
  LeAddDeviceToResolvingList,
  LeClearResolvingList,
  LeReadLocalResolvableAddress,
  LeReadPeerResolvableAddress,
  LeReadResolvingListSize,
  LeRemoveDeviceFromResolvingList,
  LeSetAddressResolutionEnable,
  LeSetPrivacyMode,
  LeSetResolvablePrivateAddressTimeout,
} from '../../hci/commands.ts'
import { Status } from '../../hci/constants.ts'
import { fail } from './controller-error.ts'
import type { ControllerCore } from './core.ts'
import { type Heard, RESOLVING_LIST_SIZE, type ResolvingEntry } from './resolving-list.ts'
import { isRpa, zeroIrk } from './rpa.ts'

/** LE feature bits (Vol 6 Part B 4.6): 6 LL Privacy, 7 Extended Scanner Filter Policies. */
const FEATURE_LL_PRIVACY = 6
export const FEATURE_EXTENDED_SCANNER_FILTER_POLICIES = 7

/** RPA_Timeout range (7.8.45): 1 s to 1 hour. */
const MAX_RPA_TIMEOUT_S = 0x0e10

/** Advertising (other than periodic), scanning or initiating: the list is in use (7.8.38-7.8.44). */
function inUse(c: ControllerCore): boolean {
  return c.busy('legacy-advertising') || c.busy('extended-advertising') || c.busy('scanning') || c.busy('initiating')
}

function checkIdentityType(type: number): void {
  if (type > 1) fail(Status.InvalidParameters, `Peer_Identity_Address_Type 0x${type.toString(16)}`)
}

/**
 * Is a directed advertisement with TargetA `target` addressed to us, scanning or initiating with
 * `ownAddressType`? Our identity address for that type, or (address resolution enabled) an RPA
 * that resolves with the local IRK of the advertiser's entry (Vol 6 Part B 6.2, 6.3, 6.4). An
 * initiator that uses RPAs toward this advertiser ignores identity TargetAs (6.4).
 */
export function targetsUs(
  c: ControllerCore,
  ownAddressType: number,
  target: { address: string; type: number },
  advertiser: Heard,
  initiating: boolean,
): boolean {
  const list = c.resolvingList
  if (isRpa(target.address, target.type)) return list.isLocalRpa(advertiser.entry, target.address)
  const peer = { type: advertiser.type, address: advertiser.address }
  if (initiating && ownAddressType >= 2 && list.hasLocalIrk(peer)) return false
  const me = c.ownAddress(ownAddressType)
  return me !== undefined && me.address === target.address.toUpperCase() && me.type === target.type
}

/** The identity an address was heard as (the resolved identity, or the address itself). */
export function identityOf(h: Heard): { type: number; address: string } {
  return { type: h.type & 1, address: h.address }
}

function installListCommands(c: ControllerCore): void {
  const list = c.resolvingList
  const checkIdle = (): void => {
    if (list.enabled && inUse(c)) fail(Status.CommandDisallowed, 'address resolution is in use')
  }
  const existing = (type: number, address: string): ResolvingEntry =>
    list.find(type, address) ?? fail(Status.UnknownConnectionId, `${address} is not on the resolving list`)

  c.handle(LeAddDeviceToResolvingList, ({ peerIdentityAddressType: type, peerIdentityAddress, peerIrk, localIrk }) => {
    checkIdentityType(type)
    checkIdle()
    if (list.entries.length >= RESOLVING_LIST_SIZE) fail(Status.MemoryCapacityExceeded, 'the resolving list is full')
    const sameIrk = (e: ResolvingEntry): boolean => !zeroIrk(peerIrk) && e.peerIrk.every((b, i) => b === peerIrk[i])
    if (list.find(type, peerIdentityAddress) || list.entries.some(sameIrk)) {
      fail(Status.InvalidParameters, 'that identity or peer IRK is already on the resolving list')
    }
    list.entries.push({
      identity: { type, address: peerIdentityAddress.toUpperCase() },
      peerIrk: peerIrk.slice(),
      localIrk: localIrk.slice(),
      deviceMode: false,
      localRpa: undefined,
      targetRpa: undefined,
      peerRpa: undefined,
    })
    return { status: 0 }
  })

  c.handle(LeRemoveDeviceFromResolvingList, ({ peerIdentityAddressType: type, peerIdentityAddress }) => {
    checkIdentityType(type)
    checkIdle()
    list.entries.splice(list.entries.indexOf(existing(type, peerIdentityAddress)), 1)
    return { status: 0 }
  })

  c.handle(LeClearResolvingList, () => {
    checkIdle()
    list.entries.length = 0
    return { status: 0 }
  })

  c.handle(LeReadResolvingListSize, () => ({ status: 0, resolvingListSize: RESOLVING_LIST_SIZE }))

  c.handle(LeSetPrivacyMode, ({ peerIdentityAddressType: type, peerIdentityAddress, privacyMode }) => {
    checkIdentityType(type)
    if (privacyMode > 1) fail(Status.InvalidParameters, 'Privacy_Mode')
    checkIdle()
    existing(type, peerIdentityAddress).deviceMode = privacyMode === 1
    return { status: 0 }
  })
}

function installAddressCommands(c: ControllerCore): void {
  const list = c.resolvingList

  c.handle(LeReadPeerResolvableAddress, ({ peerIdentityAddressType: type, peerIdentityAddress }) => {
    checkIdentityType(type)
    const rpa = list.find(type, peerIdentityAddress)?.peerRpa
    if (rpa === undefined) fail(Status.UnknownConnectionId, 'no peer RPA known for that identity')
    return { status: 0, peerResolvableAddress: rpa }
  })

  c.handle(LeReadLocalResolvableAddress, ({ peerIdentityAddressType: type, peerIdentityAddress }) => {
    checkIdentityType(type)
    const rpa = list.localRpa({ type, address: peerIdentityAddress })
    if (rpa === undefined) fail(Status.UnknownConnectionId, 'no local IRK for that identity')
    return { status: 0, localResolvableAddress: rpa }
  })

  c.handle(LeSetAddressResolutionEnable, ({ enable }) => {
    if (enable > 1) fail(Status.InvalidParameters, 'Address_Resolution_Enable')
    if (inUse(c)) fail(Status.CommandDisallowed, 'advertising, scanning or initiating is enabled')
    list.enabled = enable === 1
    return { status: 0 }
  })

  c.handle(LeSetResolvablePrivateAddressTimeout, ({ rpaTimeout }) => {
    if (rpaTimeout < 1 || rpaTimeout > MAX_RPA_TIMEOUT_S) fail(Status.InvalidParameters, 'RPA_Timeout')
    list.timeoutS = rpaTimeout
    return { status: 0 }
  })
}

export function installPrivacy(c: ControllerCore): void {
  c.setFeature(FEATURE_LL_PRIVACY)
  c.setFeature(FEATURE_EXTENDED_SCANNER_FILTER_POLICIES)
  c.onReset(() => c.resolvingList.reset())
  installListCommands(c)
  installAddressCommands(c)
}
