/**
 * The trace decoder behind `hcikit decode` and `HCIKIT_LOG`: turns capture records (or live
 * packets) into plain, JSON-ready objects, one per record, in order, and never stops early.
 *
 * HCI packets are decoded with the hci/ specs (Core v5.4 Vol 4 Part E 5.4 and 7), advertising
 * reports' data with gap/ad.ts (CSS Part A), ACL is reassembled per connection handle and the
 * completed L2CAP PDU (Core v5.4 Vol 3 Part A 3.1) is decoded by channel: ATT (CID 4, Vol 3
 * Part F 3.4), the signalling channels (CID 1 on BR/EDR, CID 5 on LE, Vol 3 Part A 4), SMP
 * (CID 6, Vol 3 Part H 3), and the dynamic channels the signalling opened (decoder-channels.ts):
 * ATT over BR/EDR (PSM 0x001F) and EATT (PSM 0x0027) decode as ATT, the SDUs of any credit-based
 * channel are reassembled and shown (`sdu`), and every frame on a known channel names its PSM.
 * hcikit's own note records (H4 type 0xFF, UTF-8 text: injected faults, API call tags) are shown
 * as notes.
 *
 * Handles that no Connection Complete introduced are still decoded (captures often start in the
 * middle of a connection) but flagged `unknownHandle`, so a reader can tell a controller's vendor
 * channel (Android's 0x0EDC) from a link.
 */
import { decodeAclHeader, AclReassembler, DEFAULT_MAX_PDU_SIZE } from '../hci/acl.ts'
import { commandName, decodeCommand, decodeReturnParameters } from '../hci/commands.ts'
import { DecodeError, type AclError } from '../hci/errors.ts'
import { decodeEvent, type HciEvent } from '../hci/events.ts'
import { formatValue } from '../hci/spec.ts'
import type { CaptureRecord, Direction } from '../hci/snoop.ts'
import { toHex } from '../hci/wire.ts'
import { decodeAttPdu } from '../att/pdu.ts'
import { decodeL2capHeader, CID } from '../att/l2cap/frame.ts'
import { decodeSignaling, signalingName } from '../att/l2cap/signaling-pdu.ts'
import { parseAd, adToJson } from '../gap/ad.ts'
import { decodeSmpPdu, smpCodeName } from '../gap/smp/pdu.ts'
import { statusName } from '../hci/constants.ts'
import { L2capChannels, PSM_ATT, PSM_EATT } from './decoder-channels.ts'
import { NOTE_PACKET_TYPE, noteText } from './notes.ts'
import { printable } from './printable.ts'

export type PacketKind = 'cmd' | 'evt' | 'acl' | 'sco' | 'iso' | 'other'

export interface DecodedReport {
  address: string
  addressType: number
  rssi: number
  eventType: number
  data: string
  ad: Record<string, unknown>
}

export interface DecodedRecord {
  frame: number
  ts?: string
  dir?: Direction
  type: PacketKind
  length: number
  name?: string
  opcode?: number
  event?: number
  subevent?: number
  status?: number
  statusName?: string
  params?: Record<string, unknown>
  reports?: DecodedReport[]
  handle?: number
  pb?: number
  bc?: number
  unknownHandle?: boolean
  /** psm and protocol on a dynamic channel whose set-up was seen; sduLength on an SDU's first K-frame. */
  l2cap?: { cid: number; length: number; psm?: number; protocol?: string; sduLength?: number }
  /** A complete SDU of a credit-based channel whose protocol is not decoded here. */
  sdu?: { length: number; data: string }
  l2capError?: string
  att?: { opcode: number; name: string; handle?: number; value?: string; params?: Record<string, unknown> }
  smp?: { code: number; name: string; params?: Record<string, unknown> }
  signaling?: { code: number; name: string; identifier?: number; params?: Record<string, unknown> }
  note?: string
  error?: string
}

/** Plain JSON values: bytes as hex, nested objects and arrays converted. */
export function jsonify(v: unknown): unknown {
  if (v instanceof Uint8Array) return toHex(v)
  if (typeof v === 'bigint') return v.toString()
  if (Array.isArray(v)) return v.map(jsonify)
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) o[k] = jsonify(x)
    return o
  }
  return v
}

const PACKET_KINDS: Record<number, PacketKind> = { 1: 'cmd', 2: 'acl', 3: 'sco', 4: 'evt', 5: 'iso' }

const CONNECTION_EVENTS = new Set([
  'LeConnectionComplete',
  'LeEnhancedConnectionComplete',
  'LeEnhancedConnectionCompleteV2',
  'ConnectionComplete',
])

