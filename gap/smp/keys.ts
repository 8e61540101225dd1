/**
 * Bonds: the keys a pairing leaves behind (Core v5.4 Vol 3 Part H 2.4.1 to 2.4.4 for what each
 * key is for, 3.6 for how they are distributed), the key store interface that keeps them, and an
 * in-memory store. The JSON file store is gap/smp/key-file.ts.
 *
 * Which LTK is used when. A legacy LTK is made by the device that distributes it, and is used on
 * later links where that device is the peripheral: it answers the LE Long Term Key Request whose
 * EDIV and Rand match what it distributed, and the central starts encryption with them. So a bond
 * holds `peerLtk` (what the peer distributed: we use it when we are central) and `localLtk` (what
 * we distributed: we answer with it when we are peripheral). Secure Connections derives one LTK
 * on both sides with EDIV 0 and Rand 0; it is stored as both.
 *
 * A bond is keyed by the peer's identity address (3.6.4, Identity Address Information) when the
 * peer sent one, else by the address it paired from. Keys are kept in wire order (least
 * significant octet first), as the PDUs and HCI carry them; the JSON form writes them as hex.
 */
import { randomBytes } from 'node:crypto'
import { HcikitError } from '../../hci/errors.ts'
import { fromHex, toHex } from '../../hci/wire.ts'
import type { AddressType } from '../connection.ts'

export type { AddressType }

/** A device address as the API prints it: "AA:BB:CC:DD:EE:FF", most significant octet first. */
export interface DeviceAddress {
  address: string
  type: AddressType
}

export interface LongTermKey {
  /** 16 octets, wire order (masked to keySize). */
  key: Uint8Array
  /** Encrypted Diversifier (0 for Secure Connections). */
  ediv: number
  /** Random Number, 8 octets wire order (zero for Secure Connections). */
  rand: Uint8Array
  /** Encryption key size in octets, 7..16. */
  keySize: number
  /** Made with MITM protection (Passkey Entry, Numeric Comparison, OOB). */
  authenticated: boolean
  secureConnections: boolean
}

export interface Bond {
  /** The peer's identity (its identity address, or the address it paired from when it sent none). */
  peer: DeviceAddress
  /** The address it paired from, when that was not its identity address (a resolvable private address). */
  pairedFrom?: DeviceAddress
  /** The peer's Identity Resolving Key: resolves its resolvable private addresses. */
  irk?: Uint8Array
  /** The peer's Connection Signature Resolving Key: verifies its signed writes. */
  csrk?: Uint8Array
  /** The LTK the peer distributed (or the SC LTK): we encrypt with it as central. */
  peerLtk?: LongTermKey
  /** The LTK we distributed (or the SC LTK): we answer the LTK Request with it as peripheral. */
  localLtk?: LongTermKey
  /** When the pairing that made this bond completed (ms since the epoch). */
  createdAt: number
}

/** Our own keys, the same for every peer: the IRK our RPAs come from and the CSRK we sign with. */
export interface LocalKeys {
  irk: Uint8Array
  csrk: Uint8Array
}

/** Where bonds live. Implementations keep each call atomic: a bond is all there or not there. */
export interface KeyStore {
  /** Every bond. */
  bonds(): Promise<Bond[]>
  /** The bond of a peer identity, if any. */
  get(peer: DeviceAddress): Promise<Bond | undefined>
  /** Store a bond, replacing any bond of the same peer identity. */
  put(bond: Bond): Promise<void>
  /** Remove a bond; false when there was none. */
  delete(peer: DeviceAddress): Promise<boolean>
  /** Our own keys, created (random) and kept on first use. */
  localKeys(): Promise<LocalKeys>
}

/** A key store file or value that cannot be read as one: nothing is guessed, nothing overwritten. */
export class KeyStoreError extends HcikitError {
  override name = 'KeyStoreError'
  constructor(message: string, hint?: string) {
    super('KEY_STORE_INVALID', 'smp', message, { hint })
  }
}

const ADDRESS = /^[0-9A-F]{2}(:[0-9A-F]{2}){5}$/

