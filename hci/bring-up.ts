/**
 * Controller bring-up (Core v5.4 Vol 4 Part E 7.3.2 Reset, 7.4.1-7.4.6 informational parameters,
 * 7.3.1 / 7.3.69 / 7.8.1 event masks, 7.8.2 / 7.8.93 LE Read Buffer Size, 7.8.3 LE features;
 * Supported_Commands bits from 6.27) as one straight-line async sequence, NimBLE style: each
 * step awaits the previous one, the first failure stops it with that command's error.
 *
 * Order: Reset, Read Local Version Information, Read Local Supported Commands, Read Local
 * Supported Features, Read BD_ADDR, Set Event Mask, Set Event Mask Page 2 (if supported),
 * LE Set Event Mask, LE Read Buffer Size (v2 if supported, else v1), Read Buffer Size (only when
 * LE reports no dedicated buffers: LE then shares the BR/EDR ones), LE Read Local Supported
 * Features.
 */
import type { CommandParams, CommandSpec } from './spec.ts'
import {
  LeReadBufferSize,
  LeReadBufferSizeV2,
  LeReadLocalSupportedFeatures,
  LeSetEventMask,
  ReadBdAddr,
  ReadBufferSize,
  ReadLocalSupportedCommands,
  ReadLocalSupportedFeatures,
  ReadLocalVersionInformation,
  Reset,
  SetEventMask,
  SetEventMaskPage2,
} from './commands.ts'
import type { AclBufferSize } from './acl-flow.ts'
import type { CommandResult, SendOptions } from './send-types.ts'

export interface InitOptions {
  signal?: AbortSignal
  eventMask?: Uint8Array
  eventMaskPage2?: Uint8Array
  leEventMask?: Uint8Array
}

export interface ControllerInfo {
  hciVersion: number
  hciSubversion: number
  lmpVersion: number
  lmpSubversion: number
  /** Company identifier of the controller's manufacturer. */
  manufacturer: number
  address: string
  /** LMP features page 0 (Read Local Supported Features). */
  lmpFeatures: Uint8Array
  /** LE features (LE Read Local Supported Features). */
  leFeatures: Uint8Array
  /** The 64-octet Supported_Commands bitmask (Core v5.4 Vol 4 Part E 6.27). */
  supportedCommands: Uint8Array
  buffers: {
    /** LE ACL buffers; undefined when the controller shares the BR/EDR buffers with LE. */
    le?: AclBufferSize
    /** BR/EDR ACL buffers; read only when LE reports none. */
    bredr?: AclBufferSize
    iso?: AclBufferSize
  }
}

/** Is command (octet, bit) of the Supported_Commands table (6.27) set? */
export function supportsCommand(supportedCommands: Uint8Array, octet: number, bit: number): boolean {
  return !!(((supportedCommands[octet] ?? 0) >> bit) & 1)
}

function mask(v: bigint): Uint8Array {
  const out = new Uint8Array(8)
  for (let i = 0; i < 8; i++) out[i] = Number((v >> BigInt(8 * i)) & 0xffn)
  return out
}

/**
 * The spec's default events (bits 0-44), Encryption Key Refresh Complete (bit 47: how a link that
 * is already encrypted reports re-encryption, e.g. after pairing again) and LE Meta (bit 61). 7.3.1
 */
export const DEFAULT_EVENT_MASK = mask(0x2000_9fff_ffff_ffffn)
/** Authenticated Payload Timeout Expired (page 2 bit 23). 7.3.69 */
export const DEFAULT_EVENT_MASK_PAGE_2 = mask(1n << 23n)
/** LE sub-events 0x01-0x14 (bits 0-19): connections, advertising reports, security, PHY. 7.8.1 */
export const DEFAULT_LE_EVENT_MASK = mask(0xf_ffffn)

/** What bring-up needs from the host. */
export interface BringUpHost {
  send<C extends CommandSpec>(spec: C, params: CommandParams<C>, options?: SendOptions): Promise<CommandResult<C>>
  /** Reset succeeded: the controller has forgotten every connection. */
  afterReset(): void
  configureAcl(le: AclBufferSize | undefined, bredr: AclBufferSize | undefined): void
}

export async function bringUp(host: BringUpHost, options: InitOptions = {}): Promise<ControllerInfo> {
  const o: SendOptions = { signal: options.signal }
  await host.send(Reset, {}, o)
  host.afterReset()
  const version = await host.send(ReadLocalVersionInformation, {}, o)
  const commands = (await host.send(ReadLocalSupportedCommands, {}, o)).supportedCommands.slice()
  const lmpFeatures = (await host.send(ReadLocalSupportedFeatures, {}, o)).lmpFeatures.slice()
  const { bdAddr } = await host.send(ReadBdAddr, {}, o)
  await host.send(SetEventMask, { eventMask: options.eventMask ?? DEFAULT_EVENT_MASK }, o)
  // Set Event Mask Page 2: Supported_Commands octet 22 bit 2
  if (supportsCommand(commands, 22, 2)) {
    await host.send(SetEventMaskPage2, { eventMaskPage2: options.eventMaskPage2 ?? DEFAULT_EVENT_MASK_PAGE_2 }, o)
  }
  await host.send(LeSetEventMask, { eventMask: options.leEventMask ?? DEFAULT_LE_EVENT_MASK }, o)

  const buffers: ControllerInfo['buffers'] = {}
  // LE Read Buffer Size [v2]: Supported_Commands octet 41 bit 5
  if (supportsCommand(commands, 41, 5)) {
    const b = await host.send(LeReadBufferSizeV2, {}, o)
    buffers.le = { length: b.aclDataPacketLength, count: b.totalNumLeAclDataPackets }
    buffers.iso = { length: b.isoDataPacketLength, count: b.totalNumIsoDataPackets }
  } else {
    const b = await host.send(LeReadBufferSize, {}, o)
    buffers.le = { length: b.aclDataPacketLength, count: b.totalNumLeAclDataPackets }
  }
  if (buffers.le.length === 0 || buffers.le.count === 0) {
    // No dedicated LE buffers: LE shares the BR/EDR ones (7.8.2).
    delete buffers.le
    const b = await host.send(ReadBufferSize, {}, o)
    buffers.bredr = { length: b.aclDataPacketLength, count: b.totalNumAclDataPackets }
  }
  host.configureAcl(buffers.le, buffers.bredr)
  const leFeatures = (await host.send(LeReadLocalSupportedFeatures, {}, o)).features.slice()

  return {
    hciVersion: version.hciVersion,
    hciSubversion: version.hciSubversion,
    lmpVersion: version.lmpVersion,
    lmpSubversion: version.lmpSubversion,
    manufacturer: version.companyIdentifier,
    address: bdAddr,
    lmpFeatures,
    leFeatures,
    supportedCommands: commands,
    buffers,
  }
}
