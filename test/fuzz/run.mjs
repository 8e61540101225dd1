#!/usr/bin/env node
// `npm run fuzz [-- --time SECONDS] [--seed N] [TARGET-FILE...]`: run the fuzz targets of
// test/fuzz (see harness.ts) for as long as asked, with a random seed unless one is given. A
// failure is saved as a regression fixture in test/fuzz/regressions/ (commit it: `npm test`
// replays it from then on). Default: 60 seconds per target file.
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const { values, positionals } = parseArgs({
  options: { time: { type: 'string', default: '60' }, seed: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  allowPositionals: true,
})
if (values.help) {
  process.stdout.write('usage: npm run fuzz -- [--time SECONDS] [--seed N] [test/fuzz/X.test.ts ...]\n')
  process.exit(0)
}
const seconds = Number(values.time)
if (!Number.isFinite(seconds) || seconds <= 0) {
  process.stderr.write(`fuzz: --time ${values.time}: expected a positive number of seconds\n`)
  process.exit(2)
}
const seed = values.seed ?? String(Math.floor(Math.random() * 2 ** 31))
const dir = fileURLToPath(new URL('.', import.meta.url))
const files =
  positionals.length > 0
    ? positionals
    : readdirSync(dir)
        .filter((f) => f.endsWith('.test.ts'))
        .map((f) => `test/fuzz/${f}`)
process.stdout.write(`fuzz: seed ${seed}, ${seconds} s per target, ${files.length} files\n`)
// Each file holds a few targets; tap's own timeout must outlast them all.
const r = spawnSync('npx', ['tap', '--timeout', String(Math.ceil(seconds * 8 + 120)), '-j', '1', ...files], {
  stdio: 'inherit',
  env: { ...process.env, HCIKIT_FUZZ_SECONDS: String(seconds), HCIKIT_FUZZ_SEED: seed },
})
process.exit(r.status ?? 1)
