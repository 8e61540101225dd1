/**
 * Security Manager Protocol PDUs (Core v5.4 Vol 3 Part H 3.3, 3.5 and 3.6): every command
 * declared once as a typed field table keyed by its code, with the Pairing Failed reasons
 * (3.5.5, Table 3.7) and the names of IO capabilities (3.5.1, Table 3.4) and keypress
 * notification types (3.5.8, Table 3.10).
 *
 * An SMP PDU is `Code (u8) | Data`, carried on L2CAP CID 0x0006 (LE) or 0x0007 (BR/EDR). Every
 * command has a fixed size; a PDU shorter or longer than its code's size is an error (the
 * receiver answers Pairing Failed with Invalid Parameters, 3.3). Keys and random numbers are
 * kept as the octets on the wire (least significant octet first), as views.
 */
import type { DecodeError } from '../../hci/errors.ts'
import { u8, u16, bytes, address } from '../../hci/spec.ts'
import type { Fields, Kind, StructValue } from '../../hci/spec.ts'
import { pdu, decodePdu, encodePdu, reencodePdu, formatPdu } from '../../att/pdu.ts'
import type { PduSpec } from '../../att/pdu.ts'

export type SmpPduSpec<P extends Fields = Fields> = PduSpec<P>
export type SmpParams<S> = S extends PduSpec<infer P> ? StructValue<P> : never

