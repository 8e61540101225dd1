/**
 * Local LL procedures of the virtual controller's connections (Core v5.4 Vol 6 Part B 5.1): one
 * runs at a time per connection, the others wait in order; each is bounded by the LL response
 * timeout (5.2: 40 s, then the connection ends with 0x22 LL Response Timeout). A procedure the
 * peer refuses (LL_REJECT_EXT_IND) or does not know (LL_UNKNOWN_RSP) is told so by `rejected`.
 */
import { Status } from '../../hci/constants.ts'
import type { Connection } from './ll-connection.ts'
import type { Scheduler } from './scheduler.ts'

/** LL response timeout (Vol 6 Part B 5.2): 40 s. */
const LL_RESPONSE_TIMEOUT_MS = 40_000

/** A local LL procedure (5.1): one runs at a time per connection. */
export interface Procedure {
  name: string
  /** Send its first PDU. */
  begin(): void
  /** The peer rejected it (LL_REJECT_EXT_IND) or does not know it (LL_UNKNOWN_RSP -> 0x1A). */
  rejected?(errorCode: number): void
}

interface ProcState {
  active: (Procedure & { cancelTimer: () => void }) | undefined
  queue: Procedure[]
}

export class ProcedureQueue {
  private readonly procs = new WeakMap<Connection, ProcState>()

  constructor(private readonly scheduler: Scheduler) {}

  /** Run a local procedure now, or after the one in progress. */
  run(conn: Connection, proc: Procedure): void {
    const st = this.stateOf(conn)
    if (st.active) st.queue.push(proc)
    else this.begin(conn, st, proc)
  }

  /** The local procedure in progress, if any. */
  active(conn: Connection): Procedure | undefined {
    return this.procs.get(conn)?.active
  }

  /** Is a local procedure of that name in progress or waiting? */
  has(conn: Connection, name: string): boolean {
    const st = this.procs.get(conn)
    return st !== undefined && (st.active?.name === name || st.queue.some((p) => p.name === name))
  }

  /** The local procedure `name` is complete: start the next one. */
  finish(conn: Connection, name: string): void {
    const st = this.procs.get(conn)
    if (!st?.active || st.active.name !== name) return
    st.active.cancelTimer()
    st.active = undefined
    const next = st.queue.shift()
    if (next && conn.open) this.begin(conn, st, next)
  }

  /** The connection ended: forget its procedures (and their timers). */
  drop(conn: Connection): void {
    this.procs.get(conn)?.active?.cancelTimer()
    this.procs.delete(conn)
  }

  private stateOf(conn: Connection): ProcState {
    let st = this.procs.get(conn)
    if (!st) {
      st = { active: undefined, queue: [] }
      this.procs.set(conn, st)
    }
    return st
  }

  private begin(conn: Connection, st: ProcState, proc: Procedure): void {
    const cancelTimer = this.scheduler.schedule(LL_RESPONSE_TIMEOUT_MS, () => {
      if (st.active?.name === proc.name) conn.close(Status.LlResponseTimeout)
    })
    st.active = { ...proc, cancelTimer }
    proc.begin()
  }
}
