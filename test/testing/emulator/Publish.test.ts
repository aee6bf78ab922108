import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import * as Emulator from "../../../src/testing/emulator/Emulator.ts"
import { post, raw, signed } from "./support.ts"

const provide = (options?: Emulator.Options) => Effect.provide(Emulator.layer(options))
const emulator = Emulator.Emulator

describe("POST /events", () => {
  it.effect("answers {ok:true} and delivers to subscribers except socket_id", () =>
    Effect.gen(function* () {
      const e = yield* emulator
      const a = yield* e.connect()
      const b = yield* e.connect()
      yield* a.subscribe("orders")
      yield* b.subscribe("orders")
      const answer = yield* post("/apps/app-id/events", {
        name: "created",
        channel: "orders",
        data: { id: 1 },
        socket_id: b.socketId
      })
      expect(answer).toMatchObject({ status: 200, json: { ok: true }, headers: { connection: "close" } })
      expect(yield* a.events()).toEqual([{ event: "created", channel: "orders", data: '{"id":1}' }])
      expect(yield* b.events()).toEqual([])
    }).pipe(provide())
  )

  it.effect("delivers string data verbatim and absent data as the string null", () =>
    Effect.gen(function* () {
      const c = yield* (yield* emulator).connect()
      yield* c.subscribe("a")
      yield* post("/apps/app-id/events", { name: "x", channel: "a", data: "raw {" })
      yield* post("/apps/app-id/events", { name: "y", channel: "a" })
      expect((yield* c.events()).map((m) => m.data)).toEqual(["raw {", "null"])
    }).pipe(provide())
  )

  it.effect("switches to the channels form for info (even empty) and message_id", () =>
    Effect.gen(function* () {
      const e = yield* emulator
      const p = yield* e.connect()
      yield* p.subscribe("presence-room", { member: { user_id: "u1" } })
      const counted = yield* post("/apps/app-id/events", {
        name: "x",
        channels: ["presence-room", "plain"],
        data: "d",
        info: "user_count, subscription_count"
      })
      expect(counted.json).toMatchObject({
        channels: {
          "presence-room": { user_count: 1, subscription_count: 1 },
          plain: { subscription_count: 0 }
        }
      })
      assert.notProperty((counted.json as any).channels.plain, "user_count")
      const empty = yield* post("/apps/app-id/events", { name: "x", channel: "plain", data: "d", info: "" })
      expect(Object.keys((empty.json as any).channels.plain)).toEqual(["acknowledgement_id"])
      const withId = yield* post("/apps/app-id/events", { name: "x", channel: "plain", data: "d", message_id: "m-1" })
      expect(withId.json).toEqual({ channels: { plain: { acknowledgement_id: "m-1" } } })
      const ai = yield* post("/apps/app-id/events", { name: "ai-output", channel: "plain", data: "d" })
      assert.property(ai.json, "channels")
    }).pipe(provide())
  )

  it.effect("publishes the valid channels of a multi-channel event even when one is invalid", () =>
    Effect.gen(function* () {
      const c = yield* (yield* emulator).connect()
      yield* c.subscribe("good")
      const answer = yield* post("/apps/app-id/events", { name: "x", channels: ["good", "bad channel"], data: "d" })
      expect(answer).toMatchObject({
        status: 400,
        json: {
          code: "invalid_input",
          error: "Channel name contains invalid characters: 'bad channel' (invalid chars: [' '])"
        }
      })
      assert.strictEqual((yield* c.events()).length, 1)
    }).pipe(provide())
  )

  const rejections: ReadonlyArray<readonly [string, unknown, number, Record<string, unknown>]> = [
    ["no channel", { name: "x", data: "d" }, 400, { code: "missing_channel_info" }],
    [
      "an empty channels list, even with channel",
      { name: "x", channels: [], channel: "a" },
      400,
      { code: "missing_channel_info" }
    ],
    ["no name", { channel: "a" }, 400, { code: "invalid_input", error: "Event name is required" }],
    ["a long name", { name: "n".repeat(201), channel: "a" }, 400, { code: "limit_exceeded" }],
    ["too many channels", { name: "x", channels: ["a", "b", "c"] }, 400, { code: "limit_exceeded" }],
    ["a big payload", { name: "x", channel: "a", data: "x".repeat(1025) }, 413, { code: "payload_too_large" }],
    ["an unknown namespace", { name: "x", channel: "chat:room" }, 400, { error: "Unknown channel namespace 'chat'" }],
    ["a user-limited channel", { name: "x", channel: "room#u1" }, 400, { code: "invalid_input" }],
    [
      "a long channel name",
      { name: "x", channel: "c".repeat(201) },
      400,
      { error: "Channel name too long. Max length is 200" }
    ]
  ]
  for (const [name, body, status, json] of rejections) {
    it.effect(`rejects ${name}`, () =>
      Effect.gen(function* () {
        expect(yield* post("/apps/app-id/events", body)).toMatchObject({ status, json })
      }).pipe(provide({ limits: { maxEventChannelsAtOnce: 2, maxEventPayloadInKb: 1 } }))
    )
  }

  const shapes: ReadonlyArray<readonly [string, unknown]> = [
    ["info as an array", { name: "x", channel: "a", info: ["user_count"] }],
    ["a numeric name", { name: 1, channel: "a" }],
    ["a tag that is not a string", { name: "x", channel: "a", tags: { t: 1 } }],
    ["nested extras.headers", { name: "x", channel: "a", extras: { headers: { h: { n: 1 } } } }],
    ["a null header", { name: "x", channel: "a", extras: { headers: { h: null } } }],
    ["a body that is not an object", [1]]
  ]
  for (const [name, body] of shapes) {
    it.effect(`answers 422 plain text for ${name}`, () =>
      Effect.gen(function* () {
        const answer = yield* post("/apps/app-id/events", body)
        assert.strictEqual(answer.status, 422)
        assert.isTrue(answer.text.startsWith("Failed to deserialize the JSON body into the target type"))
        assert.isTrue(answer.headers["content-type"]?.startsWith("text/plain"))
      }).pipe(provide())
    )
  }

  it.effect("answers the framework's plain-text rejections for content type, JSON and size", () =>
    Effect.gen(function* () {
      const noType = yield* signed("POST", "/apps/app-id/events", {
        body: "{}",
        headers: { "content-type": "text/plain" }
      })
      expect(noType).toMatchObject({ status: 415, text: "Expected request with `Content-Type: application/json`" })
      const plusJson = yield* post(
        "/apps/app-id/events",
        { name: "x", channel: "a" },
        {
          headers: { "content-type": "application/vnd.api+json; charset=utf-8" }
        }
      )
      assert.strictEqual(plusJson.status, 200)
      const badJson = yield* post("/apps/app-id/events", "{nope")
      assert.strictEqual(badJson.status, 400)
      assert.isTrue(badJson.text.startsWith("Failed to parse the request body as JSON"))
      const big = yield* post(
        "/apps/app-id/events",
        JSON.stringify({ name: "x", channel: "a", data: "x".repeat(2 * 1024 * 1024) })
      )
      assert.strictEqual(big.status, 413)
    }).pipe(provide({ requestLimitInMb: 1 }))
  )
})

