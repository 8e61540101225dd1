/**
 * The types of `HciHost.send` (Core v5.4 Vol 4 Part E 7.7.14 Command Complete return parameters,
 * 7.7.15 Command Status), in a file of their own so that host.ts and bring-up.ts, which both use
 * them, do not import each other (docs/ARCHITECTURE.md: no import cycles).
 */
import type { CommandSpec, Fields, StructValue } from './spec.ts'

/** Return parameters of a command: typed, or `{ status }` for commands answered by Command Status. */
export type CommandResult<C> =
  C extends CommandSpec<Fields, infer R> ? (string extends keyof R ? { status: number } : StructValue<R>) : never

export interface SendOptions {
  signal?: AbortSignal
  /** Give up after this long, ms (default: the host's commandTimeoutMs, 5000). */
  timeout?: number
}