const hex2 = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`

function namedU8(table: Readonly<Record<number, string>>, kind: string): Kind<number> {
  return { ...u8, kind, format: (v) => `${table[v] ?? 'Reserved'} (${hex2(v)})` }
}

// ---------------------------------------------------------------------------------------------
// Names

export const SMP_REASON_NAMES: Readonly<Record<number, string>> = {
  0x01: 'Passkey Entry Failed',
  0x02: 'OOB Not Available',
  0x03: 'Authentication Requirements',
  0x04: 'Confirm Value Failed',
  0x05: 'Pairing Not Supported',
  0x06: 'Encryption Key Size',
  0x07: 'Command Not Supported',
  0x08: 'Unspecified Reason',
  0x09: 'Repeated Attempts',
  0x0a: 'Invalid Parameters',
  0x0b: 'DHKey Check Failed',
  0x0c: 'Numeric Comparison Failed',
  0x0d: 'BR/EDR pairing in progress',
  0x0e: 'Cross-transport Key Derivation/Generation not allowed',
  0x0f: 'Key Rejected',
}

export const SmpReason = {
  PasskeyEntryFailed: 0x01,
  OobNotAvailable: 0x02,
  AuthenticationRequirements: 0x03,
  ConfirmValueFailed: 0x04,
  PairingNotSupported: 0x05,
  EncryptionKeySize: 0x06,
  CommandNotSupported: 0x07,
  UnspecifiedReason: 0x08,
  RepeatedAttempts: 0x09,
  InvalidParameters: 0x0a,
  DhKeyCheckFailed: 0x0b,
  NumericComparisonFailed: 0x0c,
  BrEdrPairingInProgress: 0x0d,
  CrossTransportKeyNotAllowed: 0x0e,
  KeyRejected: 0x0f,
} as const

/** "Confirm Value Failed (0x04)"; unknown "Reserved (0x..)". */
export function smpReasonName(reason: number): string {
  return `${SMP_REASON_NAMES[reason] ?? 'Reserved'} (${hex2(reason)})`
}

export const IO_CAPABILITY_NAMES: Readonly<Record<number, string>> = {
  0x00: 'DisplayOnly',
  0x01: 'DisplayYesNo',
  0x02: 'KeyboardOnly',
  0x03: 'NoInputNoOutput',
  0x04: 'KeyboardDisplay',
}

export const KEYPRESS_NOTIFICATION_NAMES: Readonly<Record<number, string>> = {
  0x00: 'Passkey entry started',
  0x01: 'Passkey digit entered',
  0x02: 'Passkey digit erased',
  0x03: 'Passkey cleared',
  0x04: 'Passkey entry completed',
}

/** AuthReq bits (3.5.1, Figure 3.3). */
export const AuthReq = {
  Bonding: 0x01,
  Mitm: 0x04,
  SecureConnections: 0x08,
  Keypress: 0x10,
  Ct2: 0x20,
} as const

/** Initiator/Responder Key Distribution bits (3.6.1, Figure 3.11). */
export const KeyDistribution = {
  EncKey: 0x01,
  IdKey: 0x02,
  SignKey: 0x04,
  LinkKey: 0x08,
} as const

// ---------------------------------------------------------------------------------------------
// The PDUs

const ioCapability = namedU8(IO_CAPABILITY_NAMES, 'ioCapability')
const reason = namedU8(SMP_REASON_NAMES, 'smpReason')
const keypress = namedU8(KEYPRESS_NOTIFICATION_NAMES, 'keypress')
const hex8: Kind<number> = { ...u8, kind: 'hex8', format: hex2 }
const b16 = bytes(16)

const pairingFields = {
  ioCapability,
  oobDataFlag: u8,
  authReq: hex8,
  maxEncryptionKeySize: u8,
  initiatorKeyDistribution: hex8,
  responderKeyDistribution: hex8,
}

export const PairingRequest = pdu(0x01, 'Pairing Request', pairingFields)
export const PairingResponse = pdu(0x02, 'Pairing Response', pairingFields)
export const PairingConfirm = pdu(0x03, 'Pairing Confirm', { confirmValue: b16 })
export const PairingRandom = pdu(0x04, 'Pairing Random', { randomValue: b16 })
export const PairingFailed = pdu(0x05, 'Pairing Failed', { reason })
export const EncryptionInformation = pdu(0x06, 'Encryption Information', { longTermKey: b16 })
export const CentralIdentification = pdu(0x07, 'Central Identification', { ediv: u16, rand: bytes(8) })
export const IdentityInformation = pdu(0x08, 'Identity Information', { identityResolvingKey: b16 })
/** addressType: 0x00 public, 0x01 static random. */
export const IdentityAddressInformation = pdu(0x09, 'Identity Address Information', { addressType: u8, address })
export const SigningInformation = pdu(0x0a, 'Signing Information', { signatureKey: b16 })
export const SecurityRequest = pdu(0x0b, 'Security Request', { authReq: hex8 })
/** X and Y of the P-256 public key, each 32 octets, least significant first. */
export const PairingPublicKey = pdu(0x0c, 'Pairing Public Key', { publicKeyX: bytes(32), publicKeyY: bytes(32) })
export const PairingDhKeyCheck = pdu(0x0d, 'Pairing DHKey Check', { dhKeyCheck: b16 })
export const PairingKeypressNotification = pdu(0x0e, 'Pairing Keypress Notification', { notificationType: keypress })

export const SMP_PDUS: readonly SmpPduSpec[] = [
  PairingRequest,
  PairingResponse,
  PairingConfirm,
  PairingRandom,
  PairingFailed,
  EncryptionInformation,
  CentralIdentification,
  IdentityInformation,
  IdentityAddressInformation,
  SigningInformation,
  SecurityRequest,
  PairingPublicKey,
  PairingDhKeyCheck,
  PairingKeypressNotification,
] as readonly PduSpec<any>[] as readonly SmpPduSpec[]

const BY_CODE = new Map<number, SmpPduSpec>(SMP_PDUS.map((s) => [s.code, s]))

export function smpPduSpec(code: number): SmpPduSpec | undefined {
  return BY_CODE.get(code)
}

/** "Pairing Request"; unknown "Unknown SMP Code (0x0f)". */
export function smpCodeName(code: number): string {
  return BY_CODE.get(code)?.name ?? `Unknown SMP Code (${hex2(code)})`
}

// ---------------------------------------------------------------------------------------------
// Decode and encode

export interface SmpPdu {
  code: number
  name: string
  /** The decoded parameters; `{ data }` (raw) for a code we do not know. */
  params?: Record<string, unknown>
  spec?: SmpPduSpec
}

/** Narrow a decoded PDU: `if (isSmpPdu(p, PairingFailed)) p.params.reason`. */
export function isSmpPdu<S extends SmpPduSpec<any>>(
  p: SmpPdu,
  spec: S,
): p is SmpPdu & { spec: S; params: SmpParams<S> } {
  return p.spec === (spec as SmpPduSpec)
}

/** Decode one SMP PDU (an L2CAP payload on CID 6 or 7). Never throws. */
export function decodeSmpPdu(bytes: Uint8Array): SmpPdu | DecodeError {
  return decodePdu(bytes, BY_CODE, smpCodeName)
}

/** Encode a PDU from its declaration (throws RangeError on parameters that do not fit). */
export function encodeSmpPdu<S extends SmpPduSpec<any>>(spec: S, params: SmpParams<S>): Uint8Array {
  return encodePdu(spec as SmpPduSpec, params as StructValue<Fields>)
}

/** Re-encode a decoded PDU, known code or not. */
export function reencodeSmpPdu(p: SmpPdu): Uint8Array {
  return reencodePdu(p)
}

/** One line for logs: "Pairing Failed reason=Confirm Value Failed (0x04)". */
export function formatSmpPdu(p: SmpPdu): string {
  return formatPdu(p)
}
