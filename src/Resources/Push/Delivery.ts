/**
 * What became of a publish's deliveries: dead letters (list, replay) and the provider delivery
 * reports recorded against a publish.
 *
 * @since 0.1.0
 */

import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type { SockudoValidationError } from "../../Errors.ts"
import { type Request, schemaDecoder } from "../../Http.ts"
import { newKey, scopedKey } from "../../Idempotency.ts"
import { encode } from "../../Signer.ts"
import { traced } from "../../Telemetry.ts"
import {
  AnswerProvider,
  NonEmpty,
  NonNegativeInt,
  type PageOptions,
  type PushError,
  PushPage,
  PushProvider
} from "./Common.ts"
import {
  admin,
  credentialPaths,
  invalid,
  isMillis,
  json,
  type PushContext,
  pageQuery,
  pathSegment,
  validator
} from "./Request.ts"

/**
 * A delivery that failed for good.
 *
 * @since 0.1.0
 */
export const DeadLetter = Schema.Struct({
  deadLetterId: Schema.String,
  appId: Schema.String,
  publishId: Schema.String,
  provider: Schema.optionalKey(AnswerProvider),
  stage: Schema.String,
  key: Schema.String,
  reason: Schema.String,
  occurredAtMs: Schema.Number,
  replayable: Schema.Boolean
})
/** @since 0.1.0 */
export interface DeadLetter extends Schema.Schema.Type<typeof DeadLetter> {}

/**
 * 202 to a replay.
 *
 * @since 0.1.0
 */
export const DeadLetterReplay = Schema.Struct({
  deadLetterId: Schema.String,
  replayed: Schema.Boolean,
  messageId: Schema.optionalKey(Schema.NullOr(Schema.String))
})
/** @since 0.1.0 */
export interface DeadLetterReplay extends Schema.Schema.Type<typeof DeadLetterReplay> {}

/**
 * How a provider failure is classified (`unknown` is the default and is left out of answers).
 *
 * @since 0.1.0
 */
export const FailureClass = Schema.Literals([
  "device_terminal",
  "device_transient",
  "provider_transient",
  "provider_quota",
  "credential_auth",
  "caller_payload",
  "network_transport",
  "unknown"
])
/** @since 0.1.0 */
export type FailureClass = typeof FailureClass.Type

const deliveryResultFields = {
  provider: PushProvider,
  batchId: NonEmpty,
  deviceId: Schema.optional(Schema.String),
  outcome: Schema.Literals(["accepted", "rejected", "retryable", "expired", "cancelled"]),
  providerMessageId: Schema.optional(Schema.String),
  error: Schema.optional(
    Schema.Struct({
      class: Schema.String,
      failureClass: Schema.optional(FailureClass),
      reason: Schema.optional(Schema.String),
      retryAfterMs: Schema.optional(NonNegativeInt)
    })
  ),
  attempt: NonNegativeInt
}

/**
 * A provider delivery outcome to record, as a caller gives it. `eventId` (with `occurredAtMs`,
 * the record's identity) is generated once per call when absent; the SDK adds `appId` and copies
 * `publishId` into `result`.
 *
 * @since 0.1.0
 */
export const DeliveryReport = Schema.Struct({
  publishId: NonEmpty,
  eventId: Schema.optional(NonEmpty),
  occurredAtMs: NonNegativeInt,
  result: Schema.Struct(deliveryResultFields)
})
/** @since 0.1.0 */
export interface DeliveryReport extends Schema.Schema.Type<typeof DeliveryReport> {}

/**
 * A delivery event on the wire and in the response.
 *
 * @since 0.1.0
 */
export const DeliveryEvent = Schema.Struct({
  appId: Schema.String,
  publishId: Schema.String,
  eventId: Schema.String,
  occurredAtMs: NonNegativeInt,
  result: Schema.Struct({ appId: Schema.String, publishId: Schema.String, ...deliveryResultFields })
})
/** @since 0.1.0 */
export interface DeliveryEvent extends Schema.Schema.Type<typeof DeliveryEvent> {}

