import t from 'tap'
import fc from 'fast-check'
import {
  SMP_PDUS,
  smpPduSpec,
  smpCodeName,
  smpReasonName,
  decodeSmpPdu,
  encodeSmpPdu,
  reencodeSmpPdu,
  formatSmpPdu,
  isSmpPdu,
  PairingRequest,
  PairingFailed,
  IdentityAddressInformation,
  PairingConfirm,
  type SmpPdu,
} from '../../../gap/smp/pdu.ts'
import { decodeL2capHeader } from '../../../att/l2cap/frame.ts'
import { DecodeError } from '../../../hci/errors.ts'
import { fromHex, toHex } from '../../../hci/wire.ts'
import { realTest, realTrace } from '../../helpers/real.ts'
import { missing } from '../../helpers/tools.ts'
import { expectedNames, type SpecNames } from '../../helpers/value-names.ts'
import { l2capFrames, num } from '../../helpers/tshark.ts'

function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return toHex(v)
  if (Array.isArray(v)) return v.map(plain)
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
  return v
}

// The data size of each SMP command (octets after the code), from the command formats of Core
// v5.4 Vol 3 Part H 3.5 (pairing) and 3.6 (key distribution), written out once here.
const SPEC_SIZES: Record<number, number> = {
  0x01: 6,
  0x02: 6,
  0x03: 16,
  0x04: 16,
  0x05: 1,
  0x06: 16,
  0x07: 10,
  0x08: 16,
  0x09: 7,
  0x0a: 16,
  0x0b: 1,
  0x0c: 64,
  0x0d: 16,
  0x0e: 1,
}

// The names come from Wireshark's SMP dissector (test/helpers/value-names.ts), completed from the spec:
// Table 3.3 says Central Identification (3.6.3; "Master" before v5.3), Table 3.7 adds Key Rejected.
const CODE_NAMES: SpecNames = { renamed: { 0x07: ['Central Identification', 'Master Identification'] } }
const REASON_NAMES: SpecNames = { newer: { 0x0f: 'Key Rejected' } }
const TSHARK = { skip: missing('tshark') }

t.test('codes, names and sizes follow Table 3.3', TSHARK, async (t) => {
  const { names, problems } = await expectedNames('btsmp.opcode', CODE_NAMES)
  t.same(problems, [], 'the completions agree with tshark')
  const codes = [...names.keys()].sort((a, b) => a - b)
  t.same(
    SMP_PDUS.map((s) => s.code),
    codes,
  )
  t.same(Object.keys(SPEC_SIZES).map(Number), codes, 'a size for every code')
  for (let code = 0; code < 256; code++) {
    const hex = code.toString(16).padStart(2, '0')
    const name = names.get(code)
    t.equal(smpCodeName(code).toLowerCase(), name ?? `unknown smp code (0x${hex})`)
    if (!name) {
      t.equal(smpPduSpec(code), undefined)
      continue
    }
    // a PDU of exactly the spec's size decodes; one octet less or more does not
    const size = SPEC_SIZES[code]!
    const exact = new Uint8Array(1 + size)
    exact[0] = code
    t.notOk(decodeSmpPdu(exact) instanceof DecodeError, `${name} of ${size} octets`)
    t.ok(decodeSmpPdu(exact.subarray(0, size)) instanceof DecodeError, `${name} one short`)
    const long = new Uint8Array(2 + size)
    long[0] = code
    t.ok(decodeSmpPdu(long) instanceof DecodeError, `${name} one long`)
  }
})

t.test('reason names follow Table 3.7', TSHARK, async (t) => {
  const { names, problems } = await expectedNames('btsmp.reason', REASON_NAMES)
  t.same(problems, [], 'the completions agree with tshark')
  for (let r = 0; r < 256; r++) {
    t.equal(smpReasonName(r).toLowerCase(), `${names.get(r) ?? 'reserved'} (0x${r.toString(16).padStart(2, '0')})`)
  }
})

