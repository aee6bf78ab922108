/**
 * Publishing: who a publish reaches ({@link target}), the notification, publishing now, in a
 * batch or for later, a publish's status, and cancelling a scheduled one.
 *
 * A publish carries a `publishId` (the caller's, or one generated when `autoIdempotency` is on,
 * kept across retries of the same Effect), which the server dedupes for 24 hours, so it is
 * retried like a read; without one it is only retried after a 429.
 *
 * @since 0.1.0
 */

import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { open, tolerant } from "../../Decode.ts"
import type { SockudoValidationError } from "../../Errors.ts"
import { type Decoder, type Request, schemaDecoder } from "../../Http.ts"
import { encode } from "../../Signer.ts"
import { traced } from "../../Telemetry.ts"
import * as Validation from "../../Validation.ts"
import {
  AnswerProvider,
  HttpsUrl,
  JsonAtMost,
  maxBytes,
  NonEmpty,
  NonNegativeInt,
  type PushError,
  PushProvider
} from "./Common.ts"
import { PushRecipient } from "./Devices.ts"
import { admin, invalid, json, noContent, type PushContext, pathSegment, validator } from "./Request.ts"
import { ProviderOverride } from "./Templates.ts"

/**
 * Who a publish reaches, tagged by `type`. The fields are snake_case, as the server reads them;
 * {@link target} builds them. `recipient` targets need the admin capability (always used here).
 *
 * @since 0.1.0
 */
export const PublishTarget = Schema.Union([
  Schema.Struct({ type: Schema.Literal("device"), device_id: NonEmpty }),
  Schema.Struct({ type: Schema.Literal("client"), client_id: NonEmpty }),
  Schema.Struct({ type: Schema.Literal("channel"), channel: NonEmpty }),
  Schema.Struct({ type: Schema.Literal("registeredTopic"), topic: NonEmpty }),
  Schema.Struct({ type: Schema.Literal("userTopic"), topic: NonEmpty }),
  Schema.Struct({ type: Schema.Literal("recipient"), recipient: PushRecipient }),
  Schema.Struct({ type: Schema.Literal("providerTopic"), provider: PushProvider, topic: NonEmpty }),
  Schema.Struct({ type: Schema.Literal("providerCondition"), provider: PushProvider, condition: NonEmpty }),
  Schema.Struct({ type: Schema.Literal("indexedFilter"), filter: JsonAtMost(4096) })
]).annotate({
  expected:
    "a target whose type is device, client, channel, registeredTopic, userTopic, recipient, providerTopic, providerCondition or indexedFilter"
})
/** @since 0.1.0 */
export type PublishTarget = typeof PublishTarget.Type

/**
 * Constructors for publish targets: `target.device("d-1")` is `{ type: "device", device_id: "d-1" }`.
 *
 * @since 0.1.0
 */
export const target = {
  /** One registered device, by its id. */
  device: (deviceId: string): PublishTarget => ({ type: "device", device_id: deviceId }),
  /** Every device of a client (a user). */
  client: (clientId: string): PublishTarget => ({ type: "client", client_id: clientId }),
  /** The devices subscribed to a channel. */
  channel: (channel: string): PublishTarget => ({ type: "channel", channel }),
  /** `{ type: "registeredTopic", topic }` (Sockudo 5.0.1 accepts it and plans no delivery for it). */
  registeredTopic: (topic: string): PublishTarget => ({ type: "registeredTopic", topic }),
  /** `{ type: "userTopic", topic }` (Sockudo 5.0.1 accepts it and plans no delivery for it). */
  userTopic: (topic: string): PublishTarget => ({ type: "userTopic", topic }),
  /** One device given by its provider address (token, endpoint...). */
  recipient: (recipient: PushRecipient): PublishTarget => ({ type: "recipient", recipient }),
  /** A topic the provider itself keeps (such as an FCM topic). */
  providerTopic: (provider: PushProvider, topic: string): PublishTarget => ({ type: "providerTopic", provider, topic }),
  /** A condition the provider evaluates (such as an FCM topic condition). */
  providerCondition: (provider: PushProvider, condition: string): PublishTarget => ({
    type: "providerCondition",
    provider,
    condition
  }),
  /** Sockudo 5.0.1 refuses every publish with this target (400: its decoder cannot read the filter). */
  indexedFilter: (filter: unknown): PublishTarget => ({ type: "indexedFilter", filter })
}

