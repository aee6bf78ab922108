/**
 * Publishing: `trigger` (one event to one or more channels), `triggerBatch` and `sendToUser`.
 *
 * Every publish is validated before anything is sent, serialised once, and carries an
 * idempotency key (the caller's, or a generated one when `autoIdempotency` is on). The key is
 * chosen the first time the returned Effect runs and kept for every re-run of that same Effect,
 * so the SDK's retries and a caller's `Effect.retry` re-send exactly the same bytes; each call
 * of `trigger` is a new logical publish with a new key.
 *
 * The options, receipts and response schemas are in `EventSchemas`; this module builds the
 * operations and re-exports them.
 *
 * @since 0.1.0
 */
import { randomUUID } from "node:crypto"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { Encryption } from "../Crypto.ts"
import type { SockudoEncryptionError, SockudoRequestError, SockudoValidationError } from "../Errors.ts"
import { Http, prepareBody, type Request, schemaDecoder } from "../Http.ts"
import { scopedKey } from "../Idempotency.ts"
import { type Limits, SockudoConfig } from "../SockudoConfig.ts"
import * as Validation from "../Validation.ts"
import {
  type BatchEvent,
  type BatchOptions,
  BatchResponse,
  type BatchResult,
  type ChannelReceipt,
  type EventOptions,
  type TriggerOptions,
  TriggerResponse,
  type TriggerResult
} from "./EventSchemas.ts"
import { checkExtras } from "./Extras.ts"

export * from "./EventSchemas.ts"

/**
 * Errors of publishing.
 *
 * @since 0.1.0
 */
export type PublishError = SockudoValidationError | SockudoEncryptionError | SockudoRequestError

const emptyChannels: Readonly<Record<string, ChannelReceipt>> = {}

const decodeTrigger = schemaDecoder(TriggerResponse)
const decodeBatch = schemaDecoder(BatchResponse)

const { invalid } = Validation

type Wire = Record<string, unknown>

/** A publish request: the key goes in the `X-Idempotency-Key` header too. */
const publishRequest = <A>(
  operation: string,
  path: string,
  wire: unknown,
  idempotencyKey: string | undefined,
  decode: Request<A>["decode"]
): Request<A> => ({
  operation,
  method: "POST",
  path,
  body: prepareBody(JSON.stringify(wire)),
  headers: idempotencyKey === undefined ? undefined : { "x-idempotency-key": idempotencyKey },
  decode,
  // Without a key a retried publish could be delivered twice: only retry what never ran.
  retry: idempotencyKey === undefined ? "rejected-only" : "retryable",
  // Aborted mid-request, the server would leave the key claimed (503) for its whole TTL.
  finishOnTimeout: idempotencyKey !== undefined
})

/** Validates an event's options and writes them onto the wire object, in the server's names. */
const addOptions = (
  operation: string,
  prefix: string,
  wire: Wire,
  options: EventOptions | undefined
): Result.Result<Wire, SockudoValidationError> => {
  if (options === undefined) return Result.succeed(wire)
  const optionsReason = Validation.optionsReason(options)
  if (optionsReason) return invalid(operation, "options", optionsReason)
  if (options.socketId !== undefined) {
    const reason = Validation.socketId(options.socketId)
    if (reason) return invalid(operation, `${prefix}socketId`, reason)
    wire.socket_id = options.socketId
  }
  if (options.info !== undefined) {
    if (!Array.isArray(options.info)) {
      return invalid(operation, `${prefix}info`, "must be a list of 'user_count' and 'subscription_count'")
    }
    for (const attribute of options.info) {
      if (attribute !== "user_count" && attribute !== "subscription_count") {
        return invalid(operation, `${prefix}info`, "may contain only 'user_count' and 'subscription_count'")
      }
    }
    wire.info = options.info.join(",")
  }
  if (options.messageId !== undefined) {
    if (typeof options.messageId !== "string" || options.messageId.length === 0) {
      return invalid(operation, `${prefix}messageId`, "must be a non-empty string")
    }
    wire.message_id = options.messageId
  }
  if (options.tags !== undefined) {
    if (!Validation.isRecord(options.tags as unknown))
      return invalid(operation, `${prefix}tags`, "must be an object of strings")
    for (const [k, v] of Object.entries(options.tags)) {
      if (typeof v !== "string") return invalid(operation, `${prefix}tags.${k}`, "must be a string")
    }
    wire.tags = options.tags
  }
  if (options.delta !== undefined) {
    if (typeof options.delta !== "boolean") return invalid(operation, `${prefix}delta`, "must be a boolean")
    wire.delta = options.delta
  }
  if (options.extras !== undefined) {
    const extras = checkExtras(operation, `${prefix}extras`, options.extras)
    if (Result.isFailure(extras)) return Result.fail(extras.failure)
    wire.extras = extras.success
  }
  return Result.succeed(wire)
}

