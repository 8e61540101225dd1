/**
 * A fixed L2CAP channel as its users see it (Core v5.4 Vol 3 Part A 2.1 channel identifiers,
 * 3.1 B-frames; Table 2.3: on LE-U, ATT 0x0004, LE signalling 0x0005, SMP 0x0006).
 *
 * The interface lives apart from the multiplexer (att/l2cap/mux.ts) that implements it, so the
 * modules that run on a fixed channel (the LE signalling channel, att/l2cap/signaling.ts; the ATT
 * bearer; SMP) depend on this small contract and not on the multiplexer, which in turn creates
 * them: no import cycle (docs/ARCHITECTURE.md, layer rule).
 */
import type { AclLink } from './link.ts'

export interface FixedChannel {
  readonly cid: number
  readonly link: AclLink
  /** Send one payload (the SDU of a fixed channel: ATT PDU, SMP PDU...). Resolves as AclLink.send. */
  send(payload: Uint8Array): Promise<void>
  /** Every payload received on this CID, in order. Several subscribers each get every payload. */
  onData(cb: (payload: Uint8Array) => void): void
  /** The link went away (the reason is an L2capError 'LINK_CLOSED'). */
  onClose(cb: (reason: Error) => void): void
}
