/**
 * The push domain of the emulator (section 3.12): providers and recipients, the store-level
 * checks that the server reports as 500 `internal_error`, capability headers and list paging.
 * Devices are in `pushDevices.ts`, publish requests in `pushIntents.ts`.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import type { ApiRequest } from "../Api.ts"
import { base64UrlDecode, base64UrlEncode } from "./bytes.ts"
import { Body } from "./jsonBody.ts"
import { fail, invalid } from "./respond.ts"

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
export const sha256 = (s: string): string => createHash("sha256").update(s).digest("hex")

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
 * The store's checks of a recipient (a violation is a 500).
 *
 * @since 0.1.0
 */
export const checkRecipient = (recipient: Recipient): void => {
  if (Object.values(recipient.fields).some((v) => v === "")) storeError()
  if (recipient.transportType === "web" && !isHttps(recipient.fields["endpoint"]!)) storeError()
  if (recipient.transportType === "wns" && !isHttps(recipient.fields["channelUri"]!)) storeError()
}

/**
 * The capability a push request uses (`x-sockudo-push-capability`, default `push-admin`).
 *
 * @since 0.1.0
 */
export const capabilityOf = (request: ApiRequest): "admin" | "subscribe" => {
  const raw = request.headers["x-sockudo-push-capability"]
  if (raw === undefined || raw === "push-admin") return "admin"
  if (raw === "push-subscribe") return "subscribe"
  return fail(403, "forbidden", `unsupported push capability '${raw}'`)
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
 * The device identity token of a request (`x-sockudo-device-identity-token` or a bearer token).
 *
 * @since 0.1.0
 */
export const identityToken = (request: ApiRequest): string | undefined => {
  const header = request.headers["x-sockudo-device-identity-token"]
  if (header !== undefined) return header
  const authorization = request.headers["authorization"]
  return authorization?.startsWith("Bearer ") ? authorization.slice(7) : undefined
}

/**
 * One page of a push list and its paging query: `limit` 1..=1000 (default 100, never clamped)
 * and an opaque app-scoped `cursor`.
 *
 * @since 0.1.0
 */
export const pageOf = <A>(request: ApiRequest, appId: string, items: ReadonlyArray<A>) => {
  const rawLimit = request.query["limit"]
  let limit = 100
  if (rawLimit !== undefined) {
    if (!/^\d+$/.test(rawLimit)) invalid("limit must be an integer between 1 and 1000")
    limit = Number(rawLimit)
    if (limit < 1 || limit > 1000) invalid("limit must be between 1 and 1000")
  }
  let offset = 0
  const cursor = request.query["cursor"]
  if (cursor !== undefined) {
    const decoded = base64UrlDecode(cursor)
    let parsed: unknown
    try {
      parsed = "text" in decoded ? JSON.parse(decoded.text) : undefined
    } catch {
      parsed = undefined
    }
    const c = parsed as { app?: unknown; offset?: unknown } | undefined
    if (c?.app !== appId || !Number.isInteger(c.offset) || (c.offset as number) < 0) invalid("invalid cursor")
    offset = c!.offset as number
  }
  const page = items.slice(offset, offset + limit)
  const hasMore = offset + limit < items.length
  return {
    items: page,
    next_cursor: hasMore ? base64UrlEncode(JSON.stringify({ app: appId, offset: offset + limit })) : null,
    has_more: hasMore
  }
}

/**
 * Every value of `map`, sorted by key (list routes page over a stable order).
 *
 * @since 0.1.0
 */
export const sortedValues = <V>(map: ReadonlyMap<string, V>): Array<V> =>
  [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v)

/** Copies the present (non-null) keys of an object. */
export const present = (value: Readonly<Record<string, unknown>>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined))
