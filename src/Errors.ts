/**
 * Every typed error the SDK can fail with. All of them are tagged, so callers recover with
 * `Effect.catchTag("SockudoRateLimitError", ...)`, and all carry `isRetryable` and `retryAfter`
 * so a retry policy can be written once:
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Sockudo } from "effect-sockudo"
 *
 * const publish = Effect.gen(function* () {
 *   const sockudo = yield* Sockudo.Sockudo
 *   return yield* sockudo.trigger("orders", "created", { id: "ord_1" }).pipe(
 *     Effect.retry({ times: 5, while: (e) => e.isRetryable })
 *   )
 * })
 * ```
 *
 * Secrets never appear in any error: request URLs are recorded without their query string.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

const Operation = Schema.String
const OptionalString = Schema.optional(Schema.String)

/**
 * Input that the SDK refused before sending anything: an invalid channel or event name, too
 * many channels, an oversized payload, a malformed socket id, data that cannot be serialised.
 * `field` names the offending input (`"channels[2]"`, `"socketId"`, `"data"`).
 *
 * @since 0.1.0
 */
export class SockudoValidationError extends Schema.TaggedError<SockudoValidationError>()("SockudoValidationError", {
  operation: Operation,
  field: Schema.String,
  message: Schema.String
}) {
  get isRetryable(): boolean {
    return false
  }
  get retryAfter(): Duration.Duration | undefined {
    return undefined
  }
}

/**
 * The configuration given to a `SockudoConfig` layer is invalid; `field` names the option.
 *
 * @since 0.1.0
 */
export class SockudoConfigError extends Schema.TaggedError<SockudoConfigError>()("SockudoConfigError", {
  field: Schema.String,
  message: Schema.String
}) {
  get isRetryable(): boolean {
    return false
  }
  get retryAfter(): Duration.Duration | undefined {
    return undefined
  }
}

const ResponseFields = {
  operation: Operation,
  status: Schema.Number,
  /** The server's machine-readable `code` from its error envelope, when it sent one. */
  code: OptionalString,
  message: Schema.String,
  /** Method and path of the failed request (never the signed query). */
  request: Schema.String
}

/**
 * The server rejected the request's credentials or signature (401), or the caller lacks a
 * capability (403). Never retried: a new signature would be computed from the same secret.
 *
 * @since 0.1.0
 */
export class SockudoAuthenticationError extends Schema.TaggedError<SockudoAuthenticationError>()(
  "SockudoAuthenticationError",
  ResponseFields
) {
  get isRetryable(): boolean {
    return false
  }
  get retryAfter(): Duration.Duration | undefined {
    return undefined
  }
}

/**
 * 404: the app key is unknown (`code: "app_not_found"`), or the message, annotation, template,
 * device or route does not exist.
 *
 * @since 0.1.0
 */
export class SockudoNotFoundError extends Schema.TaggedError<SockudoNotFoundError>()(
  "SockudoNotFoundError",
  ResponseFields
) {
  get isRetryable(): boolean {
    return false
  }
  get retryAfter(): Duration.Duration | undefined {
    return undefined
  }
}

/**
 * 429 from the API rate limiter or push admission control. `retryAfterMillis` comes from the
 * `Retry-After` header; the SDK's retry policy never retries sooner.
 *
 * @since 0.1.0
 */
export class SockudoRateLimitError extends Schema.TaggedError<SockudoRateLimitError>()("SockudoRateLimitError", {
  ...ResponseFields,
  retryAfterMillis: Schema.optional(Schema.Number)
}) {
  get isRetryable(): boolean {
    return true
  }
  get retryAfter(): Duration.Duration | undefined {
    return this.retryAfterMillis === undefined ? undefined : Duration.millis(this.retryAfterMillis)
  }
}

/**
 * Any other 4xx: invalid input the server caught, a payload or limit rejection, a conflicting
 * idempotency key, a disabled feature (422). Never retried (the server poisons an idempotency key
 * after such a failure, so a retry needs a new key), except 408: the server or a proxy gave up
 * waiting for the request before it was handled.
 *
 * @since 0.1.0
 */
export class SockudoClientError extends Schema.TaggedError<SockudoClientError>()("SockudoClientError", ResponseFields) {
  get isRetryable(): boolean {
    return this.status === 408
  }
  get retryAfter(): Duration.Duration | undefined {
    return undefined
  }
}

/**
 * 5xx. Retryable; a 503 `backpressure` (an idempotent publish still in progress) carries the
 * server's `Retry-After`.
 *
 * @since 0.1.0
 */
