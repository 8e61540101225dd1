/**
 * The virtual controller's own cryptography against published sample data: LE Encrypt (Core v5.4
 * Vol 4 Part E 7.8.22) with FIPS-197 Appendix C.1's AES-128 example, LE Rand (7.8.23) from the
 * link's seed, and ah (Vol 3 Part H 2.2.2) with the Core spec's sample data (Vol 3 Part H
 * Appendix D.7), also through RPA generation and resolution (Vol 6 Part B 1.3.2.2 / 1.3.2.3).
 */
import t from 'tap'
import { createCipheriv } from 'node:crypto'
import { world, rawOn, settle } from '../helpers/virtual.ts'
import { fromHex, toHex } from '../../hci/wire.ts'
import { ah } from '../../src/virtual/crypto.ts'
import { isRpa, makeRpa, resolves } from '../../src/virtual/rpa.ts'
import { seededRandom } from '../../src/virtual/scheduler.ts'

/** HCI parameters are least significant octet first; the specs print them most significant first. */
const le = (msbHex: string): Uint8Array => fromHex(msbHex).reverse()

t.test('LE Encrypt: FIPS-197 C.1 (key 000102..0f, plaintext 00112233..ff -> 69c4e0d8..c55a)', async (t) => {
  const w = world()
  const { raw } = rawOn(w)
  const key = toHex(le('000102030405060708090a0b0c0d0e0f'))
  const plaintext = toHex(le('00112233445566778899aabbccddeeff'))
  raw.command(`172020 ${key} ${plaintext}`)
  await settle()
  t.same(raw.takeEvents(), [`0e1401172000${toHex(le('69c4e0d86a7b0430d8cdb78070b4c55a'))}`])
})

t.test('LE Rand: 8 octets from the link seed: the same seed, the same numbers; another, others', async (t) => {
  const draw = async (seed: number): Promise<string[]> => {
    const w = world(seed)
    const { raw } = rawOn(w)
    raw.command('182000')
    raw.command('182000')
    await settle()
    return raw.takeEvents()
  }
  const a = await draw(5)
  t.equal(a.length, 2)
  for (const e of a) t.match(e, /^0e0c01182000[0-9a-f]{16}$/)
  t.not(a[0], a[1], 'two draws differ')
  t.same(await draw(5), a, 'deterministic')
  t.not((await draw(6))[0], a[0], 'seeded')
})

t.test('ah: Vol 3 Part H D.7 (IRK ec0234a3..7d9b, prand 708194 -> 0dfbaa)', async (t) => {
  t.equal(ah(le('ec0234a357c8ad05341010a60a397d9b'), 0x708194), 0x0dfbaa)
})

t.test('RPAs: the D.7 address resolves with its IRK only; generated ones have prand 0b01 and resolve', async (t) => {
  const irk = le('ec0234a357c8ad05341010a60a397d9b')
  const other = le('000102030405060708090a0b0c0d0e0f')
  t.ok(isRpa('70:81:94:0D:FB:AA', 1), 'prand 0x708194 has 0b01 on top')
  t.notOk(isRpa('70:81:94:0D:FB:AA', 0), 'a public address is never an RPA')
  t.notOk(isRpa('C0:81:94:0D:FB:AA', 1), 'static random (0b11)')
  t.ok(resolves(irk, '70:81:94:0D:FB:AA'))
  t.notOk(resolves(other, '70:81:94:0D:FB:AA'))
  t.notOk(resolves(irk, '70:81:94:0D:FB:AB'), 'a hash off by one')
  t.notOk(resolves(new Uint8Array(16), '70:81:94:0D:FB:AA'), 'an all-zero IRK resolves nothing')
  // Generated RPAs, checked with AES-128 straight from the spec's definition (MSB-first numbers).
  const rand = seededRandom(3)
  for (let i = 0; i < 20; i++) {
    const rpa = makeRpa(irk, rand)
    const b = fromHex(rpa.replace(/:/g, ''))
    t.equal(b[0]! >> 6, 0b01, `${rpa}: prand's top bits 0b01`)
    const prand = (b[0]! << 16) | (b[1]! << 8) | b[2]!
    t.not(prand & 0x3f_ffff, 0)
    t.not(prand & 0x3f_ffff, 0x3f_ffff)
    const cipher = createCipheriv('aes-128-ecb', fromHex('ec0234a357c8ad05341010a60a397d9b'), null)
    cipher.setAutoPadding(false)
    const r = Buffer.alloc(16)
    r.writeUIntBE(prand, 13, 3)
    const e = Buffer.concat([cipher.update(r), cipher.final()])
    t.equal(toHex(b.subarray(3)), toHex(e.subarray(13)), `${rpa}: hash = e(IRK, 0^104 || prand) mod 2^24`)
  }
})
