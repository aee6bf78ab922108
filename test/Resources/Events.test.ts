import { createHash } from "node:crypto"
import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Redacted, Schedule } from "effect"
import { TestClock } from "effect/testing"
import nacl from "tweetnacl"
import { Events, Http, type Sockudo, SockudoConfig } from "../../src/index.ts"
import * as Emulator from "../../src/testing/emulator/Emulator.ts"
import * as Faults from "../../src/testing/emulator/Faults.ts"
import * as SockudoTest from "../../src/testing/index.ts"
import { everySecond, layer, requests, sequence, sockudo, withTime } from "../support/harness.ts"

const masterKey = Redacted.make(Buffer.alloc(32, 7).toString("base64"))

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

  it.effect("a configured payload limit is enforced; the server's defaults are not invented", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      expect(yield* Effect.flip(s.trigger("a", "e", "x".repeat(1025)))).toMatchObject({ field: "data" })
      expect(yield* Effect.flip(s.triggerBatch([{ channel: "a", name: "e", data: "x".repeat(1025) }]))).toMatchObject({
        field: "events[0].data"
      })
      yield* s.trigger("a", "e", "x".repeat(1024))
      assert.strictEqual((yield* requests).length, 1)
    }).pipe(Effect.provide(layer(undefined, { limits: { maxPayloadBytes: 1024 } })))
  )

  it.effect("one event above the request limit is refused, in trigger and in a batch", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      // {"name":"e","data":"xx…","channels":["a"]} is 36 bytes around the data.
      expect(yield* Effect.flip(s.trigger("a", "e", "x".repeat(1000)))).toMatchObject({
        _tag: "SockudoValidationError",
        field: "data"
      })
      expect(
        yield* Effect.flip(
          s.triggerBatch([
            { channel: "a", name: "e", data: 1 },
            { channel: "a", name: "e", data: "x".repeat(1000) }
          ])
        )
      ).toMatchObject({ _tag: "SockudoValidationError", field: "events[1]" })
      assert.strictEqual((yield* requests).length, 0)
    }).pipe(Effect.provide(layer(undefined, { autoIdempotency: false, limits: { maxRequestBytes: 1000 } })))
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
  it.effect("batches items in order with their options; each item has a key, the batch's in the header", () =>
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
      // The first item gets a key derived from the batch's, the second keeps its own.
      assert.strictEqual(
        request!.body,
        '{"batch":[{"channel":"orders","name":"created","data":"{\\"id\\":1}","idempotency_key":"batch-1:0"},{"channel":"orders","name":"paid","data":"raw","socket_id":"1.2","info":"subscription_count","idempotency_key":"item-2"}]}'
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

describe("publishes split by the configured limits", () => {
  const channels = Array.from({ length: 250 }, (_, i) => `c-${i}`)
  const receiptsFor = (request: SockudoTest.RecordedRequest) => {
    const body = request.json as { channels: ReadonlyArray<string> }
    return SockudoTest.json(200, {
      channels: Object.fromEntries(body.channels.map((c) => [c, { subscription_count: 1 }]))
    })
  }

  it.effect("a trigger to 250 channels is three requests of at most 100, in order, each under its own key", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.trigger(channels, "e", 1, { idempotencyKey: "fan", info: ["subscription_count"] })
      const sent = yield* requests
      assert.deepStrictEqual(
        sent.map((r) => (r.json as { channels: ReadonlyArray<string> }).channels),
        [channels.slice(0, 100), channels.slice(100, 200), channels.slice(200)]
      )
      assert.deepStrictEqual(
        sent.map((r) => [r.headers["x-idempotency-key"], (r.json as { idempotency_key: string }).idempotency_key]),
        [
          ["fan:0", "fan:0"],
          ["fan:1", "fan:1"],
          ["fan:2", "fan:2"]
        ]
      )
      assert.strictEqual(result.idempotencyKey, "fan")
      assert.deepStrictEqual(Object.keys(result.channels), channels)
    }).pipe(Effect.provide(layer(receiptsFor)))
  )

  it.effect("re-running a split trigger that failed part way re-sends every part under the same key", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const publish = s.trigger(channels, "e", 1)
      const first = yield* Effect.exit(publish)
      assert.isTrue(Exit.isFailure(first))
      yield* publish
      const keys = (yield* requests).map((r) => r.headers["x-idempotency-key"])
      // Run 1: parts 0 and 1, then part 2 is refused. Run 2: the same three keys.
      assert.strictEqual(keys.length, 6)
      assert.deepStrictEqual(keys.slice(3), keys.slice(0, 3))
      assert.strictEqual(new Set(keys).size, 3)
      assert.match(keys[0]!, /^[0-9a-f-]{36}:0$/)
    }).pipe(
      Effect.provide(
        layer(
          sequence(
            SockudoTest.json(200, { ok: true }),
            SockudoTest.json(200, { ok: true }),
            SockudoTest.json(400, { error: "nope", code: "invalid_input", status: 400 }),
            SockudoTest.json(200, { ok: true })
          )
        )
      )
    )
  )

  it.effect("a batch above maxRequestBytes is split by size, in order; every item keeps its own key", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const events = Array.from({ length: 10 }, (_, i) => ({ channel: "a", name: "e", data: "x".repeat(60 + i) }))
      yield* s.triggerBatch(events, { idempotencyKey: "b" })
      const sent = yield* requests
      expect(sent.length).toBeGreaterThan(2)
      for (const request of sent) expect(new TextEncoder().encode(request.body).length).toBeLessThanOrEqual(350)
      const items = sent.flatMap((r) => (r.json as { batch: Array<{ data: string; idempotency_key: string }> }).batch)
      assert.deepStrictEqual(
        items.map((item) => item.data.length),
        events.map((e) => e.data.length)
      )
      assert.deepStrictEqual(
        items.map((item) => item.idempotency_key),
        events.map((_, i) => `b:${i}`)
      )
      assert.deepStrictEqual(
        sent.map((r) => r.headers["x-idempotency-key"]),
        sent.map((_, j) => `b:${j}`)
      )
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, {}), { limits: { maxRequestBytes: 350 } })))
  )

  it.effect("a key too long for a suffix is replaced by its MD5 in the derived keys", () =>
    Effect.gen(function* () {
      const key = "k".repeat(128)
      assert.strictEqual(Events.deriveKey(key, 7), `${createHash("md5").update(key).digest("hex")}:7`)
      assert.strictEqual(Events.deriveKey("short", 7), "short:7")
      const s = yield* sockudo
      yield* s.triggerBatch([{ channel: "a", name: "e", data: 1 }], { idempotencyKey: key })
      const [request] = yield* requests
      assert.strictEqual(request!.headers["x-idempotency-key"], key)
      expect(request!.json).toMatchObject({ batch: [{ idempotency_key: Events.deriveKey(key, 0) }] })
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, {}))))
  )

  it.effect("a key that an earlier batch item used is answered 1: published before, no receipt", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.trigger("a", "e", 1, { idempotencyKey: "item-key" })
      assert.deepStrictEqual(result, { idempotencyKey: "item-key", channels: {} })
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, 1))))
  )
})

