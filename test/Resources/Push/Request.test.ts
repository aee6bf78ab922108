import { assert, describe, expect } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { SockudoConfig } from "../../../src/index.ts"
import * as Push from "../../../src/Resources/Push.ts"
import * as SockudoTest from "../../../src/testing/index.ts"
import { everySecond, requests, sequence, withTime } from "../../support/harness.ts"
import * as F from "./fixtures.ts"
import { answer, now, rejects, test, UUID } from "./fixtures.ts"

const unavailable = (retryAfter = "5") =>
  SockudoTest.json(503, F.serverError(503, "service_unavailable", "push queue unavailable"), {
    "retry-after": retryAfter
  })

describe("push retries", () => {
  test(
    "a publish with a publishId is retried after a 503, waiting for Retry-After, with the same bytes",
    (s) =>
      Effect.gen(function* () {
        const fiber = yield* Effect.forkChild(
          s.push.publish({ publishId: "pub-1", recipients: [Push.target.device("d")], payload: { title: "t" } })
        )
        yield* TestClock.adjust("4999 millis")
        assert.strictEqual((yield* requests).length, 1)
        yield* TestClock.adjust("1 millis")
        assert.strictEqual((yield* requests).length, 2)
        assert.deepStrictEqual(yield* Fiber.join(fiber), F.accepted)
        const all = yield* requests
        assert.strictEqual(all[0]!.body, all[1]!.body)
        assert.notStrictEqual(all[0]!.query.get("auth_timestamp"), all[1]!.query.get("auth_timestamp"))
      }),
    sequence(unavailable(), SockudoTest.json(202, F.accepted)),
    { retry: everySecond }
  )

  test(
    "a generated publishId stays the same on every retry and on a caller's Effect.retry; a new call gets a new one",
    (s) =>
      Effect.gen(function* () {
        const publish = s.push.publish({ recipients: [Push.target.device("d")], payload: { title: "t" } })
        const exit = yield* withTime(publish)
        assert.isTrue(Exit.isSuccess(exit))
        yield* publish
        yield* s.push.publish({ recipients: [Push.target.device("d")], payload: { title: "t" } })
        const ids = (yield* requests).map((r) => (r.json as { publishId: string }).publishId)
        assert.strictEqual(ids.length, 5)
        assert.strictEqual(new Set(ids.slice(0, 4)).size, 1)
        assert.notStrictEqual(ids[4], ids[0])
      }),
    sequence(unavailable("1"), unavailable("1"), SockudoTest.json(202, F.accepted)),
    { retry: everySecond }
  )

  test(
    "without a publishId (autoIdempotency off) a 503 is not retried, but a 429 is",
    (s) =>
      Effect.gen(function* () {
        const publish = () => s.push.publish({ recipients: [Push.target.device("d")], payload: { title: "t" } })
        const first = yield* withTime(publish())
        assert.isTrue(Exit.isFailure(first))
        if (Exit.isFailure(first)) {
          expect(first.cause.reasons[0]).toMatchObject({
            error: { _tag: "SockudoServerError", code: "service_unavailable", retryAfterMillis: 5000 }
          })
        }
        assert.strictEqual((yield* requests).length, 1)
        assert.notProperty((yield* requests)[0]!.json, "publishId")
        const second = yield* withTime(publish())
        assert.isTrue(Exit.isSuccess(second))
        assert.strictEqual((yield* requests).length, 3)
      }),
    sequence(
      unavailable(),
      SockudoTest.json(429, F.serverError(429, "rate_limited", "push.acceptance_rate_limit exceeded"), {
        "retry-after": "2"
      }),
      SockudoTest.json(202, F.accepted)
    ),
    { retry: everySecond, autoIdempotency: false }
  )

  test(
    "a batch whose items all carry publishIds is retried with the same body",
    (s) =>
      Effect.gen(function* () {
        const exit = yield* withTime(
          s.push.publishBatch([
            { recipients: [Push.target.client("u1")], payload: { title: "1" } },
            { recipients: [Push.target.client("u2")], payload: { title: "2" } }
          ])
        )
        assert.isTrue(Exit.isSuccess(exit))
        const all = yield* requests
        assert.strictEqual(all.length, 2)
        assert.strictEqual(all[0]!.body, all[1]!.body)
      }),
    sequence(unavailable("1"), SockudoTest.json(202, { items: [F.accepted, F.accepted] })),
    { retry: everySecond }
  )

  test(
    "a batch with an item lacking a publishId is not retried after a 503",
    (s) =>
      Effect.gen(function* () {
        const exit = yield* withTime(
          s.push.publishBatch([
            { publishId: "a", recipients: [Push.target.client("u1")], payload: { title: "1" } },
            { recipients: [Push.target.client("u2")], payload: { title: "2" } }
          ])
        )
        assert.isTrue(Exit.isFailure(exit))
        assert.strictEqual((yield* requests).length, 1)
      }),
    () => unavailable("1"),
    { retry: everySecond, autoIdempotency: false }
  )

  test(
    "a delivery report's generated eventId is kept across retries",
    (s) =>
      Effect.gen(function* () {
        const exit = yield* withTime(
          s.push.deliveryStatus({
            publishId: "pub-1",
            occurredAtMs: now,
            result: { provider: "fcm", batchId: "b", outcome: "accepted", providerMessageId: "m", attempt: 0 }
          })
        )
        assert.isTrue(Exit.isFailure(exit))
        const ids = (yield* requests).map((r) => (r.json as { eventId: string }).eventId)
        assert.strictEqual(ids.length, 4)
        assert.match(ids[0]!, UUID)
        assert.strictEqual(new Set(ids).size, 1)
      }),
    () => unavailable("1"),
    { retry: everySecond, autoIdempotency: false }
  )

  test(
    "activate is not retried after a 503 (a retry would lose a new device's token), unless it rotates",
    (s) =>
      Effect.gen(function* () {
        assert.isTrue(Exit.isFailure(yield* withTime(s.push.devices.activate(F.device))))
        assert.strictEqual((yield* requests).length, 1)
        const rotated = yield* withTime(s.push.devices.activate(F.device, { rotateDeviceIdentityToken: true }))
        assert.isTrue(Exit.isSuccess(rotated))
        assert.strictEqual((yield* requests).length, 3)
      }),
    sequence(unavailable("1"), unavailable("1"), SockudoTest.json(201, F.registration)),
    { retry: everySecond }
  )

  test(
    "a dead-letter replay is not retried after a 503",
    (s) =>
      Effect.gen(function* () {
        assert.isTrue(Exit.isFailure(yield* withTime(s.push.deadLetters.replay("dl-1"))))
        assert.strictEqual((yield* requests).length, 1)
      }),
    () => unavailable("1"),
    { retry: everySecond }
  )

  test(
    "upserts, deletes and reads are retried after a 503",
    (s) =>
      Effect.gen(function* () {
        const calls: ReadonlyArray<Effect.Effect<unknown, unknown>> = [
          s.push.templates.create(F.template),
          s.push.subscriptions.upsert(F.subscription),
          s.push.devices.update(F.device, { deviceIdentityToken: "dit" }),
          s.push.devices.delete("device-1"),
          s.push.cancelScheduled("pub-1"),
          s.push.credentials.put({ provider: "hms", hmsAppId: "h", clientSecret: "c" }),
          s.push.status("pub-1")
        ]
        for (const call of calls) {
          const exit = yield* withTime(call)
          assert.isTrue(Exit.isFailure(exit))
        }
        assert.strictEqual((yield* requests).length, calls.length * 4)
      }),
    () => unavailable("1"),
    { retry: everySecond }
  )

  test(
    "403 forbidden is a SockudoAuthenticationError, never retried",
    (s) =>
      Effect.gen(function* () {
        const exit = yield* withTime(s.push.publish({ recipients: [Push.target.device("d")], payload: {} }))
        assert.isTrue(Exit.isFailure(exit))
        if (Exit.isFailure(exit)) {
          expect(exit.cause.reasons[0]).toMatchObject({
            error: {
              _tag: "SockudoAuthenticationError",
              status: 403,
              code: "forbidden",
              message: "push-admin capability is required"
            }
          })
        }
        assert.strictEqual((yield* requests).length, 1)
      }),
    answer(403, F.serverError(403, "forbidden", "push-admin capability is required")),
    { retry: everySecond }
  )

  test(
    "429 rate_limited carries Retry-After as retryAfter",
    (s) =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(s.push.publish({ recipients: [Push.target.device("d")], payload: {} }))
        expect(error).toMatchObject({ _tag: "SockudoRateLimitError", code: "rate_limited", retryAfterMillis: 5000 })
        assert.isTrue(error.isRetryable)
      }),
    answer(429, F.serverError(429, "rate_limited", "push pipeline is applying backpressure"), { "retry-after": "5" }),
    { retry: SockudoConfig.noRetries }
  )
})

describe("push validation: nothing is sent", () => {
  rejects([
    ["a limit of 0", (s) => s.push.devices.list({ limit: 0 }), "limit", "limit must be an integer from 1 to 1000"],
    ["a limit of 1001", (s) => s.push.templates.list({ limit: 1001 }), "limit"],
    ["a fractional limit", (s) => s.push.credentials.list({ limit: 1.5 }), "limit"],
    ["an empty cursor", (s) => s.push.subscriptions.channels({ cursor: "" }), "cursor"]
  ])
})
