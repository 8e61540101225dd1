import t from 'tap'
import fc from 'fast-check'
import { createCipheriv } from 'node:crypto'
import { aes128, aesCmac, cmacSubkeys } from '../../att/cmac.ts'
import { fromHex, toHex } from '../../hci/wire.ts'

// RFC 4493 section 4, "Test Vectors", written out from the RFC.
const K = fromHex('2b7e151628aed2a6abf7158809cf4f3c')
const M64 = fromHex(
  '6bc1bee22e409f96e93d7e117393172a' +
    'ae2d8a571e03ac9c9eb76fac45af8e51' +
    '30c81c46a35ce411e5fbc1191a0a52ef' +
    'f69f2445df4f9b17ad2b417be66c3710',
)

t.test('subkey generation (RFC 4493 4, Subkey Generation)', async (t) => {
  t.equal(toHex(aes128(K, new Uint8Array(16))), '7df76b0c1ab899b33e42f047b91b546f', 'AES-128(key, 0)')
  const [k1, k2] = cmacSubkeys(K)
  t.equal(toHex(k1), 'fbeed618357133667c85e08f7236a8de')
  t.equal(toHex(k2), 'f7ddac306ae266ccf90bc11ee46d513b')
})

t.test('the four RFC 4493 examples', async (t) => {
  t.equal(toHex(aesCmac(K, new Uint8Array(0))), 'bb1d6929e95937287fa37d129b756746', 'Example 1: len = 0')
  t.equal(toHex(aesCmac(K, M64.subarray(0, 16))), '070a16b46b4d4144f79bdd9dd04a287c', 'Example 2: len = 16')
  t.equal(toHex(aesCmac(K, M64.subarray(0, 40))), 'dfa66747de9ae63030ca32611497c827', 'Example 3: len = 40')
  t.equal(toHex(aesCmac(K, M64)), '51f0bebf7e3b9d92fc49741779363cfe', 'Example 4: len = 64')
})

t.test('bad keys and blocks are RangeErrors', async (t) => {
  t.throws(() => aesCmac(new Uint8Array(15), new Uint8Array(0)), RangeError)
  t.throws(() => aes128(K, new Uint8Array(17)), RangeError)
})

t.test('the message is not modified and views work', async (t) => {
  const buf = new Uint8Array(80)
  buf.set(M64, 8)
  const before = toHex(buf)
  t.equal(toHex(aesCmac(K, buf.subarray(8, 72))), '51f0bebf7e3b9d92fc49741779363cfe')
  t.equal(toHex(buf), before)
})

/** A block-at-a-time CMAC straight from RFC 4493 2.4, independent of the CBC shortcut. */
function reference(key: Uint8Array, m: Uint8Array): Uint8Array {
  const [k1, k2] = cmacSubkeys(key)
  const n = Math.max(1, Math.ceil(m.length / 16))
  const flag = m.length > 0 && m.length % 16 === 0
  let x = new Uint8Array(16)
  for (let i = 0; i < n; i++) {
    const blk = new Uint8Array(16)
    const part = m.subarray(i * 16, i * 16 + 16)
    blk.set(part)
    if (i === n - 1) {
      if (!flag) blk[part.length] = 0x80
      const k = flag ? k1 : k2
      for (let j = 0; j < 16; j++) blk[j]! ^= k[j]!
    }
    for (let j = 0; j < 16; j++) blk[j]! ^= x[j]!
    const c = createCipheriv('aes-128-ecb', key, null)
    c.setAutoPadding(false)
    x = new Uint8Array(c.update(blk))
  }
  return x
}

t.test('property: equals the block-at-a-time definition', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ maxLength: 100 }), (k, m) => {
      return toHex(aesCmac(k, m)) === toHex(reference(k, m))
    }),
    { seed: 4493, numRuns: 300 },
  )
  t.pass()
})
