/**
 * The request pipeline shared by every API resource: URL building under `/apps/<appId>`, a fresh
 * signature per attempt (new `auth_timestamp` from `Clock`), the same body bytes on every attempt,
 * a per-attempt timeout, status to typed error mapping (JSON envelope, the rate limiter's 429 body
 * and the framework's plain-text rejections), Schema decoding of success bodies, and retries
 * driven by a `Schedule` that only ever retries retryable errors and honours `Retry-After`.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as HttpBody from "effect/http/HttpBody"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import type * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Tracer from "effect/Tracer"
import {
  SockudoAuthenticationError,
  SockudoClientError,
  SockudoDecodeError,
  SockudoNotFoundError,
  SockudoRateLimitError,
  type SockudoRequestError,
  SockudoServerError,
  SockudoTransportError
} from "./Errors.ts"
import { encode, md5Hex, type QueryParam, Signer } from "./Signer.ts"
import { type RetrySchedule, SockudoConfig } from "./SockudoConfig.ts"

/**
 * A request body serialised once per logical call: the exact bytes sent on every attempt and
 * their MD5.
 *
 * @since 0.1.0
 */
export interface PreparedBody {
  readonly text: string
  readonly body: HttpBody.HttpBody
  readonly md5: string
}

const utf8 = new TextEncoder()

/**
 * Prepares a JSON body (already serialised) for sending.
 *
 * @since 0.1.0
 */
export const prepareBody = (text: string): PreparedBody => {
  const bytes = utf8.encode(text)
  return { text, body: HttpBody.uint8Array(bytes, "application/json"), md5: md5Hex(bytes) }
}

/**
 * The empty body of a POST without payload (its `body_md5` is still required and signed).
 *
 * @since 0.1.0
 */
export const emptyBody: PreparedBody = prepareBody("")

/**
 * Which failures a request may be retried after.
 * - `"retryable"`: every error whose `isRetryable` is true (transport, timeout, 5xx, 429).
 *   For idempotent requests: reads, publishes with a key, mutations with an `op_id`.
 * - `"rejected-only"`: only 429, which the rate limiter answers before the request is handled.
 *   For requests that must not run twice.
 *
 * @since 0.1.0
 */
export type RetryMode = "retryable" | "rejected-only"

/**
 * Turns a parsed JSON body into the response value, or explains why it cannot.
 *
 * @since 0.1.0
 */
export type Decoder<A> = (json: unknown) => Result.Result<A, string>

/**
 * A decoder from a Schema. Unknown fields are ignored.
 *
 * @since 0.1.0
 */
export const schemaDecoder = <S extends Schema.Decoder<unknown>>(schema: S): Decoder<S["Type"]> => {
  const decode = Schema.decodeUnknownResult(schema)
  return (json) => Result.mapError(decode(json), (issue) => String(issue))
}

/**
 * One API request.
 *
 * @since 0.1.0
 */
export interface Request<A> {
  /** The public operation, for errors and spans (`"trigger"`, `"channels.get"`). */
  readonly operation: string
  readonly method: "GET" | "POST" | "DELETE"
  /** Path below `/apps/<appId>`, dynamic segments already percent-encoded (see `Signer.encode`). */
  readonly path: string
  readonly query?: ReadonlyArray<QueryParam> | undefined
  /** Required for POST (use {@link emptyBody}); ignored otherwise. */
  readonly body?: PreparedBody | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly decode: Decoder<A>
  /** Default `"retryable"`. */
  readonly retry?: RetryMode | undefined
}

/**
 * A per-call override of the configured retry backoff:
 * `effect.pipe(Http.withRetrySchedule(SockudoConfig.noRetries))`.
 *
 * @since 0.1.0
 */
export const RetryScheduleOverride = Context.Reference<RetrySchedule | undefined>(
  "effect-sockudo/RetryScheduleOverride",
  { defaultValue: () => undefined }
)