/**
 * The notification: inline fields, or a `templateId` with `templateData`.
 *
 * @since 0.1.0
 */
export const PushPayload = Schema.Struct({
  templateId: Schema.optional(NonEmpty),
  templateData: Schema.optional(JsonAtMost(8192)),
  title: Schema.optional(Schema.String.check(maxBytes(256))),
  body: Schema.optional(Schema.String.check(maxBytes(4096))),
  icon: Schema.optional(HttpsUrl.check(maxBytes(2048))),
  sound: Schema.optional(Schema.String),
  collapseKey: Schema.optional(Schema.String)
})
/** @since 0.1.0 */
export interface PushPayload extends Schema.Schema.Type<typeof PushPayload> {}

const publishFields = {
  /** The dedupe key (kept 24 h or until `expiresAtMs`); generated when absent and `autoIdempotency` is on. */
  publishId: Schema.optional(NonEmpty),
  recipients: Schema.Array(PublishTarget).check(
    Schema.isBetweenLength(1, 1024, { message: "must list 1 to 1024 targets" })
  ),
  payload: PushPayload,
  providerOverrides: Schema.optional(Schema.Array(ProviderOverride)),
  /** Do not deliver before this time (Unix ms). */
  notBeforeMs: Schema.optional(NonNegativeInt),
  /** Drop undelivered notifications after this time (Unix ms). */
  expiresAtMs: Schema.optional(NonNegativeInt)
}

/**
 * A push publish.
 *
 * @since 0.1.0
 */
export const PublishRequest = Schema.Struct(publishFields)
/** @since 0.1.0 */
export interface PublishRequest extends Schema.Schema.Type<typeof PublishRequest> {}

/**
 * A scheduled publish: `notBeforeMs` is required.
 *
 * @since 0.1.0
 */
export const ScheduledPublishRequest = Schema.Struct({ ...publishFields, notBeforeMs: NonNegativeInt })
/** @since 0.1.0 */
export interface ScheduledPublishRequest extends Schema.Schema.Type<typeof ScheduledPublishRequest> {}

const fanoutRegime = open(["fastPath", "shardPath"])

/**
 * 202 to a publish. `status` is `accepted` or `quota_exceeded` for a new publish; a duplicate
 * `publishId` reports the existing publish's state label. The publish was accepted whatever
 * else the answer says: every field but `publishId` is tolerant (`undefined` when missing or of
 * an unexpected type), the enums are open, and a `publishId` missing from the answer is the one
 * that was sent.
 *
 * @since 0.1.0
 */
export const PublishAccepted = Schema.Struct({
  publishId: Schema.String,
  status: tolerant(
    open([
      "accepted",
      "planning",
      "throttled",
      "dispatching",
      "cancelled",
      "succeeded",
      "partially_succeeded",
      "failed",
      "quota_exceeded",
      "expired",
      "dead_lettered"
    ])
  ),
  expectedRecipients: tolerant(Schema.Number),
  fanoutRegime: tolerant(fanoutRegime),
  renderedPayloads: tolerant(
    Schema.Array(
      Schema.Struct({ provider: AnswerProvider, payload: Schema.Unknown, usedOverride: tolerant(Schema.Boolean) })
    )
  )
})
/** @since 0.1.0 */
export interface PublishAccepted extends Schema.Schema.Type<typeof PublishAccepted> {
  /** Fields a newer server adds. */
  readonly [field: string]: unknown
}

/**
 * 202 to a batch publish: one entry per request, in order.
 *
 * @since 0.1.0
 */
export const BatchPublishAccepted = Schema.Struct({ items: Schema.Array(PublishAccepted) })
/** @since 0.1.0 */
export interface BatchPublishAccepted extends Schema.Schema.Type<typeof BatchPublishAccepted> {}

/**
 * A publish's progress. `state` uses other names than {@link PublishAccepted}'s `status`
 * (`queued`, `partiallySucceeded`).
 *
 * @since 0.1.0
 */
