/**
 * What the SDK tells about its work: the attributes of each operation's span (OpenTelemetry's
 * messaging and HTTP client conventions where they exist, `sockudo.*` where they do not), a span
 * event per retry, the SDK's metrics (effect's `Metric`) and its debug logs.
 *
 * Every request operation opens one span of kind `client` (`Sockudo.trigger`,
 * `Sockudo.channels.get`, `Publisher.batch`, ...), the publishing ones only when a tracer is
 * installed (see {@link operation}); the request pipeline writes the request's attributes onto
 * it, once, when the request starts, and its answer when it ends. Nothing is
 * allocated per attempt unless an attempt fails. No URL with its signed query is recorded
 * anywhere: spans carry `url.path`, and the HttpClient's own spans (off by default, see
 * `httpClientSpans` in `SockudoConfig`) get `auth_signature` redacted.
 *
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { Telemetry } from "effect-sockudo"
 *
 * // Every series of the SDK's metrics, e.g. to print them in a test.
 * const sdkMetrics = Effect.map(Metric.snapshot, (all) => all.filter((m) => m.id.startsWith("sockudo.")))
 * const retriesOf = (operation: string) =>
 *   Metric.value(Metric.withAttributes(Telemetry.retries, { "messaging.operation.name": operation }))
 * ```
 *
 * @since 0.2.0
 */
import * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Schedule from "effect/Schedule"
import * as Tracer from "effect/Tracer"
import type { SockudoRequestError } from "./Errors.ts"

/**
 * `messaging.system` of every span and metric of the SDK.
 *
 * @since 0.2.0
 */
export const messagingSystem = "sockudo"

/**
 * The span options of an operation that sends nothing (signing, webhook verification):
 * `messaging.system = "sockudo"` and no stack trace (it would point into the SDK, and capturing it
 * is the dearest part of a span).
 *
 * @since 0.2.0
 */
export const localSpan: Tracer.SpanOptions = {
  captureStackTrace: false,
  attributes: { "messaging.system": messagingSystem }
}

/**
 * The span options of every request operation: {@link localSpan}'s, of kind `client`.
 *
 * @since 0.2.0
 */
export const clientSpan: Tracer.SpanOptions = { ...localSpan, kind: "client" }

/**
 * `Effect.fn(name)` with {@link clientSpan}: how every request operation is declared.
 *
 * ```ts
 * import { Telemetry } from "effect-sockudo"
 *
 * const lookup = Telemetry.traced("MyApp.lookup")(function* (id: string) {
 *   return id.length
 * })
 * ```
 *
 * @since 0.2.0
 */
export const traced = (name: string): Effect.fn.Traced => Effect.fn(name, clientSpan)

/**
 * A publish to at most this many channels names them (`sockudo.channels`); one to more records
 * only their number (`sockudo.channel_count`), so that a span stays small.
 *
 * @since 0.2.0
 */
export const maxNamedChannels = 10

/**
 * Requests the SDK completed, by `messaging.operation.name` and `http.response.status_code`
 * (absent when no answer came: a transport error or a timeout). A request counts once, however
 * many attempts it took.
 *
 * @since 0.2.0
 */
export const requests: Metric.Counter<number> = Metric.counter("sockudo.client.requests", {
  description: "Requests to the Sockudo HTTP API, by operation and final HTTP status",
  incremental: true
})

/**
 * Retries, by `messaging.operation.name` and the `error.type` (the error's tag) that caused them.
 *
 * @since 0.2.0
 */
export const retries: Metric.Counter<number> = Metric.counter("sockudo.client.retries", {
  description: "Retries of requests to the Sockudo HTTP API, by operation and the error retried",
  incremental: true
})

/**
 * Requests that failed after their last attempt, by `messaging.operation.name` and `error.type`.
 *
 * @since 0.2.0
 */
export const failures: Metric.Counter<number> = Metric.counter("sockudo.client.failures", {
  description: "Requests to the Sockudo HTTP API that failed, by operation and error tag",
  incremental: true
})

