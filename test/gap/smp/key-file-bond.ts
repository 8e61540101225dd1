/** Bonds for the key store tests (test/gap/smp/key-file.test.ts and its child writer). */
import type { Bond } from '../../../gap/smp/keys.ts'

const hex = (n: number): string => n.toString(16).padStart(2, '0').toUpperCase()

/** Bond number i: a random-address peer C0:00:00:xx:xx:xx with an IRK and a legacy LTK derived from i. */
export function testBond(i: number): Bond {
  const key = new Uint8Array(16).fill(i & 0xff)
  key[0] = (i >> 8) & 0xff
  return {
    peer: { address: `C0:00:00:${hex(i >> 16)}:${hex((i >> 8) & 0xff)}:${hex(i & 0xff)}`, type: 'random' },
    irk: key,
    peerLtk: {
      key,
      ediv: i & 0xffff,
      rand: new Uint8Array(8).fill(7),
      keySize: 16,
      authenticated: true,
      secureConnections: false,
    },
    createdAt: 1_700_000_000_000 + i * 1000,
  }
}
