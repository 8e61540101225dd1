/**
 * Advertising of the virtual controller: legacy (Core v5.4 Vol 4 Part E 7.8.5-7.8.9,
 * advertising-legacy.ts) and extended (7.8.52-7.8.60, advertising-extended.ts) commands over one
 * model of advertising sets (adv-set.ts), and the advertiser's side of the air (Vol 6 Part B
 * 4.4.2, advertiser.ts). This file puts them together on a controller.
 */
import type { ControllerCore } from './core.ts'
import { Advertiser } from './advertiser.ts'
import { installLegacyAdvertising } from './advertising-legacy.ts'
import { installExtendedAdvertising } from './advertising-extended.ts'
import { filterAcceptListInUse } from './filter-accept-list.ts'

export { MAX_ADVERTISING_DATA_LENGTH } from './adv-set.ts'
export { ADVERTISING_SETS } from './advertising-extended.ts'

/** LE feature bit 12: LE Extended Advertising (Vol 6 Part B 4.6). */
const FEATURE_EXTENDED_ADVERTISING = 12

export function installAdvertising(c: ControllerCore): Advertiser {
  const adv = new Advertiser(c)
  c.setFeature(FEATURE_EXTENDED_ADVERTISING)
  c.activity('legacy-advertising', () => adv.legacy.enabled)
  filterAcceptListInUse(c, () => adv.usesAcceptList)
  c.activity('extended-advertising', () => adv.extendedEnabled)
  c.onReset(() => adv.reset())
  c.onAir('scan_req', (from, pdu) => adv.scanRequest(from, pdu))
  c.onAir('connect_ind', (from, pdu, rssi) => adv.connectRequest(from, pdu, rssi))
  installLegacyAdvertising(c, adv)
  installExtendedAdvertising(c, adv)
  return adv
}
