/**
 * Pairing on the command line (issue 11): `hcikit pair`, `hcikit bonds [remove]`, and `read`
 * pairing (or encrypting from the bond under HCIKIT_HOME) when the device asks for encryption.
 * The device is one of our adapters on a real-time virtual link, serving characteristics that
 * need an encrypted or authenticated link; the CLI reaches the same link through a virtual
 * controller served on TCP (127.0.0.1), as `hcikit link` would serve it.
 */
import t, { type Test } from 'tap'
import { PassThrough } from 'node:stream'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../src/cli/main.ts'
import { open, type Adapter, type PairingDelegate } from '../../src/index.ts'
import { VirtualLink } from '../../src/virtual/link.ts'
import { RealtimeScheduler } from '../../src/virtual/scheduler.ts'
import { VirtualController } from '../../src/virtual/controller.ts'
import { TcpServe } from '../../src/virtual/serve.ts'

const SECRET_HEX = Buffer.from('secret').toString('hex')

interface Bench {
  device: Adapter
  port: number
  home: string
  env: NodeJS.ProcessEnv
  /** Lines the device's user saw (passkeys shown). */
  shown: number[]
}

async function bench(t: Test, pairing: PairingDelegate = {}): Promise<Bench> {
  const link = new VirtualLink({ seed: 21, scheduler: new RealtimeScheduler({ seed: 21 }) })
  const shown: number[] = []
  const device = await open({
    transport: 'virtual',
    link,
    name: 'device',
    address: 'C0:DE:00:00:00:01',
    pairing: { ...pairing, displayPasskey: (r) => void shown.push(r.passkey) },
  })
  device.serve({
    services: [
      {
        uuid: 'fff0',
        characteristics: [
          { uuid: 'fff2', properties: ['read'], value: 'secret', permissions: { read: 'encrypted' } },
          { uuid: 'fff3', properties: ['read'], value: 'secret', permissions: { read: 'authenticated' } },
        ],
      },
    ],
  })
  await device.advertise({ name: 'locked', interval: 20 })
  const cli = new VirtualController(link, { name: 'cli', timing: 'fast', address: 'C0:DE:00:00:00:02' })
  const served = await TcpServe.listen({ host: '127.0.0.1', port: 0 }, cli)
  const home = await mkdtemp(join(tmpdir(), 'hcikit-home-'))
  t.teardown(async () => {
    await served.close()
    await device.close()
    link.remove(cli)
    await rm(home, { recursive: true, force: true })
  })
  return { device, port: served.spec.port, home, env: { HCIKIT_HOME: home }, shown }
}

async function cli(b: Bench, args: string[], stdin?: PassThrough): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough()
  const err = new PassThrough()
  let o = ''
  let e = ''
  out.on('data', (c: Buffer) => (o += c))
  err.on('data', (c: Buffer) => (e += c))
  const code = await main(['--transport', `tcp:127.0.0.1:${b.port}`, ...args], {
    stdout: out,
    stderr: err,
    env: b.env,
    ...(stdin ? { stdin } : {}),
  })
  return { code, out: o, err: e }
}

const DEVICE = 'C0:DE:00:00:00:01'

t.test('read pairs on demand, keeps the bond, and the next run encrypts from it', async (t) => {
  const b = await bench(t)
  const first = await cli(b, ['read', DEVICE, 'fff2', '--json'])
  t.equal(first.code, 0, first.err)
  t.equal(JSON.parse(first.out).value, SECRET_HEX)
  const file = join(b.home, 'bonds.json')
  t.equal((await stat(file)).mode & 0o777, 0o600, 'bonds.json is private')
  const stored = await readFile(file, 'utf8')
  const deviceBond = (await b.device.bonds())[0]!
  const second = await cli(b, ['read', DEVICE, 'fff2'])
  t.equal(second.code, 0, second.err)
  t.match(second.out, '"secret"')
  t.equal(await readFile(file, 'utf8'), stored, 'the bond file is untouched: no new pairing')
  t.equal((await b.device.bonds())[0]!.createdAt, deviceBond.createdAt, 'the device kept its bond too')
})

