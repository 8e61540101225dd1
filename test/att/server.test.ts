import t from 'tap'
import fc from 'fast-check'
import { AttributeDatabase } from '../../att/database.ts'
import { attPduSpec, decodeAttPdu } from '../../att/pdu.ts'
import { DecodeError } from '../../hci/errors.ts'
import { handleRequest, GattServer, GattServerError, type BearerLike, type ServerConnection } from '../../att/server.ts'
import { AttBearer } from '../../att/bearer.ts'
import { fromHex, toHex } from '../../hci/wire.ts'
import { FakeClock } from '../helpers/hci-script.ts'
import { channelPair } from './channel-pair.ts'
import { ask, connection, fixture, h, OPEN, ENCRYPTED } from './server-fixture.ts'

t.test('Exchange MTU (3.4.2)', async (t) => {
  const { db } = fixture()
  const c = connection()
  const seen: number[] = []
  c.onMtu = (m) => seen.push(m)
  t.equal(await ask(db, c, '02 0502'), h('03 0502'), 'our Server Rx MTU is 517')
  t.equal(c.mtu, 517)
  t.strictSame(seen, [517])
  const small = connection({ maxMtu: 100 })
  t.equal(await ask(db, small, '02 0502'), h('03 6400'))
  t.equal(small.mtu, 100, 'the smaller of the two')
  const tiny = connection()
  t.equal(await ask(db, tiny, '02 1000'), h('03 0502'))
  t.equal(tiny.mtu, 23, 'never below 23')
  t.equal(await ask(db, c, '02 0502 00'), h('01 02 0000 04'), 'an extra octet: Invalid PDU')
  t.equal(await ask(db, c, '02 05'), h('01 02 0000 04'))
})

t.test('what is not a request', async (t) => {
  const { db } = fixture()
  const c = connection()
  t.equal(await ask(db, c, '3f 0102'), h('01 3f 0000 06'), 'an unknown request: Request Not Supported')
  t.equal(await ask(db, c, '14 0102'), h('01 14 0000 06'), 'an unassigned opcode without the command flag')
  t.equal(await ask(db, c, '7f 0102'), 'none', 'an unknown command is ignored')
  for (const op of ['01 0a 0100 01', '0b 00', '13', '1b 0300 00', '1d 0300 00', '1e', '23 0300 0100 00']) {
    t.equal(await ask(db, c, op), 'none', `${op}: a response, notification, indication or confirmation`)
  }
  t.equal(await handleRequest(db, c, new Uint8Array(0)), undefined, 'nothing')
  t.equal(await ask(db, c, '0a 01'), h('01 0a 0000 04'), 'a truncated Read: Invalid PDU')
  t.equal(await ask(db, c, '04 0100'), h('01 04 0000 04'))
  t.equal(await ask(db, c, '18'), h('01 18 0000 04'))
})

