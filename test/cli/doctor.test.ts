// src/cli/doctor.ts: on this machine (in-process, stdout captured; what it should find is read
// from sysfs and /dev by the test itself), and rendered for machines described by hand (held
// adapter, missing capabilities, USB permissions, a usable dongle).
import t from 'tap'
import { PassThrough } from 'node:stream'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { doctorCommand, doctorHelp, renderDoctor, type DoctorFacts } from '../../src/cli/doctor.ts'
import { UsageError } from '../../src/cli/usage.ts'

async function run(argv: string[], facts?: DoctorFacts): Promise<{ rc: number; out: string }> {
  const stdout = new PassThrough()
  let out = ''
  stdout.on('data', (b: Buffer) => (out += b.toString('utf8')))
  const rc = await doctorCommand(argv, facts ? { stdout, facts } : { stdout })
  return { rc, out }
}

/**
 * This machine as the kernel shows it, read here without doctor's code: Bluetooth adapters in
 * /sys/class/bluetooth, USB devices of class 0xE0/0x01/0x01 (Bluetooth Programming Interface,
 * USB class codes) in /sys/bus/usb/devices, USB serial ports in /dev.
 */
function observed(): { hci: string[]; usb: string[]; serial: string[] } {
  const list = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).sort() : [])
  const read = (path: string): string => (existsSync(path) ? readFileSync(path, 'utf8').trim() : '')
  const bluetoothClass = (dir: string, prefix: 'bDevice' | 'bInterface'): boolean =>
    read(`${dir}/${prefix}Class`) === 'e0' &&
    read(`${dir}/${prefix}SubClass`) === '01' &&
    read(`${dir}/${prefix}Protocol`) === '01'
  const USB = '/sys/bus/usb/devices'
  const usb = list(USB)
    .filter((d) => !d.includes(':'))
    .filter(
      (d) =>
        bluetoothClass(`${USB}/${d}`, 'bDevice') ||
        list(USB).some((i) => i.startsWith(`${d}:`) && bluetoothClass(`${USB}/${i}`, 'bInterface')),
    )
    .map((d) => `usb:${read(`${USB}/${d}/idVendor`)}:${read(`${USB}/${d}/idProduct`)}`)
  return {
    hci: list('/sys/class/bluetooth').filter((n) => /^hci\d+$/.test(n)),
    usb,
    serial: list('/dev')
      .filter((n) => /^tty(USB|ACM)\d+$/.test(n))
      .map((n) => `uart:/dev/${n}`),
  }
}

t.test('this machine', async (t) => {
  const seen = process.platform === 'linux' ? observed() : undefined
  const { rc, out } = await run([])
  t.match(out, /^Permissions\n {2}uid /)
  t.match(out, /\nHCI adapters \(--transport hciN\)\n/)
  t.match(out, /\nUSB Bluetooth controllers \(--transport usb or usb:VID:PID\)\n/)
  t.match(out, /\nSerial ports \(--transport uart:PATH\[@BAUD\]\)\n/)
  t.comment(out)
  if (seen) {
    t.match(out, /CAP_NET_ADMIN (yes|no), CAP_NET_RAW (yes|no)/)
    t.match(out, new RegExp(`\\n {2}uid ${process.getuid!()}\\b`), 'the uid this process has')
    // Every controller the kernel shows is listed (an adapter may be unusable: then doctor says why).
    for (const u of [...seen.usb, ...seen.serial]) t.ok(out.includes(`\n  ${u}`), `${u} is listed`)
    if (seen.hci.length > 0) t.match(out, new RegExp(`\\n  (${seen.hci.join('|')})\\b|none usable: `), 'the adapters')
    else t.match(out, /HCI adapters \(--transport hciN\)\n {2}(none|none usable: .+)\n/, 'no adapter in sysfs')
    // Nothing the kernel shows, and doctor lists no other serial port either: it says so.
    const noSerial = /Serial ports \(--transport uart:PATH\[@BAUD\]\)\n {2}none/.test(out)
    if (seen.hci.length === 0 && seen.usb.length === 0 && seen.serial.length === 0 && noSerial) {
      t.match(out, /No Bluetooth controller found: no HCI adapter, no USB Bluetooth device, no serial port\./)
      t.match(out, /Plug in a USB Bluetooth dongle \(Bluetooth 4\.0 or later, with LE\)/)
      t.match(out, /--transport virtual/)
      t.equal(rc, 1, 'nothing usable: exit 1')
    } else t.notMatch(out, /No Bluetooth controller found/)
  }
  const json = await run(['--json'])
  const parsed = JSON.parse(json.out) as DoctorFacts & { problems: unknown[]; usable: number }
  t.equal(parsed.platform, process.platform)
  t.equal(parsed.uid, process.getuid?.())
  t.type(parsed.problems, Array)
  t.equal(json.rc, rc)
})