describe("idempotency (reference 5.1)", () => {
  it.effect("returns the first response for a repeated key and publishes once", () =>
    Effect.gen(function* () {
      const c = yield* (yield* emulator).connect()
      yield* c.subscribe("a")
      const first = yield* post("/apps/app-id/events", { name: "x", channel: "a", info: "", idempotency_key: "k" })
      const again = yield* post(
        "/apps/app-id/events",
        { name: "other", channel: "b" },
        { headers: { "x-idempotency-key": "k" } }
      )
      assert.strictEqual(again.text, first.text)
      assert.strictEqual((yield* c.events()).length, 1)
    }).pipe(provide())
  )

  it.effect("prefers the body key over the header", () =>
    Effect.gen(function* () {
      yield* post(
        "/apps/app-id/events",
        { name: "x", channel: "a", idempotency_key: "body" },
        { headers: { "x-idempotency-key": "h" } }
      )
      const headerOnly = yield* post(
        "/apps/app-id/events",
        { name: "x", channel: "a", info: "" },
        { headers: { "x-idempotency-key": "h" } }
      )
      assert.property(headerOnly.json, "channels")
    }).pipe(provide())
  )

  it.effect("poisons a key claimed by a failing publish until its TTL ends", () =>
    Effect.gen(function* () {
      const failing = yield* post("/apps/app-id/events", { channel: "a", idempotency_key: "p" })
      assert.strictEqual(failing.status, 400)
      const fiber = yield* Effect.forkChild(
        post("/apps/app-id/events", { name: "x", channel: "a", idempotency_key: "p" })
      )
      yield* TestClock.adjust("300 millis")
      const retried = yield* Fiber.join(fiber)
      expect(retried).toMatchObject({
        status: 503,
        json: { code: "backpressure", error: "Idempotent publish is still in progress" },
        headers: { "retry-after": "1" }
      })
      yield* TestClock.adjust("120 seconds")
      const later = yield* post("/apps/app-id/events", { name: "x", channel: "a", idempotency_key: "p" })
      assert.strictEqual(later.status, 200)
    }).pipe(provide())
  )

  it.effect("rejects empty and too long keys, and ignores keys when disabled", () =>
    Effect.gen(function* () {
      expect(yield* post("/apps/app-id/events", { name: "x", channel: "a", idempotency_key: "" })).toMatchObject({
        status: 400,
        json: { error: "Idempotency key must not be empty" }
      })
      expect(
        yield* post("/apps/app-id/events", { name: "x", channel: "a", idempotency_key: "k".repeat(129) })
      ).toMatchObject({
        status: 400,
        json: { error: "Idempotency key exceeds maximum length of 128 characters" }
      })
      expect(
        yield* post(
          "/apps/second/events",
          { name: "x", channel: "a", idempotency_key: "" },
          { key: "k2", secret: "s2" }
        )
      ).toMatchObject({ status: 200 })
    }).pipe(
      provide({
        apps: [Emulator.defaultApp, { id: "second", key: "k2", secret: "s2", idempotency: { enabled: false } }]
      })
    )
  )

  it.effect("dedupes by message_id across HTTP keys, and refuses another payload under it", () =>
    Effect.gen(function* () {
      const c = yield* (yield* emulator).connect()
      yield* c.subscribe("a")
      const first = yield* post("/apps/app-id/events", { name: "x", channel: "a", data: "1", message_id: "m" })
      const same = yield* post("/apps/app-id/events", { name: "x", channel: "a", data: "1", message_id: "m" })
      assert.deepStrictEqual(same.json, first.json)
      assert.strictEqual((yield* c.events()).length, 1)
      expect(yield* post("/apps/app-id/events", { name: "x", channel: "a", data: "2", message_id: "m" })).toMatchObject(
        {
          status: 400,
          json: { error: "idempotency key was already used with a different payload" }
        }
      )
    }).pipe(provide())
  )
})

