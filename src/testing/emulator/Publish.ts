/**
 * `POST /events` and `POST /batch_events` (server reference, sections 3.1, 3.2, 5 and 6): the
 * body's shape as the server's deserialiser checks it (422), then idempotency, then the event's
 * own checks in the server's order, then each channel: name check, message-level dedupe, the
 * stores' `onPublish` (serials of versioned channels), delivery to simulated connections. A
 * multi-channel publish is not atomic (valid channels are published even when another fails),
 * nor is a batch (items before a failing one stay published).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { type ApiRequest, type ApiResponse, apiError, badBodyShape, ok, type PublishedEvent } from "./Api.ts"
import type { AppRuntime } from "./App.ts"
import * as Idempotency from "./Idempotency.ts"
import * as Names from "./Names.ts"

/**
 * An event body, decoded as the server's deserialiser does (`null` reads as absent).
 *
 * @since 0.1.0
 */
export interface WireEvent {
  readonly name: string | undefined
  readonly data: unknown
  readonly channels: ReadonlyArray<string> | undefined
  readonly channel: string | undefined
  readonly socket_id: string | undefined
  readonly info: string | undefined
  readonly tags: Readonly<Record<string, string>> | undefined
  readonly delta: boolean | undefined
  readonly idempotency_key: string | undefined
  readonly message_id: string | undefined
  readonly extras: Readonly<Record<string, unknown>> | undefined
}

const kind = (u: unknown): string =>
  u === null
    ? "null"
    : Array.isArray(u)
      ? "sequence"
      : typeof u === "object"
        ? "map"
        : typeof u === "number"
          ? Number.isInteger(u)
            ? `integer \`${u}\``
            : `floating point \`${u}\``
          : typeof u === "string"
            ? `string ${JSON.stringify(u)}`
            : `${typeof u} \`${String(u)}\``

class ShapeError {
  readonly detail: string
  constructor(detail: string) {
    this.detail = detail
  }
}

const mismatch = (field: string, value: unknown, expected: string): never => {
  throw new ShapeError(`${field}: invalid type: ${kind(value)}, expected ${expected}`)
}

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const optString = (o: Record<string, unknown>, key: string, at: string): string | undefined => {
  const v = o[key]
  if (v === undefined || v === null) return undefined
  return typeof v === "string" ? v : mismatch(`${at}${key}`, v, "a string")
}

const optBool = (o: Record<string, unknown>, key: string, at: string): boolean | undefined => {
  const v = o[key]
  if (v === undefined || v === null) return undefined
  return typeof v === "boolean" ? v : mismatch(`${at}${key}`, v, "a boolean")
}

const optStringMap = (o: Record<string, unknown>, key: string, at: string): Record<string, string> | undefined => {
  const v = o[key]
  if (v === undefined || v === null) return undefined
  if (!isObject(v)) return mismatch(`${at}${key}`, v, "a map")
  for (const [k, x] of Object.entries(v)) if (typeof x !== "string") mismatch(`${at}${key}.${k}`, x, "a string")
  return v as Record<string, string>
}

const decodeExtras = (v: unknown, at: string): Record<string, unknown> | undefined => {
  if (v === undefined || v === null) return undefined
  if (!isObject(v)) return mismatch(at, v, "struct MessageExtras")
  const headers = v.headers
  if (headers !== undefined && headers !== null) {
    if (!isObject(headers)) mismatch(`${at}.headers`, headers, "a map")
    for (const [k, x] of Object.entries(headers as object)) {
      if (typeof x !== "string" && typeof x !== "number" && typeof x !== "boolean") {
        mismatch(`${at}.headers.${k}`, x, "a string, number or boolean")
      }
    }
  }
  optBool(v, "ephemeral", `${at}.`)
  optBool(v, "echo", `${at}.`)
  optString(v, "idempotencyKey", `${at}.`)
  const ai = v.ai
  if (ai !== undefined && ai !== null) {
    if (!isObject(ai)) mismatch(`${at}.ai`, ai, "struct AiExtras")
    optStringMap(ai as Record<string, unknown>, "transport", `${at}.ai.`)
    optStringMap(ai as Record<string, unknown>, "codec", `${at}.ai.`)
  }
  return v
}

const decodeEventUnsafe = (u: unknown, at: string): WireEvent => {
  if (!isObject(u)) return mismatch(at === "" ? "body" : at.slice(0, -1), u, "struct PusherApiMessage")
  let channels: Array<string> | undefined
  const rawChannels = u.channels
  if (rawChannels !== undefined && rawChannels !== null) {
    if (!Array.isArray(rawChannels)) mismatch(`${at}channels`, rawChannels, "a sequence")
    channels = (rawChannels as Array<unknown>).map((c, i) =>
      typeof c === "string" ? c : mismatch(`${at}channels[${i}]`, c, "a string")
    )
  }
  return {
    name: optString(u, "name", at),
    data: u.data === null ? undefined : u.data,
    channels,
    channel: optString(u, "channel", at),
    socket_id: optString(u, "socket_id", at),
    info: optString(u, "info", at),
    tags: optStringMap(u, "tags", at),
    delta: optBool(u, "delta", at),
    idempotency_key: optString(u, "idempotency_key", at),
    message_id: optString(u, "message_id", at),
    extras: decodeExtras(u.extras, `${at}extras`)
  }
}

