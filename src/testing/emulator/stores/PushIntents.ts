/**
 * Push publish requests (section 3.12): decoding of targets and PublishRequest bodies with the
 * push extractor's JSON 400s, the intent checks (400s with the server's text), and the publish
 * states with their `status` labels.
 *
 * @since 0.1.0
 */
import type { ApiRequest } from "../Api.ts"
import { byteLength } from "../Names.ts"
import { jsonByteLength } from "./Bytes.ts"
import { Body } from "./JsonBody.ts"
import { decodeRecipient, PROVIDERS, type Provider, type Recipient, recipientProblem } from "./PushModel.ts"
import type { Notification } from "./PushRender.ts"
import { invalid, reject } from "./Respond.ts"

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
  | { readonly type: "providerTopic"; readonly provider: Provider; readonly topic: string }
  | { readonly type: "providerCondition"; readonly provider: Provider; readonly condition: string }
  | { readonly type: "indexedFilter"; readonly filter: unknown }

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
  switch (type) {
    case "device":
      return { type, device_id: t.string("device_id") }
    case "client":
      return { type, client_id: t.string("client_id") }
    case "channel":
      return { type, channel: t.string("channel") }
    case "registeredTopic":
    case "userTopic":
      return { type, topic: t.string("topic") }
    case "recipient":
      return { type, recipient: decodeRecipient(t.object("recipient", "PushRecipient")) }
    case "providerTopic":
      return { type, provider: t.variant("provider", PROVIDERS), topic: t.string("topic") }
    case "providerCondition":
      return { type, provider: t.variant("provider", PROVIDERS), condition: t.string("condition") }
    case "indexedFilter":
      if (t.value["filter"] === undefined) t.error("missing field `filter`")
      // Sockudo 5.0.1's decoder cannot read a JSON value inside an internally tagged enum.
      return t.error("invalid type: newtype struct, expected a valid json")
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
  readonly notification: Notification
  readonly overrides: ReadonlyMap<Provider, unknown>
  readonly sync: boolean
  readonly notBeforeMs: number | undefined
  readonly expiresAtMs: number | undefined
}

/**
 * Decodes a PublishRequest (the push extractor's JSON 400s only; see {@link checkIntent}).
 *
 * @since 0.1.0
 */
export const decodePublish = (value: unknown): PublishIntent => {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return Body.shapeError("push", "invalid type: expected struct PublishRequest")
  }
  const body = Body.nested(value as Record<string, unknown>, "push")
  const publishId = body.optionalString("publishId")
  const recipients = (body.optionalArray("recipients") ?? []).map(decodeTarget)
  const payload = Body.nested(body.object("payload", "PushPayload"), "push")
  const notification: Notification = {
    templateId: payload.optionalString("templateId"),
    templateData: payload.optionalValue("templateData") ?? null,
    title: payload.optionalString("title"),
    body: payload.optionalString("body"),
    icon: payload.optionalString("icon"),
    sound: payload.optionalString("sound"),
    collapseKey: payload.optionalString("collapseKey")
  }
  const overrides = new Map<Provider, unknown>()
  for (const raw of body.optionalArray("providerOverrides") ?? []) {
    if (raw === null || typeof raw !== "object" || Array.isArray(raw))
      body.error("expected struct ProviderOverridePayload")
    const o = Body.nested(raw as Record<string, unknown>, "push")
    const provider = o.variant("provider", PROVIDERS)
    if (o.value["payload"] === undefined) o.error("missing field `payload`")
    if (!overrides.has(provider)) overrides.set(provider, o.value["payload"])
  }
  const sync = body.optionalBoolean("sync") ?? false
  const notBeforeMs = body.optionalUint("notBeforeMs")
  const expiresAtMs = body.optionalUint("expiresAtMs")
  return { publishId, recipients, notification, overrides, sync, notBeforeMs, expiresAtMs }
}

const tooLarge = (field: string, max: number): never => invalid(`${field} exceeds ${max} bytes`)

const nonEmpty = (field: string, value: string): void => {
  if (value.trim() === "") invalid(`${field} must not be empty`)
}

const checkTarget = (t: Target): void => {
  if (t.type === "device") nonEmpty("deviceId", t.device_id)
  else if (t.type === "client") nonEmpty("clientId", t.client_id)
  else if (t.type === "channel") nonEmpty("channel", t.channel)
  else if (t.type === "providerCondition") nonEmpty("condition", t.condition)
  else if (t.type === "recipient") {
    const problem = recipientProblem(t.recipient)
    if (problem !== undefined) invalid(problem)
  } else if (t.type === "indexedFilter") {
    if (jsonByteLength(t.filter) > 4096) tooLarge("filter", 4096)
  } else nonEmpty("topic", t.topic)
}

/**
 * The intent checks of a publish, in the server's order (400 `invalid_input` with its text):
 * publish id, targets (1 to 1024, each), notification fields, overrides.
 *
 * @since 0.1.0
 */
export const checkIntent = (publishId: string, intent: PublishIntent, notification: Notification): void => {
  nonEmpty("publishId", publishId)
  if (intent.recipients.length === 0) invalid("targets is invalid: must contain at least one target")
  if (intent.recipients.length > 1024) invalid("targets is invalid: too many targets")
  intent.recipients.forEach(checkTarget)
  const { title, body, icon, templateData } = notification
  if (title !== undefined && byteLength(title) > 256) tooLarge("title", 256)
  if (body !== undefined && byteLength(body) > 4096) tooLarge("body", 4096)
  if (icon !== undefined) {
    if (byteLength(icon) > 2048) tooLarge("icon", 2048)
    if (!URL.canParse(icon)) invalid("icon is invalid: must be a valid URL")
    if (new URL(icon).protocol !== "https:") invalid("icon is invalid: must use https")
  }
  if (jsonByteLength(templateData) > 8192) tooLarge("templateData", 8192)
  for (const payload of intent.overrides.values()) if (jsonByteLength(payload) > 4096) tooLarge("payload", 4096)
}

/**
 * A publish's lifecycle state (GET status names).
 *
 * @since 0.1.0
 */
export type PublishState = "queued" | "dispatching" | "expired" | "failed" | "succeeded" | "partiallySucceeded"

/**
 * The `status` label of a duplicate publish for a state.
 *
 * @since 0.1.0
 */
export const statusLabel = (state: PublishState): string =>
  state === "queued" ? "accepted" : state === "partiallySucceeded" ? "partially_succeeded" : state

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