describe("POST /batch_events", () => {
  it.effect("answers {} without info, and with it one receipt per item, for the item's main channel", () =>
    Effect.gen(function* () {
      const plain = yield* post("/apps/app-id/batch_events", { batch: [{ name: "x", channel: "a", data: "1" }] })
      expect(plain).toMatchObject({ status: 200, json: {} })
      const info = yield* post("/apps/app-id/batch_events", {
        batch: [
          { name: "x", channel: "a", data: "1" },
          { name: "y", channels: ["b", "c"], data: "2", info: "subscription_count" }
        ]
      })
      expect(info.json).toEqual({ batch: [{}, expect.objectContaining({ subscription_count: 0 })] })
      assert.notProperty((info.json as { batch: Array<object> }).batch[1], "b")
    }).pipe(provide())
  )

  it.effect("stops at the first failing item and keeps the earlier ones published", () =>
    Effect.gen(function* () {
      const c = yield* (yield* emulator).connect()
      yield* c.subscribe("a")
      const answer = yield* post("/apps/app-id/batch_events", {
        batch: [
          { name: "1", channel: "a" },
          { name: "2", channel: "a b" },
          { name: "3", channel: "a" }
        ]
      })
      assert.strictEqual(answer.status, 400)
      expect((yield* c.events()).map((m) => m.event)).toEqual(["1"])
    }).pipe(provide())
  )

  it.effect("skips items whose key exists, stores 1 for them, and replays the batch key", () =>
    Effect.gen(function* () {
      const c = yield* (yield* emulator).connect()
      yield* c.subscribe("a")
      yield* post("/apps/app-id/events", { name: "pre", channel: "a", idempotency_key: "seen" })
      const answer = yield* post(
        "/apps/app-id/batch_events",
        {
          batch: [
            { name: "dup", channel: "a", idempotency_key: "seen", info: "" },
            { name: "new", channel: "a", idempotency_key: "fresh", info: "" }
          ]
        },
        { headers: { "x-idempotency-key": "batch-1" } }
      )
      const entries = (answer.json as { batch: Array<Record<string, unknown>> }).batch
      assert.deepStrictEqual(entries[0], {})
      assert.property(entries[1], "acknowledgement_id")
      expect((yield* c.events()).map((m) => m.event)).toEqual(["pre", "new"])
      const replay = yield* post(
        "/apps/app-id/batch_events",
        { batch: [] },
        { headers: { "x-idempotency-key": "batch-1" } }
      )
      assert.strictEqual(replay.text, answer.text)
      const reused = yield* post("/apps/app-id/events", { name: "x", channel: "a", idempotency_key: "fresh" })
      expect(reused).toMatchObject({ status: 200, text: "1" })
    }).pipe(provide())
  )

  it.effect("enforces the batch size limit", () =>
    Effect.gen(function* () {
      expect(
        yield* post("/apps/app-id/batch_events", {
          batch: [
            { name: "1", channel: "a" },
            { name: "2", channel: "a" }
          ]
        })
      ).toMatchObject({ status: 400, json: { code: "limit_exceeded", error: "Batch size (2) exceeds limit (1)" } })
      const missing = yield* post("/apps/app-id/batch_events", {})
      assert.strictEqual(missing.status, 422)
    }).pipe(provide({ limits: { maxEventBatchSize: 1 } }))
  )
})

