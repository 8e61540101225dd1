/**
 * Encryption of one LE link as the host drives it (Core v5.4 Vol 4 Part E 7.8.24 LE Enable
 * Encryption, 7.8.25 LE Long Term Key Request Reply, 7.8.26 Negative Reply, 7.7.65.5 LE Long
 * Term Key Request, 7.7.8 Encryption Change, 7.7.39 Encryption Key Refresh Complete; Vol 6 Part B
 * 5.1.3 for what the controllers do in between), and the link security that follows from the
 * key used (Vol 3 Part C 10.2).
 *
 * The controller encrypts with whatever key the hosts give it and never knows what the key is
 * worth; the host does. So every start of encryption names the key's properties (key size, made
 * with MITM protection, from Secure Connections), and when Encryption Change reports success the
 * link's `security` takes them. A central's start that fails rejects with a clear SmpError:
 * PIN or Key Missing (0x06: the peer has no key for us) or a MIC failure (0x3D: the link ends;
 * the peer's key differs from ours).
 */
import { LeEnableEncryption, LeLongTermKeyRequestNegativeReply, LeLongTermKeyRequestReply } from '../hci/commands.ts'
import { statusName } from '../hci/constants.ts'
import type { HciHost } from '../hci/host.ts'
import type { Connection } from './connection.ts'
import type { EventOf } from './events.ts'
import { SmpError } from './smp/errors.ts'
import type { KeyProperties } from './smp/pairing-types.ts'

export type EncryptionEvent = EventOf<'EncryptionChange' | 'EncryptionChangeV2' | 'EncryptionKeyRefreshComplete'>

/** A key to encrypt with: the key, the EDIV and Rand that name it, and what it is worth. */
export interface LinkKey extends KeyProperties {
  key: Uint8Array
  ediv: number
  rand: Uint8Array
}

const PIN_OR_KEY_MISSING = 0x06
const MIC_FAILURE = 0x3d

export class LinkEncryption {
  /** The properties of the key the controller is starting encryption with. */
  private pending: KeyProperties | undefined
  /** Peripheral: the key a pairing handed over, for the next LTK Request (EDIV 0, Rand 0). */
  private offered: LinkKey | undefined
  private waiter: { resolve(): void; reject(e: Error): void } | undefined
  /** The start under way (a second caller waits for it rather than starting again). */
  private starting: Promise<void> | undefined

  constructor(
    private readonly connection: Connection,
    private readonly host: HciHost,
    /** Encryption went on (true) or failed / went off (false): the pairing session hears it. */
    private readonly changed: (encrypted: boolean) => void,
  ) {}

  /** Central: LE Enable Encryption with `k`; resolves on Encryption Change, rejects when it fails. */
  start(k: LinkKey, o: { signal?: AbortSignal | undefined } = {}): Promise<void> {
    if (this.connection.role !== 'central') {
      return Promise.reject(new SmpError('SMP_INVALID_STATE', 'only the central starts encryption'))
    }
    if (this.starting) return this.starting
    this.pending = { keySize: k.keySize, authenticated: k.authenticated, secureConnections: k.secureConnections }
    const done = new Promise<void>((resolve, reject) => (this.waiter = { resolve, reject }))
    this.starting = done
    const clear = (): void => {
      if (this.starting === done) this.starting = undefined
    }
    done.then(clear, clear)
    const params = {
      connectionHandle: this.connection.handle,
      randomNumber: k.rand,
      encryptedDiversifier: k.ediv,
      longTermKey: k.key,
    }
    this.host.send(LeEnableEncryption, params, { signal: o.signal }).catch((e: unknown) => {
      this.pending = undefined
      this.settle(e instanceof Error ? e : new Error(String(e)))
      this.changed(false)
    })
    return done
  }

  /** Peripheral: answer the next LTK Request with EDIV 0 and Rand 0 with this key (a pairing's STK or LTK). */
  offer(k: LinkKey): void {
    this.offered = k
  }

