/**
 * The virtual controller's core and basic commands, driven with raw HCI bytes (expected events
 * written by hand from Core v5.4 Vol 4 Part E 7.7.14 and the return parameters of 7.3, 7.4,
 * 7.8) and with our HciHost (bring-up, timeouts).
 */
import t from 'tap'
import { world, hostOn, rawOn, settle } from '../helpers/virtual.ts'
import * as C from '../../hci/commands.ts'
import { encodeCommand } from '../../hci/commands.ts'
import { HardwareError } from '../../hci/events.ts'
import { fromHex, toHex } from '../../hci/wire.ts'
import type { HciError } from '../../hci/errors.ts'
import { knownSupportedCommandOpcodes, supportedCommandBit } from '../../src/virtual/supported-commands.ts'
import type { AdvPdu } from '../../src/virtual/link.ts'
import { VirtualController } from '../../src/virtual/controller.ts'

const cmd = (spec: Parameters<typeof encodeCommand>[0], params: Parameters<typeof encodeCommand>[1]): string =>
  toHex(encodeCommand(spec, params as never))

t.test('HciHost.init() completes against the emulator and reads what was configured', async (t) => {
  const w = world()
  const { host, controller } = hostOn(w, { address: '11:22:33:44:55:66', aclDataLength: 100, aclCount: 5 })
  const info = await host.init()
  t.equal(info.address, '11:22:33:44:55:66')
  t.same(info.buffers.le, { length: 100, count: 5 })
  t.equal(info.hciVersion, 0x0d)
  t.equal(info.manufacturer, 0xffff)
  t.equal(info.lmpFeatures[4], 0x60, 'LE Supported (Controller) and BR/EDR Not Supported')
  t.equal((info.leFeatures[1]! >> 4) & 1, 1, 'LE feature bit 12: LE Extended Advertising')
  t.same(info.leFeatures, controller.features)
})

t.test('basic commands answered byte for byte', async (t) => {
  const w = world()
  const { raw } = rawOn(w, { address: '11:22:33:44:55:66', aclDataLength: 100, aclCount: 5 })
  const ask = async (hex: string): Promise<string[]> => {
    raw.command(hex)
    await settle()
    return raw.takeEvents()
  }
  t.same(await ask('030c00'), ['0e0401030c00'], 'Reset')
  t.same(await ask('091000'), ['0e0a01091000665544332211'], 'Read BD_ADDR')
  t.same(await ask('011000'), ['0e0c010110000d00000dffff0000'], 'Read Local Version Information')
  t.same(await ask('031000'), ['0e0c010310000000000060000000'], 'Read Local Supported Features')
  t.same(await ask('041001 00'), ['0e0e01041000' + '0000' + '0000000060000000'], 'Read Local Extended Features page 0')
  t.same(await ask('041001 01'), ['0e0e01041012' + '0000' + '0000000000000000'], 'page 1: 0x12')
  t.same(await ask('051000'), ['0e0b0105100064000005000000'], 'Read Buffer Size')
  t.same(await ask('022000'), ['0e0701022000640005'], 'LE Read Buffer Size [v1]')
  t.same(await ask('602000'), ['0e0a01602000640005000000'], 'LE Read Buffer Size [v2]')
  t.same(await ask('6d0c02 0100'), ['0e04016d0c00'], 'Write LE Host Support')
  t.same(await ask('6c0c00'), ['0e06016c0c000100'], 'Read LE Host Support')
  t.same(await ask('6d0c02 0200'), ['0e04016d0c12'], 'Write LE Host Support 2: 0x12')
  t.same(await ask('050c01 00'), ['0e0401050c00'], 'Set Event Filter: clear all')
  t.same(await ask('050c02 0100'), ['0e0401050c11'], 'Set Event Filter: inquiry filter unsupported')
  t.same(await ask('050c01 07'), ['0e0401050c12'], 'Set Event Filter: reserved type')
  t.same(await ask('052006 010000eeffc0'), ['0e0401052000'], 'LE Set Random Address C0:FF:EE:00:00:01')
})