/**
 * Seconds from a request's start to its end, across every attempt and wait, by
 * `messaging.operation.name`; the buckets are OpenTelemetry's for
 * `messaging.client.operation.duration`.
 *
 * @since 0.2.0
 */
export const requestDuration: Metric.Histogram<number> = Metric.histogram("sockudo.client.request.duration", {
  description: "Seconds per request to the Sockudo HTTP API, retries included, by operation",
  boundaries: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]
})

/**
 * Events waiting in a `Publisher`, not yet in a request, when it sends a batch.
 *
 * @since 0.2.0
 */
export const publisherQueueDepth: Metric.Gauge<number> = Metric.gauge("sockudo.publisher.queue.depth", {
  description: "Events waiting in the publisher when it sends a batch"
})

/**
 * Events per batch request a `Publisher` sends.
 *
 * @since 0.2.0
 */
export const publisherBatchSize: Metric.Histogram<number> = Metric.histogram("sockudo.publisher.batch.size", {
  description: "Events per batch request of the publisher",
  boundaries: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
})

/**
 * What the pipeline knows of a request for its span and metrics.
 *
 * @since 0.2.0
 */
export interface Described {
  /** `messaging.operation.name`. */
  readonly operation: string
  /** The channel or channels it goes to, if any. */
  readonly channels?: string | ReadonlyArray<string> | undefined
  /** The event published, if any. */
  readonly event?: string | undefined
  /** The events of a batch request. */
  readonly messages?: number | undefined
  /** Request headers; `x-idempotency-key` is recorded. */
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/**
 * One run of one request, from its start to its end.
 *
 * @since 0.2.0
 */
export interface Run {
  /** The request. */
  readonly request: Described
  /** The fiber it runs in: its context holds the metric registry. */
  readonly fiber: Fiber.Fiber<unknown, unknown>
  /** The operation's span, when a tracer records one. */
  readonly span: Tracer.Span | undefined
  /** The fiber's clock (a `TestClock` in tests). */
  readonly clock: Clock.Clock
  /** Unix ms by `Clock` at the start. */
  readonly started: number
  /** The last answer's status, 0 before any. */
  status: number
  /** Retries so far. */
  retries: number
}

/**
 * The server's address and port, from the configured base URL, for `server.address` and
 * `server.port`.
 *
 * @since 0.2.0
 */
export interface Server {
  /** Host name or IP address, without IPv6 brackets. */
  readonly address: string
  /** The port, the scheme's default when the URL gives none. */
  readonly port: number
}

/**
 * Reads `server.address` and `server.port` from a base URL.
 *
 * @since 0.2.0
 */
export const serverOf = (baseUrl: string): Server => {
  const url = new URL(baseUrl)
  const address = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname
  return { address, port: url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port) }
}

/**
 * Whether a tracer is installed: without one, effect's native spans go nowhere, and anything
 * written on them would be wasted.
 *
 * @since 0.2.0
 */
export const isTracing = (tracer: Tracer.Tracer): boolean => tracer !== Tracer.nativeTracer

/**
 * `body` traced as the operation `name`: inside a span of its own when a tracer is installed
 * ({@link isTracing}), and without one otherwise. effect's built-in tracer keeps spans that nothing
 * reads, and making one cost about a sixth of a publish's own CPU (more than signing it), so the
 * SDK's operations skip it; their attributes, events and metrics are the same either way.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Telemetry } from "effect-sockudo"
 *
 * const lookup = (id: string) =>
 *   Telemetry.operation("MyApp.lookup", Telemetry.clientSpan, () => Effect.succeed(id.length))
 * ```
 *
 * @since 0.2.0
 */
