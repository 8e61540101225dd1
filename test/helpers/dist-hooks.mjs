// Module hooks for dist-loader.mjs (Node's module customization hooks: resolve and load).
import { existsSync, statSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname, join, resolve as resolvePath } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const ROOT_URL = pathToFileURL(ROOT).href
const DIST_URL = pathToFileURL(join(ROOT, 'dist/')).href
const NODE_MODULES = '/node_modules/'

const ours = (url) => url.startsWith(ROOT_URL) && !url.startsWith(DIST_URL) && !url.includes(NODE_MODULES)

// Compiled code imports './x.js' for './x.ts' (rewriteRelativeImportExtensions): from a module
// loaded under its .ts URL, that names a .js file beside the source that does not exist.
export async function resolve(specifier, context, next) {
  if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL && ours(context.parentURL)) {
    const js = new URL(specifier, context.parentURL)
    const ts = new URL(`${js.href.slice(0, -3)}.ts`)
    if (!existsSync(js) && existsSync(ts)) return next(ts.href, context)
  }
  return next(specifier, context)
}

function compiled(url) {
  const source = fileURLToPath(url)
  const js = join(ROOT, 'dist', `${source.slice(ROOT.length, -3)}.js`)
  try {
    return statSync(js).mtimeMs >= statSync(source).mtimeMs ? js : undefined
  } catch {
    return undefined
  }
}

export async function load(url, context, next) {
  const js = url.endsWith('.ts') && ours(url) ? compiled(url) : undefined
  if (!js) return next(url, context)
  const code = await readFile(js, 'utf8')
  return { format: 'module', source: await withSourceMap(code, js), shortCircuit: true }
}

// Stack traces point into the .ts source: the compiled file's source map, inlined, with its
// sources made absolute (it sits in dist/, the module is loaded under the source's URL).
async function withSourceMap(code, js) {
  const m = /^\/\/# sourceMappingURL=(.+)$/m.exec(code)
  if (!m || m[1].startsWith('data:')) return code
  const mapPath = join(dirname(js), m[1])
  try {
    const map = JSON.parse(await readFile(mapPath, 'utf8'))
    const base = dirname(mapPath)
    map.sources = map.sources.map((s) => pathToFileURL(resolvePath(base, map.sourceRoot ?? '', s)).href)
    delete map.sourceRoot
    const inline = Buffer.from(JSON.stringify(map)).toString('base64')
    return `${code.slice(0, m.index)}//# sourceMappingURL=data:application/json;base64,${inline}\n`
  } catch {
    return code
  }
}
