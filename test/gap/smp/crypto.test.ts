/**
 * The security functions against the specification's own numbers: Core v5.4 Vol 3 Part H
 * Appendix D (f4, f5, f6, g2, h6, h7, ah and the link key conversions), the worked examples of
 * 2.2.3 (c1) and 2.2.4 (s1), Vol 6 Part C 1 (the encryption sample data) and FIPS-197 C.1 for e,
 * RFC 4493 for AES-CMAC, and the P-256 data of Appendix D.1 (the debug key pair and the second
 * key pair with their DHKey). The spec writes numbers most significant octet first; `le()` turns
 * them into the wire order the functions take.
 */
import t from 'tap'
import fc from 'fast-check'
import { ah, c1, comparisonValue, e, f4, f5, f6, g2, h6, h7, maskKey, reversed, s1 } from '../../../gap/smp/crypto.ts'
import {
  DEBUG_KEY,
  generateKeyPair,
  isDebugPublicKey,
  isOnCurve,
  keyPairFromPrivate,
  type P256PublicKey,
} from '../../../gap/smp/p256.ts'
import { SmpError } from '../../../gap/smp/errors.ts'
import { aesCmac } from '../../../att/cmac.ts'
import { fromHex, toHex } from '../../../hci/wire.ts'

/** A number as the spec writes it (most significant octet first) -> wire order. */
const le = (spec: string): Uint8Array => reversed(fromHex(spec))
/** Wire order -> the spec's way of writing it. */
const spec = (wire: Uint8Array): string => toHex(reversed(wire))

// Appendix D.1 (P-256 sample data).
const PRIV_A = '3f49f6d4 a3c55f38 74c9b3e3 d2103f50 4aff607b eb40b799 5899b8a6 cd3c1abd'
const PKAX = '20b003d2 f297be2c 5e2c83a7 e9f9a5b9 eff49111 acf4fddb cc030148 0e359de6'
const PKAY = 'dc809c49 652aeb6d 63329abf 5a52155c 766345c2 8fed3024 741c8ed0 1589d28b'
const PRIV_B = '55188b3d 32f6bb9a 900afcfb eed4e72a 59cb9ac2 f19d7cfb 6b4fdd49 f47fc5fd'
const PKBX = '1ea1f0f0 1faf1d96 09592284 f19e4c00 47b58afd 8615a69f 559077b2 2faaa190'
const PKBY = '4c55f33e 429dad37 7356703a 9ab85160 472d1130 e28e3676 5f89aff9 15b1214a'
const DHKEY = 'ec0234a3 57c8ad05 341010a6 0a397d9b 99796b13 b4f866f1 868d34f3 73bfa698'

const PKA: P256PublicKey = { x: le(PKAX), y: le(PKAY) }
const PKB: P256PublicKey = { x: le(PKBX), y: le(PKBY) }

t.test('AES-CMAC: RFC 4493 section 4', async (t) => {
  const k = fromHex('2b7e1516 28aed2a6 abf71588 09cf4f3c')
  const m = fromHex(
    '6bc1bee2 2e409f96 e93d7e11 7393172a ae2d8a57 1e03ac9c 9eb76fac 45af8e51 30c81c46 a35ce411 e5fbc119 1a0a52ef f69f2445 df4f9b17 ad2b417b e66c3710',
  )
  t.equal(toHex(aesCmac(k, m.subarray(0, 0))), 'bb1d6929e95937287fa37d129b756746')
  t.equal(toHex(aesCmac(k, m.subarray(0, 16))), '070a16b46b4d4144f79bdd9dd04a287c')
  t.equal(toHex(aesCmac(k, m.subarray(0, 40))), 'dfa66747de9ae63030ca32611497c827')
  t.equal(toHex(aesCmac(k, m)), '51f0bebf7e3b9d92fc49741779363cfe')
})

t.test('e: FIPS-197 C.1 and the encryption sample data of Vol 6 Part C 1', async (t) => {
  const fips = e(le('000102030405060708090a0b0c0d0e0f'), le('00112233445566778899aabbccddeeff'))
  t.equal(spec(fips), '69c4e0d86a7b0430d8cdb78070b4c55a')
  const bt = e(le('4C68384139F574D836BCF34E9DFB01BF'), le('0213243546576879acbdcedfe0f10213'))
  t.equal(spec(bt), '99ad1b5226a37e3e058e3b8e27c2c666')
})

