/**
 * The extended advertising commands of the virtual controller (Core v5.4 Vol 4 Part E 7.8.52 LE
 * Set Advertising Set Random Address, 7.8.53 LE Set Extended Advertising Parameters, 7.8.54 LE
 * Set Extended Advertising Data, 7.8.55 LE Set Extended Scan Response Data, 7.8.56 LE Set
 * Extended Advertising Enable, 7.8.57 LE Read Maximum Advertising Data Length, 7.8.58 LE Read
 * Number of Supported Advertising Sets, 7.8.59 LE Remove Advertising Set, 7.8.60 LE Clear
 * Advertising Sets) on the advertiser's sets 0x00-0xEF (advertiser.ts).
 */
import {
  LeClearAdvertisingSets,
  LeReadMaximumAdvertisingDataLength,
  LeReadNumberOfSupportedAdvertisingSets,
  LeRemoveAdvertisingSet,
  LeSetAdvertisingSetRandomAddress,
  LeSetExtendedAdvertisingData,
  LeSetExtendedAdvertisingEnable,
  LeSetExtendedAdvertisingParameters,
  LeSetExtendedScanResponseData,
} from '../../hci/commands.ts'
import type { CommandParams } from '../../hci/spec.ts'
import { Status } from '../../hci/constants.ts'
import { fail } from './controller-error.ts'
import type { ControllerCore } from './core.ts'
import {
  ANONYMOUS,
  AdvSet,
  CONNECTABLE,
  DIRECTED,
  HIGH_DUTY,
  LEGACY,
  LEGACY_PROPS,
  MAX_ADVERTISING_DATA_LENGTH,
  SCANNABLE,
  TX_POWER,
  allowsData,
  allowsScanRsp,
  propsOf,
} from './adv-set.ts'
import type { Advertiser } from './advertiser.ts'

/** Sets of LE Read Number of Supported Advertising Sets (7.8.58). */
export const ADVERTISING_SETS = 4
/** Advertising_Handle range (7.8.53). */
const MAX_HANDLE = 0xef

type ExtParams = CommandParams<typeof LeSetExtendedAdvertisingParameters>
type EnableParams = CommandParams<typeof LeSetExtendedAdvertisingEnable>

/** 7.8.53: Advertising_Event_Properties and the intervals they need. */
function checkProperties(p: ExtParams): void {
  const props = p.advertisingEventProperties
  if (props & ~0x7f) fail(Status.InvalidParameters, 'Advertising_Event_Properties: reserved bits')
  if (props & LEGACY) {
    if (!LEGACY_PROPS.has(props & 0x1f) || props & ANONYMOUS) fail(Status.InvalidParameters, 'legacy event properties')
  } else {
    if (props & CONNECTABLE && props & SCANNABLE) fail(Status.InvalidParameters, 'connectable and scannable')
    if (props & ANONYMOUS && props & CONNECTABLE) fail(Status.InvalidParameters, 'anonymous and connectable')
    if (props & HIGH_DUTY && !(props & DIRECTED && props & CONNECTABLE)) fail(Status.InvalidParameters, 'high duty')
  }
  const highDuty = (props & HIGH_DUTY) !== 0 && (props & DIRECTED) !== 0
  if (!highDuty) {
    const ok = (v: number): boolean => v >= 0x000020 && v <= 0xffffff
    if (!ok(p.primaryAdvertisingIntervalMin) || !ok(p.primaryAdvertisingIntervalMax))
      fail(Status.InvalidParameters, 'interval')
    if (p.primaryAdvertisingIntervalMin > p.primaryAdvertisingIntervalMax)
      fail(Status.InvalidParameters, 'interval min > max')
  }
}

