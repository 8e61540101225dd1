/**
 * Test helpers for att/l2cap: our L2capMux on one end of an in-memory link pair and the test
 * playing the peer on the other end with hand-written frames (bytes from Core v5.4 Vol 3 Part A,
 * never from our encoders), or our muxes on both ends.
 */
import { createLinkPair, type LinkPairOptions, type PairedLink } from '../../../att/l2cap/link.ts'
import { L2capMux, type L2capMuxOptions } from '../../../att/l2cap/mux.ts'
import { FakeClock, settle } from '../../helpers/hci-script.ts'
import { fromHex, toHex } from '../../../hci/wire.ts'

export { FakeClock, settle }

/** Little-endian hex of a u16 ("0x1234" -> "3412"), for writing frames by hand. */
export function le16(v: number): string {
  return toHex(new Uint8Array([v & 0xff, (v >> 8) & 0xff]))
}

export interface RawPeer {
  /** Our stack. */
  mux: L2capMux
  clock: FakeClock
  /** The link end the test plays. */
  link: PairedLink
  ours: PairedLink
  /** Frames our stack sent, as hex, not yet taken. */
  sent: string[]
  /** Send a frame (hex, spaces allowed) from the peer to our stack and let it be processed. */
  inject(hex: string): Promise<void>
  /** All frames our stack sent since the last call, after letting everything settle. */
  take(): Promise<string[]>
}

/** Our mux in `role`, the test as the peer. */
export function rawPeer(
  role: 'central' | 'peripheral',
  opts: { link?: LinkPairOptions; mux?: Omit<L2capMuxOptions, 'clock'> } = {},
): RawPeer {
  const [c, p] = createLinkPair(opts.link)
  const ours = role === 'central' ? c : p
  const link = role === 'central' ? p : c
  const clock = new FakeClock()
  const mux = new L2capMux(ours, { ...opts.mux, clock })
  const sent: string[] = []
  link.onFrame((f) => sent.push(toHex(f)))
  return {
    mux,
    clock,
    link,
    ours,
    sent,
    async inject(hex: string) {
      await link.send(fromHex(hex.replace(/\s/g, '')))
      await settle()
    },
    async take() {
      await settle()
      return sent.splice(0)
    },
  }
}

export interface MuxPair {
  clock: FakeClock
  central: L2capMux
  peripheral: L2capMux
  links: [PairedLink, PairedLink]
  /** Every frame sent, in order, with its direction. */
  frames: { from: 'central' | 'peripheral'; frame: Uint8Array }[]
}

/** Our muxes on both ends (one shared virtual clock). */
export function muxPair(
  opts: {
    link?: LinkPairOptions
    central?: Omit<L2capMuxOptions, 'clock'>
    peripheral?: Omit<L2capMuxOptions, 'clock'>
    record?: boolean
  } = {},
): MuxPair {
  const frames: MuxPair['frames'] = []
  const links = createLinkPair({
    ...opts.link,
    onTransmit: (from, frame) => {
      if (opts.record) frames.push({ from, frame })
      opts.link?.onTransmit?.(from, frame)
    },
  })
  const clock = new FakeClock()
  return {
    clock,
    central: new L2capMux(links[0], { ...opts.central, clock }),
    peripheral: new L2capMux(links[1], { ...opts.peripheral, clock }),
    links,
    frames,
  }
}
