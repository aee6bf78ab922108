/**
 * The push domain of the emulator (section 3.12): providers and recipients, the store-level
 * checks that the server reports as 500 `internal_error`, capability headers and list paging.
 * Devices are in `PushDevices.ts`, publish requests in `PushIntents.ts`.
 *
 * @since 0.1.0
 */
import { digest } from "../../../internal/Digest.ts"
import { type ApiRequest, type ApiResponse, type AppHandle, badQuery, type Route } from "../Api.ts"
import { base64UrlDecode, base64UrlEncode } from "./Bytes.ts"
import { Body } from "./JsonBody.ts"
import { fail, invalid, reject, route } from "./Respond.ts"

/**
 * A push provider, as the server names it.
 *
 * @since 0.1.0
 */
export type Provider = "fcm" | "apns" | "webPush" | "hms" | "wns" | "realtime"

const TRANSPORTS = ["gcm", "apns", "web", "hms", "wns", "realtime"] as const
const PROVIDER_OF: Readonly<Record<(typeof TRANSPORTS)[number], Provider>> = {
  gcm: "fcm",
  apns: "apns",
  web: "webPush",
  hms: "hms",
  wns: "wns",
  realtime: "realtime"
}
/** The fields of each recipient variant; the first is the address that is hashed. */
const RECIPIENT_FIELDS: Readonly<Record<(typeof TRANSPORTS)[number], ReadonlyArray<string>>> = {
  gcm: ["registrationToken"],
  apns: ["deviceToken"],
  web: ["endpoint", "p256dh", "auth"],
  hms: ["registrationToken"],
  wns: ["channelUri"],
  realtime: ["channel"]
}

/**
 * Provider names of the wire (`webPush`).
 *
 * @since 0.1.0
 */
export const PROVIDERS: ReadonlyArray<Provider> = ["fcm", "apns", "webPush", "hms", "wns", "realtime"]

/**
 * A decoded recipient: its transport, provider, address fields and token hash.
 *
 * @since 0.1.0
 */
export interface Recipient {
  readonly transportType: (typeof TRANSPORTS)[number]
  readonly provider: Provider
  readonly fields: Readonly<Record<string, string>>
  readonly tokenHash: string
}

/**
 * Lower-case hex SHA-256 of a string.
 *
 * @since 0.1.0
 */
export const sha256 = (s: string): string => digest.sha256Hex(s)

/**
 * The 500 the server answers for a push store validation failure (every store error is a 500).
 *
 * @since 0.1.0
 */
export const storeError = (): never => fail(500, "internal_error", "Internal server error")

/**
 * Whether `s` is an absolute `https:` URL.
 *
 * @since 0.1.0
 */
export const isHttps = (s: string): boolean => URL.canParse(s) && new URL(s).protocol === "https:"

/**
 * Decodes a recipient object (tagged by `transportType`).
 *
 * @since 0.1.0
 */
export const decodeRecipient = (value: Readonly<Record<string, unknown>>): Recipient => {
  const body = Body.nested(value, "push")
  const transportType = body.variant("transportType", TRANSPORTS)
  const fields: Record<string, string> = {}
  for (const field of RECIPIENT_FIELDS[transportType]) fields[field] = body.string(field)
  const address = fields[RECIPIENT_FIELDS[transportType][0]!]!
  return { transportType, provider: PROVIDER_OF[transportType], fields, tokenHash: sha256(address) }
}

/**
 * What is wrong with a web push endpoint or WNS channel URI (the server's text, with `field`),
 * if anything. Local and private hosts pass, as on a server with
 * `PUSH_ALLOW_LOCAL_WEB_PUSH_ENDPOINTS=true`; delivery to them fails instead (see {@link isLocalHost}).
 *
 * @since 0.1.0
 */
export const endpointProblem = (field: string, s: string): string | undefined => {
  if (!URL.canParse(s)) return `${field} is invalid: must be a valid URL`
  const url = new URL(s)
  if (url.protocol !== "https:") return `${field} is invalid: must use https`
  if (url.username !== "" || url.password !== "") return `${field} is not allowed: userinfo is not allowed`
  if (url.hostname === "") return `${field} is invalid: must include a host`
  return undefined
}

/**
 * What is wrong with a recipient (the server's text), if anything.
 *
 * @since 0.1.0
 */
export const recipientProblem = (recipient: Recipient): string | undefined => {
  for (const [field, value] of Object.entries(recipient.fields)) {
    if (value.trim() === "") return `${field} must not be empty`
    if (field === "endpoint" || field === "channelUri") {
      const problem = endpointProblem("endpoint", value)
      if (problem !== undefined) return problem
    }
  }
  return undefined
}

/**
 * The store's checks of a recipient (a violation is a 500).
 *
 * @since 0.1.0
 */
export const checkRecipient = (recipient: Recipient): void => {
  if (recipientProblem(recipient) !== undefined) storeError()
}

/**
 * Whether a URL's host is one the server's dispatchers refuse to deliver to: `localhost`,
 * `*.local`, or a loopback, private, link-local, multicast, unspecified, broadcast or
 * documentation address.
 *
 * @since 0.1.0
 */
