/**
 * The Supported_Commands bitmask of Read Local Supported Commands (Core v5.4 Vol 4 Part E 6.27):
 * opcode -> (octet, bit). The virtual controller sets the bit of exactly the opcodes it has a
 * handler for, so hosts that probe the bitmask (Set Event Mask Page 2, LE Read Buffer Size v2,
 * extended advertising) see what is really there. Read Local Supported Commands itself has no
 * bit (it is mandatory).
 *
 * Also the two command families of 3.1.1 ("legacy" and "extended" advertising, scanning and
 * initiating), which a controller must not let a host mix between two Resets.
 */

/** [opcode, octet, bit] for every command of 6.27 an LE-only controller might implement. */
const TABLE: ReadonlyArray<readonly [opcode: number, octet: number, bit: number]> = [
  // Link Control
  [0x0406, 0, 5], // Disconnect
  [0x041d, 2, 7], // Read Remote Version Information
  // Link Policy
  [0x080e, 5, 3], // Read Default Link Policy Settings
  [0x080f, 5, 4], // Write Default Link Policy Settings
  // Controller & Baseband
  [0x0c01, 5, 6], // Set Event Mask
  [0x0c03, 5, 7], // Reset
  [0x0c05, 6, 0], // Set Event Filter
  [0x0c13, 7, 0], // Write Local Name
  [0x0c14, 7, 1], // Read Local Name
  [0x0c17, 7, 4], // Read Page Timeout
  [0x0c18, 7, 5], // Write Page Timeout
  [0x0c19, 7, 6], // Read Scan Enable
  [0x0c1a, 7, 7], // Write Scan Enable
  [0x0c23, 9, 0], // Read Class Of Device
  [0x0c24, 9, 1], // Write Class Of Device
  [0x0c2d, 10, 2], // Read Transmit Power Level
  [0x0c31, 10, 5], // Set Controller To Host Flow Control
  [0x0c33, 10, 6], // Host Buffer Size
  [0x0c35, 10, 7], // Host Number Of Completed Packets
  [0x0c52, 17, 1], // Write Extended Inquiry Response
  [0x0c56, 17, 6], // Write Simple Pairing Mode
  [0x0c5a, 18, 2], // Read Default Erroneous Data Reporting
  [0x0c5b, 18, 3], // Write Default Erroneous Data Reporting
  [0x0c63, 22, 2], // Set Event Mask Page 2
  [0x0c6c, 24, 5], // Read LE Host Support
  [0x0c6d, 24, 6], // Write LE Host Support
  [0x0c79, 32, 2], // Read Secure Connections Host Support
  [0x0c7a, 32, 3], // Write Secure Connections Host Support
  [0x0c7b, 32, 4], // Read Authenticated Payload Timeout
  [0x0c7c, 32, 5], // Write Authenticated Payload Timeout
  [0x0c83, 45, 5], // Configure Data Path
  // Informational
  [0x1001, 14, 3], // Read Local Version Information
  [0x1003, 14, 5], // Read Local Supported Features
  [0x1004, 14, 6], // Read Local Extended Features
  [0x1005, 14, 7], // Read Buffer Size
  [0x1009, 15, 1], // Read BD_ADDR
  [0x100c, 41, 3], // Read Local Simple Pairing Options
  // Status
  [0x1405, 15, 5], // Read RSSI
  [0x1408, 20, 4], // Read Encryption Key Size
  // LE Controller
  [0x2001, 25, 0], // LE Set Event Mask
  [0x2002, 25, 1], // LE Read Buffer Size [v1]
  [0x2003, 25, 2], // LE Read Local Supported Features
  [0x2005, 25, 4], // LE Set Random Address
  [0x2006, 25, 5], // LE Set Advertising Parameters
  [0x2007, 25, 6], // LE Read Advertising Physical Channel Tx Power
  [0x2008, 25, 7], // LE Set Advertising Data
  [0x2009, 26, 0], // LE Set Scan Response Data
  [0x200a, 26, 1], // LE Set Advertising Enable
  [0x200b, 26, 2], // LE Set Scan Parameters
  [0x200c, 26, 3], // LE Set Scan Enable
  [0x200d, 26, 4], // LE Create Connection
  [0x200e, 26, 5], // LE Create Connection Cancel
  [0x200f, 26, 6], // LE Read Filter Accept List Size
  [0x2010, 26, 7], // LE Clear Filter Accept List
  [0x2011, 27, 0], // LE Add Device To Filter Accept List
  [0x2012, 27, 1], // LE Remove Device From Filter Accept List
  [0x2013, 27, 2], // LE Connection Update
  [0x2014, 27, 3], // LE Set Host Channel Classification
  [0x2015, 27, 4], // LE Read Channel Map
  [0x2016, 27, 5], // LE Read Remote Features
  [0x2017, 27, 6], // LE Encrypt
  [0x2018, 27, 7], // LE Rand
  [0x2019, 28, 0], // LE Enable Encryption
  [0x201a, 28, 1], // LE Long Term Key Request Reply
  [0x201b, 28, 2], // LE Long Term Key Request Negative Reply
  [0x201c, 28, 3], // LE Read Supported States
  [0x201d, 28, 4], // LE Receiver Test [v1]
  [0x201e, 28, 5], // LE Transmitter Test [v1]
  [0x201f, 28, 6], // LE Test End
  [0x2020, 33, 4], // LE Remote Connection Parameter Request Reply
  [0x2021, 33, 5], // LE Remote Connection Parameter Request Negative Reply
  [0x2022, 33, 6], // LE Set Data Length
  [0x2023, 33, 7], // LE Read Suggested Default Data Length
  [0x2024, 34, 0], // LE Write Suggested Default Data Length
  [0x2025, 34, 1], // LE Read Local P-256 Public Key
  [0x2026, 34, 2], // LE Generate DHKey [v1]
  [0x2027, 34, 3], // LE Add Device To Resolving List
  [0x2028, 34, 4], // LE Remove Device From Resolving List
  [0x2029, 34, 5], // LE Clear Resolving List
  [0x202a, 34, 6], // LE Read Resolving List Size
  [0x202b, 34, 7], // LE Read Peer Resolvable Address
  [0x202c, 35, 0], // LE Read Local Resolvable Address
  [0x202d, 35, 1], // LE Set Address Resolution Enable
  [0x202e, 35, 2], // LE Set Resolvable Private Address Timeout
  [0x202f, 35, 3], // LE Read Maximum Data Length
  [0x2030, 35, 4], // LE Read PHY
  [0x2031, 35, 5], // LE Set Default PHY
  [0x2032, 35, 6], // LE Set PHY
  [0x2033, 35, 7], // LE Receiver Test [v2]
  [0x2034, 36, 0], // LE Transmitter Test [v2]
  [0x2035, 36, 1], // LE Set Advertising Set Random Address
  [0x2036, 36, 2], // LE Set Extended Advertising Parameters [v1]
  [0x2037, 36, 3], // LE Set Extended Advertising Data
  [0x2038, 36, 4], // LE Set Extended Scan Response Data
  [0x2039, 36, 5], // LE Set Extended Advertising Enable
  [0x203a, 36, 6], // LE Read Maximum Advertising Data Length
  [0x203b, 36, 7], // LE Read Number of Supported Advertising Sets
  [0x203c, 37, 0], // LE Remove Advertising Set
  [0x203d, 37, 1], // LE Clear Advertising Sets
  [0x203e, 37, 2], // LE Set Periodic Advertising Parameters [v1]
  [0x203f, 37, 3], // LE Set Periodic Advertising Data
  [0x2040, 37, 4], // LE Set Periodic Advertising Enable
  [0x2041, 37, 5], // LE Set Extended Scan Parameters
  [0x2042, 37, 6], // LE Set Extended Scan Enable
  [0x2043, 37, 7], // LE Extended Create Connection [v1]
  [0x2044, 38, 0], // LE Periodic Advertising Create Sync
  [0x2045, 38, 1], // LE Periodic Advertising Create Sync Cancel
  [0x2046, 38, 2], // LE Periodic Advertising Terminate Sync
  [0x2047, 38, 3], // LE Add Device To Periodic Advertiser List
  [0x2048, 38, 4], // LE Remove Device From Periodic Advertiser List
  [0x2049, 38, 5], // LE Clear Periodic Advertiser List
  [0x204a, 38, 6], // LE Read Periodic Advertiser List Size
  [0x204b, 38, 7], // LE Read Transmit Power
  [0x204c, 39, 0], // LE Read RF Path Compensation
  [0x204d, 39, 1], // LE Write RF Path Compensation
  [0x204e, 39, 2], // LE Set Privacy Mode
  [0x2059, 40, 5], // LE Set Periodic Advertising Receive Enable
  [0x205e, 41, 2], // LE Generate DHKey [v2]
  [0x205f, 41, 4], // LE Modify Sleep Clock Accuracy
  [0x2060, 41, 5], // LE Read Buffer Size [v2]
  [0x206d, 43, 2], // LE Request Peer SCA
  [0x2074, 44, 1], // LE Set Host Feature
  [0x2076, 44, 3], // LE Enhanced Read Transmit Power Level
  [0x2077, 44, 4], // LE Read Remote Transmit Power Level
  [0x2078, 44, 5], // LE Set Path Loss Reporting Parameters
  [0x2079, 44, 6], // LE Set Path Loss Reporting Enable
  [0x207a, 44, 7], // LE Set Transmit Power Reporting Enable
]

