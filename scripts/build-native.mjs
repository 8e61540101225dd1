#!/usr/bin/env node
// Builds the HCI socket addon (binding.gyp -> src/native/hci_socket.c) with node-gyp.
//
//   node scripts/build-native.mjs            `npm run build:native`: build, then copy the result
//                                            to prebuilds/<platform>-<arch>/ (shipped in the
//                                            package); fails loudly.
//   node scripts/build-native.mjs --install  the package's `install` script: nothing to do off
//                                            Linux or when the shipped prebuilt loads; otherwise
//                                            try a node-gyp build, and never fail the install.
//
// HCIKIT_NATIVE_BUILD=skip skips the build; HCIKIT_NATIVE_BUILD=force builds even when the
// prebuilt loads (used by the test that simulates a machine without a compiler).
// node-gyp is found where npm puts it for scripts (npm_config_node_gyp), in node_modules, or
// inside npm; the Node headers come from the local install (--nodedir) when present, so no
// download is needed.
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(join(root, 'package.json'))
const NAME = 'hcikit_hci_socket.node'
const install = process.argv.includes('--install')
const mode = process.env['HCIKIT_NATIVE_BUILD'] ?? ''
const prebuilt = join(root, 'prebuilds', `${process.platform}-${process.arch}`, NAME)
const say = (m) => process.stderr.write(`hcikit: ${m}\n`)

function findNodeGyp() {
  const candidates = [process.env['npm_config_node_gyp']]
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'))
  } catch {}
  if (process.env['npm_execpath'])
    candidates.push(join(dirname(process.env['npm_execpath']), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'))
  candidates.push(
    join(
      dirname(process.execPath),
      '..',
      'lib',
      'node_modules',
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js',
    ),
  )
  return candidates.find((p) => p && existsSync(p))
}

function nodeDir() {
  const dir = join(dirname(process.execPath), '..')
  return existsSync(join(dir, 'include', 'node', 'node_api.h')) &&
    existsSync(join(dir, 'include', 'node', 'common.gypi'))
    ? dir
    : undefined
}

function build() {
  const gyp = findNodeGyp()
  if (!gyp) return { ok: false, why: 'node-gyp was not found (it comes with npm)' }
  const dir = nodeDir()
  const args = [gyp, 'rebuild', ...(dir ? [`--nodedir=${dir}`] : [])]
  const r = spawnSync(process.execPath, args, {
    cwd: root,
    stdio: install ? ['ignore', 'ignore', 'pipe'] : 'inherit',
    encoding: 'utf8',
  })
  if (r.status !== 0)
    return { ok: false, why: `node-gyp rebuild failed${r.error ? `: ${r.error.message}` : ''}`, stderr: r.stderr }
  return { ok: true }
}

// The first reason node-gyp gives, in a few words.
function cause(stderr) {
  if (/find Python/.test(stderr)) return ' (no Python 3 found)'
  if (/(make|g\+\+|cc|gcc|c\+\+)[^\n]*(not found|ENOENT)|ENOENT[^\n]*(make|g\+\+|cc)/.test(stderr))
    return ' (no C compiler or make found)'
  const line = stderr.split('\n').find((l) => /gyp ERR! stack \w*Error/.test(l))
  return line ? ` (${line.replace(/^gyp ERR! stack /, '').trim()})` : ''
}

function loads(path) {
  try {
    require(path)
    return true
  } catch {
    return false
  }
}

if (install) {
  if (mode === 'skip') process.exit(0)
  if (process.platform !== 'linux') process.exit(0) // the HCI socket transport is Linux only
  if (mode !== 'force' && existsSync(prebuilt) && loads(prebuilt)) process.exit(0)
  const r = build()
  if (!r.ok) {
    say(`the HCI socket addon was not built: ${r.why}${cause(r.stderr ?? '')}.`)
    say(
      `hcikit still works over usb, uart and tcp. For hciN, install a C toolchain (Debian/Ubuntu: \`sudo ` +
        `apt-get install -y build-essential python3\`), then run \`node ` +
        `${join(root, 'scripts', 'build-native.mjs')}\`.`,
    )
  }
  process.exit(0)
}

if (mode === 'skip') process.exit(0)
const r = build()
if (!r.ok) {
  say(r.why)
  process.exit(1)
}
const built = join(root, 'build', 'Release', NAME)
if (!existsSync(built)) {
  say(`node-gyp finished but ${built} is missing (is this Linux?)`)
  process.exit(1)
}
mkdirSync(dirname(prebuilt), { recursive: true })
copyFileSync(built, prebuilt)
say(`built ${built} and copied it to ${prebuilt}`)
