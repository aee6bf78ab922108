/**
 * An independent model of how the Sockudo server checks what an SDK sends, written from the
 * server reference (`sockudo-http-api.md` §2.1 for REST requests, §2.5 for its errors, §7.1 and
 * §7.2 for auth tokens). It shares no code with the SDK: it parses the raw query itself, decodes
 * it the way a `application/x-www-form-urlencoded` parser does, and computes MD5 and HMAC with
 * `node:crypto` directly. Tests use it as the judge of "would the server accept this".
 */
import { createHash, createHmac } from "node:crypto"

/** An app the server knows. */
export interface App {
  readonly id: string
  readonly key: string
  readonly secret: string
}

/** A request as it reaches the server. */
export interface ReceivedRequest {
  readonly method: string
  /** The URI path exactly as received, percent-encoding preserved. */
  readonly path: string
  /** The raw query string without `?`; `undefined` when the URI has no `?` at all. */
  readonly query: string | undefined
  readonly body: string | Uint8Array
}

/** The server's verdict: accepted, or the exact error response of §2.5. */
export type Verdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly status: number; readonly code: string; readonly error: string }

const reject = (status: number, code: string, error: string): Verdict => ({ ok: false, status, code, error })
const authFailed = (error: string) => reject(401, "auth_failed", error)

// `ignoreBOM` keeps a leading U+FEFF, as Rust's `String::from_utf8_lossy` does.
const utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true })

const hexValue = (c: number): number =>
  c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 0x37 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1

/** Percent-decodes bytes (`+` already replaced); a `%` not followed by two hex digits stays as is. */
const percentDecode = (s: string): string => {
  const input = new TextEncoder().encode(s)
  const out: Array<number> = []
  for (let i = 0; i < input.length; i++) {
    const byte = input[i]!
    if (byte === 0x25 && i + 2 < input.length) {
      const hi = hexValue(input[i + 1]!)
      const lo = hexValue(input[i + 2]!)
      if (hi >= 0 && lo >= 0) {
        out.push(hi * 16 + lo)
        i += 2
        continue
      }
    }
    out.push(byte)
  }
  return utf8.decode(new Uint8Array(out))
}

/**
 * Form-decodes a query into ordered pairs: split on `&`, skip empty pieces, split each at its
 * first `=` (a piece without `=` has an empty value), `+` means space, then percent-decode and
 * read the bytes as UTF-8 (invalid sequences become U+FFFD).
 */
export const formDecode = (query: string): Array<readonly [string, string]> => {
  const pairs: Array<readonly [string, string]> = []
  for (const piece of query.split("&")) {
    if (piece === "") continue
    const eq = piece.indexOf("=")
    const rawKey = eq === -1 ? piece : piece.slice(0, eq)
    const rawValue = eq === -1 ? "" : piece.slice(eq + 1)
    pairs.push([percentDecode(rawKey.replaceAll("+", " ")), percentDecode(rawValue.replaceAll("+", " "))])
  }
  return pairs
}

/** Byte-wise order of the UTF-8 encodings, as a Rust `BTreeMap<String, _>` sorts its keys. */
const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"))

const authFields = ["auth_key", "auth_timestamp", "auth_version", "body_md5", "auth_signature"] as const

const I64_MIN = -(2n ** 63n)
const I64_MAX = 2n ** 63n - 1n

/** Parses like Rust's `str::parse::<i64>`: optional sign, ASCII digits, in range. */
const parseI64 = (s: string): bigint | undefined => {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined
  const n = BigInt(s)
  return n < I64_MIN || n > I64_MAX ? undefined : n
}

/**
 * Verifies a REST request as the server's auth middleware does (§2.1, steps 1 to 11), against
 * the apps the server knows, at `nowSeconds` on the server's clock.
 */