const BY_OPCODE = new Map<number, readonly [number, number]>()
for (const [opcode, octet, b] of TABLE) {
  if (BY_OPCODE.has(opcode)) throw new Error(`supported-commands: opcode 0x${opcode.toString(16)} twice`)
  BY_OPCODE.set(opcode, [octet, b])
}

/** (octet, bit) of an opcode in the Supported_Commands bitmask, if the table has it. */
export function supportedCommandBit(opcode: number): readonly [octet: number, bit: number] | undefined {
  return BY_OPCODE.get(opcode)
}

/** Every opcode the table knows. */
export function knownSupportedCommandOpcodes(): number[] {
  return [...BY_OPCODE.keys()]
}

/** The 64-octet bitmask with the bit of every given opcode set (opcodes without a bit are skipped). */
export function supportedCommandsMask(opcodes: Iterable<number>): Uint8Array {
  const out = new Uint8Array(64)
  for (const op of opcodes) {
    const at = BY_OPCODE.get(op)
    if (at) out[at[0]]! |= 1 << at[1]
  }
  return out
}

// --- 3.1.1 Legacy and extended advertising ----------------------------------------------------

const LEGACY = new Set([
  0x2006,
  0x2007,
  0x2008,
  0x2009,
  0x200a, // advertising parameters, tx power, data, scan response, enable
  0x200b,
  0x200c, // scan parameters, scan enable
  0x200d, // create connection
])

const EXTENDED = new Set([
  0x2035,
  0x2036,
  0x2037,
  0x2038,
  0x2039,
  0x203a,
  0x203b,
  0x203c,
  0x203d, // extended advertising
  0x203e,
  0x203f,
  0x2040, // periodic advertising
  0x2041,
  0x2042, // extended scanning
  0x2043, // extended create connection
  0x2044,
  0x2045,
  0x2046,
  0x2047,
  0x2048,
  0x2049,
  0x204a, // periodic sync, periodic advertiser list
  0x207f,
  0x2085,
  0x2086, // v2 of extended advertising parameters, extended create connection, periodic parameters
])

/** The 3.1.1 family of a command: 'legacy', 'extended', or undefined for all others. */
export function advertisingKindOf(opcode: number): 'legacy' | 'extended' | undefined {
  if (LEGACY.has(opcode)) return 'legacy'
  if (EXTENDED.has(opcode)) return 'extended'
  return undefined
}
