/**
 * `hcikit info [--json]`: what bring-up read from the controller (Core v5.4 Vol 4 Part E 7.4.1
 * Read Local Version Information, 7.4.2 Read Local Supported Commands (bits of 6.27), 7.4.3
 * Read Local Supported Features, 7.4.6 Read BD_ADDR, 7.8.2 / 7.8.93 LE Read Buffer Size, 7.8.3
 * LE Read Local Supported Features with the bit names of Vol 6 Part B 4.6).
 */
import { parseArgs } from 'node:util'
import { toHex } from '../../hci/wire.ts'
import { commandName } from '../../hci/commands.ts'
import { knownSupportedCommandOpcodes, supportedCommandBit } from '../virtual/supported-commands.ts'
import type { ControllerInfo } from '../index.ts'
import { openSession, out, usage, type CliContext } from './connect-common.ts'

export const infoHelp = `usage: hcikit info [--json]

Brings the controller up and prints its version, address, LE features, supported commands and
buffer sizes.
  --json   {address, hciVersion, hciVersionName, hciSubversion, lmpVersion, lmpSubversion,
            manufacturer, leFeatures: [names], leFeatureBits (hex), lmpFeatures (hex),
            supportedCommands: [names], supportedCommandCount, supportedCommandBits (hex), buffers}`

/** Core specification versions by HCI/LMP version number (Assigned Numbers 2.1). */
const VERSIONS = [
  '1.0b',
  '1.1',
  '1.2',
  '2.0',
  '2.1',
  '3.0',
  '4.0',
  '4.1',
  '4.2',
  '5.0',
  '5.1',
  '5.2',
  '5.3',
  '5.4',
  '6.0',
]

/** LE feature bits (Core v5.4 Vol 6 Part B 4.6, Table 4.4). */
const LE_FEATURES = [
  'LE Encryption',
  'Connection Parameters Request Procedure',
  'Extended Reject Indication',
  'Peripheral-initiated Features Exchange',
  'LE Ping',
  'LE Data Packet Length Extension',
  'LL Privacy',
  'Extended Scanner Filter Policies',
  'LE 2M PHY',
  'Stable Modulation Index - Transmitter',
  'Stable Modulation Index - Receiver',
  'LE Coded PHY',
  'LE Extended Advertising',
  'LE Periodic Advertising',
  'Channel Selection Algorithm #2',
  'LE Power Class 1',
  'Minimum Number of Used Channels Procedure',
  'Connection CTE Request',
  'Connection CTE Response',
  'Connectionless CTE Transmitter',
  'Connectionless CTE Receiver',
  'Antenna Switching During CTE Transmission (AoD)',
  'Antenna Switching During CTE Reception (AoA)',
  'Receiving Constant Tone Extensions',
  'Periodic Advertising Sync Transfer - Sender',
  'Periodic Advertising Sync Transfer - Recipient',
  'Sleep Clock Accuracy Updates',
  'Remote Public Key Validation',
  'Connected Isochronous Stream - Central',
  'Connected Isochronous Stream - Peripheral',
  'Isochronous Broadcaster',
  'Synchronized Receiver',
  'Connected Isochronous Stream (Host Support)',
  'LE Power Control Request',
  'LE Power Control Request',
  'LE Path Loss Monitoring',
  'Periodic Advertising ADI support',
  'Connection Subrating',
  'Connection Subrating (Host Support)',
  'Channel Classification',
]

export function versionName(v: number): string {
  return VERSIONS[v] ?? `unknown (0x${v.toString(16).padStart(2, '0')})`
}

export function leFeatureNames(bits: Uint8Array): string[] {
  const names: string[] = []
  for (let i = 0; i < bits.length * 8; i++) {
    if ((bits[i >> 3]! >> (i & 7)) & 1) {
      const n = LE_FEATURES[i] ?? `bit ${i}`
      if (!names.includes(n)) names.push(n)
    }
  }
  return names
}

/** The names of the supported commands hcikit knows the bit of, and the count of every bit set. */
export function supportedCommandNames(mask: Uint8Array): { names: string[]; count: number } {
  let count = 0
  for (const b of mask) for (let i = 0; i < 8; i++) count += (b >> i) & 1
  const names = knownSupportedCommandOpcodes()
    .filter((op) => {
      const at = supportedCommandBit(op)!
      return ((mask[at[0]] ?? 0) >> at[1]) & 1
    })
    .sort((a, b) => a - b)
    .map(commandName)
  return { names, count }
}

export function infoJson(info: ControllerInfo): Record<string, unknown> {
  const cmds = supportedCommandNames(info.supportedCommands)
  return {
    address: info.address.toUpperCase(),
    hciVersion: info.hciVersion,
    hciVersionName: versionName(info.hciVersion),
    hciSubversion: info.hciSubversion,
    lmpVersion: info.lmpVersion,
    lmpSubversion: info.lmpSubversion,
    manufacturer: info.manufacturer,
    leFeatures: leFeatureNames(info.leFeatures),
    leFeatureBits: toHex(info.leFeatures),
    lmpFeatures: toHex(info.lmpFeatures),
    supportedCommands: cmds.names,
    supportedCommandCount: cmds.count,
    supportedCommandBits: toHex(info.supportedCommands),
    buffers: info.buffers,
  }
}

export async function infoCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  })
  if (values.help) {
    out(ctx, infoHelp)
    return 0
  }
  if (positionals.length > 0) throw usage(infoHelp, `unexpected argument '${positionals[0]}'`)
  const session = await openSession(ctx, { devices: false })
  try {
    const info = session.adapter.info
    if (values.json) {
      out(ctx, JSON.stringify(infoJson(info)))
      return 0
    }
    const hex4 = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`
    const cmds = supportedCommandNames(info.supportedCommands)
    const buf = (b: { length: number; count: number } | undefined): string =>
      b ? `${b.count} x ${b.length} bytes` : '-'
    out(ctx, `transport      ${ctx.transport}`)
    out(ctx, `address        ${info.address.toUpperCase()} (public)`)
    out(
      ctx,
      `HCI version    ${versionName(info.hciVersion)} (0x${info.hciVersion.toString(16).padStart(2, '0')}), ` +
        `revision ${hex4(info.hciSubversion)}`,
    )
    out(
      ctx,
      `LMP/LL version ${versionName(info.lmpVersion)} (0x${info.lmpVersion.toString(16).padStart(2, '0')}), ` +
        `subversion ${hex4(info.lmpSubversion)}`,
    )
    out(ctx, `manufacturer   ${hex4(info.manufacturer)}${info.manufacturer === 0xffff ? ' (none: for testing)' : ''}`)
    out(
      ctx,
      `ACL buffers    LE ` +
        `${buf(info.buffers.le)}${info.buffers.bredr ? `, shared BR/EDR ${buf(info.buffers.bredr)}` : ''}` +
        `${info.buffers.iso?.count ? `, ISO ${buf(info.buffers.iso)}` : ''}`,
    )
    out(ctx, `LE features    ${leFeatureNames(info.leFeatures).join(', ') || '(none)'}`)
    out(
      ctx,
      `commands       ${cmds.count} supported${
        cmds.count > cmds.names.length
          ? ` (${cmds.count - cmds.names.length} of them not in hcikit's LE table, not listed)`
          : ''
      }:`,
    )
    for (const n of cmds.names) out(ctx, `  ${n}`)
  } finally {
    await session.close()
  }
  return 0
}
