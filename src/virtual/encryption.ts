/**
 * Encryption of an LE connection on the virtual controller (Core v5.4):
 * - HCI (Vol 4 Part E): 7.8.24 LE Enable Encryption (Central only), 7.8.25 LE Long Term Key
 *   Request Reply, 7.8.26 LE Long Term Key Request Negative Reply, 7.5.7 Read Encryption Key
 *   Size; events 7.7.65.5 LE Long Term Key Request, 7.7.8 Encryption Change [v1] / [v2] (v2 when
 *   the Host unmasked it, page 2 bit 25), 7.7.39 Encryption Key Refresh Complete.
 * - Link Layer (Vol 6 Part B 5.1.3): the Encryption Start procedure (LL_ENC_REQ with Rand, EDIV,
 *   SKDm, IVm; LL_ENC_RSP with SKDs, IVs; LL_START_ENC_REQ in the clear; LL_START_ENC_RSP each
 *   way, encrypted) and, on a link already encrypted, the Encryption Pause procedure first
 *   (LL_PAUSE_ENC_REQ / LL_PAUSE_ENC_RSP); no data PDUs meanwhile. The session key is derived
 *   for real: SK = e(LTK, SKD), SKD = SKDs || SKDm (SKDm the least significant half), with
 *   AES-128 (Vol 3 Part H 2.2.1, crypto.ts); IV = IVs || IVm.
 *   Each encrypted PDU carries the key it was encrypted with (ll-connection.ts), so a
 *   Peripheral whose Host gave a different LTK fails the MIC check of the Central's
 *   LL_START_ENC_RSP, and the link ends with 0x3D (Connection Terminated due to MIC Failure).
 * - A Negative Reply (or a masked LTK Request event) refuses with LL_REJECT_EXT_IND, PIN or Key
 *   Missing (0x06): the Central's Host gets Encryption Change with that status.
 */
import {
  LeEnableEncryption,
  LeLongTermKeyRequestNegativeReply,
  LeLongTermKeyRequestReply,
  ReadEncryptionKeySize,
} from '../../hci/commands.ts'
import {
  EncryptionChange,
  EncryptionChangeV2,
  EncryptionKeyRefreshComplete,
  LeLongTermKeyRequest,
} from '../../hci/events.ts'
import { Status } from '../../hci/constants.ts'
import { fail } from './controller-error.ts'
import type { ControllerCore } from './core.ts'
import type { Connections } from './connections-state.ts'
import { CENTRAL, PERIPHERAL, type Connection, type LlControlOf } from './ll-connection.ts'
import { leEncrypt } from './crypto.ts'

/** Feature bit 0: LE Encryption (Vol 6 Part B 4.6). */
const FEATURE_ENCRYPTION = 0

/** Encryption key size in octets (always the full 16: no key size reduction here). */
export const KEY_SIZE = 16

const PROC = 'encryption'

/** SK = e(LTK, SKDs || SKDm), all values little-endian (least significant octet first) as on HCI. */
export function sessionKey(ltk: Uint8Array, skdm: Uint8Array, skds: Uint8Array): Uint8Array {
  const skd = new Uint8Array(16)
  skd.set(skdm, 0)
  skd.set(skds, 8)
  return leEncrypt(ltk, skd)
}

/** IV = IVs || IVm, little-endian. */
export function initVector(ivm: Uint8Array, ivs: Uint8Array): Uint8Array {
  const iv = new Uint8Array(8)
  iv.set(ivm, 0)
  iv.set(ivs, 4)
  return iv
}

interface EncState {
  /** Encrypted, as its Host knows it (after Encryption Change). */
  encrypted: boolean
  /** The current procedure re-encrypts a link that was encrypted (Key Refresh). */
  refresh: boolean
  ltk?: Uint8Array
  rand?: Uint8Array
  ediv?: number
  skdm?: Uint8Array
  ivm?: Uint8Array
  skds?: Uint8Array
  ivs?: Uint8Array
  sk?: Uint8Array
  iv?: Uint8Array
  /** Peripheral: the LTK Request went to the Host, no answer yet. */
  awaitingLtk: boolean
}

const states = new WeakMap<Connection, EncState>()

function stateOf(conn: Connection): EncState {
  let s = states.get(conn)
  if (!s) {
    s = { encrypted: false, refresh: false, awaitingLtk: false }
    states.set(conn, s)
  }
  return s
}

/** Is the link encrypted (as its Host was told)? */
export function isEncrypted(conn: Connection): boolean {
  return states.get(conn)?.encrypted ?? false
}

/** The session key and IV in use (tests), if encrypted. */
export function sessionOf(conn: Connection): { sk: Uint8Array; iv: Uint8Array } | undefined {
  const s = states.get(conn)
  return s?.encrypted && s.sk && s.iv ? { sk: s.sk, iv: s.iv } : undefined
}