describe("batches and fan-out through the emulator", () => {
  it.live(
    "250 events with a server batch limit of 10: 25 requests, every event delivered once, a retried chunk not twice",
    () =>
      Effect.gen(function* () {
        const emulator = yield* Emulator.Emulator
        const s = yield* sockudo
        const client = yield* emulator.connect()
        yield* client.subscribe("orders")
        yield* emulator.faults.inject({ route: "POST /batch_events", times: 3, fault: Faults.dropAfter })
        const publish = s.triggerBatch(
          Array.from({ length: 250 }, (_, n) => ({ channel: "orders", name: "e", data: { n } }))
        )
        yield* publish
        const log = (yield* emulator.requests).filter((r) => r.route === "/batch_events")
        // 25 chunks, three of them answered only on their retry.
        assert.strictEqual(log.length, 28)
        assert.strictEqual(log.filter((r) => r.dropped === "after").length, 3)
        // Re-running the publish re-sends every chunk under its key: nothing is published again.
        yield* publish
        const delivered = (yield* client.events("orders")).map((e) => JSON.parse(e.data as string).n)
        assert.deepStrictEqual(
          delivered,
          Array.from({ length: 250 }, (_, n) => n)
        )
      }).pipe(
        Effect.provide(
          Emulator.layerTest({
            limits: { maxEventBatchSize: 10 },
            sockudo: {
              limits: { maxBatchSize: 10 },
              retry: Schedule.spaced("5 millis").pipe(Schedule.upTo({ times: 5 }))
            }
          })
        )
      )
  )

  it.live("a trigger to several private-encrypted- channels seals once per channel, in one batch", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const s = yield* sockudo
      const targets = ["private-encrypted-a", "private-encrypted-b", "orders"]
      const clients = yield* Effect.forEach(targets, () => emulator.connect())
      const secrets: Array<string | undefined> = []
      for (let i = 0; i < targets.length; i++) {
        const channel = targets[i]!
        const auth = channel === "orders" ? undefined : yield* s.authorizeChannel(clients[i]!.socketId, channel)
        secrets.push(auth?.shared_secret)
        yield* clients[i]!.subscribe(channel, auth === undefined ? undefined : { auth: auth.auth })
      }
      const data = { id: "ord_1", note: "grüße" }
      const result = yield* s.trigger(targets, "created", data, { info: ["subscription_count"] })
      assert.deepStrictEqual(Object.keys(result.channels).sort(), [...targets].sort())
      const log = (yield* emulator.requests).filter((r) => r.route?.includes("events"))
      assert.deepStrictEqual(
        log.map((r) => r.route),
        ["/batch_events"]
      )
      const payloads = yield* Effect.forEach(targets, (channel, i) =>
        Effect.map(clients[i]!.events(channel), (events) => events.map((e) => e.data as string))
      )
      const open = (sealed: string, secret: string) => {
        const envelope = JSON.parse(sealed) as { nonce: string; ciphertext: string }
        const plain = nacl.secretbox.open(
          Buffer.from(envelope.ciphertext, "base64"),
          Buffer.from(envelope.nonce, "base64"),
          Buffer.from(secret, "base64")
        )
        return plain === null ? null : JSON.parse(Buffer.from(plain).toString("utf8"))
      }
      assert.deepStrictEqual(open(payloads[0]![0]!, secrets[0]!), data)
      assert.deepStrictEqual(open(payloads[1]![0]!, secrets[1]!), data)
      // Each channel's payload opens with its own key only.
      assert.isNull(open(payloads[0]![0]!, secrets[1]!))
      assert.deepStrictEqual(JSON.parse(payloads[2]![0]!), data)
    }).pipe(Effect.provide(Emulator.layerTest({ sockudo: { encryptionMasterKeyBase64: masterKey } })))
  )
})
