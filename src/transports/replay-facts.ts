/**
 * What a capture says about its controller, for a replay that has to answer a host the capture
 * never saw: the return parameters of each command the recorded host sent (Command Complete,
 * Core v5.4 Vol 4 Part E 7.7.14), keyed by opcode, so that our bring-up (Reset, Read Local
 * Version Information, Read BD_ADDR, LE Read Buffer Size, ... of hci/bring-up.ts) reads the
 * recorded controller's version, address, features and buffers.
 *
 * One pass over the capture, constant memory per opcode: the first successful answer of each
 * opcode is kept; failures are not facts about the controller (they depended on what the recorded
 * host was doing) and are left out. Commands whose only return parameter is the status are always
 * answered Success: whether a scan could be enabled then says nothing about now. Commands the
 * capture never answered get zero-filled return parameters (status Success), except the buffer
 * sizes, which get a usable default (an LE controller with no ACL buffers cannot carry data);
 * the replay counts those answers as synthesized.
 */
import { commandSpec } from '../../hci/commands.ts'
import { decodeStruct } from '../../hci/spec.ts'
import type { CaptureRecord } from '../../hci/snoop.ts'

const COMMAND_COMPLETE = 0x0e
const COMMAND_STATUS = 0x0f

/** Default buffers when the capture never shows them: 251-octet LE ACL packets, 8 of them. */
const DEFAULT_ACL_LENGTH = 251
const DEFAULT_ACL_COUNT = 8

/** LE Read Buffer Size v1/v2, Read Buffer Size (Vol 4 Part E 7.8.2, 7.8.93, 7.4.5). */
const LE_READ_BUFFER_SIZE = 0x2002
const LE_READ_BUFFER_SIZE_V2 = 0x2060
const READ_BUFFER_SIZE = 0x1005

export interface ControllerFacts {
  /** Return parameters (after the opcode) of the first successful Command Complete per opcode. */
  readonly returns: ReadonlyMap<number, Uint8Array>
  /** Opcodes the capture answered with Command Status. */
  readonly statusAnswered: ReadonlySet<number>
}

/** Read the facts from a capture's records (every record is looked at once). */
export async function readControllerFacts(records: AsyncIterable<CaptureRecord>): Promise<ControllerFacts> {
  const returns = new Map<number, Uint8Array>()
  const statusAnswered = new Set<number>()
  for await (const r of records) {
    if (r.direction !== 'rx' || r.packetType !== 4 || r.error !== undefined) continue
    const d = r.data
    if (d[0] === COMMAND_COMPLETE && d.length >= 5 && d[1] === d.length - 2) {
      const opcode = d[3]! | (d[4]! << 8)
      if (opcode === 0) continue
      const params = d.subarray(5)
      if (params.length > 1 && params[0] === 0 && !returns.has(opcode)) returns.set(opcode, params.slice())
    } else if (d[0] === COMMAND_STATUS && d.length === 6 && d[1] === 4) {
      const opcode = d[4]! | (d[5]! << 8)
      if (opcode !== 0) statusAnswered.add(opcode)
    }
  }
  return { returns, statusAnswered }
}

export type Answer =
  | { kind: 'complete'; returns: Uint8Array; from: 'capture' | 'synthesized' }
  | { kind: 'status'; status: number; from: 'capture' | 'synthesized' }

const ZEROS = new Uint8Array(300)

/** Zero-filled return parameters of the command's declared shape (status 0 = Success). */
function zeroReturns(opcode: number): Uint8Array | undefined {
  const returns = commandSpec(opcode)?.returns
  if (returns === undefined) return undefined
  const d = decodeStruct(returns, ZEROS)
  if (d instanceof Error) return new Uint8Array(1)
  return new Uint8Array(ZEROS.length - (d.trailing?.length ?? 0))
}

function u16(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff
  b[at + 1] = v >> 8
}

/** Buffer sizes a replay needs to carry ACL when the capture never read them. */
function defaultBuffers(opcode: number, zeros: Uint8Array): Uint8Array {
  const b = zeros
  if (opcode === LE_READ_BUFFER_SIZE || opcode === LE_READ_BUFFER_SIZE_V2) {
    // status, LE_ACL_Data_Packet_Length (2), Total_Num_LE_ACL_Data_Packets (1)[, ISO ...]
    u16(b, 1, DEFAULT_ACL_LENGTH)
    b[3] = DEFAULT_ACL_COUNT
  } else if (opcode === READ_BUFFER_SIZE) {
    // status, ACL_Data_Packet_Length (2), Synchronous_Data_Packet_Length (1), Total_Num_ACL (2), Total_Num_Sync (2)
    u16(b, 1, DEFAULT_ACL_LENGTH)
    u16(b, 4, DEFAULT_ACL_COUNT)
  }
  return b
}

/** How the replay answers a command the host sent (`opcode`). */
export function answerFor(facts: ControllerFacts, opcode: number): Answer {
  const spec = commandSpec(opcode)
  const statusOnly = spec?.returns !== undefined && Object.keys(spec.returns.fields).length === 1
  const captured = statusOnly ? undefined : facts.returns.get(opcode)
  if (captured !== undefined) return { kind: 'complete', returns: captured, from: 'capture' }
  if (spec !== undefined && spec.returns === undefined) {
    return { kind: 'status', status: 0, from: facts.statusAnswered.has(opcode) ? 'capture' : 'synthesized' }
  }
  if (spec === undefined) {
    // 0x01 Unknown HCI Command: what a controller says to a command it does not know (Vol 1 Part F 1.1).
    return facts.statusAnswered.has(opcode)
      ? { kind: 'status', status: 0, from: 'capture' }
      : { kind: 'complete', returns: Uint8Array.of(0x01), from: 'synthesized' }
  }
  const zeros = zeroReturns(opcode) ?? new Uint8Array(1)
  return { kind: 'complete', returns: defaultBuffers(opcode, zeros), from: 'synthesized' }
}