export const isLocalHost = (url: string): boolean => {
  const host = URL.canParse(url) ? new URL(url).hostname.toLowerCase() : ""
  if (host === "localhost" || host.endsWith(".local")) return true
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(host)
  if (v4 !== null) return isLocalV4(v4.slice(1).map(Number))
  if (!host.startsWith("[")) return false
  const v6 = host.slice(1, -1)
  const mapped = /^::ffff:(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(v6) ?? /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v6)
  if (mapped !== null) {
    const parts =
      mapped.length === 5
        ? mapped.slice(1).map(Number)
        : mapped.slice(1).flatMap((h) => [Number.parseInt(h, 16) >> 8, Number.parseInt(h, 16) & 255])
    return isLocalV4(parts)
  }
  const first = Number.parseInt(v6.split(":")[0] || "0", 16)
  return v6 === "::1" || v6 === "::" || (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || first >= 0xff00
}

const isLocalV4 = ([a, b, c, d]: ReadonlyArray<number>): boolean =>
  a === 0 ||
  a === 10 ||
  a === 127 ||
  (a === 172 && b! >= 16 && b! <= 31) ||
  (a === 192 && b === 168) ||
  (a === 169 && b === 254) ||
  (a! >= 224 && a! <= 239) ||
  (a === 255 && b === 255 && c === 255 && d === 255) ||
  (a === 192 && b === 0 && c === 2) ||
  (a === 198 && b === 51 && c === 100) ||
  (a === 203 && b === 0 && c === 113)

/**
 * The capability a push request uses (`x-sockudo-push-capability`, default `push-admin`).
 *
 * @since 0.1.0
 */
export const capabilityOf = (request: ApiRequest): "admin" | "subscribe" => {
  const raw = request.headers["x-sockudo-push-capability"]
  if (raw === undefined || raw === "push-admin") return "admin"
  if (raw === "push-subscribe") return "subscribe"
  return fail(403, "forbidden", "unknown push capability requested")
}

/**
 * Rejects a `push-subscribe` request on an admin-only route.
 *
 * @since 0.1.0
 */
export const requireAdmin = (request: ApiRequest): void => {
  if (capabilityOf(request) !== "admin") fail(403, "forbidden", "push-admin capability is required")
}

/**
 * A route for the `push-admin` capability only.
 *
 * @since 0.1.0
 */
export const adminRoute = (
  method: Route["method"],
  path: string,
  handle: (request: ApiRequest, app: AppHandle) => ApiResponse
): Route =>
  route(method, path, (request, app) => {
    requireAdmin(request)
    return handle(request, app)
  })

/**
 * Checks the device identity token of a `push-subscribe` request (`x-sockudo-device-identity-token`,
 * else `Authorization: Bearer`) against the device's: 401 when missing or wrong.
 *
 * @since 0.1.0
 */
export const verifyIdentity = (request: ApiRequest, deviceToken: string): void => {
  let token = request.headers["x-sockudo-device-identity-token"]
  if (token === undefined) {
    const authorization =
      request.headers["authorization"] ?? fail(401, "auth_failed", "deviceIdentityToken is required")
    if (!authorization.startsWith("Bearer ")) fail(401, "auth_failed", "deviceIdentityToken bearer auth is required")
    token = authorization.slice(7)
  }
  if (token !== deviceToken) fail(401, "auth_failed", "invalid deviceIdentityToken")
}

/**
 * The kind of list a cursor belongs to.
 *
 * @since 0.1.0
 */
export type CursorKind = "device" | "channelSubscription" | "credential" | "template" | "deadLetter"

/**
 * One page of a push list. `rows` are `[position, item]`, paged in ascending position order after
 * the cursor's position (so a page is stable when rows before it come or go). `limit` is
 * 1..=1000 (default 100, never clamped); the cursor is opaque and app-scoped; `next_cursor` is
 * present exactly when more rows follow.
 *
 * @since 0.1.0
 */
export const pageOf = <A>(
  request: ApiRequest,
  appId: string,
  kind: CursorKind,
  rows: ReadonlyArray<readonly [position: string, item: A]>
) => {
  const limit = queryNumber(request, "limit") ?? 100
  if (limit < 1 || limit > 1000) invalid("limit must be between 1 and 1000")
  const after = cursorPosition(request.query["cursor"], appId, kind)
  const following = rows
    .filter(([position]) => after === undefined || position > after)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  const page = following.slice(0, limit)
  const last = page.at(-1)?.[0]
  const nextCursor =
    following.length > limit && last !== undefined
      ? base64UrlEncode(JSON.stringify({ appId, kind, position: last, issuedAtMs: request.nowMs }))
      : null
  return { items: page.map(([, item]) => item), next_cursor: nextCursor, has_more: nextCursor !== null }
}

/**
 * An unsigned integer query parameter of a push route, or the query extractor's plain-text 400.
 *
 * @since 0.1.0
 */
export const queryNumber = (request: ApiRequest, key: string): number | undefined => {
  const raw = request.query[key]
  if (raw === undefined) return undefined
  if (raw === "") return reject(badQuery(`${key}: cannot parse integer from empty string`))
  if (!/^\+?\d+$/.test(raw)) return reject(badQuery(`${key}: invalid digit found in string`))
  return Number(raw)
}

/** The position a cursor resumes after; 400 for a cursor that does not decode or is another app's. */
const cursorPosition = (cursor: string | undefined, appId: string, kind: CursorKind): string | undefined => {
  if (cursor === undefined) return undefined
  const decoded = base64UrlDecode(cursor)
  let parsed: { appId?: unknown; kind?: unknown; position?: unknown } | undefined
  try {
    parsed = "text" in decoded ? JSON.parse(decoded.text) : undefined
  } catch {
    parsed = undefined
  }
  if (typeof parsed?.appId !== "string" || typeof parsed.position !== "string" || typeof parsed.kind !== "string") {
    return invalid("cursor decode failed")
  }
  if (parsed.appId !== appId) invalid(`cursor belongs to app ${parsed.appId}, expected ${appId}`)
  // The dead-letter queue refuses another list's cursor as a backend error.
  if (kind === "deadLetter" && parsed.kind !== kind) storeError()
  return parsed.position
}

/** Copies the present (non-null) keys of an object. */
export const present = (value: Readonly<Record<string, unknown>>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined))
