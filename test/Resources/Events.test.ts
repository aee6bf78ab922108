import { createHash } from "node:crypto"
import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { Http, type Sockudo, SockudoConfig } from "../../src/index.ts"
import * as SockudoTest from "../../src/testing/index.ts"
import { everySecond, layer, requests, sequence, sockudo, withTime } from "../support/harness.ts"

const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const error = exit.cause.reasons[0]
  if (error === undefined || error._tag !== "Fail") throw new Error(`expected a typed failure, got ${exit.cause}`)
  return error.error
}

describe("trigger", () => {
  it.effect("POSTs one event to /apps/<appId>/events with the exact body, key header and signed query", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(1_700_000_000_000)
      const s = yield* sockudo
      const result = yield* s.trigger("orders", "order.created", { id: 1 }, { idempotencyKey: "idem-1" })
      const [request] = yield* requests
      assert.strictEqual(request!.method, "POST")
      assert.strictEqual(request!.url.origin, "http://sockudo.test:6001")
      assert.strictEqual(request!.path, "/apps/app-id/events")
      assert.strictEqual(
        request!.body,
        '{"name":"order.created","data":"{\\"id\\":1}","channels":["orders"],"idempotency_key":"idem-1"}'
      )
      assert.strictEqual(request!.headers["x-idempotency-key"], "idem-1")
      assert.strictEqual(request!.headers["content-type"], "application/json")
      assert.deepStrictEqual(
        [...request!.query.keys()],
        ["auth_key", "auth_timestamp", "auth_version", "body_md5", "auth_signature"]
      )
      assert.strictEqual(request!.query.get("auth_timestamp"), "1700000000")
      assert.strictEqual(request!.query.get("body_md5"), createHash("md5").update(request!.body).digest("hex"))
      assert.deepStrictEqual(result, { idempotencyKey: "idem-1", channels: {} })
    }).pipe(Effect.provide(layer()))
  )

  it.effect("sends every option under the server's wire names, extras camelCase", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      yield* s.trigger(["orders", "audit"], "order.created", "plain text", {
        socketId: "123.456",
        info: ["user_count", "subscription_count"],
        idempotencyKey: "k-1",
        messageId: "msg-1",
        tags: { tenant: "acme" },
        delta: false,
        extras: {
          headers: { region: "eu", priority: 2, urgent: true },
          ephemeral: true,
          echo: false,
          idempotencyKey: "m-1"
        }
      })
      const [request] = yield* requests
      assert.strictEqual(
        request!.body,
        JSON.stringify({
          name: "order.created",
          data: "plain text",
          channels: ["orders", "audit"],
          socket_id: "123.456",
          info: "user_count,subscription_count",
          message_id: "msg-1",
          tags: { tenant: "acme" },
          delta: false,
          extras: {
            headers: { region: "eu", priority: 2, urgent: true },
            ephemeral: true,
            echo: false,
            idempotencyKey: "m-1"
          },
          idempotency_key: "k-1"
        })
      )
    }).pipe(Effect.provide(layer()))
  )

  it.effect("sends a string as is and serialises anything else once", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      yield* s.trigger("a", "e", '{"already":"json"}')
      yield* s.trigger("a", "e", [1, "two", { three: null }])
      yield* s.trigger("a", "e", 42)
      yield* s.trigger("a", "e", null)
      const data = (yield* requests).map((r) => (r.json as { data: string }).data)
      assert.deepStrictEqual(data, ['{"already":"json"}', '[1,"two",{"three":null}]', "42", "null"])
    }).pipe(Effect.provide(layer(undefined, { autoIdempotency: false })))
  )

  it.effect("decodes {ok:true} and the per-channel receipts of the channels form", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const receipt = yield* s.trigger("chat", "message", "hi", { info: ["subscription_count"], idempotencyKey: "k" })
      assert.deepStrictEqual(receipt.channels, {
        chat: {
          acknowledgement_id: "00000001710000000000:1:00000000000000000007",
          message_serial: "00000001710000000000:1:00000000000000000007",
          history_serial: 12,
          delivery_serial: 34,
          version_serial: "00000001710000000000:1:00000000000000000007",
          subscription_count: 7,
          unknown_future_field: true
        }
      })
    }).pipe(
      Effect.provide(
        layer(() =>
          SockudoTest.json(200, {
            channels: {
              chat: {
                acknowledgement_id: "00000001710000000000:1:00000000000000000007",
                message_serial: "00000001710000000000:1:00000000000000000007",
                history_serial: 12,
                delivery_serial: 34,
                version_serial: "00000001710000000000:1:00000000000000000007",
                subscription_count: 7,
                unknown_future_field: true
              }
            }
          })
        )
      )
    )
  )

  it.effect("a 2xx body of the wrong shape is still a published event, with no receipts (see Decode.test.ts)", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const receipt = yield* s.trigger("a", "e", 1, { idempotencyKey: "k" })
      assert.deepStrictEqual(receipt, { idempotencyKey: "k", channels: {} })
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, { channels: "nope" }))))
  )
})

