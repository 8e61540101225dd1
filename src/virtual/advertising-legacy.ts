/**
 * The legacy advertising commands of the virtual controller (Core v5.4 Vol 4 Part E 7.8.5 LE Set
 * Advertising Parameters, 7.8.6 LE Read Advertising Physical Channel Tx Power, 7.8.7 LE Set
 * Advertising Data, 7.8.8 LE Set Scan Response Data, 7.8.9 LE Set Advertising Enable), on the
 * advertiser's legacy set (advertiser.ts).
 */
import {
  LeReadAdvertisingPhysicalChannelTxPower,
  LeSetAdvertisingData,
  LeSetAdvertisingEnable,
  LeSetAdvertisingParameters,
  LeSetScanResponseData,
} from '../../hci/commands.ts'
import type { CommandParams } from '../../hci/spec.ts'
import { Status } from '../../hci/constants.ts'
import { fail } from './controller-error.ts'
import type { ControllerCore } from './core.ts'
import { LEGACY_TYPE_PROPS, TX_POWER, defaultParams, type SetParams } from './adv-set.ts'
import type { Advertiser } from './advertiser.ts'

/** 7.8.5: the parameters checked and turned into the set's parameters. */
function legacyParams(p: CommandParams<typeof LeSetAdvertisingParameters>): SetParams {
  if (p.advertisingType > 4) fail(Status.InvalidParameters, 'Advertising_Type')
  const highDuty = p.advertisingType === 1
  if (!highDuty) {
    const ok = (v: number): boolean => v >= 0x0020 && v <= 0x4000
    if (!ok(p.advertisingIntervalMin) || !ok(p.advertisingIntervalMax)) fail(Status.InvalidParameters, 'interval')
    if (p.advertisingIntervalMin > p.advertisingIntervalMax) fail(Status.InvalidParameters, 'interval min > max')
  }
  if (p.ownAddressType > 3 || p.peerAddressType > 1) fail(Status.InvalidParameters, 'address type')
  if (p.advertisingChannelMap === 0 || p.advertisingChannelMap > 7) fail(Status.InvalidParameters, 'channel map')
  if (p.advertisingFilterPolicy > 3) fail(Status.InvalidParameters, 'filter policy')
  return {
    ...defaultParams(),
    props: LEGACY_TYPE_PROPS[p.advertisingType]!,
    intervalMs: p.advertisingIntervalMin * 0.625,
    ownAddressType: p.ownAddressType,
    peerAddressType: p.peerAddressType,
    peerAddress: p.peerAddress,
    filterPolicy: p.advertisingFilterPolicy,
  }
}

export function installLegacyAdvertising(c: ControllerCore, adv: Advertiser): void {
  c.handle(LeSetAdvertisingParameters, (p) => {
    if (adv.legacy.enabled) fail(Status.CommandDisallowed, 'advertising is enabled')
    adv.legacy.params = legacyParams(p)
    return { status: 0 }
  })

  c.handle(LeReadAdvertisingPhysicalChannelTxPower, () => ({ status: 0, txPowerLevel: TX_POWER }))

  c.handle(LeSetAdvertisingData, ({ advertisingDataLength, advertisingData }) => {
    if (advertisingDataLength > 31) fail(Status.InvalidParameters, 'Advertising_Data_Length')
    adv.legacy.data = advertisingData.slice(0, advertisingDataLength)
    return { status: 0 }
  })

  c.handle(LeSetScanResponseData, ({ scanResponseDataLength, scanResponseData }) => {
    if (scanResponseDataLength > 31) fail(Status.InvalidParameters, 'Scan_Response_Data_Length')
    adv.legacy.scanRsp = scanResponseData.slice(0, scanResponseDataLength)
    return { status: 0 }
  })

  c.handle(LeSetAdvertisingEnable, ({ enable }) => {
    if (enable > 1) fail(Status.InvalidParameters, 'Advertising_Enable')
    const legacy = adv.legacy
    if (enable === 0) {
      legacy.stop()
      return { status: 0 }
    }
    if (legacy.enabled) return { status: 0 }
    if (!adv.airAddress(legacy)) fail(Status.InvalidParameters, 'own address is random but no random address is set')
    adv.start(legacy, 0, 0)
    return { status: 0 }
  })
}