/**
 * Decodes an event body, or returns the server's 422 detail.
 *
 * @since 0.1.0
 */
export const decodeEvent = (u: unknown, at = ""): WireEvent | ShapeError => {
  try {
    return decodeEventUnsafe(u, at)
  } catch (e) {
    if (e instanceof ShapeError) return e
    throw e
  }
}

/**
 * The `data` string delivered for an event: a JSON string verbatim, anything else as compact
 * JSON, absent as `null`.
 *
 * @since 0.1.0
 */
export const deliveredData = (data: unknown): string =>
  typeof data === "string" ? data : data === undefined ? "null" : JSON.stringify(data)

const needsChannelInfo = (event: WireEvent): boolean =>
  event.info !== undefined || event.message_id !== undefined || Names.aiEventNames.has(event.name ?? "")

type Receipt = Record<string, unknown>

type Processed =
  | { readonly _tag: "Published"; readonly channels: Record<string, Receipt>; readonly main: string }
  | { readonly _tag: "Failed"; readonly response: ApiResponse }

const failed = (response: ApiResponse): Processed => ({ _tag: "Failed", response })

const isResponse = (u: object): u is ApiResponse => "status" in u

const publishOne = (
  app: AppRuntime,
  channel: string,
  event: WireEvent & { readonly name: string },
  data: string,
  httpKey: string | undefined,
  nowMs: number
): Receipt | ApiResponse => {
  const nameError = Names.channelNameError(channel, app.limits.maxChannelNameLength, app.namespaces)
  if (nameError !== undefined) return apiError(400, "invalid_input", nameError)
  const extras = event.extras
  const extrasKey = typeof extras?.idempotencyKey === "string" ? extras.idempotencyKey : undefined
  const messageKey = app.idempotency.settings.enabled ? (event.message_id ?? extrasKey ?? httpKey) : undefined
  const fingerprint = JSON.stringify([event.name, data, extras ?? null, event.tags ?? null])
  if (messageKey !== undefined) {
    const check = app.idempotency.checkMessage(channel, messageKey, fingerprint, nowMs)
    if (check._tag === "Conflict") return check.response
    if (check._tag === "Duplicate") return { ...check.receipt }
  }
  const receipt: Receipt = {}
  if (extras?.ephemeral !== true) {
    const published: PublishedEvent = {
      channel,
      name: event.name,
      data,
      socketId: event.socket_id,
      messageId: event.message_id,
      extras,
      tags: event.tags,
      publishedAtMs: nowMs
    }
    for (const store of app.stores) {
      const result = store.onPublish?.(published, app.handle)
      if (result === undefined) continue
      if (isResponse(result)) return result
      for (const [k, v] of Object.entries(result)) if (v !== undefined) receipt[k] = v
    }
  }
  // A versioned channel's store delivers the create itself, with its `sockudo_*` headers.
  if (receipt.message_serial === undefined) app.hub.publish(channel, event.name, data, extras, event.socket_id, nowMs)
  const result: Receipt = {
    acknowledgement_id: receipt.message_serial ?? event.message_id ?? globalThis.crypto.randomUUID(),
    ...receipt
  }
  if (messageKey !== undefined) app.idempotency.recordMessage(channel, messageKey, fingerprint, result, nowMs)
  return result
}

