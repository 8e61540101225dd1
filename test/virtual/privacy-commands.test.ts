/**
 * The resolving list commands of the virtual controller, byte for byte (Core v5.4 Vol 4 Part E
 * 7.8.38-7.8.45, 7.8.77; events 7.7.14 written by hand), their error statuses, the supported
 * commands bits (6.27) and LE features (Vol 6 Part B 4.6, bits 6 and 7), with tshark reading the
 * same bytes. RPAs are checked with AES-128 straight from Vol 3 Part H 2.2.2 (not the code's ah).
 */
import t from 'tap'
import { createCipheriv } from 'node:crypto'
import { world, rawOn, settle } from '../helpers/virtual.ts'
import { missing } from '../helpers/tools.ts'
import { tsharkFieldsOf } from '../helpers/virtual-capture.ts'
import { fromHex, toHex } from '../../hci/wire.ts'

/** HCI parameters are least significant octet first; the specs print numbers most significant first. */
const le = (msbHex: string): string => toHex(fromHex(msbHex).reverse())
const addrLe = (a: string): string => le(a.replace(/:/g, ''))

const IRK_A = 'ec0234a357c8ad05341010a60a397d9b' // Vol 3 Part H D.7
const IRK_B = '000102030405060708090a0b0c0d0e0f'
const ZERO = '00'.repeat(16)
const PEER = '11:22:33:44:55:66'
const PEER2 = 'C1:22:33:44:55:77'

/** Does the RPA (as the 6 octets of an HCI event, LSO first) resolve with `irkMsb`? (Vol 3 Part H 2.2.2) */
function resolvesWith(irkMsb: string, rpaLe: string): boolean {
  const b = fromHex(rpaLe).reverse() // MSB first: prand (3 octets), hash (3 octets)
  if (b[0]! >> 6 !== 0b01) return false
  const c = createCipheriv('aes-128-ecb', fromHex(irkMsb), null)
  c.setAutoPadding(false)
  const r = Buffer.alloc(16)
  r.set(b.subarray(0, 3), 13)
  const e = Buffer.concat([c.update(r), c.final()])
  return toHex(e.subarray(13)) === toHex(b.subarray(3))
}

const add = (type: number, address: string, peerIrk: string, localIrk: string): string =>
  `272027 ${type.toString(16).padStart(2, '0')} ${addrLe(address)} ${le(peerIrk)} ${le(localIrk)}`

async function setup() {
  const w = world()
  const r = rawOn(w, { address: 'AA:BB:CC:DD:EE:01' })
  const ask = async (hex: string): Promise<string[]> => {
    r.raw.command(hex)
    await settle()
    return r.raw.takeEvents()
  }
  return { w, ...r, ask }
}

t.test('resolving list commands answered byte for byte', async (t) => {
  const { ask } = await setup()
  t.same(await ask('2a2000'), ['0e05012a200010'], 'Read Resolving List Size: 16')
  t.same(await ask(add(0, PEER, IRK_A, IRK_B)), ['0e0401272000'], 'Add (public identity)')
  t.same(await ask(add(1, PEER2, ZERO, IRK_B)), ['0e0401272000'], 'Add (random identity, no peer IRK)')
  t.same(await ask(add(0, PEER, IRK_B, ZERO)), ['0e0401272012'], 'the same identity again: 0x12')
  t.same(await ask(add(1, 'C1:00:00:00:00:09', IRK_A, ZERO)), ['0e0401272012'], 'the same peer IRK again: 0x12')
  t.same(await ask(add(2, 'C1:00:00:00:00:09', ZERO, ZERO)), ['0e0401272012'], 'identity type 2: 0x12')
  t.same(await ask(`2b2007 00 ${addrLe(PEER)}`), ['0e0a012b2002000000000000'], 'no peer RPA heard yet: 0x02')
  t.same(await ask(`2c2007 01 ${addrLe('C1:00:00:00:00:09')}`), ['0e0a012c2002000000000000'], 'not listed: 0x02')
  const local = await ask(`2c2007 00 ${addrLe(PEER)}`)
  t.match(local[0], /^0e0a012c2000[0-9a-f]{12}$/, 'Read Local Resolvable Address')
  t.ok(resolvesWith(IRK_B, local[0]!.slice(12)), 'our RPA toward PEER resolves with the local IRK')
  t.same(await ask(`2c2007 00 ${addrLe(PEER)}`), local, 'the same RPA until the timeout')
  t.same(await ask(`4e2008 00 ${addrLe(PEER)} 01`), ['0e04014e2000'], 'Set Privacy Mode: device')
  t.same(await ask(`4e2008 00 ${addrLe(PEER)} 02`), ['0e04014e2012'], 'privacy mode 2: 0x12')
  t.same(await ask(`4e2008 01 ${addrLe(PEER)} 00`), ['0e04014e2002'], 'unknown identity: 0x02')
  t.same(await ask('2d200101'), ['0e04012d2000'], 'Set Address Resolution Enable')
  t.same(await ask('2d200102'), ['0e04012d2012'], 'enable 2: 0x12')
  t.same(await ask('2e20020000'), ['0e04012e2012'], 'RPA timeout 0: 0x12')
  t.same(await ask('2e2002110e'), ['0e04012e2012'], 'RPA timeout 0x0E11 (> 1 hour): 0x12')
  t.same(await ask('2e2002100e'), ['0e04012e2000'], 'RPA timeout 0x0E10 (1 hour)')
  t.same(await ask(`282007 01 ${addrLe(PEER)}`), ['0e0401282002'], 'Remove an identity not listed: 0x02')
  t.same(await ask(`282007 00 ${addrLe(PEER)}`), ['0e0401282000'], 'Remove')
  t.same(await ask('292000'), ['0e0401292000'], 'Clear')
  t.same(await ask(`2c2007 01 ${addrLe(PEER2)}`), ['0e0a012c2002000000000000'], 'cleared')
})

