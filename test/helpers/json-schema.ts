/**
 * A small JSON Schema (2020-12) checker for the keywords hcikit's documented schemas use (type,
 * const, enum, pattern, minimum, maximum, required, properties, additionalProperties: false,
 * items, $ref to #/$defs): written here so a schema in docs/ can be held against what the code
 * writes and reads, without a dependency. Returns the problems, each with its JSON path.
 */
type Schema = Record<string, unknown>

export function checkSchema(root: Schema, value: unknown): string[] {
  const problems: string[] = []
  const check = (s: Schema, v: unknown, path: string): void => {
    if (typeof s.$ref === 'string') {
      const name = s.$ref.replace('#/$defs/', '')
      check((root.$defs as Record<string, Schema>)[name]!, v, path)
    }
    const at = path || '(root)'
    if ('const' in s && v !== s.const) problems.push(`${at}: expected ${JSON.stringify(s.const)}`)
    if (Array.isArray(s.enum) && !s.enum.includes(v)) problems.push(`${at}: not one of ${JSON.stringify(s.enum)}`)
    if (typeof s.type === 'string' && !hasType(s.type, v)) {
      problems.push(`${at}: expected ${s.type}`)
      return
    }
    if (typeof v === 'string' && typeof s.pattern === 'string' && !new RegExp(s.pattern).test(v))
      problems.push(`${at}: does not match ${s.pattern}`)
    if (typeof v === 'number') {
      if (typeof s.minimum === 'number' && v < s.minimum) problems.push(`${at}: below ${s.minimum}`)
      if (typeof s.maximum === 'number' && v > s.maximum) problems.push(`${at}: above ${s.maximum}`)
    }
    if (Array.isArray(v) && s.items) v.forEach((x, i) => check(s.items as Schema, x, `${path}[${i}]`))
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>
      const props = (s.properties ?? {}) as Record<string, Schema>
      for (const k of (s.required ?? []) as string[]) if (!(k in o)) problems.push(`${at}: missing ${k}`)
      for (const [k, x] of Object.entries(o)) {
        if (props[k]) check(props[k]!, x, path ? `${path}.${k}` : k)
        else if (s.additionalProperties === false) problems.push(`${at}: unexpected ${k}`)
      }
    }
  }
  check(root, value, '')
  return problems
}

function hasType(type: string, v: unknown): boolean {
  switch (type) {
    case 'object':
      return v !== null && typeof v === 'object' && !Array.isArray(v)
    case 'array':
      return Array.isArray(v)
    case 'integer':
      return Number.isInteger(v)
    case 'number':
      return typeof v === 'number' && Number.isFinite(v)
    default:
      return typeof v === type
  }
}
