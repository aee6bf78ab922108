/**
 * UTF-8 text as bytes, and the byte order of strings, without Node's `Buffer`.
 *
 * @since 0.1.0
 */

const encoder = new TextEncoder()

/**
 * The UTF-8 bytes of a string (a lone surrogate becomes U+FFFD, as `Buffer.from` does).
 *
 * @since 0.1.0
 */
export const utf8Bytes = (text: string): Uint8Array => encoder.encode(text)

const isAscii = (s: string) => {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false
  return true
}

/**
 * The byte order of two strings' UTF-8 forms (what a Rust `BTreeMap<String>` sorts by):
 * negative, zero or positive.
 *
 * @since 0.1.0
 */
export const compareUtf8 = (a: string, b: string): number => {
  if (isAscii(a) && isAscii(b)) return a < b ? -1 : a > b ? 1 : 0
  const x = encoder.encode(a)
  const y = encoder.encode(b)
  const n = Math.min(x.length, y.length)
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!
  return x.length - y.length
}
