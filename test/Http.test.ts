import { inspect } from "node:util"
import { assert, describe, expect, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Fiber, Logger, Schedule } from "effect"
import { TestClock } from "effect/testing"
import { Http, SockudoConfig } from "../src/index.ts"
import * as SockudoTest from "../src/testing/index.ts"
import { layer, requests, sequence, sockudo, withTime } from "./support/harness.ts"
import { recordingTracer } from "./support/tracing.ts"

const noRetry = { retry: SockudoConfig.noRetries }

describe("status to typed error", () => {
  const cases: ReadonlyArray<readonly [string, SockudoTest.Reply, Record<string, unknown>]> = [
    [
      "401 envelope",
      SockudoTest.json(401, { error: "Invalid API signature", code: "auth_failed", status: 401 }),
      { _tag: "SockudoAuthenticationError", status: 401, code: "auth_failed", message: "Invalid API signature" }
    ],
    [
      "403 forbidden",
      SockudoTest.json(403, { error: "push-admin capability is required", code: "forbidden", status: 403 }),
      { _tag: "SockudoAuthenticationError", status: 403, code: "forbidden" }
    ],
    [
      "404 unknown app key",
      SockudoTest.json(404, {
        error: "Application key not found or invalid: Invalid app key",
        code: "app_not_found",
        status: 404
      }),
      { _tag: "SockudoNotFoundError", code: "app_not_found" }
    ],
    [
      "404 plain-text fallback",
      SockudoTest.text(404, "404 NOT FOUND"),
      { _tag: "SockudoNotFoundError", message: "404 NOT FOUND" }
    ],
    [
      "415 framework rejection",
      SockudoTest.text(415, "Expected request with `Content-Type: application/json`"),
      { _tag: "SockudoClientError", status: 415, message: "Expected request with `Content-Type: application/json`" }
    ],
    [
      "422 framework rejection",
      SockudoTest.text(422, "Failed to deserialize the JSON body into the target type: info: invalid type"),
      { _tag: "SockudoClientError", status: 422 }
    ],
    [
      "422 feature disabled envelope",
      SockudoTest.json(422, { error: "History is disabled", code: "feature_disabled", status: 422 }),
      { _tag: "SockudoClientError", status: 422, code: "feature_disabled" }
    ],
    [
      "413 payload too large",
      SockudoTest.json(413, { error: "Payload too large", code: "payload_too_large", status: 413 }),
      { _tag: "SockudoClientError", status: 413, code: "payload_too_large" }
    ],
    [
      "405 with an empty body",
      SockudoTest.text(405, ""),
      { _tag: "SockudoClientError", status: 405, message: "HTTP 405" }
    ],
    [
      "500 internal error",
      SockudoTest.json(500, { error: "Internal server error", code: "internal_error", status: 500 }),
      { _tag: "SockudoServerError", status: 500, code: "internal_error" }
    ],
    [
      "503 with an HTTP-date Retry-After",
      SockudoTest.json(
        503,
        { error: "busy", code: "service_unavailable", status: 503 },
        {
          "retry-after": "Thu, 01 Jan 1970 00:00:30 GMT"
        }
      ),
      { _tag: "SockudoServerError", status: 503, retryAfterMillis: 30_000 }
    ],
    [
      "200 carrying a numeric refusal code, as soketi sends its errors",
      SockudoTest.json(200, { error: "The secret authentication failed", code: 401 }),
      { _tag: "SockudoAuthenticationError", status: 401, message: "The secret authentication failed" }
    ],
    [
      "200 carrying a numeric 4xx refusal code",
      SockudoTest.json(200, { error: "The channel name is too long", code: 400 }),
      { _tag: "SockudoClientError", status: 400 }
    ]
  ]
  for (const [name, reply, expected] of cases) {
    it.effect(name, () =>
      Effect.gen(function* () {
        const s = yield* sockudo
        const error = yield* Effect.flip(s.channels.get("orders"))
        expect(error).toMatchObject({
          ...expected,
          operation: "channels.get",
          request: "GET /apps/app-id/channels/orders"
        })
      }).pipe(Effect.provide(layer(() => reply, noRetry)))
    )
  }

  it.effect("a 2xx body whose error field is not a refusal (string or out-of-range code) is decoded as usual", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      expect(yield* s.channels.get("orders")).toMatchObject({ occupied: true })
      expect(yield* s.channels.get("orders")).toMatchObject({ occupied: true })
    }).pipe(
      Effect.provide(
        layer(
          sequence(
            SockudoTest.json(200, { occupied: true, error: "note", code: "x" }),
            SockudoTest.json(200, { occupied: true, error: "note", code: 200 })
          ),
          noRetry
        )
      )
    )
  )

  it.effect("a 2xx body that is not JSON is a decode error", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const error = yield* Effect.flip(s.channels.get("orders"))
      expect(error).toMatchObject({ _tag: "SockudoDecodeError", status: 200, body: "<html>proxy</html>" })
    }).pipe(Effect.provide(layer(() => SockudoTest.text(200, "<html>proxy</html>"), noRetry)))
  )

  it.effect("isRetryable: transport, 5xx and 429 yes; 4xx and decode no", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const statuses = [400, 401, 404, 429, 500, 503]
      const retryable: Array<boolean> = []
      for (const _ of statuses) retryable.push((yield* Effect.flip(s.channels.get("orders"))).isRetryable)
      assert.deepStrictEqual(retryable, [false, false, false, true, true, true])
    }).pipe(
      Effect.provide(
        layer(
          (() => {
            const statuses = [400, 401, 404, 429, 500, 503]
            let i = 0
            return () => SockudoTest.json(statuses[i++]!, { error: "x" })
          })(),
          noRetry
        )
      )
    )
  )
})

