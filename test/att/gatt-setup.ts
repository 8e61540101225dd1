/**
 * Wiring for GATT client tests: a client bearer and a server bearer over a FixedChannel pair,
 * the server answering from the MiniServer of gatt-peer.ts laid out from a declaration, and a
 * count of the ATT requests the client sent.
 */
import { AttBearer } from '../../att/bearer.ts'
import { GattClient, type GattClientOptions } from '../../att/client.ts'
import type { LinkSecurity } from '../../att/l2cap/link.ts'
import { FakeClock } from '../helpers/hci-script.ts'
import { channelPair, type TestChannel } from './channel-pair.ts'
import {
  layout,
  loadDeclaration,
  MiniServer,
  type MiniServerOptions,
  type FlatAttribute,
  type ExpectedService,
} from './gatt-peer.ts'

export const LARGE_DB = new URL('../../fixtures/gatt/large-db.json', import.meta.url)

/** ATT request opcodes (Core v5.4 Vol 3 Part F 3.4, the PDUs a client sends and waits on). */
const REQUESTS = new Set([0x02, 0x04, 0x06, 0x08, 0x0a, 0x0c, 0x0e, 0x10, 0x12, 0x16, 0x18, 0x20])

export function countRequests(sent: readonly string[], from = 0): number {
  return sent.slice(from).filter((h) => REQUESTS.has(parseInt(h.slice(0, 2), 16))).length
}

export interface Setup {
  clock: FakeClock
  c: TestChannel
  p: TestChannel
  bearer: AttBearer
  serverBearer: AttBearer
  server: MiniServer
  client: GattClient
  expected: ExpectedService[]
  /** Requests the client sent since the last mark(). */
  requests(): number
  mark(): void
}

export function setup(
  o: {
    decl?: unknown
    attributes?: FlatAttribute[]
    mtu?: number
    serverMtu?: number
    security?: Partial<LinkSecurity>
    server?: MiniServerOptions
    client?: GattClientOptions
    clock?: FakeClock
  } = {},
): Setup {
  const clock = o.clock ?? new FakeClock()
  const [c, p] = channelPair(o.security)
  const bearer = new AttBearer(c, { clock, mtu: o.mtu ?? 517 })
  const serverBearer = new AttBearer(p, { clock, mtu: o.serverMtu ?? 517 })
  const laid = o.attributes ? { attributes: o.attributes, expected: [] } : layout(o.decl ?? loadDeclaration(LARGE_DB))
  const server = new MiniServer(laid.attributes, () => serverBearer.mtu, o.server)
  serverBearer.serve(server.handle)
  const client = new GattClient(bearer, o.client)
  let base = 0
  return {
    clock,
    c,
    p,
    bearer,
    serverBearer,
    server,
    client,
    expected: laid.expected,
    requests: () => countRequests(c.sent, base),
    mark: () => {
      base = c.sent.length
    },
  }
}

/** The client's database in the shape of gatt-peer's ExpectedService, for t.same. */
export function shapeOf(db: import('../../att/remote-database.ts').RemoteDatabase): ExpectedService[] {
  return db.services.map((s) => ({
    uuid: s.uuid,
    start: s.start,
    end: s.end,
    primary: s.primary,
    includes: s.includeDeclarations.map((i) => i.handle),
    characteristics: s.characteristics.map((c) => ({
      uuid: c.uuid,
      handle: c.handle,
      valueHandle: c.valueHandle,
      properties: c.properties,
      descriptors: c.descriptors.map((d) => ({ uuid: d.uuid, handle: d.handle })),
    })),
  }))
}

/** The fixture as att/database.ts takes it: {"hex": ...} values to bytes, the comment dropped. */
export function largeDbDeclaration(): any {
  const j = loadDeclaration(LARGE_DB)
  delete j.$comment
  const fix = (o: any): any => {
    if (Array.isArray(o)) return o.map(fix)
    if (o && typeof o === 'object') {
      if (typeof o.hex === 'string' && Object.keys(o).length === 1) return Uint8Array.from(Buffer.from(o.hex, 'hex'))
      return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, fix(v)]))
    }
    return o
  }
  return fix(j)
}
