/**
 * Inject/expect scripts for HciHost: the test plays the controller on the far end of an
 * in-memory transport pair, with a virtual clock it advances by hand.
 *
 * Event bytes are built here by hand from the layouts in Core v5.4 Vol 4 Part E 7.7 (code,
 * length, parameters), not with hci/events.ts, so the host is checked against the spec and not
 * against our own encoder.
 */
import { createMemoryPair, type MemoryTransport } from '../../hci/memory-transport.ts'
import type { HciPacket } from '../../hci/transport.ts'
import { HciHost, type Clock, type HciHostOptions } from '../../hci/host.ts'
import type { CommandSpec } from '../../hci/spec.ts'
import { fromHex, toHex } from '../../hci/wire.ts'

/** Virtual time: timers fire only inside `advance()`, in deadline order. */
export class FakeClock implements Clock {
  private t = 0
  private seq = 0
  private readonly timers = new Map<number, { at: number; fn: () => void }>()

  now(): number {
    return this.t
  }

  setTimeout(fn: () => void, ms: number): number {
    const id = ++this.seq
    this.timers.set(id, { at: this.t + ms, fn })
    return id
  }

  clearTimeout(id: unknown): void {
    this.timers.delete(id as number)
  }

  get pendingTimers(): number {
    return this.timers.size
  }

  advance(ms: number): void {
    const end = this.t + ms
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined
      for (const entry of this.timers) if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry
      if (!next) break
      this.timers.delete(next[0])
      this.t = next[1].at
      next[1].fn()
    }
    this.t = end
  }
}

/** Run every queued microtask (memory transport deliveries, promise continuations). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

const le16 = (v: number): string => toHex(new Uint8Array([v & 0xff, (v >> 8) & 0xff]))
const u8 = (v: number): string => toHex(new Uint8Array([v]))

/** Hand-built event packets (no H4 byte), from Core v5.4 Vol 4 Part E 7.7. */
export const ev = {
  raw(code: number, paramsHex: string): string {
    const p = paramsHex.replace(/\s/g, '')
    return u8(code) + u8(p.length / 2) + p
  },
  /** 7.7.14: Num_HCI_Command_Packets, Command_Opcode, Return_Parameters */
  commandComplete(opcode: number, returnHex: string, ncmd = 1): string {
    return ev.raw(0x0e, u8(ncmd) + le16(opcode) + returnHex)
  },
  /** 7.7.15: Status, Num_HCI_Command_Packets, Command_Opcode */
  commandStatus(opcode: number, status = 0, ncmd = 1): string {
    return ev.raw(0x0f, u8(status) + u8(ncmd) + le16(opcode))
  },
  /** 7.7.16 */
  hardwareError(code: number): string {
    return ev.raw(0x10, u8(code))
  },
  /** 7.7.19: Num_Handles, then Connection_Handle[i], Num_Completed_Packets[i] interleaved */
  numberOfCompletedPackets(entries: Array<[handle: number, count: number]>): string {
    return ev.raw(0x13, u8(entries.length) + entries.map(([h, n]) => le16(h) + le16(n)).join(''))
  },
  /** 7.7.5: Status, Connection_Handle, Reason */
  disconnectionComplete(handle: number, reason = 0x13, status = 0): string {
    return ev.raw(0x05, u8(status) + le16(handle) + u8(reason))
  },
  /** 7.7.65.1 LE Connection Complete (sub-event 0x01), central role, public peer address */
  leConnectionComplete(handle: number, status = 0): string {
    return ev.raw(
      0x3e,
      '01' + u8(status) + le16(handle) + '00' + '00' + 'aabbccddeeff' + '1800' + '0000' + 'c800' + '00',
    )
  },
  /** 7.7.65.10 LE Enhanced Connection Complete [v1] (sub-event 0x0a) */
  leEnhancedConnectionComplete(handle: number, status = 0): string {
    const zeros6 = '000000000000'
    return ev.raw(
      0x3e,
      '0a' +
        u8(status) +
        le16(handle) +
        '01' +
        '01' +
        'aabbccddeeff' +
        zeros6 +
        zeros6 +
        '2800' +
        '0000' +
        'f401' +
        '00',
    )
  },
  /** 7.7.3 Connection Complete: Status, Handle, BD_ADDR, Link_Type, Encryption_Enabled */
  connectionComplete(handle: number, linkType = 0x01, status = 0): string {
    return ev.raw(0x03, u8(status) + le16(handle) + '112233445566' + u8(linkType) + '00')
  },
}

export interface ScriptOptions extends Omit<HciHostOptions, 'clock'> {}

/** A host wired to a scripted controller. */
export class Script {
  readonly clock = new FakeClock()
  readonly host: HciHost
  readonly hostSide: MemoryTransport
  readonly controller: MemoryTransport
  /** Packets from the host not yet consumed by expect*(). */
  readonly received: HciPacket[] = []
  /** Every packet the host sent, in order. */
  readonly log: HciPacket[] = []

  constructor(options: ScriptOptions = {}) {
    const [hostSide, controller] = createMemoryPair()
    this.hostSide = hostSide
    this.controller = controller
    controller.onPacket((p) => {
      this.received.push(p)
      this.log.push(p)
    })
    this.host = new HciHost(hostSide, { ...options, clock: this.clock })
  }

