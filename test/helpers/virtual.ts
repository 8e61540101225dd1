/**
 * Helpers for tests of the virtual controller (src/virtual/): controllers on one virtual link in
 * manual virtual time, each driven either by our HciHost or by raw HCI bytes, with a `run()` that
 * lets deliveries settle and virtual time advance together (no sleeps).
 */
import { HciHost } from '../../hci/host.ts'
import type { HciPacket, Transport } from '../../hci/transport.ts'
import { H4Type } from '../../hci/constants.ts'
import { toHex, fromHex } from '../../hci/wire.ts'
import { VirtualScheduler, clockFrom } from '../../src/virtual/scheduler.ts'
import { VirtualLink } from '../../src/virtual/link.ts'
import { VirtualController, type ControllerOptions } from '../../src/virtual/controller.ts'
import type { AdvPdu } from '../../src/virtual/link.ts'

/** Let in-memory transport deliveries and promise continuations run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

export interface World {
  scheduler: VirtualScheduler
  link: VirtualLink
  /** Advance virtual time by `ms`, settling deliveries before and after every step of `stepMs`. */
  run(ms: number, stepMs?: number): Promise<void>
}

export function world(seed = 1): World {
  const scheduler = new VirtualScheduler({ seed })
  const link = new VirtualLink({ scheduler, seed })
  return {
    scheduler,
    link,
    async run(ms, stepMs = 1) {
      await settle()
      for (let t = 0; t < ms; t += stepMs) {
        scheduler.advance(Math.min(stepMs, ms - t))
        await settle()
      }
      await settle()
    },
  }
}

/** An HciHost on a new controller, on the world's clock. */
export function hostOn(w: World, opts: ControllerOptions = {}): { controller: VirtualController; host: HciHost } {
  const controller = new VirtualController(w.link, opts)
  const host = new HciHost(controller.attach(), { clock: clockFrom(w.scheduler) })
  return { controller, host }
}

/** A raw HCI endpoint: send command bytes (hex), read back every packet as hex. */
export class RawHost {
  readonly received: HciPacket[] = []
  /** Every packet both ways, in order (for captures: test/helpers/virtual-capture.ts). */
  readonly log: Array<{ direction: 'tx' | 'rx'; packet: HciPacket }> = []
  constructor(readonly transport: Transport) {
    transport.onPacket((p) => {
      this.received.push(p)
      this.log.push({ direction: 'rx', packet: p })
    })
  }

  /** Send a command given as hex of opcode(LE) + length + parameters (no H4 byte). */
  command(hex: string): void {
    const packet = { type: H4Type.Command, data: fromHex(hex.replace(/\s/g, '')) }
    this.log.push({ direction: 'tx', packet })
    void this.transport.send(packet)
  }

  /** Events received (hex, without H4 byte), and forget them. */
  takeEvents(): string[] {
    const out = this.received.filter((p) => p.type === H4Type.Event).map((p) => toHex(p.data))
    this.received.length = 0
    return out
  }
}

export function rawOn(w: World, opts: ControllerOptions = {}): { controller: VirtualController; raw: RawHost } {
  const controller = new VirtualController(w.link, opts)
  return { controller, raw: new RawHost(controller.attach()) }
}

/** The HCI status a command ended with: 0, or the status of the HciError it was rejected with. */
export function statusOf(p: Promise<unknown>): Promise<number> {
  return p.then(
    () => 0,
    (e: unknown) => {
      const s = (e as { status?: number }).status
      if (typeof s !== 'number') throw e
      return s
    },
  )
}

/** A controller with no host that records every advertising PDU it hears (time, PDU). */
export function sniffer(w: World): { controller: VirtualController; heard: Array<{ at: number; pdu: AdvPdu }> } {
  const controller = new VirtualController(w.link, { name: 'sniffer' })
  const heard: Array<{ at: number; pdu: AdvPdu }> = []
  controller.onAir('adv', (_from, pdu) => heard.push({ at: w.scheduler.now(), pdu }))
  return { controller, heard }
}
