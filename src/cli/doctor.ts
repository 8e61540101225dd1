/**
 * `hcikit doctor [--json]`: every candidate controller this machine shows, and what stands in
 * the way of each. HCI adapters (Linux; HCIGETDEVLIST/HCIGETDEVINFO through the native addon,
 * up = held by the OS), USB devices of class E0/01/01 (Core v5.4 Vol 4 Part B 2.1) with VID:PID
 * and the kernel driver bound to interface 0, serial ports (where a UART controller, Vol 4
 * Part A, may be), and the permissions in force (uid, the effective capabilities). Each problem
 * comes with the command that fixes it. Exit 0 when some controller looks usable, 1 otherwise.
 *
 * Gathering (`gatherDoctorFacts`) and rendering (`renderDoctor`) are separate so the tests can
 * render any machine.
 */
import {
  existsSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  accessSync,
  constants as fsConstants,
} from 'node:fs'
import { basename, join } from 'node:path'
import { parseArgs } from 'node:util'
import { loadHciSocketAddon, type HciDeviceInfo } from '../native/load.ts'
import { explainHciSocketError } from '../transports/hci-socket.ts'
import { isBluetoothController, type UsbLike } from '../transports/usb.ts'
import { UsageError } from './usage.ts'

export const doctorHelp = `usage: hcikit doctor [--json]

Lists every Bluetooth controller this machine shows, with what stands in the way of each and
the command that fixes it:
  HCI adapters (Linux: hciN, up = held by the OS Bluetooth daemon, down = free for hcikit)
  USB devices of the Bluetooth class (VID:PID, the kernel driver on interface 0)
  serial ports (a UART controller: --transport uart:PATH)
  the permissions in force (uid, CAP_NET_ADMIN/CAP_NET_RAW of this node)
Exit status 0 when some controller looks usable, 1 when none does.
  --json   {platform, uid, capabilities, hci, usb, serial, problems: [{problem, fix}], usable}`

export interface UsbCandidate {
  vendorId: number
  productId: number
  name?: string
  /** The kernel driver bound to interface 0 (Linux sysfs), e.g. btusb. */
  driver?: string
  /** The device node, when known, and whether this process may open it. */
  devnode?: string
  writable?: boolean
}
export interface SerialCandidate {
  path: string
  manufacturer?: string
  vendorId?: string
  productId?: string
}
export interface DoctorFacts {
  platform: NodeJS.Platform
  uid: number | undefined
  /** CapEff from /proc/self/status (Linux), as a hex string. */
  capEff: string | undefined
  nodePath: string
  hci: { ok: true; devices: HciDeviceInfo[] } | { ok: false; reason: string; hint?: string }
  usb: { ok: true; devices: UsbCandidate[] } | { ok: false; reason: string }
  serial: { ok: true; ports: SerialCandidate[]; how: string } | { ok: false; reason: string }
}

export interface Problem {
  problem: string
  fix: string
}

const CAP_NET_ADMIN = 12n
const CAP_NET_RAW = 13n
const hex4 = (v: number): string => v.toString(16).padStart(4, '0')
const readText = (p: string): string | undefined => {
  try {
    return readFileSync(p, 'utf8').trim()
  } catch {
    return undefined
  }
}

function gatherHci(platform: NodeJS.Platform): DoctorFacts['hci'] {
  if (platform !== 'linux') return { ok: false, reason: `HCI sockets exist only on Linux (this is ${platform})` }
  const load = loadHciSocketAddon()
  if (!load.ok) {
    // Without the addon, sysfs still shows which adapters exist.
    const names = existsSync('/sys/class/bluetooth')
      ? readdirSync('/sys/class/bluetooth').filter((n) => /^hci\d+$/.test(n))
      : []
    const seen = names.length ? `; sysfs shows ${names.join(', ')}` : ''
    return { ok: false, reason: `${load.reason}${seen}`, hint: load.hint }
  }
  try {
    return { ok: true, devices: load.addon.listDevices() }
  } catch (e) {
    const explained = explainHciSocketError(0, e)
    return {
      ok: false,
      reason: explained.message.replace(/^hci0: /, ''),
      hint: explained.hint || undefined,
    }
  }
}

