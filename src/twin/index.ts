/**
 * Device twins (issue 15): a device reconstructed from a capture of a session with it, run as a
 * peripheral for offline tests. `buildTwin` / `buildTwinFromFile` make one (build.ts), the file
 * format is format.ts (docs/twin.schema.json), `startTwin` runs one (run.ts).
 *
 *   const { twin } = await buildTwinFromFile('session.btsnoop')
 *   const link = createVirtualLink()
 *   await using device = await startTwin(twin, { link })
 *   await using adapter = await open({ link })
 *   await using client = await adapter.connect(twin.device.address)
 */
import { readFile } from 'node:fs/promises'
import { TwinError, parseTwin, type Twin } from './format.ts'

export { buildTwin, buildTwinFromFile, type BuildTwinOptions, type BuiltTwin, type TwinCandidate } from './build.ts'
export {
  parseTwin,
  validateTwin,
  formatTwin,
  TwinError,
  TWIN_FORMAT,
  TWIN_VERSION,
  type Twin,
  type TwinService,
  type TwinCharacteristic,
  type TwinDescriptor,
  type TwinInclude,
  type TwinNotification,
  type TwinAttribute,
  type TwinReaction,
} from './format.ts'
export { startTwin, type TwinOptions, type RunningTwin, type TwinCentral } from './run.ts'
export { UNKNOWN_VALUE_ERROR, type TwinWrite, type TwinWriteKind } from './server.ts'

/** Read and check a twin file; a TwinError names the file and what is wrong. */
export async function loadTwin(path: string): Promise<Twin> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    throw new TwinError('', `cannot read ${path}: ${(e as Error).message}`)
  }
  try {
    return parseTwin(text)
  } catch (e) {
    if (e instanceof TwinError) throw new TwinError(e.path ? `${path}: ${e.path}` : path, e.detail)
    throw e
  }
}
