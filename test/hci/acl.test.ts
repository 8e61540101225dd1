import t from 'tap'
import fc from 'fast-check'
import { AclReassembler, decodeAclHeader, encodeAclHeader, fragment, DEFAULT_MAX_PDU_SIZE } from '../../hci/acl.ts'
import { AclError, DecodeError } from '../../hci/errors.ts'
import { fromHex, toHex } from '../../hci/wire.ts'

function collect(options: { maxPduSize?: number } = {}) {
  const errors: Array<AclError | DecodeError> = []
  const r = new AclReassembler({ ...options, onError: (e) => errors.push(e) })
  const pdus: string[] = []
  const push = (hex: string): void => {
    const pdu = r.push(fromHex(hex))
    if (pdu) pdus.push(toHex(pdu))
  }
  return { r, errors, pdus, push, codes: () => errors.map((e) => e.code) }
}

t.test('header decode: handle 12 bits, PB, BC, length (Core v5.4 Vol 4 Part E 5.4.2)', async (t) => {
  // 0x2040: handle 0x040, PB 0b10, BC 0b00; 0xd123: handle 0x123, PB 0b01, BC 0b11
  const a = decodeAclHeader(fromHex('4020 0200 abcd'))
  t.same(a instanceof DecodeError ? a : { ...a, data: toHex(a.data) }, {
    handle: 0x40,
    pb: 2,
    bc: 0,
    length: 2,
    data: 'abcd',
  })
  const b = decodeAclHeader(fromHex('23d1 0000'))
  t.match(b, { handle: 0x123, pb: 1, bc: 3, length: 0 })
  t.equal(toHex(encodeAclHeader({ handle: 0x123, pb: 1, bc: 3, length: 0x0102 })), '23d10201')
  t.equal(toHex(encodeAclHeader({ handle: 0x040, pb: 0, bc: 0, length: 27 })), '40001b00')
  t.throws(() => encodeAclHeader({ handle: 0x1000, pb: 0, bc: 0, length: 0 }), RangeError)
})

t.test('header decode: truncated and lying headers are DecodeError values', async (t) => {
  const cases: Array<[string, string, number]> = [
    ['', 'handle', 0],
    ['40', 'handle', 0],
    ['4020', 'dataTotalLength', 2],
    ['402005', 'dataTotalLength', 2],
    ['40200500aabb', 'data', 4],
    ['40200100aabb', 'dataTotalLength', 2],
  ]
  for (const [hex, field, offset] of cases) {
    const e = decodeAclHeader(fromHex(hex))
    t.ok(e instanceof DecodeError, hex)
    t.match(e, { field, offset }, hex)
  }
})

t.test('fragment: first PB=0b00, continuations PB=0b01, each at most maxDataLength', async (t) => {
  // L2CAP: length 0x0009, CID 0x0004 (ATT), 9 bytes payload
  const pdu = fromHex('0900 0400 1b2a00 010203040506')
  t.same(fragment(0x040, pdu, 5).map(toHex), [
    '40000500' + '090004001b',
    '40100500' + '2a00010203',
    '40100300' + '040506',
  ])
  t.same(fragment(0x040, pdu, 27).map(toHex), ['40000d00' + '09000400' + '1b2a00010203040506'])
  t.same(fragment(0xeff, pdu, 13).map(toHex), ['ff0e0d00' + toHex(pdu)], 'exactly one full fragment')
  t.same(fragment(1, new Uint8Array(0), 27).map(toHex), ['01000000'])
  t.throws(() => fragment(1, pdu, 0), RangeError)
})

t.test('reassembly: single-fragment PDU is a view; fragmented PDU is rebuilt', async (t) => {
  const c = collect()
  const packet = fromHex('40200700' + '0300 0400 0a0100')
  const pdu = c.r.push(packet)
  t.equal(pdu?.buffer, packet.buffer, 'whole PDU in one start fragment: a view')
  t.equal(toHex(pdu!), '030004000a0100')

  // PB=0b00 start works too; 10 payload bytes in 3 fragments
  c.push('40000500' + '0a00040001')
  c.push('40100400' + '02030405')
  t.equal(c.r.buffered(0x40), 9)
  c.push('40100500' + '0607080900')
  t.same(c.pdus, ['0a000400' + '01020304050607080900'])
  t.equal(c.r.buffered(), 0)
  t.same(c.errors, [])
})