/**
 * Builds the publishing operations.
 *
 * @since 0.1.0
 */
export const make = Effect.gen(function* () {
  const config = yield* SockudoConfig
  const http = yield* Http
  const encryption = yield* Encryption
  const limits: Limits = config.limits

  const chooseKey = (given: string | undefined) =>
    given ?? scopedKey() ?? (config.autoIdempotency ? randomUUID() : undefined)

  /** The `data` field as sent: serialised, and sealed for an encrypted channel. */
  const wireData = (
    operation: string,
    field: string,
    channel: string,
    data: unknown
  ): Result.Result<string, SockudoValidationError | SockudoEncryptionError> => {
    let json: string
    if (Validation.isEncryptedChannel(channel)) {
      // Encrypted payloads are always JSON, so clients decode a string as a string.
      const serialized = Validation.toJson(data)
      if ("error" in serialized) return invalid(operation, field, serialized.error)
      const sealed = encryption.seal(channel, serialized.json)
      if (Result.isFailure(sealed)) return Result.fail(sealed.failure)
      json = sealed.success
    } else {
      const serialized = Validation.serializeData(data)
      if ("error" in serialized) return invalid(operation, field, serialized.error)
      json = serialized.json
    }
    if (limits.maxPayloadBytes !== undefined) {
      const bytes = Validation.byteLength(json)
      if (bytes > limits.maxPayloadBytes) {
        return invalid(operation, field, `is ${bytes} bytes, above the limit of ${limits.maxPayloadBytes}`)
      }
    }
    return Result.succeed(json)
  }

  const prepareTrigger = (
    operation: string,
    channels: ReadonlyArray<string>,
    name: string,
    data: unknown,
    options: TriggerOptions | undefined
  ): Result.Result<Request<TriggerResult>, SockudoValidationError | SockudoEncryptionError> => {
    if (!Array.isArray(channels)) return invalid(operation, "channel", "must be a channel name or a list of them")
    if (channels.length === 0) return invalid(operation, "channels", "must name at least one channel")
    if (channels.length > limits.maxChannelsPerTrigger) {
      return invalid(
        operation,
        "channels",
        `must name at most ${limits.maxChannelsPerTrigger} channels (got ${channels.length})`
      )
    }
    for (let i = 0; i < channels.length; i++) {
      const reason = Validation.channelName(channels[i], limits)
      if (reason) return invalid(operation, channels.length === 1 ? "channel" : `channels[${i}]`, reason)
    }
    if (channels.length > 1 && channels.some(Validation.isEncryptedChannel)) {
      return invalid(operation, "channels", "must be a single channel when one is a private-encrypted- channel")
    }
    const nameReason = Validation.eventName(name, limits)
    if (nameReason) return invalid(operation, "name", nameReason)
    const json = wireData(operation, "data", channels[0]!, data)
    if (Result.isFailure(json)) return Result.fail(json.failure)
    const key = options?.idempotencyKey
    if (key !== undefined) {
      const reason = Validation.idempotencyKey(key)
      if (reason) return invalid(operation, "idempotencyKey", reason)
    }
    const wire = addOptions(operation, "", { name, data: json.success, channels }, options)
    if (Result.isFailure(wire)) return Result.fail(wire.failure)
    const idempotencyKey = chooseKey(key)
    if (idempotencyKey !== undefined) wire.success.idempotency_key = idempotencyKey
    return Result.succeed(
      publishRequest(operation, "/events", wire.success, idempotencyKey, (u) =>
        Result.map(decodeTrigger(u), (r) => ({ idempotencyKey, channels: r.channels ?? emptyChannels }))
      )
    )
  }

  /**
   * Publishes one event to one channel or several (up to `limits.maxChannelsPerTrigger`).
   *
   * ```ts
   * const receipt = yield* sockudo.trigger("orders", "order.created", { id: "ord_1" }, {
   *   socketId: "123.456", info: ["subscription_count"]
   * })
   * ```
   */
  const trigger = (
    channels: string | ReadonlyArray<string>,
    name: string,
    data: unknown,
    options?: TriggerOptions
  ): Effect.Effect<TriggerResult, PublishError> =>
    http.prepareOnce("Sockudo.trigger", () =>
      prepareTrigger("trigger", typeof channels === "string" ? [channels] : channels, name, data, options)
    )

  /**
   * Publishes an event to every signed-in connection of one user (`#server-to-user-<id>`).
   */
  const sendToUser = (
    userId: string,
    name: string,
    data: unknown,
    options?: TriggerOptions
  ): Effect.Effect<TriggerResult, PublishError> =>
    http.prepareOnce("Sockudo.sendToUser", () => {
      const reason = Validation.channelUserId(userId)
      if (reason) return invalid("sendToUser", "userId", reason)
      return prepareTrigger("sendToUser", [Validation.userChannelPrefix + userId], name, data, options)
    })

  const prepareBatch = (
    events: ReadonlyArray<BatchEvent>,
    options: BatchOptions | undefined
  ): Result.Result<Request<BatchResult>, SockudoValidationError | SockudoEncryptionError> => {
    const operation = "triggerBatch"
    if (!Array.isArray(events)) return invalid(operation, "events", "must be a list of events")
    if (events.length === 0) return invalid(operation, "events", "must contain at least one event")
    if (limits.maxBatchSize !== undefined && events.length > limits.maxBatchSize) {
      return invalid(operation, "events", `must contain at most ${limits.maxBatchSize} events (got ${events.length})`)
    }
    const batch: Array<Wire> = []
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!
      const field = `events[${i}]`
      if (!Validation.isRecord(event as unknown)) return invalid(operation, field, "must be an object")
      const channelReason = Validation.channelName(event.channel, limits)
      if (channelReason) return invalid(operation, `${field}.channel`, channelReason)
      const nameReason = Validation.eventName(event.name, limits)
      if (nameReason) return invalid(operation, `${field}.name`, nameReason)
      const json = wireData(operation, `${field}.data`, event.channel, event.data)
      if (Result.isFailure(json)) return Result.fail(json.failure)
      const wire: Wire = { channel: event.channel, name: event.name, data: json.success }
      const withOptions = addOptions(operation, `${field}.`, wire, event)
      if (Result.isFailure(withOptions)) return Result.fail(withOptions.failure)
      if (event.idempotencyKey !== undefined) {
        const reason = Validation.idempotencyKey(event.idempotencyKey)
        if (reason) return invalid(operation, `${field}.idempotencyKey`, reason)
        wire.idempotency_key = event.idempotencyKey
      }
      batch.push(wire)
    }
    const optionsReason = Validation.optionsReason(options)
    if (optionsReason) return invalid(operation, "options", optionsReason)
    const given = options?.idempotencyKey
    if (given !== undefined) {
      const reason = Validation.idempotencyKey(given)
      if (reason) return invalid(operation, "idempotencyKey", reason)
    }
    const idempotencyKey = chooseKey(given)
    return Result.succeed(
      publishRequest(operation, "/batch_events", { batch }, idempotencyKey, (u) =>
        Result.map(decodeBatch(u), (r) => ({ idempotencyKey, batch: r.batch ?? [] }))
      )
    )
  }

  /**
   * Publishes several events in one request; events on `private-encrypted-` channels are sealed
   * one by one. The server processes items in order and is not atomic: on an error at item k the
   * items before it stay published.
   */
  const triggerBatch = (
    events: ReadonlyArray<BatchEvent>,
    options?: BatchOptions
  ): Effect.Effect<BatchResult, PublishError> =>
    http.prepareOnce("Sockudo.triggerBatch", () => prepareBatch(events, options))

  return { trigger, triggerBatch, sendToUser } as const
})

/**
 * The publishing operations.
 *
 * @since 0.1.0
 */
export type Events = Effect.Success<typeof make>