/** The sysfs directory of a USB device with these ids, for its driver and device node. */
function sysfsUsb(vendorId: number, productId: number, nth: number): { driver?: string; devnode?: string } {
  const base = '/sys/bus/usb/devices'
  if (!existsSync(base)) return {}
  const dirs = readdirSync(base).filter(
    (d) =>
      !d.includes(':') &&
      readText(join(base, d, 'idVendor')) === hex4(vendorId) &&
      readText(join(base, d, 'idProduct')) === hex4(productId),
  )
  const dir = dirs[nth]
  if (!dir) return {}
  const out: { driver?: string; devnode?: string } = {}
  try {
    out.driver = basename(readlinkSync(join(base, `${dir}:1.0`, 'driver')))
  } catch {
    // no driver bound to interface 0
  }
  const bus = readText(join(base, dir, 'busnum'))
  const dev = readText(join(base, dir, 'devnum'))
  if (bus && dev) out.devnode = `/dev/bus/usb/${bus.padStart(3, '0')}/${dev.padStart(3, '0')}`
  return out
}

async function gatherUsb(platform: NodeJS.Platform, usb?: UsbLike): Promise<DoctorFacts['usb']> {
  let lib: UsbLike
  try {
    lib = usb ?? ((await import('usb')).usb as unknown as UsbLike)
  } catch (e) {
    return {
      ok: false,
      reason: `the usb library does not load: ${(e as Error).message} (reinstall it: \`npm install usb\`)`,
    }
  }
  let all: Awaited<ReturnType<typeof lib.getDevices>>
  try {
    all = await lib.getDevices()
  } catch (e) {
    return { ok: false, reason: `cannot list USB devices: ${(e as Error).message}` }
  }
  const count = new Map<string, number>()
  const devices: UsbCandidate[] = []
  for (const d of all.filter(isBluetoothController)) {
    const key = `${hex4(d.vendorId)}:${hex4(d.productId)}`
    const nth = count.get(key) ?? 0
    count.set(key, nth + 1)
    const c: UsbCandidate = { vendorId: d.vendorId, productId: d.productId }
    if (d.productName) c.name = d.productName
    if (platform === 'linux') {
      const s = sysfsUsb(d.vendorId, d.productId, nth)
      if (s.driver) c.driver = s.driver
      if (s.devnode) {
        c.devnode = s.devnode
        try {
          accessSync(s.devnode, fsConstants.R_OK | fsConstants.W_OK)
          c.writable = true
        } catch {
          c.writable = false
        }
      }
    }
    devices.push(c)
  }
  return { ok: true, devices }
}

async function gatherSerial(platform: NodeJS.Platform): Promise<DoctorFacts['serial']> {
  let libError: string
  try {
    const { autoDetect } = await import('@serialport/bindings-cpp')
    const ports = await autoDetect().list()
    return {
      ok: true,
      how: '@serialport/bindings-cpp',
      ports: ports.map((p) => ({
        path: p.path,
        manufacturer: p.manufacturer || undefined,
        vendorId: p.vendorId || undefined,
        productId: p.productId || undefined,
      })),
    }
  } catch (e) {
    libError = (e as Error).message
  }
  if (platform === 'linux') {
    // The library lists through udevadm; without it, /dev shows the USB serial adapters.
    try {
      const ports = readdirSync('/dev')
        .filter((n) => /^tty(USB|ACM)\d+$/.test(n))
        .map((n) => ({ path: `/dev/${n}` }))
      return { ok: true, how: `/dev/ttyUSB* and /dev/ttyACM* (the serial library could not list: ${libError})`, ports }
    } catch {
      // fall through
    }
  }
  return { ok: false, reason: `cannot list serial ports: ${libError}` }
}

export interface GatherOptions {
  platform?: NodeJS.Platform
  usb?: UsbLike
}

/** Look at this machine. */
export async function gatherDoctorFacts(opts: GatherOptions = {}): Promise<DoctorFacts> {
  const platform = opts.platform ?? process.platform
  let nodePath = process.execPath
  try {
    nodePath = realpathSync(process.execPath)
  } catch {
    // keep execPath
  }
  const status = platform === 'linux' ? readText('/proc/self/status') : undefined
  const capEff = status ? /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1] : undefined
  return {
    platform,
    uid: typeof process.getuid === 'function' ? process.getuid() : undefined,
    capEff,
    nodePath,
    hci: gatherHci(platform),
    usb: await gatherUsb(platform, opts.usb),
    serial: await gatherSerial(platform),
  }
}

