/**
 * Choosing how to pair from the Pairing Request and Response (Core v5.4 Vol 3 Part H 2.3.5.1,
 * Tables 2.6 to 2.8), and the key size both sides settle on (2.3.4).
 *
 * LE legacy pairing (not both sides set the SC flag): OOB when both sides have OOB data, else
 * Just Works when neither side asks for MITM protection, else the IO capability table. LE Secure
 * Connections (both set SC): OOB when either side has the other's OOB data, else the same MITM
 * rule, else the IO capability table, where Secure Connections turns the DisplayYesNo and
 * KeyboardDisplay pairs into Numeric Comparison.
 *
 * The IO capability table (Table 2.8), rows the responder, columns the initiator:
 *
 *                    DisplayOnly  DisplayYesNo  KeyboardOnly  NoInputNoOutput  KeyboardDisplay
 *   DisplayOnly        JW           JW            PK R>I        JW               PK R>I
 *   DisplayYesNo       JW           JW | NC       PK R>I        JW               PK R>I | NC
 *   KeyboardOnly       PK I>R       PK I>R        PK both in    JW               PK I>R
 *   NoInputNoOutput    JW           JW            JW            JW               JW
 *   KeyboardDisplay    PK I>R       PK I>R | NC   PK R>I        JW               PK I>R | NC
 *
 * JW Just Works; NC Numeric Comparison; "PK R>I" Passkey Entry where the responder displays and
 * the initiator types; "I>R" the other way; "a | b" legacy a, Secure Connections b.
 *
 * A side that asked for MITM protection and gets Just Works fails the pairing with Authentication
 * Requirements (2.3.5.1); so does a side in Secure Connections Only mode when the peer has no SC.
 */
import { AuthReq, SmpReason } from './pdu.ts'
import { SmpError } from './errors.ts'

export type IoCapability = 'displayOnly' | 'displayYesNo' | 'keyboardOnly' | 'noInputNoOutput' | 'keyboardDisplay'

/** The IO Capability values of Table 3.4. */
export const IO_CAPABILITY_VALUES: Readonly<Record<IoCapability, number>> = {
  displayOnly: 0x00,
  displayYesNo: 0x01,
  keyboardOnly: 0x02,
  noInputNoOutput: 0x03,
  keyboardDisplay: 0x04,
}

const IO_BY_VALUE: readonly IoCapability[] = [
  'displayOnly',
  'displayYesNo',
  'keyboardOnly',
  'noInputNoOutput',
  'keyboardDisplay',
]

export function ioCapabilityOf(value: number): IoCapability | undefined {
  return IO_BY_VALUE[value]
}

export type PairingMethod = 'justWorks' | 'numericComparison' | 'passkey' | 'oob'

/** What a side does with the passkey in Passkey Entry. */
export type PasskeyRole = 'display' | 'input'

/** The parameters of a Pairing Request or Response (3.5.1, 3.5.2), as decoded. */
export interface PairingFeatures {
  ioCapability: number
  oobDataFlag: number
  authReq: number
  maxEncryptionKeySize: number
  initiatorKeyDistribution: number
  responderKeyDistribution: number
}

export interface MethodChoice {
  method: PairingMethod
  secureConnections: boolean
  /** Passkey Entry only: who shows the passkey and who types it. */
  passkey?: { initiator: PasskeyRole; responder: PasskeyRole }
}

type Cell = 'JW' | 'NC' | 'RD' | 'ID' | 'BI'
// [responder][initiator]; a pair is [legacy, secure connections].
const J: [Cell, Cell] = ['JW', 'JW']
const RD: [Cell, Cell] = ['RD', 'RD']
const ID: [Cell, Cell] = ['ID', 'ID']
const TABLE: readonly (readonly [Cell, Cell][])[] = [
  [J, J, RD, J, RD],
  [J, ['JW', 'NC'], RD, J, ['RD', 'NC']],
  [ID, ID, ['BI', 'BI'], J, ID],
  [J, J, J, J, J],
  [ID, ['ID', 'NC'], RD, J, ['ID', 'NC']],
]