describe("idempotency and retries", () => {
  it.effect("503, 503, 200: one key, three signatures, three timestamps", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(1_700_000_000_000)
      const s = yield* sockudo
      const exit = yield* withTime(s.trigger("orders", "created", { id: 1 }))
      assert.isTrue(Exit.isSuccess(exit))
      const sent = yield* requests
      assert.strictEqual(sent.length, 3)
      const keys = new Set(sent.map((r) => (r.json as { idempotency_key: string }).idempotency_key))
      const headerKeys = new Set(sent.map((r) => r.headers["x-idempotency-key"]))
      assert.strictEqual(keys.size, 1)
      assert.deepStrictEqual(headerKeys, keys)
      assert.match([...keys][0]!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      assert.strictEqual(new Set(sent.map((r) => r.body)).size, 1)
      assert.strictEqual(new Set(sent.map((r) => r.query.get("auth_signature"))).size, 3)
      assert.deepStrictEqual(
        sent.map((r) => r.query.get("auth_timestamp")),
        ["1700000000", "1700000001", "1700000002"]
      )
    }).pipe(
      Effect.provide(
        layer(
          sequence(
            SockudoTest.json(503, { error: "down", code: "service_unavailable", status: 503 }),
            SockudoTest.json(503, { error: "down", code: "service_unavailable", status: 503 }),
            SockudoTest.json(200, { ok: true })
          ),
          { retry: everySecond }
        )
      )
    )
  )

  it.effect("a 400 is not retried and keeps the server's code and message", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const error = failure(yield* withTime(s.trigger("orders", "created", 1)))
      assert.strictEqual((yield* requests).length, 1)
      assert.strictEqual(error._tag, "SockudoClientError")
      if (error._tag === "SockudoClientError") {
        assert.strictEqual(error.code, "limit_exceeded")
        assert.strictEqual(error.message, "Number of channels (3) exceeds limit (2)")
        assert.strictEqual(error.status, 400)
        assert.isFalse(error.isRetryable)
      }
    }).pipe(
      Effect.provide(
        layer(() =>
          SockudoTest.json(400, {
            error: "Number of channels (3) exceeds limit (2)",
            code: "limit_exceeded",
            status: 400
          })
        )
      )
    )
  )

  it.effect("Effect.retry around trigger re-sends the same key; two trigger calls use two keys", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const publish = s.trigger("orders", "created", { id: 1 })
      yield* Effect.retry(publish, { times: 2 })
      yield* s.trigger("orders", "created", { id: 1 })
      const keys = (yield* requests).map((r) => r.headers["x-idempotency-key"])
      assert.strictEqual(keys.length, 3)
      assert.strictEqual(keys[0], keys[1])
      assert.notStrictEqual(keys[1], keys[2])
    }).pipe(
      Effect.provide(
        layer(
          sequence(
            SockudoTest.json(500, { error: "Internal server error", code: "internal_error", status: 500 }),
            SockudoTest.json(200, { ok: true })
          ),
          {
            retry: SockudoConfig.noRetries
          }
        )
      )
    )
  )

  it.effect("transport failures and timeouts are retried with the same body", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const exit = yield* withTime(s.trigger("orders", "created", 1, { idempotencyKey: "k-9" }))
      assert.isTrue(Exit.isSuccess(exit))
      const sent = yield* requests
      assert.strictEqual(sent.length, 3)
      assert.strictEqual(new Set(sent.map((r) => r.body)).size, 1)
    }).pipe(
      Effect.provide(
        layer(
          (() => {
            let n = 0
            return () => {
              n++
              if (n === 1) return SockudoTest.transportFailure()
              if (n === 2) return Effect.as(Effect.sleep("30 seconds"), SockudoTest.json(200, { ok: true }))
              return SockudoTest.json(200, { ok: true })
            }
          })(),
          { retry: everySecond, timeout: "2 seconds" }
        )
      )
    )
  )

  it.effect("a timeout surfaces as a SockudoTransportError with timeout: true", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const error = failure(yield* withTime(s.trigger("orders", "created", 1)))
      assert.strictEqual(error._tag, "SockudoTransportError")
      if (error._tag === "SockudoTransportError") {
        assert.isTrue(error.timeout)
        assert.isTrue(error.isRetryable)
        assert.strictEqual(error.request, "POST /apps/app-id/events")
      }
    }).pipe(
      Effect.provide(
        layer(() => Effect.as(Effect.sleep("1 minute"), SockudoTest.json(200, { ok: true })), {
          retry: SockudoConfig.noRetries,
          timeout: "1 second"
        })
      )
    )
  )

  it.effect("after a 429, waits Retry-After and the second the rate limiter rounded it down by", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const fiber = yield* Effect.forkChild(s.trigger("orders", "created", 1))
      yield* TestClock.adjust("5 seconds")
      assert.strictEqual((yield* requests).length, 1)
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* requests).length, 2)
      yield* TestClock.adjust("1 minute")
      yield* Fiber.await(fiber)
    }).pipe(
      Effect.provide(
        layer(
          sequence(
            SockudoTest.json(
              429,
              { error: "Too Many Requests", message: "Rate limit exceeded. Please try again later." },
              {
                "retry-after": "5"
              }
            ),
            SockudoTest.json(200, { ok: true })
          )
        )
      )
    )
  )

  it.effect("the rate limiter's 429 body becomes a SockudoRateLimitError with retryAfter", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const error = failure(yield* withTime(s.trigger("orders", "created", 1)))
      assert.strictEqual(error._tag, "SockudoRateLimitError")
      if (error._tag === "SockudoRateLimitError") {
        assert.strictEqual(error.message, "Rate limit exceeded. Please try again later.")
        assert.strictEqual(error.retryAfterMillis, 60_000)
      }
    }).pipe(
      Effect.provide(
        layer(
          () =>
            SockudoTest.json(
              429,
              { error: "Too Many Requests", message: "Rate limit exceeded. Please try again later." },
              {
                "retry-after": "60"
              }
            ),
          { retry: SockudoConfig.noRetries }
        )
      )
    )
  )

  it.effect("503 backpressure honours Retry-After: 1", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(1_700_000_000_000)
      const s = yield* sockudo
      const fiber = yield* Effect.forkChild(s.trigger("orders", "created", 1))
      yield* TestClock.adjust("999 millis")
      assert.strictEqual((yield* requests).length, 1)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual((yield* requests).length, 2)
      yield* Fiber.await(fiber)
    }).pipe(
      Effect.provide(
        layer(
          sequence(
            SockudoTest.json(
              503,
              { error: "Idempotent publish is still in progress", code: "backpressure", status: 503 },
              { "retry-after": "1" }
            ),
            SockudoTest.json(200, { ok: true })
          ),
          { retry: SockudoConfig.defaultRetrySchedule }
        )
      )
    )
  )

  it.effect("without a key (autoIdempotency off) a 5xx is not retried, but a 429 is", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const error = failure(yield* withTime(s.trigger("orders", "created", 1)))
      assert.strictEqual(error._tag, "SockudoServerError")
      assert.strictEqual((yield* requests).length, 1)
      assert.isUndefined((yield* requests)[0]!.headers["x-idempotency-key"])
      assert.notProperty((yield* requests)[0]!.json, "idempotency_key")
    }).pipe(
      Effect.provide(
        layer(() => SockudoTest.json(500, { error: "Internal server error", code: "internal_error", status: 500 }), {
          autoIdempotency: false,
          retry: everySecond
        })
      )
    )
  )

  it.effect("without a key a 429 is retried (the limiter rejects before handling)", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const exit = yield* withTime(s.trigger("orders", "created", 1))
      assert.isTrue(Exit.isSuccess(exit))
      assert.strictEqual((yield* requests).length, 2)
    }).pipe(
      Effect.provide(
        layer(sequence(SockudoTest.json(429, { error: "Too Many Requests" }), SockudoTest.json(200, { ok: true })), {
          autoIdempotency: false,
          retry: everySecond
        })
      )
    )
  )

  it.effect("a per-call retry schedule overrides the configured one", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const exit = yield* withTime(
        s.trigger("orders", "created", 1).pipe(Http.withRetrySchedule(SockudoConfig.noRetries))
      )
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual((yield* requests).length, 1)
    }).pipe(Effect.provide(layer(() => SockudoTest.json(503, { error: "x" }), { retry: everySecond })))
  )
})

