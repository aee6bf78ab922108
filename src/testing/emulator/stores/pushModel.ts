/**
 * The push domain of the emulator (section 3.12): decoding of push bodies with the push
 * extractor's JSON 400s, the store-level checks that the server reports as 500
 * `internal_error`, capability headers, list paging and the wire forms of devices and publishes.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import type { ApiRequest } from "../Api.ts"
import { Body, base64UrlDecode, base64UrlEncode, byteLength, fail, invalid, jsonByteLength, reject } from "./shared.ts"

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

const isHttps = (s: string): boolean => URL.canParse(s) && new URL(s).protocol === "https:"

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

// ---------------------------------------------------------------------------------------------
// Devices
// ---------------------------------------------------------------------------------------------

const FORM_FACTORS = ["phone", "tablet", "desktop", "tv", "car", "watch", "embedded", "other"] as const
const PLATFORMS = ["android", "ios", "browser", "windows", "macos", "watchos", "tvos", "other"] as const
const PUSH_STATES = ["ACTIVE", "FAILING", "FAILED"] as const

/**
 * A registered device.
 *
 * @since 0.1.0
 */
export interface Device {
  readonly id: string
  readonly clientId: string | null
  readonly formFactor: string
  readonly platform: string
  readonly timezone: string
  readonly locale: string
  readonly metadata: unknown
  readonly lastActiveAtMs: number
  readonly pushState: (typeof PUSH_STATES)[number]
  readonly pushFailureCount: number
  readonly errorReason: string | undefined
  readonly recipient: Recipient
}

/**
 * Decodes DeviceDetails: every field the decoder requires (`appId`, `deviceSecret`,
 * `push.state` included) then the store checks (500).
 *
 * @since 0.1.0
 */
export const decodeDevice = (request: ApiRequest): Device => {
  const body = Body.of(request, "DeviceDetails", "push")
  body.string("appId")
  const id = body.string("id")
  const formFactor = body.variant("formFactor", FORM_FACTORS)
  const platform = body.variant("platform", PLATFORMS)
  body.string("deviceSecret")
  const timezone = body.string("timezone")
  const locale = body.string("locale")
  const push = Body.nested(body.object("push", "DevicePushDetails"), "push")
  const recipient = decodeRecipient(push.object("recipient", "PushRecipient"))
  const pushState = push.variant("state", PUSH_STATES)
  const failureCount = push.optionalUint("failureCount") ?? 0
  const errorReason = push.optionalString("errorReason")
  const clientId = body.optionalString("clientId") ?? null
  const metadata = body.optionalValue("metadata")
  const lastActiveAtMs = body.optionalUint("lastActiveAtMs")
  const policy = body.optionalObject("pushRatePolicy", "PushRatePolicy")
  if (policy !== undefined) {
    const p = Body.nested(policy, "push")
    if (p.uint("capacity") === 0 || p.uint("refillPerSecond") === 0) storeError()
  }
  if (id === "" || id.startsWith("__sockudo_client_scope__:") || timezone === "" || locale === "") storeError()
  if (metadata !== undefined && jsonByteLength(metadata) > 4096) storeError()
  checkRecipient(recipient)
  return {
    id,
    clientId,
    formFactor,
    platform,
    timezone,
    locale,
    metadata,
    lastActiveAtMs: lastActiveAtMs ?? request.nowMs,
    pushState,
    pushFailureCount: failureCount,
    errorReason,
    recipient
  }
}

/**
 * DeviceResponse: no secrets, tokens only as `tokenHash`.
 *
 * @since 0.1.0
 */
export const deviceJson = (appId: string, device: Device): Record<string, unknown> => ({
  appId,
  id: device.id,
  clientId: device.clientId,
  formFactor: device.formFactor,
  platform: device.platform,
  timezone: device.timezone,
  locale: device.locale,
  lastActiveAtMs: device.lastActiveAtMs,
  pushState: device.pushState,
  pushFailureCount: device.pushFailureCount,
  recipient: {
    transportType: device.recipient.transportType,
    provider: device.recipient.provider,
    tokenHash: device.recipient.tokenHash
  }
})

// ---------------------------------------------------------------------------------------------
// Publishing
// ---------------------------------------------------------------------------------------------

/**
 * A decoded publish target.
 *
 * @since 0.1.0
 */
export type Target =
  | { readonly type: "device"; readonly device_id: string }
  | { readonly type: "client"; readonly client_id: string }
  | { readonly type: "channel"; readonly channel: string }
  | { readonly type: "registeredTopic" | "userTopic"; readonly topic: string }
  | { readonly type: "recipient"; readonly recipient: Recipient }
  | { readonly type: "providerTopic" | "providerCondition"; readonly provider: Provider }
  | { readonly type: "indexedFilter" }

const TARGET_TYPES = [
  "device",
  "client",
  "channel",
  "registeredTopic",
  "userTopic",
  "recipient",
  "providerTopic",
  "providerCondition",
  "indexedFilter"
] as const