/**
 * Options of `deadLetters.list`.
 *
 * @since 0.1.0
 */
export interface DeadLetterListOptions extends PageOptions {
  /** Only entries of this provider. */
  readonly provider?: Exclude<PushProvider, "realtime"> | undefined
  /** Only entries at or after this time (Unix ms). */
  readonly sinceMs?: number | undefined
  /** Only entries at or before this time (Unix ms); not before `sinceMs`. */
  readonly untilMs?: number | undefined
}

const checkDelivery = validator(DeliveryReport)
const decodeDeadLetters = schemaDecoder(PushPage(DeadLetter))
const decodeReplay = schemaDecoder(DeadLetterReplay)
const decodeDelivery = schemaDecoder(DeliveryEvent)

/**
 * Builds `push.deadLetters` and `push.deliveryStatus`.
 *
 * @since 0.1.0
 */
export const make = ({ http, appId, get }: PushContext) => {
  const prepareDelivery = (report: DeliveryReport): Result.Result<Request<DeliveryEvent>, SockudoValidationError> => {
    const operation = "push.deliveryStatus"
    return Result.map(checkDelivery(operation, "report", report), (checked) => ({
      operation,
      method: "POST",
      path: "/push/deliveryStatus",
      body: json({
        appId,
        publishId: checked.publishId,
        eventId: checked.eventId ?? scopedKey() ?? newKey(),
        occurredAtMs: checked.occurredAtMs,
        result: { appId, publishId: checked.publishId, ...checked.result }
      }),
      headers: admin,
      decode: decodeDelivery
    }))
  }

  const deadLetters = {
    /** One page of dead letters, optionally by provider and time range. */
    list: traced("Sockudo.push.deadLetters.list")(function* (
      options?: DeadLetterListOptions
    ): Effect.fn.Return<PushPage<DeadLetter>, PushError> {
      const operation = "push.deadLetters.list"
      const query = yield* Effect.fromResult(pageQuery(operation, options))
      const { provider, sinceMs, untilMs } = options ?? {}
      if (provider !== undefined) {
        if (!Object.hasOwn(credentialPaths, provider)) {
          return yield* Effect.fromResult(invalid(operation, "provider", "must be fcm, apns, webPush, hms or wns"))
        }
        query.push(["provider", provider])
      }
      for (const [field, value] of [
        ["sinceMs", sinceMs],
        ["untilMs", untilMs]
      ] as const) {
        if (value === undefined) continue
        if (!isMillis(value)) return yield* Effect.fromResult(invalid(operation, field, "must be an integer >= 0"))
        query.push([field, String(value)])
      }
      if (sinceMs !== undefined && untilMs !== undefined && sinceMs > untilMs) {
        return yield* Effect.fromResult(invalid(operation, "sinceMs", "must not be after untilMs"))
      }
      return yield* get(operation, "/push/deadLetters", decodeDeadLetters, query)
    }),
    /** Re-queues a dead letter (not retried: a second replay would deliver twice). */
    replay: traced("Sockudo.push.deadLetters.replay")(function* (
      deadLetterId: string
    ): Effect.fn.Return<DeadLetterReplay, PushError> {
      const operation = "push.deadLetters.replay"
      const id = yield* Effect.fromResult(pathSegment(operation, "deadLetterId", deadLetterId))
      return yield* http.request({
        operation,
        method: "POST",
        path: `/push/deadLetters/${encode(id)}/replay`,
        headers: admin,
        decode: decodeReplay,
        retry: "rejected-only"
      })
    })
  }

  /** Records a provider's delivery outcome for a publish; retried safely (the event is keyed by its id). */
  const deliveryStatus = (report: DeliveryReport): Effect.Effect<DeliveryEvent, PushError> =>
    http.prepareOnce("Sockudo.push.deliveryStatus", () => prepareDelivery(report))

  return { deadLetters, deliveryStatus }
}
