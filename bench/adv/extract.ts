/**
 * Derives bench/fixtures/ad-payloads.json from the real traces (../shared/fixtures/real, recorded
 * by other people with real phones): the distinct advertising data of every LE Advertising
 * Report (Core v5.4 Vol 4 Part E 7.7.65.2) and LE Extended Advertising Report (7.7.65.13) in
 * them, with the RSSI (not the advertisers' addresses: the bench gives each report its own). Only
 * those fields are kept (some kilobytes), not the traces. Run `node dist/bench/adv/extract.js [REAL_DIR]` to derive it again.
 */
import { readdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { openCapture } from '../../src/capture-file.ts'
import { decodeEvent } from '../../hci/events.ts'
import { DecodeError } from '../../hci/errors.ts'

export interface AdSample {
  rssi: number
  /** The AD structures as hex, exactly as reported. */
  data: string
}

export interface AdFixture {
  derivedFrom: string[]
  legacy: AdSample[]
  extended: AdSample[]
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const LIMIT = 200

async function main(): Promise<void> {
  const dir = process.argv[2] ?? fileURLToPath(new URL('../../../../shared/fixtures/real/', import.meta.url))
  const out: AdFixture = { derivedFrom: [], legacy: [], extended: [] }
  const seen = new Set<string>()
  for (const f of readdirSync(dir).sort()) {
    if (f.startsWith('catalog') || f.endsWith('.md')) continue
    let found = 0
    try {
      for await (const r of openCapture(dir + f)) {
        if (r.packetType !== 4 || r.data[0] !== 0x3e) continue
        const e = decodeEvent(r.data)
        if (e instanceof DecodeError) continue
        const kind =
          e.key === 'LeAdvertisingReport' ? 'legacy' : e.key === 'LeExtendedAdvertisingReport' ? 'extended' : undefined
        if (!kind || out[kind].length >= LIMIT) continue
        for (const rep of (e as unknown as { params: { reports: Array<{ rssi: number; data: Uint8Array }> } }).params
          .reports) {
          if (rep.data.length === 0) continue
          const key = `${kind}/${hex(rep.data)}`
          if (seen.has(key)) continue
          seen.add(key)
          out[kind].push({ rssi: rep.rssi, data: hex(rep.data) })
          found++
        }
      }
    } catch {
      continue // not a capture we read: skip
    }
    if (found > 0) out.derivedFrom.push(f)
  }
  const target = fileURLToPath(new URL('../../../bench/fixtures/ad-payloads.json', import.meta.url))
  writeFileSync(target, `${JSON.stringify(out, null, 0).replace(/},{/g, '},\n{')}\n`)
  console.log(
    `${target}: ${out.legacy.length} legacy and ${out.extended.length} extended payloads from ${out.derivedFrom.length} traces`,
  )
}

await main()
