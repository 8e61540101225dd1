// src/native/load.ts and the addon itself (src/native/hci_socket.c) on this machine.
import t from 'tap'
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TransportError } from '../../hci/errors.ts'
import {
  buildCommand,
  loadHciSocketAddon,
  packageRoot,
  requireHciSocketAddon,
  type HciSocketHandle,
} from '../../src/native/load.ts'

const linux = process.platform === 'linux'

t.test('the package root is the directory with hcikit package.json', async (t) => {
  t.equal(JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).name, 'hcikit')
  t.equal(buildCommand(packageRoot(), packageRoot()), 'npm run build:native')
  t.equal(buildCommand('/x/node_modules/hcikit', '/'), 'node /x/node_modules/hcikit/scripts/build-native.mjs')
})

t.test('off Linux the transport is unavailable and says what to use instead', async (t) => {
  const r = loadHciSocketAddon({ platform: 'darwin' })
  t.equal(r.ok, false)
  if (!r.ok) {
    t.match(r.reason, /only on Linux, not on darwin/)
    t.match(r.hint, /--transport usb/)
  }
  t.throws(() => requireHciSocketAddon('hci0', { platform: 'win32' }), {
    name: 'TransportError',
    message: /^hci0: unavailable: .*only on Linux/,
  })
})

t.test(
  'where nothing is built, the reason names the files looked for and the hint the exact command',
  { skip: !linux },
  async (t) => {
    const root = mkdtempSync(join(tmpdir(), 'hcikit-load-'))
    t.teardown(() => rmSync(root, { recursive: true, force: true }))
    writeFileSync(join(root, 'package.json'), '{"name":"hcikit"}')
    const r = loadHciSocketAddon({ root, arch: 'x64' })
    t.equal(r.ok, false)
    if (!r.ok) {
      t.match(
        r.reason,
        /not built for linux-x64 \(no prebuilds\/linux-x64\/hcikit_hci_socket\.node or build\/Release\/hcikit_hci_socket\.node/,
      )
      t.ok(r.hint.includes(`node ${join(root, 'scripts', 'build-native.mjs')}`), r.hint)
      t.match(r.hint, /build-essential/)
    }
    // A broken binary is a different story: it exists but does not load.
    mkdirSync(join(root, 'prebuilds', 'linux-x64'), { recursive: true })
    writeFileSync(join(root, 'prebuilds', 'linux-x64', 'hcikit_hci_socket.node'), 'not an ELF file')
    const broken = loadHciSocketAddon({ root, arch: 'x64' })
    t.equal(broken.ok, false)
    if (!broken.ok) t.match(broken.reason, /does not load/)
    t.throws(() => requireHciSocketAddon('hci1', { root, arch: 'x64' }), TransportError)
  },
)

t.test(
  'the shipped prebuilt binary loads first on linux-x64',
  { skip: !(linux && process.arch === 'x64') },
  async (t) => {
    const r = loadHciSocketAddon()
    t.equal(r.ok, true, r.ok ? '' : `${r.reason}; ${r.hint}`)
    if (r.ok) {
      t.match(r.path, /prebuilds[/\\]linux-x64[/\\]hcikit_hci_socket\.node$/)
      for (const f of ['close', 'listDevices', 'open', 'start', 'write'] as const) t.type(r.addon[f], 'function', f)
      t.equal(loadHciSocketAddon(), r, 'cached')
    }
  },
)

t.test("the addon: errno errors like Node's own, argument checks", { skip: !linux }, async (t) => {
  const r = loadHciSocketAddon()
  if (!r.ok) return t.fail(`${r.reason}; ${r.hint}`)
  const addon = r.addon
  // No adapter here: socket() (no Bluetooth in this kernel / namespace) or bind() (no hci0) fails.
  let opened: HciSocketHandle | undefined
  const err = (() => {
    try {
      opened = addon.open(0)
      return undefined
    } catch (e) {
      return e as NodeJS.ErrnoException
    }
  })()
  if (opened !== undefined) {
    addon.close(opened) // a machine with a free hci0: nothing to check about errors here
    addon.close(opened)
    return t.pass('hci0 opened and closed (twice, idempotent)')
  }
  t.ok(err, 'open(0) threw')
  t.match(err!.code, /^E[A-Z]+$/)
  t.ok(['socket', 'bind'].includes(err!.syscall!), `syscall ${err!.syscall}`)
  t.ok(typeof err!.errno === 'number' && err!.errno < 0)
  t.ok(err!.message.startsWith(`${err!.syscall} ${err!.code}: `), err!.message)

  let list: unknown
  try {
    list = addon.listDevices()
  } catch (e) {
    list = e
  }
  if (Array.isArray(list)) {
    for (const d of list) t.match(d, { index: Number })
  } else {
    t.match(list, { code: /^E[A-Z]+$/, syscall: /socket|ioctl/ })
  }

  t.throws(() => addon.open(-1), TypeError)
  t.throws(() => addon.open(0x10000), TypeError)
  t.throws(() => addon.write({} as HciSocketHandle, new Uint8Array(1)), TypeError)
  t.throws(() => addon.close('x' as unknown as HciSocketHandle), TypeError)
})