export interface DoctorReport {
  lines: string[]
  problems: Problem[]
  /** How many controllers look usable as they are. */
  usable: number
}

/** What rendering gathers, section by section. */
interface Acc extends DoctorReport {
  candidates: number
  privileged: boolean
}

/** The report for some facts: what was found, each problem with its fix, and a verdict. */
export function renderDoctor(f: DoctorFacts): DoctorReport {
  const acc: Acc = { lines: [], problems: [], usable: 0, candidates: 0, privileged: false }
  renderPermissions(f, acc)
  renderHci(f, acc)
  renderUsb(f, acc)
  renderSerial(f, acc)
  renderVerdict(acc)
  return { lines: acc.lines, problems: acc.problems, usable: acc.usable }
}

function renderPermissions(f: DoctorFacts, acc: Acc): void {
  const caps = f.capEff !== undefined ? BigInt(`0x${f.capEff}`) : undefined
  const hasCap = (bit: bigint): boolean | undefined => (caps === undefined ? undefined : ((caps >> bit) & 1n) === 1n)
  const yes = (v: boolean | undefined): string => (v === undefined ? '?' : v ? 'yes' : 'no')
  const netAdmin = hasCap(CAP_NET_ADMIN)
  const netRaw = hasCap(CAP_NET_RAW)
  acc.privileged = f.uid === 0 || (netAdmin === true && netRaw === true)
  acc.lines.push('Permissions')
  acc.lines.push(`  uid ${f.uid ?? 'n/a'}${f.uid === 0 ? ' (root)' : ''}; node ${f.nodePath}`)
  if (f.platform === 'linux') {
    acc.lines.push(
      `  effective capabilities ${f.capEff ?? 'unknown'}: CAP_NET_ADMIN ${yes(netAdmin)}, CAP_NET_RAW ${yes(netRaw)}`,
    )
  }
}

function renderHci(f: DoctorFacts, acc: Acc): void {
  acc.lines.push('', 'HCI adapters (--transport hciN)')
  if (!f.hci.ok) {
    acc.lines.push(`  none usable: ${f.hci.reason}`)
    if (f.hci.hint && f.platform === 'linux') acc.lines.push(`  ${f.hci.hint}`)
  } else if (f.hci.devices.length === 0) {
    acc.lines.push('  none: the kernel knows no Bluetooth adapter')
  } else {
    for (const d of f.hci.devices) {
      acc.candidates++
      const id = `hci${d.index}`
      if (d.error) {
        acc.lines.push(`  ${id}: cannot be described (${d.error})`)
        continue
      }
      const state = d.up ? 'up: held by the OS (bluetoothd)' : 'down: free for hcikit'
      acc.lines.push(`  ${id}${d.address ? ` ${d.address}` : ''}: ${state}`)
      if (d.up) {
        acc.problems.push({
          problem: `${id} is up and held by the OS Bluetooth daemon`,
          fix: `sudo btmgmt --index ${d.index} power off   (give it back later: sudo btmgmt --index ${d.index} power on)`,
        })
      } else if (acc.privileged) {
        acc.usable++
      }
    }
    if (!acc.privileged && f.platform === 'linux') {
      acc.problems.push({
        problem: 'this node may not open the HCI user channel (needs CAP_NET_ADMIN and CAP_NET_RAW, or root)',
        fix: `sudo setcap cap_net_admin,cap_net_raw+eip ${f.nodePath}   (or run as root)`,
      })
    }
  }
}