const PASSKEY_ROLES: Record<'RD' | 'ID' | 'BI', { initiator: PasskeyRole; responder: PasskeyRole }> = {
  RD: { initiator: 'input', responder: 'display' },
  ID: { initiator: 'display', responder: 'input' },
  BI: { initiator: 'input', responder: 'input' },
}

/** Checks the fields of a received Pairing Request or Response that have a range (3.5.1): Invalid Parameters otherwise. */
export function checkFeatures(f: PairingFeatures, what: string): void {
  const bad = (why: string): SmpError => SmpError.local(SmpReason.InvalidParameters, `${what}: ${why}`)
  if (ioCapabilityOf(f.ioCapability) === undefined) throw bad(`reserved IO capability 0x${f.ioCapability.toString(16)}`)
  if (f.oobDataFlag > 1) throw bad(`reserved OOB data flag 0x${f.oobDataFlag.toString(16)}`)
  if (f.maxEncryptionKeySize < 7 || f.maxEncryptionKeySize > 16) {
    throw bad(`maximum encryption key size ${f.maxEncryptionKeySize} is outside 7..16`)
  }
}

/** The method both sides arrive at from the Pairing Request (initiator) and Response (responder). */
export function selectMethod(req: PairingFeatures, rsp: PairingFeatures): MethodChoice {
  const secureConnections = (req.authReq & rsp.authReq & AuthReq.SecureConnections) !== 0
  const oob = secureConnections
    ? req.oobDataFlag === 1 || rsp.oobDataFlag === 1
    : req.oobDataFlag === 1 && rsp.oobDataFlag === 1
  if (oob) return { method: 'oob', secureConnections }
  if (((req.authReq | rsp.authReq) & AuthReq.Mitm) === 0) return { method: 'justWorks', secureConnections }
  const row = TABLE[rsp.ioCapability]
  const cell = row?.[req.ioCapability]
  if (!cell) return { method: 'justWorks', secureConnections }
  const c = cell[secureConnections ? 1 : 0]
  switch (c) {
    case 'JW':
      return { method: 'justWorks', secureConnections }
    case 'NC':
      return { method: 'numericComparison', secureConnections }
    case 'RD':
    case 'ID':
    case 'BI':
      return { method: 'passkey', secureConnections, passkey: PASSKEY_ROLES[c] }
  }
}

/** True when the method protects against a man in the middle (an authenticated key, 2.3.5.1). */
export function isAuthenticated(method: PairingMethod): boolean {
  return method !== 'justWorks'
}

/**
 * The key size of the pairing: the smaller of both maxima (2.3.4), refused with Encryption Key
 * Size when below `minimum` (7..16).
 */
export function negotiateKeySize(req: PairingFeatures, rsp: PairingFeatures, minimum: number): number {
  const size = Math.min(req.maxEncryptionKeySize, rsp.maxEncryptionKeySize)
  if (size < minimum) {
    throw SmpError.local(
      SmpReason.EncryptionKeySize,
      `the key would be ${size} octets, below the minimum of ${minimum}`,
    )
  }
  return size
}

/**
 * The local side's own requirements checked against the choice (2.3.5.1): MITM asked for but Just
 * Works chosen, or Secure Connections required but not both sides support it, fail the pairing
 * with Authentication Requirements.
 */
export function checkRequirements(
  choice: MethodChoice,
  local: { mitm: boolean; secureConnectionsOnly: boolean },
): void {
  if (local.secureConnectionsOnly && !choice.secureConnections) {
    throw SmpError.local(
      SmpReason.AuthenticationRequirements,
      'Secure Connections only, and the peer does not support it',
    )
  }
  if (local.mitm && !isAuthenticated(choice.method)) {
    throw SmpError.local(
      SmpReason.AuthenticationRequirements,
      'MITM protection required, and the IO capabilities of both sides only allow Just Works',
    )
  }
}