/** The Encryption Start and Pause procedures of one controller (both roles). */
export class Encryption {
  constructor(
    private readonly c: ControllerCore,
    private readonly m: Connections,
  ) {}

  /** 7.8.24: the Central starts (or, on an encrypted link, refreshes) encryption with this LTK. */
  enable(conn: Connection, ltk: Uint8Array, rand: Uint8Array, ediv: number): void {
    const m = this.m
    if (conn.role !== CENTRAL) fail(Status.CommandDisallowed, 'only the Central starts encryption')
    if (m.procedures.has(conn, PROC)) fail(Status.CommandDisallowed, 'encryption in progress')
    const s = stateOf(conn)
    m.procedures.run(conn, {
      name: PROC,
      begin: () => {
        s.ltk = ltk.slice()
        s.rand = rand.slice()
        s.ediv = ediv
        s.refresh = s.encrypted
        if (s.encrypted) {
          // 5.1.3.2: pause first (the PDU goes out encrypted with the old key).
          conn.dataPaused = true
          conn.sendControl({ op: 'LL_PAUSE_ENC_REQ' })
        } else {
          this.startRequest(conn, s)
        }
      },
      rejected: (code) => {
        // The Peripheral refused (no LTK): encryption stays off.
        conn.dataPaused = false
        s.encrypted = false
        s.refresh = false
        this.report(conn, s, code)
        m.procedures.finish(conn, PROC)
      },
    })
  }

  /** Pause (5.1.3.2), Peripheral: answer still encrypted with the old key, then expect the clear. */
  pauseRequest(conn: Connection): void {
    if (conn.role !== PERIPHERAL) return
    conn.dataPaused = true
    conn.sendControl({ op: 'LL_PAUSE_ENC_RSP' })
    conn.rxKey = undefined
  }

  pauseResponse(conn: Connection): void {
    if (conn.role === CENTRAL) {
      conn.rxKey = undefined
      conn.txKey = undefined
      conn.sendControl({ op: 'LL_PAUSE_ENC_RSP' }) // in the clear
      this.startRequest(conn, stateOf(conn))
    } else {
      conn.txKey = undefined
    }
  }

  /** Peripheral: LL_ENC_REQ -> LL_ENC_RSP, then ask the Host for the LTK. */
  request(conn: Connection, pdu: LlControlOf<'LL_ENC_REQ'>): void {
    if (conn.role !== PERIPHERAL) return
    const s = stateOf(conn)
    s.refresh = s.encrypted
    s.rand = pdu.rand
    s.ediv = pdu.ediv
    s.skdm = pdu.skdm
    s.ivm = pdu.ivm
    s.skds = this.random(8)
    s.ivs = this.random(4)
    conn.dataPaused = true
    conn.sendControl({ op: 'LL_ENC_RSP', skds: s.skds, ivs: s.ivs })
    if (!this.c.eventEnabled(LeLongTermKeyRequest)) {
      this.refuse(conn, s)
      return
    }
    s.awaitingLtk = true
    this.c.event(LeLongTermKeyRequest, {
      connectionHandle: conn.handle,
      randomNumber: pdu.rand,
      encryptedDiversifier: pdu.ediv,
    })
  }

  /** Central: the Peripheral's key diversifier and IV. */
  response(conn: Connection, pdu: LlControlOf<'LL_ENC_RSP'>): void {
    if (conn.role !== CENTRAL) return
    const s = stateOf(conn)
    if (!s.ltk || !s.skdm || !s.ivm) return
    s.skds = pdu.skds
    s.ivs = pdu.ivs
    s.sk = sessionKey(s.ltk, s.skdm, s.skds)
    s.iv = initVector(s.ivm, s.ivs)
  }

  /**
   * 7.8.25: the Peripheral's Host gives its LTK; LL_START_ENC_REQ goes out in the clear and the
   * Peripheral expects encrypted PDUs from then on.
   */
  ltkReply(conn: Connection, ltk: Uint8Array): void {
    const s = this.awaiting(conn)
    s.awaitingLtk = false
    s.ltk = ltk.slice()
    s.sk = sessionKey(s.ltk, s.skdm!, s.skds!)
    s.iv = initVector(s.ivm!, s.ivs!)
    conn.sendControl({ op: 'LL_START_ENC_REQ' })
    conn.rxKey = s.sk
  }

  /** 7.8.26 */
  ltkNegativeReply(conn: Connection): void {
    const s = this.awaiting(conn)
    this.refuse(conn, s)
    s.encrypted = false
  }