/**
 * Runs `effect` (any SDK call) with another retry backoff.
 *
 * @since 0.1.0
 */
export const withRetrySchedule =
  (schedule: RetrySchedule) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.provideService(effect, RetryScheduleOverride, schedule)

/**
 * The complete retry policy built from a backoff: retries only what `mode` allows and waits at
 * least as long as the server's `Retry-After`.
 *
 * @since 0.1.0
 */
export const retryPolicy = (backoff: RetrySchedule, mode: RetryMode) =>
  backoff.pipe(
    Schedule.setInputType<SockudoRequestError>(),
    Schedule.while(({ input }) => (mode === "retryable" ? input.isRetryable : input._tag === "SockudoRateLimitError")),
    Schedule.modifyDelay(({ duration, input }) => {
      const retryAfter = input.retryAfter
      return Effect.succeed(retryAfter === undefined ? duration : Duration.max(duration, retryAfter))
    })
  )

/**
 * The Http service.
 *
 * @since 0.1.0
 */
export interface Service {
  /** `/apps/<appId>`, encoded. */
  readonly appPath: string
  readonly request: <A>(request: Request<A>) => Effect.Effect<A, SockudoRequestError>
  /**
   * One Effect per logical operation: `prepare` runs on the first run (validation, body,
   * generated idempotency key or `op_id`) and its request is re-sent unchanged on every re-run,
   * so retries around the returned Effect keep the same key. Traced as `span`.
   */
  readonly prepareOnce: <A, E>(
    span: string,
    prepare: () => Result.Result<Request<A>, E>
  ) => Effect.Effect<A, E | SockudoRequestError>
  /** The full URL of a request signed now, for callers who send it themselves. */
  readonly signUrl: (
    method: string,
    path: string,
    query: ReadonlyArray<QueryParam>,
    body: PreparedBody | undefined
  ) => Effect.Effect<string>
}

/**
 * @since 0.1.0
 */
export class Http extends Context.Service<Http, Service>()("effect-sockudo/Http") {}

/** Seconds or an HTTP date, as milliseconds from now. */
const parseRetryAfter = (value: string | undefined, nowMillis: number): number | undefined => {
  if (value === undefined || value === "") return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMillis)
}

const snippet = (text: string) => (text.length > 500 ? `${text.slice(0, 500)}...` : text)

/**
 * Maps a non-2xx response to the SDK's typed error.
 *
 * @since 0.1.0
 */
export const errorFromResponse = (
  operation: string,
  request: string,
  status: number,
  text: string,
  retryAfterHeader: string | undefined,
  nowMillis: number
): SockudoRequestError => {
  let message = text.trim()
  let code: string | undefined
  if (message.startsWith("{")) {
    try {
      const body = JSON.parse(message) as Record<string, unknown>
      if (typeof body.code === "string") code = body.code
      // The handler envelope says `error`; the rate limiter's 429 body puts its text in `message`.
      const detail = typeof body.message === "string" ? body.message : body.error
      if (typeof detail === "string") message = detail
    } catch {
      // not JSON after all: keep the text
    }
  }
  message = message === "" ? `HTTP ${status}` : snippet(message)
  const fields = { operation, request, status, message, ...(code === undefined ? {} : { code }) }
  const retryAfterMillis = parseRetryAfter(retryAfterHeader, nowMillis)
  const withRetryAfter = retryAfterMillis === undefined ? fields : { ...fields, retryAfterMillis }
  if (status === 401 || status === 403) return new SockudoAuthenticationError(fields)
  if (status === 404) return new SockudoNotFoundError(fields)
  if (status === 429) return new SockudoRateLimitError(withRetryAfter)
  if (status >= 500) return new SockudoServerError(withRetryAfter)
  return new SockudoClientError(fields)
}

/**
 * The status of a refusal sent with HTTP 200, as soketi does: `{"error": "...", "code": 401}`.
 * Sockudo's envelope codes are strings, so no Sockudo answer matches.
 */
