/**
 * The Wireshark oracle for GATT databases in a capture: what tshark 4.0 shows a device's server
 * answered (Core v5.4 Vol 3 Part G 4.4-4.7 discovery, 4.8 reads), read from tshark's PDML (one
 * element per field, nested, in wire order; `size="0"` marks fields tshark generated rather than
 * found in the packet). Independent of hcikit's decoders: the services, characteristic
 * declarations, Find Information entries and read values are tshark's.
 *
 * Links are told apart as tshark sees them: LE (Enhanced) Connection Complete and Connection
 * Complete name the peer of a connection handle until Disconnection Complete.
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { tsharkAttBytes } from './tshark.ts'

export interface Field {
  name: string
  show: string
  value: string | undefined
  size: number
  children: Field[]
}

/** Each packet's fields (frame.number included), parsed from `tshark -T pdml`. */
export async function pdmlPackets(file: string, filter: string, onPacket: (fields: Field[]) => void): Promise<void> {
  const child = spawn('tshark', ['-r', file, '-n', '-T', 'pdml', '-Y', filter], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 4000) stderr += d.toString()
  })
  const exited = new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)))
  let stack: Field[] = []
  let top: Field[] = []
  const attr = (line: string, a: string): string | undefined => {
    const m = new RegExp(` ${a}="([^"]*)"`).exec(line)
    return m
      ? m[1]!
          .replace(/&quot;/g, '"')
          .replace(/&lt;/g, '<')
          .replace(/&gt;/g, '>')
          .replace(/&amp;/g, '&')
      : undefined
  }
  for await (const raw of createInterface({ input: child.stdout, crlfDelay: Infinity })) {
    const line = raw.trim()
    if (line.startsWith('<packet')) {
      stack = []
      top = []
    } else if (line.startsWith('</packet')) onPacket(top)
    else if (line.startsWith('<field') || line.startsWith('<proto')) {
      const f: Field = {
        name: attr(line, 'name') ?? '',
        show: attr(line, 'show') ?? '',
        value: attr(line, 'value'),
        size: Number(attr(line, 'size') ?? 0),
        children: [],
      }
      ;(stack.at(-1)?.children ?? top).push(f)
      if (!line.endsWith('/>')) stack.push(f)
    } else if (line.startsWith('</field') || line.startsWith('</proto')) stack.pop()
  }
  const code = await exited
  if (code !== 0) throw new Error(`tshark -Y '${filter}' on ${file} exited ${code}: ${stderr}`)
}

/** Depth-first search for fields by name. */
export function find(fields: Field[], name: string): Field[] {
  const out: Field[] = []
  const walk = (fs: Field[]): void => {
    for (const f of fs) {
      if (f.name === name) out.push(f)
      walk(f.children)
    }
  }
  walk(fields)
  return out
}

const num = (s: string): number => (s.startsWith('0x') ? parseInt(s, 16) : Number(s))
/** "2a00" for a 16-bit UUID, the dashed 128-bit form (from tshark's colon-separated octets, little-endian) else. */
function uuidOf(f: Field): string {
  if (f.name.endsWith('uuid16')) return num(f.show).toString(16).padStart(4, '0')
  const hex = f.show.replace(/:/g, '')
  const be = hex.match(/../g)!.reverse().join('')
  return `${be.slice(0, 8)}-${be.slice(8, 12)}-${be.slice(12, 16)}-${be.slice(16, 20)}-${be.slice(20)}`
}

export interface TsharkService {
  handle: number
  endHandle: number
  uuid: string
  primary: boolean
}
export interface TsharkCharacteristic {
  handle: number
  valueHandle: number
  properties: number
  uuid: string
}
export interface TsharkGatt {
  services: Map<number, TsharkService>
  characteristics: Map<number, TsharkCharacteristic>
  /** Find Information: handle -> type. */
  information: Map<number, string>
  /** Read Responses by the request's handle (the last one; Read Blob parts appended). */
  values: Map<number, string>
  /** The primary services were searched up to 0xFFFF (a response ending there, or Attribute Not Found). */
  servicesComplete: boolean
}

/** Which peer each frame's ACL handle reached, from tshark's connection events. */
async function linkOwners(file: string): Promise<(frame: number, handle: number) => string | undefined> {
  const spans: Array<{ handle: number; peer: string; from: number; to: number }> = []
  const filter =
    'bthci_evt.le_meta_subevent == 0x01 || bthci_evt.le_meta_subevent == 0x0a || bthci_evt.code == 0x03 || bthci_evt.code == 0x05'
  await pdmlPackets(file, filter, (fs) => {
    const frame = num(find(fs, 'frame.number')[0]!.show)
    const status = find(fs, 'bthci_evt.status')[0]?.show
    const handle = find(fs, 'bthci_evt.connection_handle')[0]
    if (!handle || (status !== undefined && num(status) !== 0)) return
    const h = num(handle.show) & 0xfff
    const code = num(find(fs, 'bthci_evt.code')[0]!.show)
    if (code === 0x05) {
      for (const s of spans) if (s.handle === h && s.to === Infinity) s.to = frame
      return
    }
    const peer = find(fs, 'bthci_evt.bd_addr')[0]?.show.toUpperCase()
    if (peer) spans.push({ handle: h, peer, from: frame, to: Infinity })
  })
  return (frame, handle) => spans.find((s) => s.handle === handle && s.from < frame && frame <= s.to)?.peer
}

