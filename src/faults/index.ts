/**
 * Fault injection (issue 15): a wrapper for any transport that drops, delays, duplicates,
 * reorders or mutates HCI packets by rule, fakes a command's failure, holds ACL credits back or
 * cuts the link, and marks each fault in the log and the captures. From code:
 *
 *   await using adapter = await open({ transport: 'usb', faults: { rules: [
 *     { direction: 'rx', packet: 'acl', every: 10, action: 'drop' } ] } })
 *
 * or around a transport of your own with `withFaults(transport, plan)`; from the command line,
 * `hcikit --faults rules.json COMMAND`. The rules: rules.ts; docs/TESTING.md.
 */
import { readFile } from 'node:fs/promises'
import { FaultPlanError, parseFaultPlan, type FaultPlan } from './rules.ts'

export {
  parseFaultPlan,
  validateFaultPlan,
  FaultPlanError,
  type FaultPlan,
  type FaultRule,
  type FaultMatch,
  type FaultAction,
  type PacketName,
} from './rules.ts'
export { FaultTransport, withFaults, type FaultTransportOptions, type InjectedFault } from './transport.ts'

/** Read and check a fault plan file; a FaultPlanError names the file and the place. */
export async function loadFaultPlan(path: string): Promise<FaultPlan> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    throw new FaultPlanError('', `cannot read ${path}: ${(e as Error).message}`)
  }
  try {
    return parseFaultPlan(text)
  } catch (e) {
    if (e instanceof FaultPlanError) throw new FaultPlanError(e.path ? `${path}: ${e.path}` : path, e.detail)
    throw e
  }
}