interface Vector {
  hex: string
  code: number
  params: Record<string, unknown>
}

const K16 = '00112233445566778899aabbccddeeff'
// Laid out from Core v5.4 Vol 3 Part H 3.5-3.6; "real" ones copied from captures (durnerj PoGo
// Plus frames 118/125, mtoslalibu ec521 Central Identification and Identity Address
// Information, bbmp AndroidPad Pairing Failed).
const VECTORS: Vector[] = [
  {
    hex: '01 04 00 0d 10 0f 0f', // real
    code: 1,
    params: {
      ioCapability: 4,
      oobDataFlag: 0,
      authReq: 0x0d,
      maxEncryptionKeySize: 16,
      initiatorKeyDistribution: 0x0f,
      responderKeyDistribution: 0x0f,
    },
  },
  {
    hex: '02 03 00 01 10 02 01', // real
    code: 2,
    params: {
      ioCapability: 3,
      oobDataFlag: 0,
      authReq: 0x01,
      maxEncryptionKeySize: 16,
      initiatorKeyDistribution: 0x02,
      responderKeyDistribution: 0x01,
    },
  },
  { hex: `03 ${K16}`, code: 3, params: { confirmValue: K16 } },
  { hex: `04 ${K16}`, code: 4, params: { randomValue: K16 } },
  { hex: '05 05', code: 5, params: { reason: 5 } }, // real
  { hex: `06 ${K16}`, code: 6, params: { longTermKey: K16 } },
  { hex: '07 8b 3b 27 c9 a8 a3 05 4b 1d 09', code: 7, params: { ediv: 0x3b8b, rand: '27c9a8a3054b1d09' } }, // real
  { hex: `08 ${K16}`, code: 8, params: { identityResolvingKey: K16 } },
  { hex: '09 00 fd fb 39 bf 1a 8c', code: 9, params: { addressType: 0, address: '8C:1A:BF:39:FB:FD' } }, // real
  { hex: '09 01 01 02 03 04 05 c6', code: 9, params: { addressType: 1, address: 'C6:05:04:03:02:01' } },
  { hex: `0a ${K16}`, code: 0x0a, params: { signatureKey: K16 } },
  { hex: '0b 2d', code: 0x0b, params: { authReq: 0x2d } },
  {
    hex: `0c ${K16}${K16} ${'ff'.repeat(32)}`,
    code: 0x0c,
    params: { publicKeyX: K16 + K16, publicKeyY: 'ff'.repeat(32) },
  },
  { hex: `0d ${K16}`, code: 0x0d, params: { dhKeyCheck: K16 } },
  { hex: '0e 04', code: 0x0e, params: { notificationType: 4 } },
]

t.test('hand-written PDUs decode to the expected fields and re-encode identically', async (t) => {
  const seen = new Set<number>()
  for (const v of VECTORS) {
    const bytes = fromHex(v.hex)
    const p = decodeSmpPdu(bytes)
    if (p instanceof DecodeError) {
      t.fail(`${v.hex}: ${p.message}`)
      continue
    }
    seen.add(p.code)
    t.equal(p.code, v.code)
    t.equal(p.name, smpCodeName(v.code), 'named as the code table names it')
    t.same(plain(p.params), v.params, `${v.hex} params`)
    t.equal(toHex(reencodeSmpPdu(p)), toHex(bytes), `${v.hex} re-encodes`)
  }
  t.equal(seen.size, SMP_PDUS.length, 'every code has a vector')
})

t.test('keys are views of the input', async (t) => {
  const bytes = fromHex(`03 ${K16}`)
  const p = decodeSmpPdu(bytes) as SmpPdu
  const v = p.params!.confirmValue as Uint8Array
  t.equal(v.buffer, bytes.buffer)
  t.equal(v.byteOffset, 1)
})

