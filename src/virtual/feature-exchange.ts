/**
 * Feature Exchange (Core v5.4 Vol 6 Part B 5.1.4 Central-initiated, LL_FEATURE_REQ; Peripheral-
 * initiated, LL_PERIPHERAL_FEATURE_REQ) and Version Exchange (5.1.5, one LL_VERSION_IND each way
 * per connection) on the virtual controller, with their HCI side: Vol 4 Part E 7.8.21 LE Read
 * Remote Features -> 7.7.65.4 LE Read Remote Features Complete, 7.1.23 Read Remote Version
 * Information -> 7.7.12 Read Remote Version Information Complete.
 */
import { LeReadRemoteFeatures, ReadRemoteVersionInformation } from '../../hci/commands.ts'
import { LeReadRemoteFeaturesComplete, ReadRemoteVersionInformationComplete } from '../../hci/events.ts'
import { Status } from '../../hci/constants.ts'
import { fail } from './controller-error.ts'
import type { ControllerCore } from './core.ts'
import type { Connections } from './connections-state.ts'
import { CENTRAL, PERIPHERAL, type Connection, type LlControlOf } from './ll-connection.ts'

/** Feature bit 3: Peripheral-initiated Features Exchange (Vol 6 Part B 4.6). */
export const FEATURE_PERIPHERAL_FEATURE_EXCHANGE = 3

const FEATURES = 'feature-exchange'
const VERSION = 'version-exchange'

type VersionInd = LlControlOf<'LL_VERSION_IND'>

export class FeatureExchange {
  constructor(
    private readonly c: ControllerCore,
    private readonly m: Connections,
  ) {}

  /** 7.8.21: ask the peer for its features (the Central's or the Peripheral's way). */
  readRemote(conn: Connection): void {
    const { c, m } = this
    if (m.procedures.has(conn, FEATURES)) fail(Status.CommandDisallowed, 'a feature exchange is in progress')
    m.procedures.run(conn, {
      name: FEATURES,
      begin: () => {
        if (conn.role === CENTRAL) {
          conn.sendControl({ op: 'LL_FEATURE_REQ', featureSet: c.features.slice() })
        } else if (
          !c.hasFeature(FEATURE_PERIPHERAL_FEATURE_EXCHANGE) ||
          !conn.peer.hasFeature(FEATURE_PERIPHERAL_FEATURE_EXCHANGE)
        ) {
          this.complete(conn, Status.UnsupportedRemoteFeature, new Uint8Array(8))
          m.procedures.finish(conn, FEATURES)
        } else {
          conn.sendControl({ op: 'LL_PERIPHERAL_FEATURE_REQ', featureSet: c.features.slice() })
        }
      },
      rejected: (code) => {
        this.complete(conn, code, new Uint8Array(8))
        m.procedures.finish(conn, FEATURES)
      },
    })
  }

  /** The peer asked (LL_FEATURE_REQ to a Peripheral, LL_PERIPHERAL_FEATURE_REQ to a Central). */
  answer(conn: Connection): void {
    conn.sendControl({ op: 'LL_FEATURE_RSP', featureSet: this.c.features.slice() })
  }

  response(conn: Connection, pdu: LlControlOf<'LL_FEATURE_RSP'>): void {
    if (this.m.procedures.active(conn)?.name !== FEATURES) return
    this.complete(conn, 0, pdu.featureSet)
    this.m.procedures.finish(conn, FEATURES)
  }

  private complete(conn: Connection, status: number, features: Uint8Array): void {
    this.c.event(LeReadRemoteFeaturesComplete, { status, connectionHandle: conn.handle, leFeatures: features })
  }
}

export class VersionExchange {
  private readonly sent = new WeakSet<Connection>()
  private readonly peerVersion = new WeakMap<Connection, VersionInd>()

  constructor(
    private readonly c: ControllerCore,
    private readonly m: Connections,
  ) {}

  /** 7.1.23: the peer's LL_VERSION_IND is asked for once per connection, then remembered. */
  readRemote(conn: Connection): void {
    const { c, m } = this
    const known = this.peerVersion.get(conn)
    if (known) {
      this.complete(conn, known)
      return
    }
    if (m.procedures.has(conn, VERSION)) fail(Status.CommandDisallowed, 'a version exchange is in progress')
    m.procedures.run(conn, {
      name: VERSION,
      begin: () => this.send(conn),
      rejected: (code) => {
        c.event(ReadRemoteVersionInformationComplete, {
          status: code,
          connectionHandle: conn.handle,
          version: 0,
          companyIdentifier: 0,
          subversion: 0,
        })
        m.procedures.finish(conn, VERSION)
      },
    })
  }

  indication(conn: Connection, pdu: VersionInd): void {
    this.peerVersion.set(conn, pdu)
    if (this.m.procedures.active(conn)?.name === VERSION) {
      this.complete(conn, pdu)
      this.m.procedures.finish(conn, VERSION)
    } else {
      this.send(conn)
    }
  }

  private send(conn: Connection): void {
    if (this.sent.has(conn)) return
    this.sent.add(conn)
    const v = this.c.version
    conn.sendControl({ op: 'LL_VERSION_IND', versNr: v.version, compId: v.companyIdentifier, subVersNr: v.subversion })
  }

  private complete(conn: Connection, v: VersionInd): void {
    this.c.event(ReadRemoteVersionInformationComplete, {
      status: 0,
      connectionHandle: conn.handle,
      version: v.versNr,
      companyIdentifier: v.compId,
      subversion: v.subVersNr,
    })
  }
}

export function installExchanges(c: ControllerCore, m: Connections): void {
  c.setFeature(FEATURE_PERIPHERAL_FEATURE_EXCHANGE)
  const features = new FeatureExchange(c, m)
  c.handle(LeReadRemoteFeatures, ({ connectionHandle }) => {
    features.readRemote(m.get(connectionHandle))
    return 0
  })
  m.onControl('LL_FEATURE_REQ', (conn) => {
    if (conn.role === PERIPHERAL) features.answer(conn)
  })
  m.onControl('LL_PERIPHERAL_FEATURE_REQ', (conn) => {
    if (conn.role === CENTRAL) features.answer(conn)
  })
  m.onControl('LL_FEATURE_RSP', (conn, pdu) => features.response(conn, pdu))

  const version = new VersionExchange(c, m)
  c.handle(ReadRemoteVersionInformation, ({ connectionHandle }) => {
    version.readRemote(m.get(connectionHandle))
    return 0
  })
  m.onControl('LL_VERSION_IND', (conn, pdu) => version.indication(conn, pdu))
}
