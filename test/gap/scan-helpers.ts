/**
 * Shared by the gap scanner/advertiser tests: a scripted controller brought up with chosen LE
 * features (Core v5.4 Vol 6 Part B 4.6: bit 11 LE Coded PHY, bit 12 LE Extended Advertising), and
 * LE Advertising Report / LE Extended Advertising Report events written by hand from Core v5.4
 * Vol 4 Part E 7.7.65.2 and 7.7.65.13 (not with our encoder).
 */
import { Script, ev } from '../helpers/hci-script.ts'
import { toHex } from '../../hci/wire.ts'

const le16 = (v: number): string => toHex(Uint8Array.of(v & 0xff, (v >> 8) & 0xff))
const u8 = (v: number): string => toHex(Uint8Array.of(v & 0xff))
/** "11:22:33:44:55:66" -> little-endian hex. */
export const addrLe = (a: string): string => a.split(':').reverse().join('').toLowerCase()

/** Bring the host up; `leFeatures` is the 8-octet LE features hex answered to 0x2003. */
export async function ready(leFeatures = '1f00000000000000'): Promise<Script> {
  const s = new Script()
  const init = s.host.init()
  await s.answer(0x0c03, '00') // Reset
  await s.answer(0x1001, '00' + '0c' + '3412' + '0c' + '0f00' + '7856') // Read Local Version Information
  await s.answer(0x1002, '00' + '00'.repeat(64)) // Read Local Supported Commands
  await s.answer(0x1003, '00' + 'bffecffedbff7b87') // Read Local Supported Features
  await s.answer(0x1009, '00' + '665544332211') // Read BD_ADDR
  await s.answer(0x0c01, '00') // Set Event Mask
  await s.answer(0x2001, '00') // LE Set Event Mask
  await s.answer(0x2002, '00' + 'fb00' + '08') // LE Read Buffer Size [v1]
  await s.answer(0x2003, '00' + leFeatures) // LE Read Local Supported Features
  await init
  return s
}

/** LE features with LE Extended Advertising (bit 12), and LE Coded PHY (bit 11) if asked. */
export const EXTENDED = '1f10000000000000'
export const EXTENDED_CODED = '1f18000000000000'

/** One legacy report in one event: event type, address, data hex, RSSI. */
export function legacyReport(type: number, addr: string, data: string, rssi = -40, addrType = 0): string {
  const d = data.replace(/\s/g, '')
  return ev.raw(0x3e, '02' + '01' + u8(type) + u8(addrType) + addrLe(addr) + u8(d.length / 2) + d + u8(rssi))
}

export interface ExtFields {
  eventType: number
  addr: string
  addrType?: number
  primaryPhy?: number
  secondaryPhy?: number
  sid?: number
  txPower?: number
  rssi?: number
  data?: string
}

/** One extended report in one event (7.7.65.13 field order). */
export function extReport(f: ExtFields): string {
  const d = (f.data ?? '').replace(/\s/g, '')
  return ev.raw(
    0x3e,
    '0d' +
      '01' +
      le16(f.eventType) +
      u8(f.addrType ?? 0) +
      addrLe(f.addr) +
      u8(f.primaryPhy ?? 1) +
      u8(f.secondaryPhy ?? 0) +
      u8(f.sid ?? 0xff) +
      u8(f.txPower ?? 0x7f) +
      u8(f.rssi ?? -50) +
      '0000' +
      '00' +
      '000000000000' +
      u8(d.length / 2) +
      d,
  )
}
