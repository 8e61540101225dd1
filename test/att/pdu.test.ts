import t from 'tap'
import fc from 'fast-check'
import {
  ATT_PDUS,
  attPduSpec,
  attOpcodeName,
  attErrorName,
  decodeAttPdu,
  encodeAttPdu,
  reencodeAttPdu,
  formatAttPdu,
  isAttPdu,
  isAttCommand,
  ReadRequest,
  ReadByTypeResponse,
  ReadByTypeRequest,
  FindInformationResponse,
  SignedWriteCommand,
  HandleValueNotification,
  ErrorResponse,
  type AttPdu,
} from '../../att/pdu.ts'
import { decodeL2capHeader } from '../../att/l2cap/frame.ts'
import { DecodeError } from '../../hci/errors.ts'
import { fromHex, toHex } from '../../hci/wire.ts'
import { realTest, realTrace } from '../helpers/real.ts'
import { missing } from '../helpers/tools.ts'
import { expectedNames, type SpecNames } from '../helpers/value-names.ts'
import { l2capFrames, first, num, type OracleFrame } from '../helpers/tshark.ts'

/** Uint8Arrays to hex strings, so expectations can be written as plain data. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return toHex(v)
  if (Array.isArray(v)) return v.map(plain)
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
  return v
}

// The names come from Wireshark's ATT dissector (test/helpers/value-names.ts), completed from
// Core v5.4 Vol 3 Part F: the PDUs of 3.4.4.11, 3.4.4.12 and 3.4.7.4 (Table 3.37) and the error
// codes of Table 3.4 and CSS v11 Part B 1.2 that tshark 4.0 does not know, and the one it names
// as before v5.3 (0x0C).
const OPCODE_NAMES: SpecNames = {
  newer: {
    0x20: 'Read Multiple Variable Request',
    0x21: 'Read Multiple Variable Response',
    0x23: 'Multiple Handle Value Notification',
  },
}
const ERROR_NAMES: SpecNames = {
  renamed: {
    0x0c: ['Encryption Key Size Too Short', 'Insufficient Encryption Key Size'],
    0xfd: [
      'Client Characteristic Configuration Descriptor Improperly Configured',
      'Improper Client Characteristic Configuration Descriptor',
    ],
  },
  newer: { 0x12: 'Database Out Of Sync', 0x13: 'Value Not Allowed', 0xfc: 'Write Request Rejected' },
  // tshark names each Application Error (0x80-0x9F) by its number; the spec calls them all that
  ignore: (code) => code >= 0x80 && code <= 0x9f,
}
const TSHARK = { skip: missing('tshark') }

t.test('every opcode of the spec is declared, with its spec name, and nothing else', TSHARK, async (t) => {
  const { names, problems } = await expectedNames('btatt.opcode', OPCODE_NAMES)
  t.same(problems, [], 'the completions agree with tshark')
  t.same(
    ATT_PDUS.map((s) => s.opcode).sort((a, b) => a - b),
    [...names.keys()].sort((a, b) => a - b),
  )
  for (const [op, name] of names) {
    t.equal(attOpcodeName(op).toLowerCase(), name, `0x${op.toString(16)}`)
    t.equal(attPduSpec(op)?.code, op)
  }
  for (let op = 0; op < 256; op++) {
    if (names.has(op)) continue
    t.equal(attPduSpec(op), undefined)
    t.equal(attOpcodeName(op), `Unknown ATT Opcode (0x${op.toString(16).padStart(2, '0')})`)
  }
  t.equal(attOpcodeName(0x3f), 'Unknown ATT Opcode (0x3f)')
  t.ok(isAttCommand(0x52) && isAttCommand(0xd2) && !isAttCommand(0x12))
})

t.test('error codes carry their spec names', TSHARK, async (t) => {
  const { names, problems } = await expectedNames('btatt.error_code', ERROR_NAMES)
  t.same(problems, [], 'the completions agree with tshark')
  for (let code = 0; code < 256; code++) {
    const hex = `0x${code.toString(16).padStart(2, '0')}`
    const expected = names.get(code) ?? (code >= 0x80 && code <= 0x9f ? 'application error' : 'reserved')
    t.equal(attErrorName(code).toLowerCase(), `${expected} (${hex})`)
  }
  t.equal(attErrorName(0x01), 'Invalid Handle (0x01)')
})

interface Vector {
  hex: string
  opcode: number
  handle?: number
  value?: string
  params: Record<string, unknown>
}

// Bytes laid out from the PDU formats of Core v5.4 Vol 3 Part F 3.4 (the ones marked "real" are
// copied from phlash__blefun__btsnoop_hci.log, frames 419, 421, 433, 488 and 493).
const VECTORS: Vector[] = [
  {
    hex: '01 08 01 00 0a',
    opcode: 0x01,
    handle: 0x0001,
    params: { requestOpcode: 0x08, handle: 0x0001, errorCode: 0x0a },
  },
  { hex: '02 f7 00', opcode: 0x02, params: { clientRxMtu: 247 } },
  { hex: '03 17 00', opcode: 0x03, params: { serverRxMtu: 23 } },
  { hex: '04 01 00 ff ff', opcode: 0x04, params: { startingHandle: 1, endingHandle: 0xffff } },
  {
    hex: '05 01 0c 00 02 29 0d 00 01 29',
    opcode: 0x05,
    handle: 0x000c,
    params: {
      format: 1,
      information: [
        { handle: 0x0c, uuid: '2902' },
        { handle: 0x0d, uuid: '2901' },
      ],
    },
  },
  {
    hex: '05 02 20 00 9e ca dc 24 0e e5 a9 e0 93 f3 a3 b5 01 00 40 6e',
    opcode: 0x05,
    handle: 0x0020,
    params: { format: 2, information: [{ handle: 0x20, uuid: '6e400001-b5a3-f393-e0a9-e50e24dcca9e' }] },
  },
  {
    hex: '06 01 00 ff ff 00 28 0d 18',
    opcode: 0x06,
    params: { startingHandle: 1, endingHandle: 0xffff, attributeType: 0x2800, attributeValue: '0d18' },
  },
  {
    hex: '07 10 00 15 00 20 00 ff ff',
    opcode: 0x07,
    handle: 0x0010,
    params: {
      handlesInformation: [
        { foundHandle: 0x10, groupEndHandle: 0x15 },
        { foundHandle: 0x20, groupEndHandle: 0xffff },
      ],
    },
  },
  {
    hex: '08 01 00 ff ff 03 28',
    opcode: 0x08,
    params: { startingHandle: 1, endingHandle: 0xffff, attributeType: '2803' },
  },
  {
    hex: '08 0c 00 16 00 9e ca dc 24 0e e5 a9 e0 93 f3 a3 b5 02 00 40 6e',
    opcode: 0x08,
    params: { startingHandle: 0x0c, endingHandle: 0x16, attributeType: '6e400002-b5a3-f393-e0a9-e50e24dcca9e' },
  },
  {
    // real: frame 433
    hex: '09 07 02 00 0a 03 00 00 2a 04 00 02 05 00 01 2a 06 00 02 07 00 04 2a',
    opcode: 0x09,
    handle: 0x0002,
    params: {
      length: 7,
      attributeData: [
        { handle: 2, value: '0a0300002a' },
        { handle: 4, value: '020500012a' },
        { handle: 6, value: '020700042a' },
      ],
    },
  },
  { hex: '0a 13 00', opcode: 0x0a, handle: 0x0013, params: { handle: 0x13 } },
  { hex: '0b 00 00 08 00 0c 00 02 01', opcode: 0x0b, value: '000008000c000201', params: { value: '000008000c000201' } }, // real: 493
  { hex: '0b', opcode: 0x0b, value: '', params: { value: '' } },
  { hex: '0c 27 00 16 00', opcode: 0x0c, handle: 0x0027, params: { handle: 0x27, offset: 22 } },
  { hex: '0d 01 02 03', opcode: 0x0d, value: '010203', params: { value: '010203' } },
  { hex: '0e 12 00 17 00', opcode: 0x0e, handle: 0x0012, params: { handles: [0x12, 0x17] } },
  { hex: '0f 01 00 01 00', opcode: 0x0f, params: { values: '01000100' } },
  { hex: '10 01 00 ff ff 00 28', opcode: 0x10, params: { startingHandle: 1, endingHandle: 0xffff, groupType: '2800' } }, // real: 419
  {
    hex: '11 06 01 00 07 00 00 18 08 00 0b 00 01 18', // real: 421
    opcode: 0x11,
    handle: 0x0001,
    params: {
      length: 6,
      attributeData: [
        { handle: 1, endGroupHandle: 7, value: '0018' },
        { handle: 8, endGroupHandle: 0x0b, value: '0118' },
      ],
    },
  },
  { hex: '12 11 00 01 00', opcode: 0x12, handle: 0x0011, value: '0100', params: { handle: 0x11, value: '0100' } }, // real: 488
  { hex: '13', opcode: 0x13, params: {} },
  {
    hex: '16 20 00 00 00 68 65 6c 6c 6f',
    opcode: 0x16,
    handle: 0x0020,
    value: '68656c6c6f',
    params: { handle: 0x20, offset: 0, value: '68656c6c6f' },
  },
  {
    hex: '17 20 00 05 00 21',
    opcode: 0x17,
    handle: 0x0020,
    value: '21',
    params: { handle: 0x20, offset: 5, value: '21' },
  },
  { hex: '18 01', opcode: 0x18, params: { flags: 1 } },
  { hex: '19', opcode: 0x19, params: {} },
  { hex: '1b 0e 00 48 49', opcode: 0x1b, handle: 0x000e, value: '4849', params: { handle: 0x0e, value: '4849' } },
  {
    hex: '1d 03 00 01 00 ff ff',
    opcode: 0x1d,
    handle: 0x0003,
    value: '0100ffff',
    params: { handle: 3, value: '0100ffff' },
  },
  { hex: '1e', opcode: 0x1e, params: {} },
  { hex: '20 03 00 05 00', opcode: 0x20, handle: 0x0003, params: { handles: [3, 5] } },
  {
    hex: '21 02 00 aa bb 01 00 cc',
    opcode: 0x21,
    params: {
      values: [
        { length: 2, value: 'aabb' },
        { length: 1, value: 'cc' },
      ],
    },
  },
  {
    // the last tuple cut short by ATT_MTU (3.4.4.12)
    hex: '21 02 00 aa bb 05 00 cc dd',
    opcode: 0x21,
    params: {
      values: [
        { length: 2, value: 'aabb' },
        { length: 5, value: 'ccdd' },
      ],
    },
  },
  {
    hex: '23 10 00 02 00 aa bb 12 00 01 00 cc',
    opcode: 0x23,
    handle: 0x0010,
    params: {
      tuples: [
        { handle: 0x10, value: 'aabb' },
        { handle: 0x12, value: 'cc' },
      ],
    },
  },
  { hex: '52 0e 00 aa bb', opcode: 0x52, handle: 0x000e, value: 'aabb', params: { handle: 0x0e, value: 'aabb' } },
  {
    hex: 'd2 0e 00 aa bb 01 00 00 00 11 22 33 44 55 66 77 88',
    opcode: 0xd2,
    handle: 0x000e,
    value: 'aabb',
    params: { handle: 0x0e, value: 'aabb', signature: '010000001122334455667788' },
  },
]

t.test('hand-written PDUs decode to the expected fields and re-encode identically', async (t) => {
  const seen = new Set<number>()
  for (const v of VECTORS) {
    const bytes = fromHex(v.hex)
    const p = decodeAttPdu(bytes)
    if (p instanceof DecodeError) {
      t.fail(`${v.hex}: ${p.message}`)
      continue
    }
    seen.add(p.opcode)
    t.equal(p.opcode, v.opcode, v.hex)
    t.equal(p.name, attOpcodeName(v.opcode), v.hex)
    t.equal(p.handle, v.handle, `${v.hex} handle`)
    t.equal(p.value === undefined ? undefined : toHex(p.value), v.value, `${v.hex} value`)
    t.same(plain(p.params), v.params, `${v.hex} params`)
    t.equal(toHex(encodeAttPdu(p.spec!, p.params as never)), toHex(bytes), `${v.hex} re-encodes`)
  }
  t.same(
    [...seen].sort((a, b) => a - b),
    ATT_PDUS.map((s) => s.opcode).sort((a, b) => a - b),
    'every opcode has a vector',
  )
})

t.test('values and lists are views of the input, not copies', async (t) => {
  const bytes = fromHex('1b 0e 00 48 49')
  const p = decodeAttPdu(bytes) as AttPdu
  t.equal(p.value!.buffer, bytes.buffer)
  t.equal(p.value!.byteOffset, 3)
})

t.test('truncated or overlong input gives a DecodeError naming the field', async (t) => {
  const cases: [string, string, number][] = [
    ['', 'opcode', 0],
    ['0a 13', 'handle', 1],
    ['01 08 01 00', 'errorCode', 4],
    ['01 08 01', 'handle', 2],
    ['02', 'clientRxMtu', 1],
    ['0c 27 00 16', 'offset', 3],
    ['04 01 00 ff', 'endingHandle', 3],
    ['05', 'format', 1],
    ['05 03 01 00 00 28', 'format', 1],
    ['05 01 0c 00 02', 'information[0].uuid', 4],
    ['05 01 0c 00 02 29 0d', 'information[1].handle', 6],
    ['06 01 00 ff ff 00', 'attributeType', 5],
    ['07 10 00 15 00 20 00', 'handlesInformation[1].groupEndHandle', 7],
    ['08 01 00 ff ff 03', 'attributeType', 5],
    ['08 01 00 ff ff 03 28 00', 'attributeType', 5],
    ['09 01 02 00', 'length', 1],
    ['09 07 02 00 0a 03 00 00', 'attributeData[0].value', 4],
    ['09 07 02 00 0a 03 00 00 2a 04', 'attributeData[1].handle', 9],
    ['10 01 00 ff ff', 'groupType', 5],
    ['11 03 01 00 07', 'length', 1],
    ['11 06 01 00 07 00 00', 'attributeData[0].value', 6],
    ['0e 12 00 17', 'handles[1]', 3],
    ['12 11', 'handle', 1],
    ['16 20 00 00', 'offset', 3],
    ['18', 'flags', 1],
    ['1b 0e', 'handle', 1],
    ['21 02', 'values[0].length', 1],
    ['23 10 00 05 00 aa', 'tuples[0].value', 5],
    ['23 10 00 05', 'tuples[0].length', 3],
    ['d2 0e 00 01 02 03 04 05 06 07 08 09 0a 0b', 'signature', 3],
    ['02 17 00 00', 'end', 3],
    ['1e 00', 'end', 1],
    ['0a 13 00 00', 'end', 3],
    ['18 01 00', 'end', 2],
  ]
  for (const [hex, field, offset] of cases) {
    const e = decodeAttPdu(fromHex(hex))
    t.ok(e instanceof DecodeError, `${hex} fails`)
    if (e instanceof DecodeError) {
      t.equal(e.field, field, `${hex}: field`)
      t.equal(e.offset, offset, `${hex}: offset`)
    }
  }
})

t.test('an unknown opcode decodes to its name and raw parameters, and re-encodes', async (t) => {
  const p = decodeAttPdu(fromHex('3f 01 02')) as AttPdu
  t.equal(p.name, 'Unknown ATT Opcode (0x3f)')
  t.equal(p.spec, undefined)
  t.equal(p.handle, undefined)
  t.same(plain(p.params), { data: '0102' })
  t.equal(toHex(reencodeAttPdu(p)), '3f0102')
})

t.test('typed encode, narrowing and log format', async (t) => {
  t.equal(toHex(encodeAttPdu(ReadRequest, { handle: 0x0013 })), '0a1300')
  t.equal(
    toHex(encodeAttPdu(ReadByTypeRequest, { startingHandle: 1, endingHandle: 0xffff, attributeType: '2a00' })),
    '080100ffff002a',
  )
  t.equal(toHex(encodeAttPdu(HandleValueNotification, { handle: 0x2a, value: fromHex('0102') })), '1b2a000102')
  const p = decodeAttPdu(fromHex('01 0a 13 00 02')) as AttPdu
  t.ok(isAttPdu(p, ErrorResponse))
  t.notOk(isAttPdu(p, ReadRequest))
  if (isAttPdu(p, ErrorResponse)) t.equal(p.params.errorCode, 2)
  t.equal(
    formatAttPdu(p),
    'Error Response requestOpcode=Read Request handle=0x0013 errorCode=Read Not Permitted (0x02)',
  )
  t.equal(formatAttPdu(decodeAttPdu(fromHex('1e')) as AttPdu), 'Handle Value Confirmation')
})

t.test('encode refuses parameters that do not fit their declaration', async (t) => {
  t.throws(
    () => encodeAttPdu(ReadByTypeResponse, { length: 7, attributeData: [{ handle: 1, value: fromHex('010203') }] }),
    RangeError,
  )
  t.throws(() => encodeAttPdu(ReadByTypeResponse, { length: 1, attributeData: [] }), RangeError)
  t.throws(
    () =>
      encodeAttPdu(FindInformationResponse, {
        format: 1,
        information: [{ handle: 1, uuid: '6e400001-b5a3-f393-e0a9-e50e24dcca9e' }],
      }),
    RangeError,
  )
  t.throws(
    () => encodeAttPdu(ReadByTypeRequest, { startingHandle: 1, endingHandle: 2, attributeType: '12345' }),
    RangeError,
  )
  t.throws(
    () => encodeAttPdu(SignedWriteCommand, { handle: 1, value: new Uint8Array(0), signature: new Uint8Array(8) }),
    RangeError,
  )
  t.throws(() => encodeAttPdu(ReadRequest, { handle: 0x10000 }), RangeError)
})

const OPCODES = ATT_PDUS.map((s) => s.opcode)
const pduBytes = fc.oneof(
  fc.uint8Array({ maxLength: 48 }),
  fc
    .tuple(fc.constantFrom(...OPCODES), fc.uint8Array({ maxLength: 48 }))
    .map(([op, rest]) => Uint8Array.of(op, ...rest)),
)

t.test('property: random bytes never throw; every successful decode re-encodes identically', async (t) => {
  let decoded = 0
  fc.assert(
    fc.property(pduBytes, (bytes) => {
      const p = decodeAttPdu(bytes)
      if (p instanceof DecodeError) return p.offset >= 0 && p.offset <= bytes.length && p.field.length > 0
      decoded++
      formatAttPdu(p)
      return toHex(reencodeAttPdu(p)) === toHex(bytes)
    }),
    { numRuns: 5000, seed: 0x0a77 },
  )
  t.ok(decoded > 500, `${decoded} random PDUs decoded`)
})

// ---------------------------------------------------------------------------------------------
// Oracle: tshark 4.0 on real traces

const TRACES = [
  'phlash__blefun__btsnoop_hci.log',
  'durnerj__PoGo-Plus-BLE__bt_log_plus_pair_2017_12_13.log',
  'bbmp__AndroidPad__btsnoop_hci.cfa',
  'BeanCounterTop__ble-pcap-analyzer__hci.pcap',
  'Syed-Bipul-Rahman__bluethooth_light_controll__btsnoop_hci.log',
  'jpvargasdev__MachineSpiritTimetable__btsnoop_aaaa.log',
  'ajesler__bluetooth-candle-go-talk__btsnoop_hci.log',
]

interface Tally {
  compared: number
  reassembled: number
  vendorHandle: number
  malformed: number[]
  /** tshark showed the value as typed GATT fields, no btatt.value (CCCD writes, Device Name...). */
  typedValue: number
  /** tshark split the value into typed fields and a btatt.value tail (see below). */
  splitValue: number[]
  opcodes: Set<number>
}