t.test('a full list: Memory Capacity Exceeded (0x07); Reset empties it', async (t) => {
  const { ask } = await setup()
  for (let i = 0; i < 16; i++) {
    const a = `C1:00:00:00:00:${i.toString(16).padStart(2, '0')}`
    t.same(await ask(add(1, a, ZERO, ZERO)), ['0e0401272000'])
  }
  t.same(await ask(add(1, 'C1:00:00:00:01:00', ZERO, ZERO)), ['0e0401272007'])
  t.same(await ask('030c00'), ['0e0401030c00'], 'Reset')
  t.same(await ask(add(1, 'C1:00:00:00:01:00', ZERO, ZERO)), ['0e0401272000'], 'room again')
})

t.test('Command Disallowed (0x0C) while address resolution is in use', async (t) => {
  const { ask } = await setup()
  t.same(await ask('0b2007 00 1000 1000 00 00'), ['0e04010b2000'], 'LE Set Scan Parameters')
  t.same(await ask('0c20020100'), ['0e04010c2000'], 'scanning')
  t.same(await ask(add(0, PEER, IRK_A, ZERO)), ['0e0401272000'], 'resolution disabled: the list may change')
  t.same(await ask('2d200101'), ['0e04012d200c'], 'Set Address Resolution Enable while scanning: 0x0C')
  t.same(await ask('0c20020000'), ['0e04010c2000'], 'scanning stopped')
  t.same(await ask('2d200101'), ['0e04012d2000'], 'resolution enabled')
  t.same(await ask('0c20020100'), ['0e04010c2000'], 'scanning again')
  t.same(await ask(add(1, PEER2, ZERO, ZERO)), ['0e040127200c'], 'Add: 0x0C')
  t.same(await ask(`282007 00 ${addrLe(PEER)}`), ['0e040128200c'], 'Remove: 0x0C')
  t.same(await ask('292000'), ['0e040129200c'], 'Clear: 0x0C')
  t.same(await ask(`4e2008 00 ${addrLe(PEER)} 01`), ['0e04014e200c'], 'Set Privacy Mode: 0x0C')
  t.same(await ask('2a2000'), ['0e05012a200010'], 'reading is fine')
  t.same(await ask('2e20020a00'), ['0e04012e2000'], 'and so is the RPA timeout')
})