t.test('robust caching: Database Out Of Sync (Part G 2.5.2.1)', async (t) => {
  const { db } = fixture()

  // Without robust caching the client is never refused.
  const plain = connection()
  plain.databaseChanged()
  t.equal(plain.changeAware, true)
  t.equal(await ask(db, plain, '0a 1200'), h('0b 68656c6c6f'))

  const c = connection()
  t.equal(await ask(db, c, '12 0b00 01'), '13', 'robust caching on')
  c.databaseChanged()
  t.equal(c.changeAware, false)
  t.equal(
    await ask(db, c, '10 0100 ffff 0028'),
    h('11 06  0100 0500 0018  0600 0d00 0118  1000 2a00 00a0'),
    'service discovery is served',
  )
  t.equal(await ask(db, c, '04 1000 1200'), h('05 01 1000 0028 1100 0328 1200 01aa'), 'so is Find Information')
  t.equal(
    await ask(db, c, '08 1000 2000 0328'),
    h('09 07 1100 0a 1200 01aa 1300 0a 1400 02aa 1500 32 1600 03aa'),
    'and Read By Type for characteristics',
  )
  t.equal(c.changeAware, false)
  t.equal(await ask(db, c, '52 2100 05'), 'none')
  t.equal(db.get(0x21)!.value!.length, 0, 'a command from a change-unaware client is ignored')
  t.equal(
    await ask(db, c, '08 1000 2000 02aa'),
    h('01 08 1000 12'),
    'Read By Type of a value over part of the range: Database Out Of Sync',
  )
  t.equal(c.outOfSyncSent, true)
  t.equal(await ask(db, c, '52 2100 05'), 'none', 'still ignored until the next request')
  t.equal(db.get(0x21)!.value!.length, 0)
  t.equal(await ask(db, c, '0a 1200'), h('0b 68656c6c6f'), 'the next request is served: change-aware again')
  t.equal(c.changeAware, true)

  // The error for each kind of request on handles.
  const refused: [string, string][] = [
    ['0a 1200', '01 0a 1200 12'],
    ['0c 1400 1600', '01 0c 1400 12'],
    ['0e 1200 1600', '01 0e 1200 12'],
    ['20 1600 1200', '01 20 1600 12'],
    ['12 1200 00', '01 12 1200 12'],
    ['16 1200 0000 00', '01 16 1200 12'],
  ]
  for (const [req, rsp] of refused) {
    c.databaseChanged()
    t.equal(await ask(db, c, req), h(rsp), req)
  }
  t.equal(await ask(db, c, '0a 1200'), h('0b 68656c6c6f'))

  // Reading the Database Hash (over the whole range) is served, and the next request makes it aware.
  c.databaseChanged()
  t.equal(await ask(db, c, '08 0100 ffff 2a2b'), h(`09 12 0d00 ${toHex(db.hashValue())}`))
  t.equal(c.hashRead, true)
  t.equal(await ask(db, c, '0a 1200'), h('0b 68656c6c6f'))
  t.equal(c.changeAware, true)

  // A second change before the client is aware again: the error is sent again.
  c.databaseChanged()
  t.equal(await ask(db, c, '0a 1200'), h('01 0a 1200 12'))
  c.databaseChanged()
  t.equal(await ask(db, c, '0a 1200'), h('01 0a 1200 12'))
  t.equal(await ask(db, c, '0a 1200'), h('0b 68656c6c6f'))

  // Execute Write is refused only when it has something to write.
  c.databaseChanged()
  t.equal(await ask(db, c, '18 01'), '19')
  t.equal(c.changeAware, false)
  c.serviceChangedConfirmed()
  t.equal(await ask(db, c, '16 1200 0000 41'), h('17 1200 0000 41'))
  c.databaseChanged()
  t.equal(await ask(db, c, '18 01'), h('01 18 1200 12'))

  // Turning robust caching on makes a client change-aware.
  const d = connection()
  d.clientFeatures = 0x01
  d.databaseChanged()
  t.equal(await ask(db, d, '12 0b00 03'), h('01 12 0b00 12'), 'a write while change-unaware is refused like any other')
  t.equal(await ask(db, d, '12 0b00 03'), '13')
})

// ---------------------------------------------------------------------------------------------
// Property: any PDU, never a throw; a request always gets its response or an Error Response.

const KNOWN = [
  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13,
  0x16, 0x17, 0x18, 0x19, 0x1b, 0x1d, 0x1e, 0x20, 0x21, 0x23, 0x52, 0xd2,
]

function isRequest(opcode: number): boolean {
  const spec = attPduSpec(opcode)
  return spec === undefined ? (opcode & 0x40) === 0 : spec.type === 'request'
}

const pduArb = fc
  .tuple(
    fc.oneof(fc.constantFrom(...KNOWN), fc.integer({ min: 0, max: 255 })),
    fc.array(
      fc.oneof(
        // a handle near the database, little-endian
        fc.integer({ min: 0, max: 0x50 }).map((n) => [n & 0xff, n >> 8]),
        fc.constantFrom([0xff, 0xff], [0x00, 0x28], [0x03, 0x28], [0x02, 0x29], [0x2a, 0x2b], [0x01, 0x00]),
        fc.uint8Array({ maxLength: 20 }).map((b) => [...b]),
      ),
      { maxLength: 6 },
    ),
  )
  .map(([op, parts]) => Uint8Array.from([op, ...parts.flat()]))

