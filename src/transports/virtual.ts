/**
 * The `virtual` transport: an in-process host talks HCI (Core v5.4 Vol 4 Part E 5.4) to a
 * VirtualController (src/virtual/) over an in-memory pair, with no sockets at all. Attaching
 * detaches any previous host and gives a reset controller.
 */
import type { Transport } from '../../hci/transport.ts'
import { VirtualController, type ControllerOptions } from '../virtual/controller.ts'
import { VirtualLink, type LinkOptions } from '../virtual/link.ts'

/** The host side of `controller`; a previous host is detached and the controller reset. */
export function virtualTransport(controller: VirtualController): Transport {
  return controller.attach()
}

/** A link with `count` controllers, each with an attached transport. */
export function createVirtualDevices(
  count: number,
  opts: LinkOptions & { controllers?: ControllerOptions[] } = {},
): { link: VirtualLink; devices: Array<{ controller: VirtualController; transport: Transport }> } {
  const link = new VirtualLink(opts)
  const devices = []
  for (let i = 0; i < count; i++) {
    const controller = new VirtualController(link, opts.controllers?.[i] ?? {})
    devices.push({ controller, transport: controller.attach() })
  }
  return { link, devices }
}