export const PublishStatus = Schema.Struct({
  appId: Schema.String,
  publishId: Schema.String,
  state: open([
    "queued",
    "planning",
    "throttled",
    "quota_exceeded",
    "dispatching",
    "cancelled",
    "expired",
    "failed",
    "dead_lettered",
    "succeeded",
    "partiallySucceeded"
  ]),
  counters: Schema.Struct({
    planned: Schema.Number,
    dispatched: Schema.Number,
    succeeded: Schema.Number,
    failed: Schema.Number,
    expired: Schema.Number,
    retryScheduled: Schema.Number,
    retryAttempted: Schema.Number,
    deadLettered: Schema.Number
  }),
  fanoutRegime: Schema.optionalKey(Schema.NullOr(fanoutRegime)),
  retryAfterMs: Schema.optionalKey(Schema.NullOr(Schema.Number)),
  errorReason: Schema.optionalKey(Schema.NullOr(Schema.String))
})
/** @since 0.1.0 */
export interface PublishStatus extends Schema.Schema.Type<typeof PublishStatus> {}

/**
 * Options of publishing calls.
 *
 * @since 0.1.0
 */
export interface PublishOptions {
  /** Bypass the server's push quotas (`x-sockudo-push-quota-override`). */
  readonly quotaOverride?: boolean | undefined
}

const checkPublish = validator(PublishRequest)
const checkScheduled = validator(ScheduledPublishRequest)
const decodeAcceptedAnswer = schemaDecoder(PublishAccepted)
const decodeBatchAnswer = schemaDecoder(BatchPublishAccepted)

/** An accepted item with the `publishId` that was sent when the answer has none. */
const withSentId = (item: unknown, sent: string | undefined): unknown => {
  if (sent === undefined) return item
  if (!Validation.isRecord(item)) return { publishId: sent }
  return typeof item.publishId === "string" ? item : { ...item, publishId: sent }
}

const decodeAccepted =
  (sent: string | undefined): Decoder<PublishAccepted> =>
  (json) =>
    decodeAcceptedAnswer(withSentId(json, sent))

const decodeBatch =
  (sent: ReadonlyArray<string | undefined>): Decoder<BatchPublishAccepted> =>
  (json) => {
    if (!Validation.isRecord(json) || !Array.isArray(json.items)) return decodeBatchAnswer(json)
    const items: ReadonlyArray<unknown> = json.items
    return decodeBatchAnswer({ ...json, items: items.map((item, i) => withSentId(item, sent[i])) })
  }
const decodeStatus = schemaDecoder(PublishStatus)

/**
 * Builds the publishing operations of `push`.
 *
 * @since 0.1.0
 */