/** An ATT PDU the decoder found, on the fixed channel or a dynamic one (for src/twin/). */
export interface AttSighting {
  record: CaptureRecord
  handle: number
  dir: Direction
  /** The L2CAP channel: 0x0004, or the dynamic CID of ATT over BR/EDR or EATT. */
  cid: number
  pdu: Uint8Array
}

export interface DecoderOptions {
  /** Bound on one reassembled L2CAP PDU (bytes). */
  maxPdu?: number
  /** Called with every ATT PDU, as it is decoded (the twin builder reads the database from them). */
  onAtt?: (a: AttSighting) => void
}

export class TraceDecoder {
  /** One reassembler per direction; each serves every handle. */
  private readonly reassembly: Record<Direction, AclReassembler>
  private readonly connected = new Set<number>()
  private readonly channels = new L2capChannels()
  private readonly onAtt: ((a: AttSighting) => void) | undefined
  private current: CaptureRecord | undefined
  private lastError: AclError | DecodeError | undefined

  constructor(options: DecoderOptions = {}) {
    const opts = {
      maxPduSize: options.maxPdu ?? DEFAULT_MAX_PDU_SIZE,
      onError: (e: AclError | DecodeError) => {
        this.lastError = e
      },
    }
    this.reassembly = { tx: new AclReassembler(opts), rx: new AclReassembler(opts) }
    this.onAtt = options.onAtt
  }

  decode(rec: CaptureRecord): DecodedRecord {
    this.current = rec
    const type = rec.packetType === undefined ? 'other' : (PACKET_KINDS[rec.packetType] ?? 'other')
    const out: DecodedRecord = { frame: rec.index, type, length: rec.data.length }
    if (rec.direction) out.dir = rec.direction
    out.ts = timestamp(rec.timestampUs)
    if (rec.note) out.note = rec.note.text ? `${rec.note.kind}: ${rec.note.text}` : rec.note.kind
    if (rec.packetType === NOTE_PACKET_TYPE) {
      out.note = `hcikit: ${noteText(rec.data)}`
      return out
    }
    if (rec.error) {
      out.error = rec.error
      return out
    }
    try {
      switch (type) {
        case 'cmd':
          this.command(rec.data, out)
          break
        case 'evt':
          this.event(rec.data, out)
          break
        case 'acl':
          this.acl(rec.data, rec.direction, out)
          break
        case 'sco':
        case 'iso':
          if (rec.data.length >= 2) out.handle = (rec.data[0]! | (rec.data[1]! << 8)) & 0x0fff
          break
        case 'other':
          if (rec.packetType !== undefined) out.error = `unknown packet type 0x${rec.packetType.toString(16)}`
          break
      }
    } catch (e) {
      // A decoder bug must not stop the trace: report it on the record and go on.
      out.error = `internal: ${e instanceof Error ? e.message : String(e)}`
    }
    return out
  }

  private command(data: Uint8Array, out: DecodedRecord): void {
    if (data.length >= 2) out.opcode = data[0]! | (data[1]! << 8)
    const c = decodeCommand(data)
    if (c instanceof DecodeError) {
      out.error = c.message
      if (out.opcode !== undefined) out.name = commandName(out.opcode)
      return
    }
    out.name = c.name
    if (c.params) out.params = jsonify(c.params) as Record<string, unknown>
  }

  private event(data: Uint8Array, out: DecodedRecord): void {
    if (data.length >= 1) out.event = data[0]!
    if (data[0] === 0x3e && data.length >= 3) out.subevent = data[2]!
    const e = decodeEvent(data)
    if (e instanceof DecodeError) {
      out.error = e.message
      return
    }
    out.name = e.name
    if (e.key === 'Unknown') return
    this.track(e)
    const params = e.params as Record<string, unknown>
    let status = params['status']
    if (e.key === 'CommandComplete') {
      const p = e.params
      out.opcode = p.opcode
      const r = decodeReturnParameters(p.opcode, p.returnParameters)
      if (r instanceof DecodeError) out.error = `return parameters of ${commandName(p.opcode)}: ${r.message}`
      else if (r)
        out.params = { numHciCommandPackets: p.numHciCommandPackets, opcode: p.opcode, ...(jsonify(r.value) as object) }
      else out.params = jsonify(params) as Record<string, unknown>
      // the status of the command is the first return parameter when there is one
      status = r && !(r instanceof DecodeError) ? r.value['status'] : p.returnParameters[0]
    } else {
      if (e.key === 'CommandStatus') out.opcode = e.params.opcode
      out.params = jsonify(params) as Record<string, unknown>
    }
    if (typeof status === 'number') {
      out.status = status
      out.statusName = statusName(status)
    }
    if (
      e.key === 'LeAdvertisingReport' ||
      e.key === 'LeDirectedAdvertisingReport' ||
      e.key === 'LeExtendedAdvertisingReport'
    ) {
      out.reports = (params['reports'] as Record<string, unknown>[]).map((r) => {
        const data = (r['data'] as Uint8Array | undefined) ?? new Uint8Array(0)
        return {
          address: r['address'] as string,
          addressType: r['addressType'] as number,
          rssi: r['rssi'] as number,
          eventType: r['eventType'] as number,
          data: toHex(data),
          ad: adToJson(parseAd(data)),
        }
      })
      delete out.params
    }
  }