t.test('unknown and unhandled opcodes: Command Complete with Unknown HCI Command (0x01)', async (t) => {
  const w = world()
  const { raw } = rawOn(w)
  raw.command('fffc00') // vendor
  raw.command('252000') // LE Read Local P-256 Public Key: a known command this controller does not implement
  raw.command('0104 05 338b9e0a00') // Inquiry (BR/EDR)
  await settle()
  t.same(raw.takeEvents(), ['0e0401fffc01', '0e0401252001', '0e0401010401'])
})

t.test('malformed parameters: Invalid HCI Command Parameters (0x12), full-length return parameters', async (t) => {
  const w = world()
  const { raw } = rawOn(w)
  raw.command('010c07 ffffffffffffff') // Set Event Mask needs 8 octets
  raw.command('010c09 ffffffffffffffff00') // one octet too many
  raw.command('021000') // fine: Read Local Supported Commands ... then a short LE Encrypt:
  raw.command('172004 00000000')
  await settle()
  const ev = raw.takeEvents()
  t.equal(ev[0], '0e0401010c12')
  t.equal(ev[1], '0e0401010c12')
  t.match(ev[2], /^0e4401021000/)
  t.equal(ev[3], '0e1401172012' + '00'.repeat(16), 'LE Encrypt answers status + 16 zero octets')
})

t.test('LE Encrypt: AES-128 with the spec sample data (Vol 6 Part C 1, SK from LTK and SKD)', async (t) => {
  const w = world()
  const { raw } = rawOn(w)
  const le = (be: string): string => be.match(/../g)!.reverse().join('')
  raw.command('172020' + le('4C68384139F574D836BCF34E9DFB01BF') + le('0213243546576879acbdcedfe0f10213'))
  await settle()
  t.same(raw.takeEvents(), ['0e1401172000' + le('99ad1b5226a37e3e058e3b8e27c2c666')])
})

t.test('LE Rand: 8 octets from the seed, different each time', async (t) => {
  const rands = async (seed: number): Promise<string[]> => {
    const w = world(seed)
    const { host } = hostOn(w)
    const out: string[] = []
    for (let i = 0; i < 3; i++) out.push(toHex((await host.send(C.LeRand, {})).randomNumber))
    return out
  }
  const a = await rands(3)
  t.same(await rands(3), a)
  t.not((await rands(4)).join(), a.join())
  t.equal(new Set(a).size, 3)
  for (const r of a) t.equal(r.length, 16)
})

t.test('Supported_Commands: bit set for exactly the handled opcodes', async (t) => {
  const w = world()
  const { host, controller } = hostOn(w)
  const { supportedCommands: mask } = await host.send(C.ReadLocalSupportedCommands, {})
  const has = (octet: number, bit: number): boolean => ((mask[octet]! >> bit) & 1) === 1
  // Positions written from the spec table (6.27), independently of src/virtual/supported-commands.ts
  const known: Array<[string, number, number, boolean]> = [
    ['Reset', 5, 7, true],
    ['Set Event Mask', 5, 6, true],
    ['Read Local Version Information', 14, 3, true],
    ['Read BD_ADDR', 15, 1, true],
    ['Set Event Mask Page 2', 22, 2, true],
    ['Write LE Host Support', 24, 6, true],
    ['LE Set Event Mask', 25, 0, true],
    ['LE Set Advertising Data', 25, 7, true],
    ['LE Set Scan Enable', 26, 3, true],
    ['LE Rand', 27, 7, true],
    ['LE Encrypt', 27, 6, true],
    ['LE Set Extended Advertising Enable', 36, 5, true],
    ['LE Set Extended Scan Enable', 37, 6, true],
    ['LE Read Buffer Size [v2]', 41, 5, true],
    ['Inquiry', 0, 0, false],
    ['LE Read Local P-256 Public Key', 34, 1, false],
    ['LE Set Periodic Advertising Enable', 37, 4, false],
  ]
  for (const [name, octet, bit, expected] of known)
    t.equal(has(octet, bit), expected, `${name}: octet ${octet} bit ${bit}`)
  // Against the table: every bit of the table is set iff the opcode has a handler.
  for (const op of knownSupportedCommandOpcodes()) {
    const [octet, bit] = supportedCommandBit(op)!
    t.equal(has(octet, bit), controller.handledOpcodes.has(op), `0x${op.toString(16)}`)
  }
  // Every handler has a bit (Read Local Supported Commands is the one without).
  const missing = [...controller.handledOpcodes].filter((op) => op !== 0x1002 && !supportedCommandBit(op))
  t.same(missing, [], 'handled opcodes without a Supported_Commands bit')
  let bits = 0
  for (const b of mask) for (let x = b; x; x &= x - 1) bits++
  t.equal(bits, controller.handledOpcodes.size - 1)
})

