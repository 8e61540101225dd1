/**
 * The real traces in ../shared/fixtures/real (recorded by other people with real phones and
 * devices), read in place, never copied into the project.
 */
import { readdirSync, existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const REAL_DIR = fileURLToPath(new URL('../../../shared/fixtures/real/', import.meta.url))

/** Every capture file there (not the catalog files), sorted. */
export function realTraces(): string[] {
  if (!existsSync(REAL_DIR)) throw new Error(`real traces not found at ${REAL_DIR} (shared/ must sit beside the clone)`)
  return readdirSync(REAL_DIR)
    .filter((f) => f !== 'CATALOG.md' && f !== 'catalog.json')
    .sort()
    .map((f) => REAL_DIR + f)
}

export function shortName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1)
}
