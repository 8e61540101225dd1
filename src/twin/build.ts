/**
 * `buildTwin`: a device reconstructed from a capture of a session with it (btsnoop, pcap,
 * pcapng; any host). One pass over the records, in order:
 * - LE Advertising Reports and LE Extended Advertising Reports (Core v5.4 Vol 4 Part E 7.7.65.2,
 *   7.7.65.13; complete data only): the last advertising data and scan response of each address;
 * - LE (Enhanced) Connection Complete and Connection Complete (7.7.65.1, 7.7.65.10, 7.7.3): which
 *   peer each connection handle reaches; Disconnection Complete (7.7.5) ends it;
 * - ATT PDUs on those links, found by the trace decoder (decoder.ts: ACL reassembly and every
 *   L2CAP channel, so ATT over BR/EDR and EATT count too), given to the peer's evidence
 *   (evidence.ts); ATT on handles no connection introduced (a capture started mid-link, a
 *   vendor channel) is counted and left out.
 * The device is the one named, else the peer whose server answered the most requests. Its twin
 * is put together by assemble.ts. Memory is bounded by the number of peers and addresses kept.
 */
import { basename } from 'node:path'
import { decodeEvent } from '../../hci/events.ts'
import { DecodeError } from '../../hci/errors.ts'
import { toHex } from '../../hci/wire.ts'
import type { CaptureRecord } from '../../hci/snoop.ts'
import { decodeAttPdu } from '../../att/pdu.ts'
import { uuidEquals } from '../../att/uuid.ts'
import { parseAd } from '../../gap/ad.ts'
import { fromExtendedReport, fromLegacyReport, type ReportPart } from '../../gap/scan-report.ts'
import { TraceDecoder, type AttSighting } from '../decoder.ts'
import { openCapture } from '../capture-file.ts'
import { DeviceEvidence } from './evidence.ts'
import { assembleServices, otherAttributes } from './assemble.ts'
import { TWIN_FORMAT, TWIN_VERSION, TwinError, type Twin } from './format.ts'

const MAX_PEERS = 256
const MAX_ADVERTISERS = 4096

export interface BuildTwinOptions {
  /** The device to twin ("AA:BB:CC:DD:EE:FF"); default: the peer whose GATT server answered most. */
  device?: string
  /** The capture's name for the twin's `source` (default the file name). */
  captureName?: string
}

/** A device the capture showed, for choosing one. */
export interface TwinCandidate {
  address: string
  /** Its ATT server's responses in the capture. */
  responses: number
  connections: number
  advertised: boolean
}

export interface BuiltTwin {
  twin: Twin
  /** Every peer that was connected or advertised, most answers first. */
  candidates: TwinCandidate[]
  /** ATT PDUs on handles no connection introduced (left out). */
  unattributed: number
}

interface Advertised {
  addressType: number
  data?: Uint8Array
  scanResponse?: Uint8Array
  connectable: boolean
}

interface Link {
  peer: string
  addressType: number
  connection: number
}

class Collector {
  readonly peers = new Map<string, DeviceEvidence>()
  readonly advertisers = new Map<string, Advertised>()
  readonly addressTypes = new Map<string, number>()
  readonly links = new Map<number, Link>()
  frames = 0
  unattributed = 0
  private connections = 0
  readonly decoder = new TraceDecoder({ onAtt: (a) => this.att(a) })

  record(r: CaptureRecord): void {
    this.frames++
    this.decoder.decode(r)
    if (r.packetType === 4 && r.direction === 'rx' && r.error === undefined) this.event(r)
  }

  private event(r: CaptureRecord): void {
    const code = r.data[0]
    if (code !== 0x3e && code !== 0x03 && code !== 0x05) return
    const e = decodeEvent(r.data)
    if (e instanceof DecodeError) return
    switch (e.key) {
      case 'LeAdvertisingReport':
        for (const x of e.params.reports) this.advertised(fromLegacyReport(x))
        return
      case 'LeExtendedAdvertisingReport':
        for (const x of e.params.reports) this.advertised(fromExtendedReport(x))
        return
      case 'LeConnectionComplete':
      case 'LeEnhancedConnectionComplete':
      case 'LeEnhancedConnectionCompleteV2':
        if (e.params.status === 0)
          this.connected(
            e.params.connectionHandle & 0xfff,
            e.params.peerAddress,
            e.params.peerAddressType,
            r.timestampUs,
          )
        return
      case 'ConnectionComplete':
        if (e.params.status === 0) this.connected(e.params.connectionHandle & 0xfff, e.params.bdAddr, 0, r.timestampUs)
        return
      case 'DisconnectionComplete':
        if (e.params.status === 0) this.links.delete(e.params.connectionHandle & 0xfff)
        return
    }
  }