t.test('property: random PDUs never throw and requests are always answered properly', async (t) => {
  const { db } = fixture()
  await fc.assert(
    fc.asyncProperty(
      fc.array(pduArb, { minLength: 1, maxLength: 8 }),
      fc.integer({ min: 23, max: 517 }),
      fc.constantFrom(OPEN, ENCRYPTED),
      fc.boolean(),
      async (pdus, mtu, security, robust) => {
        const conn = connection({ mtu, security })
        if (robust) {
          conn.clientFeatures = 1
          conn.databaseChanged()
        }
        for (const pdu of pdus) {
          const r = await handleRequest(db, conn, pdu)
          const op = pdu[0]!
          if (!isRequest(op)) {
            if (r !== undefined) return false
            continue
          }
          if (r === undefined || r.length > conn.mtu) return false
          const d = decodeAttPdu(r)
          if (d instanceof DecodeError) return false
          const ok = r[0] === op + 1 || (r[0] === 0x01 && r[1] === op && r.length === 5)
          if (!ok) return false
        }
        return true
      },
    ),
    { seed: 0x4a77, numRuns: 1500 },
  )
  t.pass('1500 runs')
})

t.test('property: every response fits the ATT_MTU of the moment', async (t) => {
  const { db } = fixture()
  const requests = [
    '04 0100 ffff',
    '08 0100 ffff 0328',
    '10 0100 ffff 0028',
    '0a 1400',
    '0c 1400 0100',
    '0e 1400 1200 1400',
    '20 1400 1400 1200',
    '06 0100 ffff 0229 0000',
    '08 1300 1400 02aa',
    '04 3300 3300',
  ]
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 23, max: 600 }), fc.constantFrom(...requests), async (mtu, req) => {
      const conn = connection({ mtu, maxMtu: Math.max(23, mtu) })
      const r = fromHex((await ask(db, conn, req)).replace('none', ''))
      return r.length <= mtu && r[0] !== 0x01
    }),
    { seed: 23, numRuns: 400 },
  )
  t.pass()
})

// ---------------------------------------------------------------------------------------------
// GattServer on bearers

class FakeBearer implements BearerLike {
  mtu = 23
  handler: ((pdu: Uint8Array) => Uint8Array | undefined | Promise<Uint8Array | undefined>) | undefined
  readonly sent: string[] = []
  readonly waiting: { resolve: () => void; reject: (e: Error) => void }[] = []
  private closeCbs: ((e?: Error) => void)[] = []
  private mtuCbs: ((m: number) => void)[] = []
  fail = false
  serve(h: NonNullable<FakeBearer['handler']>): void {
    this.handler = h
  }
  notify(handle: number, value: Uint8Array): Promise<void> {
    this.sent.push(`N ${handle.toString(16)} ${toHex(value)}`)
    return this.fail ? Promise.reject(new Error('link gone')) : Promise.resolve()
  }
  indicate(handle: number, value: Uint8Array): Promise<void> {
    this.sent.push(`I ${handle.toString(16)} ${toHex(value)}`)
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }))
  }
  onClose(cb: (e?: Error) => void): void {
    this.closeCbs.push(cb)
  }
  onMtu(cb: (m: number) => void): void {
    this.mtuCbs.push(cb)
  }
  exchanged(m: number): void {
    this.mtu = m
    for (const cb of this.mtuCbs) cb(m)
  }
  close(): void {
    for (const cb of this.closeCbs) cb(new Error('closed'))
  }
  async request(hex: string): Promise<string> {
    const r = await this.handler!(fromHex(h(hex)))
    return r === undefined ? 'none' : toHex(r)
  }
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r))