/** An advertiser (non-connectable, 20 ms) and a passive scanner, both by HciHost. */
async function advertiserAndScanner(w: ReturnType<typeof world>) {
  const a = hostOn(w)
  const b = hostOn(w)
  await a.host.init()
  await b.host.init()
  await a.host.send(C.LeSetAdvertisingParameters, {
    advertisingIntervalMin: 32,
    advertisingIntervalMax: 32,
    advertisingType: 3,
    ownAddressType: 0,
    peerAddressType: 0,
    peerAddress: '00:00:00:00:00:00',
    advertisingChannelMap: 7,
    advertisingFilterPolicy: 0,
  })
  await a.host.send(C.LeSetAdvertisingEnable, { enable: 1 })
  await b.host.send(C.LeSetScanParameters, {
    scanType: 0,
    scanInterval: 16,
    scanWindow: 16,
    ownAddressType: 0,
    scanningFilterPolicy: 0,
  })
  await b.host.send(C.LeSetScanEnable, { enable: 1, filterDuplicates: 0 })
  const reports: number[] = []
  b.host.onEvent((e) => {
    if (e.key === 'LeAdvertisingReport') reports.push(w.scheduler.now())
  })
  return { a, b, reports }
}

t.test(
  'event masks: masked events are not sent (LE Meta bit 61, LE mask bit 1), unmasked again they are',
  async (t) => {
    const w = world()
    const { b, reports } = await advertiserAndScanner(w)
    await w.run(200, 5)
    t.ok(reports.length >= 8, `${reports.length} reports with the default masks`)
    const mask = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0x00, 0x00]) // bits 0-44, no LE Meta
    await b.host.send(C.SetEventMask, { eventMask: mask })
    reports.length = 0
    const masked = b.controller.stats.masked
    await w.run(200, 5)
    t.equal(reports.length, 0, 'LE Meta masked')
    t.ok(b.controller.stats.masked > masked, 'the controller counted what it did not send')
    await b.host.send(C.SetEventMask, { eventMask: new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0x00, 0x20]) })
    await b.host.send(C.LeSetEventMask, { eventMask: new Uint8Array([0x1d, 0, 0, 0, 0, 0, 0, 0]) }) // bit 1 off
    await w.run(200, 5)
    t.equal(reports.length, 0, 'LE Advertising Report masked')
    await b.host.send(C.LeSetEventMask, { eventMask: new Uint8Array([0x1f, 0, 0, 0, 0, 0, 0, 0]) })
    await w.run(200, 5)
    t.ok(reports.length >= 8, 'unmasked: reports again')
  },
)

t.test('Hardware Error: sent (7.7.16) unless masked (bit 15); the controller loses its state', async (t) => {
  const w = world()
  const { raw, controller } = rawOn(w)
  controller.injectHardwareError(0x42)
  await settle()
  t.same(raw.takeEvents(), ['100142'])
  raw.command(cmd(C.SetEventMask, { eventMask: new Uint8Array([0xff, 0x7f, 0, 0, 0, 0, 0, 0x20]) }))
  await settle()
  raw.takeEvents()
  controller.injectHardwareError(0x01)
  await settle()
  t.same(raw.takeEvents(), [], 'masked')
  t.equal(toHex(controller.eventMask), 'ffffffffff1f0000', 'state lost: masks back to their defaults')
})

