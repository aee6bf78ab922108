/**
 * The request pipeline shared by every API resource: URL building under `/apps/<appId>`, a fresh
 * signature per attempt (new `auth_timestamp` from `Clock`), the same body bytes on every attempt,
 * a per-attempt timeout, status to typed error mapping (JSON envelope, the rate limiter's 429 body
 * and the framework's plain-text rejections), Schema decoding of success bodies, and retries
 * driven by a `Schedule` that only ever retries retryable errors and honours `Retry-After`.
 *
 * The status to error mapping is in `HttpErrors`, the retry policy in `Retry`; this module builds
 * the pipeline and re-exports their public names.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as HttpBody from "effect/http/HttpBody"
import * as HttpClient from "effect/http/HttpClient"
import type * as HttpClientError from "effect/http/HttpClientError"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import type * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import type { Decoder } from "./Decode.ts"
import { SockudoDecodeError, type SockudoRequestError, SockudoTransportError } from "./Errors.ts"
import { errorFromResponse, redactCause, redactSigned, refusalStatus, snippet } from "./HttpErrors.ts"
import { CurrentScope, preparingWith } from "./Idempotency.ts"
import { utf8Sent } from "./internal/Bytes.ts"
import { DeadlineOverride, type RetryMode, RetryScheduleOverride, retryAfter, retryPolicy } from "./Retry.ts"
import { encode, md5Hex, type QueryParam, Signer } from "./Signer.ts"
import { SockudoConfig } from "./SockudoConfig.ts"
import * as Telemetry from "./Telemetry.ts"

/**
 * Status and envelope to typed error (see `HttpErrors`).
 *
 * @since 0.1.0
 */
export { errorFromResponse } from "./HttpErrors.ts"

/**
 * Which failures are retried, the per-call backoff override and the retry policy (see `Retry`).
 *
 * @since 0.1.0
 */
export {
  DeadlineOverride,
  type RetryBounds,
  type RetryMode,
  RetryScheduleOverride,
  retryPolicy,
  withDeadline,
  withRetrySchedule
} from "./Retry.ts"

/**
 * A request body serialised once per logical call: the exact bytes sent on every attempt and
 * their MD5.
 *
 * @since 0.1.0
 */
export interface PreparedBody {
  /** The body as sent. */
  readonly text: string
  /** The same bytes as an `HttpBody`, built once. */
  readonly body: HttpBody.HttpBody
  /** Hex MD5 of the body, for the `body_md5` query parameter. */
  readonly md5: string
  /** The body's length in bytes. */
  readonly size: number
}

/**
 * Prepares a JSON body (already serialised) for sending.
 *
 * @since 0.1.0
 */
export const prepareBody = (text: string): PreparedBody => {
  const bytes = utf8Sent(text)
  return { text, body: HttpBody.uint8Array(bytes, "application/json"), md5: md5Hex(bytes), size: bytes.length }
}

/**
 * The empty body of a POST without payload (its `body_md5` is still required and signed).
 *
 * @since 0.1.0
 */
export const emptyBody: PreparedBody = prepareBody("")

/**
 * Decoding of answers that keeps unknown fields (see `Decode`).
 *
 * @since 0.1.0
 */
export { type Decoder, schemaDecoder } from "./Decode.ts"

/**
 * One API request.
 *
 * @since 0.1.0
 */
export interface Request<A> {
  /** The public operation, for errors and spans (`"trigger"`, `"channels.get"`). */
  readonly operation: string
  /** The HTTP method. */
  readonly method: "GET" | "POST" | "DELETE"
  /** Path below `/apps/<appId>`, dynamic segments already percent-encoded (see `Signer.encode`). */
  readonly path: string
  /** Query parameters besides the signature's, unencoded; signed with it. */
  readonly query?: ReadonlyArray<QueryParam> | undefined
  /** Required for POST (use {@link emptyBody}); ignored otherwise. */
  readonly body?: PreparedBody | undefined
  /** Extra request headers (such as `X-Idempotency-Key`, which the span records). */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** The channel or channels the request is about, for its span (see `Telemetry`). */
  readonly channels?: string | ReadonlyArray<string> | undefined
  /** The event it publishes, for its span. */
  readonly event?: string | undefined
  /** The events of a batch request, for its span (`messaging.batch.message_count`). */
  readonly messages?: number | undefined
  /** Turns the response body into the result, or a `SockudoDecodeError`. */
  readonly decode: Decoder<A>
  /** Default `"retryable"`. */
  readonly retry?: RetryMode | undefined
  /**
   * Leave an attempt that timed out running in the background (for {@link completionGrace})
   * instead of aborting it: for requests under an idempotency key, which the server claims
   * before it works and, when the connection closes under it, leaves claimed for the key's
   * whole TTL (every retry answered 503 `backpressure`). Left to finish, the server stores the
   * answer, and the retry gets it.
   */
  readonly finishOnTimeout?: boolean | undefined
}

