/**
 * tshark (Wireshark 4.0) as an independent oracle for the L2CAP frames our stack sends: a session
 * between two of our muxes (parameter update, CoC refused and opened, segmented SDUs both ways,
 * credits, Command Rejects, disconnection) is written as a btsnoop capture, one ACL packet per
 * B-frame as the central's host sees it, and tshark's btl2cap fields must agree with what we meant
 * to send, with zero malformed frames.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BtsnoopWriter } from '../../../hci/snoop.ts'
import { encodeAcl, PB } from '../../../hci/acl.ts'
import { H4_ACL } from '../../../hci/snoop.ts'
import { fromHex } from '../../../hci/wire.ts'
import { missing } from '../../helpers/tools.ts'
import { muxPair, settle } from './peer.ts'
import type { CreditChannel } from '../../../att/l2cap/credit.ts'

const FIELDS = [
  'frame.number',
  'btl2cap.cid',
  'btl2cap.cmd_code',
  'btl2cap.cmd_ident',
  'btl2cap.min_interval',
  'btl2cap.max_interval',
  'btl2cap.slave_latency',
  'btl2cap.timeout_multiplier',
  'btl2cap.result',
  'btl2cap.le_psm',
  'btl2cap.scid',
  'btl2cap.dcid',
  'btl2cap.option_mtu',
  'btl2cap.mps',
  'btl2cap.initial_credits',
  'btl2cap.le_result',
  'btl2cap.credits',
  'btl2cap.rej_reason',
  'btl2cap.le_sdu_length',
  'btl2cap.le_sdu.reassembled.length',
  '_ws.malformed',
  '_ws.expert.severity',
] as const
type Row = Record<(typeof FIELDS)[number], string> & { from: string }

t.test(
  'our signalling and CoC frames as tshark decodes them',
  { skip: missing('tshark') }, // skipped without it, a failure under CI (test/helpers/tools.ts)
  async (t) => {
    const pair = muxPair({ record: true, link: { schedule: setImmediate } })
    const { central, peripheral } = pair

    // 1. Connection parameter update, asked by the peripheral, accepted by the central.
    t.equal(
      await peripheral.signaling.requestConnectionParameterUpdate({
        intervalMin: 6,
        intervalMax: 12,
        latency: 0,
        timeout: 100,
      }),
      true,
    )
    // 2. A refused CoC (no listener on 0x0090).
    await peripheral.connect(0x90).catch(() => {})
    // 3. A CoC opened by the central; SDUs both ways with segmentation and credits.
    let acc: CreditChannel | undefined
    peripheral.listen(0x80, { mtu: 1000, mps: 100, initialCredits: 2 }, (c) => (acc = c))
    const ch = await central.connect(0x80, { mtu: 1000, mps: 64, initialCredits: 2 })
    await settle()
    const fromCentral: number[] = []
    acc!.on('data', (s: Uint8Array) => fromCentral.push(s.length))
    const fromPeripheral: number[] = []
    ch.on('data', (s: Uint8Array) => fromPeripheral.push(s.length))
    await ch.sendSdu(new Uint8Array(250).fill(0xc1))
    for (let i = 0; i < 3; i++) await acc!.sendSdu(new Uint8Array(150).fill(i))
    await settle()
    await settle()
    t.same(fromCentral, [250])
    t.same(fromPeripheral, [150, 150, 150])
    // 4. Command Rejects from the central: unknown code, Disconnection Request for an unknown CID
    //    (the two commands are hand-written, as a misbehaving peer would send them).
    const injected = new Set([pair.frames.length, pair.frames.length + 1])
    await pair.links[1].send(fromHex('040005001b070000'))
    await pair.links[1].send(fromHex('08000500060804007f007e00'))
    await settle()
    // 5. The central disconnects the channel.
    await ch.disconnect()
    await settle()

    const dir = mkdtempSync(join(tmpdir(), 'hcikit-l2cap-'))
    if (!process.env.KEEP_CAPTURE) t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    else t.comment(dir)
    const file = join(dir, 'l2cap.btsnoop')
    const chunks: Uint8Array[] = []
    const w = new BtsnoopWriter({ write: (c: Uint8Array) => void chunks.push(c.slice()) })
    // HCI LE Connection Complete (Vol 4 Part E 7.7.65.1), by hand: status 0, handle 0x0040, role
    // central, peer public 66:55:44:33:22:11, interval 6, latency 0, timeout 100, clock accuracy 0.
    // It gives tshark the connection handle session the ACL packets belong to.
    w.write({
      timestampUs: 1_699_999_999_000_000n,
      direction: 'rx',
      packetType: 0x04,
      data: fromHex('3e13 01 00 4000 00 00 112233445566 0600 0000 6400 00'.replace(/\s/g, '')),
    })
    pair.frames.forEach(({ from, frame }, i) => {
      // Host to controller: first non-flushable; controller to host: first flushable (Vol 4 Part E 5.4.2).
      const acl = encodeAcl(0x0040, from === 'central' ? PB.FirstNonFlushable : PB.FirstFlushable, 0, frame)
      w.write({
        timestampUs: BigInt(1_700_000_000_000_000 + i * 1000),
        direction: from === 'central' ? 'tx' : 'rx',
        packetType: H4_ACL,
        data: acl,
      })
    })
    await w.flush()
    writeFileSync(file, Buffer.concat(chunks))

    const args = [
      '-r',
      file,
      '-n',
      '-T',
      'fields',
      '-E',
      'separator=|',
      '-E',
      'occurrence=f',
      ...FIELDS.flatMap((f) => ['-e', f]),
    ]
    const r = spawnSync('tshark', args, { encoding: 'utf8' })
    t.equal(r.status, 0, r.stderr)
    const rows: Row[] = r.stdout
      .trim()
      .split('\n')
      .slice(1) // the connection complete event
      .map((line, i) => {
        const v = line.split('|')
        const row = Object.fromEntries(FIELDS.map((f, j) => [f, v[j] ?? ''])) as Row
        row.from = injected.has(i) ? 'injected' : pair.frames[i]!.from
        return row
      })
    t.equal(rows.length, pair.frames.length, 'one tshark frame per B-frame')
    t.same(
      rows.filter(
        (x) => x.from !== 'injected' && (x['_ws.malformed'] !== '' || x['_ws.expert.severity'] === '8388608'),
      ),
      [],
      'zero malformed frames of ours, no error-level expert info',
    )

    const num = (s: string): number => (s.startsWith('0x') ? parseInt(s, 16) : Number(s))
    const sig = rows.filter((x) => x['btl2cap.cmd_code'] !== '')
    const codes = sig.map((x) => `${x.from[0]}:${num(x['btl2cap.cmd_code']).toString(16)}`)
    t.same(codes.slice(0, 6), ['p:12', 'c:13', 'p:14', 'c:15', 'c:14', 'p:15'], 'the order of the commands')

    const cpuReq = sig[0]!
    t.match(cpuReq, {
      'btl2cap.min_interval': '6',
      'btl2cap.max_interval': '12',
      'btl2cap.slave_latency': '0',
      'btl2cap.timeout_multiplier': '100',
    })
    t.equal(num(sig[1]!['btl2cap.result']), 0, 'accepted')
    t.equal(num(sig[1]!['btl2cap.cmd_ident']), num(cpuReq['btl2cap.cmd_ident']), 'same identifier')

    const refusedReq = sig[2]!
    t.equal(num(refusedReq['btl2cap.le_psm']), 0x90)
    t.equal(num(sig[3]!['btl2cap.le_result']), 0x0002, 'refused: SPSM not supported')

    const req = sig[4]!
    const rsp = sig[5]!
    t.equal(num(req['btl2cap.le_psm']), 0x80)
    t.equal(num(req['btl2cap.scid']), ch.localCid)
    t.match(req, { 'btl2cap.option_mtu': '1000', 'btl2cap.mps': '64', 'btl2cap.initial_credits': '2' })
    t.equal(num(rsp['btl2cap.dcid']), acc!.localCid)
    t.match(rsp, { 'btl2cap.option_mtu': '1000', 'btl2cap.mps': '100', 'btl2cap.initial_credits': '2' })
    t.equal(num(rsp['btl2cap.le_result']), 0)

    const credits = sig.filter((x) => num(x['btl2cap.cmd_code']) === 0x16)
    t.ok(credits.length >= 2, `${credits.length} Flow Control Credit Indications`)
    for (const c of credits) t.ok(num(c['btl2cap.credits']) > 0, 'credits field')

    // K-frames: tshark follows the channel from the request/response and reassembles the SDUs.
    const kframes = rows.filter((x) => num(x['btl2cap.cid']) >= 0x40)
    const starts = kframes.filter((x) => x['btl2cap.le_sdu_length'] !== '')
    t.same(
      starts.map((x) => `${x.from[0]}:${x['btl2cap.le_sdu_length']}`),
      ['c:250', 'p:150', 'p:150', 'p:150'],
      'SDU Length in the first K-frame of each SDU',
    )
    t.same(
      kframes
        .filter((x) => x['btl2cap.le_sdu.reassembled.length'] !== '')
        .map((x) => x['btl2cap.le_sdu.reassembled.length']),
      ['250', '150', '150', '150'],
      'tshark reassembles each SDU to its full length',
    )
    t.equal(kframes.filter((x) => x.from === 'central').length, 3, '250 octets at MPS 100: 98 + 100 + 52')
    t.equal(kframes.filter((x) => x.from === 'peripheral').length, 9, '150 octets at MPS 64: 62 + 64 + 24, three times')

    const rejects = sig.filter((x) => num(x['btl2cap.cmd_code']) === 0x01)
    t.same(
      rejects.map((x) => [x.from, num(x['btl2cap.cmd_ident']), num(x['btl2cap.rej_reason'])]),
      [
        ['central', 7, 0x0000],
        ['central', 8, 0x0002],
      ],
      'Command not understood, Invalid CID in request',
    )

    const disc = sig.filter((x) => num(x['btl2cap.cmd_code']) === 0x06 && x.from === 'central')
    t.equal(disc.length, 1)
    t.equal(num(disc[0]!['btl2cap.dcid']), acc!.localCid)
    t.equal(num(disc[0]!['btl2cap.scid']), ch.localCid)
    const discRsp = sig.filter((x) => num(x['btl2cap.cmd_code']) === 0x07)
    t.equal(discRsp.length, 1)
    t.equal(discRsp[0]!.from, 'peripheral')
  },
)