t.test('events raised while a command is handled go out after its Command Complete', async (t) => {
  const w = world()
  const { raw, controller } = rawOn(w)
  controller.handle(C.ReadLocalName, () => {
    controller.event(HardwareError, { hardwareCode: 7 })
    return { status: 0, localName: new Uint8Array(248) }
  })
  raw.command('140c00')
  await settle()
  const ev = raw.takeEvents()
  t.equal(ev.length, 2)
  t.match(ev[0], /^0efc01140c00/)
  t.equal(ev[1], '100107')
  t.throws(() => controller.handle(C.ReadLocalName, () => ({ status: 0, localName: new Uint8Array(248) })), /twice/)
})

t.test(
  'stuck: no answer at all (the host times out in virtual time), events still flow; unstuck answers again',
  async (t) => {
    const w = world()
    const { host, controller } = hostOn(w)
    await host.init()
    controller.stuck = true
    const p = host.send(C.ReadBdAddr, {}, { timeout: 1000 })
    let err: unknown
    p.catch((e) => (err = e))
    await w.run(999, 100)
    t.equal(err, undefined, 'nothing yet')
    await w.run(2, 1)
    t.type(err, Error)
    t.match(String(err), /time/i)
    const events: string[] = []
    host.onEvent((e) => events.push(e.name))
    controller.injectHardwareError(3)
    await settle()
    t.same(events, ['Hardware Error'])
    controller.stuck = false
    t.equal((await host.send(C.ReadBdAddr, {})).bdAddr, controller.address)
  },
)

t.test('attach() again: the previous host is closed and the new one finds a reset controller', async (t) => {
  const w = world()
  const c = new VirtualController(w.link)
  const sniffer = new VirtualController(w.link)
  const heard: AdvPdu[] = []
  sniffer.onAir('adv', (_f, pdu) => heard.push(pdu))
  const first = c.attach()
  let closed = false
  first.onClose(() => (closed = true))
  const send = async (hex: string): Promise<void> => {
    await first.send({ type: 1, data: fromHex(hex.replace(/\s/g, '')) })
    await settle()
  }
  await send('0a2001 01') // LE Set Advertising Enable (default parameters: ADV_IND every 1.28 s)
  await send('010c08 0000000000000000') // Set Event Mask: nothing
  await w.run(3000, 100)
  t.ok(heard.length >= 2, 'advertising')
  t.equal(c.advertisingCommands, 'legacy')
  const second = c.attach()
  await settle()
  t.equal(closed, true, 'the first host saw its transport close')
  heard.length = 0
  await w.run(3000, 100)
  t.equal(heard.length, 0, 'advertising stopped')
  t.equal(toHex(c.eventMask), 'ffffffffff1f0000', 'masks reset')
  t.equal(c.advertisingCommands, 'none')
  const got: string[] = []
  second.onPacket((p) => got.push(toHex(p.data)))
  await second.send({ type: 1, data: Uint8Array.from([0x09, 0x10, 0x00]) })
  await settle()
  t.equal(got.length, 1)
  c.detach()
  t.equal(c.attached, false)
})

t.test('Reset stops advertising and scanning', async (t) => {
  const w = world()
  const { a, b, reports } = await advertiserAndScanner(w)
  const sniffer = new VirtualController(w.link)
  const heard: number[] = []
  sniffer.onAir('adv', () => heard.push(w.scheduler.now()))
  await w.run(100, 5)
  t.ok(heard.length > 0 && reports.length > 0)
  await b.host.send(C.Reset, {})
  reports.length = 0
  await w.run(100, 5)
  t.equal(reports.length, 0, 'scanner reset: no more reports')
  t.ok(heard.length > 0)
  await a.host.send(C.Reset, {})
  heard.length = 0
  await w.run(200, 5)
  t.equal(heard.length, 0, 'advertiser reset: nothing on the air')
})