export class SockudoServerError extends Schema.TaggedError<SockudoServerError>()("SockudoServerError", {
  ...ResponseFields,
  retryAfterMillis: Schema.optional(Schema.Number)
}) {
  get isRetryable(): boolean {
    return true
  }
  get retryAfter(): Duration.Duration | undefined {
    return this.retryAfterMillis === undefined ? undefined : Duration.millis(this.retryAfterMillis)
  }
}

/**
 * The request did not complete: connection refused or reset, DNS failure, the per-attempt
 * timeout or the call's deadline (`timeout: true`), or the response body could not be read. The
 * request may or may not have reached the server, which is why publishes carry idempotency keys.
 * Neither `message` nor `cause` holds the signed query of the request.
 *
 * @since 0.1.0
 */
export class SockudoTransportError extends Schema.TaggedError<SockudoTransportError>()("SockudoTransportError", {
  operation: Operation,
  request: Schema.String,
  message: Schema.String,
  timeout: Schema.Boolean,
  cause: Schema.optional(Schema.Defect())
}) {
  get isRetryable(): boolean {
    return true
  }
  get retryAfter(): Duration.Duration | undefined {
    return undefined
  }
}

/**
 * A 2xx response whose body is not what the server's API promises. `body` holds the start of
 * the response text to help diagnose proxies and version mismatches.
 *
 * @since 0.1.0
 */
export class SockudoDecodeError extends Schema.TaggedError<SockudoDecodeError>()("SockudoDecodeError", {
  operation: Operation,
  request: Schema.String,
  status: Schema.Number,
  message: Schema.String,
  body: Schema.String
}) {
  get isRetryable(): boolean {
    return false
  }
  get retryAfter(): Duration.Duration | undefined {
    return undefined
  }
}

/**
 * End-to-end encryption failed: no master key configured for a `private-encrypted-` channel,
 * or encrypted data could not be opened (wrong key, tampered or malformed ciphertext).
 *
 * @since 0.1.0
 */
export class SockudoEncryptionError extends Schema.TaggedError<SockudoEncryptionError>()("SockudoEncryptionError", {
  reason: Schema.Literals(["MissingMasterKey", "Malformed", "DecryptionFailed"]),
  channel: Schema.String,
  message: Schema.String
}) {
  get isRetryable(): boolean {
    return false
  }
  get retryAfter(): Duration.Duration | undefined {
    return undefined
  }
}

const WebhookFields = { message: Schema.String }

/**
 * A webhook whose `X-Pusher-Key` header is missing or names another app, or a request given
 * without its headers.
 *
 * @since 0.1.0
 */
export class SockudoWebhookKeyError extends Schema.TaggedError<SockudoWebhookKeyError>()(
  "SockudoWebhookKeyError",
  WebhookFields
) {
  get isRetryable(): boolean {
    return false
  }
  get retryAfter(): Duration.Duration | undefined {
    return undefined
  }
}

/**
 * A webhook whose `X-Pusher-Signature` is missing or does not match the raw body.
 *
 * @since 0.1.0
 */
export class SockudoWebhookSignatureError extends Schema.TaggedError<SockudoWebhookSignatureError>()(
  "SockudoWebhookSignatureError",
  WebhookFields
) {
  get isRetryable(): boolean {
    return false
  }
  get retryAfter(): Duration.Duration | undefined {
    return undefined
  }
}

/**
 * A correctly signed webhook whose body is not `{ time_ms, events: [...] }`, or a request whose
 * body is not the raw body as received (a string or bytes): one a framework already parsed
 * cannot be verified, since the signature covers the exact bytes.
 *
 * @since 0.1.0
 */
export class SockudoWebhookBodyError extends Schema.TaggedError<SockudoWebhookBodyError>()(
  "SockudoWebhookBodyError",
  WebhookFields
) {
  get isRetryable(): boolean {
    return false
  }
  get retryAfter(): Duration.Duration | undefined {
    return undefined
  }
}

/**
 * A correctly signed webhook older than the configured maximum age (`webhookMaxAge`, or
 * `maxAge` of `Webhook.verify`), measured from its `time_ms`: a replay, or a delivery the
 * server kept retrying for longer than that.
 *
 * @since 0.1.0
 */
export class SockudoWebhookExpiredError extends Schema.TaggedError<SockudoWebhookExpiredError>()(
  "SockudoWebhookExpiredError",
  {
    ...WebhookFields,
    /** The webhook's `time_ms`. */
    timeMs: Schema.Number,
    ageMillis: Schema.Number,
    maxAgeMillis: Schema.Number
  }
) {
  get isRetryable(): boolean {
    return false
  }
  get retryAfter(): Duration.Duration | undefined {
    return undefined
  }
}

