/**
 * The GATT server: the ATT request handler and the server side of notifications and
 * indications (Core v5.4 Vol 3 Part F 3.3-3.4, Part G 4.9-4.11 and 2.5.2 "Attribute caching").
 *
 * `handleRequest(db, conn, pdu)` is the server as a function (ARCHITECTURE house style 3): one
 * ATT PDU from the client in, the response out (undefined for a command or anything that is
 * not a request). It never throws: a request it cannot serve gets the Error Response the spec
 * names (Invalid PDU for one that does not decode, Request Not Supported for an opcode it does
 * not know, Unlikely Error when an application handler fails in an unexpected way), and a
 * command it cannot serve is ignored, as 3.3 and 3.4.5.3 require.
 *
 * Robust caching (Part G 2.5.2.1): a client that set the Robust Caching bit of Client Supported
 * Features becomes change-unaware when the database changes. Until it is change-aware again,
 * its requests that act on handles (and Read By Type for other than «Include» or
 * «Characteristic» over less than the whole range) get Database Out Of Sync once; its commands
 * are ignored. It becomes change-aware when it confirms the Service Changed indication, when it
 * sends another request after reading the Database Hash, or after it was told Database Out Of
 * Sync and sends another request.
 *
 * `GattServer` wires a database to ATT bearers (att/bearer.ts: `serve`, `notify`, `indicate`):
 * requests of one connection are handled one after the other, notifications and indications go
 * only to clients whose CCCD asks for them, and Service Changed is indicated when the database
 * changes.
 */
import { DecodeError, HcikitError } from '../hci/errors.ts'
import {
  AttErrorCode,
  ErrorResponse,
  ExchangeMtuResponse,
  attPduSpec,
  decodeAttPdu,
  encodeAttPdu,
  isAttCommand,
} from './pdu.ts'
import type { AttPdu } from './pdu.ts'
import { GattUuid, parseUuid } from './uuid.ts'
import type { AttributeDatabase, CharacteristicRef, DatabaseChange } from './database.ts'
import { Property } from './database-types.ts'
import {
  ATT_DEFAULT_MTU,
  ServerConnection,
  type ServerConnectionOptions,
  type ServerSecurity,
} from './server-connection.ts'
import { Reject } from './server-access.ts'
import * as R from './server-read.ts'
import * as W from './server-write.ts'

export { ServerConnection } from './server-connection.ts'
export type { ServerSecurity } from './server-connection.ts'

function errorResponse(requestOpcode: number, handle: number, errorCode: number): Uint8Array {
  return encodeAttPdu(ErrorResponse, { requestOpcode, handle, errorCode })
}

type P = Record<string, any>

/** Requests a change-unaware client is refused with Database Out Of Sync; the handle to name. */
function outOfSyncHandle(opcode: number, p: P, conn: ServerConnection): number | undefined {
  switch (opcode) {
    case 0x0a: // Read
    case 0x0c: // Read Blob
    case 0x12: // Write
    case 0x16: // Prepare Write
      return p.handle as number
    case 0x0e: // Read Multiple
    case 0x20: // Read Multiple Variable
      return (p.handles as number[])[0] ?? 0
    case 0x18: // Execute Write acts on the queued handles
      return p.flags === 1 && conn.prepareQueue.length > 0 ? conn.prepareQueue[0]!.handle : undefined
    case 0x08: {
      // Read By Type
      let type: string
      try {
        type = parseUuid(p.attributeType as string)
      } catch {
        return undefined
      }
      if (type === GattUuid.Include || type === GattUuid.Characteristic) return undefined
      return p.startingHandle === 0x0001 && p.endingHandle === 0xffff ? undefined : (p.startingHandle as number)
    }
    default:
      return undefined
  }
}

/** Serve one ATT PDU from the client. Resolves to the response, or undefined when none is due. */
export async function handleRequest(
  db: AttributeDatabase,
  conn: ServerConnection,
  pdu: Uint8Array,
): Promise<Uint8Array | undefined> {
  if (pdu.length === 0) return undefined
  const opcode = pdu[0]!
  const spec = attPduSpec(opcode)
  const command = isAttCommand(opcode)
  if (spec === undefined) {
    if (command) {
      conn.stats.ignoredCommands++
      return undefined
    }
    return errorResponse(opcode, 0, AttErrorCode.RequestNotSupported)
  }
  if (spec.type !== 'request' && spec.type !== 'command') return undefined
  const decoded = decodeAttPdu(pdu)
  if (decoded instanceof DecodeError) {
    if (command) {
      conn.stats.ignoredCommands++
      return undefined
    }
    return errorResponse(opcode, 0, AttErrorCode.InvalidPdu)
  }
  if (command) {
    if (!conn.changeAware) {
      conn.stats.ignoredCommands++
      return undefined
    }
    try {
      await serveCommand(db, conn, pdu, decoded)
    } catch {
      conn.stats.handlerErrors++
    }
    return undefined
  }
  const p = decoded.params as P
  if (!conn.changeAware) {
    if (conn.hashRead || conn.outOfSyncSent) conn.serviceChangedConfirmed()
    else {
      const h = outOfSyncHandle(opcode, p, conn)
      if (h !== undefined) {
        conn.outOfSyncSent = true
        return errorResponse(opcode, h, AttErrorCode.DatabaseOutOfSync)
      }
    }
  }
  try {
    return await serveRequest(db, conn, opcode, p)
  } catch (e) {
    if (e instanceof Reject) return errorResponse(opcode, e.handle, e.code)
    conn.stats.handlerErrors++
    return errorResponse(opcode, 0, AttErrorCode.UnlikelyError)
  }
}