export const verifyRequest = (request: ReceivedRequest, apps: ReadonlyArray<App>, nowSeconds: number): Verdict => {
  // 1. A query must be present.
  if (request.query === undefined) return reject(400, "invalid_input", "Missing authentication query parameters")
  const pairs = formDecode(request.query)

  // 2. Typed parse of the auth fields: each may appear at most once; absent ones are "".
  const auth: Record<(typeof authFields)[number], string> = {
    auth_key: "",
    auth_timestamp: "",
    auth_version: "",
    body_md5: "",
    auth_signature: ""
  }
  const seen = new Set<string>()
  for (const [key, value] of pairs) {
    if (!(authFields as ReadonlyArray<string>).includes(key)) continue
    if (seen.has(key)) {
      return reject(400, "invalid_input", `Invalid authentication query parameters: duplicate field \`${key}\``)
    }
    seen.add(key)
    auth[key as (typeof authFields)[number]] = value
  }

  // 3. The signing map: every pair but `auth_signature` (exact case), the last value of a repeated key winning.
  if (pairs.length === 0) return reject(400, "invalid_input", "Query string is empty or invalid")
  const signing = new Map<string, string>()
  for (const [key, value] of pairs) if (key !== "auth_signature") signing.set(key, value)

  // 5. The app, by key.
  const app = apps.find((a) => a.key === auth.auth_key)
  if (app === undefined) {
    return reject(404, "app_not_found", "Application key not found or invalid: Invalid app key")
  }

  // 6. The app id in the route (raw segment after /apps/) must be the key's app.
  const segments = request.path.split("/")
  if (segments[1] !== "apps" || segments[2] !== app.id) {
    return authFailed("Authenticated app does not match route app_id")
  }

  // 7. Timestamp within 600 seconds either way.
  if (auth.auth_timestamp === "") return authFailed("auth_timestamp is missing")
  const timestamp = parseI64(auth.auth_timestamp)
  if (timestamp === undefined) return authFailed("Invalid auth_timestamp format")
  const skew = BigInt(Math.floor(nowSeconds)) - timestamp
  if (skew > 600n || skew < -600n) return authFailed("Timestamp expired or too far in the future")

  // 8. Keys lower-cased; on a collision the original key that sorts later wins.
  const lowered = new Map<string, string>()
  for (const key of [...signing.keys()].sort(byteOrder)) lowered.set(key.toLowerCase(), signing.get(key)!)

  // 9. body_md5: required and exact on POST (even for an empty body), forbidden elsewhere.
  const method = request.method.toUpperCase()
  const bodyMd5 = lowered.get("body_md5")
  if (method === "POST") {
    if (bodyMd5 === undefined || bodyMd5 === "") {
      return authFailed(
        "body_md5 is required and must be non-empty in query parameters for POST requests with a non-empty body"
      )
    }
    if (bodyMd5 !== createHash("md5").update(request.body).digest("hex")) return authFailed("body_md5 mismatch")
  } else if (bodyMd5 !== undefined) {
    return authFailed(`body_md5 must not be present in query parameters for ${method} requests`)
  }

  // 10. METHOD \n raw path \n sorted k=v with decoded values.
  const query = [...lowered.entries()]
    .sort(([a], [b]) => byteOrder(a, b))
    .map(([k, v]) => `${k}=${v}`)
    .join("&")
  const stringToSign = `${method}\n${request.path}\n${query}`

  // 11. Lowercase hex HMAC-SHA256 with the app secret, compared exactly.
  const expected = createHmac("sha256", Buffer.from(app.secret, "utf8")).update(stringToSign, "utf8").digest("hex")
  return expected === auth.auth_signature ? { ok: true } : authFailed("Invalid API signature")
}

/** The parts of a request URL as the server receives them (path with its encoding, raw query). */
export const fromUrl = (method: string, url: string, body: string | Uint8Array = ""): ReceivedRequest => {
  const parsed = new URL(url)
  const beforeFragment = parsed.href.split("#")[0]!
  return {
    method,
    path: parsed.pathname,
    query: beforeFragment.includes("?") ? parsed.search.slice(1) : undefined,
    body
  }
}

const hmacHex = (secret: string, message: string) =>
  createHmac("sha256", Buffer.from(secret, "utf8")).update(message, "utf8").digest("hex")

/**
 * The server's check of a private, presence or encrypted channel subscription (§7.1): the
 * whole `auth` must equal `<app key>:<hex>`, where channel data is signed only on `presence-`
 * channels and only when the client sends some.
 */
export const verifyChannelAuth = (
  app: App,
  subscription: {
    readonly socketId: string
    readonly channel: string
    readonly auth: string
    readonly channelData?: string | undefined
  }
): boolean => {
  const { socketId, channel, auth, channelData } = subscription
  const signed =
    channel.startsWith("presence-") && channelData !== undefined && channelData !== ""
      ? `${socketId}:${channel}:${channelData}`
      : `${socketId}:${channel}`
  return auth === `${app.key}:${hmacHex(app.secret, signed)}`
}

/**
 * The server's check of a `pusher:signin` (§7.2): the signature is what follows the first `:`
 * of `auth` (the key prefix is not checked), over `<socket_id>::user::<user_data>`.
 */
export const verifySignin = (
  app: App,
  signin: { readonly socketId: string; readonly auth: string; readonly userData: string }
): boolean => {
  const colon = signin.auth.indexOf(":")
  if (colon === -1) return false
  return signin.auth.slice(colon + 1) === hmacHex(app.secret, `${signin.socketId}::user::${signin.userData}`)
}
