/**
 * Two FixedChannels wired back to back for ATT tests (the contract's FixedChannel interface,
 * att/l2cap/mux.ts): what one side sends the other receives on a later microtask, in order.
 * Every payload is logged per direction, and a side can be "held" (frames kept until released)
 * or "muted" (frames dropped: a peer that never answers).
 */
import type { FixedChannel } from '../../att/l2cap/mux.ts'
import type { AclLink, LinkSecurity } from '../../att/l2cap/link.ts'
import { toHex } from '../../hci/wire.ts'

export interface TestChannel extends FixedChannel {
  /** Hex of every payload this side sent, in order. */
  readonly sent: string[]
  /** Drop what this side sends from now on. */
  mute(on?: boolean): void
  /** Inject a payload as if the peer had sent it (hex or bytes), on a later microtask. */
  inject(payload: string | Uint8Array): void
  /** Close the link under both sides. */
  close(reason?: Error): void
}

export function channelPair(security: Partial<LinkSecurity> = {}): [TestChannel, TestChannel] {
  const shared = { closed: false }
  const a = new Side('central', shared, security)
  const b = new Side('peripheral', shared, security)
  a.peer = b
  b.peer = a
  return [a, b]
}

class Side implements TestChannel {
  readonly cid = 4
  readonly sent: string[] = []
  peer: Side | undefined
  private muted = false
  private readonly dataCbs: ((p: Uint8Array) => void)[] = []
  private readonly closeCbs: ((e: Error) => void)[] = []
  readonly link: AclLink

  constructor(
    role: 'central' | 'peripheral',
    private readonly shared: { closed: boolean },
    security: Partial<LinkSecurity>,
  ) {
    this.link = {
      handle: 0x40,
      role,
      send: (f) => this.send(f),
      onFrame: () => {},
      onClose: (cb) => this.closeCbs.push(cb),
      get closed() {
        return shared.closed
      },
      security: { encrypted: false, authenticated: false, keySize: 0, ...security },
    }
  }

  send(payload: Uint8Array): Promise<void> {
    if (this.shared.closed) return Promise.reject(new Error('link closed'))
    const copy = payload.slice()
    this.sent.push(toHex(copy))
    if (this.muted) return Promise.resolve()
    const peer = this.peer!
    queueMicrotask(() => {
      if (!this.shared.closed) peer.deliver(copy)
    })
    return Promise.resolve()
  }

  onData(cb: (p: Uint8Array) => void): void {
    this.dataCbs.push(cb)
  }

  onClose(cb: (e: Error) => void): void {
    this.closeCbs.push(cb)
  }

  mute(on = true): void {
    this.muted = on
  }

  inject(payload: string | Uint8Array): void {
    const bytes =
      typeof payload === 'string' ? Uint8Array.from(Buffer.from(payload.replace(/\s/g, ''), 'hex')) : payload
    queueMicrotask(() => {
      if (!this.shared.closed) this.deliver(bytes)
    })
  }

  deliver(p: Uint8Array): void {
    for (const cb of this.dataCbs) cb(p)
  }

  close(reason = new Error('link closed')): void {
    if (this.shared.closed) return
    this.shared.closed = true
    for (const s of [this, this.peer!]) for (const cb of s.closeCbs.splice(0)) cb(reason)
  }
}
