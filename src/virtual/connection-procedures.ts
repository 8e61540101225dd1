/**
 * The LL procedures of a connection other than updates, encryption and termination, with the
 * HCI commands that start them (Core v5.4):
 * - Data Length Update (Vol 6 Part B 5.1.9, 4.5.10): LE Set Data Length (Vol 4 Part E 7.8.33),
 *   LE Read/Write Suggested Default Data Length (7.8.34/7.8.35), LE Read Maximum Data Length
 *   (7.8.46), LE Data Length Change (7.7.65.7) on each side whose effective values changed.
 *   A controller whose Host raised the suggested default starts the procedure itself on every
 *   new connection, as shipping controllers do.
 * - PHY Update (5.1.10): LE Read PHY, LE Set Default PHY, LE Set PHY (7.8.47-7.8.49), LE PHY
 *   Update Complete (7.7.65.12): to the Host that asked always, to the other one if a PHY changed.
 *   LE 1M and LE 2M; the Coded PHY is not supported (0x11).
 * - Feature Exchange (5.1.4 Central-initiated, 5.1.5 Peripheral-initiated): LE Read Remote
 *   Features (7.8.21) -> LE Read Remote Features Complete (7.7.65.4).
 * - Version Exchange (5.1.5, one LL_VERSION_IND each way per connection): Read Remote Version
 *   Information (7.1.23) -> Read Remote Version Information Complete (7.7.12).
 * Connection Update and Connection Parameters Request are in connection-update.ts.
 */
import {
  LeReadMaximumDataLength,
  LeReadPhy,
  LeReadRemoteFeatures,
  LeReadSuggestedDefaultDataLength,
  LeSetDataLength,
  LeSetDefaultPhy,
  LeSetPhy,
  LeWriteSuggestedDefaultDataLength,
  ReadRemoteVersionInformation,
} from '../../hci/commands.ts'
import {
  LeDataLengthChange,
  LePhyUpdateComplete,
  LeReadRemoteFeaturesComplete,
  ReadRemoteVersionInformationComplete,
} from '../../hci/events.ts'
import { Status } from '../../hci/constants.ts'
import { ControllerError, type VirtualController } from './controller.ts'
import { CENTRAL, PERIPHERAL, type Connection, type LlControlOf } from './ll-connection.ts'
import type { Connections } from './connections.ts'
import { installConnectionUpdate } from './connection-update.ts'

/** Feature bits (Vol 6 Part B 4.6). */
const FEATURE_PERIPHERAL_FEATURE_EXCHANGE = 3
const FEATURE_DATA_LENGTH = 5
const FEATURE_2M = 8

/** The largest LL Data PDU payload, and its time on the slowest PHY we have (LE 1M: (251 + 14) * 8 us). */
export const MAX_OCTETS = 251
export const MAX_TIME = 2120
const MIN_OCTETS = 27
const MIN_TIME = 328

/** PHY bits in HCI bitmasks and LL PHY fields: 1M bit 0, 2M bit 1, Coded bit 2. */
const PHY_1M = 0b001
const PHY_2M = 0b010
const PHY_CODED = 0b100
const SUPPORTED_PHYS = PHY_1M | PHY_2M

const DATA_LENGTH = 'data-length'
const PHY_UPDATE = 'phy-update'
const FEATURES = 'feature-exchange'
const VERSION = 'version-exchange'

/** Validate All_PHYs / TX_PHYs / RX_PHYs (7.8.48, 7.8.49) and turn them into preference masks. */
function phyPreferences(allPhys: number, txPhys: number, rxPhys: number): { tx: number; rx: number } {
  if (allPhys & ~0b11 || txPhys & ~0b111 || rxPhys & ~0b111) throw new ControllerError(Status.InvalidParameters)
  const noTx = (allPhys & 0b01) !== 0
  const noRx = (allPhys & 0b10) !== 0
  if ((!noTx && txPhys === 0) || (!noRx && rxPhys === 0)) throw new ControllerError(Status.InvalidParameters)
  if ((!noTx && txPhys & PHY_CODED) || (!noRx && rxPhys & PHY_CODED)) {
    throw new ControllerError(Status.UnsupportedFeature, 'LE Coded PHY')
  }
  return { tx: noTx ? SUPPORTED_PHYS : txPhys, rx: noRx ? SUPPORTED_PHYS : rxPhys }
}

/** The PHY to use for one direction: the fastest both sides accept; 0 = no change possible. */
function choose(txPrefs: number, rxPrefs: number): number {
  const both = txPrefs & rxPrefs & SUPPORTED_PHYS
  return both & PHY_2M ? PHY_2M : both & PHY_1M ? PHY_1M : 0
}

/** HCI PHY value (1 = 1M, 2 = 2M) of a single-bit LL PHY field. */
const phyValue = (bit: number): number => (bit === PHY_2M ? 2 : 1)
const phyBit = (value: number): number => (value === 2 ? PHY_2M : PHY_1M)

