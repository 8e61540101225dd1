/**
 * The Initiating state of the virtual controller (Core v5.4 Vol 6 Part B 4.4.4) and the HCI
 * commands that enter and leave it (Vol 4 Part E 7.8.12 LE Create Connection, 7.8.66 LE Extended
 * Create Connection [v1], 7.8.13 LE Create Connection Cancel): the initiator answers the first
 * connectable advertisement of its peer, or of a device on the Filter Accept List, with
 * CONNECT_IND / AUX_CONNECT_REQ, and the Central's end of the new connection starts
 * (connections.ts announces it). Privacy (6.4): AdvA is resolved through the resolving list, so a
 * peer given by its identity (Peer_Address_Type 0x00-0x03) is found behind its RPA; InitA is our
 * RPA toward it when its entry has a local IRK (Own_Address_Type 0x02/0x03).
 */
import { LeCreateConnection, LeCreateConnectionCancel, LeExtendedCreateConnection } from '../../hci/commands.ts'
import { Status } from '../../hci/constants.ts'
import type { AdvPdu, ConnectIndPdu } from './air.ts'
import { ControllerError, fail } from './controller-error.ts'
import type { ControllerCore } from './core.ts'
import { checkConnectionParameters, checkScan } from './connection-params.ts'
import { FEATURE_CSA2, linkReceiver, type Connections } from './connections-state.ts'
import { CENTRAL, Connection, LinkConnection, type ConnParams } from './ll-connection.ts'
import { identityOf, targetsUs } from './privacy.ts'
import type { Heard, Identity } from './resolving-list.ts'

/** The connection parameters of one PHY of a (Extended) Create Connection. */
interface InitParams {
  scanInterval: number
  scanWindow: number
  connectionIntervalMin: number
  connectionIntervalMax: number
  maxLatency: number
  supervisionTimeout: number
  minCeLength: number
  maxCeLength: number
}

/** A pending (Extended) Create Connection. */
interface Attempt {
  extended: boolean
  filterPolicy: number
  peer: { type: number; address: string }
  /** Own_Address_Type (0-3): InitA is chosen when the advertiser is known (6.4). */
  ownType: number
  /** Parameters by PHY (1 = 1M, 2 = 2M). */
  byPhy: Map<number, InitParams>
}

export class Initiator {
  /** The Create Connection in progress. */
  pending: Attempt | undefined

  constructor(
    private readonly c: ControllerCore,
    private readonly m: Connections,
  ) {}

  /** Enter the Initiating state (Command Status 0, or a thrown ControllerError). */
  begin(attempt: Attempt): number {
    if (this.pending) fail(Status.CommandDisallowed, 'a Create Connection is pending')
    if (attempt.filterPolicy === 0 && this.m.connectedTo(attempt.peer.type & 1, attempt.peer.address)) {
      fail(Status.ConnectionAlreadyExists)
    }
    this.pending = attempt
    return 0
  }

  /** 7.8.13: the cancelled attempt ends with a connection-complete event, status 0x02. */
  cancel(): void {
    const attempt = this.pending
    if (!attempt) fail(Status.CommandDisallowed, 'no Create Connection pending')
    this.pending = undefined
    this.m.connectionComplete(Status.UnknownConnectionId, {
      handle: 0,
      role: CENTRAL,
      peerType: attempt.peer.type,
      peerAddress: attempt.peer.address,
      params: { interval: 0, latency: 0, timeout: 0 },
      clockAccuracy: 0,
      advertisingHandle: 0xff,
    })
  }

  /**
   * An advertisement on the air: connect to it if it is the one we are waiting for (4.4.4), its
   * AdvA resolved through the resolving list and, when directed, its TargetA ours (6.4).
   */
  advertisement(from: ControllerCore, adv: AdvPdu): void {
    const attempt = this.pending
    if (!attempt || !adv.props.connectable) return
    if (!attempt.extended && !adv.props.legacy) return
    const heard = this.c.resolvingList.resolve(adv.advA, adv.advAType)
    if (!heard) return // network privacy: an identity address where an RPA was due
    if (adv.props.directed) {
      const target = { address: adv.targetA ?? '', type: adv.targetAType ?? 0 }
      if (!targetsUs(this.c, attempt.ownType, target, heard, true)) return
    }
    if (attempt.filterPolicy === 0) {
      if (!isPeer(attempt, adv, heard)) return
    } else if (!this.c.acceptList.has(heard.type & 1, heard.address)) return
    if (this.m.connectedTo(heard.type, heard.address)) return
    this.connect(from, adv, attempt, heard)
  }

