/**
 * Method selection against Core v5.4 Vol 3 Part H 2.3.5.1. The expected side is written from
 * the spec's prose and from Table 2.8 cell by cell as sentences ("initiator displays, responder
 * inputs"), not from the code's table.
 */
import t from 'tap'
import {
  checkFeatures,
  checkRequirements,
  negotiateKeySize,
  selectMethod,
  type IoCapability,
  type PairingFeatures,
} from '../../../gap/smp/method.ts'
import { SmpError } from '../../../gap/smp/errors.ts'

const IO: Record<IoCapability, number> = {
  displayOnly: 0,
  displayYesNo: 1,
  keyboardOnly: 2,
  noInputNoOutput: 3,
  keyboardDisplay: 4,
}

function features(
  io: IoCapability,
  o: { mitm?: boolean; sc?: boolean; oob?: boolean; max?: number } = {},
): PairingFeatures {
  return {
    ioCapability: IO[io],
    oobDataFlag: o.oob ? 1 : 0,
    authReq: 0x01 | (o.mitm ? 0x04 : 0) | (o.sc ? 0x08 : 0),
    maxEncryptionKeySize: o.max ?? 16,
    initiatorKeyDistribution: 0,
    responderKeyDistribution: 0,
  }
}

// Table 2.8 cell by cell, as the spec words each cell: [initiator, responder, legacy, sc].
type Says =
  | 'just works'
  | 'numeric comparison'
  | 'initiator displays, responder inputs'
  | 'responder displays, initiator inputs'
  | 'both input'
const CELLS: [IoCapability, IoCapability, Says, Says][] = [
  ['displayOnly', 'displayOnly', 'just works', 'just works'],
  ['displayOnly', 'displayYesNo', 'just works', 'just works'],
  ['displayOnly', 'keyboardOnly', 'initiator displays, responder inputs', 'initiator displays, responder inputs'],
  ['displayOnly', 'noInputNoOutput', 'just works', 'just works'],
  ['displayOnly', 'keyboardDisplay', 'initiator displays, responder inputs', 'initiator displays, responder inputs'],
  ['displayYesNo', 'displayOnly', 'just works', 'just works'],
  ['displayYesNo', 'displayYesNo', 'just works', 'numeric comparison'],
  ['displayYesNo', 'keyboardOnly', 'initiator displays, responder inputs', 'initiator displays, responder inputs'],
  ['displayYesNo', 'noInputNoOutput', 'just works', 'just works'],
  ['displayYesNo', 'keyboardDisplay', 'initiator displays, responder inputs', 'numeric comparison'],
  ['keyboardOnly', 'displayOnly', 'responder displays, initiator inputs', 'responder displays, initiator inputs'],
  ['keyboardOnly', 'displayYesNo', 'responder displays, initiator inputs', 'responder displays, initiator inputs'],
  ['keyboardOnly', 'keyboardOnly', 'both input', 'both input'],
  ['keyboardOnly', 'noInputNoOutput', 'just works', 'just works'],
  ['keyboardOnly', 'keyboardDisplay', 'responder displays, initiator inputs', 'responder displays, initiator inputs'],
  ['noInputNoOutput', 'displayOnly', 'just works', 'just works'],
  ['noInputNoOutput', 'displayYesNo', 'just works', 'just works'],
  ['noInputNoOutput', 'keyboardOnly', 'just works', 'just works'],
  ['noInputNoOutput', 'noInputNoOutput', 'just works', 'just works'],
  ['noInputNoOutput', 'keyboardDisplay', 'just works', 'just works'],
  ['keyboardDisplay', 'displayOnly', 'responder displays, initiator inputs', 'responder displays, initiator inputs'],
  ['keyboardDisplay', 'displayYesNo', 'responder displays, initiator inputs', 'numeric comparison'],
  ['keyboardDisplay', 'keyboardOnly', 'initiator displays, responder inputs', 'initiator displays, responder inputs'],
  ['keyboardDisplay', 'noInputNoOutput', 'just works', 'just works'],
  ['keyboardDisplay', 'keyboardDisplay', 'initiator displays, responder inputs', 'numeric comparison'],
]

/** The Pairing Failed reason `fn` throws with (undefined when it does not throw an SmpError). */
function reasonOf(fn: () => unknown): number | undefined {
  try {
    fn()
  } catch (e) {
    if (e instanceof SmpError) return e.status
    throw e
  }
  return undefined
}

function says(req: PairingFeatures, rsp: PairingFeatures): Says {
  const c = selectMethod(req, rsp)
  if (c.method === 'justWorks') return 'just works'
  if (c.method === 'numericComparison') return 'numeric comparison'
  if (c.method !== 'passkey' || !c.passkey) throw new Error(`unexpected ${c.method}`)
  const { initiator, responder } = c.passkey
  if (initiator === 'input' && responder === 'input') return 'both input'
  if (initiator === 'display' && responder === 'input') return 'initiator displays, responder inputs'
  if (initiator === 'input' && responder === 'display') return 'responder displays, initiator inputs'
  throw new Error('both display')
}

