/**
 * The Transport interface: how the host exchanges HCI packets with a controller, whatever
 * carries them (HCI socket, USB, UART with H4 framing, TCP, an in-memory pair, a replayed trace).
 * Packets are the HCI packets of Core v5.4 Vol 4 Part E 5.4, tagged with their H4 packet type
 * indicator (Vol 4 Part A 2) whether or not the medium itself carries that byte.
 *
 * Contract for implementations (src/transports/, hci/memory-transport.ts):
 * - `send` hands one packet to the medium, in call order. It may return a promise that settles
 *   when the medium accepted it (back-pressure); it rejects (or throws) a `TransportError` once
 *   the transport is closed. The transport does not keep `packet.data` after `send` returns or
 *   settles, so the caller may reuse it then.
 * - `onPacket` registers a callback for every packet received, in arrival order; the host
 *   registers one. `data` excludes the type byte and then belongs to the receiver: the
 *   transport never reuses or modifies a buffer it delivered (views of fresh chunks are fine),
 *   so upper layers may keep views into it.
 * - `onClose` callbacks run once when the transport closes: with no argument after `close()`,
 *   with the cause when the medium failed (device unplugged, socket reset).
 * - `close` is idempotent and resolves when the medium is released.
 */

/** One HCI packet: the H4 type (`H4Type`) and the packet bytes without the type byte. */
export interface HciPacket {
  type: number
  data: Uint8Array
}

export interface Transport {
  send(packet: HciPacket): void | Promise<void>
  onPacket(cb: (packet: HciPacket) => void): void
  onClose(cb: (err?: Error) => void): void
  close(): Promise<void>
}