/**
 * The Http service.
 *
 * @since 0.1.0
 */
export interface Service {
  /** `/apps/<appId>`, encoded. */
  readonly appPath: string
  /** Sends a request: signed afresh per attempt, timed out per attempt, retried as `retry` allows, decoded. */
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
  /**
   * {@link Service.prepareOnce} for an operation of several requests: `prepare` returns the
   * Effect that sends them (built from {@link Service.request}), and every re-run runs that same
   * Effect, so each request keeps its body and key.
   */
  readonly planOnce: <A, E, E2>(
    span: string,
    prepare: () => Result.Result<Effect.Effect<A, E2>, E>
  ) => Effect.Effect<A, E | E2>
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

const disableClientSpan = () => true

let lastCaller: Context.Context<never> | undefined
let lastAttempt: Context.Context<never> | undefined

/**
 * The context of an attempt when the HttpClient's own span is off (`httpClientSpans`). Contexts
 * do not change, and the calls of one runtime mostly share one, so the last one is reused.
 */
const withoutClientSpan = (context: Context.Context<never>): Context.Context<never> => {
  if (context !== lastCaller) {
    lastAttempt = Context.add(context, HttpClient.TracerDisabledWhen, disableClientSpan)
    lastCaller = context
  }
  return lastAttempt!
}

const SIGNATURE = "&auth_signature="

const noQuery: ReadonlyArray<QueryParam> = []

/**
 * A signed request whose signature is a `Redacted` URL parameter, for the HttpClient's own span
 * (`httpClientSpans`): the span's `url.full` then shows `auth_signature=REDACTED`, and the
 * request's URL, which the HttpClient's errors (and so a failed span's exit) print, has none.
 */
/** A request of each method the pipeline sends, from its URL and options. */
const requestOf: Record<Request<unknown>["method"], ReturnType<typeof HttpClientRequest.make>> = {
  GET: HttpClientRequest.get,
  POST: HttpClientRequest.post,
  DELETE: HttpClientRequest.delete
}

const withRedactedSignature = (
  method: Request<unknown>["method"],
  url: string,
  signed: string,
  options: HttpClientRequest.Options.NoUrl
): HttpClientRequest.HttpClientRequest => {
  const at = signed.lastIndexOf(SIGNATURE)
  return requestOf[method](`${url}?${signed.slice(0, at)}`, {
    ...options,
    urlParams: [["auth_signature", Redacted.make(signed.slice(at + SIGNATURE.length))]]
  })
}

let liveClock: Clock.Clock | undefined
const MAX_TIMER_MILLIS = 2 ** 31 - 1

/**
 * How long an attempt left to finish after its timeout ({@link Request.finishOnTimeout}) may
 * still run before it is aborted after all.
 *
 * @since 0.1.0
 */
export const completionGrace: Duration.Duration = Duration.seconds(60)

const timedOut = (duration: Duration.Duration) =>
  new Cause.TimeoutError(`Operation timed out after '${Duration.format(duration)}'`)

/**
 * `Effect.timeout`, for less: with the live clock (whose `sleep` is a `setTimeout`), `self` runs
 * in one fiber started inside a single callback, raced against a timer shared by every wait of
 * the same duration, instead of two raced fibers; when `self` finishes without suspending, it
 * waits for nothing. Any other clock (`TestClock`) goes through `Effect.timeout`, so time stays
 * under its control.
 *
 * With `finish`, `self` is not interrupted at the timeout: it is left to complete in the
 * background, and interrupted only `finish` later. Interrupting the caller interrupts `self`
 * either way.
 *
 * @since 0.1.0
 */
export const withTimeout = <A, E>(
  self: Effect.Effect<A, E>,
  duration: Duration.Duration,
  finish?: Duration.Duration
): Effect.Effect<A, E | Cause.TimeoutError> => timeoutIn(self, duration, finish, undefined)

/** How an attempt's context differs from its caller's. */
type ContextChange = (context: Context.Context<never>) => Context.Context<never>

/** {@link withTimeout}, `self` run with the caller's context as `provide` changes it. */
const timeoutIn = <A, E>(
  self: Effect.Effect<A, E>,
  duration: Duration.Duration,
  finish: Duration.Duration | undefined,
  provide: ContextChange | undefined
): Effect.Effect<A, E | Cause.TimeoutError> => {
  const millis = Duration.toMillis(duration)
  const finishMillis = finish === undefined ? 0 : Duration.toMillis(finish)
  const timed = millis > 0 && millis + finishMillis <= MAX_TIMER_MILLIS
  return Effect.callback<A, E | Cause.TimeoutError>((resume) => {
    // The callback is registered by the fiber that runs it.
    const parent = Fiber.getCurrent()!
    liveClock ??= Context.get(Context.empty(), Clock.Clock)
    if (!timed || parent.getRef(Clock.Clock) !== liveClock)
      return resume(
        timeoutByClock(provide === undefined ? self : Effect.updateContext(self, provide), duration, finish)
      )
    // Not a child of `parent`: this callback's canceller interrupts it when `parent` is.
    const fiber = Effect.runForkWith(provide === undefined ? parent.context : provide(parent.context))(self)
    const done = fiber.pollUnsafe()
    if (done !== undefined) return resume(done)
    const race = new AttemptRace(fiber, resume, duration, finish === undefined ? undefined : finishMillis)
    race.start(millis)
    fiber.addObserver((exit) => race.end(exit))
    return Effect.suspend(() => race.cancel())
  })
}

/** {@link withTimeout} with `Effect.timeout`: for another clock than the live one (`TestClock`). */
const timeoutByClock = <A, E>(
  self: Effect.Effect<A, E>,
  duration: Duration.Duration,
  finish: Duration.Duration | undefined
): Effect.Effect<A, E | Cause.TimeoutError> => {
  if (finish === undefined) return Effect.timeout(self, duration)
  return Effect.flatMap(Effect.forkDetach(Effect.timeout(self, Duration.sum(duration, finish))), (fiber) =>
    Effect.timeout(Fiber.join(fiber), duration).pipe(Effect.onInterrupt(() => Fiber.interrupt(fiber)))
  ) as Effect.Effect<A, E | Cause.TimeoutError>
}

/** An attempt's fiber raced against its timer (and, left to finish, the timer that ends it after all). */
class AttemptRace<A, E> {
  readonly fiber: Fiber.Fiber<A, E>
  readonly resume: (effect: Effect.Effect<A, E | Cause.TimeoutError>) => void
  readonly duration: Duration.Duration
  /** How long the attempt may still finish after the timeout; `undefined`: it is interrupted then. */
  readonly finishMillis: number | undefined
  /** The shared timer it waits in, or its own. */
  deadlines: Deadlines | undefined
  timer: ReturnType<typeof setTimeout> | undefined
  finishing: ReturnType<typeof setTimeout> | undefined
  /** In {@link Deadlines}: when it times out (`performance.now()`), and its neighbours. */
  deadline = 0
  previous: AttemptRace<unknown, unknown> | undefined
  next: AttemptRace<unknown, unknown> | undefined

