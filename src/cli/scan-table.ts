/**
 * The devices `hcikit scan` shows (Core v5.4 Vol 3 Part C 9.2 discovery; Vol 6 Part B 4.4.3
 * scanning): one row per advertiser, as plain pure state so that it can be tested without a
 * terminal (docs/RELIABILITY.md, issue 13 items 8 and 12).
 *
 * Bounded in every direction: a device not heard for `maxAgeMs` is dropped (ageing out), at most
 * `maxDevices` are kept (the longest silent goes first), and `render` returns at most the lines
 * the terminal has, each cut to its width; rows are sorted by RSSI (strongest first, then
 * address) and `offset` scrolls through them. Text from the air (names) is escaped.
 */
import { shortUuid } from '../../att/uuid.ts'
import type { Advertisement } from '../index.ts'
import { printable } from '../printable.ts'
import { rssiBar } from './format.ts'

export interface ScanTableOptions {
  /** Devices not heard for this long leave the table (ms, default 60 s). */
  maxAgeMs?: number
  /** Devices kept at most (default 10,000). */
  maxDevices?: number
}

export interface Row {
  ad: Advertisement
  /** When it was last heard (the clock of `update`'s `now`). */
  seenAt: number
}

export interface Window {
  /** Lines available, header and footer included. */
  height: number
  /** Columns available; every line is cut to fit (a wrapped line would break the redraw). */
  width: number
  /** The first row shown (clamped to what there is). */
  offset: number
}

const COLS = { name: 20, address: 24, rssi: 14, services: 30 }

/** `s` cut to `n` columns (with an ellipsis) or padded to them. */
export function pad(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s.padEnd(n)
}

export function header(): string {
  return `${pad('NAME', COLS.name)} ${pad('ADDRESS', COLS.address)} ${pad('RSSI', COLS.rssi)} ${pad('SERVICES', COLS.services)} LAST SEEN`
}

/** One row of text; `ago` is how long since it was heard (undefined: just now). */
export function formatRow(ad: Advertisement, ago: number | undefined): string {
  const rssi = ad.rssi === 127 ? 'n/a' : `${ad.rssi} ${rssiBar(ad.rssi)}`
  const services = ad.ad.serviceUuids.map(shortUuid).join(',') || '-'
  const seen = ago === undefined || ago < 1000 ? 'now' : `${Math.round(ago / 1000)}s ago`
  const name = ad.name === undefined ? '(no name)' : printable(ad.name)
  const address = `${ad.address} ${ad.addressType === 'random' ? 'rnd' : 'pub'}`
  return `${pad(name, COLS.name)} ${pad(address, COLS.address)} ${pad(rssi, COLS.rssi)} ${pad(services, COLS.services)} ${seen}`
}

export class ScanTable {
  /** In order of last heard, the longest silent first (a Map keeps insertion order). */
  private readonly rows = new Map<string, Row>()
  private readonly maxAgeMs: number
  private readonly maxDevices: number
  /** Devices that aged out or were pushed out, in all. */
  forgotten = 0

  constructor(o: ScanTableOptions = {}) {
    this.maxAgeMs = o.maxAgeMs ?? 60_000
    this.maxDevices = o.maxDevices ?? 10_000
  }

  get size(): number {
    return this.rows.size
  }

  update(ad: Advertisement, now: number): void {
    const key = `${ad.addressType}/${ad.address}`
    this.rows.delete(key)
    this.rows.set(key, { ad, seenAt: now })
    if (this.rows.size > this.maxDevices) this.forget(this.rows.keys().next().value!)
  }

  /** Drop the devices not heard for maxAgeMs (the oldest are first, so this stops at the first fresh one). */
  expire(now: number): number {
    let n = 0
    for (const [key, row] of this.rows) {
      if (now - row.seenAt <= this.maxAgeMs) break
      this.forget(key)
      n++
    }
    return n
  }

  private forget(key: string): void {
    this.rows.delete(key)
    this.forgotten++
  }

  /** Strongest first, then by address. */
  sorted(): Row[] {
    return [...this.rows.values()].sort((a, b) => b.ad.rssi - a.ad.rssi || a.ad.address.localeCompare(b.ad.address))
  }

  /** The lines of one frame: header, the rows that fit from `offset`, and a footer. */
  render(now: number, w: Window): { lines: string[]; offset: number } {
    this.expire(now)
    const all = this.sorted()
    const room = Math.max(1, w.height - 2)
    const offset = Math.max(0, Math.min(w.offset, all.length - room))
    const shown = all.slice(offset, offset + room)
    const n = all.length
    const range = n > shown.length ? `, showing ${offset + 1}-${offset + shown.length} (↑/↓ to scroll)` : ''
    const aged = this.forgotten > 0 ? `, ${this.forgotten} not heard for ${this.maxAgeMs / 1000} s dropped` : ''
    const footer = `${n} device${n === 1 ? '' : 's'}${range}${aged} (Ctrl-C to stop)`
    const lines = [header(), ...shown.map((r) => formatRow(r.ad, now - r.seenAt)), footer]
    return { lines: lines.map((l) => (l.length > w.width ? l.slice(0, Math.max(0, w.width - 1)) + '…' : l)), offset }
  }
}