/**
 * A `PromiseClient` operation called after `close()`: its connection pool is gone. Make a new
 * client (and close each one once, when the application stops).
 *
 * @since 0.1.0
 */
export class SockudoClientClosedError extends Schema.TaggedError<SockudoClientClosedError>()(
  "SockudoClientClosedError",
  { message: Schema.String }
) {
  get isRetryable(): boolean {
    return false
  }
  get retryAfter(): Duration.Duration | undefined {
    return undefined
  }
}

/**
 * An item that a typed event definition (`SockudoEvent.make`) could not decode: a webhook event
 * or history item of another event (`OtherEvent`), a client event that could not be decrypted
 * (`Undecryptable`), data that is not JSON (`NotJson`) or does not match the event's Schema
 * (`InvalidData`, with the Schema's message: the paths and expectations, not the data, which
 * may be private).
 *
 * @since 0.2.0
 */
export class SockudoEventDecodeError extends Schema.TaggedError<SockudoEventDecodeError>()("SockudoEventDecodeError", {
  /** The definition's event name. */
  event: Schema.String,
  /** The channel of the item, when it names one. */
  channel: Schema.optional(Schema.String),
  reason: Schema.Literals(["OtherEvent", "Undecryptable", "NotJson", "InvalidData"]),
  message: Schema.String
}) {
  get isRetryable(): boolean {
    return false
  }
  get retryAfter(): Duration.Duration | undefined {
    return undefined
  }
}

/**
 * Every error the SDK's operations can fail with.
 *
 * @since 0.1.0
 */
export type SockudoError =
  | SockudoValidationError
  | SockudoPublisherClosedError
  | SockudoAuthenticationError
  | SockudoNotFoundError
  | SockudoRateLimitError
  | SockudoClientError
  | SockudoServerError
  | SockudoTransportError
  | SockudoDecodeError
  | SockudoEncryptionError
  | SockudoClientClosedError

/**
 * A `Publisher` whose scope has closed refused an event: nothing was sent.
 *
 * @since 0.2.0
 */
export class SockudoPublisherClosedError extends Schema.TaggedError<SockudoPublisherClosedError>()(
  "SockudoPublisherClosedError",
  { operation: Operation, message: Schema.String }
) {
  get isRetryable(): boolean {
    return false
  }
  get retryAfter(): Duration.Duration | undefined {
    return undefined
  }
}

/**
 * Errors of webhook verification. An event that cannot be decrypted does not fail the webhook
 * (it is delivered as an `UndecryptableEvent` carrying its `SockudoEncryptionError`); a
 * configured master key that is not base64 of 32 bytes does.
 *
 * @since 0.1.0
 */
export type SockudoWebhookError =
  | SockudoWebhookKeyError
  | SockudoWebhookSignatureError
  | SockudoWebhookBodyError
  | SockudoWebhookExpiredError
  | SockudoEncryptionError

/**
 * The errors a request to the server can end with (everything but local validation and
 * encryption).
 *
 * @since 0.1.0
 */
export type SockudoRequestError =
  | SockudoAuthenticationError
  | SockudoNotFoundError
  | SockudoRateLimitError
  | SockudoClientError
  | SockudoServerError
  | SockudoTransportError
  | SockudoDecodeError

const tags = new Set([
  "SockudoValidationError",
  "SockudoConfigError",
  "SockudoAuthenticationError",
  "SockudoNotFoundError",
  "SockudoRateLimitError",
  "SockudoClientError",
  "SockudoServerError",
  "SockudoTransportError",
  "SockudoDecodeError",
  "SockudoEncryptionError",
  "SockudoWebhookKeyError",
  "SockudoWebhookSignatureError",
  "SockudoWebhookBodyError",
  "SockudoPublisherClosedError",
  "SockudoWebhookExpiredError",
  "SockudoClientClosedError",
  "SockudoEventDecodeError"
])

/**
 * True for any error defined by this SDK.
 *
 * @since 0.1.0
 */
export const isSockudoError = (
  u: unknown
): u is
  | SockudoError
  | SockudoConfigError
  | SockudoWebhookError
  | SockudoPublisherClosedError
  | SockudoEventDecodeError => Predicate.hasProperty(u, "_tag") && typeof u._tag === "string" && tags.has(u._tag)