  constructor(
    fiber: Fiber.Fiber<A, E>,
    resume: (effect: Effect.Effect<A, E | Cause.TimeoutError>) => void,
    duration: Duration.Duration,
    finishMillis: number | undefined
  ) {
    this.fiber = fiber
    this.resume = resume
    this.duration = duration
    this.finishMillis = finishMillis
  }

  /** Starts the clock: in the shared timer of its timeout, or, for a rare timeout, a timer of its own. */
  start(millis: number): void {
    const deadlines = Deadlines.of(millis)
    if (deadlines === undefined) this.timer = setTimeout(timeUp, millis, this)
    else deadlines.add(this as AttemptRace<unknown, unknown>)
  }

  /** The attempt ended first (or after its timeout, when left to finish). */
  end(exit: Exit.Exit<A, E>): void {
    this.stopTimers()
    this.resume(exit)
  }

  /** The caller was interrupted. */
  cancel(): Effect.Effect<void> {
    this.stopTimers()
    return Fiber.interrupt(this.fiber)
  }

  stopTimers(): void {
    this.deadlines?.remove(this as AttemptRace<unknown, unknown>)
    if (this.timer !== undefined) clearTimeout(this.timer)
    if (this.finishing !== undefined) clearTimeout(this.finishing)
  }
}

/**
 * The waits of the attempts with one timeout, on one timer: each attempt times out its timeout
 * after it started, so they time out in the order they started. They wait in a list in that
 * order, and the timer is set for the first; when it fires, every attempt due times out and the
 * timer is set for the next. Emptied, the timer is cleared, so that nothing keeps an idle process
 * alive. A timer per attempt, with the object and bookkeeping each costs, is then needed only
 * for timeouts of their own (an attempt cut short by a call's deadline).
 */
class Deadlines {
  /** The shared timers, by timeout in ms; a few timeouts are common, the rest get timers of their own. */
  static readonly byMillis = new Map<number, Deadlines>()