t.test('reassembly: start shorter than the L2CAP header', async (t) => {
  const c = collect()
  c.push('41200200' + '0200')
  c.push('41100100' + '04')
  t.equal(c.r.buffered(0x41), 3)
  c.push('41100300' + '00aabb')
  t.same(c.pdus, ['02000400aabb'])
  t.same(c.errors, [])
})

t.test('reassembly: handles are independent', async (t) => {
  const c = collect()
  c.push('40200500' + '0300040001')
  c.push('41200500' + '0200050011')
  c.push('41100100' + '22')
  c.push('40100200' + '0203')
  t.same(c.pdus, ['020005001122', '03000400010203'])
})

t.test('error: continuation with no start', async (t) => {
  const c = collect()
  c.push('40100300' + '010203')
  t.same(c.codes(), ['ACL_CONTINUATION_WITHOUT_START'])
  const e = c.errors[0] as AclError
  t.ok(e instanceof AclError)
  t.equal(e.handle, 0x40)
  t.equal(e.protocol, 'l2cap')
  t.match(e.message, /0x040.*continuing fragment of 3 bytes/)
  t.same(c.pdus, [])
})

t.test('error: start while incomplete drops the partial and processes the new start', async (t) => {
  const c = collect()
  c.push('40200500' + '0800040001') // announces 8, has 1
  c.push('40200600' + '02000400aabb') // complete PDU of its own
  t.same(c.codes(), ['ACL_START_WHILE_INCOMPLETE'])
  t.match(c.errors[0]!.message, /5 bytes/)
  t.same(c.pdus, ['02000400aabb'])
  c.push('40100200' + '0203')
  t.same(c.codes(), ['ACL_START_WHILE_INCOMPLETE', 'ACL_CONTINUATION_WITHOUT_START'], 'the dropped PDU stays dropped')
})

t.test('error: a length that lies (more bytes than announced)', async (t) => {
  const c = collect()
  c.push('40200700' + '01000400aabbcc') // announces 1, carries 3
  t.same(c.codes(), ['ACL_LENGTH_MISMATCH'])
  c.push('40200500' + '0300040001')
  c.push('40100300' + '020304') // one byte too many
  t.same(c.codes(), ['ACL_LENGTH_MISMATCH', 'ACL_LENGTH_MISMATCH'])
  t.same(c.pdus, [])
  t.equal(c.r.buffered(), 0)
  c.push('40200500' + '0100040001')
  t.same(c.pdus, ['0100040001'], 'recovers on the next start')
})

t.test('error: PDU over the bound; its continuations are swallowed quietly', async (t) => {
  const c = collect({ maxPduSize: 20 })
  c.push('40200600' + '1100 0400 aabb') // 4 + 17 = 21 > 20
  t.same(c.codes(), ['ACL_PDU_TOO_LARGE'])
  t.match(c.errors[0]!.message, /21 bytes exceeds the bound of 20/)
  t.equal(c.r.buffered(), 0, 'nothing held for it')
  c.push('40100f00' + '00'.repeat(15))
  t.same(c.codes(), ['ACL_PDU_TOO_LARGE'], 'no cascade of continuation errors')
  c.push('40100100' + '00')
  t.same(c.codes(), ['ACL_PDU_TOO_LARGE', 'ACL_CONTINUATION_WITHOUT_START'], 'the big PDU is over')
  // exactly at the bound is fine
  c.push('40200500' + '1000040000')
  c.push('40100f00' + '01'.repeat(15))
  t.equal(c.pdus.length, 1)
  t.equal(c.pdus[0]!.length, 40)
  t.equal(DEFAULT_MAX_PDU_SIZE, 65539)
})

t.test('error: PDU over the bound detected from a split L2CAP header', async (t) => {
  const c = collect({ maxPduSize: 8 })
  c.push('40200100' + 'ff')
  c.push('40100300' + '000400')
  t.same(c.codes(), ['ACL_PDU_TOO_LARGE'])
  t.equal(c.r.buffered(), 0)
})

