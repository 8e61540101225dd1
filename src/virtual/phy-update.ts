/**
 * The PHY Update procedure of the virtual controller (Core v5.4 Vol 6 Part B 5.1.10) with its HCI
 * side (Vol 4 Part E 7.8.47 LE Read PHY, 7.8.48 LE Set Default PHY, 7.8.49 LE Set PHY, 7.7.65.12
 * LE PHY Update Complete: to the Host that asked always, to the other one if a PHY changed).
 * LE 1M and LE 2M; the Coded PHY is not supported (0x11). The Central decides from both sides'
 * preferences and sends LL_PHY_UPDATE_IND; both ends switch at its instant.
 */
import { LeReadPhy, LeSetDefaultPhy, LeSetPhy } from '../../hci/commands.ts'
import { LePhyUpdateComplete } from '../../hci/events.ts'
import { Status } from '../../hci/constants.ts'
import { fail } from './controller-error.ts'
import type { ControllerCore } from './core.ts'
import type { Connections } from './connections-state.ts'
import { CENTRAL, PERIPHERAL, type Connection, type LlControlOf } from './ll-connection.ts'

/** Feature bit 8: LE 2M PHY (Vol 6 Part B 4.6). */
export const FEATURE_2M = 8

/** PHY bits in HCI bitmasks and LL PHY fields: 1M bit 0, 2M bit 1, Coded bit 2. */
const PHY_1M = 0b001
const PHY_2M = 0b010
const PHY_CODED = 0b100
const SUPPORTED_PHYS = PHY_1M | PHY_2M

const PROC = 'phy-update'

interface Prefs {
  tx: number
  rx: number
}

/** Validate All_PHYs / TX_PHYs / RX_PHYs (7.8.48, 7.8.49) and turn them into preference masks. */
function phyPreferences(allPhys: number, txPhys: number, rxPhys: number): Prefs {
  if (allPhys & ~0b11 || txPhys & ~0b111 || rxPhys & ~0b111) fail(Status.InvalidParameters)
  const noTx = (allPhys & 0b01) !== 0
  const noRx = (allPhys & 0b10) !== 0
  if ((!noTx && txPhys === 0) || (!noRx && rxPhys === 0)) fail(Status.InvalidParameters)
  if ((!noTx && txPhys & PHY_CODED) || (!noRx && rxPhys & PHY_CODED)) fail(Status.UnsupportedFeature, 'LE Coded PHY')
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

export class PhyUpdate {
  /** Our preferences on a connection: those of its LE Set PHY, else the defaults (7.8.48). */
  private readonly prefs = new WeakMap<Connection, Prefs>()

  constructor(
    private readonly c: ControllerCore,
    private readonly m: Connections,
  ) {}

  /** 7.8.49: run the procedure with these preferences. */
  setPhy(conn: Connection, p: Prefs): void {
    const m = this.m
    if (m.procedures.has(conn, PROC)) fail(Status.CommandDisallowed, 'a PHY update is in progress')
    this.prefs.set(conn, p)
    m.procedures.run(conn, {
      name: PROC,
      begin: () => {
        if (!conn.peer.hasFeature(FEATURE_2M)) {
          // Nothing to negotiate: both sides only have LE 1M.
          this.complete(conn, 0)
          m.procedures.finish(conn, PROC)
          return
        }
        conn.sendControl({ op: 'LL_PHY_REQ', txPhys: p.tx, rxPhys: p.rx })
      },
      rejected: (code) => {
        this.complete(conn, code)
        m.procedures.finish(conn, PROC)
      },
    })
  }

  request(conn: Connection, pdu: LlControlOf<'LL_PHY_REQ'>): void {
    if (conn.role === CENTRAL) this.centralDecides(conn, { tx: pdu.txPhys, rx: pdu.rxPhys })
    else {
      const mine = this.prefsOf(conn)
      conn.sendControl({ op: 'LL_PHY_RSP', txPhys: mine.tx, rxPhys: mine.rx })
    }
  }

  response(conn: Connection, pdu: LlControlOf<'LL_PHY_RSP'>): void {
    if (conn.role === CENTRAL && this.m.procedures.active(conn)?.name === PROC) {
      this.centralDecides(conn, { tx: pdu.txPhys, rx: pdu.rxPhys })
    }
  }

  indication(conn: Connection, pdu: LlControlOf<'LL_PHY_UPDATE_IND'>): void {
    if (conn.role === PERIPHERAL) this.apply(conn, pdu)
  }

  complete(conn: Connection, status: number): void {
    this.c.event(LePhyUpdateComplete, { status, connectionHandle: conn.handle, txPhy: conn.txPhy, rxPhy: conn.rxPhy })
  }

  private prefsOf(conn: Connection): Prefs {
    const d = this.m.defaultPhy
    return this.prefs.get(conn) ?? { tx: d.tx ?? SUPPORTED_PHYS, rx: d.rx ?? SUPPORTED_PHYS }
  }

  /** The Central decides from both sides' preferences and sends LL_PHY_UPDATE_IND. */
  private centralDecides(conn: Connection, peer: Prefs): void {
    const mine = this.prefsOf(conn)
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
    this.apply(conn, ind)
  }

  /** Apply an LL_PHY_UPDATE_IND at `conn` (both ends call it). */
  private apply(conn: Connection, ind: LlControlOf<'LL_PHY_UPDATE_IND'>): void {
    const hostAsked = this.m.procedures.active(conn)?.name === PROC
    const done = (changed: boolean): void => {
      if (hostAsked || changed) this.complete(conn, 0)
      if (hostAsked) this.m.procedures.finish(conn, PROC)
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
}

export function installPhyUpdate(c: ControllerCore, m: Connections): void {
  const phy = new PhyUpdate(c, m)
  c.setFeature(FEATURE_2M)
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
    if (phyOptions > 2) fail(Status.InvalidParameters, 'PHY_Options')
    phy.setPhy(conn, p)
    return 0
  })
  m.onControl('LL_PHY_REQ', (conn, pdu) => phy.request(conn, pdu))
  m.onControl('LL_PHY_RSP', (conn, pdu) => phy.response(conn, pdu))
  m.onControl('LL_PHY_UPDATE_IND', (conn, pdu) => phy.indication(conn, pdu))
}