const refusalStatus = (json: unknown): number | undefined => {
  if (typeof json !== "object" || json === null) return undefined
  const { error, code } = json as { readonly error?: unknown; readonly code?: unknown }
  return typeof error === "string" && typeof code === "number" && Number.isInteger(code) && code >= 400 && code < 600
    ? code
    : undefined
}

const disableClientSpan = () => true

/**
 * No stack trace on our spans: it would point into this module (where the span is opened), not at
 * the caller, and capturing it is the most expensive part of a span.
 */
const spanOptions: Tracer.SpanOptions = { captureStackTrace: false }

/**
 * `Effect.retry(attempt, policy)` after `attempt` already failed once with `error`: the schedule
 * sees `error` first, exactly as if `Effect.retry` had run the first attempt itself.
 */
const retryAfter = <A, E, E2>(
  attempt: Effect.Effect<A, E>,
  error: E,
  policy: Schedule.Schedule<unknown, E, E2>
): Effect.Effect<A, E | E2> => {
  let first = true
  return Effect.retry(
    Effect.suspend(() => {
      if (!first) return attempt
      first = false
      return Effect.fail(error)
    }),
    policy
  )
}

let liveClock: Clock.Clock | undefined
const MAX_TIMER_MILLIS = 2 ** 31 - 1

/**
 * `Effect.timeout`, for less: with the live clock (whose `sleep` is a `setTimeout`), one fiber for
 * `self` and a plain timer instead of two raced fibers. Any other clock (`TestClock`) goes through
 * `Effect.timeout`, so time stays under its control.
 *
 * @since 0.1.0
 */
export const withTimeout = <A, E>(
  self: Effect.Effect<A, E>,
  duration: Duration.Duration
): Effect.Effect<A, E | Cause.TimeoutError> =>
  Effect.withFiber((parent) => {
    liveClock ??= Context.get(Context.empty(), Clock.Clock)
    const millis = Duration.toMillis(duration)
    if (parent.getRef(Clock.Clock) !== liveClock || !(millis > 0 && millis <= MAX_TIMER_MILLIS)) {
      return Effect.timeout(self, duration)
    }
    return Effect.flatMap(Effect.forkChild(self, { startImmediately: true }), (fiber) =>
      Effect.callback<A, E | Cause.TimeoutError>((resume) => {
        const timer = setTimeout(
          () =>
            resume(
              Effect.andThen(
                Fiber.interrupt(fiber),
                Effect.fail(new Cause.TimeoutError(`Operation timed out after '${Duration.format(duration)}'`))
              )
            ),
          millis
        )
        fiber.addObserver((exit) => {
          clearTimeout(timer)
          resume(exit)
        })
        return Effect.suspend(() => {
          clearTimeout(timer)
          return Fiber.interrupt(fiber)
        })
      })
    )
  })

/**
 * Builds the pipeline. The HttpClient's own span is turned off: each public operation already
 * opens one span of its own.
 *
 * @since 0.1.0
 */