t.test('truncated ACL packets are reported as DecodeError values', async (t) => {
  const c = collect()
  c.push('4020')
  c.push('40200900' + '0100')
  t.same(
    c.errors.map((e) => [e.constructor.name, (e as DecodeError).field]),
    [
      ['DecodeError', 'dataTotalLength'],
      ['DecodeError', 'data'],
    ],
  )
})

t.test('drop(handle) forgets a partial PDU', async (t) => {
  const c = collect()
  c.push('40200500' + '0800040001')
  t.equal(c.r.buffered(), 5)
  c.r.drop(0x40)
  t.equal(c.r.buffered(), 0)
  c.push('40200500' + '0100040001')
  t.same(c.errors, [], 'no start-while-incomplete after a drop')
  t.same(c.pdus, ['0100040001'])
})

t.test('fragment and reassemble round trip (PB flags from the spec, not from our encoder)', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 1, max: 300 }), (payload, max) => {
      const pdu = new Uint8Array(4 + payload.length)
      pdu[0] = payload.length & 0xff
      pdu[1] = payload.length >> 8
      pdu[2] = 4
      pdu.set(payload, 4)
      const frags = fragment(7, pdu, max)
      const r = new AclReassembler({
        onError: (e) => {
          throw e
        },
      })
      let out: Uint8Array | undefined
      frags.forEach((f, i) => {
        const pb = (f[1]! >> 4) & 3
        if (pb !== (i === 0 ? 0 : 1) || f.length - 4 > max) throw new Error('bad fragment')
        const got = r.push(f)
        if (got && i !== frags.length - 1) throw new Error('early PDU')
        out = got ?? out
      })
      return out !== undefined && toHex(out) === toHex(pdu)
    }),
    { seed: 11, numRuns: 200 },
  )
  t.pass('held')
})

const aclPacket = fc
  .record({
    handle: fc.integer({ min: 0, max: 3 }),
    pb: fc.integer({ min: 0, max: 3 }),
    data: fc.uint8Array({ maxLength: 80 }),
  })
  .map(({ handle, pb, data }) => {
    const p = new Uint8Array(4 + data.length)
    p[0] = handle
    p[1] = pb << 4
    p[2] = data.length
    p.set(data, 4)
    return p
  })

t.test('property: random and mutated ACL packets: only typed errors, bounded buffers', async (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(aclPacket, fc.uint8Array({ maxLength: 40 })), { maxLength: 60 }),
      fc.integer({ min: 4, max: 200 }),
      (packets, bound) => {
        const r = new AclReassembler({
          maxPduSize: bound,
          onError: (e) => {
            if (!(e instanceof AclError) && !(e instanceof DecodeError)) throw new Error('untyped error')
          },
        })
        for (const p of packets) {
          const pdu = r.push(p)
          if (pdu && (pdu.length > bound || pdu.length !== 4 + (pdu[0]! | (pdu[1]! << 8)))) return false
          for (let h = 0; h < 4; h++) if (r.buffered(h) > bound) return false
        }
        return true
      },
    ),
    { seed: 99, numRuns: 500 },
  )
  t.pass('held')
})

t.test('property: small L2CAP lengths, many continuations: buffered never exceeds the bound', async (t) => {
  // L2CAP lengths drawn small so that PDUs really complete and overflow, not only start.
  const start = fc
    .record({ len: fc.integer({ min: 0, max: 24 }), extra: fc.uint8Array({ maxLength: 8 }) })
    .map(({ len, extra }) => fromHex('40200000' + toHex(new Uint8Array([len, 0, 4, 0])) + toHex(extra)))
  const cont = fc.uint8Array({ maxLength: 8 }).map((d) => fromHex('40100000' + toHex(d)))
  let complete = 0
  fc.assert(
    fc.property(
      fc.array(fc.oneof(start, cont), { maxLength: 80 }),
      fc.integer({ min: 4, max: 48 }),
      (packets, bound) => {
        const r = new AclReassembler({ maxPduSize: bound })
        for (const p of packets) {
          p[2] = p.length - 4 // fix up the ACL length
          if (r.push(p)) complete++
          if (r.buffered(0x40) > bound) return false
        }
        return true
      },
    ),
    { seed: 5, numRuns: 500 },
  )
  t.ok(complete > 30, `${complete} PDUs completed along the way`)
})
