/**
 * Expected names for the tests of our code tables (ATT opcodes and errors, SMP codes and reasons,
 * L2CAP signalling codes and results), from a source that is not our code: Wireshark's dissector
 * value strings (`tshark -G values`). tshark 4.0 predates some of Core v5.4, so two short lists
 * complete it, each entry written once from the spec with its section:
 * - `renamed`: codes the spec has renamed since (the tshark name is given too, and checked, so
 *   an entry cannot drift from what tshark says);
 * - `newer`: codes tshark 4.0 does not name at all.
 * Names are compared without regard to case (tshark capitalises differently; the words are what
 * the spec defines).
 */
import { tsharkValueStrings } from './tshark.ts'

export interface SpecNames {
  /** code -> [the name in Core v5.4, the older name tshark 4.0 shows] */
  renamed?: Record<number, [string, string]>
  /** code -> the name in Core v5.4, for codes tshark 4.0 does not know */
  newer?: Record<number, string>
  /** codes tshark names that are not the table's (e.g. a profile's error code): left out */
  ignore?: (code: number) => boolean
}

export interface ExpectedNames {
  /** code -> expected name, lower case */
  names: Map<number, string>
  /** entries of `renamed` or `newer` that disagree with tshark (each is a mistake in the list) */
  problems: string[]
}

export async function expectedNames(field: string, spec: SpecNames = {}): Promise<ExpectedNames> {
  const tshark = await tsharkValueStrings(field)
  const names = new Map<number, string>()
  const problems: string[] = []
  for (const [code, name] of tshark) if (!spec.ignore?.(code)) names.set(code, name.toLowerCase())
  for (const [k, [now, before]] of Object.entries(spec.renamed ?? {})) {
    const code = Number(k)
    if (names.get(code) !== before.toLowerCase()) problems.push(`0x${hex(code)}: tshark says ${tshark.get(code)}`)
    names.set(code, now.toLowerCase())
  }
  for (const [k, name] of Object.entries(spec.newer ?? {})) {
    const code = Number(k)
    if (tshark.has(code)) problems.push(`0x${hex(code)}: tshark knows it (${tshark.get(code)}): not newer`)
    names.set(code, name.toLowerCase())
  }
  if (tshark.size === 0) problems.push(`tshark has no value strings for ${field}`)
  return { names, problems }
}

const hex = (n: number): string => n.toString(16).padStart(2, '0')