t.test('c1: the example of 2.2.3', async (t) => {
  // preq 0x07071000000101 is the Pairing Request 01 01 00 00 10 07 07 as sent; pres likewise.
  const preq = le('07071000000101')
  t.equal(toHex(preq), '01010000100707', 'preq is the PDU in wire order')
  const confirm = c1(
    new Uint8Array(16),
    le('5783D52156AD6F0E6388274EC6702EE0'),
    preq,
    le('05000800000302'),
    1,
    le('A1A2A3A4A5A6'),
    0,
    le('B1B2B3B4B5B6'),
  )
  t.equal(spec(confirm), '1e1e3fef878988ead2a74dc5bef13b86')
})

t.test('s1: the example of 2.2.4', async (t) => {
  const stk = s1(new Uint8Array(16), le('000F0E0D0C0B0A091122334455667788'), le('010203040506070899AABBCCDDEEFF00'))
  t.equal(spec(stk), '9a1fe1f0e8b0f49b5b4216ae796da062')
})

t.test('f4 (D.2)', async (t) => {
  const v = f4(le(PKAX), le(PRIV_B), le('d5cb8454 d177733e ffffb2ec 712baeab'), 0)
  t.equal(spec(v), 'f2c916f107a9bd1cf1eda1bea974872d')
})

t.test('f5 (D.3)', async (t) => {
  const { macKey, ltk } = f5(
    le(DHKEY),
    le('d5cb8454 d177733e ffffb2ec 712baeab'),
    le('a6e8e7cc 25a75f6e 216583f7 ff3dc4cf'),
    le('00561237 37bfce'),
    le('00a71370 2dcfc1'),
  )
  t.equal(spec(macKey), '2965f176a1084a02fd3f6a20ce636e20')
  t.equal(spec(ltk), '6986791169d7cd23980522b594750a38')
})

t.test('f6 (D.4)', async (t) => {
  const v = f6(
    le('2965f176 a1084a02 fd3f6a20 ce636e20'),
    le('d5cb8454 d177733e ffffb2ec 712baeab'),
    le('a6e8e7cc 25a75f6e 216583f7 ff3dc4cf'),
    le('12a3343b b453bb54 08da42d2 0c2d0fc8'),
    le('010102'),
    le('00561237 37bfce'),
    le('00a71370 2dcfc1'),
  )
  t.equal(spec(v), 'e3c473989cd0e8c5d26c0b09da958f61')
})

t.test('g2 (D.5) and the six digits shown', async (t) => {
  const v = g2(
    le(PKAX),
    le(PRIV_B),
    le('d5cb8454 d177733e ffffb2ec 712baeab'),
    le('a6e8e7cc 25a75f6e 216583f7 ff3dc4cf'),
  )
  t.equal(v, 0x2f9ed5ba)
  // 0x2f9ed5ba is 798938554: the user sees its last six digits.
  t.equal(comparisonValue(v), 938554)
})

t.test('h6 (D.6) and h7 (D.8)', async (t) => {
  t.equal(spec(h6(le('ec0234a3 57c8ad05 341010a6 0a397d9b'), 'lebr')), '2d9ae102e76dc91ce8d3a9e280b16399')
  t.equal(
    spec(h7(le('00000000 00000000 00000000 746D7031'), le('ec0234a3 57c8ad05 341010a6 0a397d9b'))),
    'fb173597c6a3c0ecd2998c2a75a57011',
  )
  t.throws(() => h6(new Uint8Array(16), 'toolong'), RangeError)
})

t.test('link key conversions (D.9 to D.12) chain h6 and h7', async (t) => {
  const ltk = le('368df9bc e3264b58 bd066c33 334fbf64')
  t.equal(spec(h6(h6(ltk, 'tmp1'), 'lebr')), 'bc1ca4ef633fc1bd0d8230afee388fb0', 'LTK -> link key, no CT2')
  t.equal(spec(h6(h7(le('746D7031'.padStart(32, '0')), ltk), 'lebr')), '287ad379dca402530a39f1f43047b835', 'with CT2')
  const lk = le('05040302 01000908 07060504 03020100')
  t.equal(spec(h6(h6(lk, 'tmp2'), 'brle')), 'a813fb72f1a3dfa18a2c9a43f10d0a30', 'link key -> LTK, no CT2')
  t.equal(spec(h6(h7(le('746D7032'.padStart(32, '0')), lk), 'brle')), 'e85e09eb5eccb3e269418a133211bc79', 'with CT2')
})