t.test('truncated or overlong input gives a DecodeError naming the field', async (t) => {
  const cases: [string, string, number][] = [
    ['', 'code', 0],
    ['01 04 00 0d 10 0f', 'responderKeyDistribution', 6],
    ['01', 'ioCapability', 1],
    ['03 0011', 'confirmValue', 1],
    ['05', 'reason', 1],
    ['07 8b 3b 27', 'rand', 3],
    ['07 8b', 'ediv', 1],
    ['09 00 fd fb 39', 'address', 2],
    [`0c ${K16}${K16} ff`, 'publicKeyY', 33],
    ['05 05 00', 'end', 2],
    ['0b 2d 00 00', 'end', 2],
  ]
  for (const [hex, field, offset] of cases) {
    const e = decodeSmpPdu(fromHex(hex))
    t.ok(e instanceof DecodeError, hex)
    if (e instanceof DecodeError) {
      t.equal(e.field, field, `${hex}: field`)
      t.equal(e.offset, offset, `${hex}: offset`)
    }
  }
})

t.test('unknown codes, typed encode, narrowing and log format', async (t) => {
  const u = decodeSmpPdu(fromHex('0f 01')) as SmpPdu
  t.equal(u.name, 'Unknown SMP Code (0x0f)')
  t.same(plain(u.params), { data: '01' })
  t.equal(toHex(reencodeSmpPdu(u)), '0f01')
  t.equal(
    toHex(
      encodeSmpPdu(PairingRequest, {
        ioCapability: 3,
        oobDataFlag: 0,
        authReq: 0x09,
        maxEncryptionKeySize: 16,
        initiatorKeyDistribution: 0,
        responderKeyDistribution: 1,
      }),
    ),
    '01030009100001',
  )
  t.equal(toHex(encodeSmpPdu(PairingFailed, { reason: 0x04 })), '0504')
  t.equal(
    toHex(encodeSmpPdu(IdentityAddressInformation, { addressType: 1, address: 'C6:05:04:03:02:01' })),
    '0901010203040' + '5c6',
  )
  t.throws(() => encodeSmpPdu(PairingConfirm, { confirmValue: new Uint8Array(15) }), RangeError)
  t.throws(() => encodeSmpPdu(IdentityAddressInformation, { addressType: 0, address: 'nope' }), RangeError)
  const p = decodeSmpPdu(fromHex('05 04')) as SmpPdu
  t.ok(isSmpPdu(p, PairingFailed))
  if (isSmpPdu(p, PairingFailed)) t.equal(p.params.reason, 4)
  t.equal(formatSmpPdu(p), 'Pairing Failed reason=Confirm Value Failed (0x04)')
  t.equal(
    formatSmpPdu(decodeSmpPdu(fromHex('01 04 00 0d 10 0f 0f')) as SmpPdu),
    'Pairing Request ioCapability=KeyboardDisplay (0x04) oobDataFlag=0 authReq=0x0d maxEncryptionKeySize=16 ' +
      'initiatorKeyDistribution=0x0f responderKeyDistribution=0x0f',
  )
})

t.test('property: random bytes never throw; every successful decode re-encodes identically', async (t) => {
  const pdus = fc.oneof(
    fc.uint8Array({ maxLength: 70 }),
    fc
      .constantFrom(...Object.entries(SPEC_SIZES))
      .chain(([code, size]) =>
        fc
          .uint8Array({ minLength: Math.max(0, size - 1), maxLength: size + 1 })
          .map((d) => Uint8Array.of(Number(code), ...d)),
      ),
  )
  let ok = 0
  fc.assert(
    fc.property(pdus, (bytes) => {
      const p = decodeSmpPdu(bytes)
      if (p instanceof DecodeError) return p.field.length > 0 && p.offset <= bytes.length
      ok++
      formatSmpPdu(p)
      return toHex(reencodeSmpPdu(p)) === toHex(bytes)
    }),
    { numRuns: 4000, seed: 0x5e9 },
  )
  t.ok(ok > 1000, `${ok} decoded`)
})

// ---------------------------------------------------------------------------------------------
// Oracle: tshark 4.0 on real traces