  static of(millis: number): Deadlines | undefined {
    let found = Deadlines.byMillis.get(millis)
    if (found === undefined) {
      if (Deadlines.byMillis.size >= 8) return undefined
      found = new Deadlines(millis)
      Deadlines.byMillis.set(millis, found)
    }
    return found
  }

  readonly millis: number
  first: AttemptRace<unknown, unknown> | undefined
  last: AttemptRace<unknown, unknown> | undefined
  timer: ReturnType<typeof setTimeout> | undefined
  /** While the attempts due time out: the timer is set afterwards, for the first left. */
  firing = false

  constructor(millis: number) {
    this.millis = millis
  }

  add(race: AttemptRace<unknown, unknown>): void {
    race.deadlines = this
    race.deadline = performance.now() + this.millis
    race.previous = this.last
    race.next = undefined
    if (this.last === undefined) this.first = race
    else this.last.next = race
    this.last = race
    if (this.timer === undefined && !this.firing) this.timer = setTimeout(fireDeadlines, this.millis, this)
  }

  remove(race: AttemptRace<unknown, unknown>): void {
    if (race.deadlines !== this) return
    race.deadlines = undefined
    if (race.previous === undefined) this.first = race.next
    else race.previous.next = race.next
    if (race.next === undefined) this.last = race.previous
    else race.next.previous = race.previous
    race.previous = undefined
    race.next = undefined
    if (this.first === undefined && this.timer !== undefined) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
  }
}

/** The timer of {@link Deadlines} fired: the attempts due time out, and it is set for the next. */
const fireDeadlines = (deadlines: Deadlines): void => {
  deadlines.timer = undefined
  deadlines.firing = true
  const now = performance.now()
  try {
    // A caller resumed here may start its retry at once: it joins the end of the list.
    for (let race = deadlines.first; race !== undefined && race.deadline <= now; race = deadlines.first) {
      deadlines.remove(race)
      timeUp(race)
    }
  } finally {
    deadlines.firing = false
  }
  const next = deadlines.first
  if (next !== undefined) {
    deadlines.timer = setTimeout(fireDeadlines, Math.max(1, Math.ceil(next.deadline - now)), deadlines)
  }
}

/** The timer of an {@link AttemptRace} fired. */
const timeUp = <A, E>(race: AttemptRace<A, E>): void => {
  const failure = Effect.fail(timedOut(race.duration))
  if (race.finishMillis === undefined) {
    race.resume(Effect.andThen(Fiber.interrupt(race.fiber), failure))
  } else {
    race.finishing = setTimeout(() => race.fiber.interruptUnsafe(), race.finishMillis)
    race.resume(failure)
  }
}

/**
 * Builds the pipeline. Each public operation opens one span of its own, on which the pipeline
 * records the request (see `Telemetry`); the HttpClient's own span, and with it the
 * `traceparent` header, is turned off unless `httpClientSpans` is set.
 *
 * @since 0.1.0
 */
export const make = Effect.gen(function* () {
  const config = yield* SockudoConfig
  const signer = yield* Signer
  const client = yield* HttpClient.HttpClient
  const appPath = `/apps/${encode(config.appId)}`
  const bounds = { maxWait: config.maxRetryWait }
  const policies = {
    retryable: retryPolicy(config.retry, "retryable", bounds),
    "rejected-only": retryPolicy(config.retry, "rejected-only", bounds),
    "unless-claimed": retryPolicy(config.retry, "unless-claimed", bounds)
  }
  const timeoutMessage = `no response within ${Duration.format(config.timeout)}`
  const server = Telemetry.serverOf(config.baseUrl)

  const withoutSpanIfOff = config.httpClientSpans ? undefined : withoutClientSpan

  /** One request: what every run and attempt of it shares, built once per request. */
  class Call<A> {
    readonly spec: Request<A>
    readonly path: string
    readonly body: PreparedBody | undefined
    readonly options: HttpClientRequest.Options.NoUrl
    readonly finish: Duration.Duration | undefined

    constructor(spec: Request<A>) {
      this.spec = spec
      this.path = appPath + spec.path
      this.body = spec.method === "POST" ? (spec.body ?? emptyBody) : undefined
      this.options = this.body === undefined ? {} : { body: this.body.body }
      this.finish = spec.finishOnTimeout ? completionGrace : undefined
    }

    /** `METHOD /apps/<id>/path`, for errors: made only when one is. */
    get label(): string {
      return `${this.spec.method} ${this.path}`
    }

    /** One attempt: the request signed at `now`, sent, and its answer handled. */
    send(run: Telemetry.Run, now: number) {
      const { spec, path, body } = this
      const signed = signer.signQuery(spec.method, path, spec.query ?? noQuery, body?.md5, Math.floor(now / 1000))
      let httpRequest = config.httpClientSpans
        ? withRedactedSignature(spec.method, `${config.baseUrl}${path}`, signed, this.options)
        : requestOf[spec.method](`${config.baseUrl}${path}?${signed}`, this.options)
      // Header by header: `options.headers` would go through a copy of the headers and an array of entries.
      const headers = spec.headers
      if (headers !== undefined) {
        for (const name in headers) httpRequest = HttpClientRequest.setHeader(httpRequest, name, headers[name]!)
      }
      return Effect.flatMap(client.execute(httpRequest), (response) => this.answer(response, run))
    }

    /** An attempt's answer: its status on the run, then the decoded value or the typed error. */
    answer(
      response: HttpClientResponse.HttpClientResponse,
      run: Telemetry.Run
    ): Effect.Effect<A, SockudoRequestError | HttpClientError.HttpClientError> {
      const spec = this.spec
      return Effect.flatMap(response.text, (text) => {
        const status = response.status
        Telemetry.answered(run, status)
        if (status >= 200 && status < 300) {
          let json: unknown
          if (text.length > 0) {
            try {
              json = JSON.parse(text)
            } catch {
              return Effect.fail(
                new SockudoDecodeError({
                  operation: spec.operation,
                  request: this.label,
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
              Effect.fail(
                errorFromResponse(spec.operation, this.label, refused, text, response.headers["retry-after"], now)
              )
            )
          }
          const decoded = spec.decode(json)
          if (Result.isSuccess(decoded)) {
            Telemetry.succeeded(run)
            return Effect.succeed(decoded.success)
          }
          return Effect.fail(
            new SockudoDecodeError({
              operation: spec.operation,
              request: this.label,
              status,
              message: decoded.failure,
              body: snippet(text)
            })
          )
        }
        return Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.fail(errorFromResponse(spec.operation, this.label, status, text, response.headers["retry-after"], now))
        )
      })
    }

    /** One attempt bounded by `limit`, failing with what the HttpClient or the timeout failed with. */
    attempt(run: Telemetry.Run, limit: Duration.Duration) {
      return timeoutIn(
        Effect.suspend(() => this.send(run, run.clock.currentTimeMillisUnsafe())),
        limit,
        this.finish,
        withoutSpanIfOff
      )
    }

    /** An attempt's failure as the SDK's error: a timeout is reported as `timedOut`. */
    requestError(
      error: SockudoRequestError | HttpClientError.HttpClientError | Cause.TimeoutError,
      timedOut: string
    ): SockudoRequestError {
      switch (error._tag) {
        case "HttpClientError":
          return new SockudoTransportError({
            operation: this.spec.operation,
            request: this.label,
            message: redactSigned(error.message),
            timeout: false,
            cause: redactCause(error.reason.cause)
          })
        case "TimeoutError":
          return new SockudoTransportError({
            operation: this.spec.operation,
            request: this.label,
            message: timedOut,
            timeout: true
          })
        default:
          return error
      }
    }

    /**
     * A run: its first attempt, and after a failure the retries (each one observed) and the run's
     * end if they fail too. The retry schedule is only built after a first failure: a success
     * costs no schedule.
     */
    run(fiber: Fiber.Fiber<unknown, unknown>): Effect.Effect<A, SockudoRequestError> {
      const spec = this.spec
      const run = Telemetry.start(fiber, spec, spec.method, this.path, server)
      const override = fiber.getRef(RetryScheduleOverride)
      const deadline = fiber.getRef(DeadlineOverride) ?? config.deadline
      const mode = spec.retry ?? "retryable"
      if (deadline === undefined) {
        return Effect.catchCause(this.attempt(run, config.timeout), (cause) =>
          this.retrying(
            run,
            cause,
            Effect.mapError(this.attempt(run, config.timeout), (error) => this.requestError(error, timeoutMessage)),
            override === undefined ? policies[mode] : retryPolicy(override, mode, bounds)
          )
        )
      }
      return Effect.flatMap(Clock.currentTimeMillis, (start) => {
        const deadlineAt = start + Duration.toMillis(deadline)
        const byDeadline = `no response within the call's deadline of ${Duration.format(deadline)}`
        // Each attempt ends at its timeout or at the deadline, whichever comes first.
        const attempt = Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const remaining = Duration.millis(Math.max(1, deadlineAt - now))
          const [limit, timedOut] = Duration.isLessThan(remaining, config.timeout)
            ? [remaining, byDeadline]
            : [config.timeout, timeoutMessage]
          return Effect.mapError(this.attempt(run, limit), (error) => this.requestError(error, timedOut))
        })
        return Effect.catchCause(attempt, (cause) =>
          this.retrying(run, cause, attempt, retryPolicy(override ?? config.retry, mode, { ...bounds, deadlineAt }))
        )
      })
    }

    /** After the first attempt failed with `cause`: retries of `attempt` under `policy`, observed. */
    retrying(
      run: Telemetry.Run,
      cause: Cause.Cause<SockudoRequestError | HttpClientError.HttpClientError | Cause.TimeoutError>,
      attempt: Effect.Effect<A, SockudoRequestError>,
      policy: ReturnType<typeof retryPolicy>
    ): Effect.Effect<A, SockudoRequestError> {
      const found = Cause.findError(cause)
      if (Result.isFailure(found)) return Effect.failCause(cause as Cause.Cause<never>)
      const error = this.requestError(found.success, timeoutMessage)
      return Effect.catch(retryAfter(attempt, error, Telemetry.observeRetries(run, policy)), (last) =>
        Effect.andThen(Telemetry.failed(run, last), Effect.fail(last))
      )
    }
  }

  const request = <A>(spec: Request<A>): Effect.Effect<A, SockudoRequestError> => {
    const call = new Call(spec)
    return Effect.withFiber((fiber) => call.run(fiber))
  }

  const signUrl = (method: string, path: string, query: ReadonlyArray<QueryParam>, body: PreparedBody | undefined) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      const full = appPath + path
      const md5 = method.toUpperCase() === "POST" ? (body ?? emptyBody).md5 : undefined
      return `${config.baseUrl}${full}?${signer.signQuery(method.toUpperCase(), full, query, md5, Math.floor(now / 1000))}`
    })

