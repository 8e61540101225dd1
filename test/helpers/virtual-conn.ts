/**
 * Helpers for the connection tests of the virtual controller (connections, procedures, ACL data,
 * encryption): hosts (our HciHost) on controllers of one world, every event and HCI packet they
 * receive recorded, the ACL packets they send counted, and a legacy advertiser + initiator to
 * bring two of them into a connection. Synchronised on recorded events, in virtual time.
 */
import { HciHost, type InitOptions } from '../../hci/host.ts'
import type { HciPacket, Transport } from '../../hci/transport.ts'
import { H4Type } from '../../hci/constants.ts'
import * as C from '../../hci/commands.ts'
import type { CommandParams } from '../../hci/spec.ts'
import type { HciEvent } from '../../hci/events.ts'
import { clockFrom } from '../../src/virtual/scheduler.ts'
import { VirtualController, type ControllerOptions } from '../../src/virtual/controller.ts'
import type { World } from './virtual.ts'

export type EventOf<K extends HciEvent['key']> = Extract<HciEvent, { key: K }>

export interface Node {
  name: string
  controller: VirtualController
  host: HciHost
  /** Every event but Command Complete / Command Status, in order, with its virtual time. */
  events: Array<HciEvent & { at: number }>
  /** Raw ACL packets received from the controller. */
  aclIn: Uint8Array[]
  /** Raw ACL packets sent to the controller. */
  aclOut: Uint8Array[]
  /** ACL packets sent (+1) and completed (Number Of Completed Packets, -n), per handle, in order. */
  credits: Array<{ handle: number; delta: number }>
  /** Reassembled PDUs delivered by the HciHost. */
  pdus: Array<{ handle: number; pdu: Uint8Array; at: number }>
  /** Events of one kind. */
  ev<K extends HciEvent['key']>(key: K): Array<EventOf<K> & { at: number }>
}

/** A transport decorator that reports what goes through it. */
function tapped(inner: Transport, sent: (p: HciPacket) => void): Transport {
  return {
    send: (p) => {
      sent(p)
      return inner.send(p)
    },
    onPacket: (cb) => inner.onPacket(cb),
    onClose: (cb) => inner.onClose(cb),
    close: () => inner.close(),
  }
}

export interface NodeOptions extends ControllerOptions {
  init?: InitOptions
}

export async function node(w: World, name: string, opts: NodeOptions = {}): Promise<Node> {
  const controller = new VirtualController(w.link, { name, ...opts })
  const inner = controller.attach()
  const n: Node = {
    name,
    controller,
    host: undefined as unknown as HciHost,
    events: [],
    aclIn: [],
    aclOut: [],
    credits: [],
    pdus: [],
    ev: (key) => n.events.filter((e) => e.key === key) as never,
  }
  // Registered before the HciHost's own listener: completions are counted before it sends more.
  inner.onPacket((p) => {
    if (p.type === H4Type.Acl) n.aclIn.push(p.data)
    if (p.type === H4Type.Event && p.data[0] === 0x13) {
      // Number Of Completed Packets (7.7.19): Num_Handles, then handle u16 and count u16 each.
      for (let i = 0; i < p.data[2]!; i++) {
        const at = 3 + i * 4
        n.credits.push({
          handle: (p.data[at]! | (p.data[at + 1]! << 8)) & 0x0fff,
          delta: -(p.data[at + 2]! | (p.data[at + 3]! << 8)),
        })
      }
    }
  })
  const transport = tapped(inner, (p) => {
    if (p.type === H4Type.Acl) {
      n.aclOut.push(p.data.slice())
      n.credits.push({ handle: (p.data[0]! | (p.data[1]! << 8)) & 0x0fff, delta: 1 })
    }
  })
  n.host = new HciHost(transport, { clock: clockFrom(w.scheduler), aclQueueLimit: 1000 })
  n.host.onEvent((e) => {
    if (e.key !== 'CommandComplete' && e.key !== 'CommandStatus') n.events.push({ ...e, at: w.scheduler.now() })
  })
  n.host.onAcl((handle, pdu) => n.pdus.push({ handle, pdu, at: w.scheduler.now() }))
  await n.host.init(opts.init ?? {})
  return n
}

