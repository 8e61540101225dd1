/**
 * A child process for test/gap/smp/key-file.test.ts: changes a key store until it is killed.
 *   node key-file-writer.ts PATH half   add bond(1000 + 1), hanging halfway through writing the
 *                                       temporary file (prints "half" when there)
 *   node key-file-writer.ts PATH loop   add bond(1000 + g) for g = 1, 2, 3, ..., printing
 *                                       "writing g" before each
 */
import type { FileHandle } from 'node:fs/promises'
import * as fsp from 'node:fs/promises'
import { JsonFileKeyStore, type KeyFileFs } from '../../../gap/smp/key-file.ts'
import { testBond } from './key-file-bond.ts'

const [path, mode] = process.argv.slice(2) as [string, string]

/** node:fs/promises, except that writing a temporary file stops halfway and never returns. */
const halfway: KeyFileFs = {
  ...fsp,
  open: (async (p: string, flags?: string, m?: number) => {
    const fh = await fsp.open(p, flags, m)
    if (!p.endsWith('.tmp')) return fh
    return new Proxy(fh, {
      get(target, prop) {
        if (prop === 'writeFile') {
          return async (text: string) => {
            const buf = Buffer.from(text)
            await target.write(buf, 0, buf.length >> 1)
            await target.sync()
            process.stdout.write('half\n')
            await new Promise(() => {})
          }
        }
        const v = Reflect.get(target, prop, target)
        return typeof v === 'function' ? v.bind(target) : v
      },
    }) as FileHandle
  }) as KeyFileFs['open'],
}

if (mode === 'half') {
  await new JsonFileKeyStore(path, { fs: halfway }).put(testBond(1001))
} else {
  const store = new JsonFileKeyStore(path)
  for (let g = 1; ; g++) {
    process.stdout.write(`writing ${g}\n`)
    await store.put(testBond(1000 + g))
  }
}
