/**
 * The Wireshark oracle: what tshark (4.0) reads in a capture, in the shapes the tests compare our
 * decoders with. tshark is an independent implementation of the same specifications; where it
 * and we disagree, one of us is wrong, and the test says which frames.
 *
 * - `tsharkFrames`: one row per frame of the fields in FIELDS (one shared list, so all the test
 *   files that ask per-frame questions share one tshark run per trace);
 * - `tsharkAdvertisingData`, `tsharkAttBytes`: bytes as tshark delimits them with a dissector off;
 * - `l2capFrames`: L2CAP PDUs with raw bytes and every dissected field of one layer (`-T json -x`);
 * - `tsharkValueStrings`: a field's value names from the dissector (`-G values`), for tests whose
 *   expected names must not be a copy of our own tables.
 *
 * Every run goes through tshark-cache.ts (one run per trace and query, kept between runs).
 * Whether tshark is there, and what a test does when it is not: tools.ts (`missing('tshark')`).
 */
import { fromHex } from '../../hci/wire.ts'
import { remember, run, tsharkText, type TsharkOptions } from './tshark-cache.ts'

export { tsharkText, type TsharkOptions } from './tshark-cache.ts'

/** tshark prints numbers as "0x0c03" or "12"; both to a number. */
export function num(s: string | undefined): number | undefined {
  if (s === undefined || s === '') return undefined
  return s.startsWith('0x') ? parseInt(s, 16) : Number(s)
}

/** The fields read per frame, in `-e` order (the union of what the per-frame tests compare). */
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
  'bthci_evt.primary_phy',
  'bthci_evt.secondary_phy',
  'bthci_evt.advertising_sid',
  'bthci_evt.tx_power',
  'btcommon.eir_ad.entry.uuid_16',
  'btcommon.eir_ad.entry.company_id',
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

const FIELD_FORMAT = ['-T', 'fields', '-E', 'separator=/t', '-E', 'aggregator=|', '-E', 'occurrence=a'] as const

/** One entry per frame of `file`, indexed by frame number. */
export async function tsharkFrames(file: string, opts: TsharkOptions = {}): Promise<Map<number, TsharkFrame>> {
  const args = ['-n', ...FIELD_FORMAT, ...FIELDS.flatMap((f) => ['-e', f])]
  const out = new Map<number, TsharkFrame>()
  for (const line of lines(await tsharkText(file, args, opts))) {
    const cols = line.split('\t')
    const frame = {} as TsharkFrame
    FIELDS.forEach((f, i) => {
      const v = cols[i] ?? ''
      frame[f] = v === '' ? [] : v.split('|')
    })
    out.set(Number(frame['frame.number'][0]), frame)
  }
  return out
}

/** The non-empty lines of a text. */
export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '')
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
  const args = ['-n', '--disable-protocol', disable, '-Y', filter, ...FIELD_FORMAT, '-e', 'frame.number', '-e', field]
  for (const line of lines(await tsharkText(file, args))) {
    const [frame, data] = line.split('\t')
    out.set(Number(frame), data ? data.split('|').map((h) => h.replace(/:/g, '')) : [])
  }
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

/**
 * A field's value strings as the dissector declares them (`tshark -G values`, the "V" lines):
 * value -> name. An independent source of names and numbers for tests of our own tables. Where
 * several fields share the name (btatt.error_code has a table per profile), this is the first
 * table: the run of entries in increasing value order.
 */
export async function tsharkValueStrings(field: string): Promise<Map<number, string>> {
  // The whole table is some 90 MB; what is kept is the Bluetooth dissectors' part (fields bt*).
  const bluetooth = await remember(['-G values', 'V bt*'], async () =>
    lines(await run(['-G', 'values']))
      .filter((l) => l.startsWith('V\tbt'))
      .join('\n'),
  )
  const out = new Map<number, string>()
  let last = -1
  for (const line of lines(bluetooth)) {
    const [, name, value, text] = line.split('\t')
    if (name !== field || value === undefined || text === undefined) continue
    const v = num(value)!
    if (v <= last) break
    out.set(v, text)
    last = v
  }
  return out
}

// ------------------------------------------------------------------------------------------------
// L2CAP PDUs with raw bytes and the dissected fields of one layer (`-T json -x`)

export interface Field {
  name: string
  show: string
  /** Hex of the bytes this field covers; undefined for a generated field. */
  raw?: string
  /** Where those bytes are in the frame (or in tshark's reassembled buffer). */
  pos?: number
  len?: number
}

