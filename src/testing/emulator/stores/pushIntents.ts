/**
 * Push publish requests (section 3.12): decoding of targets and PublishRequest bodies with the
 * push extractor's JSON 400s and the intent checks, publish states and template rendering.
 *
 * @since 0.1.0
 */
import type { ApiRequest } from "../Api.ts"
import { byteLength } from "../Names.ts"
import { jsonByteLength } from "./bytes.ts"
import { Body } from "./jsonBody.ts"
import { decodeRecipient, isHttps, PROVIDERS, type Provider, present, type Recipient } from "./pushModel.ts"
import { invalid, reject } from "./respond.ts"

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