const TRACES = [
  'durnerj__PoGo-Plus-BLE__bt_log_plus_pair_2017_12_13.log',
  'mtoslalibu__ec521__btsnoop_hci.log',
  'Syed-Bipul-Rahman__bluethooth_light_controll__btsnoop_hci.log',
  'bbmp__AndroidPad__btsnoop_hci.cfa',
]

/** Our parameter -> tshark's field, per code. */
const FIELD_MAP: Record<number, Record<string, string>> = {
  0x01: {
    ioCapability: 'btsmp.io_capability',
    oobDataFlag: 'btsmp.oob_data_flags',
    authReq: 'btsmp.authreq',
    maxEncryptionKeySize: 'btsmp.max_enc_key_size',
    initiatorKeyDistribution: 'btsmp.initiator_key_distribution',
    responderKeyDistribution: 'btsmp.responder_key_distribution',
  },
  0x03: { confirmValue: 'btsmp.cfm_value' },
  0x04: { randomValue: 'btsmp.random_value' },
  0x05: { reason: 'btsmp.reason' },
  0x06: { longTermKey: 'btsmp.long_term_key' },
  0x07: { ediv: 'btsmp.ediv', rand: 'btsmp.random_value' },
  0x08: { identityResolvingKey: 'btsmp.id_resolving_key' },
  0x09: { addressType: 'btsmp.address_type', address: 'btsmp.bd_addr' },
  0x0a: { signatureKey: 'btsmp.signature_key' },
  0x0b: { authReq: 'btsmp.authreq' },
  0x0c: { publicKeyX: 'btsmp.public_key_x', publicKeyY: 'btsmp.public_key_y' },
  0x0d: { dhKeyCheck: 'btsmp.dhkey_check' },
  0x0e: { notificationType: 'btsmp.notification_type' },
}
FIELD_MAP[0x02] = FIELD_MAP[0x01]!

realTest(
  'oracle: code and every parameter agree with tshark',
  { skip: missing('tshark') }, // skipped without it, a failure under CI (test/helpers/tools.ts)
  async (t) => {
    const codes = new Set<number>()
    let total = 0
    let params = 0
    for (const name of TRACES) {
      const frames = await l2capFrames(realTrace(name), 'btsmp && !(bthci_acl.chandle == 0x0edc)', 'btsmp')
      const problems: string[] = []
      for (const fr of frames) {
        const at = `${name} frame ${fr.number}`
        const l2 = decodeL2capHeader(fr.l2cap)
        if (l2 instanceof DecodeError) {
          problems.push(`${at}: ${l2.message}`)
          continue
        }
        const p = decodeSmpPdu(l2.payload)
        if (p instanceof DecodeError) {
          problems.push(`${at}: ${p.message}`)
          continue
        }
        total++
        codes.add(p.code)
        const field = (n: string) => fr.fields.find((f) => f.name === n && f.raw !== undefined)
        if (num(field('btsmp.opcode')?.show) !== p.code)
          problems.push(`${at}: code ${p.code} vs ${field('btsmp.opcode')?.show}`)
        for (const [ours, theirs] of Object.entries(FIELD_MAP[p.code] ?? {})) {
          params++
          const v = p.params?.[ours]
          const f = field(theirs)
          const same =
            v instanceof Uint8Array
              ? toHex(v) === f?.raw
              : typeof v === 'string'
                ? v === f?.show.toUpperCase()
                : v === num(f?.show)
          if (!same) problems.push(`${at} ${p.name}: ${ours} ${String(plain(v))} vs ${theirs} ${f?.show}`)
        }
      }
      t.same(problems.slice(0, 20), [], `${name}: ${problems.length} disagreements`)
    }
    t.same(
      [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c].filter((c) => !codes.has(c)),
      [],
      'every code present in the traces compared',
    )
    t.ok(total >= 90, `${total} SMP PDUs, ${params} parameters compared`)
  },
)
