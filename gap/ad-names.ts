/**
 * Name tables for the advertising-data codec (gap/ad.ts).
 *
 * AD type codes and their names are those of Bluetooth Assigned Numbers section 2.3 (Common Data
 * Types), which the Core Specification Supplement v11 Part A defines the formats of; Core v5.4
 * Vol 3 Part C 11 defines the AD structure that carries them. The URI scheme table is Assigned
 * Numbers section 2.7 (URI Scheme Name String Mapping), used by the URI data type (CSS Part A 1.18).
 */

/** AD type codes (Assigned Numbers 2.3). */
export const AdType = {
  Flags: 0x01,
  IncompleteUuid16: 0x02,
  CompleteUuid16: 0x03,
  IncompleteUuid32: 0x04,
  CompleteUuid32: 0x05,
  IncompleteUuid128: 0x06,
  CompleteUuid128: 0x07,
  ShortenedLocalName: 0x08,
  CompleteLocalName: 0x09,
  TxPowerLevel: 0x0a,
  ClassOfDevice: 0x0d,
  SimplePairingHashC192: 0x0e,
  SimplePairingRandomizerR192: 0x0f,
  DeviceIdOrSmTk: 0x10,
  SmOobFlags: 0x11,
  PeripheralConnectionIntervalRange: 0x12,
  SolicitationUuid16: 0x14,
  SolicitationUuid128: 0x15,
  ServiceData16: 0x16,
  PublicTargetAddress: 0x17,
  RandomTargetAddress: 0x18,
  Appearance: 0x19,
  AdvertisingInterval: 0x1a,
  LeBluetoothDeviceAddress: 0x1b,
  LeRole: 0x1c,
  SimplePairingHashC256: 0x1d,
  SimplePairingRandomizerR256: 0x1e,
  SolicitationUuid32: 0x1f,
  ServiceData32: 0x20,
  ServiceData128: 0x21,
  LeScConfirmationValue: 0x22,
  LeScRandomValue: 0x23,
  Uri: 0x24,
  IndoorPositioning: 0x25,
  TransportDiscoveryData: 0x26,
  LeSupportedFeatures: 0x27,
  ChannelMapUpdateIndication: 0x28,
  PbAdv: 0x29,
  MeshMessage: 0x2a,
  MeshBeacon: 0x2b,
  BigInfo: 0x2c,
  BroadcastCode: 0x2d,
  ResolvableSetIdentifier: 0x2e,
  AdvertisingIntervalLong: 0x2f,
  BroadcastName: 0x30,
  EncryptedAdvertisingData: 0x31,
  PeriodicAdvertisingResponseTimingInformation: 0x32,
  ElectronicShelfLabel: 0x34,
  ThreeDInformationData: 0x3d,
  ManufacturerSpecificData: 0xff,
} as const

const AD_TYPE_NAMES: Readonly<Record<number, string>> = {
  0x01: 'Flags',
  0x02: 'Incomplete List of 16-bit Service or Service Class UUIDs',
  0x03: 'Complete List of 16-bit Service or Service Class UUIDs',
  0x04: 'Incomplete List of 32-bit Service or Service Class UUIDs',
  0x05: 'Complete List of 32-bit Service or Service Class UUIDs',
  0x06: 'Incomplete List of 128-bit Service or Service Class UUIDs',
  0x07: 'Complete List of 128-bit Service or Service Class UUIDs',
  0x08: 'Shortened Local Name',
  0x09: 'Complete Local Name',
  0x0a: 'Tx Power Level',
  0x0d: 'Class of Device',
  0x0e: 'Simple Pairing Hash C-192',
  0x0f: 'Simple Pairing Randomizer R-192',
  0x10: 'Device ID / Security Manager TK Value',
  0x11: 'Security Manager Out of Band Flags',
  0x12: 'Peripheral Connection Interval Range',
  0x14: 'List of 16-bit Service Solicitation UUIDs',
  0x15: 'List of 128-bit Service Solicitation UUIDs',
  0x16: 'Service Data - 16-bit UUID',
  0x17: 'Public Target Address',
  0x18: 'Random Target Address',
  0x19: 'Appearance',
  0x1a: 'Advertising Interval',
  0x1b: 'LE Bluetooth Device Address',
  0x1c: 'LE Role',
  0x1d: 'Simple Pairing Hash C-256',
  0x1e: 'Simple Pairing Randomizer R-256',
  0x1f: 'List of 32-bit Service Solicitation UUIDs',
  0x20: 'Service Data - 32-bit UUID',
  0x21: 'Service Data - 128-bit UUID',
  0x22: 'LE Secure Connections Confirmation Value',
  0x23: 'LE Secure Connections Random Value',
  0x24: 'URI',
  0x25: 'Indoor Positioning',
  0x26: 'Transport Discovery Data',
  0x27: 'LE Supported Features',
  0x28: 'Channel Map Update Indication',
  0x29: 'PB-ADV',
  0x2a: 'Mesh Message',
  0x2b: 'Mesh Beacon',
  0x2c: 'BIGInfo',
  0x2d: 'Broadcast_Code',
  0x2e: 'Resolvable Set Identifier',
  0x2f: 'Advertising Interval - long',
  0x30: 'Broadcast_Name',
  0x31: 'Encrypted Advertising Data',
  0x32: 'Periodic Advertising Response Timing Information',
  0x34: 'Electronic Shelf Label',
  0x3d: '3D Information Data',
  0xff: 'Manufacturer Specific Data',
}