  /** Connection state, so that data on handles no link introduced can be flagged. */
  private track(e: HciEvent): void {
    if (e.key === 'Unknown') return
    if (CONNECTION_EVENTS.has(e.key)) {
      const p = e.params as Record<string, unknown>
      if (p['status'] === 0) this.connected.add(p['connectionHandle'] as number)
    } else if (e.key === 'DisconnectionComplete') {
      if (e.params.status === 0) {
        this.connected.delete(e.params.connectionHandle)
        this.reassembly.tx.drop(e.params.connectionHandle)
        this.reassembly.rx.drop(e.params.connectionHandle)
        this.channels.drop(e.params.connectionHandle)
      }
    }
  }

  private acl(data: Uint8Array, dir: Direction | undefined, out: DecodedRecord): void {
    const h = decodeAclHeader(data)
    if (h instanceof DecodeError) {
      out.error = h.message
      return
    }
    out.handle = h.handle
    out.pb = h.pb
    out.bc = h.bc
    out.length = h.length
    if (!this.connected.has(h.handle)) out.unknownHandle = true
    this.lastError = undefined
    const pdu = this.reassembly[dir ?? 'rx'].push(h)
    if (this.lastError) out.l2capError = (this.lastError as Error).message
    if (pdu) this.l2cap(pdu, h.handle, dir ?? 'rx', out)
  }

  private l2cap(pdu: Uint8Array, handle: number, dir: Direction, out: DecodedRecord): void {
    const f = decodeL2capHeader(pdu)
    if (f instanceof DecodeError) {
      out.l2capError = f.message
      return
    }
    out.l2cap = { cid: f.cid, length: f.length }
    if (f.cid >= CID.DYNAMIC_FIRST) return this.dynamic(f.payload, handle, dir, f.cid, out)
    if (f.cid === CID.ATT) {
      this.att(f.payload, handle, dir, f.cid, out)
    } else if (f.cid === CID.SMP) {
      const code = f.payload[0]
      if (code === undefined) {
        out.l2capError = 'SMP: empty PDU'
        return
      }
      out.smp = { code, name: smpCodeName(code) }
      const s = decodeSmpPdu(f.payload)
      if (s instanceof DecodeError) out.l2capError = `SMP: ${s.message}`
      else if (s.params) out.smp.params = jsonify(s.params) as Record<string, unknown>
    } else if (f.cid === CID.LE_SIGNALING || f.cid === CID.SIGNALING) {
      const code = f.payload[0]
      if (code === undefined) {
        out.l2capError = 'signalling: empty C-frame'
        return
      }
      out.signaling = { code, name: signalingName(code) }
      const s = decodeSignaling(f.payload)
      if (s instanceof DecodeError) out.l2capError = `signalling: ${s.message}`
      else if (s[0]) {
        this.channels.signaling(handle, dir, s)
        out.signaling.identifier = s[0].identifier
        if (s[0].params) out.signaling.params = jsonify(s[0].params) as Record<string, unknown>
      }
    }
  }

  private att(pdu: Uint8Array, handle: number, dir: Direction, cid: number, out: DecodedRecord): void {
    decodeAtt(pdu, out)
    if (this.onAtt && this.current) this.onAtt({ record: this.current, handle, dir, cid, pdu })
  }

  /** A frame on a dynamic CID: named by the channel's PSM; ATT/EATT decoded, other SDUs shown. */
  private dynamic(payload: Uint8Array, handle: number, dir: Direction, cid: number, out: DecodedRecord): void {
    const f = this.channels.frame(handle, dir, cid, payload)
    if (!f) return
    const l2cap = out.l2cap!
    l2cap.psm = f.channel.psm
    l2cap.protocol = f.channel.protocol
    if (f.sduLength !== undefined) l2cap.sduLength = f.sduLength
    if (f.error !== undefined) out.l2capError = f.error
    if (f.sdu === undefined) return
    const isAtt =
      (f.channel.psm === PSM_ATT && f.channel.mode === 'basic') ||
      (f.channel.psm === PSM_EATT && f.channel.mode === 'enhanced-credit')
    if (isAtt) this.att(f.sdu, handle, dir, cid, out)
    else if (f.channel.mode !== 'basic') out.sdu = { length: f.sdu.length, data: toHex(f.sdu) }
  }
}