const decodeTarget = (value: unknown): Target => {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return Body.shapeError("push", "invalid type: expected internally tagged enum PushTarget")
  }
  const t = Body.nested(value as Record<string, unknown>, "push")
  const type = t.variant("type", TARGET_TYPES)
  const nonEmpty = (key: string): string => {
    const v = t.string(key)
    return v.trim() === "" ? invalid(`publish target ${key} must not be empty`) : v
  }
  switch (type) {
    case "device":
      return { type, device_id: nonEmpty("device_id") }
    case "client":
      return { type, client_id: nonEmpty("client_id") }
    case "channel":
      return { type, channel: nonEmpty("channel") }
    case "registeredTopic":
    case "userTopic":
      return { type, topic: nonEmpty("topic") }
    case "recipient": {
      const recipient = decodeRecipient(t.object("recipient", "PushRecipient"))
      if (Object.values(recipient.fields).some((v) => v === "")) invalid("publish recipient must not be empty")
      return { type, recipient }
    }
    case "providerTopic":
    case "providerCondition": {
      const provider = t.variant("provider", PROVIDERS)
      nonEmpty(type === "providerTopic" ? "topic" : "condition")
      return { type, provider }
    }
    case "indexedFilter": {
      const filter = t.value["filter"]
      if (filter === undefined) t.error("missing field `filter`")
      if (jsonByteLength(filter) > 4096) invalid("indexed filter must be at most 4096 bytes")
      return { type }
    }
  }
}

/**
 * A decoded PublishRequest.
 *
 * @since 0.1.0
 */
export interface PublishIntent {
  readonly publishId: string | undefined
  readonly recipients: ReadonlyArray<Target>
  readonly payload: Readonly<Record<string, unknown>>
  readonly overrides: ReadonlyMap<Provider, unknown>
  readonly notBeforeMs: number | undefined
  readonly expiresAtMs: number | undefined
}

/**
 * Decodes and validates a PublishRequest (intent validation failures are 400).
 *
 * @since 0.1.0
 */
export const decodePublish = (value: unknown): PublishIntent => {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return Body.shapeError("push", "invalid type: expected struct PublishRequest")
  }
  const body = Body.nested(value as Record<string, unknown>, "push")
  const publishId = body.optionalString("publishId")
  if (body.value["recipients"] === undefined) body.error("missing field `recipients`")
  const rawRecipients = body.optionalArray("recipients") ?? []
  const recipients = rawRecipients.map(decodeTarget)
  if (recipients.length === 0 || recipients.length > 1024) invalid("recipients must contain 1 to 1024 targets")
  const payload = Body.nested(body.object("payload", "PushPayload"), "push")
  const templateId = payload.optionalString("templateId")
  const templateData = payload.optionalValue("templateData")
  const title = payload.optionalString("title")
  const text = payload.optionalString("body")
  const icon = payload.optionalString("icon")
  payload.optionalString("sound")
  payload.optionalString("collapseKey")
  if (templateId !== undefined && templateId.trim() === "") invalid("templateId must not be empty")
  if (templateData !== undefined && jsonByteLength(templateData) > 8192) invalid("templateData exceeds 8192 bytes")
  if (title !== undefined && byteLength(title) > 256) invalid("title exceeds 256 bytes")
  if (text !== undefined && byteLength(text) > 4096) invalid("body exceeds 4096 bytes")
  if (icon !== undefined && (!isHttps(icon) || byteLength(icon) > 2048)) invalid("icon must be an https URL")
  const overrides = new Map<Provider, unknown>()
  for (const raw of body.optionalArray("providerOverrides") ?? []) {
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) body.error("expected struct ProviderOverride")
    const o = Body.nested(raw as Record<string, unknown>, "push")
    const provider = o.variant("provider", PROVIDERS)
    const overridePayload = o.value["payload"]
    if (overridePayload === undefined) o.error("missing field `payload`")
    if (jsonByteLength(overridePayload) > 4096) invalid("provider override payload exceeds 4096 bytes")
    overrides.set(provider, overridePayload)
  }
  body.optionalBoolean("sync")
  const notBeforeMs = body.optionalUint("notBeforeMs")
  const expiresAtMs = body.optionalUint("expiresAtMs")
  if (publishId !== undefined && publishId.trim() === "") invalid("publishId must not be empty")
  return { publishId, recipients, payload: present(payload.value), overrides, notBeforeMs, expiresAtMs }
}

/**
 * A publish's lifecycle state (GET status names).
 *
 * @since 0.1.0
 */
export type PublishState = "queued" | "cancelled" | "expired" | "dead_lettered" | "succeeded" | "partiallySucceeded"

/**
 * The `status` label of a duplicate publish for a state.
 *
 * @since 0.1.0
 */
export const statusLabel = (state: PublishState): string =>
  state === "queued" ? "accepted" : state === "partiallySucceeded" ? "partially_succeeded" : state

/**
 * Replaces `{{key}}` placeholders with `data[key]`.
 *
 * @since 0.1.0
 */
export const render = (text: string, data: unknown): string =>
  text.replace(/\{\{\s*([^}\s]+)\s*\}\}/g, (whole, key: string) => {
    const value = data !== null && typeof data === "object" ? (data as Record<string, unknown>)[key] : undefined
    return value === undefined ? whole : typeof value === "string" ? value : JSON.stringify(value)
  })

/**
 * Rejects a request body that is not a JSON array (batch publish).
 *
 * @since 0.1.0
 */
export const requireArray = (request: ApiRequest): ReadonlyArray<unknown> =>
  Array.isArray(request.body)
    ? request.body
    : request.body === undefined
      ? invalid("invalid JSON body: EOF while parsing a value at line 1 column 0")
      : reject({
          status: 400,
          json: { error: "invalid JSON body: invalid type: expected a sequence", code: "invalid_input", status: 400 }
        })
