/**
 * Request verification exactly as the Sockudo server does it (server reference, section 2.1),
 * written independently of the SDK's signer so the emulator cannot share its bugs: the same
 * steps in the same order, the same statuses, codes and messages (section 2.5).
 *
 * Also the checks the server makes on a WebSocket connection: channel subscription signatures
 * (`socket_id:channel`, plus `:channel_data` for `presence-` channels only) and user sign-in
 * signatures (`socket_id::user::user_data`), and the webhook signature it sends.
 *
 * @since 0.1.0
 */
import { compareUtf8 } from "../../internal/Bytes.ts"
import { digest, equalConstantTime } from "../../internal/Digest.ts"
import { type ApiResponse, apiError } from "./Api.ts"

/**
 * The credentials of one emulated app.
 *
 * @since 0.1.0
 */
export interface AppCredentials {
  /** The app's id. */
  readonly id: string
  /** The app key. */
  readonly key: string
  /** The app secret. */
  readonly secret: string
}

/**
 * A decoded query parameter.
 *
 * @since 0.1.0
 */
export type QueryPair = readonly [key: string, value: string]

/**
 * A request as it reached the server.
 *
 * @since 0.1.0
 */
export interface VerifyInput {
  /** Upper-case method. */
  readonly method: string
  /** The raw request target: path and query, percent-encoding untouched. */
  readonly url: string
  /** The exact body bytes. */
  readonly body: Uint8Array
  /** The server's clock, in Unix seconds. */
  readonly nowSeconds: number
}

/**
 * The outcome of verification: the authenticated app and every decoded query pair, or the
 * server's rejection.
 *
 * @since 0.1.0
 */
export type Verification<A> =
  | { readonly _tag: "Verified"; readonly app: A; readonly pairs: ReadonlyArray<QueryPair> }
  | { readonly _tag: "Rejected"; readonly response: ApiResponse }

/**
 * The maximum clock skew, in seconds, in either direction.
 *
 * @since 0.1.0
 */
export const maxSkewSeconds = 600

const utf8 = new TextDecoder("utf-8")
const utf8Encoder = new TextEncoder()

const hexValue = (c: number): number =>
  c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1

/**
 * Form-decodes one query component: `+` is a space, `%XX` a byte, malformed escapes stay as they
 * are, and invalid UTF-8 becomes U+FFFD (the lossy decoding the server's parser uses).
 *
 * @since 0.1.0
 */
export const formDecode = (component: string): string => {
  if (!component.includes("%") && !component.includes("+")) return component
  const bytes = utf8Encoder.encode(component.replaceAll("+", " "))
  const out = new Uint8Array(bytes.length)
  let n = 0
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!
    if (b === 37 && i + 2 < bytes.length) {
      const hi = hexValue(bytes[i + 1]!)
      const lo = hexValue(bytes[i + 2]!)
      if (hi >= 0 && lo >= 0) {
        out[n++] = hi * 16 + lo
        i += 2
        continue
      }
    }
    out[n++] = b
  }
  return utf8.decode(out.subarray(0, n))
}

/**
 * Splits a raw query string (without `?`) into decoded pairs, in order; a key without `=` has
 * the value `""`.
 *
 * @since 0.1.0
 */
export const parseQuery = (raw: string): Array<QueryPair> => {
  const pairs: Array<QueryPair> = []
  for (const part of raw.split("&")) {
    if (part === "") continue
    const eq = part.indexOf("=")
    pairs.push(eq === -1 ? [formDecode(part), ""] : [formDecode(part.slice(0, eq)), formDecode(part.slice(eq + 1))])
  }
  return pairs
}

/**
 * Lowercase hex MD5.
 *
 * @since 0.1.0
 */
export const md5Hex = (data: string | Uint8Array): string => digest.md5Hex(data)

/**
 * Lowercase hex HMAC-SHA256 with a secret.
 *
 * @since 0.1.0
 */
export const hmacSha256Hex = (secret: string, data: string | Uint8Array): string => digest.hmacSha256Hex(secret, data)

const authFailed = (message: string) => apiError(401, "auth_failed", message)
const invalidInput = (message: string) => apiError(400, "invalid_input", message)

const TYPED_FIELDS = ["auth_key", "auth_timestamp", "auth_version", "body_md5", "auth_signature"] as const
type TypedField = (typeof TYPED_FIELDS)[number]
const isTypedField = (key: string): key is TypedField => (TYPED_FIELDS as ReadonlyArray<string>).includes(key)

const I64_MIN = -(2n ** 63n)
const I64_MAX = 2n ** 63n - 1n

const parseI64 = (s: string): bigint | undefined => {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined
  const n = BigInt(s)
  return n < I64_MIN || n > I64_MAX ? undefined : n
}

/**
 * The string the server signs: `METHOD\npath\nquery`, where `query` lists every pair but
 * `auth_signature`, keys lower-cased, byte-sorted, values decoded. Exposed for tests.
 *
 * @since 0.1.0
 */
export const stringToSign = (method: string, path: string, pairs: ReadonlyArray<QueryPair>): string =>
  `${method}\n${path}\n${signingQuery(pairs)}`