function renderUsb(f: DoctorFacts, acc: Acc): void {
  acc.lines.push('', 'USB Bluetooth controllers (--transport usb or usb:VID:PID)')
  if (!f.usb.ok) {
    acc.lines.push(`  cannot tell: ${f.usb.reason}`)
    if (f.platform === 'linux' && !existsSync('/sys/bus/usb/devices'))
      acc.lines.push(
        '  no USB bus is visible here (in a container, pass it through: --device /dev/bus/usb -v /sys/bus/usb:/sys/bus/usb:ro)',
      )
  } else if (f.usb.devices.length === 0) {
    acc.lines.push('  none (no USB device of class E0/01/01)')
  } else {
    for (const d of f.usb.devices) {
      acc.candidates++
      const ids = `${hex4(d.vendorId)}:${hex4(d.productId)}`
      acc.lines.push(
        `  usb:${ids}${d.name ? ` ${d.name}` : ''}: driver ` +
          `${d.driver ?? 'none'}` +
          `${d.devnode ? `, ${d.devnode} ${d.writable ? 'writable' : 'not writable'}` : ''}`,
      )
      if (d.writable === false) {
        acc.problems.push({
          problem: `no permission to open USB device ${ids}`,
          fix:
            `echo 'SUBSYSTEM=="usb", ATTRS{idVendor}=="${hex4(d.vendorId)}", ` +
            `ATTRS{idProduct}=="${hex4(d.productId)}", MODE="0660", TAG+="uaccess"' | sudo tee ` +
            `/etc/udev/rules.d/50-hcikit.rules && sudo udevadm control --reload && sudo udevadm trigger   ` +
            `(then replug it)`,
        })
      } else {
        acc.usable++
      }
      if (d.driver === 'btusb')
        acc.lines.push(
          `    the kernel's btusb drives it (so it is also an hciN above); --transport usb:${ids} detaches btusb for the session`,
        )
    }
  }
}

function renderSerial(f: DoctorFacts, acc: Acc): void {
  acc.lines.push('', 'Serial ports (--transport uart:PATH[@BAUD])')
  if (!f.serial.ok) {
    acc.lines.push(`  cannot tell: ${f.serial.reason}`)
  } else if (f.serial.ports.length === 0) {
    acc.lines.push(`  none (looked with ${f.serial.how})`)
  } else {
    for (const p of f.serial.ports) {
      acc.candidates++
      const extra = [p.manufacturer, p.vendorId && p.productId ? `${p.vendorId}:${p.productId}` : undefined]
        .filter(Boolean)
        .join(', ')
      acc.lines.push(
        `  uart:${p.path}${extra ? ` (${extra})` : ''}: a UART controller if one is attached here (hcikit checks with HCI_Reset)`,
      )
      acc.usable++
    }
  }
}

function renderVerdict(acc: Acc): void {
  acc.lines.push('')
  if (acc.candidates === 0) {
    acc.lines.push('No Bluetooth controller found: no HCI adapter, no USB Bluetooth device, no serial port.')
    acc.lines.push('Plug in a USB Bluetooth dongle (Bluetooth 4.0 or later, with LE), then run `hcikit doctor` again;')
    acc.lines.push('or a UART controller (a board running an HCI-over-UART firmware) on a serial port.')
    acc.lines.push('Without hardware, everything works on the built-in virtual controller: --transport virtual')
  } else if (acc.problems.length === 0) {
    acc.lines.push(
      acc.usable > 0
        ? `${acc.usable} controller${acc.usable === 1 ? '' : 's'} look${acc.usable === 1 ? 's' : ''} usable.`
        : 'Nothing usable yet.',
    )
  }
  if (acc.problems.length > 0) {
    acc.lines.push(`Problems, each with the command that fixes it:`)
    for (const p of acc.problems) acc.lines.push(`  - ${p.problem}`, `    fix: ${p.fix}`)
  }
}

export interface DoctorIo {
  stdout?: NodeJS.WritableStream
  stderr?: NodeJS.WritableStream
  /** Facts to render instead of looking at this machine (tests). */
  facts?: DoctorFacts
}

export async function doctorCommand(argv: string[], io: DoctorIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout
  let json = false
  try {
    const { values } = parseArgs({
      args: argv,
      options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    })
    if (values.help) {
      stdout.write(doctorHelp + '\n')
      return 0
    }
    json = values.json === true
  } catch (e) {
    throw new UsageError((e as Error).message, doctorHelp)
  }
  const facts = io.facts ?? (await gatherDoctorFacts())
  const report = renderDoctor(facts)
  if (json) {
    stdout.write(JSON.stringify({ ...facts, problems: report.problems, usable: report.usable }, null, 2) + '\n')
  } else {
    stdout.write(report.lines.join('\n') + '\n')
  }
  return report.usable > 0 ? 0 : 1
}
