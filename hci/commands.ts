/**
 * HCI commands: lookup by opcode, names, and the command / return-parameter codecs (Core v5.4
 * Vol 4 Part E 5.4.1 command packet, 7.7.14 Command Complete return parameters); the index of
 * every command spec.
 *
 * Each command is declared once with `command(ogf, ocf, name, params, returns?)` (spec.ts): the
 * commands of 7.1-7.5 in commands-controller.ts, the LE Controller commands (7.8) in
 * commands-le.ts and its family files; all are re-exported from here, and `COMMANDS` lists them.
 * Opcodes without a typed spec still get their spec name from the name tables of those files, so
 * every standard opcode prints a name.
 *
 * Decoders never throw: they return a DecodeError naming the field (offsets are relative to the
 * buffer passed in). Decoded parameter and return blocks keep any bytes after the last declared
 * field as `trailing`, so re-encoding reproduces the bytes received.
 */
import { DecodeError } from './errors.ts'
import type { CommandParams, CommandReturn, CommandSpec, Fields, StructKind } from './spec.ts'
import { encodeStruct } from './spec.ts'
import { Reader, Writer } from './wire.ts'
import { CONTROLLER_COMMANDS, CONTROLLER_COMMAND_NAMES } from './commands-controller.ts'
import { LE_COMMANDS, LE_COMMAND_NAMES } from './commands-le.ts'

export * from './commands-controller.ts'
export * from './commands-le.ts'

const VENDOR = 0x3f

/** Every typed command spec (7.1-7.5 from commands-controller.ts, LE from commands-le.ts). */
export const COMMANDS: readonly CommandSpec[] = [...CONTROLLER_COMMANDS, ...LE_COMMANDS]

const BY_OPCODE = new Map<number, CommandSpec>()
for (const spec of COMMANDS) {
  if (BY_OPCODE.has(spec.opcode)) throw new Error(`duplicate command spec for opcode 0x${spec.opcode.toString(16)}`)
  BY_OPCODE.set(spec.opcode, spec)
}

export function commandSpec(opcode: number): CommandSpec | undefined {
  return BY_OPCODE.get(opcode)
}

const hex = (v: number, digits: number): string => `0x${v.toString(16).padStart(digits, '0')}`

/** The spec name of a command; vendor and unknown opcodes get a descriptive placeholder. */
export function commandName(opcode: number): string {
  const known = BY_OPCODE.get(opcode)?.name ?? CONTROLLER_COMMAND_NAMES[opcode] ?? LE_COMMAND_NAMES[opcode]
  if (known !== undefined) return known
  const ogf = (opcode >> 10) & 0x3f
  const ocf = opcode & 0x3ff
  if (ogf === VENDOR) return `Vendor Command (${hex(opcode, 4)})`
  return `Unknown Command (OGF ${hex(ogf, 2)}, OCF ${hex(ocf, 3)})`
}

// --- Codecs -------------------------------------------------------------------------------------

export interface HciCommand {
  opcode: number
  name: string
  /** Present when the opcode has a typed spec. */
  spec?: CommandSpec
  /** Decoded parameters (typed spec only). */
  params?: Record<string, unknown>
  /** Bytes after the last declared parameter. */
  trailing?: Uint8Array
  /** The parameter bytes (a view into the packet). */
  raw: Uint8Array
}

const HEADER = 3

/** Decode `s` from `r` to its end; DecodeError (never an exception) on failure. */
function decodeAll(
  s: StructKind<Fields>,
  r: Reader,
): { value: Record<string, unknown>; trailing?: Uint8Array } | DecodeError {
  try {
    const value = s.decode(r, '', {}) as Record<string, unknown>
    return r.remaining > 0 ? { value, trailing: r.rest() } : { value }
  } catch (e) {
    if (e instanceof DecodeError) return e
    return new DecodeError('parameters', r.offset, e instanceof Error ? e.message : String(e))
  }
}

/**
 * packet = opcode(2) + parameter total length(1) + parameters (no H4 type byte). Never throws.
 * Unknown opcode -> HciCommand without spec/params. Parameter length that disagrees with the
 * bytes present -> DecodeError naming 'parameterTotalLength'. Parameters that do not decode by
 * the spec -> DecodeError naming the parameter (offsets relative to the packet).
 */