/** 7.8.53: channels, addresses, filter policy, Tx power, PHYs, SID. */
function checkOthers(c: ControllerCore, p: ExtParams): void {
  if (p.primaryAdvertisingChannelMap === 0 || p.primaryAdvertisingChannelMap > 7)
    fail(Status.InvalidParameters, 'channel map')
  if (p.ownAddressType > 3 || p.peerAddressType > 1) fail(Status.InvalidParameters, 'address type')
  if (p.advertisingFilterPolicy > 3) fail(Status.InvalidParameters, 'filter policy')
  if (!(p.advertisingTxPower === 0x7f || (p.advertisingTxPower >= -127 && p.advertisingTxPower <= 20))) {
    fail(Status.InvalidParameters, 'Advertising_TX_Power')
  }
  if (p.primaryAdvertisingPhy !== 1 && p.primaryAdvertisingPhy !== 3)
    fail(Status.InvalidParameters, 'Primary_Advertising_PHY')
  if (p.primaryAdvertisingPhy === 3 && !c.hasFeature(11)) fail(Status.UnsupportedFeature, 'LE Coded PHY')
  if (!(p.advertisingEventProperties & LEGACY)) {
    if (p.secondaryAdvertisingPhy < 1 || p.secondaryAdvertisingPhy > 3)
      fail(Status.InvalidParameters, 'Secondary_Advertising_PHY')
    if (p.secondaryAdvertisingPhy === 2 && !c.hasFeature(8)) fail(Status.UnsupportedFeature, 'LE 2M PHY')
    if (p.secondaryAdvertisingPhy === 3 && !c.hasFeature(11)) fail(Status.UnsupportedFeature, 'LE Coded PHY')
  }
  if (p.advertisingSid > 0x0f) fail(Status.InvalidParameters, 'Advertising_SID')
  if (p.scanRequestNotificationEnable > 1) fail(Status.InvalidParameters, 'Scan_Request_Notification_Enable')
}

/** 7.8.53: data an existing set already holds must suit its new type. */
function checkExistingData(s: AdvSet, props: number): void {
  const legacyPdu = (props & LEGACY) !== 0
  if (s.data.length > 0 && (!allowsData(props) || (legacyPdu && s.data.length > 31)))
    fail(Status.InvalidParameters, 'existing advertising data')
  if (s.scanRsp.length > 0 && (!allowsScanRsp(props) || (legacyPdu && s.scanRsp.length > 31)))
    fail(Status.InvalidParameters, 'existing scan response data')
}

/** 7.8.56: can each listed set be enabled as asked? */
function checkEnable(adv: Advertiser, targets: Array<{ e: EnableParams['sets'][number]; s: AdvSet }>): void {
  for (const { e, s } of targets) {
    const props = s.params.props
    if (s.partialData || s.partialScanRsp) fail(Status.CommandDisallowed, 'partial data')
    if (props & SCANNABLE && !(props & LEGACY) && s.scanRsp.length === 0)
      fail(Status.CommandDisallowed, 'scannable set without scan response data')
    if (!adv.airAddress(s)) fail(Status.InvalidParameters, 'own address is random but the set has no random address')
    const highDuty = propsOf(props).highDuty === true || (props & HIGH_DUTY && props & DIRECTED)
    if (highDuty && (e.duration === 0 || e.duration > 128))
      fail(Status.InvalidParameters, 'high duty cycle directed advertising needs a duration up to 1.28 s')
  }
}

/** 7.8.56: enable or disable the listed sets (all sets: an empty list disables them all). */
function enableSets(
  adv: Advertiser,
  enable: number,
  list: EnableParams['sets'],
  existing: (h: number) => AdvSet,
): void {
  if (enable > 1) fail(Status.InvalidParameters, 'Enable')
  if (list.length === 0) {
    if (enable === 1) fail(Status.InvalidParameters, 'Num_Sets 0 only disables')
    for (const s of adv.sets.values()) s.stop()
    return
  }
  if (list.length > ADVERTISING_SETS) fail(Status.InvalidParameters, 'Num_Sets')
  const seen = new Set<number>()
  for (const e of list) {
    if (seen.has(e.advertisingHandle)) fail(Status.InvalidParameters, 'the same set twice')
    seen.add(e.advertisingHandle)
  }
  const targets = list.map((e) => ({ e, s: existing(e.advertisingHandle) }))
  if (enable === 0) {
    for (const { s } of targets) s.stop()
    return
  }
  checkEnable(adv, targets)
  for (const { e, s } of targets) adv.start(s, e.duration * 10, e.maxExtendedAdvertisingEvents)
}

