/**
 * Which packets a fault rule (rules.ts) picks: the facts of an HCI packet (Core v5.4 Vol 4
 * Part E 5.4: command opcode, event code and LE sub-event, connection handle; for ACL data that
 * starts an L2CAP PDU on the ATT channel, Vol 3 Part A 3.1 and Part F 3.3, the ATT opcode and
 * the attribute handle it names), matched field by field, then thinned by `after`, `every`,
 * `random` (a seeded generator: the same plan and traffic give the same faults) and `limit`.
 */
import { decodeAttPdu } from '../../att/pdu.ts'
import { DecodeError } from '../../hci/errors.ts'
import type { HciPacket } from '../../hci/transport.ts'
import type { FaultRule, PacketName } from './rules.ts'

export interface PacketFacts {
  direction: 'tx' | 'rx'
  packet: PacketName | undefined
  opcode?: number
  event?: number
  subevent?: number
  handle?: number
  att?: number
  attHandle?: number
}

const NAMES: Record<number, PacketName> = { 1: 'cmd', 2: 'acl', 3: 'sco', 4: 'evt', 5: 'iso' }
/** Where the connection handle is in events that name one first (7.7.5, 7.7.8, 7.7.19; 7.7.65.1, .3, .4, .10). */
const EVENT_HANDLE: Readonly<Record<number, number>> = { 0x05: 3, 0x08: 3, 0x13: 3 }
const LE_EVENT_HANDLE: Readonly<Record<number, number>> = { 0x01: 4, 0x03: 4, 0x04: 4, 0x0a: 4, 0x0c: 4, 0x14: 4 }
const ATT_CID = 0x0004

const u16 = (d: Uint8Array, at: number): number => d[at]! | (d[at + 1]! << 8)

export function factsOf(direction: 'tx' | 'rx', p: HciPacket): PacketFacts {
  const d = p.data
  const f: PacketFacts = { direction, packet: NAMES[p.type] }
  if (p.type === 1 && d.length >= 2) f.opcode = u16(d, 0)
  else if (p.type === 4 && d.length >= 1) {
    f.event = d[0]!
    const le = d[0] === 0x3e && d.length >= 3 ? d[2]! : undefined
    if (le !== undefined) f.subevent = le
    const at = le === undefined ? EVENT_HANDLE[d[0]!] : LE_EVENT_HANDLE[le]
    if (at !== undefined && d.length >= at + 2) f.handle = u16(d, at) & 0x0fff
  } else if ((p.type === 2 || p.type === 3 || p.type === 5) && d.length >= 2) {
    f.handle = u16(d, 0) & 0x0fff
    if (p.type === 2) att(d, f)
  }
  return f
}

/** ATT facts of an ACL packet that starts an L2CAP PDU on CID 0x0004 (whole or first fragment). */
function att(d: Uint8Array, f: PacketFacts): void {
  const pb = (d[1]! >> 4) & 0x3
  if (pb === 1 || d.length < 9 || u16(d, 6) !== ATT_CID) return
  f.att = d[8]!
  const l2capLength = u16(d, 4)
  if (d.length !== 8 + l2capLength) return // a first fragment: the opcode is all there is
  const pdu = decodeAttPdu(d.subarray(8))
  if (!(pdu instanceof DecodeError) && pdu.handle !== undefined) f.attHandle = pdu.handle
}

export function matches(r: FaultRule, f: PacketFacts): boolean {
  return (
    (r.direction === undefined || r.direction === f.direction) &&
    (r.packet === undefined || r.packet === f.packet) &&
    (r.opcode === undefined || r.opcode === f.opcode) &&
    (r.event === undefined || r.event === f.event) &&
    (r.subevent === undefined || r.subevent === f.subevent) &&
    (r.handle === undefined || r.handle === f.handle) &&
    (r.att === undefined || r.att === f.att) &&
    (r.attHandle === undefined || r.attHandle === f.attHandle)
  )
}

/** A small seeded generator (mulberry32): uniform in [0, 1). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

/** One rule's counters: how many packets matched, how many faults it made. */
export class Selector {
  seen = 0
  faults = 0
  constructor(
    readonly rule: FaultRule,
    private readonly random: () => number,
  ) {}

  /** Does the rule fault this packet? (Counts it when it matches.) */
  picks(f: PacketFacts): boolean {
    if (!matches(this.rule, f)) return false
    this.seen++
    const r = this.rule
    if (this.seen <= (r.after ?? 0)) return false
    if (r.limit !== undefined && this.faults >= r.limit) return false
    if (r.every !== undefined && (this.seen - (r.after ?? 0)) % r.every !== 0) return false
    if (r.random !== undefined && this.random() >= r.random) return false
    this.faults++
    return true
  }
}

/** "tx ACL handle 0x0040 ATT 0x12 handle 0x0015 (12 octets)": a packet, for notes. */
export function describe(f: PacketFacts, p: HciPacket): string {
  const h4 = (v: number): string => `0x${v.toString(16).padStart(4, '0')}`
  const h2 = (v: number): string => `0x${v.toString(16).padStart(2, '0')}`
  const parts = [f.direction, (f.packet ?? `type ${p.type}`).toUpperCase()]
  if (f.opcode !== undefined) parts.push(`opcode ${h4(f.opcode)}`)
  if (f.event !== undefined) parts.push(`event ${h2(f.event)}${f.subevent !== undefined ? `/${h2(f.subevent)}` : ''}`)
  if (f.handle !== undefined) parts.push(`handle ${h4(f.handle)}`)
  if (f.att !== undefined)
    parts.push(`ATT ${h2(f.att)}${f.attHandle !== undefined ? ` handle ${h4(f.attHandle)}` : ''}`)
  parts.push(`(${p.data.length} octets)`)
  return parts.join(' ')
}