t.test('GattServer: requests through the bearer, notifications to subscribers only', async (t) => {
  const { db } = fixture()
  const server = new GattServer(db)
  const a = new FakeBearer()
  const b = new FakeBearer()
  const ca = server.attach(a, OPEN)
  const cb = server.attach(b, OPEN)
  t.strictSame(server.connections, [ca, cb])
  t.equal(await a.request('0a 0300'), h('0b 6863696b6974'))
  const hr = db.characteristic(0xaa03)
  t.strictSame(await server.notify(hr, new Uint8Array([1])), [], 'nobody subscribed')
  t.equal(await a.request('12 1700 0100'), '13')
  const res = await server.notify(hr, new Uint8Array([7, 7]))
  t.strictSame(res, [{ connection: ca, ok: true }])
  t.strictSame(a.sent, ['N 16 0707'])
  t.strictSame(b.sent, [])
  // Cut to ATT_MTU - 3, and through the bearer's own MTU once it exchanged one.
  await server.notify(hr, new Uint8Array(30).fill(1))
  t.equal(a.sent.at(-1), `N 16 ${'01'.repeat(20)}`)
  a.exchanged(100)
  t.equal(ca.mtu, 100)
  await server.notify(hr.valueHandle, new Uint8Array(30).fill(2))
  t.equal(a.sent.at(-1), `N 16 ${'02'.repeat(30)}`, 'by value handle')
  // Only the connections asked for.
  t.equal(await b.request('12 1700 0100'), '13')
  await server.notify('0000aa03-0000-1000-8000-00805f9b34fb', new Uint8Array([3]), [cb])
  t.equal(b.sent.at(-1), 'N 16 03')
  t.equal(a.sent.at(-1), `N 16 ${'02'.repeat(30)}`)
  // A failing bearer is reported, not thrown.
  b.fail = true
  const mixed = await server.notify(hr, new Uint8Array([4]))
  t.strictSame(
    mixed.map((r) => r.ok),
    [true, false],
  )
  t.throws(
    () => server.notify(db.characteristic(0xaa01), new Uint8Array(1)),
    GattServerError,
    'not a notifying characteristic',
  )
  t.throws(() => server.indicate(db.characteristic(0xaa0c), new Uint8Array(1)), /does not indicate/)
  // A closed bearer is forgotten.
  a.close()
  t.strictSame(server.connections, [cb])
  t.strictSame(await server.notify(hr, new Uint8Array([5]), [ca]), [])
})

t.test('GattServer: indications wait for the confirmation', async (t) => {
  const { db } = fixture()
  const server = new GattServer(db)
  const a = new FakeBearer()
  server.attach(a, OPEN)
  t.equal(await a.request('12 1700 0200'), '13')
  const hr = db.characteristic(0xaa03)
  t.strictSame(await server.notify(hr, new Uint8Array([1])), [], 'indications only: no notification')
  let done = false
  const p = server.indicate(hr, new Uint8Array([9])).then((r) => {
    done = true
    return r
  })
  await flush()
  t.strictSame(a.sent, ['I 16 09'])
  t.equal(done, false, 'not before the confirmation')
  a.waiting.shift()!.resolve()
  t.strictSame(
    (await p).map((r) => r.ok),
    [true],
  )
  const q = server.indicate(hr, new Uint8Array([8]))
  await flush()
  a.waiting.shift()!.reject(new Error('timeout'))
  const r = await q
  t.equal(r[0]!.ok, false)
  t.match((r[0] as { error: Error }).error.message, 'timeout')
})

t.test('GattServer: Service Changed when the database changes', async (t) => {
  const { db } = fixture()
  const server = new GattServer(db)
  const a = new FakeBearer()
  const b = new FakeBearer()
  const ca = server.attach(a, OPEN)
  const cb = server.attach(b, OPEN)
  t.equal(await a.request('12 0900 0200'), '13', 'a subscribes to Service Changed')
  t.equal(await a.request('12 0b00 01'), '13', 'and enables robust caching')
  t.equal(await b.request('12 0b00 01'), '13', 'b only enables robust caching')
  const added = db.addService({ uuid: 0xfff9, characteristics: [{ uuid: 0xfffa, properties: ['notify'] }] })
  t.strictSame([added.handle, added.endHandle], [0x43, 0x46])
  t.strictSame(a.sent, ['I 8 43004600'], 'Service Changed: the affected range')
  t.strictSame(b.sent, [])
  t.equal(ca.changeAware, false)
  t.equal(cb.changeAware, false)
  a.waiting.shift()!.resolve()
  await flush()
  t.equal(ca.changeAware, true, 'the confirmation makes it change-aware')
  t.equal(cb.changeAware, false, 'b learns from Database Out Of Sync')
  t.equal(await b.request('0a 1200'), h('01 0a 1200 12'))
  t.equal(await b.request('0a 1200'), h('0b 68656c6c6f'))

  // A CCCD in the added service, then the service goes: its configuration goes with it.
  t.equal(await a.request('12 4600 0100'), '13')
  t.equal(ca.cccdValue(0x46), 1)
  db.removeService(added)
  t.equal(ca.cccd.has(0x46), false)
  t.equal(a.sent.at(-1), 'I 8 43004600')
  // Two changes before a confirmation: only the confirmation of the latest counts.
  db.addService({ uuid: 0xfffb })
  t.equal(a.waiting.length, 2)
  a.waiting.shift()!.resolve()
  await flush()
  t.equal(ca.changeAware, false)
  a.waiting.shift()!.resolve()
  await flush()
  t.equal(ca.changeAware, true)
  server.close()
  db.addService({ uuid: 0xfffc })
  t.equal(a.waiting.length, 0, 'a closed server does not listen any more')
})