t.test('ah (D.7)', async (t) => {
  t.equal(spec(ah(le('ec0234a3 57c8ad05 341010a6 0a397d9b'), le('708194'))), '0dfbaa')
})

t.test('P-256: the sample key pairs and their DHKey (D.1)', async (t) => {
  const a = keyPairFromPrivate(fromHex(PRIV_A))
  const b = keyPairFromPrivate(fromHex(PRIV_B))
  t.equal(spec(a.publicKey.x), PKAX.replace(/ /g, ''))
  t.equal(spec(a.publicKey.y), PKAY.replace(/ /g, ''))
  t.equal(spec(b.publicKey.x), PKBX.replace(/ /g, ''))
  t.equal(spec(b.publicKey.y), PKBY.replace(/ /g, ''))
  t.equal(spec(a.dhKey(PKB)), DHKEY.replace(/ /g, ''))
  t.equal(spec(b.dhKey(PKA)), DHKEY.replace(/ /g, ''))
  t.ok(isOnCurve(PKA) && isOnCurve(PKB))
})

t.test('the debug key pair is the first sample key pair and is recognised', async (t) => {
  t.ok(isDebugPublicKey(PKA))
  t.notOk(isDebugPublicKey(PKB))
  t.ok(isDebugPublicKey(DEBUG_KEY.publicKey))
  t.notOk(isDebugPublicKey(generateKeyPair().publicKey))
})

t.test('CVE-2018-5383: a public key off the curve is refused before use', async (t) => {
  const ours = generateKeyPair()
  // The attack keeps a valid X and replaces Y with 0: a point of low order on another curve.
  const attack: P256PublicKey = { x: PKB.x, y: new Uint8Array(32) }
  t.notOk(isOnCurve(attack))
  const err = t.throws(() => ours.dhKey(attack)) as unknown as SmpError
  t.ok(err instanceof SmpError)
  t.equal(err.code, 'SMP_INVALID_KEY')
  // Any one flipped bit of a valid key takes it off the curve (or gives another point: checked on curve).
  const flipped = { x: PKB.x, y: PKB.y.slice() }
  flipped.y[0]! ^= 1
  t.notOk(isOnCurve(flipped))
  t.throws(() => ours.dhKey(flipped), SmpError)
  // Coordinates not below p are refused even when they reduce to a valid point.
  const p = le('ffffffff 00000001 00000000 00000000 00000000 ffffffff ffffffff ffffffff')
  t.notOk(isOnCurve({ x: p, y: PKB.y }))
  t.notOk(isOnCurve({ x: new Uint8Array(31), y: PKB.y }), 'short coordinate')
  t.notOk(isOnCurve({ x: new Uint8Array(32), y: new Uint8Array(32) }), '(0, 0)')
})

t.test('fresh key pairs agree on the DHKey (property)', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), () => {
        const a = generateKeyPair()
        const b = generateKeyPair()
        return isOnCurve(a.publicKey) && toHex(a.dhKey(b.publicKey)) === toHex(b.dhKey(a.publicKey))
      }),
      { numRuns: 20 },
    ),
  )
})

t.test('maskKey keeps the least significant octets', async (t) => {
  const key = le('ffeeddccbbaa99887766554433221100')
  t.equal(spec(maskKey(key, 7)), '00000000000000000066554433221100')
  t.equal(spec(maskKey(key, 16)), 'ffeeddccbbaa99887766554433221100')
  t.throws(() => maskKey(key, 6), RangeError)
  t.throws(() => maskKey(key, 17), RangeError)
})

t.test('wrong sizes are RangeErrors that name the argument', async (t) => {
  t.throws(() => f4(new Uint8Array(31), new Uint8Array(32), new Uint8Array(16), 0), /f4 U: expected 32 octets/)
  t.throws(
    () =>
      c1(
        new Uint8Array(16),
        new Uint8Array(16),
        new Uint8Array(6),
        new Uint8Array(7),
        0,
        new Uint8Array(6),
        0,
        new Uint8Array(6),
      ),
    /c1 preq/,
  )
  t.throws(() => ah(new Uint8Array(16), new Uint8Array(4)), /ah r/)
})