/** Run the world 1 ms at a time until `cond` holds (false if it never did within `limitMs`). */
export async function until(w: World, cond: () => boolean, limitMs = 10_000): Promise<boolean> {
  for (let t = 0; t < limitMs; t++) {
    if (cond()) return true
    await w.run(1)
  }
  return cond()
}

/** Legacy connectable undirected advertising (ADV_IND) every 20 ms. */
export async function advertise(
  n: Node,
  over: Partial<CommandParams<typeof C.LeSetAdvertisingParameters>> = {},
): Promise<void> {
  await n.host.send(C.LeSetAdvertisingParameters, {
    advertisingIntervalMin: 0x20,
    advertisingIntervalMax: 0x20,
    advertisingType: 0x00,
    ownAddressType: 0,
    peerAddressType: 0,
    peerAddress: '00:00:00:00:00:00',
    advertisingChannelMap: 7,
    advertisingFilterPolicy: 0,
    ...over,
  })
  await n.host.send(C.LeSetAdvertisingEnable, { enable: 1 })
}

export type CreateParams = CommandParams<typeof C.LeCreateConnection>

/** LE Create Connection parameters toward `peer` (30 ms interval, 1 s supervision timeout). */
export function createParams(peer: Node | string, over: Partial<CreateParams> = {}): CreateParams {
  return {
    scanInterval: 0x0010,
    scanWindow: 0x0010,
    initiatorFilterPolicy: 0,
    peerAddressType: 0,
    peerAddress: typeof peer === 'string' ? peer : peer.controller.address,
    ownAddressType: 0,
    connectionIntervalMin: 24,
    connectionIntervalMax: 40,
    maxLatency: 0,
    supervisionTimeout: 100,
    minCeLength: 0,
    maxCeLength: 0,
    ...over,
  }
}

const completeKeys = ['LeConnectionComplete', 'LeEnhancedConnectionComplete', 'LeEnhancedConnectionCompleteV2'] as const

/** Connection-complete events (any version) a node received. */
export function completes(n: Node): Array<{
  status: number
  connectionHandle: number
  role: number
  peerAddress: string
  peerAddressType: number
  connectionInterval: number
  peripheralLatency: number
  supervisionTimeout: number
  key: string
}> {
  return n.events
    .filter((e) => (completeKeys as readonly string[]).includes(e.key))
    .map((e) => ({ ...(e as EventOf<'LeConnectionComplete'>).params, key: e.key }))
}

/** `peripheral` advertises, `central` connects; resolves with both handles. */
export async function connect(
  w: World,
  central: Node,
  peripheral: Node,
  over: Partial<CreateParams> = {},
): Promise<{ ch: number; ph: number }> {
  const c0 = completes(central).length
  const p0 = completes(peripheral).length
  await advertise(peripheral)
  await central.host.send(C.LeCreateConnection, createParams(peripheral, over))
  const ok = await until(w, () => completes(central).length > c0 && completes(peripheral).length > p0)
  if (!ok) throw new Error(`${central.name} -> ${peripheral.name}: no connection`)
  return { ch: completes(central).at(-1)!.connectionHandle, ph: completes(peripheral).at(-1)!.connectionHandle }
}

/** An L2CAP B-frame of `n` payload bytes on channel `cid`, payload bytes from `seed`. */
export function l2cap(n: number, seed: number, cid = 0x0040): Uint8Array {
  const pdu = new Uint8Array(4 + n)
  pdu[0] = n & 0xff
  pdu[1] = n >> 8
  pdu[2] = cid & 0xff
  pdu[3] = cid >> 8
  for (let i = 0; i < n; i++) pdu[4 + i] = (seed * 31 + i * 7) & 0xff
  return pdu
}

/** Decoded header of a raw ACL packet. */
export function aclHeader(p: Uint8Array): { handle: number; pb: number; bc: number; length: number } {
  const hf = p[0]! | (p[1]! << 8)
  return { handle: hf & 0x0fff, pb: (hf >> 12) & 3, bc: hf >> 14, length: p[2]! | (p[3]! << 8) }
}
