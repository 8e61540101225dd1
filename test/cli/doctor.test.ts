// src/cli/doctor.ts: on this machine (in-process, stdout captured), and rendered for machines
// described by hand (held adapter, missing capabilities, USB permissions, a usable dongle).
import t from 'tap'
import { PassThrough } from 'node:stream'
import { doctorCommand, doctorHelp, gatherDoctorFacts, renderDoctor, type DoctorFacts } from '../../src/cli/doctor.ts'
import { UsageError } from '../../src/cli/usage.ts'

async function run(argv: string[], facts?: DoctorFacts): Promise<{ rc: number; out: string }> {
  const stdout = new PassThrough()
  let out = ''
  stdout.on('data', (b: Buffer) => (out += b.toString('utf8')))
  const rc = await doctorCommand(argv, facts ? { stdout, facts } : { stdout })
  return { rc, out }
}

t.test('this machine', async (t) => {
  const facts = await gatherDoctorFacts()
  const { rc, out } = await run([])
  t.match(out, /^Permissions\n {2}uid /)
  t.match(out, /\nHCI adapters \(--transport hciN\)\n/)
  t.match(out, /\nUSB Bluetooth controllers \(--transport usb or usb:VID:PID\)\n/)
  t.match(out, /\nSerial ports \(--transport uart:PATH\[@BAUD\]\)\n/)
  if (process.platform === 'linux') t.match(out, /CAP_NET_ADMIN (yes|no), CAP_NET_RAW (yes|no)/)
  const none =
    (!facts.hci.ok || facts.hci.devices.length === 0) &&
    (!facts.usb.ok || facts.usb.devices.length === 0) &&
    (!facts.serial.ok || facts.serial.ports.length === 0)
  t.comment(out)
  if (none) {
    // This machine (CI included) has no adapter: doctor says so and what to plug in.
    t.match(out, /No Bluetooth controller found: no HCI adapter, no USB Bluetooth device, no serial port\./)
    t.match(out, /Plug in a USB Bluetooth dongle \(Bluetooth 4\.0 or later, with LE\)/)
    t.match(out, /--transport virtual/)
    t.equal(rc, 1, 'nothing usable: exit 1')
  } else {
    t.notMatch(out, /No Bluetooth controller found/)
    if (facts.hci.ok) for (const d of facts.hci.devices) t.match(out, new RegExp(`\\n  hci${d.index}\\b`))
  }
  if (process.platform === 'linux' && !facts.hci.ok) {
    // The reason comes from the addon (or says why the addon is missing), not a generic line.
    t.match(
      out,
      /HCI adapters \(--transport hciN\)\n {2}none usable: (this kernel has no Bluetooth sockets|no permission|the HCI socket addon)/,
    )
  }
  const json = await run(['--json'])
  const parsed = JSON.parse(json.out) as DoctorFacts & { problems: unknown[]; usable: number }
  t.equal(parsed.platform, process.platform)
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