  /** The next packet from the host (after letting queued work run). */
  async next(): Promise<HciPacket> {
    await settle()
    const p = this.received.shift()
    if (!p) throw new Error('expected a packet from the host, got nothing')
    return p
  }

  /** Expect the next packet to be this command; returns its parameter bytes. */
  async expectCommand(spec: CommandSpec | number): Promise<Uint8Array> {
    const opcode = typeof spec === 'number' ? spec : spec.opcode
    const p = await this.next()
    const got = p.type === 1 && p.data.length >= 3 ? p.data[0]! | (p.data[1]! << 8) : -1
    if (got !== opcode) {
      throw new Error(
        `expected command 0x${opcode.toString(16).padStart(4, '0')}, got type ${p.type} ${toHex(p.data.subarray(0, 8))}`,
      )
    }
    if (p.data[2] !== p.data.length - 3)
      throw new Error(`command length byte ${p.data[2]} for ${p.data.length - 3} bytes`)
    return p.data.subarray(3)
  }

  /** Expect the next packet to be ACL data; returns handle, PB flag and data (header decoded by hand). */
  async expectAcl(): Promise<{ handle: number; pb: number; data: Uint8Array }> {
    const p = await this.next()
    if (p.type !== 2) throw new Error(`expected ACL data, got type ${p.type} ${toHex(p.data.subarray(0, 8))}`)
    const hf = p.data[0]! | (p.data[1]! << 8)
    const length = p.data[2]! | (p.data[3]! << 8)
    if (length !== p.data.length - 4) throw new Error(`ACL length ${length} for ${p.data.length - 4} bytes`)
    return { handle: hf & 0xfff, pb: (hf >> 12) & 3, data: p.data.subarray(4) }
  }

  /** Assert that the host has sent nothing more. */
  async expectNothing(): Promise<void> {
    await settle()
    if (this.received.length > 0) {
      throw new Error(
        `expected nothing from the host, got ${this.received.map((p) => `${p.type}:${toHex(p.data)}`).join(', ')}`,
      )
    }
  }

  injectEvent(bytes: string | Uint8Array): void {
    this.controller.send({ type: 4, data: typeof bytes === 'string' ? fromHex(bytes) : bytes })
  }

  injectAcl(bytes: string | Uint8Array): void {
    this.controller.send({ type: 2, data: typeof bytes === 'string' ? fromHex(bytes) : bytes })
  }

  /** Answer the command the host must send next with Command Complete (return parameters hex). */
  async answer(spec: CommandSpec | number, returnHex = '00', ncmd = 1): Promise<Uint8Array> {
    const opcode = typeof spec === 'number' ? spec : spec.opcode
    const params = await this.expectCommand(opcode)
    this.injectEvent(ev.commandComplete(opcode, returnHex, ncmd))
    return params
  }
}

export interface BringUp {
  /** Supported_Commands, 64 octets (hex); default all zero. */
  supportedCommands?: string
  /** LE Read Buffer Size answer: [length, count]; [0, 0] means "shared with BR/EDR". */
  le?: [number, number]
  /** Read Buffer Size answer when LE reports 0: [acl length, acl count]. */
  bredr?: [number, number]
  /** LE Read Buffer Size [v2] ISO part, used when octet 41 bit 5 is set. */
  iso?: [number, number]
}

/** Play the controller through host.init(); returns the opcodes the host sent, in order. */
export async function bringUp(s: Script, o: BringUp = {}): Promise<number[]> {
  const cmds = o.supportedCommands ?? '00'.repeat(64)
  const bit = (octet: number, b: number): boolean =>
    ((parseInt(cmds.slice(octet * 2, octet * 2 + 2), 16) >> b) & 1) === 1
  const opcodes: number[] = []
  const step = async (opcode: number, ret: string): Promise<void> => {
    opcodes.push(opcode)
    await s.answer(opcode, ret)
  }
  await step(0x0c03, '00') // Reset
  await step(0x1001, '00' + '0c' + '3412' + '0c' + '0f00' + '7856') // Read Local Version Information
  await step(0x1002, '00' + cmds) // Read Local Supported Commands
  await step(0x1003, '00' + 'bf fe cf fe db ff 7b 87'.replace(/ /g, '')) // Read Local Supported Features
  await step(0x1009, '00' + '665544332211') // Read BD_ADDR -> 11:22:33:44:55:66
  await step(0x0c01, '00') // Set Event Mask
  if (bit(22, 2)) await step(0x0c63, '00') // Set Event Mask Page 2
  await step(0x2001, '00') // LE Set Event Mask
  const [len, count] = o.le ?? [251, 8]
  if (bit(41, 5)) {
    const [il, ic] = o.iso ?? [0, 0]
    await step(0x2060, '00' + le16(len) + u8(count) + le16(il) + u8(ic)) // LE Read Buffer Size [v2]
  } else {
    await step(0x2002, '00' + le16(len) + u8(count)) // LE Read Buffer Size [v1]
  }
  if (len === 0 || count === 0) {
    const [bl, bc] = o.bredr ?? [1021, 6]
    await step(0x1005, '00' + le16(bl) + '40' + le16(bc) + '0800') // Read Buffer Size
  }
  await step(0x2003, '00' + '1f00000000000000') // LE Read Local Supported Features
  return opcodes
}