describe("request building", () => {
  it.effect("GET carries no body_md5 and no body; POST carries the body_md5 of the exact body sent", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      yield* s.channels.get("orders")
      yield* s.users.terminateConnections("u1")
      const [get, post] = yield* requests
      assert.isFalse(get!.query.has("body_md5"))
      assert.strictEqual(get!.body, "")
      assert.strictEqual(post!.query.get("body_md5"), "99914b932bd37a50b983c5e7c90ae93b")
      assert.strictEqual(post!.body, "{}")
    }).pipe(
      Effect.provide(
        layer((r) =>
          r.method === "GET" ? SockudoTest.json(200, { occupied: false }) : SockudoTest.json(200, { ok: true })
        )
      )
    )
  )

  it.effect("a configured base URL keeps its path prefix", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      yield* s.channels.get("orders")
      const [request] = yield* requests
      assert.strictEqual(request!.url.href.split("?")[0], "https://proxy.test/sockudo/apps/app-id/channels/orders")
    }).pipe(
      Effect.provide(layer(() => SockudoTest.json(200, { occupied: true }), { baseUrl: "https://proxy.test/sockudo/" }))
    )
  )

  it("retryPolicy is exported for reuse", () => {
    assert.isDefined(Http.retryPolicy(SockudoConfig.defaultRetrySchedule, "retryable"))
  })
})

