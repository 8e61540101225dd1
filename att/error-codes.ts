/**
 * The ATT error codes (Core v5.4 Vol 3 Part F 3.4.1.1, Table 3.4) and the Common Profile and
 * Service Error Codes (Core Specification Supplement v11 Part B 1.2), with their names.
 */

const hex2 = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`

export const AttErrorCode = {
  InvalidHandle: 0x01,
  ReadNotPermitted: 0x02,
  WriteNotPermitted: 0x03,
  InvalidPdu: 0x04,
  InsufficientAuthentication: 0x05,
  RequestNotSupported: 0x06,
  InvalidOffset: 0x07,
  InsufficientAuthorization: 0x08,
  PrepareQueueFull: 0x09,
  AttributeNotFound: 0x0a,
  AttributeNotLong: 0x0b,
  EncryptionKeySizeTooShort: 0x0c,
  InvalidAttributeValueLength: 0x0d,
  UnlikelyError: 0x0e,
  InsufficientEncryption: 0x0f,
  UnsupportedGroupType: 0x10,
  InsufficientResources: 0x11,
  DatabaseOutOfSync: 0x12,
  ValueNotAllowed: 0x13,
  WriteRequestRejected: 0xfc,
  CccdImproperlyConfigured: 0xfd,
  ProcedureAlreadyInProgress: 0xfe,
  OutOfRange: 0xff,
} as const

export const ATT_ERROR_NAMES: Readonly<Record<number, string>> = {
  0x01: 'Invalid Handle',
  0x02: 'Read Not Permitted',
  0x03: 'Write Not Permitted',
  0x04: 'Invalid PDU',
  0x05: 'Insufficient Authentication',
  0x06: 'Request Not Supported',
  0x07: 'Invalid Offset',
  0x08: 'Insufficient Authorization',
  0x09: 'Prepare Queue Full',
  0x0a: 'Attribute Not Found',
  0x0b: 'Attribute Not Long',
  0x0c: 'Encryption Key Size Too Short',
  0x0d: 'Invalid Attribute Value Length',
  0x0e: 'Unlikely Error',
  0x0f: 'Insufficient Encryption',
  0x10: 'Unsupported Group Type',
  0x11: 'Insufficient Resources',
  0x12: 'Database Out Of Sync',
  0x13: 'Value Not Allowed',
  // Core Specification Supplement Part B 1.2
  0xfc: 'Write Request Rejected',
  0xfd: 'Client Characteristic Configuration Descriptor Improperly Configured',
  0xfe: 'Procedure Already in Progress',
  0xff: 'Out of Range',
}

/** "Invalid Handle (0x01)"; 0x80-0x9F "Application Error (0x85)"; others "Reserved (0x..)". */
export function attErrorName(code: number): string {
  const name = ATT_ERROR_NAMES[code] ?? (code >= 0x80 && code <= 0x9f ? 'Application Error' : 'Reserved')
  return `${name} (${hex2(code)})`
}