const base: DoctorFacts = {
  platform: 'linux',
  uid: 1000,
  capEff: '0000000000000000',
  nodePath: '/opt/node/bin/node',
  hci: { ok: true, devices: [] },
  usb: { ok: true, devices: [] },
  serial: { ok: true, ports: [], how: 'test' },
}

t.test('a held adapter and a user without capabilities: each problem with its fix', async (t) => {
  const facts: DoctorFacts = {
    ...base,
    hci: {
      ok: true,
      devices: [
        { index: 0, name: 'hci0', address: '00:1A:7D:DA:71:13', up: true, flags: 1 },
        { index: 1, name: 'hci1', address: '00:1A:7D:DA:71:14', up: false, flags: 0 },
      ],
    },
  }
  const { rc, out } = await run([], facts)
  t.match(out, / {2}hci0 00:1A:7D:DA:71:13: up: held by the OS \(bluetoothd\)/)
  t.match(out, / {2}hci1 00:1A:7D:DA:71:14: down: free for hcikit/)
  t.match(out, /CAP_NET_ADMIN no, CAP_NET_RAW no/)
  t.ok(out.includes('fix: sudo btmgmt --index 0 power off   (give it back later: sudo btmgmt --index 0 power on)'))
  t.ok(out.includes('fix: sudo setcap cap_net_admin,cap_net_raw+eip /opt/node/bin/node   (or run as root)'))
  t.notMatch(out, /No Bluetooth controller found/)
  t.equal(rc, 1, 'hci1 is free but this node may not open it')

  // With the capabilities (bits 12 and 13: 0x3000) the free adapter is usable.
  const r = renderDoctor({ ...facts, capEff: '0000000000003000' })
  t.equal(r.usable, 1)
  t.same(
    r.problems.map((p) => p.problem),
    ['hci0 is up and held by the OS Bluetooth daemon'],
  )
  t.equal(renderDoctor({ ...facts, uid: 0, capEff: undefined }).usable, 1, 'root needs no capabilities')
})

t.test('USB dongles: driver shown, a device node without permission gets a udev rule', async (t) => {
  const facts: DoctorFacts = {
    ...base,
    uid: 0,
    usb: {
      ok: true,
      devices: [
        { vendorId: 0x0a12, productId: 0x0001, driver: 'btusb', devnode: '/dev/bus/usb/001/004', writable: false },
        { vendorId: 0x2fe3, productId: 0x000b, devnode: '/dev/bus/usb/001/005', writable: true },
      ],
    },
    serial: {
      ok: true,
      ports: [{ path: '/dev/ttyACM0', manufacturer: 'ZEPHYR', vendorId: '2fe3', productId: '0100' }],
      how: 'test',
    },
  }
  const { rc, out } = await run([], facts)
  t.match(out, / {2}usb:0a12:0001: driver btusb, \/dev\/bus\/usb\/001\/004 not writable/)
  t.match(out, /--transport usb:0a12:0001 detaches btusb/)
  t.match(out, / {2}usb:2fe3:000b: driver none, \/dev\/bus\/usb\/001\/005 writable/)
  t.ok(out.includes(`ATTRS{idVendor}=="0a12", ATTRS{idProduct}=="0001", MODE="0660", TAG+="uaccess"`))
  t.match(out, /sudo udevadm control --reload && sudo udevadm trigger/)
  t.match(out, / {2}uart:\/dev\/ttyACM0 \(ZEPHYR, 2fe3:0100\)/)
  t.equal(rc, 0, 'a usable dongle: exit 0')
})

t.test('nothing at all, and no Bluetooth in the kernel: says so and what to plug in', async (t) => {
  const facts: DoctorFacts = {
    ...base,
    hci: { ok: false, reason: 'this kernel has no Bluetooth sockets (EAFNOSUPPORT)', hint: 'load the Bluetooth stack' },
  }
  const { rc, out } = await run([], facts)
  t.match(out, /none usable: this kernel has no Bluetooth sockets \(EAFNOSUPPORT\)\n {2}load the Bluetooth stack/)
  t.match(out, /No Bluetooth controller found/)
  t.match(out, /Plug in a USB Bluetooth dongle/)
  t.equal(rc, 1)
})

t.test('--help and bad options', async (t) => {
  const { rc, out } = await run(['--help'])
  t.equal(rc, 0)
  t.equal(out, doctorHelp + '\n')
  await t.rejects(doctorCommand(['--bogus'], { stdout: new PassThrough() }), UsageError)
})
