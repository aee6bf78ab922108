/**
 * The retry policy of the request pipeline: which failures a request may be retried after, the
 * per-call override of the configured backoff, the `Schedule` that honours `Retry-After`, and
 * the retry that starts only after a first failure.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type { SockudoRequestError } from "./Errors.ts"
import type { RetrySchedule } from "./SockudoConfig.ts"

/**
 * Which failures a request may be retried after.
 * - `"retryable"`: every error whose `isRetryable` is true (transport, timeout, 5xx, 429).
 *   For idempotent requests: reads, publishes with a key, mutations with an `op_id`.
 * - `"rejected-only"`: only 429, which the rate limiter answers before the request is handled.
 *   For requests that must not run twice.
 * - `"unless-claimed"`: as `"retryable"`, but not a 503 `backpressure` (the key is claimed by
 *   a request that failed, or still runs): for asking the server what became of a key.
 *
 * @since 0.1.0
 */
export type RetryMode = "retryable" | "rejected-only" | "unless-claimed"

const retries = (mode: RetryMode, error: SockudoRequestError): boolean => {
  switch (mode) {
    case "retryable":
      return error.isRetryable
    case "rejected-only":
      return error._tag === "SockudoRateLimitError"
    case "unless-claimed":
      return error.isRetryable && !(error._tag === "SockudoServerError" && error.code === "backpressure")
  }
}

/**
 * A per-call overall deadline, overriding the configured `deadline`:
 * `effect.pipe(Http.withDeadline("5 seconds"))`.
 *
 * @since 0.1.0
 */
export const DeadlineOverride = Context.Reference<Duration.Duration | undefined>("effect-sockudo/DeadlineOverride", {
  defaultValue: () => undefined
})

/**
 * Runs `effect` (any SDK call) with an overall deadline across all its attempts and waits.
 *
 * @since 0.1.0
 */
export const withDeadline =
  (deadline: Duration.Input) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.provideService(effect, DeadlineOverride, Duration.fromInputUnsafe(deadline))

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
 * A rate limiter's `Retry-After` is the rest of its window in whole seconds, rounded down:
 * Sockudo's answers `1` with 1.98 s left and `0` in the window's last second. A retry after a 429
 * waits this much longer, so that it lands after the window, not inside it.
 */
const rateLimitRounding = Duration.seconds(1)

/**
 * What bounds the waits of a retry policy: the longest single wait, and the time (Unix ms, by
 * `Clock`) no attempt may start at or after.
 *
 * @since 0.1.0
 */
export interface RetryBounds {
  /** The longest single wait before a retry. */
  readonly maxWait?: Duration.Duration | undefined
  /** Unix milliseconds, by `Clock`, at or after which no attempt starts. */
  readonly deadlineAt?: number | undefined
}

/**
 * The complete retry policy built from a backoff: retries only what `mode` allows, waits at
 * least as long as the server's `Retry-After`, and after a 429 one second more (Sockudo rounds
 * its `Retry-After` down); it stops instead of waiting longer than `bounds.maxWait` or past
 * `bounds.deadlineAt`.
 *
 * @since 0.1.0
 */
export const retryPolicy = (backoff: RetrySchedule, mode: RetryMode, bounds: RetryBounds = {}) => {
  const policy = backoff.pipe(
    Schedule.setInputType<SockudoRequestError>(),
    Schedule.while(({ input }) => retries(mode, input)),
    Schedule.modifyDelay(({ duration, input }) => {
      const retryAfter = input.retryAfter
      if (retryAfter === undefined) return Effect.succeed(duration)
      const least = input._tag === "SockudoRateLimitError" ? Duration.sum(retryAfter, rateLimitRounding) : retryAfter
      return Effect.succeed(Duration.max(duration, least))
    })
  )
  const { maxWait, deadlineAt } = bounds
  if (maxWait === undefined && deadlineAt === undefined) return policy
  return policy.pipe(
    Schedule.while(({ duration, now }) => {
      const wait = Duration.toMillis(duration)
      return (
        (maxWait === undefined || wait <= Duration.toMillis(maxWait)) &&
        (deadlineAt === undefined || now + wait < deadlineAt)
      )
    })
  )
}

/**
 * `Effect.retry(attempt, policy)` after `attempt` already failed once with `error`: the schedule
 * sees `error` first, exactly as if `Effect.retry` had run the first attempt itself.
 *
 * @since 0.1.0
 */
export const retryAfter = <A, E, E2>(
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
