/**
 * UTF-8 text as bytes, and the byte order of strings, without the global `Buffer` (Node's
 * `node:buffer` only where the runtime hands it out, for bytes that are sent).
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

/** `Buffer.from` of `node:buffer`, where the runtime hands that module out synchronously. */
const bufferFrom = /*#__PURE__*/ (() => {
  const getBuiltinModule = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
    ?.getBuiltinModule
  if (typeof getBuiltinModule !== "function") return undefined
  try {
    const buffer = getBuiltinModule("node:buffer") as
      | { readonly Buffer?: { readonly from?: (text: string, encoding: "utf8") => Uint8Array } }
      | undefined
    const from = buffer?.Buffer?.from
    return typeof from === "function" ? from.bind(buffer!.Buffer) : undefined
  } catch {
    return undefined
  }
})()

/**
 * The UTF-8 bytes of a string that is sent (a request body): {@link utf8Bytes}, or where Node's
 * `Buffer` is at hand (Node, Bun, Deno), `Buffer.from`, several times faster for short strings.
 * The bytes may then be a view into a pool shared with other buffers, so they are for text that
 * is not secret, read through the view only.
 *
 * @since 0.2.0
 */
export const utf8Sent: (text: string) => Uint8Array =
  bufferFrom === undefined ? utf8Bytes : (text) => bufferFrom(text, "utf8")

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