export function installExtendedAdvertising(c: ControllerCore, adv: Advertiser): void {
  const sets = adv.sets
  const existing = (handle: number): AdvSet => {
    if (handle > MAX_HANDLE) fail(Status.InvalidParameters, 'Advertising_Handle')
    return sets.get(handle) ?? fail(Status.UnknownAdvertisingIdentifier)
  }

  c.handle(LeSetAdvertisingSetRandomAddress, ({ advertisingHandle, randomAddress }) => {
    existing(advertisingHandle).randomAddress = randomAddress
    return { status: 0 }
  })

  c.handle(LeSetExtendedAdvertisingParameters, (p) => {
    if (p.advertisingHandle > MAX_HANDLE) fail(Status.InvalidParameters, 'Advertising_Handle')
    let s = sets.get(p.advertisingHandle)
    if (s?.enabled) fail(Status.CommandDisallowed, 'advertising set is enabled')
    if (!s && sets.size >= ADVERTISING_SETS) fail(Status.MemoryCapacityExceeded, 'no advertising set left')
    checkProperties(p)
    checkOthers(c, p)
    const props = p.advertisingEventProperties
    if (s) checkExistingData(s, props)
    else {
      s = new AdvSet(p.advertisingHandle, false)
      sets.set(p.advertisingHandle, s)
    }
    const txPower = p.advertisingTxPower === 0x7f ? TX_POWER : Math.max(-20, Math.min(10, p.advertisingTxPower))
    s.params = {
      props,
      intervalMs: p.primaryAdvertisingIntervalMin * 0.625,
      ownAddressType: p.ownAddressType,
      peerAddressType: p.peerAddressType,
      peerAddress: p.peerAddress,
      filterPolicy: p.advertisingFilterPolicy,
      txPower,
      primaryPhy: p.primaryAdvertisingPhy,
      secondaryPhy: props & LEGACY ? 1 : p.secondaryAdvertisingPhy,
      sid: p.advertisingSid,
      scanRequestNotification: p.scanRequestNotificationEnable === 1,
    }
    return { status: 0, selectedTxPower: txPower }
  })

  c.handle(LeSetExtendedAdvertisingData, (p) => {
    existing(p.advertisingHandle).setFragment('data', p.operation, p.fragmentPreference, p.advertisingData)
    return { status: 0 }
  })

  c.handle(LeSetExtendedScanResponseData, (p) => {
    existing(p.advertisingHandle).setFragment('scanRsp', p.operation, p.fragmentPreference, p.scanResponseData)
    return { status: 0 }
  })

  c.handle(LeSetExtendedAdvertisingEnable, ({ enable, sets: list }) => {
    enableSets(adv, enable, list, existing)
    return { status: 0 }
  })

  c.handle(LeReadMaximumAdvertisingDataLength, () => ({
    status: 0,
    maxAdvertisingDataLength: MAX_ADVERTISING_DATA_LENGTH,
  }))
  c.handle(LeReadNumberOfSupportedAdvertisingSets, () => ({ status: 0, numSupportedAdvertisingSets: ADVERTISING_SETS }))

  c.handle(LeRemoveAdvertisingSet, ({ advertisingHandle }) => {
    if (existing(advertisingHandle).enabled) fail(Status.CommandDisallowed, 'advertising set is enabled')
    sets.delete(advertisingHandle)
    return { status: 0 }
  })

  c.handle(LeClearAdvertisingSets, () => {
    if (adv.extendedEnabled) fail(Status.CommandDisallowed, 'an advertising set is enabled')
    sets.clear()
    return { status: 0 }
  })
}