export interface OracleFrame {
  number: number
  chandle?: number
  malformed: boolean
  /** tshark reassembled this L2CAP PDU from several ACL fragments. */
  reassembled: boolean
  /** The whole L2CAP PDU (header included), as tshark delimited it. */
  l2cap: Uint8Array
  /** Position of the requested layer's first octet (same buffer as the fields' `pos`). */
  layerPos: number
  /** Fields of the requested protocol layer, depth first. */
  fields: Field[]
}

type Raw = [string, number, number, number, number]
const isRaw = (x: unknown): x is Raw => Array.isArray(x) && typeof x[0] === 'string' && typeof x[1] === 'number'

/**
 * Flatten a tshark JSON layer into fields in document order (duplicates merged by tshark),
 * telling fields read from the packet (they have raw bytes) from fields tshark generated
 * (request/response tracking, shown in [brackets]; no raw bytes).
 */
export function flatten(obj: unknown, out: Field[] = []): Field[] {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return out
  const o = obj as Record<string, unknown>
  for (const [k, v] of Object.entries(o)) {
    if (k.endsWith('_raw')) continue
    if (k.endsWith('_tree')) {
      for (const sub of Array.isArray(v) ? v : [v]) flatten(sub, out)
      continue
    }
    const values = Array.isArray(v) ? v : [v]
    const r = o[`${k}_raw`]
    const raws: Raw[] = r === undefined ? [] : isRaw(r) ? [r] : (r as Raw[])
    if (raws.length !== 0 && raws.length !== values.length) {
      throw new Error(`cannot pair ${values.length} values of ${k} with ${raws.length} raw entries`)
    }
    values.forEach((val, i) => {
      if (typeof val !== 'string') return void flatten(val, out)
      const f: Field = { name: k, show: val }
      const raw = raws[i]
      if (raw) {
        f.raw = raw[0].toLowerCase()
        f.pos = raw[1]
        f.len = raw[2]
      }
      out.push(f)
    })
  }
  return out
}

/**
 * Every frame matching `filter` that has an L2CAP layer, with the fields of `layer`
 * (e.g. "btatt"). The JSON is read one packet object at a time.
 */
export async function l2capFrames(
  file: string,
  filter: string,
  layer: string,
  opts: TsharkOptions = {},
): Promise<OracleFrame[]> {
  const args = ['-n', '-Y', filter, '-T', 'json', '-x', '--no-duplicate-keys']
  args.push('-J', `frame bthci_acl btl2cap ${layer} _ws.malformed`)
  const out: OracleFrame[] = []
  let chunk: string[] | undefined
  for (const line of (await tsharkText(file, args, opts)).split('\n')) {
    if (line === '  {') chunk = [line]
    else if (chunk) {
      chunk.push(line)
      if (line === '  }' || line === '  },') {
        const text = chunk.join('\n').replace(/,$/, '')
        chunk = undefined
        const f = toFrame(JSON.parse(text) as { _source: { layers: Record<string, unknown> } }, layer)
        if (f) out.push(f)
      }
    }
  }
  return out
}

function toFrame(pkt: { _source: { layers: Record<string, unknown> } }, layer: string): OracleFrame | undefined {
  const L = pkt._source.layers
  const frameRaw = L.frame_raw as Raw | undefined
  const l2 = L.btl2cap_raw
  if (!frameRaw || !l2) return undefined
  const l2raw: Raw = isRaw(l2) ? l2 : (l2 as Raw[])[0]!
  const lr = L[`${layer}_raw`]
  if (!lr) return undefined
  const layerRaw: Raw = isRaw(lr) ? lr : (lr as Raw[])[0]!
  const frame = L.frame as Record<string, string>
  const acl = (L.bthci_acl ?? {}) as Record<string, unknown>
  const ch = acl['bthci_acl.chandle']
  const hex = l2raw[0].toLowerCase()
  const inFrame = frameRaw[0].toLowerCase().slice(l2raw[1] * 2, (l2raw[1] + l2raw[2]) * 2) === hex
  const f: OracleFrame = {
    number: Number(frame['frame.number']),
    malformed: '_ws.malformed' in L,
    reassembled: !inFrame,
    l2cap: fromHex(hex),
    layerPos: layerRaw[1],
    fields: flatten(L[layer]),
  }
  if (typeof ch === 'string') f.chandle = parseInt(ch, 16)
  return f
}

/** First field of that name (read from the packet, or any when `generatedToo`). */
export function first(fields: Field[], name: string, generatedToo = false): Field | undefined {
  return fields.find((f) => f.name === name && (generatedToo || f.raw !== undefined))
}

export function all(fields: Field[], name: string): Field[] {
  return fields.filter((f) => f.name === name && f.raw !== undefined)
}