t.test('GattServer: one request at a time per connection, commands bounded', async (t) => {
  const log: string[] = []
  let release: () => void = () => undefined
  const gate = new Promise<void>((r) => (release = r))
  const db = new AttributeDatabase({
    services: [
      {
        uuid: 0xfff0,
        characteristics: [
          {
            uuid: 1,
            properties: ['write'],
            onWrite: async (_c, v) => {
              log.push(`slow start ${toHex(v)}`)
              await gate
              log.push('slow end')
            },
          },
          { uuid: 2, properties: ['writeWithoutResponse'], onWrite: (_c, v) => void log.push(`cmd ${toHex(v)}`) },
        ],
      },
    ],
  })
  const server = new GattServer(db, { maxPendingCommands: 2 })
  const a = new FakeBearer()
  const conn: ServerConnection = server.attach(a, OPEN)
  const slow = a.request('12 1000 01')
  const cmds = [a.request('52 1200 02'), a.request('52 1200 03'), a.request('52 1200 04')]
  await flush()
  t.strictSame(log, ['slow start 01'], 'the commands wait behind the request')
  t.equal(conn.stats.droppedCommands, 1, 'the third command did not fit')
  release()
  t.equal(await slow, '13')
  t.strictSame(await Promise.all(cmds), ['none', 'none', 'none'])
  t.strictSame(log, ['slow start 01', 'slow end', 'cmd 02', 'cmd 03'])
})

t.test('GattServer on AttBearer over an ATT channel pair', async (t) => {
  const { db } = fixture()
  const clock = new FakeClock()
  const [c, p] = channelPair()
  const client = new AttBearer(c, { clock })
  const serverBearer = new AttBearer(p, { clock })
  const server = new GattServer(db)
  const conn = server.attach(serverBearer, OPEN)
  t.equal(await client.exchangeMtu(), 517)
  t.equal(conn.mtu, 517, 'the bearer answered the exchange and told the server')
  const rsp = await client.request(fromHex('0a1400'))
  t.equal(rsp.opcode, 0x0b)
  t.equal(rsp.value?.length, 512, 'a 512-octet value in one Read Response')
  const got: string[] = []
  client.onNotification(
    (handle, value, indication) => void got.push(`${indication ? 'I' : 'N'} ${handle.toString(16)} ${toHex(value)}`),
  )
  await client.request(fromHex('1217000300'))
  const results = await server.notify(db.characteristic(0xaa03), new Uint8Array([1, 2]))
  t.strictSame(
    results.map((r) => r.ok),
    [true],
  )
  const ind = await server.indicate(db.characteristic(0xaa03), new Uint8Array([3]))
  t.strictSame(
    ind.map((r) => r.ok),
    [true],
    'confirmed by the client bearer',
  )
  await flush()
  t.strictSame(got, ['N 16 0102', 'I 16 03'])
  // Service Changed through the real bearer.
  await client.request(fromHex('1209000200'))
  db.addService({ uuid: 0xfff9 })
  await flush()
  t.equal(got.at(-1), 'I 8 43004300')
})