t.test('Table 2.8, every cell, legacy and Secure Connections, MITM asked by either side', async (t) => {
  t.equal(CELLS.length, 25)
  for (const [i, r, legacy, sc] of CELLS) {
    for (const mitmSide of ['initiator', 'responder', 'both'] as const) {
      const im = mitmSide !== 'responder'
      const rm = mitmSide !== 'initiator'
      t.equal(
        says(features(i, { mitm: im }), features(r, { mitm: rm })),
        legacy,
        `legacy ${i} -> ${r} (MITM ${mitmSide})`,
      )
      t.equal(says(features(i, { mitm: im, sc: true }), features(r, { mitm: rm, sc: true })), sc, `SC ${i} -> ${r}`)
      // SC on one side only is legacy pairing.
      t.equal(says(features(i, { mitm: im, sc: true }), features(r, { mitm: rm })), legacy, `SC one side ${i} -> ${r}`)
    }
  }
})

t.test('no MITM on either side: Just Works, whatever the IO (Table 2.6/2.7)', async (t) => {
  for (const [i, r] of CELLS) {
    t.equal(selectMethod(features(i), features(r)).method, 'justWorks')
    t.equal(selectMethod(features(i, { sc: true }), features(r, { sc: true })).method, 'justWorks')
  }
})

t.test('OOB: legacy needs both flags, Secure Connections either (Table 2.6 / 2.7)', async (t) => {
  const kd = (o: { oob?: boolean; sc?: boolean; mitm?: boolean }) => features('keyboardDisplay', o)
  t.equal(selectMethod(kd({ oob: true }), kd({ oob: true })).method, 'oob')
  t.equal(selectMethod(kd({ oob: true }), kd({})).method, 'justWorks', 'legacy, one flag, no MITM')
  t.equal(selectMethod(kd({ oob: true, mitm: true }), kd({})).method, 'passkey', 'legacy, one flag, MITM: the IO table')
  t.equal(selectMethod(kd({ oob: true, sc: true }), kd({ sc: true })).method, 'oob')
  t.equal(selectMethod(kd({ sc: true }), kd({ oob: true, sc: true })).method, 'oob')
  const c = selectMethod(kd({ oob: true, sc: true }), kd({ oob: true, sc: true }))
  t.same(c, { method: 'oob', secureConnections: true })
})

t.test('requirements: MITM with Just Works, SC only without SC -> Authentication Requirements', async (t) => {
  const jw = selectMethod(features('noInputNoOutput', { mitm: true }), features('keyboardDisplay'))
  t.equal(jw.method, 'justWorks')
  const err = t.throws(() => checkRequirements(jw, { mitm: true, secureConnectionsOnly: false })) as unknown as SmpError
  t.ok(err instanceof SmpError)
  t.equal(err.status, 0x03)
  t.equal(err.statusName, 'Authentication Requirements')
  t.doesNotThrow(() => checkRequirements(jw, { mitm: false, secureConnectionsOnly: false }))
  t.equal(
    reasonOf(() => checkRequirements(jw, { mitm: false, secureConnectionsOnly: true })),
    0x03,
  )
  const sc = selectMethod(features('displayYesNo', { sc: true, mitm: true }), features('displayYesNo', { sc: true }))
  t.doesNotThrow(() => checkRequirements(sc, { mitm: true, secureConnectionsOnly: true }))
})

t.test('key size: the smaller maximum, refused below the minimum', async (t) => {
  t.equal(negotiateKeySize(features('displayOnly', { max: 16 }), features('displayOnly', { max: 12 }), 7), 12)
  t.equal(negotiateKeySize(features('displayOnly', { max: 7 }), features('displayOnly', { max: 16 }), 7), 7)
  t.equal(negotiateKeySize(features('displayOnly'), features('displayOnly'), 16), 16)
  t.equal(
    reasonOf(() => negotiateKeySize(features('displayOnly', { max: 15 }), features('displayOnly'), 16)),
    0x06,
  )
})

t.test('received features out of range -> Invalid Parameters', async (t) => {
  t.doesNotThrow(() => checkFeatures(features('keyboardDisplay'), 'Pairing Request'))
  t.equal(
    reasonOf(() => checkFeatures({ ...features('displayOnly'), ioCapability: 5 }, 'Pairing Request')),
    0x0a,
  )
  t.equal(
    reasonOf(() => checkFeatures({ ...features('displayOnly'), oobDataFlag: 2 }, 'Pairing Request')),
    0x0a,
  )
  t.equal(
    reasonOf(() => checkFeatures(features('displayOnly', { max: 6 }), 'Pairing Response')),
    0x0a,
  )
  t.throws(() => checkFeatures(features('displayOnly', { max: 17 }), 'Pairing Response'), /outside 7\.\.16/)
})