async function serveRequest(db: AttributeDatabase, conn: ServerConnection, opcode: number, p: P): Promise<Uint8Array> {
  switch (opcode) {
    case 0x02:
      return exchangeMtu(conn, p.clientRxMtu as number)
    case 0x04:
      return R.findInformation(db, conn, p.startingHandle, p.endingHandle)
    case 0x06:
      return R.findByTypeValue(db, conn, p as Parameters<typeof R.findByTypeValue>[2])
    case 0x08:
      return R.readByType(db, conn, p.startingHandle, p.endingHandle, parseUuid(p.attributeType as string))
    case 0x0a:
      return R.read(db, conn, p.handle)
    case 0x0c:
      return R.readBlob(db, conn, p.handle, p.offset)
    case 0x0e:
      return R.readMultiple(db, conn, p.handles)
    case 0x10:
      return R.readByGroupType(db, conn, p.startingHandle, p.endingHandle, parseUuid(p.groupType as string))
    case 0x20:
      return R.readMultipleVariable(db, conn, p.handles)
    case 0x12:
      return W.writeRequest(db, conn, p.handle, p.value)
    case 0x16:
      return W.prepareWrite(db, conn, p.handle, p.offset, p.value)
    case 0x18:
      return W.executeWrite(db, conn, p.flags)
    default:
      throw new Reject(0, AttErrorCode.RequestNotSupported)
  }
}

async function serveCommand(db: AttributeDatabase, conn: ServerConnection, pdu: Uint8Array, d: AttPdu): Promise<void> {
  const p = d.params as P
  if (d.opcode === 0x52) return W.writeCommand(db, conn, p.handle, p.value)
  if (d.opcode === 0xd2) return W.signedWriteCommand(db, conn, pdu, p.handle, p.value, p.signature)
  conn.stats.ignoredCommands++
}

/** Exchange MTU (3.4.2): ATT_MTU = min(Client Rx MTU, Server Rx MTU), never below 23. */
function exchangeMtu(conn: ServerConnection, clientRxMtu: number): Uint8Array {
  const mtu = Math.max(ATT_DEFAULT_MTU, Math.min(clientRxMtu, conn.maxMtu))
  const response = encodeAttPdu(ExchangeMtuResponse, { serverRxMtu: conn.maxMtu })
  if (mtu !== conn.mtu) {
    conn.mtu = mtu
    conn.onMtu?.(mtu)
  }
  return response
}

// ---------------------------------------------------------------------------------------------
// GattServer: the database on ATT bearers

/** What GattServer needs from an ATT bearer (att/bearer.ts AttBearer has all of it). */
export interface BearerLike {
  /** The effective ATT_MTU. */
  readonly mtu: number
  serve(handler: (pdu: Uint8Array) => Uint8Array | undefined | Promise<Uint8Array | undefined>): void
  notify(handle: number, value: Uint8Array): Promise<void>
  /** Resolves when the client confirms. */
  indicate(handle: number, value: Uint8Array): Promise<void>
  onClose?(cb: (reason?: Error) => void): void
  /** Told the ATT_MTU when the client's Exchange MTU Request changes it (if the server answered it). */
  setMtu?(mtu: number): void
  /** Tells the server the ATT_MTU when the bearer itself completed an exchange. */
  onMtu?(cb: (mtu: number) => void): void
}

export interface GattServerOptions extends Omit<ServerConnectionOptions, 'security' | 'mtu'> {
  /** Commands (Write Command...) waiting behind a slow request before more are dropped (default 64). */
  maxPendingCommands?: number
}

export type SendResult =
  | { connection: ServerConnection; ok: true }
  | { connection: ServerConnection; ok: false; error: unknown }

/** A GattServer call that cannot be made (notify on a characteristic that does not notify, ...). */
export class GattServerError extends HcikitError {
  override name = 'GattServerError'
  constructor(message: string, hint?: string) {
    super('GATT_SERVER', 'usage', message, { hint })
  }
}

interface Attached {
  readonly bearer: BearerLike
  /** Bumped on every database change; a Service Changed confirmation only counts for the latest. */
  generation: number
}

export class GattServer {
  private readonly attached = new Map<ServerConnection, Attached>()
  private readonly unsubscribe: () => void

  constructor(
    readonly db: AttributeDatabase,
    private readonly opts: GattServerOptions = {},
  ) {
    this.unsubscribe = db.onChange((c) => this.databaseChanged(c))
  }