  /**
   * Peripheral: the controller asks for the key named by `ediv` and `rand`. The key a pairing
   * offered when it matches, else `lookup` (the bond), else a Negative Reply.
   */
  async answer(
    e: EventOf<'LeLongTermKeyRequest'>,
    lookup: (ediv: number, rand: Uint8Array) => Promise<LinkKey | undefined>,
  ): Promise<void> {
    const { encryptedDiversifier: ediv, randomNumber: rand } = e.params
    const handle = this.connection.handle
    let k: LinkKey | undefined
    const o = this.offered
    if (o && o.ediv === ediv && rand.every((b, i) => b === o.rand[i])) {
      k = o
      this.offered = undefined
    } else k = await lookup(ediv, rand).catch(() => undefined)
    if (this.connection.closed) return
    if (!k) {
      await this.host.send(LeLongTermKeyRequestNegativeReply, { connectionHandle: handle }).catch(() => undefined)
      return
    }
    this.pending = { keySize: k.keySize, authenticated: k.authenticated, secureConnections: k.secureConnections }
    await this.host
      .send(LeLongTermKeyRequestReply, { connectionHandle: handle, longTermKey: k.key })
      .catch(() => undefined)
  }

  /** Encryption Change or Key Refresh Complete for this link. */
  event(e: EncryptionEvent): void {
    const status = e.params.status
    if (status !== 0) {
      this.pending = undefined
      this.settle(failure(status, this.connection))
      this.changed(false)
      return
    }
    const on = e.key === 'EncryptionKeyRefreshComplete' || e.params.encryptionEnabled !== 0
    if (on) {
      const p = this.pending ?? unknownKey(e, this.connection)
      this.pending = undefined
      this.connection.updateSecurity({ encrypted: true, ...p })
    } else {
      this.connection.updateSecurity({ encrypted: false, authenticated: false, secureConnections: false, keySize: 0 })
    }
    this.settle(on ? undefined : new SmpError('SMP_ENCRYPTION_FAILED', 'the peer turned encryption off'))
    this.changed(on)
  }

  /** The link went away. */
  closed(): void {
    const d = this.connection.disconnection
    const err =
      d?.reason === MIC_FAILURE
        ? failure(MIC_FAILURE, this.connection)
        : new SmpError('SMP_LINK_CLOSED', `the link closed while encrypting${d ? ` (${d.reasonName})` : ''}`)
    this.settle(err)
  }

  private settle(err: Error | undefined): void {
    const w = this.waiter
    this.waiter = undefined
    if (!w) return
    if (err) w.reject(err)
    else w.resolve()
  }
}

function failure(status: number, c: Connection): SmpError {
  const peer = `${c.peer.address}/${c.peer.type}`
  if (status === PIN_OR_KEY_MISSING) {
    return new SmpError('SMP_ENCRYPTION_FAILED', `${peer} has no key for our bond (${statusName(status)})`, {
      status,
      statusName: statusName(status),
      hint: `the peer lost or dropped the bond: remove ours (adapter.unpair / \`hcikit bonds remove ${c.peer.address}\`) and pair again`,
    })
  }
  if (status === MIC_FAILURE) {
    return new SmpError(
      'SMP_ENCRYPTION_FAILED',
      `encryption with ${peer} failed: its key differs from ours (${statusName(status)})`,
      {
        status,
        statusName: statusName(status),
        hint:
          'the peer paired again with someone else or lost the bond: remove ours ' +
          `(\`hcikit bonds remove ${c.peer.address}\`) and pair again`,
      },
    )
  }
  return new SmpError('SMP_ENCRYPTION_FAILED', `encryption with ${peer} failed: ${statusName(status)}`, {
    status,
    statusName: statusName(status),
  })
}

/** A link someone else encrypted (raw HCI): what the event says, nothing more. */
function unknownKey(e: EncryptionEvent, c: Connection): KeyProperties {
  const keySize = e.key === 'EncryptionChangeV2' ? e.params.encryptionKeySize : c.security.keySize || 16
  return { keySize, authenticated: false, secureConnections: false }
}