export function installProcedures(c: VirtualController, m: Connections): void {
  c.setFeature(FEATURE_PERIPHERAL_FEATURE_EXCHANGE)
  c.setFeature(FEATURE_DATA_LENGTH)
  c.setFeature(FEATURE_2M)
  installConnectionUpdate(c, m)

  // --- Data Length Update ----------------------------------------------------------------------

  const checkLength = (octets: number, time: number): void => {
    if (octets < 0x001b || octets > 0x00fb || time < 0x0148 || time > 0x4290) {
      throw new ControllerError(Status.InvalidParameters, 'octets/time out of range')
    }
  }

  /** Recompute the effective values from the peer's LL_LENGTH_REQ/RSP (4.5.10). */
  const peerLength = (conn: Connection, r: LlControlOf<'LL_LENGTH_REQ'> | LlControlOf<'LL_LENGTH_RSP'>): void => {
    const txO = Math.max(MIN_OCTETS, Math.min(conn.localMaxTxOctets, r.maxRxOctets))
    const rxO = Math.max(MIN_OCTETS, Math.min(MAX_OCTETS, r.maxTxOctets))
    const txT = Math.max(MIN_TIME, Math.min(conn.localMaxTxTime, r.maxRxTime))
    const rxT = Math.max(MIN_TIME, Math.min(MAX_TIME, r.maxTxTime))
    if (txO === conn.maxTxOctets && rxO === conn.maxRxOctets && txT === conn.maxTxTime && rxT === conn.maxRxTime) return
    conn.maxTxOctets = txO
    conn.maxRxOctets = rxO
    conn.maxTxTime = txT
    conn.maxRxTime = rxT
    c.event(LeDataLengthChange, {
      connectionHandle: conn.handle,
      maxTxOctets: txO,
      maxTxTime: txT,
      maxRxOctets: rxO,
      maxRxTime: rxT,
    })
  }

  const ourLength = (
    conn: Connection,
  ): { maxRxOctets: number; maxRxTime: number; maxTxOctets: number; maxTxTime: number } => ({
    maxRxOctets: MAX_OCTETS,
    maxRxTime: MAX_TIME,
    maxTxOctets: conn.localMaxTxOctets,
    maxTxTime: conn.localMaxTxTime,
  })

  const lengthUpdate = (conn: Connection): void => {
    if (!conn.peer.hasFeature(FEATURE_DATA_LENGTH) || m.hasProcedure(conn, DATA_LENGTH)) return
    m.runProcedure(conn, {
      name: DATA_LENGTH,
      begin: () => conn.sendControl({ op: 'LL_LENGTH_REQ', ...ourLength(conn) }),
      rejected: () => m.finishProcedure(conn, DATA_LENGTH),
    })
  }

  m.onOpen((conn) => {
    if (conn.localMaxTxOctets !== MIN_OCTETS || conn.localMaxTxTime !== MIN_TIME) lengthUpdate(conn)
  })

  m.onControl('LL_LENGTH_REQ', (conn, pdu) => {
    conn.sendControl({ op: 'LL_LENGTH_RSP', ...ourLength(conn) })
    peerLength(conn, pdu)
  })
  m.onControl('LL_LENGTH_RSP', (conn, pdu) => {
    peerLength(conn, pdu)
    m.finishProcedure(conn, DATA_LENGTH)
  })

  // 7.8.33
  c.handle(LeSetDataLength, ({ connectionHandle, txOctets, txTime }) => {
    const conn = m.get(connectionHandle)
    checkLength(txOctets, txTime)
    conn.localMaxTxOctets = txOctets
    conn.localMaxTxTime = txTime
    lengthUpdate(conn)
    return { status: 0, connectionHandle: conn.handle }
  })
  // 7.8.34 / 7.8.35
  c.handle(LeReadSuggestedDefaultDataLength, () => ({
    status: 0,
    suggestedMaxTxOctets: m.suggested.octets,
    suggestedMaxTxTime: m.suggested.time,
  }))
  c.handle(LeWriteSuggestedDefaultDataLength, ({ suggestedMaxTxOctets, suggestedMaxTxTime }) => {
    checkLength(suggestedMaxTxOctets, suggestedMaxTxTime)
    m.suggested.octets = suggestedMaxTxOctets
    m.suggested.time = suggestedMaxTxTime
    return { status: 0 }
  })
  // 7.8.46
  c.handle(LeReadMaximumDataLength, () => ({
    status: 0,
    supportedMaxTxOctets: MAX_OCTETS,
    supportedMaxTxTime: MAX_TIME,
    supportedMaxRxOctets: MAX_OCTETS,
    supportedMaxRxTime: MAX_TIME,
  }))

  // --- PHY Update --------------------------------------------------------------------------------

  /** Our preferences on a connection: those of its LE Set PHY, else the defaults (7.8.48). */
  const prefs = new WeakMap<Connection, { tx: number; rx: number }>()
  const prefsOf = (conn: Connection): { tx: number; rx: number } =>
    prefs.get(conn) ?? { tx: m.defaultPhy.tx ?? SUPPORTED_PHYS, rx: m.defaultPhy.rx ?? SUPPORTED_PHYS }

  const phyComplete = (conn: Connection, status: number): void => {
    c.event(LePhyUpdateComplete, { status, connectionHandle: conn.handle, txPhy: conn.txPhy, rxPhy: conn.rxPhy })
  }

  /** Apply an LL_PHY_UPDATE_IND at `end` (both ends call it). */
  const applyPhy = (conn: Connection, ind: LlControlOf<'LL_PHY_UPDATE_IND'>): void => {
    const hostAsked = m.activeProcedure(conn)?.name === PHY_UPDATE
    const done = (changed: boolean): void => {
      if (hostAsked || changed) phyComplete(conn, 0)
      if (hostAsked) m.finishProcedure(conn, PHY_UPDATE)
    }
    if (ind.phyCToP === 0 && ind.phyPToC === 0) {
      done(false)
      return
    }
    const ok = conn.ll.atInstant(conn, ind.instant, () => {
      const [tx, rx] = conn.role === CENTRAL ? [ind.phyCToP, ind.phyPToC] : [ind.phyPToC, ind.phyCToP]
      const before = [conn.txPhy, conn.rxPhy]
      if (tx) conn.txPhy = phyValue(tx)
      if (rx) conn.rxPhy = phyValue(rx)
      done(before[0] !== conn.txPhy || before[1] !== conn.rxPhy)
    })
    if (!ok) conn.close(Status.InstantPassed)
  }

  /** The Central decides from both sides' preferences and sends LL_PHY_UPDATE_IND. */
  const centralDecides = (conn: Connection, peer: { tx: number; rx: number }): void => {
    const mine = prefsOf(conn)
    let cToP = choose(mine.tx, peer.rx)
    let pToC = choose(peer.tx, mine.rx)
    if (cToP === phyBit(conn.txPhy)) cToP = 0
    if (pToC === phyBit(conn.rxPhy)) pToC = 0
    const ind: LlControlOf<'LL_PHY_UPDATE_IND'> = {
      op: 'LL_PHY_UPDATE_IND',
      phyCToP: cToP,
      phyPToC: pToC,
      instant: cToP || pToC ? conn.ll.instantAhead() : 0,
    }
    conn.sendControl(ind)
    applyPhy(conn, ind)
  }

  // 7.8.47
  c.handle(LeReadPhy, ({ connectionHandle }) => {
    const conn = m.get(connectionHandle)
    return { status: 0, connectionHandle: conn.handle, txPhy: conn.txPhy, rxPhy: conn.rxPhy }
  })
  // 7.8.48
  c.handle(LeSetDefaultPhy, ({ allPhys, txPhys, rxPhys }) => {
    const p = phyPreferences(allPhys, txPhys, rxPhys)
    m.defaultPhy = { tx: allPhys & 1 ? undefined : p.tx, rx: allPhys & 2 ? undefined : p.rx }
    return { status: 0 }
  })
  // 7.8.49
  c.handle(LeSetPhy, ({ connectionHandle, allPhys, txPhys, rxPhys, phyOptions }) => {
    const conn = m.get(connectionHandle)
    const p = phyPreferences(allPhys, txPhys, rxPhys)
    if (phyOptions > 2) throw new ControllerError(Status.InvalidParameters, 'PHY_Options')
    if (m.hasProcedure(conn, PHY_UPDATE))
      throw new ControllerError(Status.CommandDisallowed, 'a PHY update is in progress')
    prefs.set(conn, p)
    m.runProcedure(conn, {
      name: PHY_UPDATE,
      begin: () => {
        if (!conn.peer.hasFeature(FEATURE_2M)) {
          // Nothing to negotiate: both sides only have LE 1M.
          phyComplete(conn, 0)
          m.finishProcedure(conn, PHY_UPDATE)
          return
        }
        conn.sendControl({ op: 'LL_PHY_REQ', txPhys: p.tx, rxPhys: p.rx })
      },
      rejected: (code) => {
        phyComplete(conn, code)
        m.finishProcedure(conn, PHY_UPDATE)
      },
    })
    return 0
  })

  m.onControl('LL_PHY_REQ', (conn, pdu) => {
    if (conn.role === CENTRAL) centralDecides(conn, { tx: pdu.txPhys, rx: pdu.rxPhys })
    else {
      const mine = prefsOf(conn)
      conn.sendControl({ op: 'LL_PHY_RSP', txPhys: mine.tx, rxPhys: mine.rx })
    }
  })
  m.onControl('LL_PHY_RSP', (conn, pdu) => {
    if (conn.role === CENTRAL && m.activeProcedure(conn)?.name === PHY_UPDATE) {
      centralDecides(conn, { tx: pdu.txPhys, rx: pdu.rxPhys })
    }
  })
  m.onControl('LL_PHY_UPDATE_IND', (conn, pdu) => {
    if (conn.role === PERIPHERAL) applyPhy(conn, pdu)
  })

  // --- Feature Exchange --------------------------------------------------------------------------

  const featuresComplete = (conn: Connection, status: number, features: Uint8Array): void => {
    c.event(LeReadRemoteFeaturesComplete, { status, connectionHandle: conn.handle, leFeatures: features })
  }

  // 7.8.21
  c.handle(LeReadRemoteFeatures, ({ connectionHandle }) => {
    const conn = m.get(connectionHandle)
    if (m.hasProcedure(conn, FEATURES))
      throw new ControllerError(Status.CommandDisallowed, 'a feature exchange is in progress')
    m.runProcedure(conn, {
      name: FEATURES,
      begin: () => {
        if (conn.role === CENTRAL) {
          conn.sendControl({ op: 'LL_FEATURE_REQ', featureSet: c.features.slice() })
        } else if (
          !c.hasFeature(FEATURE_PERIPHERAL_FEATURE_EXCHANGE) ||
          !conn.peer.hasFeature(FEATURE_PERIPHERAL_FEATURE_EXCHANGE)
        ) {
          featuresComplete(conn, Status.UnsupportedRemoteFeature, new Uint8Array(8))
          m.finishProcedure(conn, FEATURES)
        } else {
          conn.sendControl({ op: 'LL_PERIPHERAL_FEATURE_REQ', featureSet: c.features.slice() })
        }
      },
      rejected: (code) => {
        featuresComplete(conn, code, new Uint8Array(8))
        m.finishProcedure(conn, FEATURES)
      },
    })
    return 0
  })

  const answerFeatures = (conn: Connection): void =>
    conn.sendControl({ op: 'LL_FEATURE_RSP', featureSet: c.features.slice() })
  m.onControl('LL_FEATURE_REQ', (conn) => {
    if (conn.role === PERIPHERAL) answerFeatures(conn)
  })
  m.onControl('LL_PERIPHERAL_FEATURE_REQ', (conn) => {
    if (conn.role === CENTRAL) answerFeatures(conn)
  })
  m.onControl('LL_FEATURE_RSP', (conn, pdu) => {
    if (m.activeProcedure(conn)?.name !== FEATURES) return
    featuresComplete(conn, 0, pdu.featureSet)
    m.finishProcedure(conn, FEATURES)
  })

  // --- Version Exchange --------------------------------------------------------------------------

  const versionSent = new WeakSet<Connection>()
  const peerVersion = new WeakMap<Connection, LlControlOf<'LL_VERSION_IND'>>()
  const sendVersion = (conn: Connection): void => {
    if (versionSent.has(conn)) return
    versionSent.add(conn)
    conn.sendControl({
      op: 'LL_VERSION_IND',
      versNr: c.version.version,
      compId: c.version.companyIdentifier,
      subVersNr: c.version.subversion,
    })
  }
  const versionComplete = (conn: Connection, v: LlControlOf<'LL_VERSION_IND'>): void => {
    c.event(ReadRemoteVersionInformationComplete, {
      status: 0,
      connectionHandle: conn.handle,
      version: v.versNr,
      companyIdentifier: v.compId,
      subversion: v.subVersNr,
    })
  }

  // 7.1.23: the peer's LL_VERSION_IND is asked for once per connection, then remembered.
  c.handle(ReadRemoteVersionInformation, ({ connectionHandle }) => {
    const conn = m.get(connectionHandle)
    const known = peerVersion.get(conn)
    if (known) {
      versionComplete(conn, known)
      return 0
    }
    if (m.hasProcedure(conn, VERSION))
      throw new ControllerError(Status.CommandDisallowed, 'a version exchange is in progress')
    m.runProcedure(conn, {
      name: VERSION,
      begin: () => sendVersion(conn),
      rejected: (code) => {
        c.event(ReadRemoteVersionInformationComplete, {
          status: code,
          connectionHandle: conn.handle,
          version: 0,
          companyIdentifier: 0,
          subversion: 0,
        })
        m.finishProcedure(conn, VERSION)
      },
    })
    return 0
  })

  m.onControl('LL_VERSION_IND', (conn, pdu) => {
    peerVersion.set(conn, pdu)
    if (m.activeProcedure(conn)?.name === VERSION) {
      versionComplete(conn, pdu)
      m.finishProcedure(conn, VERSION)
    } else {
      sendVersion(conn)
    }
  })
}