  /** Serve `db` on a bearer. Returns the connection's state. */
  attach(bearer: BearerLike, security: ServerSecurity): ServerConnection {
    const { maxPendingCommands = 64, ...connOpts } = this.opts
    const conn = new ServerConnection({ ...connOpts, security, mtu: Math.max(ATT_DEFAULT_MTU, bearer.mtu) })
    conn.onMtu = (mtu) => bearer.setMtu?.(mtu)
    bearer.onMtu?.((mtu) => {
      conn.mtu = Math.max(ATT_DEFAULT_MTU, mtu)
    })
    this.attached.set(conn, { bearer, generation: 0 })
    let tail: Promise<unknown> = Promise.resolve()
    let pendingCommands = 0
    bearer.serve((pdu) => {
      // The bearer may have exchanged the MTU itself (we are also a client on this link).
      if (bearer.mtu > conn.mtu) conn.mtu = bearer.mtu
      const command = pdu.length > 0 && isAttCommand(pdu[0]!)
      if (command && pendingCommands >= maxPendingCommands) {
        conn.stats.droppedCommands++
        return undefined
      }
      if (command) pendingCommands++
      const run = tail.then(() => handleRequest(this.db, conn, pdu))
      tail = run.then(
        () => void (command && pendingCommands--),
        () => void (command && pendingCommands--),
      )
      return run
    })
    bearer.onClose?.(() => this.detach(conn))
    return conn
  }

  /** Forget a connection (its bearer closed). */
  detach(conn: ServerConnection): void {
    this.attached.delete(conn)
    conn.clearPrepareQueue()
  }

  get connections(): ServerConnection[] {
    return [...this.attached.keys()]
  }

  /** Stop listening to the database. */
  close(): void {
    this.unsubscribe()
    this.attached.clear()
  }

  private resolve(c: CharacteristicRef | number | string, bit: number, what: string): CharacteristicRef {
    const ref =
      typeof c === 'object' ? c : typeof c === 'number' ? this.db.characteristicAt(c) : this.db.characteristic(c)
    if ((ref.properties & bit) === 0 || ref.cccdHandle === undefined) {
      throw new GattServerError(
        `characteristic ${ref.uuid} at 0x${ref.valueHandle.toString(16)} does not ${what}`,
        `declare it with the "${what}" property`,
      )
    }
    return ref
  }

  private targets(
    ref: CharacteristicRef,
    bit: number,
    connections?: Iterable<ServerConnection>,
  ): [ServerConnection, Attached][] {
    const out: [ServerConnection, Attached][] = []
    for (const c of connections ?? this.attached.keys()) {
      const a = this.attached.get(c)
      if (a !== undefined && (c.cccdValue(ref.cccdHandle) & bit) !== 0) out.push([c, a])
    }
    return out
  }

  private async send(
    pairs: [ServerConnection, Attached][],
    handle: number,
    value: Uint8Array,
    indicate: boolean,
  ): Promise<SendResult[]> {
    return Promise.all(
      pairs.map(async ([connection, { bearer }]): Promise<SendResult> => {
        // Only the first ATT_MTU - 3 octets fit (3.4.7.1, 3.4.7.2).
        const v = value.subarray(0, Math.max(0, connection.mtu - 3))
        try {
          await (indicate ? bearer.indicate(handle, v) : bearer.notify(handle, v))
          return { connection, ok: true }
        } catch (error) {
          return { connection, ok: false, error }
        }
      }),
    )
  }

  /**
   * Notify the clients (all, or those given) whose CCCD enables notifications. The characteristic
   * is a reference, its id or UUID, or the handle of one of its attributes.
   */
  notify(
    characteristic: CharacteristicRef | number | string,
    value: Uint8Array,
    connections?: Iterable<ServerConnection>,
  ): Promise<SendResult[]> {
    const ref = this.resolve(characteristic, Property.notify, 'notify')
    return this.send(this.targets(ref, 1, connections), ref.valueHandle, value, false)
  }

  /** Indicate to the clients whose CCCD enables indications; resolves when each confirmed or failed. */
  indicate(
    characteristic: CharacteristicRef | number | string,
    value: Uint8Array,
    connections?: Iterable<ServerConnection>,
  ): Promise<SendResult[]> {
    const ref = this.resolve(characteristic, Property.indicate, 'indicate')
    return this.send(this.targets(ref, 2, connections), ref.valueHandle, value, true)
  }

  private databaseChanged(change: DatabaseChange): void {
    const sc = this.db.gatt.serviceChanged
    const value = new Uint8Array([change.start & 0xff, change.start >>> 8, change.end & 0xff, change.end >>> 8])
    for (const [conn, a] of this.attached) {
      conn.databaseChanged()
      conn.clearPrepareQueue()
      // Configuration of handles that are gone goes with them.
      for (const h of [...conn.cccd.keys()]) if (this.db.get(h)?.special !== 'cccd') conn.cccd.delete(h)
      const generation = ++a.generation
      if ((conn.cccdValue(sc.cccdHandle) & 2) === 0) continue
      a.bearer.indicate(sc.valueHandle, value.subarray(0, Math.max(0, conn.mtu - 3))).then(
        () => {
          if (a.generation === generation) conn.serviceChangedConfirmed()
        },
        () => undefined,
      )
    }
  }
}
