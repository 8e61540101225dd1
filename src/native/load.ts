/**
 * Loads the one native addon (src/native/hci_socket.c: the Linux HCI user-channel socket that
 * carries Core v5.4 Vol 4 Part E 5.4 packets with their Vol 4 Part A 2 type byte) from one
 * place, through `bindings`.
 *
 * Where it is looked for, in order: the prebuilt binary shipped in the package
 * (prebuilds/<platform>-<arch>/hcikit_hci_socket.node, made by `npm run build:native`), then
 * node-gyp's own output (build/Release, build/Debug). N-API keeps one binary good for every
 * Node version from 20 on. Off Linux, or where nothing loads, the result says that the
 * transport is unavailable and exactly what to run.
 */
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { TransportError } from '../../hci/errors.ts'

/** An open HCI socket, as the addon hands it out (opaque). */
export type HciSocketHandle = { readonly __brand: 'HciSocketHandle' }

/** One adapter the kernel knows (HCIGETDEVINFO). `error` when it could not be described. */
export interface HciDeviceInfo {
  index: number
  name?: string
  address?: string
  flags?: number
  /** HCI_UP: the adapter is powered and held by the OS (bluetoothd / the kernel's mgmt). */
  up?: boolean
  error?: string
}

/** The addon's exports (hci_socket.c). Errors thrown carry `code` (EPERM, ...), `errno`, `syscall`. */
export interface HciSocketAddon {
  open(index: number): HciSocketHandle
  start(
    handle: HciSocketHandle,
    onPacket: (packet: Buffer) => void,
    onError: (code: string, errno: number) => void,
  ): void
  write(handle: HciSocketHandle, bytes: Uint8Array): number
  close(handle: HciSocketHandle): void
  listDevices(): HciDeviceInfo[]
}

export type AddonLoad = { ok: true; addon: HciSocketAddon; path: string } | { ok: false; reason: string; hint: string }

export const ADDON_NAME = 'hcikit_hci_socket'

/** The package root: the nearest directory above this file with hcikit's package.json. */
export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from
  for (;;) {
    const pj = join(dir, 'package.json')
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'hcikit') return dir
      } catch {
        // not ours; keep looking
      }
    }
    const up = dirname(dir)
    if (up === dir) return join(dirname(fileURLToPath(import.meta.url)), '..', '..')
    dir = up
  }
}

/** What to run to build the addon, for someone standing in `cwd`. */
export function buildCommand(root: string = packageRoot(), cwd: string = process.cwd()): string {
  return root === cwd ? 'npm run build:native' : `node ${join(root, 'scripts', 'build-native.mjs')}`
}

export interface LoadOptions {
  platform?: NodeJS.Platform
  arch?: string
  /** Where prebuilds/ and build/ are (default: the package root). */
  root?: string
}

let cached: AddonLoad | undefined

/** Load the addon (cached for the default options). Never throws: see `requireHciSocketAddon`. */
export function loadHciSocketAddon(opts: LoadOptions = {}): AddonLoad {
  const useCache = opts.platform === undefined && opts.arch === undefined && opts.root === undefined
  if (useCache && cached) return cached
  const r = load(opts)
  if (useCache) cached = r
  return r
}

function load(opts: LoadOptions): AddonLoad {
  const platform = opts.platform ?? process.platform
  const arch = opts.arch ?? process.arch
  if (platform !== 'linux') {
    return {
      ok: false,
      reason: `the HCI socket transport (hciN) exists only on Linux, not on ${platform}`,
      hint: 'use a USB dongle directly (--transport usb), a UART controller (uart:PATH) or a controller served over TCP (tcp:HOST:PORT)',
    }
  }
  const root = opts.root ?? packageRoot()
  const require = createRequire(import.meta.url)
  const build = `${buildCommand(root)} (needs a C toolchain: \`sudo apt-get install -y build-essential python3\`)`
  let bindings: (o: object) => unknown
  try {
    bindings = require('bindings') as (o: object) => unknown
  } catch (e) {
    return {
      ok: false,
      reason: `the bindings package does not load: ${(e as Error).message}`,
      hint: `reinstall hcikit's dependencies (\`npm install\`), then ${build} if needed`,
    }
  }
  try {
    const addon = bindings({
      bindings: ADDON_NAME,
      module_root: root,
      prebuilt: `${platform}-${arch}`,
      try: [
        ['module_root', 'prebuilds', 'prebuilt', 'bindings'],
        ['module_root', 'build', 'Release', 'bindings'],
        ['module_root', 'build', 'Debug', 'bindings'],
      ],
    }) as HciSocketAddon & { path?: string }
    return { ok: true, addon, path: addon.path ?? '' }
  } catch (e) {
    const m = (e as Error).message.split('\n')[0] ?? ''
    const missing = /Could not locate the bindings file/i.test(m)
    return {
      ok: false,
      reason: missing
        ? `the HCI socket addon is not built for linux-${arch} (no ` +
          `prebuilds/linux-${arch}/${ADDON_NAME}.node or build/Release/${ADDON_NAME}.node in ${root})`
        : `the HCI socket addon does not load: ${m}`,
      hint: `build it: ${build}; or use --transport usb, uart:PATH or tcp:HOST:PORT meanwhile`,
    }
  }
}

/** The addon, or a TransportError saying that the hciN transport is unavailable and what to run. */
export function requireHciSocketAddon(name: string, opts: LoadOptions = {}): HciSocketAddon {
  const r = loadHciSocketAddon(opts)
  if (r.ok) return r.addon
  throw new TransportError(`${name}: unavailable: ${r.reason}`, { hint: r.hint })
}
