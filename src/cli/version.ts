/**
 * The version of hcikit, from its package.json (found by walking up from this file, so it is the
 * same from src/ through a TypeScript loader and from the compiled dist/).
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 5; i++) {
    const file = join(dir, 'package.json')
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string }
      if (pkg.name === 'hcikit' && typeof pkg.version === 'string') return pkg.version
    }
    dir = dirname(dir)
  }
  return 'unknown'
}