t.test('supported commands (6.27) and LE features (Vol 6 Part B 4.6) say so', async (t) => {
  const { ask } = await setup()
  const commands = fromHex((await ask('021000'))[0]!.slice(12))
  // Vol 4 Part E 6.27: octet 27 bits 6-7 LE Encrypt / LE Rand; octet 34 bits 3-7, octet 35 bits 0-2
  // the resolving list commands 7.8.38-7.8.45; octet 39 bit 2 LE Set Privacy Mode.
  for (const [octet, bit, name] of [
    [27, 6, 'LE Encrypt'],
    [27, 7, 'LE Rand'],
    [34, 3, 'LE Add Device To Resolving List'],
    [34, 4, 'LE Remove Device From Resolving List'],
    [34, 5, 'LE Clear Resolving List'],
    [34, 6, 'LE Read Resolving List Size'],
    [34, 7, 'LE Read Peer Resolvable Address'],
    [35, 0, 'LE Read Local Resolvable Address'],
    [35, 1, 'LE Set Address Resolution Enable'],
    [35, 2, 'LE Set Resolvable Private Address Timeout'],
    [39, 2, 'LE Set Privacy Mode'],
  ] as const) {
    t.equal((commands[octet]! >> bit) & 1, 1, `${name}: octet ${octet} bit ${bit}`)
  }
  const features = fromHex((await ask('032000'))[0]!.slice(12))
  t.equal((features[0]! >> 6) & 1, 1, 'LE feature bit 6: LL Privacy')
  t.equal((features[0]! >> 7) & 1, 1, 'LE feature bit 7: Extended Scanner Filter Policies')
})

t.test('tshark reads the same commands and answers', { skip: missing('tshark') }, async (t) => {
  const { raw, ask } = await setup()
  await ask(add(0, PEER, IRK_A, IRK_B))
  await ask('2a2000')
  await ask(`2c2007 00 ${addrLe(PEER)}`)
  await ask(`4e2008 00 ${addrLe(PEER)} 01`)
  await ask('2d200101')
  await ask('2e20020a00')
  await ask('032000')
  const f = tsharkFieldsOf(raw.log, [
    'bthci_cmd.opcode',
    'bthci_evt.opcode',
    'bthci_evt.status',
    'bthci_cmd.le_peer_identity_address_type',
    'bthci_cmd.bd_addr',
    'bthci_cmd.le_peer_irk',
    'bthci_cmd.le_local_irk',
    'bthci_evt.resolving_list_size',
    'bthci_cmd.le_privacy_mode',
    'bthci_cmd.le_address_resolution_enable',
    'bthci_cmd.le_rpa_timeout',
    'bthci_evt.le_features.ll_privacy',
    'bthci_evt.le_features.extended_scanner_filter_policies',
    '_ws.malformed',
  ])
  t.equal(f.length, 14, 'seven commands, seven answers')
  t.same(
    f.flatMap((x) => x['_ws.malformed']),
    [],
    'no malformed frame',
  )
  t.same(
    f.filter((_, i) => i % 2 === 0).map((x) => x['bthci_cmd.opcode']![0]),
    ['0x2027', '0x202a', '0x202c', '0x204e', '0x202d', '0x202e', '0x2003'],
  )
  t.same(
    f.filter((_, i) => i % 2 === 1).map((x) => x['bthci_evt.opcode']![0]),
    ['0x2027', '0x202a', '0x202c', '0x204e', '0x202d', '0x202e', '0x2003'],
    'each answered by its Command Complete',
  )
  t.same(
    f.filter((_, i) => i % 2 === 1).map((x) => x['bthci_evt.status']![0]),
    ['0x00', '0x00', '0x00', '0x00', '0x00', '0x00', '0x00'],
  )
  t.same(f[0]!['bthci_cmd.bd_addr'], [PEER.toLowerCase()])
  t.same(f[0]!['bthci_cmd.le_peer_identity_address_type'], ['0x00'])
  t.equal(f[0]!['bthci_cmd.le_peer_irk']![0]!.replace(/:/g, ''), le(IRK_A))
  t.equal(f[0]!['bthci_cmd.le_local_irk']![0]!.replace(/:/g, ''), le(IRK_B))
  t.same(f[3]!['bthci_evt.resolving_list_size'], ['16'])
  t.same(f[6]!['bthci_cmd.le_privacy_mode'], ['0x01'])
  t.same(f[8]!['bthci_cmd.le_address_resolution_enable'], ['0x01'])
  t.same(f[10]!['bthci_cmd.le_rpa_timeout'], ['10'])
  t.same(f[13]!['bthci_evt.le_features.ll_privacy'], ['1'])
  t.same(f[13]!['bthci_evt.le_features.extended_scanner_filter_policies'], ['1'])
})