/** "aa:bb:..." -> "AA:BB:..."; throws KeyStoreError when it is not an address. */
export function normalizeAddress(address: string): string {
  const a = address.toUpperCase()
  if (!ADDRESS.test(a)) throw new KeyStoreError(`${JSON.stringify(address)} is not an address like AA:BB:CC:DD:EE:FF`)
  return a
}

/** The key a bond is filed under: "public/AA:BB:CC:DD:EE:FF". */
export function peerKey(peer: DeviceAddress): string {
  return `${peer.type}/${normalizeAddress(peer.address)}`
}

/** The LTK to start encryption with as central, if the bond has one. */
export function centralLtk(bond: Bond): LongTermKey | undefined {
  return bond.peerLtk
}

/**
 * The LTK that answers an LE Long Term Key Request (EDIV and Rand from the event) as peripheral,
 * if the bond has one that matches.
 */
export function peripheralLtk(bond: Bond, ediv: number, rand: Uint8Array): LongTermKey | undefined {
  const k = bond.localLtk
  if (!k || k.ediv !== ediv || k.rand.length !== rand.length) return undefined
  for (let i = 0; i < rand.length; i++) if (k.rand[i] !== rand[i]) return undefined
  return k
}

/** Which keys a bond holds, for listings: "LTK (SC, authenticated, 16), IRK, CSRK". */
export function describeKeys(bond: Bond): string[] {
  const out: string[] = []
  const ltk = bond.peerLtk ?? bond.localLtk
  if (ltk) {
    const how = [ltk.secureConnections ? 'SC' : 'legacy', ltk.authenticated ? 'authenticated' : 'unauthenticated']
    out.push(`LTK (${how.join(', ')}, ${ltk.keySize} octets)`)
  }
  if (bond.irk) out.push('IRK')
  if (bond.csrk) out.push('CSRK')
  return out
}

function copyLtk(k: LongTermKey | undefined): LongTermKey | undefined {
  return k ? { ...k, key: k.key.slice(), rand: k.rand.slice() } : undefined
}

/** A deep copy, so stores never share buffers with callers. */
export function copyBond(b: Bond): Bond {
  const out: Bond = { peer: { ...b.peer }, createdAt: b.createdAt }
  if (b.pairedFrom) out.pairedFrom = { ...b.pairedFrom }
  if (b.irk) out.irk = b.irk.slice()
  if (b.csrk) out.csrk = b.csrk.slice()
  const p = copyLtk(b.peerLtk)
  if (p) out.peerLtk = p
  const l = copyLtk(b.localLtk)
  if (l) out.localLtk = l
  return out
}

// ---------------------------------------------------------------------------------------------
// JSON form (used by the file store; keys as hex in wire order)

type Json = Record<string, unknown>

function hexOut(b: Uint8Array): string {
  return toHex(b)
}

function hexIn(v: unknown, what: string, length: number): Uint8Array {
  if (typeof v !== 'string' || v.length !== length * 2 || /[^0-9a-f]/i.test(v)) {
    throw new KeyStoreError(`${what}: expected ${length} octets of hex, got ${JSON.stringify(v)}`)
  }
  return fromHex(v)
}

function ltkToJson(k: LongTermKey): Json {
  return {
    key: hexOut(k.key),
    ediv: k.ediv,
    rand: hexOut(k.rand),
    keySize: k.keySize,
    authenticated: k.authenticated,
    secureConnections: k.secureConnections,
  }
}

function ltkFromJson(v: unknown, what: string): LongTermKey {
  if (typeof v !== 'object' || v === null) throw new KeyStoreError(`${what}: expected an object`)
  const o = v as Json
  const ediv = o.ediv
  const keySize = o.keySize
  if (typeof ediv !== 'number' || !Number.isInteger(ediv) || ediv < 0 || ediv > 0xffff) {
    throw new KeyStoreError(`${what}.ediv: expected 0..65535`)
  }
  if (typeof keySize !== 'number' || !Number.isInteger(keySize) || keySize < 7 || keySize > 16) {
    throw new KeyStoreError(`${what}.keySize: expected 7..16`)
  }
  return {
    key: hexIn(o.key, `${what}.key`, 16),
    ediv,
    rand: hexIn(o.rand, `${what}.rand`, 8),
    keySize,
    authenticated: o.authenticated === true,
    secureConnections: o.secureConnections === true,
  }
}

