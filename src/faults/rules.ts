/**
 * Fault rules: which HCI packets (Core v5.4 Vol 4 Part E 5.4: commands, ACL, SCO, events, ISO)
 * a fault is injected into, and what is done to them. A plan is plain JSON (`--faults
 * rules.json`) or the same object in code:
 *
 *   { "seed": 1, "rules": [
 *     { "name": "lose ACL", "direction": "rx", "packet": "acl", "every": 10, "action": "drop" },
 *     { "packet": "cmd", "opcode": "0x200c", "action": "status", "status": "0x0c" },
 *     { "packet": "acl", "att": "0x0a", "action": "delay", "ms": 200 },
 *     { "packet": "evt", "event": "0x13", "action": "hold-credits", "count": 4 },
 *     { "action": "cut", "after": 500 } ] }
 *
 * What a rule matches (every field given must hold): `direction` 'tx' (host to controller) or
 * 'rx'; `packet` 'cmd' | 'acl' | 'sco' | 'evt' | 'iso'; `opcode` (a command's); `event` and
 * `subevent` (LE Meta, 7.7.65); `handle` (an ACL/SCO/ISO packet's connection handle, or the one
 * an event names first); `att` (the ATT opcode of an ACL packet that starts an L2CAP PDU on
 * CID 0x0004, Vol 3 Part F 3.3) and `attHandle` (the attribute handle it names). Then which
 * of the matching packets: `after` (skip the first N), `every` (each Nth), `random` (each with
 * this probability, from the plan's seed), `limit` (at most N faults).
 * Actions: 'drop'; 'delay' `ms`; 'duplicate' (`times` more copies, default 1); 'reorder' (hold
 * it, send it after the next packet in the same direction); 'mutate' (`offset` into the packet
 * and `xor` or `set` hex bytes); 'status' (a command is not sent; the host gets Command Complete
 * or Command Status with this status, 7.7.14/7.7.15); 'hold-credits' (a Number Of Completed
 * Packets event, 7.7.19, gives back `count` fewer packets, for `ms` or for good); 'cut' (the
 * transport closes with a TransportError).
 * A plan that does not have this shape is refused by `parseFaultPlan` with a FaultPlanError
 * saying where (e.g. `rules[2].every`).
 */
import { HcikitError } from '../../hci/errors.ts'

export type FaultAction =
  | { action: 'drop' }
  | { action: 'delay'; ms: number }
  | { action: 'duplicate'; times?: number }
  | { action: 'reorder' }
  | { action: 'mutate'; offset: number; xor?: string; set?: string }
  | { action: 'status'; status: number }
  | { action: 'hold-credits'; count: number; ms?: number }
  | { action: 'cut' }

export type PacketName = 'cmd' | 'acl' | 'sco' | 'evt' | 'iso'

export interface FaultMatch {
  /** A label for logs and captures (default "rule N"). */
  name?: string
  direction?: 'tx' | 'rx'
  packet?: PacketName
  opcode?: number
  event?: number
  subevent?: number
  handle?: number
  att?: number
  attHandle?: number
  after?: number
  every?: number
  random?: number
  limit?: number
}

export type FaultRule = FaultMatch & FaultAction

export interface FaultPlan {
  /** Seed of the rules' `random` choices (default 1): the same seed, the same faults. */
  seed?: number
  rules: FaultRule[]
}

export class FaultPlanError extends HcikitError {
  override name = 'FaultPlanError'
  constructor(
    readonly path: string,
    /** What is wrong, without the path. */
    readonly detail: string,
  ) {
    super('FAULT_PLAN_INVALID', 'usage', `${path ? `${path}: ` : ''}${detail}`, {
      hint:
        'a fault plan is {"seed": N, "rules": [{"packet": "acl", "every": 10, "action": "drop"}, ...]}; ' +
        'docs/TESTING.md lists every field',
    })
  }
}

const PACKETS: readonly PacketName[] = ['cmd', 'acl', 'sco', 'evt', 'iso']
const ACTIONS = ['drop', 'delay', 'duplicate', 'reorder', 'mutate', 'status', 'hold-credits', 'cut'] as const
const MATCH_KEYS = new Set(['name', 'direction', 'packet', 'opcode', 'event', 'subevent', 'handle', 'att', 'attHandle'])
const WHICH_KEYS = new Set(['after', 'every', 'random', 'limit'])
const ACTION_KEYS: Record<FaultAction['action'], readonly string[]> = {
  drop: [],
  delay: ['ms'],
  duplicate: ['times'],
  reorder: [],
  mutate: ['offset', 'xor', 'set'],
  status: ['status'],
  'hold-credits': ['count', 'ms'],
  cut: [],
}

/** A number, or a string in hex ("0x200c") or decimal, within [min, max]. */
function int(v: unknown, path: string, min: number, max: number): number {
  const n = typeof v === 'string' && /^(0x[0-9a-f]+|\d+)$/i.test(v) ? Number(v) : v
  if (!Number.isInteger(n) || (n as number) < min || (n as number) > max)
    throw new FaultPlanError(path, `expected an integer ${min}..${max}${max > 9 ? ' (decimal or 0x hex)' : ''}`)
  return n as number
}

function hexBytes(v: unknown, path: string): string {
  if (typeof v !== 'string' || !/^([0-9a-f]{2})+$/i.test(v))
    throw new FaultPlanError(path, 'expected hex bytes, e.g. "ff00"')
  return v.toLowerCase()
}