describe("per-attempt timeout", () => {
  /** An attempt that takes `ms`, recording whether it finished or was interrupted. */
  const slow = (ms: number) => {
    const seen = { finished: false, interrupted: false }
    const effect = Effect.sleep(`${ms} millis`).pipe(
      Effect.andThen(
        Effect.sync(() => {
          seen.finished = true
        })
      ),
      Effect.onInterrupt(() =>
        Effect.sync(() => {
          seen.interrupted = true
        })
      )
    )
    return { seen, effect }
  }

  for (const [clock, run] of [
    ["live clock (plain timer)", it.live],
    ["TestClock (Effect.timeout)", it.effect]
  ] as const) {
    const wait = (ms: number) =>
      clock === "live clock (plain timer)"
        ? Effect.promise(() => new Promise((resolve) => setTimeout(resolve, ms)))
        : TestClock.adjust(`${ms} millis`)

    run(`${clock}: a timed-out attempt is interrupted`, () =>
      Effect.gen(function* () {
        const { seen, effect } = slow(200)
        const fiber = yield* Effect.forkChild(Http.withTimeout(effect, Duration.millis(50)))
        yield* wait(60)
        assert.strictEqual((yield* Fiber.await(fiber))._tag, "Failure")
        yield* wait(200)
        assert.deepStrictEqual(seen, { finished: false, interrupted: true })
      })
    )

    run(`${clock}: with a finishing time, the caller times out and the attempt runs to its end`, () =>
      Effect.gen(function* () {
        const { seen, effect } = slow(200)
        const fiber = yield* Effect.forkChild(Http.withTimeout(effect, Duration.millis(50), Duration.seconds(1)))
        yield* wait(60)
        const exit = yield* Fiber.await(fiber)
        assert.isTrue(Exit.hasInterrupts(exit) === false && exit._tag === "Failure")
        assert.deepStrictEqual(seen, { finished: false, interrupted: false })
        yield* wait(200)
        assert.deepStrictEqual(seen, { finished: true, interrupted: false })
      })
    )

    run(`${clock}: ... but not past the finishing time`, () =>
      Effect.gen(function* () {
        const { seen, effect } = slow(1_000)
        const fiber = yield* Effect.forkChild(Http.withTimeout(effect, Duration.millis(50), Duration.millis(100)))
        yield* wait(60)
        yield* Fiber.await(fiber)
        yield* wait(150)
        assert.deepStrictEqual(seen, { finished: false, interrupted: true })
      })
    )

    run(`${clock}: a caller interrupted before the timeout interrupts the attempt`, () =>
      Effect.gen(function* () {
        const { seen, effect } = slow(200)
        const fiber = yield* Effect.forkChild(Http.withTimeout(effect, Duration.millis(100), Duration.seconds(1)))
        yield* wait(20)
        yield* Fiber.interrupt(fiber)
        yield* wait(250)
        assert.deepStrictEqual(seen, { finished: false, interrupted: true })
      })
    )
  }

  it.live(
    "attempts with one timeout on the live clock share a timer: each times out its own timeout after it started",
    () =>
      Effect.gen(function* () {
        const timers = () => process.getActiveResourcesInfo().filter((resource) => resource === "Timeout").length
        const before = timers()
        const timeout = Duration.millis(300)
        const startedA = performance.now()
        const a = yield* Effect.forkChild(Http.withTimeout(slow(5_000).effect, timeout))
        const quick = yield* Effect.forkChild(Http.withTimeout(slow(10).effect, timeout))
        yield* Effect.sleep("200 millis")
        const startedB = performance.now()
        const b = yield* Effect.forkChild(Http.withTimeout(slow(5_000).effect, timeout))
        assert.strictEqual((yield* Fiber.await(quick))._tag, "Success")
        assert.strictEqual((yield* Fiber.await(a))._tag, "Failure")
        assert.isAtLeast(performance.now() - startedA, 300)
        // B started 200 ms after A: still waiting when A timed out.
        assert.isUndefined(b.pollUnsafe())
        assert.strictEqual((yield* Fiber.await(b))._tag, "Failure")
        assert.isAtLeast(performance.now() - startedB, 300)
        // Nothing is left waiting that would keep an idle process alive, also when the last attempt
        // ends before its timeout.
        assert.strictEqual(timers(), before)
        assert.strictEqual((yield* Http.withTimeout(slow(10).effect, timeout).pipe(Effect.exit))._tag, "Success")
        assert.strictEqual(timers(), before)
      })
  )

  it.effect("a publish with a key that timed out is left to reach the server; the retry gets its answer", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const exit = yield* withTime(s.trigger("orders", "created", 1, { idempotencyKey: "slow-1" }))
      assert.isTrue(Exit.isSuccess(exit))
      assert.deepStrictEqual(handled, ["slow-1 finished", "slow-1 answered from the cache"])
    }).pipe(
      Effect.provide(
        layer(
          (request) =>
            handled.length === 0
              ? Effect.sleep("3 seconds").pipe(
                  Effect.as(SockudoTest.json(200, { ok: true })),
                  Effect.tap(() => Effect.sync(() => handled.push(`${request.headers["x-idempotency-key"]} finished`))),
                  Effect.onInterrupt(() => Effect.sync(() => handled.push("interrupted")))
                )
              : Effect.sync(() => {
                  handled.push(`${request.headers["x-idempotency-key"]} answered from the cache`)
                  return SockudoTest.json(200, { ok: true })
                }),
          { timeout: "1 second", retry: Schedule.spaced("5 seconds").pipe(Schedule.upTo({ times: 1 })) }
        )
      )
    )
  )
  const handled: Array<string> = []

  it.effect("a publish without a key that timed out is aborted (it is never retried)", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const exit = yield* withTime(s.trigger("orders", "created", 1))
      assert.isTrue(Exit.isFailure(exit))
      assert.deepStrictEqual(aborted, ["interrupted"])
    }).pipe(
      Effect.provide(
        layer(
          () =>
            Effect.sleep("3 seconds").pipe(
              Effect.as(SockudoTest.json(200, { ok: true })),
              Effect.onInterrupt(() => Effect.sync(() => aborted.push("interrupted")))
            ),
          { timeout: "1 second", autoIdempotency: false }
        )
      )
    )
  )
  const aborted: Array<string> = []
})

