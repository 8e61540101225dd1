// Acceptance 5: `npm install` of the packed package (npm pack) does not fail on a machine
// without a compiler toolchain. Network-free and independent of the machine's npm cache: an empty
// cache of its own, `--offline`, the package from its tarball and each of its runtime
// dependencies packed from this checkout's node_modules (so nothing is looked up in a registry).
//  1. A plain install (npm 11 blocks a dependency's install scripts by default): succeeds, and
//     the prebuilt binary shipped in the package loads from node_modules/hcikit/prebuilds.
//  2. With hcikit's install script allowed (allowScripts), the build forced
//     (HCIKIT_NATIVE_BUILD=force) and PATH holding only node and sh (no python3, make, g++):
//     the build fails, the install still succeeds, and the script says what to run.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { packageRoot } from '../../src/native/load.ts'

const npmCli = [
  process.env['npm_execpath'],
  join(dirname(realpathSync(process.execPath)), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'),
].find((p) => p !== undefined && /npm-cli\.js$/.test(p) && existsSync(p))

t.test(
  'npm install of the packed package without a toolchain',
  { skip: process.platform !== 'linux' ? 'the addon is Linux only' : false, timeout: 300_000 },
  async (t) => {
    t.ok(npmCli, 'npm-cli.js found')
    if (!npmCli) return
    const root = packageRoot()
    t.ok(existsSync(join(root, 'dist', 'src', 'native', 'load.js')), 'dist is built (npm test runs tsc first)')
    const work = mkdtempSync(join(tmpdir(), 'hcikit-install-'))
    t.teardown(() => rmSync(work, { recursive: true, force: true }))
    const bin = join(work, 'bin')
    mkdirSync(bin)
    symlinkSync(realpathSync(process.execPath), join(bin, 'node'))
    symlinkSync('/bin/sh', join(bin, 'sh'))
    for (const tool of ['python3', 'python', 'make', 'g++', 'gcc', 'cc', 'c++'])
      t.notOk(existsSync(join(bin, tool)), `no ${tool} on the PATH`)

    const env = {
      HOME: process.env['HOME'] ?? homedir(),
      PATH: bin,
      npm_config_cache: join(work, 'npm-cache'),
      npm_config_offline: 'true',
      npm_config_update_notifier: 'false',
    }
    const npm = (cwd: string, args: string[], extra: Record<string, string> = {}) =>
      spawnSync(process.execPath, [npmCli, ...args], {
        cwd,
        env: { ...env, ...extra },
        encoding: 'utf8',
        timeout: 240_000,
      })

    const pack = npm(root, ['pack', '--ignore-scripts', '--pack-destination', work, '--silent'])
    t.equal(pack.status, 0, `npm pack: ${pack.stderr}`)
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'))
    t.ok(tarball, 'a tarball')
    if (!tarball) return
    const deps = join(work, 'deps')
    mkdirSync(deps)
    const dirs = runtimeDependencies(root)
    t.ok(dirs.length > 0, `${dirs.length} runtime dependencies in node_modules`)
    const packDeps = npm(root, ['pack', '--ignore-scripts', '--pack-destination', deps, '--silent', ...dirs])
    t.equal(packDeps.status, 0, `npm pack of the dependencies: ${packDeps.stderr}`)
    const flags = [
      'install',
      '--offline',
      '--no-audit',
      '--no-fund',
      '--no-package-lock',
      '--foreground-scripts',
      join(work, tarball),
      ...readdirSync(deps).map((f) => join(deps, f)),
    ]

    await t.test('plain install: succeeds and the shipped prebuilt loads', async (t) => {
      const proj = join(work, 'plain')
      mkdirSync(proj)
      writeFileSync(join(proj, 'package.json'), '{"name":"consumer","version":"1.0.0","private":true}')
      const r = npm(proj, flags)
      t.equal(r.status, 0, `npm install: ${r.stderr}`)
      const load = spawnSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          "const m = await import('hcikit/dist/src/native/load.js'); const r = m.loadHciSocketAddon(); " +
            'console.log(JSON.stringify({ ok: r.ok, path: r.path, reason: r.reason }))',
        ],
        { cwd: proj, env, encoding: 'utf8' },
      )
      t.equal(load.status, 0, load.stderr)
      const got = JSON.parse(load.stdout.trim() || '{}') as { ok?: boolean; path?: string; reason?: string }
      if (process.arch === 'x64') {
        t.equal(got.ok, true, got.reason ?? '')
        t.ok(
          got.path?.startsWith(join(realpathSync(proj), 'node_modules', 'hcikit', 'prebuilds', 'linux-x64')),
          got.path ?? '',
        )
      } else {
        t.equal(got.ok, false, 'no prebuilt for this arch and no build: unavailable, explained')
        t.match(got.reason, /not built/)
      }
    })

    await t.test(
      'install script allowed, build forced, no toolchain: the build fails, the install does not',
      async (t) => {
        const proj = join(work, 'scripts')
        mkdirSync(proj)
        writeFileSync(
          join(proj, 'package.json'),
          '{"name":"consumer","version":"1.0.0","private":true,"allowScripts":{"hcikit":true}}',
        )
        const r = npm(proj, flags, { HCIKIT_NATIVE_BUILD: 'force' })
        const output = r.stdout + r.stderr
        t.equal(r.status, 0, `npm install: ${output}`)
        t.match(
          output,
          /hcikit: the HCI socket addon was not built: node-gyp rebuild failed/,
          'our install script ran and its build failed',
        )
        t.match(output, /sudo apt-get install -y build-essential python3/)
        t.ok(
          output.includes(
            `node ${join(realpathSync(proj), 'node_modules', 'hcikit', 'scripts', 'build-native.mjs')}`,
          ) || output.includes(`node ${join(proj, 'node_modules', 'hcikit', 'scripts', 'build-native.mjs')}`),
          'the exact command to build it later',
        )
        t.notOk(
          existsSync(join(proj, 'node_modules', 'hcikit', 'build', 'Release', 'hcikit_hci_socket.node')),
          'nothing was built',
        )
      },
    )
  },
)

/**
 * The folders of every package `root` needs at run time (dependencies and optional dependencies,
 * transitively), as Node would resolve them from each dependent; those not installed here (other
 * platforms' optional packages) are left out.
 */
function runtimeDependencies(root: string): string[] {
  const found = new Set<string>()
  const visit = (dir: string): void => {
    const pj = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, Record<string, string>>
    for (const name of Object.keys({ ...pj['dependencies'], ...pj['optionalDependencies'] })) {
      const at = resolveFrom(dir, name)
      if (at === undefined || found.has(at)) continue
      found.add(at)
      visit(at)
    }
  }
  visit(root)
  return [...found].sort()
}

function resolveFrom(dir: string, name: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    const candidate = join(d, 'node_modules', name)
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate)
    if (dirname(d) === d) return undefined
  }
}
