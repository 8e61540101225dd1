/**
 * The Wireshark oracle: run tshark on a capture and read back, per frame, the fields we compare
 * our decoder with. tshark is an independent implementation of the same specifications; where it
 * and we disagree, one of us is wrong, and the test says which frames.
 */
import { spawn, spawnSync } from 'node:child_process'
import { createInterface } from 'node:readline'

export function haveTshark(): boolean {
  return spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0
}

/** The fields read per frame, in `-e` order. */
export const FIELDS = [
  'frame.number',
  'hci_h4.direction',
  'hci_h4.type',
  'bthci_cmd.opcode',
  'bthci_evt.code',
  'bthci_evt.le_meta_subevent',
  'bthci_evt.bd_addr',
  'bthci_evt.le_peer_address_type',
  'bthci_evt.rssi',
  'bthci_evt.data_length',
  'bthci_evt.le_advts_event_type',
  'bthci_evt.le_ext_advts_event_type',
  'bthci_acl.chandle',
  'bthci_acl.pb_flag',
  'bthci_acl.length',
  'btl2cap.cid',
  'btl2cap.length',
  'btatt.opcode',
  'btatt.handle',
  'btatt.value',
  'btsmp.opcode',
  'btl2cap.cmd_code',
  '_ws.malformed',
  'hci_mon.opcode',
] as const

export type FieldName = (typeof FIELDS)[number]
/** Each field's occurrences in the frame (tshark's aggregator), as tshark printed them. */
export type TsharkFrame = Record<FieldName, string[]>

/** Run tshark once over a file and return one entry per frame, indexed by frame number. */
export async function tsharkFrames(file: string): Promise<Map<number, TsharkFrame>> {
  const args = ['-r', file, '-n', '-T', 'fields', '-E', 'separator=/t', '-E', 'aggregator=|', '-E', 'occurrence=a']
  for (const f of FIELDS) args.push('-e', f)
  const out = new Map<number, TsharkFrame>()
  await runLines(args, (line) => {
    const cols = line.split('\t')
    const frame = {} as TsharkFrame
    FIELDS.forEach((f, i) => {
      const v = cols[i] ?? ''
      frame[f] = v === '' ? [] : v.split('|')
    })
    out.set(Number(frame['frame.number'][0]), frame)
  })
  return out
}

/**
 * Bytes as tshark delimits them when the dissector that would interpret them is switched off:
 * with `btcommon` disabled an advertising report's data is handed whole to the `data` protocol,
 * and with `btatt` disabled L2CAP shows an ATT PDU as its payload. Returns the field by frame,
 * one entry per occurrence. (Reading tshark's JSON with raw bytes gives the same answer 20 times slower.)
 */
async function tsharkDataBytes(
  file: string,
  disable: string,
  filter: string,
  field = 'data.data',
): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>()
  const args = ['-r', file, '-n', '--disable-protocol', disable, '-Y', filter, '-T', 'fields']
  args.push('-E', 'separator=/t', '-E', 'aggregator=|', '-E', 'occurrence=a', '-e', 'frame.number', '-e', field)
  await runLines(args, (line) => {
    const [frame, data] = line.split('\t')
    out.set(Number(frame), data ? data.split('|').map((h) => h.replace(/:/g, '')) : [])
  })
  return out
}

/** The advertising data bytes of every advertising report (legacy, directed, extended), by frame. */
export function tsharkAdvertisingData(file: string): Promise<Map<number, string[]>> {
  const filter = [2, 11, 13].map((s) => `bthci_evt.le_meta_subevent == ${s}`).join(' || ')
  return tsharkDataBytes(file, 'btcommon', filter)
}

/**
 * The bytes of each ATT PDU on CID 4, by frame. Used where tshark interprets an attribute value
 * by its type (a CCCD, a name, ...) and so prints no `btatt.value`: the value is then the PDU's
 * bytes after its fixed header.
 */
export async function tsharkAttBytes(file: string): Promise<Map<number, string>> {
  const m = await tsharkDataBytes(file, 'btatt', 'btl2cap.cid == 4', 'btl2cap.payload')
  const out = new Map<number, string>()
  for (const [k, v] of m) if (v[0] !== undefined) out.set(k, v[0])
  return out
}

async function runLines(args: string[], onLine: (line: string) => void): Promise<void> {
  const child = spawn('tshark', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 4000) stderr += d.toString()
  })
  const rl = createInterface({ input: child.stdout, crlfDelay: Infinity })
  for await (const line of rl) onLine(line)
  const code: number = await new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode)
    else child.on('close', (c) => resolve(c ?? 1))
  })
  if (code !== 0) throw new Error(`tshark ${args.join(' ')} exited ${code}: ${stderr}`)
}

/** tshark prints numbers as "0x0c03" or "12"; both to a number. */
export function num(s: string | undefined): number | undefined {
  if (s === undefined || s === '') return undefined
  return s.startsWith('0x') ? parseInt(s, 16) : Number(s)
}