export function bondToJson(b: Bond): Json {
  const out: Json = {
    address: b.peer.address,
    addressType: b.peer.type,
    createdAt: new Date(b.createdAt).toISOString(),
  }
  if (b.pairedFrom) out.pairedFrom = { address: b.pairedFrom.address, addressType: b.pairedFrom.type }
  if (b.irk) out.irk = hexOut(b.irk)
  if (b.csrk) out.csrk = hexOut(b.csrk)
  if (b.peerLtk) out.peerLtk = ltkToJson(b.peerLtk)
  if (b.localLtk) out.localLtk = ltkToJson(b.localLtk)
  return out
}

export function bondFromJson(v: unknown, what: string): Bond {
  if (typeof v !== 'object' || v === null) throw new KeyStoreError(`${what}: expected an object`)
  const o = v as Json
  if (o.addressType !== 'public' && o.addressType !== 'random') {
    throw new KeyStoreError(`${what}.addressType: expected "public" or "random"`)
  }
  const created = typeof o.createdAt === 'string' ? Date.parse(o.createdAt) : Number.NaN
  if (Number.isNaN(created)) throw new KeyStoreError(`${what}.createdAt: expected an ISO date`)
  const bond: Bond = {
    peer: { address: normalizeAddress(String(o.address)), type: o.addressType },
    createdAt: created,
  }
  if (o.pairedFrom !== undefined) {
    const f = o.pairedFrom as Json
    if (typeof f !== 'object' || f === null || (f.addressType !== 'public' && f.addressType !== 'random')) {
      throw new KeyStoreError(`${what}.pairedFrom: expected {address, addressType}`)
    }
    bond.pairedFrom = { address: normalizeAddress(String(f.address)), type: f.addressType }
  }
  if (o.irk !== undefined) bond.irk = hexIn(o.irk, `${what}.irk`, 16)
  if (o.csrk !== undefined) bond.csrk = hexIn(o.csrk, `${what}.csrk`, 16)
  if (o.peerLtk !== undefined) bond.peerLtk = ltkFromJson(o.peerLtk, `${what}.peerLtk`)
  if (o.localLtk !== undefined) bond.localLtk = ltkFromJson(o.localLtk, `${what}.localLtk`)
  return bond
}

export function localKeysToJson(k: LocalKeys): Json {
  return { irk: hexOut(k.irk), csrk: hexOut(k.csrk) }
}

export function localKeysFromJson(v: unknown): LocalKeys {
  if (typeof v !== 'object' || v === null) throw new KeyStoreError('local: expected an object')
  const o = v as Json
  return { irk: hexIn(o.irk, 'local.irk', 16), csrk: hexIn(o.csrk, 'local.csrk', 16) }
}

// ---------------------------------------------------------------------------------------------

/** Bonds in memory (tests, short-lived sessions). `random` makes the local keys (default node:crypto). */
export class MemoryKeyStore implements KeyStore {
  private readonly map = new Map<string, Bond>()
  private local: LocalKeys | undefined

  constructor(private readonly random: (n: number) => Uint8Array = (n) => new Uint8Array(randomBytes(n))) {}

  async bonds(): Promise<Bond[]> {
    return [...this.map.values()].map(copyBond)
  }

  async get(peer: DeviceAddress): Promise<Bond | undefined> {
    const b = this.map.get(peerKey(peer))
    return b ? copyBond(b) : undefined
  }

  async put(bond: Bond): Promise<void> {
    const b = copyBond(bond)
    b.peer.address = normalizeAddress(b.peer.address)
    this.map.set(peerKey(b.peer), b)
  }

  async delete(peer: DeviceAddress): Promise<boolean> {
    return this.map.delete(peerKey(peer))
  }

  async localKeys(): Promise<LocalKeys> {
    this.local ??= { irk: this.random(16), csrk: this.random(16) }
    return { irk: this.local.irk.slice(), csrk: this.local.csrk.slice() }
  }
}
