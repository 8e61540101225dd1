/**
 * GATT discovery with few round trips (Core v5.4 Vol 3 Part G 4.4-4.7; the ATT requests of
 * Part F 3.4.3-3.4.4).
 *
 * The spec's procedures walk the database service by service; we walk it in whole-database
 * passes and use what each pass taught us to shrink the next:
 *  1. Primary services: Read By Group Type (0x2800) over the whole range (4.4.1).
 *  2. Characteristics: Read By Type (0x2803) over the span of the services (4.6.1), stopping as
 *     soon as what is left cannot hold a declaration and its value.
 *  3. Includes: Read By Type (0x2802) in one pass (4.5.1), only over the handles that can hold
 *     an include (between a service declaration and its first characteristic; Part G 3.1:
 *     includes come first). Secondary services are those included ones; their 128-bit UUIDs
 *     and the Database Hash, all 16 octets, are read together with one Read Multiple.
 *  4. Descriptors (4.7.1): only in the handle gaps after a characteristic value that can hold
 *     them. Find Information ranges are merged across gaps when every known attribute between
 *     them has a 16-bit type (so one response carries them all); the common one-handle gaps
 *     of notifying characteristics are closed with one Read By Type sweep for the Client
 *     Characteristic Configuration type (0x2902) when the plan says it saves requests.
 *
 * Every response is checked (att/discovery-procedures.ts): a peer that breaks a rule gets a
 * GattError 'GATT_BAD_PEER' naming it; every loop advances by at least one handle per request,
 * so discovery ends (the bearer's 30 s timeout covers a peer that stops answering). The passes
 * live in att/discovery-walk.ts (characteristics, includes) and att/discovery-descriptors.ts.
 */
import { hex4 } from './errors.ts'
import { badPeer, readFixed, uuidOf, type AttRequester, type CharRec, type ServiceRec } from './discovery-procedures.ts'
import { findDescriptors, type BuiltCharacteristic } from './discovery-descriptors.ts'
import { DiscoveryWalk } from './discovery-walk.ts'
import { findPrimaryServices } from './discovery-procedures.ts'
import { RemoteCharacteristic, RemoteDatabase, RemoteService, linkIncludes } from './remote-database.ts'
import { GattUuid } from './uuid.ts'

export {
  badPeer,
  findCharacteristics,
  findPrimaryServices,
  findPrimaryServicesByUuid,
  isAttErrorCode,
  readByType,
  wireUuid,
  type AttRequester,
} from './discovery-procedures.ts'
export { findDescriptors, type BuiltCharacteristic } from './discovery-descriptors.ts'

export interface DiscoveryOptions {
  signal?: AbortSignal
  /** Handle range to discover (default the whole database, 0x0001-0xFFFF). */
  start?: number
  end?: number
  /** Also read the Database Hash (0x2B2A) if the peer has one (default false). */
  readHash?: boolean
  /** Use the CCCD sweep when the plan says it saves requests (default true). */
  cccdSweep?: boolean
}

export interface DiscoveryResult {
  database: RemoteDatabase
  /** The Database Hash, when asked for and present. */
  hash: Uint8Array | undefined
}

export async function discoverDatabase(req: AttRequester, opts: DiscoveryOptions = {}): Promise<DiscoveryResult> {
  const { signal } = opts
  const start = opts.start ?? 1
  const end = opts.end ?? 0xffff
  // 1. Primary services. 2. Characteristics over their span. 3. Includes, secondary services.
  const services = await findPrimaryServices(req, start, end, signal)
  const walk = new DiscoveryWalk(req, services, start, end, signal)
  if (services.length) await walk.charPass(services[0]!.start, services.at(-1)!.end)
  await walk.includes()
  const hashChar = opts.readHash ? walk.chars.find((c) => c.uuid === GattUuid.DatabaseHash) : undefined
  const hash = await readSixteenOctets(req, walk.needUuid, hashChar, signal)
  // 4. The model (characteristics into services, end handles), then the descriptors.
  const { model, built } = buildModel(walk.services, walk.chars)
  await findDescriptors(req, built, opts.cccdSweep ?? true, signal)
  linkIncludes(model)
  return { database: new RemoteDatabase(model, hash), hash }
}

/**
 * The 16-octet values, read together: the 128-bit UUIDs of included secondary services (set on
 * them) and the Database Hash (returned, a copy).
 */
async function readSixteenOctets(
  req: AttRequester,
  needUuid: readonly ServiceRec[],
  hashChar: CharRec | undefined,
  signal: AbortSignal | undefined,
): Promise<Uint8Array | undefined> {
  const fixed = [...needUuid.map((s) => s.start), ...(hashChar ? [hashChar.valueHandle] : [])]
  if (fixed.length === 0) return undefined
  const values = await readFixed(req, fixed, 16, signal)
  for (const s of needUuid) s.uuid = uuidOf(values.get(s.start)!, `secondary service at ${hex4(s.start)}`)
  if (!hashChar) return undefined
  const hash = values.get(hashChar.valueHandle)
  if (hash?.length !== 16) throw badPeer(`Database Hash of ${hash?.length} octets`)
  return hash.slice()
}

/** Services (sorted, disjoint) and their characteristics, in one sweep over both sorted by handle. */
function buildModel(
  services: readonly ServiceRec[],
  chars: CharRec[],
): { model: RemoteService[]; built: BuiltCharacteristic[] } {
  const model = services.map((s) => new RemoteService(s.uuid!, s.start, s.end, s.primary))
  services.forEach((s, i) => model[i]!.includeDeclarations.push(...s.includes))
  const built: BuiltCharacteristic[] = []
  chars.sort((a, b) => a.handle - b.handle)
  let k = 0
  for (const s of model) {
    while (k < chars.length && chars[k]!.handle <= s.start) k++
    for (; k < chars.length && chars[k]!.handle <= s.end; k++) {
      const c = chars[k]!
      if (c.valueHandle > s.end)
        throw badPeer(
          `characteristic value ${hex4(c.valueHandle)} is outside its service ${hex4(s.start)}-${hex4(s.end)}`,
        )
      const next = chars[k + 1]
      const endHandle = next && next.handle <= s.end ? next.handle - 1 : s.end
      const rc = new RemoteCharacteristic(c.uuid, c.handle, c.properties, c.valueHandle, endHandle, s)
      s.characteristics.push(rc)
      built.push({ c: rc, wide: c.wide })
    }
  }
  return { model, built }
}