  private advertised(p: ReportPart): void {
    if (p.dataStatus !== 0) return
    let a = this.advertisers.get(p.address)
    if (!a) {
      if (this.advertisers.size >= MAX_ADVERTISERS) return
      a = { addressType: p.addressType, connectable: false }
      this.advertisers.set(p.address, a)
    }
    if (p.scanResponse) a.scanResponse = p.data.slice()
    else {
      a.data = p.data.slice()
      a.connectable = p.connectable
      a.addressType = p.addressType
    }
  }

  private connected(handle: number, address: string, addressType: number, tsUs: bigint): void {
    const peer = address.toUpperCase()
    let e = this.peers.get(peer)
    if (!e) {
      if (this.peers.size >= MAX_PEERS) return
      e = new DeviceEvidence()
      this.peers.set(peer, e)
    }
    const connection = ++this.connections
    this.links.set(handle, { peer, addressType, connection })
    this.addressTypes.set(peer, addressType)
    e.connected(connection, tsUs, handle)
  }

  private att(a: AttSighting): void {
    const link = this.links.get(a.handle)
    if (!link) {
      this.unattributed++
      return
    }
    const p = decodeAttPdu(a.pdu)
    if (p instanceof DecodeError) return
    this.peers.get(link.peer)!.observe(link.connection, a.cid, a.dir === 'rx', p, a.record.timestampUs)
  }
}

function candidates(c: Collector): TwinCandidate[] {
  const addresses = new Set([...c.peers.keys(), ...c.advertisers.keys()])
  return [...addresses]
    .map((address) => ({
      address,
      responses: c.peers.get(address)?.responses ?? 0,
      connections: c.peers.get(address)?.connections.size ?? 0,
      advertised: c.advertisers.has(address),
    }))
    .filter((x) => x.connections > 0 || x.advertised)
    .sort((a, b) => b.responses - a.responses || b.connections - a.connections || a.address.localeCompare(b.address))
}

function choose(c: Collector, list: TwinCandidate[], device: string | undefined): string {
  if (device !== undefined) {
    const want = device.trim().toUpperCase().replace(/-/g, ':')
    if (!list.some((x) => x.address === want))
      throw new TwinError('', `${want} was neither connected nor advertising in this capture`)
    return want
  }
  const best = list[0]
  if (!best || best.responses === 0)
    throw new TwinError(
      '',
      c.unattributed > 0
        ? `no connected device answered ATT requests (${c.unattributed} ATT PDUs on links the capture never saw open)`
        : 'no connected device answered ATT requests in this capture',
    )
  return best.address
}

/** Local Name from advertising data (CSS Part A 1.2), complete or shortened. */
function adName(data: Uint8Array | undefined): string | undefined {
  if (!data) return undefined
  return parseAd(data).localName
}

/** Build the twin of one device from a capture's records. */
export async function buildTwin(records: AsyncIterable<CaptureRecord>, o: BuildTwinOptions = {}): Promise<BuiltTwin> {
  const c = new Collector()
  for await (const r of records) c.record(r)
  const list = candidates(c)
  const address = choose(c, list, o.device)
  const e = c.peers.get(address) ?? new DeviceEvidence()
  const adv = c.advertisers.get(address)
  const addressType = c.addressTypes.get(address) ?? adv?.addressType ?? 0
  const { services, placed } = assembleServices(e)
  const gapName = services
    .find((s) => uuidEquals(s.uuid, 0x1800))
    ?.characteristics.find((x) => uuidEquals(x.uuid, 0x2a00))?.value
  const name =
    gapName !== undefined
      ? Buffer.from(gapName, 'hex').toString('utf8')
      : (adName(adv?.data) ?? adName(adv?.scanResponse))
  const device: Twin['device'] = { address, addressType: addressType & 1 ? 'random' : 'public' }
  if (name !== undefined) device.name = name
  let advertising: Twin['advertising']
  if (adv) {
    advertising = { connectable: adv.connectable }
    if (adv.data) advertising.data = toHex(adv.data)
    if (adv.scanResponse) advertising.scanResponse = toHex(adv.scanResponse)
  }
  const twin: Twin = {
    format: TWIN_FORMAT,
    version: TWIN_VERSION,
    source: { capture: o.captureName ?? 'capture', frames: c.frames, connections: e.connections.size },
    device,
    advertising,
    mtu: e.serverMtu === undefined ? undefined : Math.max(23, e.serverMtu),
    servicesComplete: e.searched.primary.covers(1, 0xffff),
    services,
    otherAttributes: otherAttributes(e, placed),
  }
  if (twin.advertising === undefined) delete twin.advertising
  if (twin.mtu === undefined) delete twin.mtu
  return { twin, candidates: list, unattributed: c.unattributed }
}

/** buildTwin on a capture file. */
export function buildTwinFromFile(path: string, o: BuildTwinOptions = {}): Promise<BuiltTwin> {
  return buildTwin(openCapture(path), { captureName: basename(path), ...o })
}
