/**
 * The per-connection state of the GATT server (Core v5.4 Vol 3 Part F 3.3.2 and 3.4.6, Part G
 * 2.5.2 and 3.3.3.3): the ATT_MTU of the bearer, the client's Client Characteristic
 * Configuration values, its queue of prepared writes, the security of the link, and what robust
 * caching needs (Client Supported Features, change-aware state).
 *
 * The server's request handler (att/server.ts) is a function of (database, connection, request);
 * everything it remembers between requests lives here, so a test builds a connection, feeds it
 * bytes and reads the state back.
 */

/**
 * The security of the link as the server sees it. The link layer (gap/) keeps it current;
 * `ServerConnection` holds the reference and reads it on every check. `bonded` (whether an LTK
 * exists for the peer) chooses between Insufficient Encryption and Insufficient Authentication
 * for an attribute that needs encryption on a link that has none (Vol 3 Part C 10.3.2).
 */
export interface ServerSecurity {
  readonly encrypted: boolean
  readonly authenticated: boolean
  readonly keySize: number
  readonly authorized?: boolean
  readonly bonded?: boolean
}

export const OPEN_LINK: ServerSecurity = Object.freeze({ encrypted: false, authenticated: false, keySize: 0 })

/** The default and minimum ATT_MTU on LE (Vol 3 Part F 3.2.8). */
export const ATT_DEFAULT_MTU = 23
/** The largest ATT_MTU a value of 512 octets needs (Read Response: opcode + 512... + headroom). */
export const ATT_MAX_MTU = 517

export interface PreparedWrite {
  readonly handle: number
  readonly offset: number
  readonly value: Uint8Array
}

export interface ServerConnectionOptions {
  security?: ServerSecurity
  /** Our Server Rx MTU, sent in the Exchange MTU Response (default 517). */
  maxMtu?: number
  /** The ATT_MTU to start with (default 23). */
  mtu?: number
  /** Entries in the prepare queue before Prepare Queue Full (default 128). */
  prepareQueueLimit?: number
  /** Octets of values in the prepare queue before Prepare Queue Full (default 8192). */
  prepareQueueBytes?: number
  /**
   * Checks the signature of a Signed Write Command (Vol 3 Part H 2.4.5, the CSRK and SignCounter
   * live in gap/). Without it, Signed Write Commands are ignored.
   */
  verifySignedWrite?: (message: Uint8Array, signature: Uint8Array) => boolean | Promise<boolean>
}

/** Client Supported Features bits (Vol 3 Part G 7.2, Table 7.6). */
export const ClientFeature = {
  RobustCaching: 0x01,
  EnhancedAtt: 0x02,
  MultipleHandleValueNotifications: 0x04,
} as const

export class ServerConnection {
  /** The current ATT_MTU. */
  mtu: number
  readonly maxMtu: number
  /** A live view of the link's security. */
  security: ServerSecurity
  /** Client Characteristic Configuration values by CCCD handle (absent = 0x0000). */
  readonly cccd = new Map<number, number>()
  readonly prepareQueue: PreparedWrite[] = []
  readonly prepareQueueLimit: number
  readonly prepareQueueBytes: number
  /** Octets held by the prepare queue. */
  preparedBytes = 0
  /** Client Supported Features as the client wrote them (bits only ever get set). */
  clientFeatures = 0
  /** Robust caching: the client knows the current database (Vol 3 Part G 2.5.2.1). */
  changeAware = true
  /** The client read the Database Hash while change-unaware. */
  hashRead = false
  /** A Database Out Of Sync error was sent since the client became change-unaware. */
  outOfSyncSent = false
  readonly verifySignedWrite: ServerConnectionOptions['verifySignedWrite']
  /** Called when an Exchange MTU Request changed `mtu`. */
  onMtu: ((mtu: number) => void) | undefined
  /** Counters for what the server dropped or refused without telling the client. */
  readonly stats = { ignoredCommands: 0, droppedCommands: 0, handlerErrors: 0 }

  constructor(opts: ServerConnectionOptions = {}) {
    this.security = opts.security ?? OPEN_LINK
    this.maxMtu = opts.maxMtu ?? ATT_MAX_MTU
    if (!Number.isInteger(this.maxMtu) || this.maxMtu < ATT_DEFAULT_MTU || this.maxMtu > 0xffff) {
      throw new RangeError(`maxMtu: ${this.maxMtu} (expected ${ATT_DEFAULT_MTU}..65535)`)
    }
    this.mtu = opts.mtu ?? ATT_DEFAULT_MTU
    this.prepareQueueLimit = opts.prepareQueueLimit ?? 128
    this.prepareQueueBytes = opts.prepareQueueBytes ?? 8192
    this.verifySignedWrite = opts.verifySignedWrite
    this.onMtu = undefined
  }

  /** The client enabled robust caching through Client Supported Features. */
  get robustCaching(): boolean {
    return (this.clientFeatures & ClientFeature.RobustCaching) !== 0
  }

  /** The CCCD value for a CCCD handle (0 when never written). */
  cccdValue(handle: number | undefined): number {
    return handle === undefined ? 0 : (this.cccd.get(handle) ?? 0)
  }

  /** Drop the prepare queue (Execute Write, disconnection). */
  clearPrepareQueue(): void {
    this.prepareQueue.length = 0
    this.preparedBytes = 0
  }

  /** The database changed: a robust-caching client becomes change-unaware (Part G 2.5.2.1). */
  databaseChanged(): void {
    if (!this.robustCaching) return
    this.changeAware = false
    this.hashRead = false
    this.outOfSyncSent = false
  }

  /** The client confirmed a Service Changed indication: it is change-aware again. */
  serviceChangedConfirmed(): void {
    this.changeAware = true
    this.hashRead = false
    this.outOfSyncSent = false
  }
}