/** An ATT PDU (Core v5.4 Vol 3 Part F 3.3, 3.4), on the fixed channel or a dynamic one. */
function decodeAtt(payload: Uint8Array, out: DecodedRecord): void {
  const a = decodeAttPdu(payload)
  if (a instanceof DecodeError) {
    out.att = { opcode: payload[0] ?? -1, name: 'malformed' }
    out.l2capError = `ATT: ${a.message}`
    return
  }
  out.att = { opcode: a.opcode, name: a.name }
  if (a.handle !== undefined) out.att.handle = a.handle
  if (a.value !== undefined) out.att.value = toHex(a.value)
  if (a.params) out.att.params = jsonify(a.params) as Record<string, unknown>
}

/** The largest |milliseconds| a Date can hold (ECMA-262 21.4.1.1: 8.64e15 ms, 100,000,000 days). */
const MAX_DATE_MS = 8_640_000_000_000_000n

/**
 * Microseconds since 1970-01-01 UTC as ISO 8601 with six decimals. Seconds are floored (not
 * truncated toward zero), so a time before 1970 with a fraction keeps its second
 * (-1 us is 1969-12-31T23:59:59.999999Z); years outside 0000-9999 take ISO's expanded form
 * (+010000-01-01T00:00:00.000000Z). Beyond what a Date can hold: undefined.
 */
export function timestamp(us: bigint): string | undefined {
  const frac = ((us % 1_000_000n) + 1_000_000n) % 1_000_000n
  const ms = ((us - frac) / 1_000_000n) * 1000n
  if (ms > MAX_DATE_MS || ms < -MAX_DATE_MS) return undefined
  const iso = new Date(Number(ms)).toISOString()
  return `${iso.slice(0, iso.lastIndexOf('.'))}.${frac.toString().padStart(6, '0')}Z`
}

function l2capText(l: NonNullable<DecodedRecord['l2cap']>): string {
  const psm = l.psm === undefined ? '' : ` psm=0x${l.psm.toString(16).padStart(4, '0')} (${l.protocol})`
  const sdu = l.sduLength === undefined ? '' : ` sdu-len=${l.sduLength}`
  return `L2CAP cid=0x${l.cid.toString(16).padStart(4, '0')} len=${l.length}${psm}${sdu}`
}

/** One line per record, btmon-like. */
export function formatRecord(r: DecodedRecord): string {
  const arrow = r.dir === 'tx' ? '<' : r.dir === 'rx' ? '>' : ' '
  const head = `#${r.frame} ${arrow} ${r.type.toUpperCase().padEnd(3)}`
  const parts: string[] = []
  switch (r.type) {
    case 'cmd':
      parts.push(`${r.name ?? '?'} (0x${(r.opcode ?? 0).toString(16).padStart(4, '0')})`)
      break
    case 'evt':
      parts.push(
        `${r.name ?? '?'} (0x${(r.event ?? 0).toString(16).padStart(2, '0')}` +
          `${r.subevent !== undefined ? `/0x${r.subevent.toString(16).padStart(2, '0')}` : ''})`,
      )
      if (r.reports)
        for (const rep of r.reports)
          parts.push(`${rep.address} type=${rep.addressType} rssi=${rep.rssi} data=${rep.data}`)
      break
    case 'acl':
      parts.push(
        `handle=0x${(r.handle ?? 0).toString(16).padStart(4, '0')} pb=${r.pb} ` +
          `len=${r.length}${r.unknownHandle ? ' (no connection known)' : ''}`,
      )
      if (r.l2cap) parts.push(l2capText(r.l2cap))
      if (r.sdu)
        parts.push(`SDU len=${r.sdu.length} ${r.sdu.data.length > 64 ? `${r.sdu.data.slice(0, 64)}...` : r.sdu.data}`)
      if (r.att)
        parts.push(
          `ATT ${r.att.name}` +
            `${r.att.handle !== undefined ? ` handle=0x${r.att.handle.toString(16).padStart(4, '0')}` : ''}` +
            `${r.att.value !== undefined ? ` value=${r.att.value}` : ''}`,
        )
      if (r.smp) parts.push(`SMP ${r.smp.name}`)
      if (r.signaling) parts.push(`L2CAP ${r.signaling.name}`)
      if (r.l2capError) parts.push(`(${r.l2capError})`)
      break
    default:
      if (r.note) parts.push(r.note)
      if (r.handle !== undefined) parts.push(`handle=0x${r.handle.toString(16).padStart(4, '0')}`)
  }
  if (r.params) parts.push(formatValue(r.params))
  if (r.error) parts.push(`error: ${r.error}`)
  // Names, notes and values come from the air or the capture: one record stays one line.
  return printable(`${head} ${parts.join(' ')}`)
}
