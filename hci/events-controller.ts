/**
 * HCI events of the command and data flow and the controller's own state (Core v5.4 Vol 4 Part E
 * 7.7.14 Command Complete, 7.7.15 Command Status, 7.7.16 Hardware Error, 7.7.17 Flush Occurred,
 * 7.7.19 Number Of Completed Packets, 7.7.25 Loopback Command, 7.7.26 Data Buffer Overflow,
 * 7.7.47 Enhanced Flush Complete) and the vendor-specific debug event (5.4.4).
 *
 * Declared once each with `event(code, name, params)` (hci/spec.ts); hci/events.ts gathers them
 * into `EventSpecs` and the one `HciEvent` union, and re-exports them beside the codec.
 */
import { event, struct, list, u8, u16, hex16, status, rest } from './spec.ts'

/** Vendor-specific debug event code (Core v5.4 Vol 4 Part E 5.4.4). */
export const VENDOR_EVENT = 0xff

/** 7.7.14 (the return parameters are decoded by the command's spec, chosen by `opcode`) */
export const CommandComplete = event(0x0e, 'Command Complete', {
  numHciCommandPackets: u8,
  opcode: hex16,
  returnParameters: rest,
})
/** 7.7.15 */
export const CommandStatus = event(0x0f, 'Command Status', { status, numHciCommandPackets: u8, opcode: hex16 })
/** 7.7.16 */
export const HardwareError = event(0x10, 'Hardware Error', { hardwareCode: u8 })
/** 7.7.17 */
export const FlushOccurred = event(0x11, 'Flush Occurred', { handle: hex16 })
/** 7.7.19 (Num_Handles, then Connection_Handle and Num_Completed_Packets per handle) */
export const NumberOfCompletedPackets = event(0x13, 'Number Of Completed Packets', {
  handles: list(struct({ connectionHandle: hex16, numCompletedPackets: u16 })),
})
/** 7.7.25 (the looped-back command packet, without its H4 byte) */
export const LoopbackCommand = event(0x19, 'Loopback Command', { hciCommandPacket: rest })
/** 7.7.26 */
export const DataBufferOverflow = event(0x1a, 'Data Buffer Overflow', { linkType: u8 })
/** 7.7.47 */
export const EnhancedFlushComplete = event(0x39, 'Enhanced Flush Complete', { handle: hex16 })
/** Vendor-specific debug event: the parameters are the vendor's own. */
export const Vendor = event(VENDOR_EVENT, 'Vendor', { data: rest })