describe("validation: nothing is sent", () => {
  const cases: ReadonlyArray<readonly [string, (s: Sockudo.Service) => Effect.Effect<unknown, unknown>, string]> = [
    ["an empty channel list", (s) => s.trigger([], "e", 1), "channels"],
    ["a channel with a space", (s) => s.trigger("bad channel", "e", 1), "channel"],
    ["a channel with '*'", (s) => s.trigger(["ok", "wild*"], "e", 1), "channels[1]"],
    ["a 201-byte channel name", (s) => s.trigger("a".repeat(201), "e", 1), "channel"],
    ["two '#' in a channel", (s) => s.trigger("room#u1#u2", "e", 1), "channel"],
    [
      "101 channels",
      (s) =>
        s.trigger(
          Array.from({ length: 101 }, (_, i) => `c${i}`),
          "e",
          1
        ),
      "channels"
    ],
    ["an empty event name", (s) => s.trigger("a", "", 1), "name"],
    ["a 201-byte event name", (s) => s.trigger("a", "e".repeat(201), 1), "name"],
    ["a 67-character event name of 201 bytes", (s) => s.trigger("a", "€".repeat(67), 1), "name"],
    ["BigInt data", (s) => s.trigger("a", "e", { n: 1n }), "data"],
    ["undefined data", (s) => s.trigger("a", "e", undefined), "data"],
    ["a function as data", (s) => s.trigger("a", "e", () => 1), "data"],
    [
      "cyclic data",
      (s) => {
        const cyclic: Record<string, unknown> = {}
        cyclic.self = cyclic
        return s.trigger("a", "e", cyclic)
      },
      "data"
    ],
    ["an unknown info attribute", (s) => s.trigger("a", "e", 1, { info: ["cache" as never] }), "info"],
    [
      "a reserved extras header",
      (s) => s.trigger("a", "e", 1, { extras: { headers: { sockudo_action: "x" } } }),
      "extras.headers.sockudo_action"
    ],
    [
      "a nested extras header",
      (s) => s.trigger("a", "e", 1, { extras: { headers: { deep: {} as never } } }),
      "extras.headers.deep"
    ],
    ["an idempotency key with a space", (s) => s.trigger("a", "e", 1, { idempotencyKey: "a b" }), "idempotencyKey"],
    [
      "a 129-character idempotency key",
      (s) => s.trigger("a", "e", 1, { idempotencyKey: "k".repeat(129) }),
      "idempotencyKey"
    ],
    ["a user id with ':'", (s) => s.sendToUser("a:b", "e", 1), "userId"],
    ["an empty batch", (s) => s.triggerBatch([]), "events"],
    [
      "a batch item with a bad channel",
      (s) =>
        s.triggerBatch([
          { channel: "ok", name: "e", data: 1 },
          { channel: "no pe", name: "e", data: 1 }
        ]),
      "events[1].channel"
    ],
    [
      "a batch item with a bad socket id",
      (s) => s.triggerBatch([{ channel: "ok", name: "e", data: 1, socketId: "1" }]),
      "events[0].socketId"
    ]
  ]
  for (const [what, call, field] of cases) {
    it.effect(`rejects ${what} (field ${field})`, () =>
      Effect.gen(function* () {
        const s = yield* sockudo
        const error = yield* Effect.flip(call(s))
        expect(error).toMatchObject({ _tag: "SockudoValidationError", field })
        assert.strictEqual((yield* requests).length, 0)
      }).pipe(Effect.provide(layer()))
    )
  }

  for (const socketId of ["111", "", "1.1:", ":1.1", ":\n1.1", "1.1\n:", "1.a", " 1.1"]) {
    it.effect(`rejects the socket id ${JSON.stringify(socketId)}`, () =>
      Effect.gen(function* () {
        const s = yield* sockudo
        const error = yield* Effect.flip(s.trigger("a", "e", 1, { socketId }))
        expect(error).toMatchObject({ _tag: "SockudoValidationError", field: "socketId" })
        assert.strictEqual((yield* requests).length, 0)
      }).pipe(Effect.provide(layer()))
    )
  }

  it.effect("configured payload and batch limits are enforced; the server's defaults are not invented", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      expect(yield* Effect.flip(s.trigger("a", "e", "x".repeat(1025)))).toMatchObject({ field: "data" })
      expect(
        yield* Effect.flip(s.triggerBatch([1, 2, 3].map((i) => ({ channel: "a", name: "e", data: i }))))
      ).toMatchObject({
        field: "events"
      })
      expect(yield* Effect.flip(s.trigger(["a", "b", "c"], "e", 1))).toMatchObject({ field: "channels" })
      yield* s.trigger("a", "e", "x".repeat(1024))
      assert.strictEqual((yield* requests).length, 1)
    }).pipe(
      Effect.provide(layer(undefined, { limits: { maxPayloadBytes: 1024, maxBatchSize: 2, maxChannelsPerTrigger: 2 } }))
    )
  )

  it.effect("large payloads and 100 channels pass with the default limits", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      yield* s.trigger(
        Array.from({ length: 100 }, (_, i) => `c-${i}`),
        "e",
        "x".repeat(1_000_000)
      )
      yield* s.triggerBatch(Array.from({ length: 50 }, (_, i) => ({ channel: "a", name: "e", data: i })))
      assert.strictEqual((yield* requests).length, 2)
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, {}))))
  )

  it.effect("every allowed channel character passes, including user-limited and user channels", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      yield* s.trigger(["test_-=@,.;channel", "ns:room", "presence-room#u1,u-2", "#server-to-user-u1"], "e", 1)
      assert.strictEqual((yield* requests).length, 1)
    }).pipe(Effect.provide(layer()))
  )
})