  const planOnce = <A, E, E2>(
    span: string,
    prepare: () => Result.Result<Effect.Effect<A, E2>, E>
  ): Effect.Effect<A, E | E2> => {
    let planned: Effect.Effect<A, E2> | undefined
    // Inside `Sockudo.idempotent`, the scope's key this operation was planned with.
    let plannedFor: string | undefined
    const identity = {}
    return Telemetry.operation(span, Telemetry.clientSpan, (fiber): Effect.Effect<A, E | E2> => {
      const scope = fiber.getRef(CurrentScope)
      const key = scope === undefined ? undefined : scope.keyOf(identity)
      if (planned === undefined || plannedFor !== key) {
        const result = key === undefined ? prepare() : preparingWith(key, prepare)
        if (Result.isFailure(result)) return Effect.fail(result.failure)
        planned = result.success
        plannedFor = key
      }
      return planned
    })
  }

  const prepareOnce = <A, E>(
    span: string,
    prepare: () => Result.Result<Request<A>, E>
  ): Effect.Effect<A, E | SockudoRequestError> => planOnce(span, () => Result.map(prepare(), request))

  return Http.of({ appPath, request, prepareOnce, planOnce, signUrl })
})

/**
 * @since 0.1.0
 */
export const layer: Layer.Layer<Http, never, SockudoConfig | Signer | HttpClient.HttpClient> = Layer.effect(Http, make)