const children = (f: Field): Field[] => f.children.filter((c) => c.size > 0)

/** What tshark shows `device`'s GATT server answered in `file`. */
export async function tsharkGatt(file: string, device: string): Promise<TsharkGatt> {
  const [owner, pdus] = await Promise.all([linkOwners(file), tsharkAttBytes(file)])
  const g: TsharkGatt = {
    services: new Map(),
    characteristics: new Map(),
    information: new Map(),
    values: new Map(),
    servicesComplete: false,
  }
  type Request = { opcode: number; handle?: number; offset?: number; type?: number; end?: number }
  const requests = new Map<number, Request>()
  /** The last request on each ACL handle: Error Responses carry no "request in frame". */
  const last = new Map<number, Request>()
  // Discovery, reads and their errors: the PDUs this oracle reads (writes and notifications are many, and not needed).
  const opcodes = '0x01, 0x04, 0x05, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x10, 0x11'
  await pdmlPackets(file, `btatt.opcode in {${opcodes}}`, (fs) => {
    const frame = num(find(fs, 'frame.number')[0]!.show)
    const acl = find(fs, 'bthci_acl.chandle')[0]
    const link = acl && num(acl.show) & 0xfff
    if (link === undefined || owner(frame, link) !== device) return
    const att = fs.find((f) => f.name === 'btatt')
    if (!att) return
    const opcode = num(find([att], 'btatt.opcode')[0]!.show)
    const direct = att.children
    const generatedType = direct.find((f) => f.name === 'btatt.uuid16' && f.size === 0)
    if (opcode % 2 === 0 && opcode !== 0x52) {
      const handle = direct.find((f) => f.name === 'btatt.handle' && f.size > 0)
      const offset = direct.find((f) => f.name === 'btatt.offset')
      const type = direct.find((f) => f.name === 'btatt.uuid16' && f.size > 0)
      const end = direct.find((f) => f.name === 'btatt.ending_handle')
      const r: Request = {
        opcode,
        handle: handle && num(handle.show),
        offset: offset && num(offset.show),
        type: type && num(type.show),
        end: end && num(end.show),
      }
      requests.set(frame, r)
      last.set(link, r)
      return
    }
    const reqFrame = direct.find((f) => f.name === 'btatt.request_in_frame')
    const req = reqFrame ? requests.get(num(reqFrame.show)) : last.get(link)
    response(g, opcode, att, req, generatedType && num(generatedType.show), pdus.get(frame)?.slice(2) ?? '')
  })
  return g
}

function response(
  g: TsharkGatt,
  opcode: number,
  att: Field,
  req: { opcode: number; handle?: number; offset?: number; type?: number; end?: number } | undefined,
  type: number | undefined,
  /** The PDU's octets after the opcode, as tshark delimits them with its ATT dissector off. */
  bytes: string,
): void {
  const direct = att.children
  if (opcode === 0x11) {
    for (const d of direct.filter((f) => f.name === 'btatt.attribute_data')) {
      const [h, end, u] = children(d)
      g.services.set(num(h!.show), {
        handle: num(h!.show),
        endHandle: num(end!.show),
        uuid: uuidOf(u!),
        primary: type !== 0x2801,
      })
      if (type === 0x2800 && num(end!.show) === 0xffff) g.servicesComplete = true
    }
  } else if (opcode === 0x09 && type === 0x2803) {
    for (const d of direct.filter((f) => f.name === 'btatt.attribute_data')) {
      const [h, props, vh, u] = children(d)
      g.characteristics.set(num(h!.show), {
        handle: num(h!.show),
        properties: num(props!.show),
        valueHandle: num(vh!.show),
        uuid: uuidOf(u!),
      })
    }
  } else if (opcode === 0x05) {
    for (const d of direct.filter((f) => f.name === 'btatt.information_data')) {
      const [h, u] = children(d)
      g.information.set(num(h!.show), uuidOf(u!))
    }
  } else if (opcode === 0x01 && req?.opcode === 0x10 && req.type === 0x2800) {
    const code = direct.find((f) => f.name === 'btatt.error_code')
    if (code && num(code.show) === 0x0a && req.end === 0xffff) g.servicesComplete = true
  } else if ((opcode === 0x0b || opcode === 0x0d) && req?.handle !== undefined) {
    if (opcode === 0x0b || req.offset === 0) g.values.set(req.handle, bytes)
    else if ((g.values.get(req.handle)?.length ?? -1) === (req.offset ?? 0) * 2)
      g.values.set(req.handle, g.values.get(req.handle)! + bytes)
  }
}