describe("routing", () => {
  it.effect("answers 404 text for unknown paths, 405 empty for other methods", () =>
    Effect.gen(function* () {
      expect(yield* raw("GET", "/nope")).toMatchObject({ status: 404, text: "404 NOT FOUND" })
      expect(yield* signed("GET", "/Apps/app-id/channels")).toMatchObject({ status: 404 })
      expect(yield* signed("GET", "/apps/app-id/events")).toMatchObject({ status: 405, text: "" })
    }).pipe(provide())
  )

  it.effect("strips one trailing slash before routing and before checking the signature", () =>
    Effect.gen(function* () {
      const body = JSON.stringify({ name: "e", channel: "orders", data: "1" })
      const stripped = yield* signed("POST", "/apps/app-id/events/", { body, signPath: "/apps/app-id/events" })
      expect(stripped).toMatchObject({ status: 200, json: { ok: true } })
      const signedWithSlash = yield* signed("POST", "/apps/app-id/events/", { body })
      expect(signedWithSlash).toMatchObject({
        status: 401,
        json: { code: "auth_failed", error: "Invalid API signature" }
      })
      expect(yield* signed("POST", "/apps/app-id/events//", { body, signPath: "/apps/app-id/events/" })).toMatchObject({
        status: 404
      })
    }).pipe(provide())
  )

  it.effect("rate limits when asked to, with the limiter's body and headers", () =>
    Effect.gen(function* () {
      const first = yield* signed("GET", "/apps/app-id/channels")
      expect(first.headers).toMatchObject({ "x-ratelimit-limit": "2", "x-ratelimit-remaining": "1" })
      yield* signed("GET", "/apps/app-id/channels")
      const limited = yield* signed("GET", "/apps/app-id/channels")
      expect(limited).toMatchObject({
        status: 429,
        json: { error: "Too Many Requests", message: "Rate limit exceeded. Please try again later." },
        headers: { "retry-after": "60", "x-ratelimit-remaining": "0" }
      })
      yield* TestClock.adjust("60 seconds")
      assert.strictEqual((yield* signed("GET", "/apps/app-id/channels", { timestamp: 60 })).status, 200)
    }).pipe(provide({ rateLimit: { maxRequests: 2, window: "60 seconds" } }))
  )
})