  /** Central: LL_START_ENC_REQ -> encrypt both ways, answer LL_START_ENC_RSP encrypted. */
  startEncRequest(conn: Connection): void {
    if (conn.role !== CENTRAL) return
    const s = stateOf(conn)
    if (!s.sk) return
    conn.txKey = s.sk
    conn.rxKey = s.sk
    conn.sendControl({ op: 'LL_START_ENC_RSP' })
  }

  startResponse(conn: Connection): void {
    const s = stateOf(conn)
    if (conn.role === PERIPHERAL) {
      // The Central's LL_START_ENC_RSP passed our MIC check: the keys agree.
      conn.txKey = s.sk
      conn.sendControl({ op: 'LL_START_ENC_RSP' })
    }
    conn.dataPaused = false
    s.encrypted = true
    this.report(conn, s, 0)
    s.refresh = false
    if (conn.role === CENTRAL) this.m.procedures.finish(conn, PROC)
  }

  private awaiting(conn: Connection): EncState {
    const s = stateOf(conn)
    if (conn.role !== PERIPHERAL || !s.awaitingLtk) fail(Status.CommandDisallowed, 'no LTK request pending')
    return s
  }

  private random(n: number): Uint8Array {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) out[i] = Math.floor(this.c.link.scheduler.random() * 256)
    return out
  }

  /** Central: LL_ENC_REQ (5.1.3.1). */
  private startRequest(conn: Connection, s: EncState): void {
    s.skdm = this.random(8)
    s.ivm = this.random(4)
    conn.dataPaused = true
    conn.sendControl({ op: 'LL_ENC_REQ', rand: s.rand!, ediv: s.ediv!, skdm: s.skdm, ivm: s.ivm })
  }

  private refuse(conn: Connection, s: EncState): void {
    s.awaitingLtk = false
    conn.dataPaused = false
    conn.sendControl({ op: 'LL_REJECT_EXT_IND', rejectOpcode: 'LL_ENC_REQ', errorCode: Status.PinOrKeyMissing })
  }

  /** Encryption Change (v2 if unmasked, else v1) or, after a refresh, Encryption Key Refresh Complete. */
  private report(conn: Connection, s: EncState, status: number): void {
    const c = this.c
    if (status === 0 && s.refresh) {
      c.event(EncryptionKeyRefreshComplete, { status: 0, connectionHandle: conn.handle })
      return
    }
    const enabled = status === 0 ? 0x01 : 0x00
    if (c.eventEnabled(EncryptionChangeV2)) {
      c.event(EncryptionChangeV2, {
        status,
        connectionHandle: conn.handle,
        encryptionEnabled: enabled,
        encryptionKeySize: status === 0 ? KEY_SIZE : 0,
      })
    } else {
      c.event(EncryptionChange, { status, connectionHandle: conn.handle, encryptionEnabled: enabled })
    }
  }
}

export function installEncryption(c: ControllerCore, m: Connections): void {
  const e = new Encryption(c, m)
  c.setFeature(FEATURE_ENCRYPTION)

  // 7.8.24
  c.handle(LeEnableEncryption, ({ connectionHandle, randomNumber, encryptedDiversifier, longTermKey }) => {
    e.enable(m.get(connectionHandle), longTermKey, randomNumber, encryptedDiversifier)
    return 0
  })
  m.onControl('LL_PAUSE_ENC_REQ', (conn) => e.pauseRequest(conn))
  m.onControl('LL_PAUSE_ENC_RSP', (conn) => e.pauseResponse(conn))
  m.onControl('LL_ENC_REQ', (conn, pdu) => e.request(conn, pdu))
  m.onControl('LL_ENC_RSP', (conn, pdu) => e.response(conn, pdu))
  // 7.8.25
  c.handle(LeLongTermKeyRequestReply, ({ connectionHandle, longTermKey }) => {
    const conn = m.get(connectionHandle)
    e.ltkReply(conn, longTermKey)
    return { status: 0, connectionHandle: conn.handle }
  })
  // 7.8.26
  c.handle(LeLongTermKeyRequestNegativeReply, ({ connectionHandle }) => {
    const conn = m.get(connectionHandle)
    e.ltkNegativeReply(conn)
    return { status: 0, connectionHandle: conn.handle }
  })
  m.onControl('LL_START_ENC_REQ', (conn) => e.startEncRequest(conn))
  m.onControl('LL_START_ENC_RSP', (conn) => e.startResponse(conn))

  // 7.5.7
  c.handle(ReadEncryptionKeySize, ({ connectionHandle }) => {
    const conn = m.get(connectionHandle)
    if (!isEncrypted(conn)) fail(Status.CommandDisallowed, 'not encrypted')
    return { status: 0, connectionHandle: conn.handle, keySize: KEY_SIZE }
  })
}