/**
 * tshark interpreted the octets from `start` on as a value of a GATT type it knows: the fields it
 * read there begin exactly at `start` and none runs past `end` (it may leave a tail it does not
 * understand undissected, e.g. an 11-octet write to the 10-octet Current Time).
 */
function typedFrom(f: OracleFrame, start: number, end: number): boolean {
  let first = Infinity
  for (const x of f.fields) {
    if (x.pos === undefined || x.len === undefined || x.len === 0 || x.pos < start) continue
    if (x.pos + x.len > end) return false
    first = Math.min(first, x.pos)
  }
  return start === end || first === start
}

function compare(f: OracleFrame, tally: Tally, problems: string[]): void {
  const at = `frame ${f.number}`
  if (f.chandle === 0x0edc) {
    tally.vendorHandle++
    return
  }
  if (f.malformed) {
    tally.malformed.push(f.number)
    return
  }
  if (f.reassembled) tally.reassembled++
  const l2 = decodeL2capHeader(f.l2cap)
  if (l2 instanceof DecodeError) return void problems.push(`${at}: L2CAP ${l2.message}`)
  if (l2.cid !== 4) return void problems.push(`${at}: CID ${l2.cid}`)
  const p = decodeAttPdu(l2.payload)
  if (p instanceof DecodeError) return void problems.push(`${at}: ${p.message} (${toHex(l2.payload)})`)
  tally.compared++
  tally.opcodes.add(p.opcode)
  const opcode = num(first(f.fields, 'btatt.opcode')?.show)
  if (opcode !== p.opcode) return void problems.push(`${at}: opcode ${p.opcode} vs tshark ${opcode}`)
  // tshark's first btatt.handle read from the packet (generated ones come from its request tracking)
  const handle = num(first(f.fields, 'btatt.handle')?.show)
  if (handle !== p.handle) problems.push(`${at} ${p.name}: handle ${p.handle} vs tshark ${handle}`)
  const theirs = first(f.fields, 'btatt.value')?.raw
  if (p.value === undefined) {
    if (theirs !== undefined) problems.push(`${at} ${p.name}: no value, tshark has ${theirs}`)
    return
  }
  const ours = toHex(p.value)
  if (theirs === ours) return
  const start = f.layerPos + (p.value.byteOffset - l2.payload.byteOffset)
  if (!typedFrom(f, start, f.layerPos + l2.payload.length)) {
    problems.push(
      `${at} ${p.name}: value ${ours} vs tshark ${theirs ?? '(none)'}, and tshark's fields do not start where it does`,
    )
  } else if (theirs === undefined) {
    tally.typedValue++
  } else if (ours.endsWith(theirs)) {
    tally.splitValue.push(f.number)
  } else {
    problems.push(`${at} ${p.name}: value ${ours} vs tshark ${theirs}`)
  }
}

