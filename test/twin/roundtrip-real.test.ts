/**
 * Acceptance 1 of issue 15, the twin round trip: for every real trace
 * (../shared/fixtures/real, recorded by other people) whose device had its services discovered
 * in full (tshark shows the primary service search reach 0xFFFF), the twin built from the
 * capture (src/twin/build.ts) runs on a virtual link (src/twin/run.ts); our GATT client connects,
 * discovers it and reads every value the capture read. Then, against tshark's reading of the same
 * capture (test/helpers/tshark-gatt.ts):
 * - services (handle, end handle, UUID, primary), characteristics (declaration and value
 *   handles, properties, UUID) and descriptors (handle, type) are the same;
 * - each value read is the value the device answered in the capture (Read Response and Read Blob
 *   Responses, the last read of each handle).
 * A device whose database breaks the rules (tshark shows a characteristic value outside its
 * service) is twinned as it is, and our client refuses it as it refuses the device: a GattError
 * 'GATT_BAD_PEER' naming the handle.
 */
import { parseUuid } from '../../att/uuid.ts'
import { open, createVirtualLink } from '../../src/adapter.ts'
import type { RemoteDatabase } from '../../src/client.ts'
import { buildTwinFromFile } from '../../src/twin/build.ts'
import { startTwin } from '../../src/twin/run.ts'
import { toHex } from '../../hci/wire.ts'
import { realTraces, shortName, realTest } from '../helpers/real.ts'
import { missing } from '../helpers/tools.ts'
import { tsharkGatt, type TsharkGatt } from '../helpers/tshark-gatt.ts'

const canon = (u: string): string => parseUuid(u)

/** Traces checked by eye to hold a full discovery of one device (the test also finds them itself). */
const KNOWN_FULL = ['tonton81__test__btsnoop_hci.log', 'cnrd__yeelock__btsnoop_hci.log']

function tsharkDescriptors(g: TsharkGatt): Array<{ handle: number; uuid: string }> {
  const decls = [...g.characteristics.values()].sort((a, b) => a.handle - b.handle)
  const out: Array<{ handle: number; uuid: string }> = []
  for (const s of g.services.values()) {
    const inService = decls.filter((c) => c.handle > s.handle && c.handle <= s.endHandle)
    inService.forEach((c, i) => {
      const end = i + 1 < inService.length ? inService[i + 1]!.handle - 1 : s.endHandle
      for (const [h, u] of g.information)
        if (h > c.valueHandle && h <= end && !['2800', '2801', '2802', '2803'].includes(u))
          out.push({ handle: h, uuid: canon(u) })
    })
  }
  return out.sort((a, b) => a.handle - b.handle)
}

function ours(db: RemoteDatabase) {
  return {
    services: db.services
      .map((s) => ({ handle: s.handle, endHandle: s.end, uuid: canon(s.uuid), primary: s.primary }))
      .sort((a, b) => a.handle - b.handle),
    characteristics: db.characteristics
      .map((c) => ({ handle: c.handle, valueHandle: c.valueHandle, properties: c.properties, uuid: canon(c.uuid) }))
      .sort((a, b) => a.handle - b.handle),
    descriptors: db.characteristics
      .flatMap((c) => c.descriptors.map((d) => ({ handle: d.handle, uuid: canon(d.uuid) })))
      .sort((a, b) => a.handle - b.handle),
  }
}

realTest('twins of the real traces with a full discovery', { skip: missing('tshark') }, async (t) => {
  const full: string[] = []
  for (const file of realTraces()) {
    let built: Awaited<ReturnType<typeof buildTwinFromFile>>
    try {
      built = await buildTwinFromFile(file)
    } catch {
      continue // no device answered ATT requests in this capture
    }
    const { twin } = built
    const g = await tsharkGatt(file, twin.device.address)
    if (!g.servicesComplete) continue
    const name = shortName(file)
    full.push(name)
    await t.test(`${name}: ${twin.device.address}`, async (t) => {
      const link = createVirtualLink()
      const device = await startTwin(twin, { link })
      const central = await open({ link, address: '02:00:00:00:00:01', cache: false })
      t.teardown(async () => {
        await central.close()
        await device.close()
      })
      const target = { address: twin.device.address, addressType: twin.device.addressType }
      const outside = [...g.characteristics.values()].find((c) => {
        const s = [...g.services.values()].find((x) => c.handle > x.handle && c.handle <= x.endHandle)
        return s !== undefined && c.valueHandle > s.endHandle
      })
      if (outside) {
        const h = `0x${outside.valueHandle.toString(16).padStart(4, '0')}`
        await t.rejects(central.connect(target, { timeout: 30_000 }), {
          code: 'GATT_BAD_PEER',
          message: new RegExp(`characteristic value ${h} is outside its service`),
        })
        return
      }
      const client = await central.connect(target, { timeout: 30_000 })
      const mine = ours(client.database)
      t.same(
        mine.services,
        [...g.services.values()].map((s) => ({ ...s, uuid: canon(s.uuid) })).sort((a, b) => a.handle - b.handle),
        'services',
      )
      t.same(
        mine.characteristics,
        [...g.characteristics.values()]
          .map((c) => ({
            handle: c.handle,
            valueHandle: c.valueHandle,
            properties: c.properties,
            uuid: canon(c.uuid),
          }))
          .sort((a, b) => a.handle - b.handle),
        'characteristics',
      )
      t.same(mine.descriptors, tsharkDescriptors(g), 'descriptors')
      const read: Record<number, string> = {}
      for (const h of g.values.keys()) read[h] = toHex(await client.read(h, { timeout: 10_000 }))
      t.same(read, Object.fromEntries(g.values), `the ${g.values.size} values the capture read`)
    })
  }
  t.ok(full.length >= KNOWN_FULL.length, `${full.length} traces with a full discovery: ${full.join(', ')}`)
  for (const k of KNOWN_FULL) t.ok(full.includes(k), `${k} is among them`)
})