t.test('--no-pair: without a bond the read fails and says why', async (t) => {
  const b = await bench(t)
  const r = await cli(b, ['read', DEVICE, 'fff2', '--no-pair'])
  t.equal(r.code, 1)
  t.match(r.err, /pairing is not allowed/)
  t.match(r.err, /hint: /)
  await t.rejects(stat(join(b.home, 'bonds.json')), { code: 'ENOENT' }, 'nothing written')
})

t.test('pair --json, bonds, bonds --json, bonds remove', async (t) => {
  const b = await bench(t)
  const p = await cli(b, ['pair', DEVICE, '--json'])
  t.equal(p.code, 0, p.err)
  t.same(JSON.parse(p.out), {
    address: DEVICE,
    addressType: 'public',
    method: 'justWorks',
    secureConnections: true,
    keySize: 16,
    bonded: true,
    identityAddress: DEVICE,
  })
  const list = await cli(b, ['bonds'])
  t.equal(list.code, 0)
  t.match(list.out, new RegExp(`^${DEVICE}  public  LTK \\(SC, unauthenticated, 16 octets\\), IRK, CSRK  \\d{4}-`))
  const json = await cli(b, ['bonds', '--json'])
  const row = JSON.parse(json.out.trim()) as Record<string, unknown>
  t.same(Object.keys(row).sort(), ['address', 'addressType', 'createdAt', 'identity', 'keys'])
  t.equal(row['identity'], true)
  const rm1 = await cli(b, ['bonds', 'remove', DEVICE.toLowerCase()])
  t.equal(rm1.code, 0, rm1.err)
  t.match(rm1.out, `removed the bond with ${DEVICE}`)
  const rm2 = await cli(b, ['bonds', 'remove', DEVICE])
  t.equal(rm2.code, 1)
  t.match(rm2.err, 'no bond with')
  t.match((await cli(b, ['bonds'])).out, /^no bonds in /)
})

t.test('pair --legacy --no-bond: legacy Just Works, nothing kept', async (t) => {
  const b = await bench(t)
  const r = await cli(b, ['pair', DEVICE, '--legacy', '--no-bond'])
  t.equal(r.code, 0, r.err)
  t.match(r.out, /Just Works, LE legacy pairing, 16-octet key/)
  t.match(r.out, /not bonded/)
  t.equal((await cli(b, ['bonds', '--json'])).out, '')
})

t.test('passkey entry on the terminal: the device shows it, the user types it', async (t) => {
  const b = await bench(t, { io: 'displayOnly' })
  const stdin = new PassThrough()
  // The user reads the device's screen and types what it shows.
  const typing = setInterval(() => {
    const k = b.shown.shift()
    if (k !== undefined) stdin.write(`${k.toString().padStart(6, '0')}\n`)
  }, 5)
  t.teardown(() => clearInterval(typing))
  const r = await cli(b, ['pair', DEVICE, '--io', 'keyboard'], stdin)
  t.equal(r.code, 0, r.err)
  t.match(r.err, `Passkey shown by ${DEVICE}: `, 'asked on the terminal (stderr)')
  t.match(r.out, /Passkey Entry, LE Secure Connections, 16-octet key, authenticated/)
  const auth = await cli(b, ['read', DEVICE, 'fff3'])
  t.equal(auth.code, 0, auth.err)
  t.match(auth.out, '"secret"', 'the authenticated characteristic reads with the stored key')
})

t.test('usage errors', async (t) => {
  const b = await bench(t)
  t.equal((await cli(b, ['pair', DEVICE, '--io', 'telepathy'])).code, 2)
  t.equal((await cli(b, ['pair', DEVICE, '--legacy', '--sc-only'])).code, 2)
  t.equal((await cli(b, ['pair'])).code, 2)
  t.equal((await cli(b, ['bonds', 'remove'])).code, 2)
  t.equal((await cli(b, ['read', DEVICE, 'fff2', '--io', 'x'])).code, 2)
})