export const make = ({ http, get, newPublishId }: PushContext) => {
  const publishHeaders = (
    operation: string,
    options: PublishOptions | undefined
  ): Result.Result<Readonly<Record<string, string>>, SockudoValidationError> => {
    const reason = Validation.optionsReason(options)
    if (reason) return invalid(operation, "options", reason)
    const override = options?.quotaOverride
    if (override !== undefined && typeof override !== "boolean") {
      return invalid(operation, "quotaOverride", "must be a boolean")
    }
    return Result.succeed(override === true ? { ...admin, "x-sockudo-push-quota-override": "1" } : admin)
  }

  /** The wire form of a publish: its own `publishId`, or a generated one placed first. */
  const withPublishId = (request: PublishRequest): PublishRequest => {
    if (request.publishId !== undefined) return request
    const publishId = newPublishId()
    if (publishId === undefined) return request
    const { publishId: _, ...rest } = request
    return { publishId, ...rest }
  }

  const preparePublish = (
    operation: string,
    check: typeof checkPublish,
    request: PublishRequest,
    options: PublishOptions | undefined
  ): Result.Result<Request<PublishAccepted>, SockudoValidationError> =>
    Result.flatMap(check(operation, "request", request), (checked) =>
      Result.map(publishHeaders(operation, options), (headers) => {
        const wire = withPublishId(checked)
        return {
          operation,
          method: "POST",
          path: "/push/publish",
          body: json(wire),
          headers,
          decode: decodeAccepted(wire.publishId),
          retry: wire.publishId === undefined ? "rejected-only" : "retryable"
        }
      })
    )

  const prepareBatch = (
    requests: ReadonlyArray<PublishRequest>,
    options: PublishOptions | undefined
  ): Result.Result<Request<BatchPublishAccepted>, SockudoValidationError> => {
    const operation = "push.publishBatch"
    if (!Array.isArray(requests) || requests.length === 0) {
      return invalid(operation, "requests", "must contain at least one publish")
    }
    const wire: Array<PublishRequest> = []
    for (let i = 0; i < requests.length; i++) {
      const checked = checkPublish(operation, `requests[${i}]`, requests[i])
      if (Result.isFailure(checked)) return Result.fail(checked.failure)
      wire.push(withPublishId(checked.success))
    }
    const headers = publishHeaders(operation, options)
    if (Result.isFailure(headers)) return Result.fail(headers.failure)
    return Result.succeed({
      operation,
      method: "POST",
      path: "/push/batch/publish",
      body: json(wire),
      headers: headers.success,
      decode: decodeBatch(wire.map((r) => r.publishId)),
      retry: wire.every((r) => r.publishId !== undefined) ? "retryable" : "rejected-only"
    })
  }

  /**
   * Publishes a notification (accepted asynchronously: 202). Retried with the same `publishId`,
   * which the server dedupes.
   *
   * ```ts
   * import { Effect } from "effect"
   * import { Push, Sockudo } from "effect-sockudo"
   *
   * const notify = Effect.gen(function* () {
   *   const sockudo = yield* Sockudo.Sockudo
   *   return yield* sockudo.push.publish({
   *     recipients: [Push.target.client("user-1")],
   *     payload: { title: "Order shipped", body: "ord_1 is on its way" }
   *   })
   * })
   * ```
   */
  const publish = (request: PublishRequest, options?: PublishOptions): Effect.Effect<PublishAccepted, PushError> =>
    http.prepareOnce("Sockudo.push.publish", () => preparePublish("push.publish", checkPublish, request, options))

  /** Publishes several notifications in one request; the server stops at the first failing one. */
  const publishBatch = (
    requests: ReadonlyArray<PublishRequest>,
    options?: PublishOptions
  ): Effect.Effect<BatchPublishAccepted, PushError> =>
    http.prepareOnce("Sockudo.push.publishBatch", () => prepareBatch(requests, options))

  /**
   * Publishes a notification for later: it is accepted now and delivered from `notBeforeMs` on
   * (the status is `dispatching`, with `retryAfterMs` = `notBeforeMs`, until then).
   */
  const schedule = (
    request: ScheduledPublishRequest,
    options?: PublishOptions
  ): Effect.Effect<PublishAccepted, PushError> =>
    http.prepareOnce("Sockudo.push.schedule", () => preparePublish("push.schedule", checkScheduled, request, options))

  /** A publish's state and counters; `SockudoNotFoundError` for an unknown `publishId`. */
  const status = traced("Sockudo.push.status")(function* (
    publishId: string
  ): Effect.fn.Return<PublishStatus, PushError> {
    const id = yield* Effect.fromResult(pathSegment("push.status", "publishId", publishId))
    return yield* get("push.status", `/push/publish/${encode(id)}/status`, decodeStatus)
  })

  /**
   * Deletes the server's scheduler job of that id (`DELETE /push/scheduled/{jobId}`, 204 whether
   * or not there was one). Sockudo 5.0.1 creates no such job for a publish sent over HTTP, even
   * with `notBeforeMs`: this does not stop a publish from `push.schedule`, which is delivered at
   * its time. To keep a delayed notification from being delivered late, give it `expiresAtMs`.
   */
  const cancelScheduled = traced("Sockudo.push.cancelScheduled")(function* (
    publishId: string
  ): Effect.fn.Return<void, PushError> {
    const operation = "push.cancelScheduled"
    const id = yield* Effect.fromResult(pathSegment(operation, "publishId", publishId))
    return yield* http.request({
      operation,
      method: "DELETE",
      path: `/push/scheduled/${encode(id)}`,
      headers: admin,
      decode: noContent
    })
  })

  return { publish, publishBatch, schedule, status, cancelScheduled }
}