t.test('LE Set Random Address: Command Disallowed while legacy advertising or scanning is enabled', async (t) => {
  const w = world()
  const { a, b } = await advertiserAndScanner(w)
  const status = (p: Promise<unknown>): Promise<number> =>
    p.then(
      () => 0,
      (e: HciError) => e.status ?? -1,
    )
  t.equal(await status(a.host.send(C.LeSetRandomAddress, { randomAddress: 'C0:00:00:00:00:01' })), 0x0c)
  t.equal(await status(b.host.send(C.LeSetRandomAddress, { randomAddress: 'C0:00:00:00:00:01' })), 0x0c)
  await b.host.send(C.LeSetScanEnable, { enable: 0, filterDuplicates: 0 })
  t.equal(await status(b.host.send(C.LeSetRandomAddress, { randomAddress: 'C0:00:00:00:00:01' })), 0)
  t.equal(b.controller.randomAddress, 'C0:00:00:00:00:01')
})

t.test('the virtual transport: devices on one link, hosts in process, a new transport resets', async (t) => {
  const { createVirtualDevices, virtualTransport } = await import('../../src/transports/virtual.ts')
  const { HciHost } = await import('../../hci/host.ts')
  const { clockFrom } = await import('../../src/virtual/scheduler.ts')
  const { link, devices } = createVirtualDevices(2, { seed: 4, controllers: [{ address: '01:00:00:00:00:01' }, {}] })
  t.equal(devices.length, 2)
  t.equal(link.controllers.size, 2)
  const clock = clockFrom(link.scheduler)
  const host = new HciHost(devices[0]!.transport, { clock })
  t.equal((await host.init()).address, '01:00:00:00:00:01')
  let closed = false
  host.onClose(() => (closed = true))
  const again = new HciHost(virtualTransport(devices[0]!.controller), { clock })
  await settle()
  t.equal(closed, true, 'the previous host was detached')
  t.equal((await again.send(C.ReadBdAddr, {})).bdAddr, '01:00:00:00:00:01')
})

t.test(
  'mask bits: event code - 1 on page 1, code - 0x40 on page 2, LE sub-event - 1 under LE Meta (bit 61)',
  async (t) => {
    const E = await import('../../hci/events.ts')
    const w = world()
    const { host, controller: c } = hostOn(w)
    t.equal(c.eventEnabled(E.DisconnectionComplete), true, 'bit 4 is in the default mask')
    t.equal(c.eventEnabled(E.EncryptionChangeV2), false, 'page 2 is empty by default')
    t.equal(c.eventEnabled(E.LeConnectionComplete), false, 'LE Meta is off by default')
    t.equal(c.eventEnabled(E.CommandComplete), true)
    await host.send(C.SetEventMask, { eventMask: new Uint8Array([0xef, 0, 0, 0, 0, 0, 0, 0x20]) })
    t.equal(c.eventEnabled(E.DisconnectionComplete), false, 'bit 4 cleared')
    t.equal(c.eventEnabled(E.InquiryComplete), true, 'bit 0')
    t.equal(c.eventEnabled(E.CommandStatus), true, 'never masked')
    t.equal(c.eventEnabled(E.NumberOfCompletedPackets), true, 'never masked')
    t.equal(c.eventEnabled(E.LeConnectionComplete), true, 'LE Meta on, LE bit 0 on by default')
    t.equal(c.eventEnabled(E.LeEnhancedConnectionComplete), false, 'LE bit 9 off by default')
    await host.send(C.SetEventMaskPage2, { eventMaskPage2: new Uint8Array([0, 0, 0, 0x02, 0, 0, 0, 0]) })
    t.equal(c.eventEnabled(E.EncryptionChangeV2), true, 'page 2 bit 25 = event 0x59')
    t.equal(c.eventEnabled(E.AuthenticatedPayloadTimeoutExpired), false, 'page 2 bit 23 = event 0x57')
    await host.send(C.LeSetEventMask, { eventMask: new Uint8Array([0, 0x02, 0, 0, 0, 0, 0, 0]) })
    t.equal(c.eventEnabled(E.LeEnhancedConnectionComplete), true)
    t.equal(c.eventEnabled(E.LeConnectionComplete), false)
  },
)
