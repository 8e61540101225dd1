/**
 * Legacy advertising, minimal (Core v5.4 Vol 4 Part E 7.8.5 LE Set Advertising Parameters,
 * 7.8.7 LE Set Advertising Data, 7.8.8 LE Set Scan Response Data, 7.8.9 LE Set Advertising
 * Enable; Vol 6 Part B 2.3.1 advertising PDU types; Vol 3 Part C 11 for the data format).
 *
 * One advertiser per host: `start()` sets the parameters, the data and the scan response, then
 * enables; `stop()` disables; `setData()` replaces the data while advertising (allowed for legacy
 * advertising, 7.8.7). A connectable advertiser stops when a central connects (Vol 6 Part B
 * 4.4.2.1; the controller does it); `advertising` follows that from LE (Enhanced) Connection
 * Complete with role peripheral. The full advertiser (extended sets, intervals per set,
 * duration) comes with issue 5.
 */
import type { HciHost } from '../hci/host.ts'
import {
  LeSetAdvertisingData,
  LeSetAdvertisingEnable,
  LeSetAdvertisingParameters,
  LeSetScanResponseData,
} from '../hci/commands.ts'
import { AdBuilder } from './ad.ts'
import { commandSet } from './command-set.ts'
import { GapError } from './events.ts'

export interface AdvertiseOptions {
  /** Advertising data (at most 31 octets), or a builder. */
  data?: Uint8Array | AdBuilder
  /** Scan response data (at most 31 octets): makes the advertising scannable. */
  scanResponse?: Uint8Array | AdBuilder
  /** Accept connections (default true). */
  connectable?: boolean
  /** Advertising interval in ms (default 100; 20..10240). */
  intervalMs?: number
  /** 0 public (default), 1 random (set with LE Set Random Address first). */
  ownAddressType?: number
  signal?: AbortSignal
}

const PDU = { ADV_IND: 0x00, ADV_SCAN_IND: 0x02, ADV_NONCONN_IND: 0x03 } as const

function bytesOf(d: Uint8Array | AdBuilder | undefined, what: string): Uint8Array {
  const b = d === undefined ? new Uint8Array(0) : d instanceof AdBuilder ? d.build(31) : d
  if (b.length > 31) throw new GapError('AD_TOO_LONG', `${what}: ${b.length} octets, legacy advertising carries at most 31`)
  return b
}

function padded(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(31)
  out.set(b)
  return out
}

export class Advertiser {
  /** Whether the controller is advertising (as far as the host knows). */
  advertising = false
  private readonly off: () => void

  constructor(readonly host: HciHost) {
    this.off = host.onEvent((e) => {
      if (
        (e.key === 'LeConnectionComplete' || e.key === 'LeEnhancedConnectionComplete' || e.key === 'LeEnhancedConnectionCompleteV2') &&
        e.params.status === 0 &&
        e.params.role === 1
      ) {
        this.advertising = false
      }
    })
  }

  async start(o: AdvertiseOptions = {}): Promise<void> {
    commandSet(this.host).use('legacy')
    const data = bytesOf(o.data, 'advertising data')
    const scan = o.scanResponse === undefined ? undefined : bytesOf(o.scanResponse, 'scan response')
    const connectable = o.connectable ?? true
    const ms = o.intervalMs ?? 100
    if (!(ms >= 20 && ms <= 10240)) throw new GapError('INVALID_PARAMETERS', `intervalMs ${ms}: legacy advertising allows 20..10240 ms`)
    const interval = Math.round(ms / 0.625)
    const type = connectable ? PDU.ADV_IND : scan ? PDU.ADV_SCAN_IND : PDU.ADV_NONCONN_IND
    const so = o.signal ? { signal: o.signal } : {}
    if (this.advertising) await this.stop()
    await this.host.send(
      LeSetAdvertisingParameters,
      {
        advertisingIntervalMin: interval,
        advertisingIntervalMax: interval,
        advertisingType: type,
        ownAddressType: o.ownAddressType ?? 0,
        peerAddressType: 0,
        peerAddress: '00:00:00:00:00:00',
        advertisingChannelMap: 0x07,
        advertisingFilterPolicy: 0,
      },
      so,
    )
    await this.host.send(LeSetAdvertisingData, { advertisingDataLength: data.length, advertisingData: padded(data) }, so)
    if (scan) await this.host.send(LeSetScanResponseData, { scanResponseDataLength: scan.length, scanResponseData: padded(scan) }, so)
    await this.host.send(LeSetAdvertisingEnable, { enable: 1 }, so)
    this.advertising = true
  }

  /** Replace the advertising data (and scan response) while advertising or not. */
  async setData(data: Uint8Array | AdBuilder, scanResponse?: Uint8Array | AdBuilder): Promise<void> {
    commandSet(this.host).use('legacy')
    const d = bytesOf(data, 'advertising data')
    await this.host.send(LeSetAdvertisingData, { advertisingDataLength: d.length, advertisingData: padded(d) })
    if (scanResponse !== undefined) {
      const s = bytesOf(scanResponse, 'scan response')
      await this.host.send(LeSetScanResponseData, { scanResponseDataLength: s.length, scanResponseData: padded(s) })
    }
  }

  /** Disable advertising (disabling while disabled is not an error, 7.8.9). */
  async stop(): Promise<void> {
    await this.host.send(LeSetAdvertisingEnable, { enable: 0 })
    this.advertising = false
  }

  close(): void {
    this.off()
  }
}
