/**
 * Byte sizes and encodings the stores share: JSON byte lengths, canonical JSON (equal
 * values give equal strings) and unpadded base64url.
 *
 * @since 0.1.0
 */
import { byteLength } from "../Names.ts"

const utf8 = new TextEncoder()

/**
 * Byte length of the compact JSON form of `value` (what the server stores and counts).
 *
 * @since 0.1.0
 */
export const jsonByteLength = (value: unknown): number => byteLength(JSON.stringify(value))

/**
 * JSON with object keys sorted at every depth: equal values give equal strings.
 *
 * @since 0.1.0
 */
export const canonicalJson = (value: unknown): string => {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null"
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`
}

/**
 * Unpadded base64url of a UTF-8 string.
 *
 * @since 0.1.0
 */
export const base64UrlEncode = (s: string): string => {
  let binary = ""
  for (const byte of utf8.encode(s)) binary += String.fromCharCode(byte)
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "")
}

/**
 * Decodes unpadded base64url to a UTF-8 string, or returns an error detail.
 *
 * @since 0.1.0
 */
export const base64UrlDecode = (s: string): { readonly text: string } | { readonly error: string } => {
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (!/[A-Za-z0-9\-_]/.test(c)) return { error: `Invalid symbol ${s.charCodeAt(i)}, offset ${i}.` }
  }
  if (s.length % 4 === 1) return { error: `Invalid input length: ${s.length}` }
  const binary = atob(s.replaceAll("-", "+").replaceAll("_", "/") + "=".repeat((4 - (s.length % 4)) % 4))
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0))
  try {
    return { text: new TextDecoder("utf-8", { fatal: true }).decode(bytes) }
  } catch {
    return { error: "invalid UTF-8" }
  }
}
