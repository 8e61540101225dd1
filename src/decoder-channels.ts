/**
 * The decoder's map of dynamic L2CAP channels (Core v5.4 Vol 3 Part A): which protocol a frame
 * on a CID of 0x0040 and up carries, learned from the channel set-up on the signalling channels,
 * and the SDUs of credit-based channels put back together.
 *
 * - BR/EDR (ACL-U, signalling on CID 0x0001): Connection Request / Response (4.2, 4.3) open a
 *   channel to a PSM, in basic mode unless a Configuration Request or Response (4.4, 4.5) asks
 *   for another mode in its Retransmission and Flow Control option (5.4); a Disconnection Request
 *   (4.6: from then on data in transit is discarded) or Response (4.7) closes it. In basic mode a
 *   frame's payload is the SDU (3.1).
 * - LE credit-based (4.22, 4.23) and enhanced credit-based (4.25, 4.26; also on ACL-U) Connection
 *   Request / Response, and Credit Based Reconfigure (4.27) for the MTU. Their K-frames (3.4)
 *   carry an SDU in segments: the first starts with the 2-octet SDU Length.
 * PSMs name the protocol (Assigned Numbers 5.2): 0x001F ATT (ATT over BR/EDR, as Android and iOS
 * carry it), 0x0027 EATT (ATT on enhanced credit-based channels, Vol 3 Part F 3.2.11), SDP,
 * RFCOMM, AVDTP... Any other PSM is a user channel: its SDUs are shown as bytes.
 *
 * CIDs: a channel has one CID at each end, and a frame is addressed to the receiver's CID. The
 * requester's Source CID receives what the responder sends; the responder's (Destination) CID
 * receives what the requester sends. Frames are keyed here by (handle, direction, CID).
 * Everything is bounded: pending requests and channels per decoder, an SDU by its MTU.
 */
import type { Direction } from '../hci/snoop.ts'
import type { SignalingCommand } from '../att/l2cap/signaling-pdu.ts'

/** Protocols by PSM (Bluetooth Assigned Numbers 5.2, "Protocol and Service Multiplexers"). */
const PSM_PROTOCOLS: Readonly<Record<number, string>> = {
  0x0001: 'SDP',
  0x0003: 'RFCOMM',
  0x0005: 'TCS-BIN',
  0x000f: 'BNEP',
  0x0011: 'HID Control',
  0x0013: 'HID Interrupt',
  0x0015: 'UPnP',
  0x0017: 'AVCTP',
  0x0019: 'AVDTP',
  0x001b: 'AVCTP Browsing',
  0x001d: 'UDI C-Plane',
  0x001f: 'ATT',
  0x0021: '3DSP',
  0x0023: 'IPSP',
  0x0025: 'OTS',
  0x0027: 'EATT',
}

export const PSM_ATT = 0x001f
export const PSM_EATT = 0x0027

export function psmProtocol(psm: number): string {
  return PSM_PROTOCOLS[psm] ?? 'user'
}

export type ChannelMode = 'basic' | 'other' | 'le-credit' | 'enhanced-credit'

export interface Channel {
  readonly psm: number
  readonly protocol: string
  /** 'other': ERTM or streaming mode (not decoded). */
  mode: ChannelMode
  /** Largest SDU each end receives (credit-based: from the set-up; basic: 65535). */
  mtu: Record<Direction, number>
}

/** What a frame on a dynamic CID carries. */
export interface ChannelFrame {
  channel: Channel
  /** The first K-frame of an SDU: its SDU Length. */
  sduLength?: number
  /** A complete SDU (basic mode: the payload itself). */
  sdu?: Uint8Array
  /** What was wrong with the frame (the SDU in progress is dropped). */
  error?: string
}

interface Pending {
  code: number
  psm: number
  sourceCids: number[]
  mtu: number
}

interface Assembly {
  length: number
  parts: Uint8Array[]
  received: number
}

const MAX_CHANNELS = 512
const MAX_PENDING = 128
const other = (d: Direction): Direction => (d === 'tx' ? 'rx' : 'tx')
const u16 = (b: Uint8Array, at: number): number => b[at]! | (b[at + 1]! << 8)

/** Retransmission and Flow Control option (Vol 3 Part A 5.4): type 0x04, mode 0 = basic. */
function requestsOtherMode(options: Uint8Array): boolean {
  for (let at = 0; at + 2 <= options.length; ) {
    const type = options[at]! & 0x7f
    const len = options[at + 1]!
    if (type === 0x04 && len >= 1 && at + 2 < options.length) return options[at + 2] !== 0
    at += 2 + len
  }
  return false
}

export class L2capChannels {
  private readonly channels = new Map<string, Channel>()
  private readonly pending = new Map<string, Pending>()
  private readonly assembly = new Map<string, Assembly>()

  /** The channel a frame in `dir` on `cid` belongs to, if its set-up was seen. */
  channel(handle: number, dir: Direction, cid: number): Channel | undefined {
    return this.channels.get(`${handle}/${dir}/${cid}`)
  }

  /** Learn from the signalling commands of one C-frame (CID 0x0001 or 0x0005). */
  signaling(handle: number, dir: Direction, cmds: readonly SignalingCommand[]): void {
    for (const c of cmds) if (c.params) this.command(handle, dir, c.code, c.identifier, c.params)
  }

