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
 * The advertising data bytes of every advertising report, as tshark delimits them, by frame:
 * read from tshark's JSON output with raw bytes (`-x`), line by line so that memory stays flat.
 */
export async function tsharkAdvertisingData(file: string): Promise<Map<number, string[]>> {
  const filter = [2, 11, 13].map((s) => `bthci_evt.le_meta_subevent == ${s}`).join(' || ')
  const out = new Map<number, string[]>()
  let frame = 0
  let expectHex = false
  await runLines(['-r', file, '-n', '-Y', filter, '-T', 'json', '-x'], (line) => {
    const t = line.trim()
    if (expectHex) {
      expectHex = false
      const m = /^"([0-9a-f]*)"/.exec(t)
      if (m) {
        const list = out.get(frame) ?? []
        list.push(m[1]!)
        out.set(frame, list)
      }
      return
    }
    const fn = /^"frame\.number": "(\d+)"/.exec(t)
    if (fn) {
      frame = Number(fn[1])
      return
    }
    if (t.startsWith('"btcommon.eir_ad.advertising_data_raw": [')) expectHex = true
  })
  return out
}

/**
 * The bytes of each ATT PDU (as tshark delimits it: `btatt_raw`) for the frames `filter` selects,
 * by frame. Used where tshark interprets an attribute value by its UUID (a CCCD, a name, ...)
 * and so prints no `btatt.value`: the value is then the PDU's bytes after its fixed header.
 */
export async function tsharkAttBytes(file: string, filter: string): Promise<Map<number, string>> {
  const out = new Map<number, string>()
  let frame = 0
  let expectHex = false
  await runLines(['-r', file, '-n', '-Y', filter, '-T', 'json', '-x', '-J', 'frame btatt'], (line) => {
    const t = line.trim()
    if (expectHex) {
      expectHex = false
      const m = /^"([0-9a-f]*)"/.exec(t)
      if (m) out.set(frame, m[1]!)
      return
    }
    const fn = /^"frame\.number": "(\d+)"/.exec(t)
    if (fn) {
      frame = Number(fn[1])
      return
    }
    if (t.startsWith('"btatt_raw": [')) expectHex = true
  })
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