export const make = Effect.gen(function* () {
  const config = yield* SockudoConfig
  const signer = yield* Signer
  const client = yield* HttpClient.HttpClient
  const appPath = `/apps/${encode(config.appId)}`
  const policies = {
    retryable: retryPolicy(config.retry, "retryable"),
    "rejected-only": retryPolicy(config.retry, "rejected-only")
  }

  const handle = <A>(
    spec: Request<A>,
    label: string,
    response: HttpClientResponse.HttpClientResponse
  ): Effect.Effect<A, SockudoRequestError | import("effect/http/HttpClientError").HttpClientError> =>
    Effect.flatMap(response.text, (text) => {
      const status = response.status
      if (status >= 200 && status < 300) {
        let json: unknown
        if (text.length > 0) {
          try {
            json = JSON.parse(text)
          } catch {
            return Effect.fail(
              new SockudoDecodeError({
                operation: spec.operation,
                request: label,
                status,
                message: "the response body is not JSON",
                body: snippet(text)
              })
            )
          }
        }
        const refused = refusalStatus(json)
        if (refused !== undefined) {
          return Effect.flatMap(Clock.currentTimeMillis, (now) =>
            Effect.fail(errorFromResponse(spec.operation, label, refused, text, response.headers["retry-after"], now))
          )
        }
        const decoded = spec.decode(json)
        return Result.isSuccess(decoded)
          ? Effect.succeed(decoded.success)
          : Effect.fail(
              new SockudoDecodeError({
                operation: spec.operation,
                request: label,
                status,
                message: decoded.failure,
                body: snippet(text)
              })
            )
      }
      return Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.fail(errorFromResponse(spec.operation, label, status, text, response.headers["retry-after"], now))
      )
    })

  const request = <A>(spec: Request<A>): Effect.Effect<A, SockudoRequestError> => {
    const path = appPath + spec.path
    const label = `${spec.method} ${path}`
    const query = spec.query ?? []
    const body = spec.method === "POST" ? (spec.body ?? emptyBody) : undefined
    const options: HttpClientRequest.Options.NoUrl = {
      ...(body === undefined ? {} : { body: body.body }),
      ...(spec.headers === undefined ? {} : { headers: spec.headers })
    }
    const send = (now: number) => {
      const signed = signer.signQuery(spec.method, path, query, body?.md5, Math.floor(now / 1000))
      const httpRequest = HttpClientRequest.make(spec.method)(`${config.baseUrl}${path}?${signed}`, options)
      return Effect.flatMap(client.execute(httpRequest), (response) => handle(spec, label, response))
    }
    const attempt = withTimeout(Effect.flatMap(Clock.currentTimeMillis, send), config.timeout).pipe(
      Effect.catchTags({
        HttpClientError: (error) =>
          Effect.fail(
            new SockudoTransportError({
              operation: spec.operation,
              request: label,
              message: error.message,
              timeout: false,
              cause: error
            })
          ),
        TimeoutError: () =>
          Effect.fail(
            new SockudoTransportError({
              operation: spec.operation,
              request: label,
              message: `no response within ${Duration.format(config.timeout)}`,
              timeout: true
            })
          )
      })
    )
    const mode = spec.retry ?? "retryable"
    // The retry schedule is only started after a first failure: a success costs no schedule.
    return Effect.withFiber<A, SockudoRequestError>((fiber) => {
      const override = fiber.getRef(RetryScheduleOverride)
      return Effect.catch(attempt, (error) =>
        retryAfter(attempt, error, override === undefined ? policies[mode] : retryPolicy(override, mode))
      )
    }).pipe(Effect.provideService(HttpClient.TracerDisabledWhen, disableClientSpan))
  }

  const signUrl = (method: string, path: string, query: ReadonlyArray<QueryParam>, body: PreparedBody | undefined) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      const full = appPath + path
      const md5 = method.toUpperCase() === "POST" ? (body ?? emptyBody).md5 : undefined
      return `${config.baseUrl}${full}?${signer.signQuery(method.toUpperCase(), full, query, md5, Math.floor(now / 1000))}`
    })

  const prepareOnce = <A, E>(
    span: string,
    prepare: () => Result.Result<Request<A>, E>
  ): Effect.Effect<A, E | SockudoRequestError> => {
    let prepared: Request<A> | undefined
    return Effect.withSpan(
      Effect.suspend((): Effect.Effect<A, E | SockudoRequestError> => {
        if (prepared === undefined) {
          const result = prepare()
          if (Result.isFailure(result)) return Effect.fail(result.failure)
          prepared = result.success
        }
        return request(prepared)
      }),
      span,
      spanOptions
    )
  }

  return Http.of({ appPath, request, prepareOnce, signUrl })
})

/**
 * @since 0.1.0
 */
export const layer: Layer.Layer<Http, never, SockudoConfig | Signer | HttpClient.HttpClient> = Layer.effect(Http, make)
