/**
 * Fuzz inputs derived from the packet declarations (docs/ARCHITECTURE.md, house style 1): every
 * HCI command and event (Core v5.4 Vol 4 Part E 7), ATT PDU (Vol 3 Part F 3.4), L2CAP signalling
 * command (Vol 3 Part A 4) and SMP PDU (Vol 3 Part H 3) has one field table, and the inputs come
 * from it: first valid packets, then the same truncated, extended, with flipped bytes, and with
 * length fields that lie.
 *
 * A valid parameter block is made by the declaration itself: random bytes (followed by zeros, so
 * that counts find their items) are decoded with the field table and the value is encoded again,
 * which gives the canonical bytes of a value the declaration accepts. A block that cannot be made
 * that way falls back to the smallest valid one (zeros: every count 0).
 */
import fc from 'fast-check'
import { DecodeError } from '../../hci/errors.ts'
import { decodeStruct, encodeStruct, type Fields, type StructKind } from '../../hci/spec.ts'

const PADDING = new Uint8Array(2048)
const smallest = new WeakMap<StructKind<Fields>, Uint8Array>()

function tryBlock(params: StructKind<Fields>, bytes: Uint8Array): Uint8Array | undefined {
  const d = decodeStruct(params, bytes)
  if (d instanceof DecodeError) return undefined
  try {
    return encodeStruct(params, d.value)
  } catch {
    return undefined
  }
}

/** The smallest valid parameter block (zeros, every count 0), or an empty one if none decodes. */
export function minimalParams(params: StructKind<Fields>): Uint8Array {
  let m = smallest.get(params)
  if (m === undefined) {
    m = new Uint8Array(0)
    for (let n = 0; n <= 300; n++) {
      const b = tryBlock(params, new Uint8Array(n))
      if (b !== undefined && decodeStruct(params, b) instanceof DecodeError === false) {
        m = b
        break
      }
    }
    smallest.set(params, m)
  }
  return m
}

/**
 * Valid parameter blocks of a declaration, at most `max` bytes. `accept` is the packet family's
 * own rule on top of the field table (e.g. ATT: no octet left over, a list not empty); a block it
 * refuses is replaced by the next candidate, and as a last resort left as it is (then `mutated`
 * does not call it valid).
 */
export function validParams(
  params: StructKind<Fields>,
  max = 255,
  accept: (b: Uint8Array) => boolean = () => true,
): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ maxLength: Math.min(max, 300) }).map((random) => {
    const exact = tryBlock(params, random)
    if (exact !== undefined && exact.length <= max && accept(exact)) return exact
    const padded = new Uint8Array(random.length + PADDING.length)
    padded.set(random)
    const b = tryBlock(params, padded)
    return b !== undefined && b.length <= max && accept(b) ? b : minimalParams(params)
  })
}

export type Mutation = 'valid' | 'truncated' | 'extended' | 'flipped' | 'random'

/** A packet and what was done to it. */
export interface Mutated {
  how: Mutation
  bytes: Uint8Array
}

/**
 * Valid packets, and the same cut short, made longer, with bytes flipped, or replaced by noise.
 * A "valid" one that `accept` refuses is labelled 'random' (nothing is claimed about it).
 */
export function mutated(
  valid: fc.Arbitrary<Uint8Array>,
  maxLength = 300,
  accept: (b: Uint8Array) => boolean = () => true,
): fc.Arbitrary<Mutated> {
  const cut = fc.tuple(valid, fc.nat()).map(([b, n]) => b.subarray(0, b.length === 0 ? 0 : n % b.length))
  const longer = fc
    .tuple(valid, fc.uint8Array({ minLength: 1, maxLength: 32 }))
    .map(([b, x]) => Uint8Array.from([...b, ...x]))
  const flipped = fc
    .tuple(valid, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }))
    .map(([b, flips]) => {
      const out = Uint8Array.from(b)
      for (const [at, x] of flips) if (out.length > 0) out[at % out.length]! ^= x
      return out
    })
  return fc.oneof(
    valid.map((bytes) => ({ how: accept(bytes) ? ('valid' as const) : ('random' as const), bytes })),
    cut.map((bytes) => ({ how: 'truncated' as const, bytes })),
    longer.map((bytes) => ({ how: 'extended' as const, bytes })),
    flipped.map((bytes) => ({ how: 'flipped' as const, bytes })),
    fc.uint8Array({ maxLength: maxLength }).map((bytes) => ({ how: 'random' as const, bytes })),
  )
}

/** A length field's value: the true one most of the time, else a lie (0, one off, the maximum, anything). */
export function lengthField(actual: number, max: number): fc.Arbitrary<number> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(actual) },
    { weight: 1, arbitrary: fc.constantFrom(0, Math.max(0, actual - 1), Math.min(max, actual + 1), max) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max }) },
  )
}

export function le16(v: number): number[] {
  return [v & 0xff, (v >> 8) & 0xff]
}

export function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => [...p]))
}