  private connect(advertiser: ControllerCore, adv: AdvPdu, attempt: Attempt, heard: Heard): void {
    const c = this.c
    const m = this.m
    const own = c.ownAddress(attempt.ownType, identityOf(heard))
    if (!own) return // checked by the command; only a Reset in between could get here
    // An AUX_CONNECT_REQ on a 2M secondary channel makes a 2M connection (with the 2M parameters if given).
    const phy = !adv.props.legacy && adv.secondaryPhy === 2 ? 2 : 1
    const p = attempt.byPhy.get(phy) ?? attempt.byPhy.get(1)!
    const params: ConnParams = {
      interval: p.connectionIntervalMin,
      latency: p.maxLatency,
      timeout: p.supervisionTimeout,
    }
    const ll = new LinkConnection(c.link.scheduler, c.link, c.timing, c.packetsPerEvent, linkReceiver)
    const csa2 = c.hasFeature(FEATURE_CSA2) && (!adv.props.legacy || advertiser.hasFeature(FEATURE_CSA2))
    const ind: ConnectIndPdu = {
      kind: 'connect_ind',
      initA: own.address,
      initAType: own.type,
      advA: adv.advA,
      advAType: adv.advAType,
      handle: adv.handle,
      legacy: adv.props.legacy,
      params: { ...params, phy, chSel2: c.hasFeature(FEATURE_CSA2) },
      extra: ll,
    }
    // A CONNECT_IND lost on the air: the initiator keeps listening for the next advertisement.
    if (!c.link.unicast(c, advertiser, ind)) return
    this.pending = undefined
    const conn = new Connection(
      ll,
      CENTRAL,
      c,
      advertiser,
      m.allocateHandle(),
      { address: own.address, type: own.type },
      { address: heard.address, type: heard.type },
      params,
      phy,
      m.suggested,
      (x, r, n) => m.closed(x, r, n),
    )
    conn.peerRpa = heard.rpa
    conn.localRpa = own.generated ? own.address : undefined
    ll.central = conn
    // The first connection event follows transmitWindowDelay (1.25 ms) after the CONNECT_IND (4.5.3).
    ll.start(1.25)
    m.announce(conn, csa2, 0xff)
  }
}

/**
 * 7.8.12: Own_Address_Type 0x01, or 0x03 without an RPA to use (the Filter Accept List decides
 * the peer, or the peer's entry has no local IRK), needs a random address: else 0x12.
 */
function checkOwnAddress(c: ControllerCore, ownType: number, filterPolicy: number, peer: Identity): void {
  const viaList = filterPolicy === 0 && ownType >= 2 && c.resolvingList.hasLocalIrk(peer)
  if (!viaList && !c.ownAddress(ownType)) fail(Status.InvalidParameters, 'no random address set')
}

/** Is the advertiser the peer of a Create Connection (by its identity, or by AdvA itself)? */
function isPeer(attempt: Attempt, adv: AdvPdu, heard: Heard): boolean {
  const { type, address } = attempt.peer
  if (adv.advA.toUpperCase() === address && adv.advAType === (type & 1)) return true
  return heard.address === address && (heard.type & 1) === (type & 1)
}

/** The three commands of the Initiating state, on `initiator`. */
export function installInitiator(c: ControllerCore, initiator: Initiator): void {
  // 7.8.12
  c.handle(LeCreateConnection, (p) => {
    checkScan(p)
    if (p.initiatorFilterPolicy > 1 || p.peerAddressType > 3 || p.ownAddressType > 3) {
      throw new ControllerError(Status.InvalidParameters)
    }
    checkConnectionParameters(p)
    const peer = { type: p.peerAddressType, address: p.peerAddress.toUpperCase() }
    checkOwnAddress(c, p.ownAddressType, p.initiatorFilterPolicy, peer)
    return initiator.begin({
      extended: false,
      filterPolicy: p.initiatorFilterPolicy,
      peer,
      ownType: p.ownAddressType,
      byPhy: new Map([[1, p]]),
    })
  })

  // 7.8.66 (v1): per-PHY parameters for 1M (bit 0), 2M (bit 1), Coded (bit 2).
  c.handle(LeExtendedCreateConnection, (p) => {
    if (p.initiatorFilterPolicy > 1 || p.peerAddressType > 3 || p.ownAddressType > 3) {
      throw new ControllerError(Status.InvalidParameters)
    }
    if (p.initiatingPhys === 0 || (p.initiatingPhys & ~0x07) !== 0) throw new ControllerError(Status.InvalidParameters)
    if (p.initiatingPhys & 0x04) fail(Status.UnsupportedFeature, 'LE Coded PHY')
    if ((p.initiatingPhys & 0x01) === 0) fail(Status.InvalidParameters, 'no primary-channel PHY')
    const byPhy = new Map<number, InitParams>()
    let i = 0
    for (const phy of [1, 2]) {
      if ((p.initiatingPhys & (1 << (phy - 1))) === 0) continue
      const block = p.perPhy[i++]!
      checkScan(block)
      checkConnectionParameters(block)
      byPhy.set(phy, block)
    }
    const peer = { type: p.peerAddressType, address: p.peerAddress.toUpperCase() }
    checkOwnAddress(c, p.ownAddressType, p.initiatorFilterPolicy, peer)
    return initiator.begin({
      extended: true,
      filterPolicy: p.initiatorFilterPolicy,
      peer,
      ownType: p.ownAddressType,
      byPhy,
    })
  })

  c.handle(LeCreateConnectionCancel, () => {
    initiator.cancel()
    return { status: 0 }
  })
}