describe("the signed query never shows in an error, a log line or a span", () => {
  /** Everything a failed call leaves where people read: the error, its cause chain, log lines, spans. */
  const traces = Effect.fnUntraced(function* <A, E>(call: Effect.Effect<A, E>) {
    const lines: Array<string> = []
    const { spans, tracer } = recordingTracer()
    const capture = (logger: Logger.Logger<unknown, string>) => Logger.map(logger, (line) => void lines.push(line))
    const exit = yield* Effect.exit(call).pipe(
      Effect.tap((exit) => (Exit.isFailure(exit) ? Effect.logError("publish failed", exit.cause) : Effect.void)),
      Effect.withTracer(tracer),
      Effect.provide(Logger.layer([capture(Logger.formatLogFmt), capture(Logger.formatJson)]))
    )
    assert.isTrue(Exit.isFailure(exit), "the call fails")
    const error = Cause.squash((exit as Exit.Failure<A, E>).cause) as Record<string, unknown>
    const causes: Array<unknown> = []
    for (let c: unknown = error.cause; c !== undefined && causes.length < 10; c = (c as { cause?: unknown }).cause) {
      causes.push(c)
    }
    return [
      String(error),
      JSON.stringify(error),
      inspect(error, { depth: 10 }),
      String(error.message),
      String(error.stack),
      ...causes.flatMap((c) => [String(c), inspect(c, { depth: 10 }), String((c as { stack?: unknown }).stack)]),
      Cause.pretty((exit as Exit.Failure<A, E>).cause),
      ...lines,
      ...spans.flatMap((span) => [
        span.name,
        inspect([...span.attributes], { depth: 10 }),
        inspect(span.events, { depth: 10 }),
        inspect(span.status, { depth: 10 })
      ])
    ]
  })

  const signedParts = ["auth_signature", "auth_timestamp", "body_md5", "auth_key="]

  it.effect("a transport failure keeps the request's method and path, and names what failed", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const seen = yield* traces(s.trigger("orders", "created", { id: 1 }))
      const [sent] = yield* requests
      for (const text of seen) {
        for (const part of [...signedParts, sent!.rawQuery]) assert.notInclude(text, part)
      }
      const error = yield* Effect.flip(s.trigger("orders", "created", { id: 1 }))
      expect(error).toMatchObject({ _tag: "SockudoTransportError", request: "POST /apps/app-id/events" })
      assert.include(error.message, "connection reset by the proxy")
    }).pipe(Effect.provide(layer(() => SockudoTest.transportFailure("connection reset by the proxy"), noRetry)))
  )

  it.effect("nor does it when the underlying error quotes the whole URL", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      for (const text of yield* traces(s.channels.get("orders"))) {
        for (const part of signedParts) assert.notInclude(text, part)
      }
    }).pipe(
      Effect.provide(
        layer(
          (request) =>
            SockudoTest.transportFailure(`request to ${request.url.href} failed: getaddrinfo ENOTFOUND sockudo.test`),
          noRetry
        )
      )
    )
  )

  it.effect("nor after retries, a timeout or a refusal", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const timeout = yield* traces(withTime(s.channels.get("orders")).pipe(Effect.flatten))
      const refused = yield* traces(s.users.terminateConnections("u1"))
      for (const text of [...timeout, ...refused]) for (const part of signedParts) assert.notInclude(text, part)
    }).pipe(
      Effect.provide(
        layer(
          (request) =>
            request.method === "GET"
              ? Effect.as(Effect.sleep("1 minute"), SockudoTest.json(200, {}))
              : SockudoTest.json(401, { error: `Invalid signature for ${request.url.href}`, code: "auth_failed" }),
          { timeout: "1 second", retry: Schedule.spaced("1 second").pipe(Schedule.upTo({ times: 2 })) }
        )
      )
    )
  )
})