  private command(handle: number, dir: Direction, code: number, id: number, p: Record<string, unknown>): void {
    const key = `${handle}/${dir}/${id}`
    const answered = `${handle}/${other(dir)}/${id}`
    switch (code) {
      case 0x02: // Connection Request
        return this.expect(key, { code, psm: p.psm as number, sourceCids: [p.sourceCid as number], mtu: 0xffff })
      case 0x14: // LE Credit Based Connection Request
        return this.expect(key, {
          code,
          psm: p.spsm as number,
          sourceCids: [p.sourceCid as number],
          mtu: p.mtu as number,
        })
      case 0x17: // Credit Based Connection Request
        return this.expect(key, {
          code,
          psm: p.spsm as number,
          sourceCids: p.sourceCids as number[],
          mtu: p.mtu as number,
        })
      case 0x03: // Connection Response: 0 success, 1 pending (another response follows)
        if (p.result === 1) return
        return this.opened(handle, dir, answered, p.result === 0 ? [p.destinationCid as number] : [], 0xffff)
      case 0x15:
        return this.opened(handle, dir, answered, p.result === 0 ? [p.destinationCid as number] : [], p.mtu as number)
      case 0x18:
        return this.opened(handle, dir, answered, p.destinationCids as number[], p.mtu as number)
      case 0x04: // Configuration Request: to the receiver's CID
      case 0x05: {
        // Configuration Response: from the sender's CID, so the frames it receives there
        const cid = (code === 0x04 ? p.destinationCid : p.sourceCid) as number
        const ch = this.channels.get(`${handle}/${code === 0x04 ? dir : other(dir)}/${cid}`)
        if (ch && ch.mode === 'basic' && requestsOtherMode(p.options as Uint8Array)) ch.mode = 'other'
        return
      }
      case 0x06: // Disconnection Request: data in transit is discarded from now on (4.6)
        this.close(`${handle}/${dir}/${p.destinationCid as number}`)
        this.close(`${handle}/${other(dir)}/${p.sourceCid as number}`)
        return
      case 0x07: // Disconnection Response: from the endpoint that was asked (destinationCid)
        this.close(`${handle}/${other(dir)}/${p.destinationCid as number}`)
        this.close(`${handle}/${dir}/${p.sourceCid as number}`)
        return
      case 0x19: // Credit Based Reconfigure Request: the sender's new receive MTU on these channels
        for (const cid of p.destinationCids as number[]) {
          const ch = this.channels.get(`${handle}/${other(dir)}/${cid}`) ?? this.channels.get(`${handle}/${dir}/${cid}`)
          if (ch) ch.mtu[other(dir)] = p.mtu as number
        }
        return
    }
  }

  private expect(key: string, p: Pending): void {
    if (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value!)
    this.pending.set(key, p)
  }

  /** A response in `dir` to the request `key` (sent the other way): open what it accepted. */
  private opened(handle: number, dir: Direction, key: string, destinationCids: number[], mtu: number): void {
    const req = this.pending.get(key)
    if (!req) return
    this.pending.delete(key)
    const mode: ChannelMode = req.code === 0x02 ? 'basic' : req.code === 0x14 ? 'le-credit' : 'enhanced-credit'
    // The requester sent in other(dir) and receives in dir.
    destinationCids.forEach((dcid, i) => {
      const scid = req.sourceCids[i]
      if (dcid === 0 || scid === undefined) return
      const ch: Channel = {
        psm: req.psm,
        protocol: psmProtocol(req.psm),
        mode,
        mtu: { [dir]: req.mtu, [other(dir)]: mtu } as Record<Direction, number>,
      }
      this.set(`${handle}/${dir}/${scid}`, ch)
      this.set(`${handle}/${other(dir)}/${dcid}`, ch)
    })
  }

  private set(key: string, ch: Channel): void {
    this.assembly.delete(key)
    if (this.channels.size >= MAX_CHANNELS) this.close(this.channels.keys().next().value!)
    this.channels.set(key, ch)
  }

  private close(key: string): void {
    this.channels.delete(key)
    this.assembly.delete(key)
  }

  /** Forget a link (Disconnection Complete). */
  drop(handle: number): void {
    const prefix = `${handle}/`
    for (const m of [this.channels, this.pending, this.assembly])
      for (const k of [...m.keys()]) if (k.startsWith(prefix)) m.delete(k)
  }

  /** A frame on a dynamic CID: what it carries, or undefined if no set-up introduced the CID. */
  frame(handle: number, dir: Direction, cid: number, payload: Uint8Array): ChannelFrame | undefined {
    const key = `${handle}/${dir}/${cid}`
    const channel = this.channels.get(key)
    if (!channel) return undefined
    if (channel.mode === 'basic') return { channel, sdu: payload }
    if (channel.mode === 'other') return { channel }
    return this.kframe(key, channel, channel.mtu[dir], payload)
  }

  /** A K-frame (Vol 3 Part A 3.4): the first of an SDU starts with its length. */
  private kframe(key: string, channel: Channel, mtu: number, payload: Uint8Array): ChannelFrame {
    const a = this.assembly.get(key)
    if (!a) {
      if (payload.length < 2) return { channel, error: `a K-frame of ${payload.length} octet(s) cannot start an SDU` }
      const length = u16(payload, 0)
      const first = payload.subarray(2)
      if (length > mtu) return { channel, sduLength: length, error: `SDU length ${length} exceeds the MTU ${mtu}` }
      if (first.length > length)
        return { channel, sduLength: length, error: `${first.length} octets for an SDU of ${length}` }
      if (first.length === length) return { channel, sduLength: length, sdu: first }
      this.assembly.set(key, { length, parts: [first.slice()], received: first.length })
      return { channel, sduLength: length }
    }
    if (a.received + payload.length > a.length) {
      this.assembly.delete(key)
      return { channel, error: `${a.received + payload.length} octets for an SDU of ${a.length}` }
    }
    a.parts.push(payload.slice())
    a.received += payload.length
    if (a.received < a.length) return { channel }
    this.assembly.delete(key)
    const sdu = new Uint8Array(a.length)
    let at = 0
    for (const p of a.parts) {
      sdu.set(p, at)
      at += p.length
    }
    return { channel, sdu }
  }
}