/** True when `type` is an assigned AD type code. */
export function isKnownAdType(type: number): boolean {
  return AD_TYPE_NAMES[type] !== undefined
}

/** The Assigned Numbers name of an AD type, or "Unknown AD type (0xNN)". */
export function adTypeName(type: number): string {
  return AD_TYPE_NAMES[type] ?? `Unknown AD type (0x${(type & 0xff).toString(16).padStart(2, '0')})`
}

/**
 * URI scheme names by code point (Assigned Numbers 2.7), starting at code point 0x0002. Code
 * point 0x0001 stands for "no scheme name" (the URI follows in full).
 */
const URI_SCHEMES_FROM_0x02: readonly string[] = [
  'aaa:',
  'aaas:',
  'about:',
  'acap:',
  'acct:',
  'cap:',
  'cid:',
  'coap:',
  'coaps:',
  'crid:', // 0x02
  'data:',
  'dav:',
  'dict:',
  'dns:',
  'file:',
  'ftp:',
  'geo:',
  'go:',
  'gopher:',
  'h323:', // 0x0c
  'http:',
  'https:',
  'iax:',
  'icap:',
  'im:',
  'imap:',
  'info:',
  'ipp:',
  'ipps:',
  'iris:', // 0x16
  'iris.beep:',
  'iris.xpc:',
  'iris.xpcs:',
  'iris.lwz:',
  'jabber:',
  'ldap:',
  'mailto:',
  'mid:', // 0x20
  'msrp:',
  'msrps:',
  'mtqp:',
  'mupdate:',
  'news:',
  'nfs:',
  'ni:',
  'nih:',
  'nntp:', // 0x28
  'opaquelocktoken:',
  'pop:',
  'pres:',
  'reload:',
  'rtsp:',
  'rtsps:',
  'rtspu:',
  'service:', // 0x31
  'session:',
  'shttp:',
  'sieve:',
  'sip:',
  'sips:',
  'sms:',
  'snmp:',
  'soap.beep:',
  'soap.beeps:', // 0x39
  'stun:',
  'stuns:',
  'tag:',
  'tel:',
  'telnet:',
  'tftp:',
  'thismessage:',
  'tn3270:',
  'tip:', // 0x42
  'turn:',
  'turns:',
  'tv:',
  'urn:',
  'vemmi:',
  'ws:',
  'wss:',
  'xcon:',
  'xcon-userid:', // 0x4b
  'xmlrpc.beep:',
  'xmlrpc.beeps:',
  'xmpp:',
  'z39.50r:',
  'z39.50s:',
  'acr:',
  'adiumxtra:', // 0x54
  'afp:',
  'afs:',
  'aim:',
  'apt:',
  'attachment:',
  'aw:',
  'barion:',
  'beshare:',
  'bitcoin:', // 0x5b
  'bolo:',
  'callto:',
  'chrome:',
  'chrome-extension:',
  'com-eventbrite-attendee:',
  'content:', // 0x64
  'cvs:',
  'dlna-playsingle:',
  'dlna-playcontainer:',
  'dtn:',
  'dvb:',
  'ed2k:',
  'facetime:', // 0x6a
  'feed:',
  'feedready:',
  'finger:',
  'fish:',
  'gg:',
  'git:',
  'gizmoproject:',
  'gtalk:',
  'ham:', // 0x71
  'hcp:',
  'icon:',
  'ipn:',
  'irc:',
  'irc6:',
  'ircs:',
  'itms:',
  'jar:',
  'jms:',
  'keyparc:', // 0x7a
  'lastfm:',
  'ldaps:',
  'magnet:',
  'maps:',
  'market:',
  'message:',
  'mms:',
  'ms-help:', // 0x84
  'ms-settings-power:',
  'msnim:',
  'mumble:',
  'mvn:',
  'notes:',
  'oid:',
  'palm:',
  'paparazzi:', // 0x8c
  'pkcs11:',
  'platform:',
  'proxy:',
  'psyc:',
  'query:',
  'res:',
  'resource:',
  'rmi:',
  'rsync:', // 0x94
  'rtmfp:',
  'rtmp:',
  'secondlife:',
  'sftp:',
  'sgn:',
  'skype:',
  'smb:',
  'smtp:',
  'soldat:', // 0x9d
  'spotify:',
  'ssh:',
  'steam:',
  'submit:',
  'svn:',
  'teamspeak:',
  'teliaeid:',
  'things:',
  'udp:', // 0xa6
  'unreal:',
  'ut2004:',
  'ventrilo:',
  'view-source:',
  'webcal:',
  'wtai:',
  'wyciwyg:',
  'xfire:', // 0xaf
  'xri:',
  'ymsgr:',
  'example:',
  'ms-settings-cloudstorage:', // 0xb7
]

/** The scheme name ("https:") for a URI scheme code point, '' for 0x01, undefined if unassigned. */
export function uriSchemeName(codePoint: number): string | undefined {
  if (codePoint === 0x01) return ''
  return URI_SCHEMES_FROM_0x02[codePoint - 0x02]
}

const SCHEME_CODE_POINTS = new Map(URI_SCHEMES_FROM_0x02.map((s, i) => [s, i + 0x02]))

/** The code point for a scheme name including its colon ("https:"), or undefined. */
export function uriSchemeCodePoint(scheme: string): number | undefined {
  return SCHEME_CODE_POINTS.get(scheme.toLowerCase())
}