export const operation = <A, E, R>(
  name: string,
  options: Tracer.SpanOptions,
  body: (fiber: Fiber.Fiber<unknown, unknown>) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> => {
  let traced: Effect.Effect<A, E, R> | undefined
  return Effect.withFiber((fiber) => {
    if (!isTracing(fiber.getRef(Tracer.Tracer))) return body(fiber)
    traced ??= Effect.withSpan(Effect.withFiber(body), name, options)
    return traced
  })
}

/**
 * The fiber's current span when something records it: a tracer is installed ({@link isTracing})
 * and the span is sampled.
 *
 * @since 0.2.0
 */
export const recordingSpan = (fiber: Fiber.Fiber<unknown, unknown>): Tracer.Span | undefined => {
  const span = fiber.cache.span
  return span !== undefined && span._tag === "Span" && span.sampled && isTracing(fiber.getRef(Tracer.Tracer))
    ? span
    : undefined
}

const channelOf = (request: Described): string | undefined => {
  const channels = request.channels
  if (channels === undefined) return undefined
  if (typeof channels === "string") return channels
  return channels.length === 1 ? channels[0] : undefined
}

/**
 * Starts a run: writes the request's attributes on the operation's span (the fiber's current
 * span, if it is one).
 *
 * @since 0.2.0
 */
export const start = (
  fiber: Fiber.Fiber<unknown, unknown>,
  request: Described,
  method: string,
  path: string,
  server: Server
): Run => {
  const span = recordingSpan(fiber)
  if (span !== undefined) {
    span.attribute("messaging.operation.name", request.operation)
    const channels = request.channels
    if (typeof channels === "string") span.attribute("messaging.destination.name", channels)
    else if (channels !== undefined) {
      if (channels.length === 1) span.attribute("messaging.destination.name", channels[0])
      else {
        span.attribute("sockudo.channel_count", channels.length)
        if (channels.length <= maxNamedChannels) span.attribute("sockudo.channels", channels)
      }
    }
    if (request.event !== undefined) {
      span.attribute("messaging.operation.type", "send")
      span.attribute("sockudo.event.name", request.event)
    }
    if (request.messages !== undefined) {
      span.attribute("messaging.operation.type", "send")
      span.attribute("messaging.batch.message_count", request.messages)
    }
    const key = request.headers?.["x-idempotency-key"]
    if (key !== undefined) span.attribute("sockudo.idempotency_key", key)
    span.attribute("http.request.method", method)
    span.attribute("url.path", path)
    span.attribute("server.address", server.address)
    span.attribute("server.port", server.port)
  }
  const clock = fiber.getRef(Clock.Clock)
  return { request, fiber, span, clock, started: clock.currentTimeMillisUnsafe(), status: 0, retries: 0 }
}

/**
 * Records an answer's status (each attempt's; the last one stays on the span).
 *
 * @since 0.2.0
 */
export const answered = (run: Run, status: number): void => {
  run.status = status
  run.span?.attribute("http.response.status_code", status)
}

/** The metric series of one operation, built on its first request: an update is then a lookup or two. */
interface OperationSeries {
  readonly duration: Metric.Histogram<number>
  /** Requests by final status, 0 for no answer. */
  readonly requests: Map<number, Metric.Counter<number>>
  /** Retries and failures by error tag. */
  readonly retries: Map<string, Metric.Counter<number>>
  readonly failures: Map<string, Metric.Counter<number>>
}

const seriesByOperation = new Map<string, OperationSeries>()

const seriesOf = (operation: string): OperationSeries => {
  let found = seriesByOperation.get(operation)
  if (found === undefined) {
    found = {
      duration: Metric.withAttributes(requestDuration, { "messaging.operation.name": operation }),
      requests: new Map(),
      retries: new Map(),
      failures: new Map()
    }
    seriesByOperation.set(operation, found)
  }
  return found
}

const byError = (
  cache: Map<string, Metric.Counter<number>>,
  metric: Metric.Counter<number>,
  operation: string,
  tag: string
): Metric.Counter<number> => {
  let found = cache.get(tag)
  if (found === undefined) {
    found = Metric.withAttributes(metric, { "messaging.operation.name": operation, "error.type": tag })
    cache.set(tag, found)
  }
  return found
}

const finish = (run: Run, context: Context.Context<never>, now: number): OperationSeries => {
  const operation = run.request.operation
  const status = run.status
  const series = seriesOf(operation)
  let counter = series.requests.get(status)
  if (counter === undefined) {
    counter = Metric.withAttributes(
      requests,
      status === 0
        ? { "messaging.operation.name": operation }
        : { "messaging.operation.name": operation, "http.response.status_code": String(status) }
    )
    series.requests.set(status, counter)
  }
  counter.modifyUnsafe(1, context)
  series.duration.updateUnsafe(Math.max(0, now - run.started) / 1000, context)
  return series
}

/**
 * Ends a run that succeeded.
 *
 * @since 0.2.0
 */
export const succeeded = (run: Run): void => {
  finish(run, run.fiber.context, run.clock.currentTimeMillisUnsafe())
}

const annotations = (run: Run): Record<string, unknown> => {
  const channel = channelOf(run.request)
  return channel === undefined ? { operation: run.request.operation } : { operation: run.request.operation, channel }
}

/**
 * Ends a run that failed with `error` after its last attempt: `error.type` on the span, the
 * failure metrics, and a debug log when the server refused the request (a 4xx) and, under an
 * idempotency key, that the key is now poisoned.
 *
 * @since 0.2.0
 */
export const failed = (run: Run, error: SockudoRequestError): Effect.Effect<void> => {
  const context = run.fiber.context
  run.span?.attribute("error.type", error._tag)
  const series = finish(run, context, run.clock.currentTimeMillisUnsafe())
  const operation = run.request.operation
  byError(series.failures, failures, operation, error._tag).modifyUnsafe(1, context)
  const status = "status" in error ? error.status : undefined
  if (status === undefined || status >= 500 || error.isRetryable) return Effect.void
  const key = run.request.headers?.["x-idempotency-key"]
  const code = "code" in error && error.code !== undefined ? ` (${error.code})` : ""
  const refused = Effect.logDebug(`${operation}: the server refused the request, ${status}${code}: ${error.message}`)
  const logs =
    key === undefined || error._tag === "SockudoRateLimitError"
      ? refused
      : Effect.andThen(
          refused,
          Effect.logDebug(
            `${operation}: idempotency key ${key} is poisoned until its TTL ends (a re-send under it is answered 503 backpressure); publish again under a new key`
          )
        )
  return Effect.annotateLogs(logs, annotations(run))
}

/**
 * The retry policy of a run: `policy`, and before each wait a span event `retry` (the attempt
 * about to start, the error retried, the delay, the server's `Retry-After`), the retry metric
 * and a debug log. Built only after a first failure.
 *
 * @since 0.2.0
 */
export const observeRetries = <E extends SockudoRequestError, Out, R>(
  run: Run,
  policy: Schedule.Schedule<Out, E, never, R>
): Schedule.Schedule<Out, E, never, R> =>
  Schedule.modifyDelay(policy, ({ input, duration }) => {
    run.retries++
    const delayMillis = Duration.toMillis(duration)
    const retryAfter = input.retryAfter
    const retryAfterSeconds = retryAfter === undefined ? undefined : Duration.toMillis(retryAfter) / 1000
    const attributes: Record<string, unknown> = {
      "sockudo.attempt": run.retries + 1,
      "error.type": input._tag,
      "sockudo.retry.delay_ms": delayMillis
    }
    if (retryAfterSeconds !== undefined) attributes["sockudo.retry_after_s"] = retryAfterSeconds
    const span = run.span
    if (span !== undefined) {
      span.event("retry", run.clock.currentTimeNanosUnsafe(), attributes)
      span.attribute("http.request.resend_count", run.retries)
    }
    const operation = run.request.operation
    byError(seriesOf(operation).retries, retries, operation, input._tag).modifyUnsafe(1, run.fiber.context)
    const waiting = `${Duration.format(duration)}${retryAfterSeconds === undefined ? "" : ` (the server's Retry-After: ${retryAfterSeconds} s)`}`
    return Effect.as(
      Effect.annotateLogs(
        Effect.logDebug(
          `${operation}: retrying after ${input._tag}: ${input.message}; attempt ${run.retries + 1} in ${waiting}`
        ),
        annotations(run)
      ),
      duration
    )
  })