describe("waits are bounded: Retry-After beyond maxRetryWait, an overall deadline, 408", () => {
  const unavailable = (retryAfter: string) =>
    SockudoTest.json(503, { error: "busy", code: "backpressure", status: 503 }, { "retry-after": retryAfter })

  it.effect("Retry-After: 3600 does not make a call wait an hour: the error is returned at once", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const fiber = yield* Effect.forkChild(s.channels.get("orders"))
      yield* TestClock.adjust("1 second")
      const exit = fiber.pollUnsafe()
      assert.isDefined(exit, "the call has ended without waiting")
      expect(Cause.squash((exit as Exit.Failure<unknown, unknown>).cause)).toMatchObject({
        _tag: "SockudoServerError",
        retryAfterMillis: 3_600_000
      })
      assert.strictEqual((yield* requests).length, 1)
    }).pipe(Effect.provide(layer(sequence(unavailable("3600"), SockudoTest.json(200, { occupied: true })))))
  )

  it.effect("the default maximum wait is 30 seconds: a Retry-After of 29 is waited out", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const fiber = yield* Effect.forkChild(s.channels.get("orders"))
      yield* TestClock.adjust("28 seconds")
      assert.strictEqual((yield* requests).length, 1)
      yield* TestClock.adjust("2 seconds")
      assert.deepStrictEqual(yield* Fiber.join(fiber), { occupied: true })
      assert.strictEqual((yield* requests).length, 2)
    }).pipe(Effect.provide(layer(sequence(unavailable("29"), SockudoTest.json(200, { occupied: true })))))
  )

  it.effect("maxRetryWait is configurable: with 2 hours, Retry-After: 3600 is honoured", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const fiber = yield* Effect.forkChild(s.channels.get("orders"))
      yield* TestClock.adjust("3599 seconds")
      assert.strictEqual((yield* requests).length, 1)
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* Fiber.join(fiber), { occupied: true })
    }).pipe(
      Effect.provide(
        layer(sequence(unavailable("3600"), SockudoTest.json(200, { occupied: true })), { maxRetryWait: "2 hours" })
      )
    )
  )

  it.effect("a deadline spans every attempt and wait: no attempt starts after it", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const exit = yield* withTime(s.channels.get("orders"), "1 minute")
      expect(Cause.squash((exit as Exit.Failure<unknown, unknown>).cause)).toMatchObject({ _tag: "SockudoServerError" })
      const sent = yield* requests
      assert.deepStrictEqual(
        sent.map((r) => Number(r.query.get("auth_timestamp"))),
        [0, 1, 2]
      )
    }).pipe(
      Effect.provide(
        layer(() => unavailable("1"), {
          deadline: "3 seconds",
          retry: Schedule.spaced("1 second").pipe(Schedule.upTo({ times: 10 }))
        })
      )
    )
  )

  it.effect("an attempt still running at the deadline ends there, as a timeout naming the deadline", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const fiber = yield* Effect.forkChild(s.channels.get("orders"))
      yield* TestClock.adjust("2 seconds")
      const exit = fiber.pollUnsafe()
      assert.isDefined(exit, "ended at the deadline, before the 10 s timeout")
      const error = Cause.squash((exit as Exit.Failure<unknown, unknown>).cause)
      expect(error).toMatchObject({ _tag: "SockudoTransportError", timeout: true })
      assert.include((error as Error).message, "deadline")
    }).pipe(
      Effect.provide(
        layer(() => Effect.as(Effect.sleep("1 minute"), SockudoTest.json(200, { occupied: true })), {
          deadline: "2 seconds"
        })
      )
    )
  )

  it.effect("Http.withDeadline sets one call's deadline", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const fiber = yield* Effect.forkChild(s.channels.get("orders").pipe(Http.withDeadline("500 millis")))
      yield* TestClock.adjust("500 millis")
      assert.isDefined(fiber.pollUnsafe())
    }).pipe(Effect.provide(layer(() => Effect.as(Effect.sleep("1 minute"), SockudoTest.json(200, { occupied: true })))))
  )

  it.effect("408 is retried (the server or a proxy gave up waiting for the request)", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const error = yield* Effect.flip(s.channels.get("orders").pipe(Http.withRetrySchedule(SockudoConfig.noRetries)))
      expect(error).toMatchObject({ _tag: "SockudoClientError", status: 408, isRetryable: true })
      const exit = yield* withTime(s.channels.get("orders"))
      assert.deepStrictEqual(exit, Exit.succeed({ occupied: true }))
    }).pipe(
      Effect.provide(
        layer(
          sequence(
            SockudoTest.text(408, "Request Timeout"),
            SockudoTest.text(408, "Request Timeout"),
            SockudoTest.json(200, { occupied: true })
          )
        )
      )
    )
  )
})