// Opcodes present in those traces (tshark's count per opcode, all files): every one must be met.
const OPCODES_IN_TRACES = [
  0x01, 0x02, 0x03, 0x04, 0x05, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x18, 0x1b,
  0x1d, 0x1e, 0x52,
]

realTest(
  'oracle: opcode, handle and value agree with tshark on real traces',
  { skip: missing('tshark') }, // skipped without it, a failure under CI (test/helpers/tools.ts)
  async (t) => {
    t.jobs = 2
    const all = new Set<number>()
    let total = 0
    const runs = TRACES.map((name) =>
      t.test(name, async (t) => {
        const frames = await l2capFrames(realTrace(name), 'btatt', 'btatt')
        const tally: Tally = {
          compared: 0,
          reassembled: 0,
          vendorHandle: 0,
          malformed: [],
          typedValue: 0,
          splitValue: [],
          opcodes: new Set(),
        }
        const problems: string[] = []
        for (const f of frames) compare(f, tally, problems)
        t.same(problems.slice(0, 20), [], `${problems.length} disagreements`)
        t.ok(tally.compared > 0, `compared ${tally.compared} ATT PDUs`)
        for (const op of tally.opcodes) all.add(op)
        total += tally.compared
        t.comment(
          `compared ${tally.compared} (${tally.reassembled} reassembled by tshark); exempt: ` +
            `vendor handle 0x0EDC ${tally.vendorHandle}, malformed per tshark [${tally.malformed.join(' ')}]; ` +
            `value shown as typed GATT fields ${tally.typedValue}, value split by tshark [${tally.splitValue.join(' ')}]`,
        )
        if (name.startsWith('Syed')) {
          // Frame 50623 is a Write Request that tshark flags after a semantic GATT check (writing to
          // what it believes is a Characteristic declaration). Frames 49247, 50170, 50187, 50662
          // and two more are Write Requests to a handle its attribute tracking takes for a
          // Characteristic declaration (learnt from another connection): it shows the first 3
          // octets as properties + value handle and only the rest as btatt.value.
          t.same(tally.malformed, [50623], 'the one frame tshark flags malformed')
          t.same(
            tally.splitValue.slice(0, 4),
            [49247, 50170, 50187, 50662],
            'the split-value frames are the known ones',
          )
        }
        if (name.startsWith('jpvargasdev')) t.ok(tally.vendorHandle > 0, 'vendor handle met')
        if (name.startsWith('durnerj')) t.ok(tally.reassembled > 0, 'reassembled PDUs met')
      }),
    )
    await Promise.all(runs)
    t.same(
      OPCODES_IN_TRACES.filter((op) => !all.has(op)),
      [],
      'every opcode present in the traces was compared',
    )
    t.ok(total > 30000, `${total} ATT PDUs compared in all`)
  },
)
