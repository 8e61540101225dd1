/**
 * Phase 1 of pairing, the feature exchange (Core v5.4 Vol 3 Part H 2.3, 3.5.1, 3.5.2, 3.6.1):
 * our Pairing Request or Response from the configuration, and what both sides agree on from the
 * pair of them: the method (gap/smp/method.ts), the key size, bonding and which keys go which way.
 *
 * AuthReq carries Bonding, MITM and SC from the configuration (Keypress and CT2 are not used).
 * The OOB data flag says we hold the peer's OOB data (the legacy TK or its SC OOB data).
 * Key distribution: as initiator we offer the LTK (when bonding), our IRK and identity address
 * (when configured) and our CSRK (when configured), and ask for all three from the responder; as
 * responder we answer with the subset of each field we can honour (3.6.1); without bonding no
 * keys go either way. A responder that answers with keys outside what was asked fails with
 * Invalid Parameters. The Link Key bit (BR/EDR derivation) is never set.
 */
import { AuthReq, KeyDistribution, SmpReason } from './pdu.ts'
import { SmpError } from './errors.ts'
import {
  IO_CAPABILITY_VALUES,
  checkFeatures,
  checkRequirements,
  negotiateKeySize,
  selectMethod,
  type MethodChoice,
  type PairingFeatures,
} from './method.ts'
import type { PairingConfig, SmpRole } from './pairing-types.ts'

const ALL_KEYS = KeyDistribution.EncKey | KeyDistribution.IdKey | KeyDistribution.SignKey

export interface Negotiated {
  choice: MethodChoice
  keySize: number
  /** Both sides asked for bonding. */
  bonding: boolean
  /** Key Distribution bits of what we send and what the peer sends. */
  send: number
  expect: number
}

function authReq(config: PairingConfig): number {
  let v = 0
  if (config.bonding !== false) v |= AuthReq.Bonding
  if (config.mitm || config.requestMitm) v |= AuthReq.Mitm
  if (config.secureConnections !== 'never') v |= AuthReq.SecureConnections
  return v
}

/** The keys we can give: the LTK when bonding, the identity and signing keys when configured. */
function offered(config: PairingConfig): number {
  if (config.bonding === false) return 0
  let v = KeyDistribution.EncKey
  if (config.identity) v |= KeyDistribution.IdKey
  if (config.csrk) v |= KeyDistribution.SignKey
  return v
}

function base(config: PairingConfig): Omit<PairingFeatures, 'initiatorKeyDistribution' | 'responderKeyDistribution'> {
  const oob = config.oob
  return {
    ioCapability: IO_CAPABILITY_VALUES[config.io ?? 'noInputNoOutput'],
    oobDataFlag: oob?.tk || oob?.peer ? 1 : 0,
    authReq: authReq(config),
    maxEncryptionKeySize: config.maxKeySize ?? 16,
  }
}

/** Our Pairing Request (initiator). */
export function requestFeatures(config: PairingConfig): PairingFeatures {
  return {
    ...base(config),
    initiatorKeyDistribution: offered(config),
    responderKeyDistribution: config.bonding === false ? 0 : ALL_KEYS,
  }
}

/** Our Pairing Response to `req` (responder). */
export function responseFeatures(config: PairingConfig, req: PairingFeatures): PairingFeatures {
  const accept = config.bonding === false ? 0 : ALL_KEYS
  return {
    ...base(config),
    initiatorKeyDistribution: req.initiatorKeyDistribution & accept,
    responderKeyDistribution: req.responderKeyDistribution & offered(config),
  }
}

/**
 * What both sides agree on, checked from the local side's point of view: the peer's fields in
 * range, SC-only and MITM requirements, the key size, the responder's key fields within the
 * request's. Throws SmpError.local with the reason to send.
 */
export function negotiate(
  role: SmpRole,
  config: PairingConfig,
  req: PairingFeatures,
  rsp: PairingFeatures,
): Negotiated {
  checkFeatures(role === 'initiator' ? rsp : req, role === 'initiator' ? 'Pairing Response' : 'Pairing Request')
  const scOnly = config.secureConnections === 'only'
  const choice = selectMethod(req, rsp)
  checkRequirements(choice, { mitm: config.mitm === true, secureConnectionsOnly: scOnly })
  const keySize = negotiateKeySize(req, rsp, config.minKeySize ?? 16)
  const keyBits = KeyDistribution.EncKey | KeyDistribution.IdKey | KeyDistribution.SignKey | KeyDistribution.LinkKey
  if (
    rsp.initiatorKeyDistribution & ~req.initiatorKeyDistribution & keyBits ||
    rsp.responderKeyDistribution & ~req.responderKeyDistribution & keyBits
  ) {
    throw SmpError.local(
      SmpReason.InvalidParameters,
      'the Pairing Response distributes keys the request did not ask for',
    )
  }
  const init = rsp.initiatorKeyDistribution & ALL_KEYS
  const resp = rsp.responderKeyDistribution & ALL_KEYS
  return {
    choice,
    keySize,
    bonding: (req.authReq & rsp.authReq & AuthReq.Bonding) !== 0,
    send: role === 'initiator' ? init : resp,
    expect: role === 'initiator' ? resp : init,
  }
}