function matchPart(o: Record<string, unknown>, path: string): FaultMatch {
  const m: FaultMatch = {}
  if (o.name !== undefined) {
    if (typeof o.name !== 'string') throw new FaultPlanError(`${path}.name`, 'expected a string')
    m.name = o.name
  }
  if (o.direction !== undefined) {
    if (o.direction !== 'tx' && o.direction !== 'rx')
      throw new FaultPlanError(`${path}.direction`, 'expected "tx" (host to controller) or "rx"')
    m.direction = o.direction
  }
  if (o.packet !== undefined) {
    if (!PACKETS.includes(o.packet as PacketName))
      throw new FaultPlanError(`${path}.packet`, `expected one of ${PACKETS.join(', ')}`)
    m.packet = o.packet as PacketName
  }
  const ints: Array<[keyof FaultMatch, number, number]> = [
    ['opcode', 0, 0xffff],
    ['event', 0, 0xff],
    ['subevent', 0, 0xff],
    ['handle', 0, 0x0fff],
    ['att', 0, 0xff],
    ['attHandle', 0, 0xffff],
    ['after', 0, Number.MAX_SAFE_INTEGER],
    ['every', 1, Number.MAX_SAFE_INTEGER],
    ['limit', 1, Number.MAX_SAFE_INTEGER],
  ]
  for (const [k, min, max] of ints) if (o[k] !== undefined) (m[k] as number) = int(o[k], `${path}.${k}`, min, max)
  if (o.random !== undefined) {
    if (typeof o.random !== 'number' || !(o.random > 0 && o.random <= 1))
      throw new FaultPlanError(`${path}.random`, 'expected a probability in (0, 1]')
    m.random = o.random
  }
  return m
}

function actionPart(o: Record<string, unknown>, path: string): FaultAction {
  const a = o.action
  switch (a) {
    case 'drop':
    case 'reorder':
    case 'cut':
      return { action: a }
    case 'delay':
      return { action: a, ms: int(o.ms, `${path}.ms`, 0, 3_600_000) }
    case 'duplicate':
      return { action: a, times: o.times === undefined ? 1 : int(o.times, `${path}.times`, 1, 100) }
    case 'mutate': {
      if ((o.xor === undefined) === (o.set === undefined))
        throw new FaultPlanError(path, 'mutate needs "xor" or "set" (hex bytes), one of them')
      const m: FaultAction = { action: a, offset: int(o.offset, `${path}.offset`, 0, 0xffff) }
      if (o.xor !== undefined) m.xor = hexBytes(o.xor, `${path}.xor`)
      else m.set = hexBytes(o.set, `${path}.set`)
      return m
    }
    case 'status':
      return { action: a, status: int(o.status, `${path}.status`, 1, 0xff) }
    case 'hold-credits': {
      const h: FaultAction = { action: a, count: int(o.count, `${path}.count`, 1, 0xffff) }
      if (o.ms !== undefined) h.ms = int(o.ms, `${path}.ms`, 0, 3_600_000)
      return h
    }
    default:
      throw new FaultPlanError(`${path}.action`, `expected one of ${ACTIONS.join(', ')}`)
  }
}

function rule(v: unknown, path: string): FaultRule {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new FaultPlanError(path, 'expected an object')
  const o = v as Record<string, unknown>
  const action = actionPart(o, path)
  for (const k of Object.keys(o))
    if (k !== 'action' && !MATCH_KEYS.has(k) && !WHICH_KEYS.has(k) && !ACTION_KEYS[action.action].includes(k))
      throw new FaultPlanError(`${path}.${k}`, `not a field of a "${action.action}" rule`)
  const r = { ...matchPart(o, path), ...action } as FaultRule
  if (r.action === 'status' && r.packet !== 'cmd')
    throw new FaultPlanError(`${path}.packet`, '"status" answers a command: give "packet": "cmd" (and an "opcode")')
  if (r.action === 'hold-credits' && (r.packet !== 'evt' || (r.event !== undefined && r.event !== 0x13)))
    throw new FaultPlanError(
      path,
      '"hold-credits" works on Number Of Completed Packets: "packet": "evt", "event": "0x13"',
    )
  if ((r.att !== undefined || r.attHandle !== undefined) && r.packet !== undefined && r.packet !== 'acl')
    throw new FaultPlanError(`${path}.packet`, '"att" and "attHandle" match ACL packets')
  return r
}

/** Check a plan (parsed JSON or an object from code); throws FaultPlanError naming the place. */
export function validateFaultPlan(v: unknown): FaultPlan {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new FaultPlanError('', 'expected an object')
  const o = v as Record<string, unknown>
  for (const k of Object.keys(o))
    if (k !== 'seed' && k !== 'rules') throw new FaultPlanError(k, 'not a field of a fault plan')
  if (!Array.isArray(o.rules)) throw new FaultPlanError('rules', 'expected an array of rules')
  const plan: FaultPlan = { rules: o.rules.map((r, i) => rule(r, `rules[${i}]`)) }
  if (o.seed !== undefined) plan.seed = int(o.seed, 'seed', 0, 0xffffffff)
  return plan
}

/** A plan from JSON text. */
export function parseFaultPlan(text: string): FaultPlan {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch (e) {
    throw new FaultPlanError('', `not JSON: ${(e as Error).message}`)
  }
  return validateFaultPlan(v)
}
