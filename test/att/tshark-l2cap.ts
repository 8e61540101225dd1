/**
 * Test helper: the L2CAP frames of a capture as tshark 4.0 sees them, with the raw bytes tshark
 * itself delimits (`-T json -x`), and every dissected field of the layers we ask for in document
 * order, telling fields read from the packet (they have raw bytes) from fields tshark generated
 * (request/response tracking, shown in [brackets]; no raw bytes).
 *
 * The JSON is read one packet object at a time, so memory stays flat on large captures.
 */
import { spawn, spawnSync } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fromHex } from '../../hci/wire.ts'

export function haveTshark(): boolean {
  return spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0
}

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

/** Flatten a tshark JSON layer into fields in document order (duplicates merged by tshark). */
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
      if (typeof val === 'string') {
        const f: Field = { name: k, show: val }
        const raw = raws[i]
        if (raw) {
          f.raw = raw[0].toLowerCase()
          f.pos = raw[1]
          f.len = raw[2]
        }
        out.push(f)
      } else {
        flatten(val, out)
      }
    })
  }
  return out
}

/**
 * Every frame matching `filter` that has an L2CAP layer, with the fields of `layer`
 * (e.g. "btatt"). Runs tshark once.
 */
export async function l2capFrames(file: string, filter: string, layer: string): Promise<OracleFrame[]> {
  const args = [
    '-r',
    file,
    '-n',
    '-Y',
    filter,
    '-T',
    'json',
    '-x',
    '--no-duplicate-keys',
    '-J',
    `frame bthci_acl btl2cap ${layer} _ws.malformed`,
  ]
  const child = spawn('tshark', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 4000) stderr += d.toString()
  })
  const out: OracleFrame[] = []
  let chunk: string[] | undefined
  const rl = createInterface({ input: child.stdout, crlfDelay: Infinity })
  for await (const line of rl) {
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
  const code: number = await new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode)
    else child.on('close', (c) => resolve(c ?? 1))
  })
  if (code !== 0) throw new Error(`tshark ${args.join(' ')} exited ${code}: ${stderr}`)
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

/** tshark prints numbers as "0x0c03" or "12"; both to a number. */
export function num(s: string | undefined): number | undefined {
  if (s === undefined || s === '') return undefined
  return s.startsWith('0x') ? parseInt(s, 16) : Number(s)
}

export const REAL = new URL('../../../shared/fixtures/real/', import.meta.url)
