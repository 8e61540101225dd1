/**
 * Is this process waiting on real work? The question a VirtualScheduler in auto mode asks before
 * it lets virtual time jump ahead (scheduler.ts; docs/VIRTUAL-TIME.md): if application code is
 * awaiting a real timer or an I/O request, a jump would let virtual timeouts (the 30 s ATT
 * transaction timeout, Core v5.4 Vol 3 Part F 3.3.3) expire in a few real milliseconds.
 *
 * Node lists what keeps its event loop alive (process.getActiveResourcesInfo()): ref'd timers
 * ('Timeout'), requests in flight (fs 'FSReqCallback'/'FSReqPromise'/'CloseReq', dns
 * 'GetAddrInfoReqWrap', crypto and zlib jobs '...Job', stream 'WriteWrap'/'ShutdownWrap'/
 * 'ConnectWrap') and long-lived handles (sockets, servers, pipes, TTYs, child processes,
 * signals). Timers and requests count as pending work; handles do not (nobody knows when data
 * will arrive on them), nor do unref'd timers (AbortSignal.timeout's, for one), nor the
 * schedulers' own pacing timers, which are counted here as they are armed.
 */

const REQUEST = /Req|Job|WriteWrap|ShutdownWrap|ConnectWrap/

/** Ref'd pacing timers of VirtualSchedulers in this process (they are not application work). */
let ownTimers = 0

/** A VirtualScheduler armed (+1) or disarmed (-1) a ref'd pacing timer. */
export function countOwnTimer(delta: 1 | -1): void {
  ownTimers += delta
}

/** Is a ref'd real timer other than ours, or an I/O request, pending? */
export function realWorkPending(): boolean {
  let timers = 0
  for (const r of process.getActiveResourcesInfo()) {
    if (r === 'Timeout') timers++
    else if (REQUEST.test(r)) return true
  }
  return timers > ownTimers
}
