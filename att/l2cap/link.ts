/**
 * One LE ACL link as L2CAP sees it (Core v5.4 Vol 3 Part A 1.1 and 3.1): the logical link that
 * carries whole L2CAP B-frames (basic header included) in both directions, after the HCI layer
 * has reassembled ACL fragments (hci/acl.ts). gap/ implements `AclLink` on top of HciHost
 * (`sendAcl`/`onAcl`); tests use `createLinkPair`, two links wired back to back in memory.
 *
 * `LinkSecurity` is the small interface through which the upper layer (gap/, which runs SMP and
 * encryption) tells L2CAP and ATT how the link is protected (ARCHITECTURE "Layer rule").
 *
 * `L2capError` is the one error class of att/l2cap (protocol 'l2cap'): link closed, refused
 * connections with the spec's result code and name, timeouts, channel disconnections.
 */
import { HcikitError, type HcikitErrorOptions } from '../../hci/errors.ts'

/** How the link is protected, as gap/ knows it. Mutable: gap/ updates it when encryption changes. */
export interface LinkSecurity {
  encrypted: boolean
  authenticated: boolean
  /** Encryption key size in octets (0 while unencrypted). */
  keySize: number
  authorized?: boolean
  /**
   * We hold a bond (an LTK) for the peer (gap/link-security.ts keeps it current). The GATT server
   * answers a bonded peer's unencrypted request with Insufficient Encryption, anyone else's with
   * Insufficient Authentication (Vol 3 Part C 10.3.2); the GATT client counts on a bonded peer
   * keeping its robust caching state once the link is encrypted.
   */
  bonded?: boolean
  /** The key came from LE Secure Connections pairing. */
  secureConnections?: boolean
}

/** One LE ACL link as L2CAP sees it: whole L2CAP B-frames (basic header included) in and out. */
export interface AclLink {
  readonly handle: number
  readonly role: 'central' | 'peripheral'
  /** Resolves when the frame was handed to the controller (HciHost.sendAcl's back-pressure). Rejects once closed. */
  send(frame: Uint8Array): Promise<void>
  onFrame(cb: (frame: Uint8Array) => void): void
  onClose(cb: (reason?: Error) => void): void
  readonly closed: boolean
  /** Security of the link, implemented by gap/ (ARCHITECTURE "LinkSecurity"); tests use a stub. */
  readonly security: LinkSecurity
}

/** Errors of the L2CAP layer. `status`/`statusName` carry the spec's result or reason code where there is one. */
export class L2capError extends HcikitError {
  override name = 'L2capError'
  constructor(code: string, message: string, options: HcikitErrorOptions = {}) {
    super(code, 'l2cap', message, options)
  }
}

/** The error pending operations reject with when the link goes away. */
export function linkClosedError(reason?: Error): L2capError {
  return new L2capError('LINK_CLOSED', reason ? `link closed: ${reason.message}` : 'link closed', { cause: reason })
}

export interface LinkPairOptions {
  /** Initial security of both ends (each end gets its own copy, so a test can change one side's view). */
  security?: Partial<LinkSecurity>
  /** Connection handle of both ends (default 0x0040). */
  handle?: number
  /** Sees every frame as it is sent, before delivery (captures for tshark, counters). */
  onTransmit?: (from: 'central' | 'peripheral', frame: Uint8Array) => void
  /**
   * How a delivery is scheduled (default queueMicrotask). `setImmediate` gives the link some
   * latency: a sender can use all its credits before the first frame arrives. Must keep order.
   */
  schedule?: (deliver: () => void) => void
}

export type PairedLink = AclLink & {
  /** Close both ends (a disconnection); pending and later sends reject, undelivered frames are lost. */
  close(reason?: Error): void
}

/** Two AclLinks wired back to back (central, peripheral), delivery on a later microtask, in order. */
export function createLinkPair(opts: LinkPairOptions = {}): [PairedLink, PairedLink] {
  const handle = opts.handle ?? 0x0040
  const security = (): LinkSecurity => ({
    encrypted: false,
    authenticated: false,
    keySize: 0,
    ...opts.security,
  })
  const schedule = opts.schedule ?? queueMicrotask
  const central = new MemoryLink(handle, 'central', security(), opts.onTransmit, schedule)
  const peripheral = new MemoryLink(handle, 'peripheral', security(), opts.onTransmit, schedule)
  central.peer = peripheral
  peripheral.peer = central
  return [central, peripheral]
}

class MemoryLink implements PairedLink {
  peer: MemoryLink | undefined
  private readonly frameCbs: ((frame: Uint8Array) => void)[] = []
  private readonly closeCbs: ((reason?: Error) => void)[] = []
  private isClosed = false
  private closeReason: Error | undefined

  constructor(
    readonly handle: number,
    readonly role: 'central' | 'peripheral',
    readonly security: LinkSecurity,
    private readonly onTransmit: LinkPairOptions['onTransmit'],
    private readonly schedule: (deliver: () => void) => void,
  ) {}

  get closed(): boolean {
    return this.isClosed
  }

  send(frame: Uint8Array): Promise<void> {
    if (this.isClosed) return Promise.reject(linkClosedError(this.closeReason))
    // The controller owns what it was handed: the caller may reuse its buffer afterwards.
    const copy = frame.slice()
    this.onTransmit?.(this.role, copy)
    const peer = this.peer
    this.schedule(() => {
      if (!this.isClosed && peer && !peer.isClosed) peer.deliver(copy)
    })
    return Promise.resolve()
  }

  onFrame(cb: (frame: Uint8Array) => void): void {
    this.frameCbs.push(cb)
  }

  onClose(cb: (reason?: Error) => void): void {
    if (this.isClosed) {
      queueMicrotask(() => cb(this.closeReason))
      return
    }
    this.closeCbs.push(cb)
  }

  close(reason?: Error): void {
    this.shut(reason)
    this.peer?.shut(reason)
  }

  private deliver(frame: Uint8Array): void {
    for (const cb of this.frameCbs) cb(frame)
  }

  private shut(reason?: Error): void {
    if (this.isClosed) return
    this.isClosed = true
    this.closeReason = reason
    for (const cb of this.closeCbs.splice(0)) cb(reason)
  }
}