/** Steps 3 and 8: the map keyed by original key (last value wins), then re-keyed lower-case. */
const signingMap = (pairs: ReadonlyArray<QueryPair>): Map<string, string> => {
  const original = new Map<string, string>()
  for (const [k, v] of pairs) if (k !== "auth_signature") original.set(k, v)
  const lower = new Map<string, string>()
  for (const k of [...original.keys()].sort(compareUtf8)) lower.set(k.toLowerCase(), original.get(k)!)
  return lower
}

const signingQuery = (pairs: ReadonlyArray<QueryPair>): string => {
  const map = signingMap(pairs)
  return [...map.keys()]
    .sort(compareUtf8)
    .map((k) => `${k}=${map.get(k)!}`)
    .join("&")
}

/**
 * Verifies a request to an `/apps/...` route, step by step as the server does.
 *
 * @since 0.1.0
 */
export const verifyRequest = <A extends AppCredentials>(
  input: VerifyInput,
  findApp: (key: string) => A | undefined
): Verification<A> => {
  const reject = (response: ApiResponse): Verification<A> => ({ _tag: "Rejected", response })
  const q = input.url.indexOf("?")
  // 1. no query string at all
  if (q === -1) return reject(invalidInput("Missing authentication query parameters"))
  const path = input.url.slice(0, q)
  const rawQuery = input.url.slice(q + 1)
  const pairs = parseQuery(rawQuery)
  // 2. typed parse of the auth fields: a repeated field is an error
  const typed: Partial<Record<TypedField, string>> = {}
  for (const [k, v] of pairs) {
    if (!isTypedField(k)) continue
    if (typed[k] !== undefined) {
      return reject(invalidInput(`Invalid authentication query parameters: duplicate field \`${k}\``))
    }
    typed[k] = v
  }
  // 3. an empty query
  if (rawQuery === "") return reject(invalidInput("Query string is empty or invalid"))
  // 5. the app, by key
  const app = findApp(typed.auth_key ?? "")
  if (app === undefined)
    return reject(apiError(404, "app_not_found", "Application key not found or invalid: Invalid app key"))
  // 6. the route's app id, raw
  if (path.split("/")[2] !== app.id) return reject(authFailed("Authenticated app does not match route app_id"))
  // 7. the timestamp
  const timestamp = typed.auth_timestamp ?? ""
  if (timestamp === "") return reject(authFailed("auth_timestamp is missing"))
  const seconds = parseI64(timestamp)
  if (seconds === undefined) return reject(authFailed("Invalid auth_timestamp format"))
  const skew = BigInt(Math.floor(input.nowSeconds)) - seconds
  if (skew > BigInt(maxSkewSeconds) || skew < -BigInt(maxSkewSeconds)) {
    return reject(authFailed("Timestamp expired or too far in the future"))
  }
  // 8. and 9. body_md5, looked up in the lower-cased signing map
  const lower = signingMap(pairs)
  const bodyMd5 = lower.get("body_md5")
  if (input.method === "POST") {
    if (bodyMd5 === undefined || bodyMd5 === "") {
      return reject(
        authFailed(
          "body_md5 is required and must be non-empty in query parameters for POST requests with a non-empty body"
        )
      )
    }
    if (bodyMd5 !== md5Hex(input.body)) return reject(authFailed("body_md5 mismatch"))
  } else if (bodyMd5 !== undefined) {
    return reject(authFailed(`body_md5 must not be present in query parameters for ${input.method} requests`))
  }
  // 10. and 11. the signature
  const expected = hmacSha256Hex(app.secret, stringToSign(input.method, path, pairs))
  if (!equalConstantTime(expected, typed.auth_signature ?? "")) return reject(authFailed("Invalid API signature"))
  return { _tag: "Verified", app, pairs }
}

/**
 * The `auth` the server expects for a subscription: `<key>:<hex>` over `socket_id:channel`, with
 * `:channel_data` appended only for `presence-` channels with non-empty channel data.
 *
 * @since 0.1.0
 */
export const expectedChannelAuth = (
  app: AppCredentials,
  socketId: string,
  channel: string,
  channelData: string | undefined
): string => {
  const signed =
    channel.startsWith("presence-") && channelData !== undefined && channelData !== ""
      ? `${socketId}:${channel}:${channelData}`
      : `${socketId}:${channel}`
  return `${app.key}:${hmacSha256Hex(app.secret, signed)}`
}

/**
 * Whether a subscription's `auth` is what the server expects (the whole string, key included).
 *
 * @since 0.1.0
 */
export const verifyChannelAuth = (
  app: AppCredentials,
  socketId: string,
  channel: string,
  auth: string,
  channelData: string | undefined
): boolean => equalConstantTime(auth, expectedChannelAuth(app, socketId, channel, channelData))

/**
 * Whether a `pusher:signin` `auth` is valid: the server compares only the part after the first
 * `:` with the HMAC of `socket_id::user::user_data`.
 *
 * @since 0.1.0
 */
export const verifySignin = (app: AppCredentials, socketId: string, auth: string, userData: string): boolean => {
  const colon = auth.indexOf(":")
  if (colon === -1) return false
  return equalConstantTime(auth.slice(colon + 1), hmacSha256Hex(app.secret, `${socketId}::user::${userData}`))
}
