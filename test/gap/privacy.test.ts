/**
 * Resolvable private addresses: the ah sample of Core v5.4 Vol 3 Part H Appendix D.7 as an
 * address, generation (bits of Vol 6 Part B 1.3.2.2) and resolution, as properties.
 */
import t from 'tap'
import fc from 'fast-check'
import {
  addressOctets,
  addressString,
  generateRpa,
  generateStaticAddress,
  isResolvablePrivateAddress,
  randomAddressKind,
  resolveRpa,
  resolvesWith,
} from '../../gap/privacy.ts'
import { fromHex } from '../../hci/wire.ts'

const le = (s: string): Uint8Array => fromHex(s).reverse()
// D.7: IRK ec0234a3 57c8ad05 341010a6 0a397d9b, prand 708194 -> hash 0dfbaa.
const IRK = le('ec0234a357c8ad05341010a60a397d9b')

t.test('the ah sample as an address resolves with its IRK only', async (t) => {
  const rpa = '70:81:94:0D:FB:AA'
  t.equal(randomAddressKind(rpa), 'resolvable')
  t.ok(resolvesWith(rpa, IRK))
  t.notOk(resolvesWith('70:81:94:0D:FB:AB', IRK), 'one bit of the hash changed')
  t.notOk(resolvesWith(rpa, new Uint8Array(16)), 'another IRK')
  const bonds = [{ name: 'a', irk: new Uint8Array(16) }, { name: 'b' }, { name: 'c', irk: IRK }]
  t.equal(resolveRpa(rpa, bonds)?.name, 'c')
  t.equal(resolveRpa('F0:81:94:0D:FB:AA', bonds), undefined, 'a static address is not resolved')
  // generateRpa with prand 708194 gives the same address.
  t.equal(
    generateRpa(IRK, () => le('708194')),
    rpa,
  )
})

t.test('address kinds by the top two bits', async (t) => {
  t.equal(randomAddressKind('C0:00:00:00:00:01'), 'static')
  t.equal(randomAddressKind('40:00:00:00:00:01'), 'resolvable')
  t.equal(randomAddressKind('3F:00:00:00:00:01'), 'nonResolvable')
  t.equal(randomAddressKind('80:00:00:00:00:01'), 'reserved')
  t.notOk(isResolvablePrivateAddress('C0:00:00:00:00:01'))
  t.throws(() => addressOctets('C0:00:00:00:00'), RangeError)
  t.equal(addressString(addressOctets('c0:01:02:03:04:05')), 'C0:01:02:03:04:05')
  t.same([...addressOctets('C0:01:02:03:04:05')], [5, 4, 3, 2, 1, 0xc0], 'wire order')
})

t.test('generated RPAs have the right bits and resolve with their IRK (property)', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        (irk, other) => {
          const rpa = generateRpa(irk)
          const top = addressOctets(rpa)[5]!
          return (
            top >> 6 === 1 &&
            resolvesWith(rpa, irk) &&
            (other.every((b, i) => b === irk[i]) || !resolvesWith(rpa, other))
          )
        },
      ),
      { numRuns: 200 },
    ),
  )
})

t.test('prand with an all-0 or all-1 random part is drawn again', async (t) => {
  const draws = [Uint8Array.of(0, 0, 0), Uint8Array.of(0xff, 0xff, 0xff), Uint8Array.of(1, 0, 0)]
  const rpa = generateRpa(IRK, () => draws.shift()!)
  t.equal(draws.length, 0, 'two draws refused')
  t.equal(rpa.slice(0, 8), '40:00:01')
  const statics = [new Uint8Array(6), new Uint8Array(6).fill(0xff), Uint8Array.of(1, 2, 3, 4, 5, 6)]
  t.equal(
    generateStaticAddress(() => statics.shift()!),
    'C6:05:04:03:02:01',
  )
  t.equal(randomAddressKind(generateStaticAddress()), 'static')
})