describe("triggerBatch and sendToUser", () => {
  it.effect("batches items in order with their options; the key travels in the header only", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.triggerBatch(
        [
          { channel: "orders", name: "created", data: { id: 1 } },
          {
            channel: "orders",
            name: "paid",
            data: "raw",
            socketId: "1.2",
            info: ["subscription_count"],
            idempotencyKey: "item-2"
          }
        ],
        { idempotencyKey: "batch-1" }
      )
      const [request] = yield* requests
      assert.strictEqual(request!.path, "/apps/app-id/batch_events")
      assert.strictEqual(
        request!.body,
        '{"batch":[{"channel":"orders","name":"created","data":"{\\"id\\":1}"},{"channel":"orders","name":"paid","data":"raw","socket_id":"1.2","info":"subscription_count","idempotency_key":"item-2"}]}'
      )
      assert.strictEqual(request!.headers["x-idempotency-key"], "batch-1")
      assert.deepStrictEqual(result, { idempotencyKey: "batch-1", batch: [{}, { subscription_count: 3 }] })
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, { batch: [{}, { subscription_count: 3 }] }))))
  )

  it.effect("decodes the empty batch response as an empty list", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.triggerBatch([{ channel: "a", name: "e", data: 1 }])
      assert.deepStrictEqual(result.batch, [])
      assert.isString(result.idempotencyKey)
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, {}))))
  )

  it.effect("sendToUser publishes on #server-to-user-<id> with retries and a key", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const exit = yield* withTime(s.sendToUser("user-123", "notice", { body: "hi" }))
      assert.isTrue(Exit.isSuccess(exit))
      const sent = yield* requests
      assert.strictEqual(sent.length, 2)
      expect(sent[0]!.json).toMatchObject({
        name: "notice",
        channels: ["#server-to-user-user-123"],
        data: '{"body":"hi"}'
      })
      assert.strictEqual(sent[0]!.headers["x-idempotency-key"], sent[1]!.headers["x-idempotency-key"])
    }).pipe(
      Effect.provide(
        layer(sequence(SockudoTest.json(502, "bad gateway"), SockudoTest.json(200, { ok: true })), {
          retry: everySecond
        })
      )
    )
  )
})

it.effect("the secret never appears in requests' errors or the config's printed form", () =>
  Effect.gen(function* () {
    const config = yield* SockudoConfig.SockudoConfig
    assert.notInclude(JSON.stringify(config), "app-secret")
    assert.notInclude(String(config.secret), "app-secret")
    const s = yield* sockudo
    const error = yield* Effect.flip(s.trigger("a", "e", 1))
    assert.notInclude(JSON.stringify(error), "app-secret")
    assert.notInclude(String(error), "auth_signature")
  }).pipe(
    Effect.provide(
      layer(() => SockudoTest.json(401, { error: "Invalid API signature", code: "auth_failed", status: 401 }), {
        secret: Redacted.make("app-secret")
      })
    )
  )
)
