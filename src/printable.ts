/**
 * Text from the air or from a capture, made safe for a terminal (docs/RELIABILITY.md, issue 13
 * item 8). A device name is whatever bytes a peer chose to advertise (Core v5.4 Vol 3 Part C
 * 12.1 Device Name is UTF-8 with no further rules; CSS Part A 1.2 Local Name likewise), and a
 * BlueZ monitor note is any text: printed raw, an escape sequence retitles the window or clears
 * the screen, a CR/LF forges a line of output. Every C0 control (U+0000-U+001F), DEL, C1 control
 * (U+0080-U+009F), and the bidirectional overrides and isolates that reorder what is shown
 * (U+202A-U+202E, U+2066-U+2069) become visible escapes; all other text is left as it is.
 * JSON output needs none of this: JSON.stringify escapes controls itself.
 */

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\x1b': '\\e' }

const UNSAFE = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g

function escapeOne(c: string): string {
  const named = NAMED[c]
  if (named !== undefined) return named
  const code = c.charCodeAt(0)
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
}

/** `s` with every terminal control character shown as an escape (`\e`, `\n`, `\x07`, `\u202e`). */
export function printable(s: string): string {
  return s.replace(UNSAFE, escapeOne)
}