const processEvent = (app: AppRuntime, event: WireEvent, httpKey: string | undefined, nowMs: number): Processed => {
  if (event.extras?.push !== undefined && !isObject(event.extras.push)) {
    return failed(apiError(400, "invalid_input", "invalid extras.push: expected a push payload object"))
  }
  const name = event.name
  if (name === undefined) return failed(apiError(400, "invalid_input", "Event name is required"))
  if (Names.byteLength(name) > app.limits.maxEventNameLength) {
    return failed(
      apiError(400, "limit_exceeded", `Event name '${name}' exceeds maximum length of ${app.limits.maxEventNameLength}`)
    )
  }
  const data = deliveredData(event.data)
  const maxKb = app.limits.maxEventPayloadInKb
  if (maxKb !== undefined && Names.byteLength(data) > maxKb * 1024) {
    return failed(
      apiError(
        413,
        "payload_too_large",
        `Event payload size (${Names.byteLength(data)} bytes) for event '${name}' exceeds limit (${maxKb}KB)`
      )
    )
  }
  const channels = event.channels !== undefined ? event.channels : event.channel !== undefined ? [event.channel] : []
  if (channels.length === 0) {
    return failed(apiError(400, "missing_channel_info", "Request must contain 'channels' (list) or 'channel' (string)"))
  }
  const max = app.limits.maxEventChannelsAtOnce
  if (max !== undefined && channels.length > max) {
    return failed(apiError(400, "limit_exceeded", `Number of channels (${channels.length}) exceeds limit (${max})`))
  }
  const tokens = (event.info ?? "").split(",").map((t) => t.trim())
  const out: Record<string, Receipt> = {}
  let error: ApiResponse | undefined
  for (const channel of channels) {
    const result = publishOne(app, channel, { ...event, name }, data, httpKey, nowMs)
    if (isResponse(result)) {
      error ??= result
      continue
    }
    if (tokens.includes("user_count") && Names.isPresence(channel)) result.user_count = app.hub.userIds(channel).length
    if (tokens.includes("subscription_count")) result.subscription_count = app.hub.subscriptionCount(channel)
    out[channel] = result
  }
  return error === undefined ? { _tag: "Published", channels: out, main: channels[0]! } : failed(error)
}

/**
 * `POST /events`.
 *
 * @since 0.1.0
 */
export const events = (request: ApiRequest, app: AppRuntime): Effect.Effect<ApiResponse> =>
  Effect.gen(function* () {
    const event = decodeEvent(request.body)
    if (event instanceof ShapeError) return badBodyShape(event.detail)
    const settings = app.idempotency.settings
    const key = settings.enabled ? (event.idempotency_key ?? Idempotency.headerKey(request.headers)) : undefined
    if (key !== undefined) {
      const invalid = Idempotency.keyError(key, settings)
      if (invalid !== undefined) return invalid
      const claim = yield* Idempotency.claimOrWait(app.idempotency, "events", key, request.nowMs)
      if (claim._tag === "Answer") return claim.response
    }
    const result = processEvent(app, event, key, request.nowMs)
    if (result._tag === "Failed") return result.response
    const body = needsChannelInfo(event) ? { channels: result.channels } : { ok: true }
    if (key !== undefined) app.idempotency.complete("events", key, body, request.nowMs)
    return ok(body)
  })

/**
 * `POST /batch_events`.
 *
 * @since 0.1.0
 */
export const batchEvents = (request: ApiRequest, app: AppRuntime): Effect.Effect<ApiResponse> =>
  Effect.gen(function* () {
    const body = request.body
    if (!isObject(body)) return badBodyShape(`body: invalid type: ${kind(body)}, expected struct BatchEvents`)
    if (body.batch === undefined || body.batch === null) return badBodyShape("missing field `batch`")
    if (!Array.isArray(body.batch)) return badBodyShape(`batch: invalid type: ${kind(body.batch)}, expected a sequence`)
    const items: Array<WireEvent> = []
    for (let i = 0; i < body.batch.length; i++) {
      const item = decodeEvent(body.batch[i], `batch[${i}].`)
      if (item instanceof ShapeError) return badBodyShape(item.detail)
      items.push(item)
    }
    const maxBatch = app.limits.maxEventBatchSize
    if (maxBatch !== undefined && items.length > maxBatch) {
      return apiError(400, "limit_exceeded", `Batch size (${items.length}) exceeds limit (${maxBatch})`)
    }
    const settings = app.idempotency.settings
    if (settings.enabled) {
      for (const item of items) {
        const invalid =
          item.idempotency_key === undefined ? undefined : Idempotency.keyError(item.idempotency_key, settings)
        if (invalid !== undefined) return invalid
      }
    }
    const batchKey = settings.enabled ? Idempotency.headerKey(request.headers) : undefined
    if (batchKey !== undefined) {
      const invalid = Idempotency.keyError(batchKey, settings)
      if (invalid !== undefined) return invalid
      const claim = yield* Idempotency.claimOrWait(app.idempotency, "batch", batchKey, request.nowMs)
      if (claim._tag === "Answer") return claim.response
    }
    const entries: Array<Receipt | Record<string, never>> = []
    for (const item of items) {
      const itemKey = settings.enabled ? item.idempotency_key : undefined
      if (itemKey !== undefined && app.idempotency.claim("events", itemKey, request.nowMs)._tag !== "Claimed") {
        entries.push({})
        continue
      }
      const result = processEvent(app, item, itemKey, request.nowMs)
      if (result._tag === "Failed") return result.response
      if (itemKey !== undefined) app.idempotency.complete("events", itemKey, 1, request.nowMs)
      const receipt = result.channels[result.main]
      entries.push(needsChannelInfo(item) && receipt !== undefined ? receipt : {})
    }
    const response = items.some(needsChannelInfo) ? { batch: entries } : {}
    if (batchKey !== undefined) app.idempotency.complete("batch", batchKey, response, request.nowMs)
    return ok(response)
  })