export function decodeCommand(packet: Uint8Array): HciCommand | DecodeError {
  if (packet.length < 2) return new DecodeError('opcode', 0, `needs 2 bytes, only ${packet.length} left`)
  if (packet.length < HEADER) return new DecodeError('parameterTotalLength', 2, 'needs 1 byte, only 0 left')
  const opcode = packet[0]! | (packet[1]! << 8)
  const length = packet[2]!
  if (length !== packet.length - HEADER) {
    return new DecodeError(
      'parameterTotalLength',
      2,
      `says ${length} parameter bytes, ${packet.length - HEADER} present`,
    )
  }
  const raw = packet.subarray(HEADER)
  const spec = BY_OPCODE.get(opcode)
  if (!spec) return { opcode, name: commandName(opcode), raw }
  const decoded = decodeAll(spec.params, new Reader(packet, HEADER))
  if (decoded instanceof DecodeError) return decoded
  const cmd: HciCommand = { opcode, name: spec.name, spec, params: decoded.value, raw }
  if (decoded.trailing) cmd.trailing = decoded.trailing
  return cmd
}

function frame(opcode: number, params: Uint8Array, name: string): Uint8Array {
  if (params.length > 0xff) throw new RangeError(`${name}: ${params.length} parameter bytes (at most 255)`)
  const out = new Uint8Array(HEADER + params.length)
  out[0] = opcode & 0xff
  out[1] = opcode >>> 8
  out[2] = params.length
  out.set(params, HEADER)
  return out
}

/**
 * Full packet (opcode, length, params) without the H4 byte. Throws RangeError on parameters
 * that do not fit their fields (a programming error).
 * Typed: `encodeCommand(LeSetScanEnable, { enable: 1, filterDuplicates: 0 })`.
 */
export function encodeCommand<C extends CommandSpec>(spec: C, params: CommandParams<C>): Uint8Array {
  return frame(spec.opcode, encodeStruct(spec.params, params as never), spec.name)
}

/** Re-encode a decoded command to bytes (params + trailing), or its raw bytes without a spec. */
export function reencodeCommand(cmd: HciCommand): Uint8Array {
  const spec = cmd.spec ?? BY_OPCODE.get(cmd.opcode)
  if (!spec || !cmd.params) return frame(cmd.opcode, cmd.raw, cmd.name)
  return frame(cmd.opcode, encodeStruct(spec.params, cmd.params as never, cmd.trailing), spec.name)
}

/** A return block that only carries Status where the spec declares more fields. */
function isStatusOnlyShape(returns: StructKind<Fields>): boolean {
  return Object.keys(returns.fields).length > 1
}

/**
 * Command Complete return parameters for `opcode`. undefined if no typed spec or no returns.
 * A status-only block (1 byte, non-zero status, where the spec declares more fields: real
 * controllers send this on failure) decodes to `{ value: { status }, statusOnly: true }`.
 */
export function decodeReturnParameters(
  opcode: number,
  bytes: Uint8Array,
): { value: Record<string, unknown>; trailing?: Uint8Array; statusOnly?: boolean } | DecodeError | undefined {
  const returns = BY_OPCODE.get(opcode)?.returns
  if (!returns) return undefined
  if (bytes.length === 1 && bytes[0] !== 0 && isStatusOnlyShape(returns)) {
    return { value: { status: bytes[0] }, statusOnly: true }
  }
  return decodeAll(returns, new Reader(bytes))
}

/**
 * Encode return parameters (what a controller puts in Command Complete after the opcode).
 * `{ status }` alone with a non-zero status encodes the 1-byte status-only block. Throws
 * RangeError for commands without return parameters or values that do not fit.
 */
export function encodeReturnParameters<C extends CommandSpec>(
  spec: C,
  value: CommandReturn<C>,
  trailing?: Uint8Array,
): Uint8Array {
  const returns = spec.returns
  if (!returns) throw new RangeError(`${spec.name}: answered by Command Status, no return parameters`)
  const v = value as Record<string, unknown>
  const keys = Object.keys(v)
  if (keys.length === 1 && keys[0] === 'status' && v.status !== 0 && isStatusOnlyShape(returns)) {
    const w = new Writer(1).u8(v.status as number, 'status')
    if (trailing) w.bytes(trailing)
    return w.finish()
  }
  return encodeStruct(returns, value as never, trailing)
}
