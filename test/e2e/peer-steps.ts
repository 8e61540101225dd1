/**
 * Test helpers for the peer-host end-to-end tests: the JSON steps a peer script prints, waits on
 * them with timeouts, `hcikit link`'s capture checked with tshark, and (with
 * HCIKIT_UPDATE_FIXTURES=1) the capture kept in fixtures/captures/.
 */
import { copyFileSync, mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Peer } from '../virtual/peers/link-process.ts'

export type Step = { step: string } & Record<string, unknown>

export function steps(p: Peer): Step[] {
  return p.stdout.flatMap((l) => {
    try {
      const v = JSON.parse(l) as Step
      return typeof v.step === 'string' ? [v] : []
    } catch {
      return []
    }
  })
}

/** Wait for a peer's step (the `n`th of that name); a peer that reports 'error' fails the wait with its message. */
export function step(
  p: Peer,
  name: string,
  ms: number,
  n = 1,
  match: (s: Step) => boolean = () => true,
): Promise<Step> {
  return p.until(
    `step '${name}'`,
    (peer) => {
      const all = steps(peer)
      const err = all.find((s) => s.step === 'error')
      if (err) throw new Error(`${peer.name} failed: ${String(err.message)}\n${peer.tail()}`)
      return all.filter((s) => s.step === name && match(s))[n - 1]
    },
    ms,
  )
}

/** Fail with a clear message instead of hanging past `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)
    }),
  ])
}

/** Keep a capture in fixtures/captures/ when HCIKIT_UPDATE_FIXTURES=1. */
export function keepCapture(file: string, name: string): boolean {
  if (process.env['HCIKIT_UPDATE_FIXTURES'] !== '1') return false
  const dir = fileURLToPath(new URL('../../fixtures/captures/', import.meta.url))
  mkdirSync(dir, { recursive: true })
  copyFileSync(file, dir + name)
  return true
}
